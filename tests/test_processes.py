"""The runtime's guarantees with real server processes sharing one real Redis.

Each test starts ``botkit serve tests.ledger:LedgerBot`` processes on loopback, all pointing at a
stand-in for the Messages API in this process, and checks the replies: the ledger bot numbers
each user's turns, so a lost, doubled or reordered turn shows in the numbers.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import signal
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from botkit.testing import ProviderStandIn
from tests.conftest import RedisClusterNodes, RedisServer, _free_port, _spawn_redis
from tests.served import Served

LEASE = 2.0

pytestmark = pytest.mark.slow


@pytest.fixture
async def provider() -> AsyncIterator[ProviderStandIn]:
    async with ProviderStandIn() as stand_in:
        yield stand_in


@pytest.fixture
async def servers(
    provider: ProviderStandIn, redis_server: RedisServer, redis_prefix: str
) -> AsyncIterator[Any]:
    started: list[Served] = []

    async def start(count: int, redis_url: str | None = None, **extra: str) -> list[Served]:
        """Start ``count`` processes; ``extra`` adds settings (``BOTKIT_...="..."``)."""
        env = {
            "BOTKIT_ENV": "test",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "info",
            "REDIS_URL": redis_url or redis_server.url,
            "BOTKIT_REDIS_PREFIX": redis_prefix,
            "BOTKIT_LEASE_SECONDS": str(LEASE),
            "VONAGE_API_URL": provider.url,
            "VONAGE_API_KEY": "key",
            "VONAGE_API_SECRET": "secret",
            **extra,
        }
        batch = [Served("tests.ledger:LedgerBot", env) for _ in range(count)]
        started.extend(batch)
        await asyncio.gather(*(server.__aenter__() for server in batch))
        return batch

    yield start
    for server in started:
        await server.stop()


def webhook(user: str, text: str, message_id: str | None = None) -> dict[str, Any]:
    return {
        "channel": "whatsapp",
        "message_uuid": message_id or str(uuid.uuid4()),
        "to": "447700900000",
        "from": user,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "message_type": "text",
        "text": text,
    }


async def post(session: aiohttp.ClientSession, server: Served, body: dict[str, Any]) -> int:
    async with session.post(server.url + "/webhooks/inbound", json=body) as response:
        await response.read()
        return response.status


def replies_by_user(provider: ProviderStandIn) -> dict[str, list[str]]:
    by_user: dict[str, list[str]] = {}
    for sent in provider.sent:
        by_user.setdefault(sent.to, []).append(sent.text)
    return by_user


async def settle(
    session: aiohttp.ClientSession,
    server: Served,
    provider: ProviderStandIn,
    users: list[str],
    expected: int,
) -> None:
    """Wait for the ``expected`` replies, and until no other reply can come: each user then says
    "end", which is handled only once all the user's earlier events are consumed and their
    replies acknowledged (one user's events run in order), so once every "end" is answered,
    a lost, doubled or late reply has already shown in the replies."""
    await provider.wait_for(expected, timeout=60)
    for user in users:
        assert await post(session, server, webhook(user, "end")) == 200
    await provider.wait_for(expected + len(users), timeout=60)


async def every_reply_once_in_order(
    session: aiohttp.ClientSession,
    server: Served,
    provider: ProviderStandIn,
    users: list[str],
    per_user: int,
) -> None:
    """Wait for each user's replies ``1:m1`` ... and check each came once, in order (then the
    last word, "end", see :func:`settle`)."""
    await settle(session, server, provider, users, len(users) * per_user)
    got = replies_by_user(provider)
    for user in users:
        expected = [f"{n}:m{n}" for n in range(1, per_user + 1)]
        assert got[user] == [*expected, f"{per_user + 1}:end"], user
    assert len(provider.sent) == len(users) * (per_user + 1)


@pytest.mark.parametrize("store", ["redis", "cluster"])
async def test_bursts_from_many_users_keep_each_users_order(
    servers: Any, provider: ProviderStandIn, store: str, request: pytest.FixtureRequest
) -> None:
    """On one Redis, and on a Redis Cluster of three primaries."""
    cluster: RedisClusterNodes | None = (
        request.getfixturevalue("redis_cluster") if store == "cluster" else None
    )
    processes = await servers(3, cluster.url if cluster else None)
    users = [f"4477009{n:05d}" for n in range(40)]
    per_user = 8

    async def one_user(session: aiohttp.ClientSession, index: int, user: str) -> None:
        for turn in range(1, per_user + 1):
            target = processes[(index + turn) % len(processes)]
            assert await post(session, target, webhook(user, f"m{turn}")) == 200

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one_user(session, i, u) for i, u in enumerate(users)))
        await every_reply_once_in_order(session, processes[0], provider, users, per_user)


async def test_duplicate_deliveries_to_different_processes_run_once(
    servers: Any, provider: ProviderStandIn
) -> None:
    processes = await servers(3)
    user = "447700900001"
    body = webhook(user, "once", message_id=str(uuid.uuid4()))
    async with aiohttp.ClientSession() as session:
        statuses = await asyncio.gather(
            *(post(session, p, body) for p in processes for _ in range(10))
        )
        assert set(statuses) == {200}
        await settle(session, processes[1], provider, [user], 1)
    assert [s.text for s in provider.sent] == ["1:once", "2:end"]


async def test_kill_9_mid_handler_the_survivor_finishes_each_turn_once(
    servers: Any, provider: ProviderStandIn
) -> None:
    doomed, survivor = await servers(2)
    users = [f"4477001{n:05d}" for n in range(6)]
    async with aiohttp.ClientSession() as session:
        for user in users:
            assert await post(session, doomed, webhook(user, "a")) == 200
        await provider.wait_for(len(users))
        # Acknowledged by the doomed process, which dies while every one of these handlers runs.
        for user in users:
            assert await post(session, doomed, webhook(user, "slow 3 b")) == 200
        await doomed.wait_for_count("ledger handler holding", len(users))
        doomed.process.send_signal(signal.SIGKILL)
        await doomed.stop()
        assert doomed.process.returncode == -signal.SIGKILL
        assert not [line for line in doomed.lines if "ledger handler held" in line], (
            "a handler finished before the process died"
        )
        assert len(provider.sent) == len(users), "a reply to 'b' left the doomed process"
        # The survivor takes over once the leases expire, and keeps order for new messages.
        for user in users:
            assert await post(session, survivor, webhook(user, "c")) == 200
        await settle(session, survivor, provider, users, len(users) * 3)
    got = replies_by_user(provider)
    for user in users:
        assert got[user] == ["1:a", "2:b", "3:c", "4:end"], user
    assert any(line.get("event") == "took over a conversation" for line in survivor.log_lines())


async def test_a_stalled_holder_never_overwrites_the_takeover(
    servers: Any, provider: ProviderStandIn
) -> None:
    stalled, other = await servers(2)
    user = "447700900077"
    async with aiohttp.ClientSession() as session:
        assert await post(session, stalled, webhook(user, "slow 1 s1")) == 200
        await stalled.wait_for_line("ledger handler holding")
        stalled.process.send_signal(signal.SIGSTOP)
        try:
            # The lease runs out while the holder is frozen mid-handler; the other process
            # takes the conversation over and runs the turn from the state before it.
            await provider.wait_for(1, timeout=LEASE * 6)
            assert await post(session, other, webhook(user, "s2")) == 200
            await provider.wait_for(2, timeout=10)
        finally:
            stalled.process.send_signal(signal.SIGCONT)
        # Thawed, the stalled holder finds its lease gone: its turn is not committed again.
        await stalled.wait_for_line("lease lost")
        assert await post(session, other, webhook(user, "s3")) == 200
        await settle(session, other, provider, [user], 3)
    assert replies_by_user(provider)[user] == ["1:s1", "2:s2", "3:s3", "4:end"]
    events = [line.get("event") for line in stalled.log_lines()]
    assert any(e and e.startswith("lease lost") for e in events), events


async def test_redis_outage_answers_503_logs_once_and_recovers(
    servers: Any, provider: ProviderStandIn, tmp_path: Path
) -> None:
    port = _free_port()
    workdir = tmp_path / "redis-outage"
    workdir.mkdir()
    redis = RedisServer(f"redis://127.0.0.1:{port}/0", None, port, workdir)
    redis.process = _spawn_redis(port, workdir, durable=True)
    try:
        (server,) = await servers(1, redis_url=redis.url)
        user = "447700900055"
        async with aiohttp.ClientSession() as session:
            assert await post(session, server, webhook(user, "before")) == 200
            await provider.wait_for(1)
            redis.stop()
            statuses = [await post(session, server, webhook(user, f"down{n}")) for n in range(20)]
            assert set(statuses) == {503}
            redis.process = _spawn_redis(port, workdir, durable=True)
            # The process notices by itself (its sweep reaches the store again) and says so.
            await server.wait_for_line("store reachable again")
            assert await post(session, server, webhook(user, "after")) == 200
            await settle(session, server, provider, [user], 2)
        assert replies_by_user(provider)[user] == ["1:before", "2:after", "3:end"]
        unreachable = [
            line
            for line in server.log_lines()
            if str(line.get("event", "")).startswith("store unreachable")
        ]
        assert len(unreachable) == 1, unreachable
        assert any(line.get("event") == "store reachable again" for line in server.log_lines())
    finally:
        if redis.process is not None and redis.process.poll() is None:
            redis.process.kill()


async def test_processes_together_send_no_faster_than_the_configured_rate(
    servers: Any, provider: ProviderStandIn
) -> None:
    processes = await servers(3, BOTKIT_RATE_LIMITS="whatsapp=10")
    users = [f"4477002{n:05d}" for n in range(40)]
    async with aiohttp.ClientSession() as session:
        statuses = await asyncio.gather(
            *(post(session, processes[i % 3], webhook(u, "hi")) for i, u in enumerate(users))
        )
    assert set(statuses) == {200}
    await provider.wait_for(len(users), timeout=60)
    times = sorted(sent.at for sent in provider.sent)
    # Every reply leaves from the same number, so the three processes share one bucket: at
    # most the rate plus the burst of one in any second, where each process alone would
    # send ten a second.
    busiest = max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))
    assert busiest <= 11
    assert times[-1] - times[0] >= (len(users) - 1) / 10 - 0.05


# --- a provider outage, a frozen process, a frozen Redis, SIGTERM --------------------------------


@pytest.mark.parametrize("outage", [4.0])
async def test_a_provider_outage_loses_no_reply_and_keeps_order(
    servers: Any, provider: ProviderStandIn, outage: float
) -> None:
    """The provider answers 503 for ``outage`` seconds while users write to two processes:
    every reply arrives afterwards, once, in order."""
    processes = await servers(2, BOTKIT_SEND_RETRY_MAX_SECONDS="0.5")
    users = [f"4477003{n:05d}" for n in range(10)]
    per_user = 4
    provider.go_down(503)
    async with aiohttp.ClientSession() as session:
        for turn in range(1, per_user + 1):
            for index, user in enumerate(users):
                target = processes[(index + turn) % 2]
                assert await post(session, target, webhook(user, f"m{turn}")) == 200
    await provider.wait_for_failures(len(users), timeout=30)
    await asyncio.sleep(outage)  # the outage itself: it lasts this long
    assert provider.sent == []
    provider.come_back()
    async with aiohttp.ClientSession() as session:
        await every_reply_once_in_order(session, processes[0], provider, users, per_user)


async def test_a_process_frozen_past_its_lease_sends_nothing_after_waking(
    servers: Any, provider: ProviderStandIn
) -> None:
    """Frozen while the provider takes its first reply, a process wakes after another took the
    conversation over (and sent both replies): it must not send the second one again. (The
    first was in flight when it froze: that one may go twice, as the README says.)"""
    frozen, other = await servers(2)
    user = "447700900088"
    arrived, answer = provider.hold("1:x")
    async with aiohttp.ClientSession() as session:
        assert await post(session, frozen, webhook(user, "twice x")) == 200
        await asyncio.wait_for(arrived.wait(), 10)
        frozen.process.send_signal(signal.SIGSTOP)
        answer.set()
        try:
            # The lease runs out; the other process takes over and sends the outbox.
            await provider.wait_for(3, timeout=LEASE * 6)
            assert [s.text for s in provider.sent] == ["1:x", "1:x", "1:x+"]
        finally:
            frozen.process.send_signal(signal.SIGCONT)
        # Thawed, it learns its lease is gone (before a send, or from its heartbeat).
        await wait_for_log(
            frozen,
            "lease in doubt: not sending",
            "lease lost while the handler ran: stopping it",
            "lease lost: another worker took this conversation over",
        )
        assert await post(session, other, webhook(user, "y")) == 200
        await settle(session, other, provider, [user], 4)
    assert [s.text for s in provider.sent] == ["1:x", "1:x", "1:x+", "2:y", "3:end"]


@pytest.mark.parametrize("freeze", [6.0])
async def test_a_redis_freeze_delays_a_user_by_the_freeze_and_a_few_seconds(
    servers: Any, provider: ProviderStandIn, tmp_path: Path, freeze: float
) -> None:
    """Redis freezes (SIGSTOP) while a turn is about to commit; the worker's commit times out.
    With a 20 s lease, the conversation must not wait for the lease: it resumes within a few
    seconds of Redis coming back, and a message written then is answered as soon."""
    port = _free_port()
    workdir = tmp_path / "redis-freeze"
    workdir.mkdir()
    redis = RedisServer(f"redis://127.0.0.1:{port}/0", None, port, workdir)
    redis.process = _spawn_redis(port, workdir, durable=True)
    loop = asyncio.get_running_loop()
    try:
        (server,) = await servers(1, redis_url=redis.url, BOTKIT_LEASE_SECONDS="20")
        user = "447700900066"
        async with aiohttp.ClientSession() as session:
            assert await post(session, server, webhook(user, "slow 0.2 a")) == 200
            redis.process.send_signal(signal.SIGSTOP)
            try:
                await asyncio.sleep(freeze)  # the freeze itself: it lasts this long
            finally:
                redis.process.send_signal(signal.SIGCONT)
            thawed = loop.time()
            while await post(session, server, webhook(user, "b")) != 200:
                pass  # a webhook during the last of the freeze may time out: the provider retries
        await provider.wait_for(2, timeout=30)
        delay = loop.time() - thawed
        assert [s.text for s in provider.sent] == ["1:a", "2:b"]
        assert delay < 4.0, f"answered {delay:.1f} s after Redis came back (the lease is 20 s)"
    finally:
        if redis.process is not None and redis.process.poll() is None:
            redis.process.send_signal(signal.SIGCONT)
            redis.process.kill()


async def test_sigterm_under_load_loses_nothing_and_hands_over_at_once(
    servers: Any, provider: ProviderStandIn
) -> None:
    """Users keep writing to two processes; one gets SIGTERM. Its webhooks answer 503 (the
    provider sends them to the other), its turns in progress finish, and each conversation it
    held is released to the other: with an hour's lease, every reply still arrives, so none
    waited for a lease to run out. (How soon it arrives: ``bench/outage.py sigterm``.)"""
    leaving, staying = await servers(2, BOTKIT_LEASE_SECONDS="3600")
    users = [f"4477004{n:05d}" for n in range(12)]
    per_user = 6
    accepted: dict[str, int] = dict.fromkeys(users, 0)
    half_way = asyncio.Event()

    async def one_user(session: aiohttp.ClientSession, index: int, user: str) -> None:
        for turn in range(1, per_user + 1):
            body = webhook(user, f"slow 0.2 m{turn}")
            for target in ((leaving, staying)[(index + turn) % 2], staying):
                try:
                    if await post(session, target, body) == 200:
                        accepted[user] += 1
                        break
                except aiohttp.ClientConnectionError:
                    continue  # the leaving process has closed: the provider retries elsewhere
            if turn == per_user // 2:
                half_way.set()

    async with aiohttp.ClientSession() as session:
        load = asyncio.gather(*(one_user(session, i, u) for i, u in enumerate(users)))
        await half_way.wait()
        leaving.process.send_signal(signal.SIGTERM)
        await load
        assert await asyncio.wait_for(leaving.process.wait(), 30) == 0
        await leaving.stop()  # its output read to the end
        assert all(count == per_user for count in accepted.values()), accepted
        await every_reply_once_in_order(session, staying, provider, users, per_user)
    handed = {
        line["key"].rsplit(":", 1)[1]: line["timestamp"]
        for line in leaving.log_lines()
        if line.get("event") == "handed over: another process takes it at once"
    }
    assert handed, "the leaving process held no conversation when it was told to stop"
    # Each was answered afterwards by the other process, its lease an hour from running out.
    taken = {
        line["to"]
        for line in staying.log_lines()
        if line.get("event") == "reply sent"
        and line.get("to") in handed
        and line["timestamp"] >= handed[line["to"]]
    }
    assert taken == set(handed), (handed, taken)


async def wait_for_log(server: Served, *events: str, timeout: float = 20.0) -> None:
    """Wait until ``server`` logged one of ``events`` (its output is read as it comes)."""

    def one_of(line: str) -> bool:
        try:
            return bool(json.loads(line).get("event") in events)
        except (ValueError, AttributeError):
            return False

    await server.wait_for(one_of, timeout, f"one of {events}")
