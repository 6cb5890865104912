"""What only the Redis rate limiter has: its keys, their expiry, Redis going away, and a Redis
Cluster of three masters."""

from __future__ import annotations

import random
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from botkit.events import Channel
from botkit.store.redis.limiter import RedisLimiter
from tests.conftest import RedisServer, _free_port
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


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[int]]:
    """Three redis-server masters of one Redis Cluster on loopback (no replicas)."""
    ports = _cluster_ports(3)
    processes = []
    for port in ports:
        workdir = tmp_path / str(port)
        workdir.mkdir()
        processes.append(
            subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(workdir), "--cluster-enabled", "yes",
                 "--cluster-config-file", "nodes.conf", "--protected-mode", "no"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
    try:
        for port in ports:
            _wait_for_port(port)
        subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_until_every_node_is_ready(ports)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


def _cluster_ports(count: int) -> list[int]:
    """Free ports whose cluster bus ports (10,000 higher) are free too."""
    ports: list[int] = []
    for port in random.sample(range(20000, 45000), 200):
        if all(_is_free(p) for p in (port, port + 10000)):
            ports.append(port)
            if len(ports) == count:
                return ports
    pytest.fail("no free ports for a cluster")


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _wait_for_port(port: int) -> None:
    for _ in range(500):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.01)
    pytest.fail(f"redis-server did not start on port {port}")


def _wait_until_every_node_is_ready(ports: list[int]) -> None:
    """Until every node says the cluster is ok and maps all slots to the same masters.

    ``redis-cli --cluster create`` returns once the nodes have met, but a node may still say
    CLUSTERDOWN for a moment; redis-py's cluster client answers that by closing every
    connection, including those other commands of the same client are using.
    """
    nodes = [SyncRedis(host="127.0.0.1", port=port, decode_responses=True) for port in ports]
    try:
        for _ in range(1000):
            try:
                states = [node.cluster("INFO") for node in nodes]
                maps = {_slot_map(node) for node in nodes}
                if (
                    all(s.get("cluster_state") == "ok" for s in states)
                    and len(maps) == 1
                    and None not in maps
                ):
                    return
            except RedisError:
                pass
            time.sleep(0.01)
    finally:
        for node in nodes:
            node.close()
    pytest.fail("the cluster did not become ready on every node")


def _slot_map(node: SyncRedis) -> tuple[tuple[int, int, int], ...] | None:
    """(first slot, last slot, master port) of every range; None unless all slots are served."""
    ranges = sorted((int(r[0]), int(r[1]), int(r[2][1])) for r in node.cluster("SLOTS"))
    covered = sum(last - first + 1 for first, last, _ in ranges)
    return tuple(ranges) if covered == 16384 else None


@pytest.mark.slow
async def test_the_buckets_work_on_a_redis_cluster(cluster: list[int]) -> None:
    client = RedisCluster(host="127.0.0.1", port=cluster[0], decode_responses=True)
    second = RedisCluster(host="127.0.0.1", port=cluster[1], decode_responses=True)
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
