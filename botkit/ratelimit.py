"""Pacing sends: a token bucket per channel and sender, slowed down by the provider's quota headers.

:class:`RateLimiter` is the small interface the transport stack paces its sends with; two
implementations keep its contract:

- :class:`ChannelLimiter`: buckets in this process (:class:`TokenBucket`), for the embedded
  memory store, whose bot runs as one process.
- :class:`~botkit.store.redis.limiter.RedisLimiter`: buckets in Redis, shared by every process
  of a bot that shares a Redis store, so that together they keep the configured rate.

:class:`TokenBucket` lets ``rate`` sends a second through, with bursts of up to ``burst``; a
caller that finds it empty sleeps exactly until the next token is due (callers are served in
arrival order).

When an answer carries quota headers (``quota-limit``, ``quota-remaining`` or ``quota-used``,
``quota-reset-utc``, or the ``x-ratelimit-*``/``ratelimit-*`` equivalents), :meth:`TokenBucket.
observe_quota` lowers the rate until the reset so that the remaining quota lasts until then; a
spent quota holds every send until the reset. The bucket never goes faster than its own rate.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

from botkit.events import Channel

Sleep = Callable[[float], Awaitable[object]]

_PREFIXES = ("quota-", "x-quota-", "x-ratelimit-", "ratelimit-", "x-rate-limit-")
_EPSILON = 1e-9
UNLIMITED = 1e6
"""Sends a second of a channel without a rate: a bucket that only quota headers slow down."""


class RateLimiter(Protocol):
    """Paces sends: one token bucket per channel and sender.

    A channel's rate comes from the limiter's configuration; a channel without one is not
    paced until quota headers say otherwise. Quota headers observed on any answer lower the
    rate of that channel and sender until the quota resets (see :meth:`TokenBucket.
    observe_quota`); where limiters share their buckets, one limiter's observation slows all.
    No method raises for a backend that is unreachable: pacing goes on as well as it can.
    """

    async def acquire(self, channel: Channel, sender: str = "") -> None:
        """Wait for the next send of ``sender`` on ``channel``."""
        ...

    async def observe_quota(
        self, headers: Mapping[str, str], channel: Channel, sender: str = ""
    ) -> Quota | None:
        """Apply the quota headers of an answer to a send of ``sender`` on ``channel``;
        return the quota read (None: the headers carry none, or its reset is past)."""
        ...

    async def effective_rate(self, channel: Channel, sender: str = "") -> float | None:
        """The sends a second in force for ``sender`` on ``channel``: its configured rate, or
        lower while a quota slows it; None for a channel without a rate or a quota."""
        ...


@dataclass(frozen=True)
class Quota:
    """What quota headers said: sends ``remaining`` until ``reset`` (Unix seconds)."""

    remaining: float
    reset: float


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; :meth:`acquire` takes one.

    ``clock`` (monotonic seconds) and ``sleep`` are injectable so tests can move time;
    ``wall`` (Unix seconds) is only used to read the reset times of quota headers.
    """

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        sleep: Sleep = asyncio.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if not rate > 0 or not math.isfinite(rate):
            raise ValueError(f"a rate is a positive number of tokens a second; got {rate}")
        if not burst >= 1 or not math.isfinite(burst):
            raise ValueError(f"a burst is at least 1 token; got {burst}")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._wall = wall
        self._tokens = self.burst
        self._stamp = clock()
        self._slow: tuple[float, float] | None = None
        """A lower rate in force until a monotonic deadline, from quota headers."""
        self._lock = asyncio.Lock()

    @property
    def effective_rate(self) -> float:
        """The rate in force now: :attr:`rate`, or lower while a quota slows the bucket."""
        self._refill(self._clock())
        return self.rate if self._slow is None else self._slow[0]

    async def acquire(self) -> None:
        """Take one token, sleeping until one is due when the bucket is empty."""
        async with self._lock:
            while True:
                now = self._clock()
                self._refill(now)
                if self._tokens >= 1 - _EPSILON:
                    self._tokens = max(0.0, self._tokens - 1)
                    return
                await self._sleep(self._wait(now))

    def slow_down(self, rate: float, until: float, *, tokens: float = 1.0) -> None:
        """Go at most ``rate`` tokens a second (0 holds every send) until the monotonic time
        ``until``, then back to :attr:`rate`; keep at most ``tokens`` saved up from before. A
        ``rate`` at or above :attr:`rate`, or an ``until`` already past, lifts any slow-down."""
        now = self._clock()
        self._refill(now)
        if until <= now or rate >= self.rate:
            self._slow = None
            return
        self._slow = (max(0.0, rate), until)
        self._tokens = min(self._tokens, max(0.0, tokens))

    def observe_quota(self, headers: Mapping[str, str]) -> Quota | None:
        """Slow down so that the quota the headers report lasts until its reset; return it.

        Headers without a readable quota, or with a reset already past, change nothing.
        """
        wall = self._wall()
        quota = read_quota(headers, now=wall)
        if quota is None or quota.reset <= wall:
            return None
        left = quota.reset - wall
        self.slow_down(
            quota.remaining / left, self._clock() + left, tokens=min(quota.remaining, 1.0)
        )
        return quota

    def _refill(self, now: float) -> None:
        elapsed_from = self._stamp
        if self._slow is not None:
            slow_rate, until = self._slow
            if now < until:
                self._add((now - elapsed_from) * slow_rate)
                self._stamp = now
                return
            self._add((until - elapsed_from) * slow_rate)
            # The quota has just been renewed: the first send need not wait.
            self._tokens = max(self._tokens, 1.0)
            elapsed_from = until
            self._slow = None
        self._add((now - elapsed_from) * self.rate)
        self._stamp = now

    def _add(self, tokens: float) -> None:
        self._tokens = min(self.burst, self._tokens + max(0.0, tokens))

    def _wait(self, now: float) -> float:
        missing = 1 - self._tokens
        if self._slow is None:
            return missing / self.rate
        slow_rate, until = self._slow
        if slow_rate <= 0:
            return until - now
        return min(missing / slow_rate, until - now)


