"""The sweep with real server processes on one real Redis: a conversation whose holder died is
taken over within about a lease even when a backlog of due work waits before it.

``botkit serve tests.ledger:LedgerBot`` processes, a stand-in for the Messages API, and a
backlog made through the public :class:`~botkit.Notifier` (work no process has taken). The
ledger bot numbers each user's turns, so a lost, doubled or reordered turn shows in the replies.
How fast the backlog drains is measured in ``bench/sweep.py``, not here.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from botkit import Channel, Notifier, OffsetClock
from botkit.store.redis import RedisStore
from botkit.testing import ProviderStandIn
from tests.conftest import RedisServer, until_redis_time
from tests.test_processes import (  # noqa: F401  (provider and servers are fixtures)
    LEASE,
    post,
    provider,
    replies_by_user,
    servers,
    settle,
    webhook,
)

pytestmark = pytest.mark.slow

BOT = "447700900000"
BACKLOG = 600
"""Three sweeps' worth of work (a process works up to 200 conversations at a time)."""


async def test_a_dead_holders_conversation_is_taken_over_ahead_of_a_backlog(
    servers: Any,  # noqa: F811
    provider: ProviderStandIn,  # noqa: F811
    redis_server: RedisServer,
    redis_prefix: str,
) -> None:
    # SMS needs no open window for a proactive reply; its send rate is not what is measured.
    settings = {"VONAGE_SMS_FROM": BOT, "BOTKIT_RATE_LIMITS": "sms=100000"}
    (doomed,) = await servers(1, **settings)
    user = "447700700001"
    async with aiohttp.ClientSession() as session:
        assert await post(session, doomed, webhook(user, "a")) == 200
        await provider.wait_for(1)
        assert await post(session, doomed, webhook(user, "slow 5 b")) == 200
        await doomed.wait_for_line("ledger handler holding")
        doomed.process.send_signal(signal.SIGKILL)
        await doomed.stop()
    assert [s.text for s in provider.sent] == ["1:a"]

    # A backlog of work nobody has taken, due an hour ago: far earlier than the dead holder's
    # conversation, which falls due once its lease is over.
    backlog = [f"4477008{n:05d}" for n in range(BACKLOG)]
    store = RedisStore.from_url(redis_server.url, prefix=redis_prefix)
    async with Notifier(store, {Channel.SMS: BOT}, clock=OffsetClock(-3600), owns_store=True) as n:
        for start in range(0, BACKLOG, 500):
            await asyncio.gather(
                *(n.notify("sms", u, "tick", data={"tag": "old"}) for u in backlog[start:][:500])
            )
    clock_of = Redis.from_url(redis_server.url)
    try:
        await until_redis_time(clock_of, LEASE + 1.5)  # the lease and the sweep's grace are over
    finally:
        await clock_of.aclose()

    (survivor,) = await servers(1, **settings)
    # The turn the dead holder was in starts again in the survivor: at that moment, most of the
    # backlog must still be waiting (behind it, a survivor would first claim all of it).
    await survivor.wait_for_line("ledger handler holding", timeout=120)
    backlog_done = len(provider.sent) - 1
    assert backlog_done < BACKLOG // 3, (
        f"the dead holder's conversation was taken over after {backlog_done} of the "
        f"{BACKLOG} backlog turns: it waited behind the backlog"
    )
    async with aiohttp.ClientSession() as session:
        await settle(session, survivor, provider, [user], 1 + BACKLOG + 1)
    got = replies_by_user(provider)
    assert got[user] == ["1:a", "2:b", "3:end"]
    assert all(got[u] == ["1:old"] for u in backlog)
    assert len(provider.sent) == 1 + BACKLOG + 2
