"""The runtime in one process, on both stores: failures, heartbeats, timeouts, shutdown."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast

import aiohttp
import pytest
import structlog

from botkit import Channel, DeliveryStatus, Event, EventKind, Text, WebhookFormat
from botkit.delivery import RetryPolicy
from botkit.events import StatusInfo
from botkit.records import unpack_record
from botkit.runtime import Runtime
from botkit.store.base import Store, StoreUnavailable
from botkit.store.memory import MemoryStore
from botkit.store.redis import RedisStore
from botkit.testing import ProviderStandIn
from botkit.vonage.auth import BasicAuth
from botkit.vonage.transport import MessagesTransport, Transport
from tests.ledger import LedgerBot


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[Store]:
    lease = 0.6
    if request.param == "memory":
        memory = MemoryStore(lease_seconds=lease)
        yield memory
        await memory.close()
        return
    server = request.getfixturevalue("redis_server")
    redis = RedisStore.from_url(server.url, prefix=redis_prefix, lease_seconds=lease)
    yield redis
    await redis.close()


@pytest.fixture
async def runtime_for(store: Store, provider: ProviderStandIn) -> AsyncIterator[Any]:
    session = aiohttp.ClientSession()
    runtimes: list[Runtime] = []

    async def make(**kwargs: Any) -> Runtime:
        transport = MessagesTransport(session, base_url=provider.url, auth=BasicAuth("k", "s"))
        runtime = Runtime(LedgerBot(), store, transport, sweep_interval=0.2, **kwargs)
        await runtime.start()
        runtimes.append(runtime)
        return runtime

    yield make
    for runtime in runtimes:
        await runtime.close()
    await session.close()


def text(value: str, user: str = "447700900001") -> Event:
    return Event(
        kind=EventKind.MESSAGE,
        channel=Channel.WHATSAPP,
        user=user,
        bot="447700900000",
        message_id=str(uuid.uuid4()),
        timestamp=datetime.now(UTC),
        format=WebhookFormat.V1,
        raw={},
        content=Text(text=value),
    )


async def test_a_failing_handler_apologises_once_and_the_conversation_goes_on(
    runtime_for: Any, provider: ProviderStandIn
) -> None:
    runtime: Runtime = await runtime_for()
    with structlog.testing.capture_logs() as logs:
        await runtime.accept(text("first"))
        await runtime.accept(text("raise now"))
        await runtime.accept(text("second"))
        await runtime.wait_idle()
    assert [s.text for s in provider.sent] == ["1:first", "apology", "2:second"]
    failures = [line for line in logs if line["event"].startswith("handler failed")]
    assert len(failures) == 1
    assert isinstance(failures[0]["exc_info"], RuntimeError)
    # Nothing is retried: the user's next word is answered after everything before it, so a
    # retry of an earlier turn (by this worker, or by a sweep once the lease ran out) would
    # show before its answer.
    await runtime.accept(text("third"))
    await provider.wait_for(4)
    await runtime.wait_idle()
    assert [s.text for s in provider.sent] == ["1:first", "apology", "2:second", "3:third"]


async def test_a_handler_longer_than_its_lease_keeps_it_and_runs_alone(
    runtime_for: Any, provider: ProviderStandIn
) -> None:
    first: Runtime = await runtime_for()
    second: Runtime = await runtime_for()
    bot = first.bot
    assert isinstance(bot, LedgerBot)
    await first.accept(text("slow 2 long"))
    await bot.holding["long"].wait()
    # The second runtime sweeps every 0.2 s: it must not take the leased conversation.
    await second.accept(text("next"))
    await first.wait_idle()
    await second.wait_idle()
    # Answered after everything before it: a second run of "long" would show first.
    await second.accept(text("end"))
    await provider.wait_for(3)
    assert [s.text for s in provider.sent] == ["1:long", "2:next", "3:end"]


async def test_a_handler_past_the_timeout_fails_and_is_not_retried(
    runtime_for: Any, provider: ProviderStandIn
) -> None:
    runtime: Runtime = await runtime_for(handler_timeout=0.3)
    await runtime.accept(text("slow 5 late"))
    await runtime.accept(text("quick"))
    await runtime.wait_idle()
    assert [s.text for s in provider.sent] == ["apology", "1:quick"]


async def test_duplicates_are_reported_and_dropped(
    runtime_for: Any, provider: ProviderStandIn
) -> None:
    runtime: Runtime = await runtime_for()
    event = text("once")
    assert await runtime.accept(event) is True
    assert await runtime.accept(event) is False
    await runtime.wait_idle()
    assert [s.text for s in provider.sent] == ["1:once"]


async def test_replies_go_in_order_per_user_and_users_run_in_parallel(
    runtime_for: Any, provider: ProviderStandIn
) -> None:
    runtime: Runtime = await runtime_for()
    users = [f"44770090{n:04d}" for n in range(20)]
    LedgerBot.most_running = 0
    for user in users:
        await runtime.accept(text("slow 0.3 a", user))
        await runtime.accept(text("b", user))
    await runtime.wait_idle()
    by_user: dict[str, list[str]] = {}
    for sent in provider.sent:
        by_user.setdefault(sent.to, []).append(sent.text)
    assert all(by_user[u] == ["1:a", "2:b"] for u in users)
    assert LedgerBot.most_running > 1, "different users' handlers did not overlap"


async def test_statuses_update_the_message_record_and_never_regress(
    runtime_for: Any, provider: ProviderStandIn, store: Store
) -> None:
    runtime: Runtime = await runtime_for()
    await runtime.accept(text("hello"))
    await runtime.wait_idle()
    key = "whatsapp:447700900000:447700900001"
    (message_id,) = (await store.messages(key)).keys()

    def status(value: str) -> Event:
        return Event(
            kind=EventKind.STATUS,
            channel=Channel.WHATSAPP,
            user="447700900001",
            bot="447700900000",
            message_id=message_id,
            timestamp=datetime.now(UTC),
            format=WebhookFormat.V1,
            raw={},
            status=StatusInfo(status=DeliveryStatus(value), original=value),
        )

    for value in ("submitted", "read", "delivered"):
        await runtime.accept(status(value))
    await runtime.wait_idle()
    record = unpack_record(message_id, (await store.messages(key))[message_id], key)
    assert record.status is DeliveryStatus.READ
    assert [h.original for h in record.history] == ["submitted", "read", "delivered"]
    assert record.summary == "1:hello"


async def test_a_reply_sent_just_before_redis_went_away_is_not_sent_again(
    provider: ProviderStandIn, tmp_path: Any
) -> None:
    """Redis stops between the reply leaving and its ack: the worker keeps acking until Redis
    is back, and the conversation is not taken over to send the reply a second time."""
    from tests.conftest import RedisServer, _free_port, _spawn_redis

    port = _free_port()
    redis = RedisServer(f"redis://127.0.0.1:{port}/0", None, port, tmp_path)
    redis.process = _spawn_redis(port, tmp_path, durable=True)
    store = RedisStore.from_url(redis.url, lease_seconds=0.6, socket_timeout=1.0)
    session = aiohttp.ClientSession()
    inner = MessagesTransport(session, base_url=provider.url, auth=BasicAuth("k", "s"))

    class RedisDiesAfterSending:
        restarted: asyncio.Task[None] | None = None

        async def send(self, message: Any) -> Any:
            receipt = await inner.send(message)
            if self.restarted is None:
                redis.stop()

                async def back() -> None:
                    await asyncio.sleep(1.5)  # past the 0.6 s lease
                    redis.process = await asyncio.to_thread(
                        _spawn_redis, port, tmp_path, durable=True
                    )

                self.restarted = asyncio.create_task(back())
            return receipt

    transport = RedisDiesAfterSending()
    runtime = Runtime(LedgerBot(), store, cast(Transport, transport), sweep_interval=0.1)
    await runtime.start()
    try:
        await runtime.accept(text("once"))
        await runtime.wait_idle(timeout=20)
        assert transport.restarted is not None
        await transport.restarted
        await runtime.wait_idle(timeout=20)
        # Answered after everything before it: a takeover resending "1:once" would show first.
        await runtime.accept(text("end"))
        await provider.wait_for(2)
        await runtime.wait_idle(timeout=20)
        assert [s.text for s in provider.sent] == ["1:once", "2:end"]
    finally:
        await runtime.close()
        await store.close()
        await session.close()
        if redis.process is not None:
            redis.process.kill()


# --- replies that cannot go now: waiting, refused; handing over -----------------------------------


SHORT_RETRY = RetryPolicy(first_seconds=0.05, max_seconds=0.2)


async def test_a_provider_outage_delays_replies_in_order_and_loses_none(
    runtime_for: Any, provider: ProviderStandIn, store: Store
) -> None:
    runtime: Runtime = await runtime_for(retry=SHORT_RETRY)
    provider.go_down(503)
    stuck, other = "447700900101", "447700900102"
    for tag in ("a", "b", "c"):
        await runtime.accept(text(tag, stuck))
    await runtime.wait_idle()
    assert provider.sent == []
    assert len(provider.failed) >= 1
    waiting = await store.load(f"whatsapp:447700900000:{stuck}")
    assert waiting is not None
    assert [entry.message.content for entry in waiting.outbox] == [
        Text(text=f"{n}:{tag}") for n, tag in ((1, "a"), (2, "b"), (3, "c"))
    ], "every turn ran; its replies wait behind the first, in order"
    head = waiting.outbox[0]
    assert head.attempts >= 1
    assert head.not_before is not None
    refs = {f.body.get("client_ref") for f in provider.failed if f.text == "1:a"}
    assert len(refs) == 1, "every attempt carries the same client_ref"
    provider.come_back()
    await runtime.accept(text("d", other))
    await provider.wait_for(4, timeout=10)
    await runtime.wait_idle()
    assert replies_to(provider, stuck) == ["1:a", "2:b", "3:c"]
    assert replies_to(provider, other) == ["1:d"]
    (first,) = [s for s in provider.sent if s.text == "1:a"]
    assert first.body.get("client_ref") in refs


async def test_a_refused_reply_reaches_the_bot_as_a_status_and_blocks_nothing(
    runtime_for: Any, provider: ProviderStandIn, store: Store
) -> None:
    runtime: Runtime = await runtime_for(retry=SHORT_RETRY)
    provider.refuse("doomed", status=422, code=1340)
    await runtime.accept(text("doomed"))
    await runtime.accept(text("next"))
    await runtime.wait_idle()
    await provider.wait_for(2)
    assert [s.text for s in provider.sent] == ["2:next", "refused:1340"]
    key = "whatsapp:447700900000:447700900001"
    records = await store.messages(key)
    refused = [unpack_record(id_, r, key) for id_, r in records.items()]
    rejected = [r for r in refused if r.status is DeliveryStatus.REJECTED]
    assert len(rejected) == 1
    assert rejected[0].summary == "1:doomed"
    assert rejected[0].error is not None
    assert rejected[0].error.code == 1340


async def test_a_reply_that_keeps_failing_is_given_up_and_reported(
    runtime_for: Any, provider: ProviderStandIn
) -> None:
    give_up = RetryPolicy(first_seconds=0.02, max_seconds=0.05, give_up_seconds=0.1)
    runtime: Runtime = await runtime_for(retry=give_up)
    provider.go_down(500)
    await runtime.accept(text("hello"))
    await provider.wait_for_failures(8, timeout=20)  # the transport's tries, then the outbox's
    provider.come_back()
    await provider.wait_for(1, timeout=10)
    await runtime.wait_idle()
    assert [s.text for s in provider.sent] == ["refused:500"]


async def test_closing_hands_conversations_over_at_once(
    provider: ProviderStandIn, store_lease_5: Store
) -> None:
    session = aiohttp.ClientSession()
    transport = MessagesTransport(session, base_url=provider.url, auth=BasicAuth("k", "s"))
    leaving = Runtime(LedgerBot(), store_lease_5, transport, sweep_interval=0.1)
    staying = Runtime(LedgerBot(), store_lease_5, transport, sweep_interval=0.1)
    await leaving.start()
    await staying.start()
    try:
        with structlog.testing.capture_logs() as logs:
            bot = leaving.bot
            assert isinstance(bot, LedgerBot)
            await leaving.accept(text("slow 0.3 a"))
            await leaving.accept(text("b"))
            await bot.holding["a"].wait()
            await leaving.close()
            closed = asyncio.get_running_loop().time()
            assert [s.text for s in provider.sent] == ["1:a"], "the turn in progress finished"
            with pytest.raises(StoreUnavailable, match="shutting down"):
                await leaving.accept(text("c"))
            await provider.wait_for(2, timeout=5)
            taken_after = asyncio.get_running_loop().time() - closed
            await staying.wait_idle()
        assert [s.text for s in provider.sent] == ["1:a", "2:b"]
        assert taken_after < 1.0, f"taken over after {taken_after:.2f} s (the lease is 5 s)"
        events = [line["event"] for line in logs]
        assert events.index("handed over: another process takes it at once") < events.index(
            "took over a conversation"
        )
    finally:
        await staying.close()
        await session.close()


@pytest.fixture(params=["memory", "redis"])
async def store_lease_5(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[Store]:
    if request.param == "memory":
        memory = MemoryStore(lease_seconds=5.0)
        yield memory
        await memory.close()
        return
    server = request.getfixturevalue("redis_server")
    redis = RedisStore.from_url(server.url, prefix=redis_prefix, lease_seconds=5.0)
    yield redis
    await redis.close()


def replies_to(provider: ProviderStandIn, user: str) -> list[str]:
    return [s.text for s in provider.sent if s.to == user]


async def test_the_sweep_works_due_conversations_together_within_its_bound(
    store: Store, runtime_for: Any, provider: ProviderStandIn
) -> None:
    users = [f"4477009100{n:02d}" for n in range(12)]
    for user in users:  # work nobody has taken (as a notifier leaves it): due at once
        event = text("slow 0.3 x", user)
        assert event.conversation_key is not None
        await store.accept(event.conversation_key, event, owner=None)
    LedgerBot.running = LedgerBot.most_running = 0
    await runtime_for(sweep_concurrency=4)
    await provider.wait_for(len(users), timeout=20)
    assert sorted(s.to for s in provider.sent) == users
    assert [s.text for s in provider.sent] == ["1:x"] * len(users)
    assert 2 <= LedgerBot.most_running <= 4
