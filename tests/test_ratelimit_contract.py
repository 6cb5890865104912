"""One contract, two rate limiters: every test runs on ChannelLimiter (this process) and on
RedisLimiter (buckets in a real Redis).

Both go by a clock the tests move (the Redis scripts take it instead of the server's): each
test asserts what the limiter decided, which sends went at once and how long each other one
was told to wait, not how long the machine took. "Another process" is a second limiter on the
same Redis with a client of its own; for the in-process limiter it is the same object, as a bot
on the memory store is one process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis

from botkit.events import Channel
from botkit.ratelimit import ChannelLimiter, RateLimiter
from botkit.store.redis.limiter import RedisLimiter
from tests.conftest import RedisServer


@dataclass
class Clock:
    """Unix seconds that only sleeping moves: a sleep records how long it was asked for.

    It starts near 1970 so that the seconds keep their fractions exact as text in Redis.
    """

    now: float = 100.0
    waits: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


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


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "redis"])
async def backend(
    request: pytest.FixtureRequest, redis_prefix: str, clock: Clock
) -> AsyncIterator[Backend]:
    if request.param == "memory":

        def memory(**options: Any) -> RateLimiter:
            return ChannelLimiter(**options, clock=clock, sleep=clock.sleep, wall=clock)

        yield Backend("memory", memory, shared=True)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    clients: list[Redis] = []

    def redis(**options: Any) -> RateLimiter:
        client = Redis.from_url(server.url, decode_responses=True)
        clients.append(client)
        return RedisLimiter(client, prefix=redis_prefix, **options, clock=clock, sleep=clock.sleep)

    yield Backend("redis", redis, shared=False)
    for client in clients:
        await client.aclose()


async def test_sends_are_paced_at_the_rate(backend: Backend, clock: Clock) -> None:
    limiter = backend.make(rates={Channel.WHATSAPP: 20})
    await asyncio.gather(*(limiter.acquire(Channel.WHATSAPP, "bot") for _ in range(6)))
    # The first goes at once, each other one a twentieth of a second after the one before.
    assert clock.waits == pytest.approx([1 / 20] * 5)
    assert await limiter.effective_rate(Channel.WHATSAPP, "bot") == 20


async def test_processes_together_keep_the_rate(backend: Backend, clock: Clock) -> None:
    first = backend.make(rates={Channel.SMS: 20})
    second = backend.another(first)
    await first.acquire(Channel.SMS, "bot")
    for _ in range(3):
        await second.acquire(Channel.SMS, "bot")
        await first.acquire(Channel.SMS, "bot")
    # One bucket for both: after the first send, each waits for the token the other left.
    assert clock.waits == pytest.approx([1 / 20] * 6)


async def test_each_channel_and_sender_has_a_bucket_of_its_own(
    backend: Backend, clock: Clock
) -> None:
    limiter = backend.make(rates={Channel.WHATSAPP: 1, Channel.SMS: 1})
    await limiter.acquire(Channel.WHATSAPP, "447700900000")
    await limiter.acquire(Channel.WHATSAPP, "447700900009")
    await limiter.acquire(Channel.SMS, "447700900000")
    assert clock.waits == []  # three first tokens
    await limiter.acquire(Channel.SMS, "447700900000")
    assert clock.waits == pytest.approx([1.0])  # a second token of one bucket


async def test_a_channel_without_a_rate_is_not_paced(backend: Backend, clock: Clock) -> None:
    limiter = backend.make()
    assert await limiter.effective_rate(Channel.MESSENGER, "page") is None
    await asyncio.gather(*(limiter.acquire(Channel.MESSENGER, "page") for _ in range(50)))
    assert clock.waits == []
    assert await limiter.effective_rate(Channel.SMS, "bot") == 30  # the SMS API's own


async def test_a_quota_one_process_observes_slows_every_process(
    backend: Backend, clock: Clock
) -> None:
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
    await second.acquire(Channel.WHATSAPP, "bot")
    assert clock.waits == pytest.approx([1.0])
    assert await second.effective_rate(Channel.WHATSAPP, "bot") == 50


async def test_a_quota_paces_what_is_left_until_its_reset(backend: Backend, clock: Clock) -> None:
    limiter = backend.make(rates={Channel.WHATSAPP: 50})
    await limiter.observe_quota(
        {"x-ratelimit-remaining": "10", "x-ratelimit-reset": "2"}, Channel.WHATSAPP, "bot"
    )
    rate = await limiter.effective_rate(Channel.WHATSAPP, "bot")
    assert rate == pytest.approx(5)  # 10 left for 2 s
    await asyncio.gather(*(limiter.acquire(Channel.WHATSAPP, "bot") for _ in range(3)))
    assert clock.waits == pytest.approx([1 / 5, 1 / 5])


async def test_a_quota_applies_on_a_channel_without_a_rate(backend: Backend, clock: Clock) -> None:
    limiter = backend.make()
    other = backend.another(limiter)
    await limiter.observe_quota(
        {"quota-remaining": "4", "quota-reset-utc": "2"}, Channel.VIBER, "service"
    )
    assert await other.effective_rate(Channel.VIBER, "service") == pytest.approx(2)
    await asyncio.gather(*(other.acquire(Channel.VIBER, "service") for _ in range(2)))
    assert clock.waits == pytest.approx([1 / 2])
    clock.now += 2  # past the reset: unpaced again
    await asyncio.gather(*(other.acquire(Channel.VIBER, "service") for _ in range(10)))
    assert clock.waits == pytest.approx([1 / 2])
    assert await other.effective_rate(Channel.VIBER, "service") is None


async def test_headers_without_a_usable_quota_change_nothing(
    backend: Backend, clock: Clock
) -> None:
    limiter = backend.make(rates={Channel.WHATSAPP: 10})
    past = datetime.fromtimestamp(clock.now - 5, UTC).isoformat()
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
