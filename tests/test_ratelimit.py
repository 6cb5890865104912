"""Token buckets and quota headers, on a fake clock: no test waits for real time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from botkit.events import Channel
from botkit.ratelimit import ChannelLimiter, Quota, TokenBucket, read_quota

WALL = 1_700_000_000.0


class FakeTime:
    """A monotonic clock, a wall clock and a sleep that moves both instead of waiting."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def wall(self) -> float:
        return WALL + self.t

    async def sleep(self, seconds: float) -> None:
        assert seconds > 0, "a sleep of nothing would be a busy loop"
        self.sleeps.append(seconds)
        self.t += seconds
        await asyncio.sleep(0)

    def bucket(self, rate: float, burst: float = 1.0) -> TokenBucket:
        return TokenBucket(rate, burst, self.monotonic, sleep=self.sleep, wall=self.wall)

    async def times(self, bucket: TokenBucket, count: int) -> list[float]:
        stamps = []
        for _ in range(count):
            await bucket.acquire()
            stamps.append(round(self.t, 9))
        return stamps


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


async def test_sends_are_spaced_by_the_rate(fake: FakeTime) -> None:
    bucket = fake.bucket(rate=10)
    assert await fake.times(bucket, 5) == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert len(fake.sleeps) == 4  # one exact sleep per wait, no polling


async def test_a_burst_goes_at_once_then_the_rate_applies(fake: FakeTime) -> None:
    bucket = fake.bucket(rate=4, burst=3)
    assert await fake.times(bucket, 5) == [0.0, 0.0, 0.0, 0.25, 0.5]
    fake.t += 10  # idle: saves up no more than the burst
    assert await fake.times(bucket, 4) == [10.5, 10.5, 10.5, 10.75]


async def test_concurrent_callers_are_served_in_order_and_spaced(fake: FakeTime) -> None:
    bucket = fake.bucket(rate=2)
    served: list[tuple[int, float]] = []

    async def caller(n: int) -> None:
        await bucket.acquire()
        served.append((n, fake.t))

    await asyncio.gather(*(caller(n) for n in range(4)))
    assert served == [(0, 0.0), (1, 0.5), (2, 1.0), (3, 1.5)]


async def test_a_cancelled_waiter_takes_no_token(fake: FakeTime) -> None:
    gate = asyncio.Event()
    waiting = asyncio.Event()

    async def blocked_sleep(seconds: float) -> None:
        waiting.set()
        await gate.wait()

    bucket = TokenBucket(1, 1, fake.monotonic, sleep=blocked_sleep)
    await bucket.acquire()
    waiter = asyncio.create_task(bucket.acquire())
    await waiting.wait()  # the waiter waits for its token
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    fake.t += 1
    await asyncio.wait_for(bucket.acquire(), 1)  # the token due at t=1 is still there


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(1, 0.5)


async def test_quota_headers_slow_the_bucket_until_the_reset(fake: FakeTime) -> None:
    bucket = fake.bucket(rate=30, burst=5)
    quota = bucket.observe_quota(
        {"Quota-Limit": "100", "Quota-Remaining": "10", "Quota-Reset-UTC": str(int(WALL + 10))}
    )
    assert quota == Quota(remaining=10, reset=WALL + 10)
    assert bucket.effective_rate == pytest.approx(1.0)
    # 10 left for 10 s: one a second, not 30, and not the 5 saved up.
    assert await fake.times(bucket, 4) == [0.0, 1.0, 2.0, 3.0]
    fake.t = 10.0  # the quota resets: back to the bucket's own rate
    assert bucket.effective_rate == 30
    stamps = await fake.times(bucket, 7)
    assert stamps[:5] == [10.0] * 5
    assert stamps[5:] == pytest.approx([10.0 + 1 / 30, 10.0 + 2 / 30])


async def test_a_spent_quota_holds_sends_until_the_reset(fake: FakeTime) -> None:
    bucket = fake.bucket(rate=30)
    reset = format_datetime(datetime.fromtimestamp(WALL + 4, UTC), usegmt=True)
    bucket.observe_quota({"quota-limit": "50", "quota-used": "50", "quota-reset-utc": reset})
    assert bucket.effective_rate == 0
    assert await fake.times(bucket, 2) == [4.0, pytest.approx(4.0 + 1 / 30)]


async def test_a_generous_quota_does_not_slow_down(fake: FakeTime) -> None:
    bucket = fake.bucket(rate=10, burst=3)
    bucket.observe_quota({"x-ratelimit-remaining": "1000", "x-ratelimit-reset": "10"})
    assert bucket.effective_rate == 10
    assert await fake.times(bucket, 3) == [0.0, 0.0, 0.0]


