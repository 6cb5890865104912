"""``/healthz`` says the process lives; ``/readyz`` says whether webhooks can be accepted now:
checked on a real ``botkit serve`` whose real Redis is stopped and started again."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from botkit.server import RUNTIME, create_app
from bots.echo import EchoBot
from tests.conftest import RedisServer
from tests.served import Served

pytestmark = pytest.mark.slow


async def _answer(session: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any]]:
    async with session.get(url) as response:
        return response.status, await response.json()


async def _until(session: aiohttp.ClientSession, url: str, status: int) -> dict[str, Any]:
    """The body of ``url``'s first answer with ``status`` (polled: the state is another
    process's)."""
    async with asyncio.timeout(20):
        while True:
            code, body = await _answer(session, url)
            if code == status:
                return body
            await asyncio.sleep(0.05)


async def test_readyz_follows_redis_while_healthz_stays_ok(own_redis: RedisServer) -> None:
    env = {"BOTKIT_ENV": "test", "REDIS_URL": own_redis.url, "BOTKIT_REDIS_PREFIX": "health"}
    async with Served("bots.echo:EchoBot", env) as served, aiohttp.ClientSession() as session:
        assert await _answer(session, f"{served.url}/readyz") == (200, {"status": "ready"})

        own_redis.stop()
        body = await _until(session, f"{served.url}/readyz", 503)
        assert body["error"] == "store_unreachable"
        assert await _answer(session, f"{served.url}/healthz") == (200, {"status": "ok"})

        own_redis.start()
        assert await _until(session, f"{served.url}/readyz", 200) == {"status": "ready"}


async def test_readyz_is_503_while_draining(aiohttp_client: Any, settings_for: Any) -> None:
    app = create_app(settings_for(), EchoBot())
    client = await aiohttp_client(app)
    assert (await client.get("/readyz")).status == 200
    await app[RUNTIME].close()
    response = await client.get("/readyz")
    assert response.status == 503
    assert (await response.json())["error"] == "draining"
