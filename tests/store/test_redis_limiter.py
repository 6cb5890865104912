"""What only the Redis rate limiter has: its keys, their expiry, Redis going away, and a Redis
Cluster of three masters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from botkit.events import Channel
from botkit.store.redis.limiter import RedisLimiter
from tests.conftest import RedisClusterNodes, RedisServer, _free_port
from tests.test_ratelimit_contract import Clock


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[Redis]:
    redis = Redis.from_url(redis_server.url, decode_responses=True)
    yield redis
    await redis.aclose()


async def test_a_bucket_is_one_hash_tagged_key_that_expires_when_idle(
    client: Redis, redis_prefix: str
) -> None:
    limiter = RedisLimiter(client, prefix=redis_prefix, rates={Channel.WHATSAPP: 2})
    await limiter.acquire(Channel.WHATSAPP, "447700900000")
    key = f"{redis_prefix}:rate:{{whatsapp:447700900000}}"
    assert limiter.key(Channel.WHATSAPP, "447700900000") == key
    assert await client.keys(f"{redis_prefix}:rate:*") == [key]
    # Refilled after 1/2 s; kept a minute more.
    assert 60_000 < await client.pttl(key) <= 60_500
    await limiter.observe_quota(
        {"quota-remaining": "1", "quota-reset-utc": "120"}, Channel.WHATSAPP, "447700900000"
    )
    assert 170_000 < await client.pttl(key) <= 180_000  # the quota's reset, and a minute


async def test_sends_on_a_channel_without_a_rate_do_not_queue_for_their_turn(
    client: Redis, redis_prefix: str
) -> None:
    limiter = RedisLimiter(client, prefix=redis_prefix)
    queue = limiter._turns.setdefault(limiter.key(Channel.WHATSAPP, "bot"), asyncio.Lock())
    async with queue, asyncio.timeout(10):  # a caller holds the queue: no need to wait for it
        await asyncio.gather(*(limiter.acquire(Channel.WHATSAPP, "bot") for _ in range(5)))


async def test_an_unreachable_redis_paces_in_this_process_and_raises_nothing(
    redis_prefix: str,
) -> None:
    dead = Redis.from_url(
        f"redis://127.0.0.1:{_free_port()}/0", decode_responses=True, socket_connect_timeout=0.5
    )
    limiter = RedisLimiter(dead, prefix=redis_prefix, rates={Channel.SMS: 20})
    try:
        started = time.monotonic()
        for _ in range(5):
            await limiter.acquire(Channel.SMS, "bot")
        assert time.monotonic() - started >= 4 / 20 - 0.02
        quota = await limiter.observe_quota(
            {"quota-remaining": "0", "quota-reset-utc": "30"}, Channel.SMS, "bot"
        )
        assert quota is not None
        assert await limiter.effective_rate(Channel.SMS, "bot") == 0
    finally:
        await dead.aclose()


def test_a_prefix_with_braces_is_refused(client: Redis) -> None:
    with pytest.raises(ValueError, match="hash tags"):
        RedisLimiter(client, prefix="a{b}")


@pytest.mark.slow
async def test_the_buckets_work_on_a_redis_cluster(redis_cluster: RedisClusterNodes) -> None:
    first, other_node = redis_cluster.ports[:2]
    client = RedisCluster(host="127.0.0.1", port=first, decode_responses=True)
    second = RedisCluster(host="127.0.0.1", port=other_node, decode_responses=True)
    clock = Clock()
    try:
        limiter = RedisLimiter(
            client, prefix="bk", rates={Channel.WHATSAPP: 20}, clock=clock, sleep=clock.sleep
        )
        other = RedisLimiter(
            second, prefix="bk", rates={Channel.WHATSAPP: 20}, clock=clock, sleep=clock.sleep
        )
        senders = [f"44770090000{n}" for n in range(6)]
        slots = {await client.cluster_keyslot(limiter.key(Channel.WHATSAPP, s)) for s in senders}
        assert len(slots) > 1  # the buckets spread over the cluster
        for sender in senders:
            await limiter.acquire(Channel.WHATSAPP, sender)
            await other.acquire(Channel.WHATSAPP, sender)
        # Each sender's bucket is one for both processes: the second send waits its twentieth.
        assert clock.waits == pytest.approx([1 / 20] * len(senders))
        await limiter.observe_quota(
            {"quota-remaining": "0", "quota-reset-utc": "30"}, Channel.WHATSAPP, senders[0]
        )
        assert await other.effective_rate(Channel.WHATSAPP, senders[0]) == 0
        assert await other.effective_rate(Channel.WHATSAPP, senders[1]) == 20
    finally:
        await client.aclose()
        await second.aclose()
