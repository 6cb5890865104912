"""One contract, two rate limiters: every test runs on ChannelLimiter (this process) and on
RedisLimiter (buckets in a real Redis).

The Redis scripts read the server's clock, so these tests use real time, with short waits:
lower bounds are exact (a limiter must never let more through than its rate), upper bounds
generous. "Another process" is a second limiter on the same Redis with a client of its own;
for the in-process limiter it is the same object, as a bot on the memory store is one process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis.asyncio import Redis

from botkit.events import Channel
from botkit.ratelimit import ChannelLimiter, RateLimiter
from botkit.store.redis.limiter import RedisLimiter
from tests.conftest import RedisServer

SLACK = 0.02
"""Seconds a measured span may fall short of its bound: the two readings of the clock."""
LATE = 1.0
"""Seconds a wait may overrun on a busy machine."""


@dataclass
class Backend:
    name: str
    build: Callable[..., RateLimiter]
    shared: bool
    """True when another process's limiter is this one (one process in all)."""
    made: list[tuple[RateLimiter, dict[str, Any]]] = field(default_factory=list)

    def make(self, **options: Any) -> RateLimiter:
        limiter = self.build(**options)
        self.made.append((limiter, options))
        return limiter

    def another(self, limiter: RateLimiter) -> RateLimiter:
        """The same limiter as another process of the bot sees it."""
        if self.shared:
            return limiter
        options = next(o for made, o in self.made if made is limiter)
        return self.make(**options)


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[Backend]:
    if request.param == "memory":
        yield Backend("memory", ChannelLimiter, shared=True)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    clients: list[Redis] = []

    def redis(**options: Any) -> RateLimiter:
        client = Redis.from_url(server.url, decode_responses=True)
        clients.append(client)
        return RedisLimiter(client, prefix=redis_prefix, **options)

    yield Backend("redis", redis, shared=False)
    for client in clients:
        await client.aclose()


async def timed(*takes: Any) -> float:
    """Seconds until every one of ``takes`` (acquire coroutines, run at once) is done."""
    started = time.monotonic()
    await asyncio.gather(*takes)
    return time.monotonic() - started


async def test_sends_are_paced_at_the_rate(backend: Backend) -> None:
    limiter = backend.make(rates={Channel.WHATSAPP: 20})
    elapsed = await timed(*(limiter.acquire(Channel.WHATSAPP, "bot") for _ in range(6)))
    # The first goes at once, each other one a twentieth of a second after the one before.
    assert 5 / 20 - SLACK <= elapsed < 5 / 20 + LATE
    assert await limiter.effective_rate(Channel.WHATSAPP, "bot") == 20


async def test_processes_together_keep_the_rate(backend: Backend) -> None:
    first = backend.make(rates={Channel.SMS: 20})
    second = backend.another(first)
    takes = [p.acquire(Channel.SMS, "bot") for p in (first, second) for _ in range(5)]
    elapsed = await timed(*takes)
    assert 9 / 20 - SLACK <= elapsed < 9 / 20 + LATE


async def test_each_channel_and_sender_has_a_bucket_of_its_own(backend: Backend) -> None:
    limiter = backend.make(rates={Channel.WHATSAPP: 1, Channel.SMS: 1})
    elapsed = await timed(
        limiter.acquire(Channel.WHATSAPP, "447700900000"),
        limiter.acquire(Channel.WHATSAPP, "447700900009"),
        limiter.acquire(Channel.SMS, "447700900000"),
    )
    assert elapsed < 0.5  # three first tokens; one more on any bucket would take a second


async def test_a_channel_without_a_rate_is_not_paced(backend: Backend) -> None:
    limiter = backend.make()
    assert await limiter.effective_rate(Channel.MESSENGER, "page") is None
    elapsed = await timed(*(limiter.acquire(Channel.MESSENGER, "page") for _ in range(50)))
    assert elapsed < 0.5  # a rate as slow as 100 a second would need 0.49 s
    assert await limiter.effective_rate(Channel.SMS, "bot") == 30  # the SMS API's own


async def test_a_quota_one_process_observes_slows_every_process(backend: Backend) -> None:
    first = backend.make(rates={Channel.WHATSAPP: 50})
    second = backend.another(first)
    quota = await first.observe_quota(
        {"Quota-Remaining": "0", "Quota-Reset-UTC": "1"}, Channel.WHATSAPP, "bot"
    )
    assert quota is not None
    assert quota.remaining == 0
    assert await second.effective_rate(Channel.WHATSAPP, "bot") == 0
    assert await second.effective_rate(Channel.WHATSAPP, "other") == 50
    # The quota is spent until its reset, a second from now: then the next send goes at once.
    elapsed = await timed(second.acquire(Channel.WHATSAPP, "bot"))
    assert 1 - 0.1 <= elapsed < 1 + LATE  # the reset was read to the whole second
    assert await second.effective_rate(Channel.WHATSAPP, "bot") == 50


async def test_a_quota_paces_what_is_left_until_its_reset(backend: Backend) -> None:
    limiter = backend.make(rates={Channel.WHATSAPP: 50})
    await limiter.observe_quota(
        {"x-ratelimit-remaining": "10", "x-ratelimit-reset": "2"}, Channel.WHATSAPP, "bot"
    )
    rate = await limiter.effective_rate(Channel.WHATSAPP, "bot")
    assert rate == pytest.approx(5, rel=0.05)  # 10 left for 2 s
    elapsed = await timed(*(limiter.acquire(Channel.WHATSAPP, "bot") for _ in range(3)))
    assert 2 / 5 - SLACK <= elapsed < 2 / 5 + LATE


async def test_a_quota_applies_on_a_channel_without_a_rate(backend: Backend) -> None:
    limiter = backend.make()
    other = backend.another(limiter)
    await limiter.observe_quota(
        {"quota-remaining": "4", "quota-reset-utc": "2"}, Channel.VIBER, "service"
    )
    assert await other.effective_rate(Channel.VIBER, "service") == pytest.approx(2, rel=0.05)
    elapsed = await timed(*(other.acquire(Channel.VIBER, "service") for _ in range(2)))
    assert 1 / 2 - SLACK <= elapsed < 1 / 2 + LATE


async def test_headers_without_a_usable_quota_change_nothing(backend: Backend) -> None:
    limiter = backend.make(rates={Channel.WHATSAPP: 10})
    past = str(int(time.time() - 5))
    for headers in (
        {"content-type": "application/json"},
        {"quota-remaining": "3"},
        {"quota-remaining": "lots", "quota-reset-utc": "soon"},
        {"quota-remaining": "0", "quota-reset-utc": past},
    ):
        assert await limiter.observe_quota(headers, Channel.WHATSAPP, "bot") is None
    assert await limiter.observe_quota(
        {"quota-remaining": "1000", "quota-reset-utc": "10"}, Channel.WHATSAPP, "bot"
    )
    assert await limiter.effective_rate(Channel.WHATSAPP, "bot") == 10