async def test_headers_without_a_quota_change_nothing(fake: FakeTime) -> None:
    bucket = fake.bucket(rate=10)
    assert bucket.observe_quota({"content-type": "application/json"}) is None
    assert bucket.observe_quota({"quota-remaining": "lots", "quota-reset-utc": "soon"}) is None
    assert bucket.observe_quota({"quota-remaining": "3"}) is None  # no reset: cannot pace
    assert bucket.observe_quota({"quota-remaining": "3", "quota-time-unit": "fortnight"}) is None
    assert bucket.observe_quota({"quota-remaining": "3", "quota-interval": "0",
                                 "quota-time-unit": "minute"}) is None  # fmt: skip
    past = str(int(WALL - 5))
    assert bucket.observe_quota({"quota-remaining": "0", "quota-reset-utc": past}) is None
    assert bucket.effective_rate == 10


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"quota-remaining": "5", "quota-reset-utc": str(int(WALL + 60))}, (5, WALL + 60)),
        ({"QUOTA-LIMIT": "10", "Quota-Used": "4", "quota-reset-UTC": "60"}, (6, WALL + 60)),
        ({"quota-remaining": "5", "quota-reset-utc": str(int(WALL + 60) * 1000)}, (5, WALL + 60)),
        (
            {"quota-remaining": "5", "quota-reset-utc": "2023-11-14T22:14:20Z"},
            (5, datetime(2023, 11, 14, 22, 14, 20, tzinfo=UTC).timestamp()),
        ),
        (
            {"quota-remaining": "5", "quota-reset-utc": "2023-11-14 22:14:20"},
            (5, datetime(2023, 11, 14, 22, 14, 20, tzinfo=UTC).timestamp()),
        ),
        ({"RateLimit-Remaining": "7;w=60", "RateLimit-Reset": "30"}, (7, WALL + 30)),
        ({"quota-remaining": "-3", "quota-reset-utc": "30"}, (0, WALL + 30)),
        # KPN's API Store, with and without its reset time: without one, the quota is spread
        # over a whole interval from now.
        (
            {"quota-limit": "100", "quota-used": "40", "quota-interval": "1",
             "quota-time-unit": "minute", "quota-reset-UTC": str(int(WALL + 20))},
            (60, WALL + 20),
        ),
        (
            {"quota-limit": "100", "quota-used": "40", "quota-interval": "1",
             "quota-time-unit": "minute"},
            (60, WALL + 60),
        ),
        ({"quota-remaining": "9", "quota-interval": "2", "quota-time-unit": "Hours"},
         (9, WALL + 7200)),
        ({"quota-remaining": "9", "quota-time-unit": "month"}, (9, WALL + 31 * 86400)),
    ],
)  # fmt: skip
def test_read_quota_leniently(headers: dict[str, str], expected: tuple[float, float]) -> None:
    assert read_quota(headers, now=WALL) == Quota(*expected)


async def test_channel_limiter_rates(fake: FakeTime) -> None:
    limiter = ChannelLimiter(
        {Channel.WHATSAPP: 5}, sleep=fake.sleep, clock=fake.monotonic, wall=fake.wall
    )
    for _ in range(3):
        await limiter.acquire(Channel.SMS)
    assert fake.t == pytest.approx(2 / 30)  # SMS: 30 a second unless configured
    fake.t = 0.0
    for _ in range(3):
        await limiter.acquire(Channel.WHATSAPP)
    assert fake.t == pytest.approx(2 / 5)
    fake.t = 0.0
    for _ in range(50):
        await limiter.acquire(Channel.MESSENGER)  # no rate, no default: not limited
    assert fake.t == 0.0


async def test_channel_limiter_default_and_quota_on_an_unlimited_channel(fake: FakeTime) -> None:
    limiter = ChannelLimiter(default=2, clock=fake.monotonic, sleep=fake.sleep, wall=fake.wall)
    bucket = limiter.bucket(Channel.VIBER)
    assert bucket is not None
    assert bucket.rate == 2
    unlimited = ChannelLimiter(clock=fake.monotonic, sleep=fake.sleep, wall=fake.wall)
    assert unlimited.bucket(Channel.MESSENGER) is None
    await unlimited.observe_quota(
        {"quota-remaining": "2", "quota-reset-utc": str(int(WALL + 4))}, Channel.MESSENGER
    )
    for _ in range(3):
        await unlimited.acquire(Channel.MESSENGER)
    assert fake.t == pytest.approx(4.0)  # 2 left for 4 s: one every 2 s
