"""Slow and greedy clients against a real ``botkit serve``: slow-loris connections are closed
within the header deadline while the provider gets through, connections over the cap are
answered 503 at once, a body that never comes is answered 408, and near the open-files limit
the server neither locks the provider out nor floods its log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import time
from typing import Any

import aiohttp
import pytest

from botkit.testing import ProviderStandIn
from tests.served import Served
from tests.test_server import now_iso

pytestmark = pytest.mark.slow


def _webhook(n: int) -> dict[str, Any]:
    return {
        "channel": "whatsapp",
        "message_uuid": f"aaaaaaaa-bbbb-4ccc-8ddd-{n:012d}",
        "to": "447700900000",
        "from": "447700900001",
        "timestamp": now_iso(),
        "message_type": "text",
        "text": "hello",
    }


async def _post_webhook(url: str, n: int) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/webhooks/inbound", json=_webhook(n)) as response,
    ):
        return response.status


async def _slow_loris(port: int, closed: asyncio.Queue[float]) -> None:
    """A client that sends its request head one byte at a time and never finishes it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /webhooks/inbound HTTP/1.1\r\nHost: bot\r\nX-Slow: ")
    try:
        while not reader.at_eof():
            writer.write(b"a")
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    await reader.read(4096)
    except ConnectionError:
        pass
    finally:
        await closed.put(time.monotonic())
        writer.close()


async def test_slow_loris_connections_are_closed_and_the_provider_gets_through(
    provider: ProviderStandIn,
) -> None:
    env = {"BOTKIT_ENV": "test", "VONAGE_API_URL": provider.url, "BOTKIT_HEADER_TIMEOUT": "3"}
    async with Served("bots.echo:EchoBot", env) as served:
        closed: asyncio.Queue[float] = asyncio.Queue()
        opened = time.monotonic()
        lorises = [asyncio.create_task(_slow_loris(served.port, closed)) for _ in range(500)]
        # While all 500 hold their connections, the provider's webhook is answered.
        assert await _post_webhook(served.url, 1) == 200
        assert closed.qsize() < 500, "the provider came through while the slow clients held on"
        async with asyncio.timeout(15):
            ends = [await closed.get() for _ in range(500)]
        await asyncio.gather(*lorises)
    assert max(ends) - opened < 3 + 5, "every slow-loris connection closed within the deadline"


async def test_connections_over_the_cap_are_answered_503_at_once(
    provider: ProviderStandIn,
) -> None:
    env = {"BOTKIT_ENV": "test", "VONAGE_API_URL": provider.url, "BOTKIT_MAX_CONNECTIONS": "20"}
    async with Served("bots.echo:EchoBot", env) as served:
        idle = [await asyncio.open_connection("127.0.0.1", served.port) for _ in range(20)]
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n")
        answer = await reader.read()
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503")
        assert b"Retry-After: 1" in head
        assert "BOTKIT_MAX_CONNECTIONS" in json.loads(body)["message"]
        writer.close()
        for _, idle_writer in idle:
            idle_writer.close()
        await served.wait_answering()  # room again once the idle ones are gone
        await served.wait_for_line("connections refused: the server is at its cap")


async def test_a_body_that_never_comes_is_answered_408(provider: ProviderStandIn) -> None:
    env = {"BOTKIT_ENV": "test", "VONAGE_API_URL": provider.url, "BOTKIT_BODY_TIMEOUT": "1"}
    async with Served("bots.echo:EchoBot", env) as served:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        writer.write(
            b"POST /webhooks/inbound HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"chan'
        )
        async with asyncio.timeout(10):
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            body = await reader.readexactly(length)
        assert head.startswith(b"HTTP/1.1 408")
        assert "BOTKIT_BODY_TIMEOUT" in json.loads(body)["message"]
        writer.close()


def _few_open_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


async def test_near_the_open_files_limit_the_provider_is_not_locked_out_nor_the_log_flooded(
    provider: ProviderStandIn,
) -> None:
    env = {
        "BOTKIT_ENV": "test",
        "VONAGE_API_URL": provider.url,
        "BOTKIT_MAX_CONNECTIONS": "100000",
        "BOTKIT_HEADER_TIMEOUT": "2",
    }
    async with Served("bots.echo:EchoBot", env, preexec_fn=_few_open_files) as served:
        await served.wait_for_line("fewer connections than BOTKIT_MAX_CONNECTIONS")
        flood = [await asyncio.open_connection("127.0.0.1", served.port) for _ in range(400)]
        # The provider retries on 503 and on a reset connection, as it does in production.
        async with asyncio.timeout(15):
            while True:
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    status = await _post_webhook(served.url, 2)
                    if status == 200:
                        break
                    assert status == 503
                await asyncio.sleep(0.1)
        for _, writer in flood:
            writer.close()
    assert served.output.count("out of system resource") <= 1, served.output
    assert len(served.lines) < 50, served.output
