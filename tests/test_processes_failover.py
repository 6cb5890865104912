"""Failover with real server processes sharing one real Redis: two processes taking statuses
for the same messages (each one posted to both), a ``read`` that comes after the fallback left,
``kill -9`` while a fallback is pending and while the outcome's handler runs. Every message the
bot sends is counted at the stand-in for the Messages API, by channel: a doubled or missing
fallback, or an outcome handled twice, shows in the ledger bot's numbers."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from botkit.store.redis import RedisStore
from botkit.testing import ProviderStandIn, Sent
from tests.conftest import RedisServer
from tests.served import Served
from tests.test_processes import post, servers, settle, webhook

__all__ = ["servers"]  # the fixture this module borrows

pytestmark = pytest.mark.slow

SMS_FROM = {"VONAGE_SMS_FROM": "447700900000"}


@pytest.fixture
async def store(redis_server: RedisServer, redis_prefix: str) -> AsyncIterator[RedisStore]:
    """The servers' store, as a process of their own would open it."""
    opened = RedisStore.from_url(redis_server.url, prefix=redis_prefix)
    yield opened
    await opened.close()


async def sent_and_acknowledged(store: RedisStore, users: list[str]) -> None:
    """Wait until each user's conversation has its failover pending and nothing left to send,
    so a process killed now dies with nothing in flight."""

    async def settled() -> None:
        while True:
            loaded = [await store.load(f"whatsapp:447700900000:{user}") for user in users]
            if all(c is not None and not c.outbox and c.timers for c in loaded):
                return
            await asyncio.sleep(0.05)

    await asyncio.wait_for(settled(), 20)


async def status(session: aiohttp.ClientSession, server: Served, sent: Sent, word: str) -> int:
    """Post the provider's status ``word`` of the message ``sent``, as the provider would."""
    body = {
        "message_uuid": sent.message_uuid,
        "to": sent.to,
        "from": sent.body["from"],
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "status": word,
        "channel": sent.body["channel"],
        "client_ref": sent.body["client_ref"],
    }
    async with session.post(server.url + "/webhooks/status", json=body) as response:
        await response.read()
        return response.status


def by_user(provider: ProviderStandIn) -> dict[str, list[str]]:
    """Each user's messages, in order, as ``channel:text``."""
    found: dict[str, list[str]] = {}
    for sent in provider.sent:
        found.setdefault(sent.to, []).append(f"{sent.body['channel']}:{sent.text}")
    return found


def sent_to(provider: ProviderStandIn, user: str, channel: str) -> list[Sent]:
    return [s for s in provider.sent if s.to == user and s.body["channel"] == channel]


async def test_two_processes_send_each_fallback_once_and_none_after_a_read(
    servers: Any, provider: ProviderStandIn
) -> None:
    one, two = await servers(2, **SMS_FROM)
    readers = [f"4477009011{n:02d}" for n in range(5)]
    sleepers = [f"4477009012{n:02d}" for n in range(5)]
    async with aiohttp.ClientSession() as session:
        for index, user in enumerate(readers):
            assert await post(session, (one, two)[index % 2], webhook(user, "failover 10 r")) == 200
        await provider.wait_for(len(readers))
        # Each reader reads at once; every status reaches both processes.
        for user in readers:
            (reminder,) = sent_to(provider, user, "whatsapp")
            for word in ("delivered", "read", "read"):
                for server in (one, two):
                    assert await status(session, server, reminder, word) == 200
        await provider.wait_for(2 * len(readers), timeout=30)
        for index, user in enumerate(sleepers):
            assert await post(session, (two, one)[index % 2], webhook(user, "failover 10 s")) == 200
        # Each sleeper's reminder stays unread: its SMS leaves when the 10 s are up...
        await provider.wait_for(2 * len(readers) + 2 * len(sleepers), timeout=60)
        for user in sleepers:
            (reminder,) = sent_to(provider, user, "whatsapp")
            (sms,) = sent_to(provider, user, "sms")
            # ...and a read that comes after it left changes nothing; the SMS delivered ends it.
            for server in (one, two):
                assert await status(session, server, reminder, "read") == 200
                assert await status(session, server, sms, "delivered") == 200
        await settle(
            session, one, provider, readers + sleepers, 2 * len(readers) + 3 * len(sleepers)
        )
    got = by_user(provider)
    for user in readers:
        assert got[user] == ["whatsapp:1:fo-r", "whatsapp:2:outcome-whatsapp", "whatsapp:3:end"]
    for user in sleepers:
        assert got[user] == [
            "whatsapp:1:fo-s",
            "sms:1:fo-s",
            "whatsapp:2:outcome-sms",
            "whatsapp:3:end",
        ], user


async def test_kill_9_of_the_process_that_armed_a_fallback_the_other_sends_it_once(
    servers: Any, provider: ProviderStandIn, store: RedisStore
) -> None:
    doomed, survivor = await servers(2, **SMS_FROM)
    users = [f"4477009013{n:02d}" for n in range(4)]
    async with aiohttp.ClientSession() as session:
        for user in users:
            assert await post(session, doomed, webhook(user, "failover 3 k")) == 200
        await provider.wait_for(len(users))
        await sent_and_acknowledged(store, users)
        doomed.process.send_signal(signal.SIGKILL)
        await doomed.stop()
        assert doomed.process.returncode == -signal.SIGKILL
        # The pending fallbacks are in Redis: the survivor's sweep sends each when it falls due.
        await provider.wait_for(2 * len(users), timeout=60)
        for user in users:
            (sms,) = sent_to(provider, user, "sms")
            assert await status(session, survivor, sms, "delivered") == 200
        await settle(session, survivor, provider, users, 3 * len(users))
    got = by_user(provider)
    for user in users:
        assert got[user] == [
            "whatsapp:1:fo-k",
            "sms:1:fo-k",
            "whatsapp:2:outcome-sms",
            "whatsapp:3:end",
        ]


async def test_kill_9_inside_the_outcome_handler_the_survivor_handles_it_once(
    servers: Any, provider: ProviderStandIn
) -> None:
    doomed, survivor = await servers(2, **SMS_FROM)
    users = [f"4477009014{n:02d}" for n in range(4)]
    async with aiohttp.ClientSession() as session:
        for user in users:
            assert await post(session, doomed, webhook(user, "failover 60 o 4")) == 200
        await provider.wait_for(len(users))
        # Rejected: the SMS goes at once; its delivery ends the message, whose outcome handler
        # (4 s of work) runs in the doomed process, which dies inside it.
        for user in users:
            (reminder,) = sent_to(provider, user, "whatsapp")
            assert await status(session, doomed, reminder, "rejected") == 200
        await provider.wait_for(2 * len(users), timeout=30)
        for user in users:
            (sms,) = sent_to(provider, user, "sms")
            assert await status(session, doomed, sms, "delivered") == 200
        await doomed.wait_for_count("ledger handler holding", len(users))
        doomed.process.send_signal(signal.SIGKILL)
        await doomed.stop()
        assert not [line for line in doomed.lines if "ledger handler held" in line]
        assert len(provider.sent) == 2 * len(users), "an outcome's reply left the doomed process"
        await settle(session, survivor, provider, users, 3 * len(users))
    got = by_user(provider)
    for user in users:
        assert got[user] == [
            "whatsapp:1:fo-o",
            "sms:1:fo-o",
            "whatsapp:2:outcome-sms",
            "whatsapp:3:end",
        ]
