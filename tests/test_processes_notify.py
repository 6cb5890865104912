"""Proactive events with real server processes sharing one real Redis.

Two ``botkit serve tests.ledger:LedgerBot`` processes; events come through the events API of
either, through ``botkit notify`` (into Redis, and over HTTP with ``--url``) and through the
Python API of this test's own process, interleaved with the users' webhooks. The ledger bot
numbers each user's turns, so a lost, doubled or reordered event shows in the numbers.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from botkit import Channel, Notifier
from botkit.store.redis import RedisStore
from botkit.testing import ProviderStandIn
from tests.conftest import RedisServer
from tests.served import Served
from tests.test_processes import (  # noqa: F401  (servers is the fixture)
    post,
    replies_by_user,
    servers,
    webhook,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "the-events-api-token-of-the-process-tests"
BOT = "447700900000"
LEASE = 10.0
"""Long, so that an event waiting a whole lease before it is handled would show."""
SETTINGS = {
    "BOTKIT_API_TOKEN": TOKEN,
    "VONAGE_WHATSAPP_NUMBER": BOT,
    "BOTKIT_LEASE_SECONDS": str(LEASE),
}


async def api(
    session: aiohttp.ClientSession,
    server: Served,
    body: Any,
    *,
    token: str | None = TOKEN,
    raw: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    if raw is not None:
        headers["Content-Type"] = "application/json"
        request = session.post(server.url + "/api/v1/events", data=raw, headers=headers)
    else:
        request = session.post(server.url + "/api/v1/events", json=body, headers=headers)
    async with request as response:
        return response.status, await response.json()


def event(user: str, tag: str, key: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"channel": "whatsapp", "user": user, "name": "tick"}
    body["data"] = {"tag": tag}
    if key is not None:
        body["key"] = key
    return body


async def cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """``botkit notify ...`` in a process of its own."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "botkit",
        "notify",
        *args,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
def redis_env(redis_server: RedisServer, redis_prefix: str) -> dict[str, str]:
    """What a process needs to share the servers' store."""
    return {
        "BOTKIT_ENV": "test",
        "REDIS_URL": redis_server.url,
        "BOTKIT_REDIS_PREFIX": redis_prefix,
        "VONAGE_WHATSAPP_NUMBER": BOT,
    }


async def test_events_from_every_way_in_reach_the_bot_once_in_order_with_webhooks(
    servers: Any,  # noqa: F811
    provider: ProviderStandIn,
    redis_server: RedisServer,
    redis_prefix: str,
    redis_env: dict[str, str],
) -> None:
    first, second = await servers(2, **SETTINGS)
    users = [f"4477006{n:05d}" for n in range(3)]
    store = RedisStore.from_url(redis_server.url, prefix=redis_prefix)
    notifier = Notifier(store, {Channel.WHATSAPP: BOT})

    async def one_user(session: aiohttp.ClientSession, user: str) -> None:
        # Each step is accepted before the next begins, so this is the order of the inbox.
        assert await post(session, first, webhook(user, "a")) == 200
        assert await api(session, second, event(user, "b", f"{user}-b")) == (
            202,
            {"status": "accepted", "name": "tick", "key": f"{user}-b"},
        )
        repeated = await api(session, first, event(user, "b again", f"{user}-b"))
        assert repeated[1]["status"] == "duplicate"
        code, out, err = await cli(
            "whatsapp", user, "tick", "--data", '{"tag": "c"}', "--key", f"{user}-c", env=redis_env
        )
        assert (code, err) == (0, ""), out
        assert "recorded; key" in out
        code, out, _ = await cli("whatsapp", user, "tick", "--key", f"{user}-c", env=redis_env)
        assert code == 0
        assert "already recorded (a duplicate key)" in out
        done = await notifier.notify("whatsapp", user, "tick", data={"tag": "d"}, key=f"{user}-d")
        assert not done.duplicate
        again = await notifier.notify("whatsapp", user, "tick", data={"tag": "x"}, key=f"{user}-d")
        assert again.duplicate
        over_http = {"BOTKIT_API_TOKEN": TOKEN, "BOTKIT_ENV": "test"}
        code, out, err = await cli(
            "whatsapp", user, "tick", "--data", '{"tag": "e"}', "--url", second.url, env=over_http
        )
        assert (code, err) == (0, ""), out
        assert await post(session, second, webhook(user, "f")) == 200

    try:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(one_user(session, user) for user in users))
            await provider.wait_for(6 * len(users), timeout=30)
            # A last word for each: any doubled event would have been queued before it.
            for user in users:
                assert await post(session, first, webhook(user, "g")) == 200
            await provider.wait_for(7 * len(users), timeout=30)
    finally:
        await notifier.close()
    got = replies_by_user(provider)
    for user in users:
        assert got[user] == ["1:a", "2:b", "3:c", "4:d", "5:e", "6:f", "7:g"], user
    assert len(provider.sent) == 7 * len(users)