DEFAULT_RATES: Mapping[Channel, float] = {Channel.SMS: 30.0}
"""Sends a second per channel unless configured: the SMS API's documented 30 a second."""


class ChannelLimiter(RateLimiter):
    """Buckets in this process, one :class:`TokenBucket` per channel and sender: ``rates``
    over :data:`DEFAULT_RATES`, and ``default`` sends a second for every other channel (None:
    unlimited, until quota headers say otherwise)."""

    def __init__(
        self,
        rates: Mapping[Channel, float] | None = None,
        default: float | None = None,
        *,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.rates: Mapping[Channel, float] = {**DEFAULT_RATES, **(rates or {})}
        self.default = default
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._wall = wall
        self._buckets: dict[tuple[Channel, str], TokenBucket] = {}

    def rate_of(self, channel: Channel) -> float | None:
        """The configured sends a second of ``channel`` (None: unlimited)."""
        return self.rates.get(channel, self.default)

    def bucket(self, channel: Channel, sender: str = "") -> TokenBucket | None:
        """The bucket of ``sender`` on ``channel``; None for a channel without a rate that no
        quota has slowed."""
        key = (channel, sender)
        if key not in self._buckets:
            rate = self.rate_of(channel)
            if rate is None:
                return None
            self._buckets[key] = self._make(rate, self.burst)
        return self._buckets[key]

    async def acquire(self, channel: Channel, sender: str = "") -> None:
        bucket = self.bucket(channel, sender)
        if bucket is not None:
            await bucket.acquire()

    async def observe_quota(
        self, headers: Mapping[str, str], channel: Channel, sender: str = ""
    ) -> Quota | None:
        """See :meth:`RateLimiter.observe_quota`. A channel without a rate gets a bucket as
        fast as the quota allows, so that a quota is honoured on every channel."""
        bucket = self.bucket(channel, sender)
        if bucket is None:
            if read_quota(headers, now=self._wall()) is None:
                return None
            bucket = self._buckets[(channel, sender)] = self._make(UNLIMITED, UNLIMITED)
        return bucket.observe_quota(headers)

    async def effective_rate(self, channel: Channel, sender: str = "") -> float | None:
        bucket = self.bucket(channel, sender)
        if bucket is None:
            return None
        rate = bucket.effective_rate
        return None if rate >= UNLIMITED else rate

    def _make(self, rate: float, burst: float) -> TokenBucket:
        return TokenBucket(rate, burst, self._clock, sleep=self._sleep, wall=self._wall)


def read_quota(headers: Mapping[str, str], *, now: float | None = None) -> Quota | None:
    """The quota in ``headers`` (names compared case-insensitively), or None.

    Remaining sends come from ``*-remaining``, or ``*-limit`` minus ``*-used``; the reset from
    ``*-reset-utc``/``*-reset``: Unix seconds (milliseconds when that large), seconds from
    ``now`` when small (the IETF ``RateLimit-Reset`` form), an ISO 8601 time or an HTTP date.
    Without a reset time, ``*-interval`` and ``*-time-unit`` (``1`` and ``minute``, as KPN's API
    Store sends them) give it: one whole interval from ``now``, a month counted as 31 days.
    """
    lowered = {str(k).strip().lower(): str(v).strip() for k, v in headers.items()}
    now = time.time() if now is None else now
    for prefix in _PREFIXES:
        remaining = _number(lowered.get(prefix + "remaining"))
        if remaining is None:
            limit = _number(lowered.get(prefix + "limit"))
            used = _number(lowered.get(prefix + "used"))
            if limit is None or used is None:
                continue
            remaining = limit - used
        reset = None
        for name in ("reset-utc", "reset", "reset-time", "reset-at"):
            reset = _instant(lowered.get(prefix + name), now)
            if reset is not None:
                break
        if reset is None:
            # No reset time: the quota is assumed to last a whole interval from now, the
            # slowest it can need to be spread over, so it is never overrun.
            window = _interval(lowered.get(prefix + "interval"), lowered.get(prefix + "time-unit"))
            if window is None:
                continue
            reset = now + window
        return Quota(remaining=max(0.0, remaining), reset=reset)
    return None


_UNIT_SECONDS = {
    "second": 1.0,
    "minute": 60.0,
    "hour": 3600.0,
    "day": 86400.0,
    "week": 7 * 86400.0,
    "month": 31 * 86400.0,
}


def _interval(count: str | None, unit: str | None) -> float | None:
    """Seconds in ``count`` ``unit``s (``1``, ``minute``; plural units too), or None."""
    number = _number(count) if count is not None else 1.0
    seconds = _UNIT_SECONDS.get((unit or "").strip().lower().removesuffix("s"))
    if number is None or number <= 0 or seconds is None:
        return None
    return number * seconds


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    # "100;w=60" (IETF draft) or "100, 1000;window=3600": the first number is the current one.
    head = text.split(",")[0].split(";")[0].strip()
    try:
        value = float(head)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _instant(text: str | None, now: float) -> float | None:
    if not text:
        return None
    value = _number(text)
    if value is not None:
        if value >= 1e12:
            return value / 1000
        if value >= 1e9:
            return value
        return now + value if value >= 0 else None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
