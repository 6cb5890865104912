"""Rate limits shared by every process of a bot: token buckets in Redis.

One bucket per channel and sender, in one hash whose key carries the bucket as a hash tag::

    P:rate:{channel:sender}   HASH   t=tokens s=stamp (s) [r=slow rate u=slow until (s)]

Each take is one Lua script on that one key, so it is atomic, and runs on one Redis or on a
Redis Cluster alike. The scripts read the server's clock (``TIME``), so processes with skewed
clocks share one timeline; the bucket behaves as :class:`~botkit.ratelimit.TokenBucket` does
(refill at the rate, at most ``burst`` saved up, a quota's slow-down until its reset, then
the first send at once). A key unused for a minute past the time it takes to refill (or past
its quota's reset) expires: a fresh bucket is full, as the old one would be by then.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from botkit.events import Channel
from botkit.log import get_logger
from botkit.ratelimit import (
    DEFAULT_RATES,
    UNLIMITED,
    ChannelLimiter,
    Quota,
    RateLimiter,
    Sleep,
    read_quota,
)

log = get_logger("botkit.ratelimit")

_NOW = """
local now = tonumber(ARGV[1])
if not now then
  local clock = redis.call('TIME')
  now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
end
"""

_REFILL = (
    _NOW
    + """
local rate, burst = tonumber(ARGV[2]), tonumber(ARGV[3])
local held = redis.call('HMGET', KEYS[1], 't', 's', 'r', 'u')
local tokens = tonumber(held[1]) or burst
local from = tonumber(held[2]) or now
local slow, untl = tonumber(held[3]), tonumber(held[4])
if slow then
  if now < untl then
    tokens = math.min(burst, tokens + math.max(0, (now - from) * slow))
    from = now
  else
    tokens = math.min(burst, tokens + math.max(0, (untl - from) * slow))
    -- the quota has just been renewed: the first send need not wait
    tokens = math.max(tokens, 1)
    from = untl
    slow, untl = nil, nil
  end
end
tokens = math.min(burst, tokens + math.max(0, (now - from) * rate))
"""
)

_SAVE = """
redis.call('HSET', KEYS[1], 't', tostring(tokens), 's', tostring(now))
local keep = burst / rate
if slow then
  redis.call('HSET', KEYS[1], 'r', tostring(slow), 'u', tostring(untl))
  keep = math.max(keep, untl - now)
else
  redis.call('HDEL', KEYS[1], 'r', 'u')
end
redis.call('PEXPIRE', KEYS[1], math.ceil((math.min(keep, 86400) + 60) * 1000))
"""

TAKE = (
    _REFILL
    + """
local wait = 0
if tokens >= 1 - 1e-9 then
  tokens = math.max(0, tokens - 1)
elseif not slow then
  wait = (1 - tokens) / rate
elseif slow <= 0 then
  wait = untl - now
else
  wait = math.min((1 - tokens) / slow, untl - now)
