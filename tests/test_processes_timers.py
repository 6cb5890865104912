"""Timers with real server processes and a real Redis: a process killed while it handles a due
timer, and Redis gone while timers fall due. Each timer's reply is counted at the stand-in for
the Messages API: a lost or doubled firing shows in the ledger bot's numbers."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import aiohttp
import pytest

from botkit.testing import ProviderStandIn
from tests.conftest import RedisServer
from tests.test_processes import post, replies_by_user, servers, settle, webhook

__all__ = ["servers"]  # the fixture this module borrows

pytestmark = pytest.mark.slow

UNREACHABLE = "store unreachable: webhooks answer 503 (the provider retries) until it is back"


async def test_kill_9_of_the_process_firing_a_timer_another_fires_it_once(
    servers: Any, provider: ProviderStandIn
) -> None:
    (doomed,) = await servers(1)
    user = "447700900061"
    async with aiohttp.ClientSession() as session:
        # Due in a moment; its handler then takes 4 s, so the process is killed inside it.
        assert await post(session, doomed, webhook(user, "timer 0.2 t1 4")) == 200
        await provider.wait_for(1)
        await doomed.wait_for_line("took over a conversation")  # its sweep claimed the timer
        doomed.process.send_signal(signal.SIGKILL)
        await doomed.stop()
        assert doomed.process.returncode == -signal.SIGKILL
        (survivor,) = await servers(1)
        await settle(session, survivor, provider, [user], 2)
    assert replies_by_user(provider)[user] == ["1:set-t1", "2:t1", "3:end"]
    assert any(line.get("event") == "took over a conversation" for line in survivor.log_lines())


async def test_timers_that_fall_due_while_redis_is_down_fire_once_it_is_back(
    servers: Any, provider: ProviderStandIn, own_redis: RedisServer
) -> None:
    (server,) = await servers(1, redis_url=own_redis.url)
    users = [f"4477009007{n:02d}" for n in range(5)]
    async with aiohttp.ClientSession() as session:
        for user in users:
            assert await post(session, server, webhook(user, "timer 1.5 t1")) == 200
        await provider.wait_for(len(users))
        due = time.monotonic() + 1.5
        own_redis.stop()
        await server.wait_for_line(UNREACHABLE)
        # Redis stays away until every timer is past its time.
        await asyncio.sleep(max(0.0, due - time.monotonic()) + 0.5)
        assert len(provider.sent) == len(users), "nothing fires without the store"
        own_redis.start()
        await server.wait_for_line("store reachable again")
        await settle(session, server, provider, users, 2 * len(users))
    got = replies_by_user(provider)
    for user in users:
        assert got[user] == ["1:set-t1", "2:t1", "3:end"], user