async def test_an_event_from_a_process_that_runs_no_bot_is_handled_within_a_sweep(
    servers: Any,  # noqa: F811
    provider: ProviderStandIn,
    redis_server: RedisServer,
    redis_prefix: str,
) -> None:
    """The notifier takes no lease; a serving process's sweep (every second) takes the
    conversation, well before a lease (10 s) would have run out."""
    (server,) = await servers(1, **SETTINGS)
    user = "447700600099"
    async with aiohttp.ClientSession() as session:
        assert await post(session, server, webhook(user, "hello")) == 200
    await provider.wait_for(1, timeout=10)
    store = RedisStore.from_url(redis_server.url, prefix=redis_prefix)
    async with Notifier(store, {Channel.WHATSAPP: BOT}, owns_store=True) as notifier:
        await notifier.notify("whatsapp", user, "tick", data={"tag": "now"})
        # Within a few sweeps (1 s apart) on a busy machine; a lease would be 10 s.
        await provider.wait_for(2, timeout=4.0)
    assert [s.text for s in provider.sent] == ["1:hello", "2:now"]


async def test_the_events_api_of_a_served_process_answers_bad_requests(
    servers: Any,  # noqa: F811
) -> None:
    with_token, without = await servers(1, **SETTINGS), await servers(1)
    (server,) = with_token
    (plain,) = without
    user = "447700600077"
    async with aiohttp.ClientSession() as session:
        status, found = await api(session, plain, event(user, "x"))
        assert (status, found["error"]) == (404, "not_found")
        status, found = await api(session, server, event(user, "x"), token=None)
        assert (status, found["error"]) == (401, "unauthorized")
        status, found = await api(session, server, event(user, "x"), token="a-wrong-token-0000")
        assert (status, found["error"]) == (401, "unauthorized")
        status, found = await api(session, server, None, raw=b'{"channel": ')
        assert (status, found["problems"][0]["field"]) == (400, "body")
        status, found = await api(session, server, {**event(user, "x"), "channel": "fax"})
        assert (status, found["problems"][0]["field"]) == (400, "channel")
        status, found = await api(session, server, {**event(user, "x"), "user": "12"})
        assert (status, found["problems"][0]["field"]) == (400, "user")
        status, found = await api(session, server, {"channel": "whatsapp", "user": user})
        assert (status, found["problems"][0]["field"]) == (400, "name")
        status, found = await api(session, server, {**event(user, "x"), "data": [1]})
        assert (status, found["problems"][0]["field"]) == (400, "data")
        huge = {**event(user, "x"), "data": {"filler": "x" * 2_000_000}}
        status, found = await api(session, server, huge)
        assert (status, found["error"]) == (413, "payload_too_large")
        code, _, err = await cli(
            "whatsapp",
            user,
            "tick",
            "--url",
            server.url,
            env={"BOTKIT_API_TOKEN": "a-wrong-token-0000", "BOTKIT_ENV": "test"},
        )
        assert code == 1
        assert "refused the token" in err
        code, _, err = await cli(
            "whatsapp",
            user,
            "tick",
            "--url",
            plain.url,
            env={"BOTKIT_API_TOKEN": TOKEN, "BOTKIT_ENV": "test"},
        )
        assert code == 2
        assert "serves no events API" in err