end
"""
    + _SAVE
    + "return tostring(wait)\n"
)
"""KEYS: the bucket. ARGV: now (Unix seconds; empty: the server's clock), rate, burst. Takes a
token and returns "0", or returns the seconds until the next one is due (as text: Redis would
cut a Lua number to an integer)."""

OBSERVE = (
    _REFILL
    + """
local remaining, reset = tonumber(ARGV[4]), tonumber(ARGV[5])
if reset <= now then
  return 0
end
local slowed = remaining / (reset - now)
if slowed >= rate then
  slow, untl = nil, nil
else
  slow, untl = math.max(0, slowed), reset
  tokens = math.min(tokens, math.max(0, math.min(remaining, 1)))
end
"""
    + _SAVE
    + "return 1\n"
)
"""KEYS: the bucket. ARGV: now, rate, burst, remaining sends, their reset (Unix seconds). Slows the
bucket so that the remaining sends last until the reset (lifts a slow-down when they allow the
full rate); returns 0, changing nothing, when the reset is past by the server's clock."""

RATE = (
    _NOW
    + """
local held = redis.call('HMGET', KEYS[1], 'r', 'u')
if held[1] and tonumber(held[2]) > now then
  return held[1]
end
return false
"""
)
"""KEYS: the bucket. ARGV: now. The slowed rate in force (as text), or nil."""


class RedisLimiter(RateLimiter):
    """Token buckets in Redis through ``client`` (one Redis or a Redis Cluster, decoding
    responses to ``str``), shared by
    every limiter on the same Redis and ``prefix``: N processes together send at most the
    configured rate (plus ``burst``), and quota headers one of them observes slow all.

    ``rates``, ``default`` and ``burst`` are :class:`~botkit.ratelimit.ChannelLimiter`'s.
    Within one process, the callers waiting for one bucket wait in arrival order and one at a
    time asks Redis; a caller that finds the bucket empty sleeps until the next token is due
    by the server's clock, then asks again (another process may have taken it). On a channel
    without a rate, callers ask at once, and queue so only while quota headers slow it.

    ``clock`` (Unix seconds) is the time the buckets go by; by default (None) the scripts read
    the Redis server's clock, so that processes with skewed clocks share one timeline. Tests
    pass a clock they move, together with a ``sleep`` that moves it.

    When Redis cannot be reached, sends are paced by ``fallback`` (by default a
    :class:`~botkit.ratelimit.ChannelLimiter` with the same rates) in this process alone, and
    a warning says so at most once every ``warn_every`` seconds; nothing is raised.
    """

    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        prefix: str = "bk",
        rates: Mapping[Channel, float] | None = None,
        default: float | None = None,
        burst: float = 1.0,
        sleep: Sleep = asyncio.sleep,
        fallback: RateLimiter | None = None,
        warn_every: float = 30.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if "{" in prefix or "}" in prefix:
            raise ValueError("the key prefix must not contain { or }: they make hash tags")
        self.prefix = prefix
        self.rates: Mapping[Channel, float] = {**DEFAULT_RATES, **(rates or {})}
        self.default = default
        self.burst = burst
        self._sleep = sleep
        self._clock = clock
        self._fallback = fallback or ChannelLimiter(rates, default, burst=burst)
        self._take = client.register_script(TAKE)
        self._observe = client.register_script(OBSERVE)
        self._rate = client.register_script(RATE)
        self._turns: dict[str, asyncio.Lock] = {}
        self._warn_every = warn_every
        self._warned_at = -warn_every

    def key(self, channel: Channel, sender: str = "") -> str:
        """The Redis key of the bucket of ``sender`` on ``channel``."""
        return f"{self.prefix}:rate:{{{channel.value}:{sender}}}"

    def _now(self) -> float | str:
        """The ``now`` argument of the scripts: empty for the server's clock."""
        return "" if self._clock is None else self._clock()

    def _shape(self, channel: Channel) -> tuple[float, float]:
        rate = self.rates.get(channel, self.default)
        return (UNLIMITED, UNLIMITED) if rate is None else (rate, self.burst)

    async def acquire(self, channel: Channel, sender: str = "") -> None:
        key = self.key(channel, sender)
        rate, burst = self._shape(channel)
        if rate >= UNLIMITED:
            # A channel without a rate waits only while quota headers slow it: callers need
            # not queue to ask (under load they would wait a round trip each for nothing).
            wait = await self._take_one(key, rate, burst, channel, sender)
            if wait is None or wait <= 0:
                return
        turn = self._turns.setdefault(key, asyncio.Lock())
        async with turn:
            while True:
                wait = await self._take_one(key, rate, burst, channel, sender)
                if wait is None or wait <= 0:
                    return
                await self._sleep(wait)

    async def _take_one(
        self, key: str, rate: float, burst: float, channel: Channel, sender: str
    ) -> float | None:
        """Take a token: 0 when taken, else the seconds until the next is due; None once the
        fallback paced the send (Redis could not be reached)."""
        try:
            return float(await self._take(keys=[key], args=[self._now(), rate, burst]))
        except RedisError as exc:
            self._unreachable(exc)
            await self._fallback.acquire(channel, sender)
            return None

    async def observe_quota(
        self, headers: Mapping[str, str], channel: Channel, sender: str = ""
    ) -> Quota | None:
        quota = read_quota(headers, now=(self._clock or time.time)())
        if quota is None:
            return None
        rate, burst = self._shape(channel)
        try:
            applied = await self._observe(
                keys=[self.key(channel, sender)],
                args=[self._now(), rate, burst, quota.remaining, quota.reset],
            )
        except RedisError as exc:
            self._unreachable(exc)
            return await self._fallback.observe_quota(headers, channel, sender)
        return quota if int(applied) else None

    async def effective_rate(self, channel: Channel, sender: str = "") -> float | None:
        configured = self.rates.get(channel, self.default)
        try:
            slowed = await self._rate(keys=[self.key(channel, sender)], args=[self._now()])
        except RedisError as exc:
            self._unreachable(exc)
            return await self._fallback.effective_rate(channel, sender)
        if slowed is None:
            return configured
        return float(slowed) if configured is None else min(configured, float(slowed))

    def _unreachable(self, exc: RedisError) -> None:
        now = time.monotonic()
        if now - self._warned_at >= self._warn_every:
            self._warned_at = now
            log.warning(
                "Redis unreachable: sends are paced by this process alone",
                error=type(exc).__name__,
                detail=str(exc),
            )
