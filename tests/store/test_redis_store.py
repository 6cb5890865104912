"""What only the Redis store must promise: key layout, races across pools, bursts, outages, TLS."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.crc import key_slot

from botkit.conversation import Conversation
from botkit.store import codec
from botkit.store.base import StoreUnavailable
from botkit.store.redis import RedisStore
from botkit.store.redis.due import ROUNDS, SLOTS
from tests.certificates import self_signed
from tests.conftest import RedisClusterNodes, RedisServer, launch_redis, until_redis_time
from tests.store.values import event, said, turn

KEY = "whatsapp:447700900001:447700900000"


@pytest.fixture
async def stores(redis_server: RedisServer, redis_prefix: str) -> AsyncIterator[list[RedisStore]]:
    """Stores on the test's prefix, closed at the end; make more with ``make(stores, ...)``."""
    made: list[RedisStore] = []
    yield made
    for store in made:
        await store.close()


def make(stores: list[RedisStore], url: str, prefix: str, **options: Any) -> RedisStore:
    store = RedisStore.from_url(url, prefix=prefix, **options)
    stores.append(store)
    return store


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


async def names(raw: Redis, prefix: str) -> set[str]:
    return {name async for name in raw.scan_iter(match=f"{prefix}:*")}


async def test_a_conversation_lives_in_one_slot(
    stores: list[RedisStore], redis_server: RedisServer, redis_prefix: str, raw: Redis
) -> None:
    store = make(stores, redis_server.url, redis_prefix)
    for key in (KEY, "odd{key}with}braces{", ""):
        claim = (await store.accept(key, event("m1", "e1"), owner="a")).claim
        assert claim is not None
        await store.accept(key, event("m2", "e2"), owner="a")
        await store.commit(claim.lease, turn(Conversation(KEY, state="s", revision=1), ("r1",)))
    found = await names(raw, redis_prefix)
    conversation = {name for name in found if not name.startswith(f"{redis_prefix}:due:")}
    assert len(conversation) == 3 * 5  # record, inbox, outbox, seen, lease
    by_tag: dict[str, set[int]] = {}
    for name in conversation:
        tag = name[name.index("{") + 1 : name.index("}")]
        assert tag
        by_tag.setdefault(tag, set()).add(key_slot(name.encode()))
    assert len(by_tag) == 3
    assert all(len(slots) == 1 for slots in by_tag.values())
    # Each conversation's due mark is in a bucket of its own slot.
    buckets = {key_slot(name.encode()) for name in found - conversation}
    assert buckets == {slot for slots in by_tag.values() for slot in slots}
    assert set(await store.keys()) == {KEY, "odd{key}with}braces{", ""}


async def test_an_idle_conversation_leaves_only_its_record(
    stores: list[RedisStore], redis_server: RedisServer, redis_prefix: str, raw: Redis
) -> None:
    store = make(
        stores, redis_server.url, redis_prefix, lease_seconds=0.3, grace_seconds=0.05,
        dedup_seconds=0.3,
    )  # fmt: skip
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    data = '{"name": "Ada", "step": 3}'
    record = Conversation(
        KEY, state="asked_name", data=data, version=1, revision=1, last_inbound_at=1.5
    )
    await store.commit(claim.lease, turn(record, ("r1",)))
    assert await store.ack(claim.lease, 1) is None
    await until_redis_time(raw, 0.45)  # past the lease, its grace and the dedup window
    assert await store.sweep(owner="b") == []
    record_key = f"{redis_prefix}:{{{KEY}}}:r"
    assert await names(raw, redis_prefix) == {record_key}
    assert 0 < await raw.pttl(record_key) <= 30 * 24 * 3600 * 1000
    usage = await raw.memory_usage(record_key)
    assert usage is not None
    assert usage < 300, f"an idle conversation's record takes {usage} bytes"


async def test_one_accept_wins_among_many_tasks_and_two_pools(
    stores: list[RedisStore], redis_server: RedisServer, redis_prefix: str
) -> None:
    one = make(stores, redis_server.url, redis_prefix)
    two = make(stores, redis_server.url, redis_prefix)
    results = await asyncio.gather(
        *(
            (one if i % 2 else two).accept(KEY, event("same", f"copy {i}"), owner=f"p{i % 2}")
            for i in range(60)
        )
    )
    fresh = [r for r in results if not r.duplicate]
    claims = [r.claim for r in results if r.claim is not None]
    assert len(fresh) == 1
    assert len(claims) == 1
    assert (said(claims[0].event) or "").startswith("copy ")
    assert await one.ack(claims[0].lease, 0) is not None  # the one event is still there


async def test_a_burst_waits_for_the_few_connections(
    stores: list[RedisStore], redis_server: RedisServer, redis_prefix: str
) -> None:
    store = make(stores, redis_server.url, redis_prefix, max_connections=4)
    store.traffic.reset()
    results = await asyncio.gather(
        *(store.accept(f"k{i % 50}", event(f"m{i}", f"e{i}"), owner="a") for i in range(500))
    )
    assert all(not r.duplicate for r in results)
    assert sum(r.claim is not None for r in results) == 50
    assert sum(count for count, _ in store._pool.get_connection_count()) <= 4
    # Accepts issued together share pipelined round trips: far fewer than one each (one each is
    # what they would take without batching).
    assert store.traffic.round_trips <= 50, store.traffic


async def test_round_trips_per_operation(
    stores: list[RedisStore], redis_server: RedisServer, redis_prefix: str, raw: Redis
) -> None:
    store = make(stores, redis_server.url, redis_prefix)
    warm = (await store.accept("warm up", event("m", "e"), owner="a")).claim
    assert warm is not None
    await store.extend(warm.lease)
    await store.commit(warm.lease, turn(Conversation(KEY, revision=1)))
    await store.ack(warm.lease, 0)

    async def measured(operation: Any) -> tuple[Any, int, int]:
        before_trips = store.traffic.round_trips
        before_calls = (await raw.info("commandstats"))["cmdstat_evalsha"]["calls"]
        result = await operation
        after_calls = (await raw.info("commandstats"))["cmdstat_evalsha"]["calls"]
        return result, store.traffic.round_trips - before_trips, after_calls - before_calls

    accepted, trips, calls = await measured(store.accept(KEY, event("m1", "e1"), owner="a"))
    # The accept script and the due mark, pipelined; then a hint, as the mark is the first in
    # its bucket.
    assert (trips, calls) == (2, 3)
    assert accepted.claim is not None
    lease = accepted.claim.lease
    held, trips, calls = await measured(store.extend(lease))
    assert held
    assert (trips, calls) == (1, 1)
    _, trips, calls = await measured(
        store.commit(lease, turn(Conversation(KEY, revision=1), ("r",)))
    )
    assert (trips, calls) == (1, 1)
    released, trips, calls = await measured(store.ack(lease, 1))
    assert released is None
    assert (trips, calls) == (1, 1)
    again, trips, calls = await measured(store.accept(KEY, event("m2", "e2"), owner="a"))
    assert again.claim is not None
    assert (trips, calls) == (1, 2)  # an earlier mark is in the bucket: no hint


async def test_scripts_come_back_after_the_server_forgets_them(
    stores: list[RedisStore], redis_server: RedisServer, redis_prefix: str, raw: Redis
) -> None:
    store = make(stores, redis_server.url, redis_prefix)
    await raw.script_flush()
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    await raw.script_flush()
    await store.commit(claim.lease, turn(Conversation(KEY, state="s", revision=1)))
    await raw.script_flush()
    assert await store.ack(claim.lease, 0) is None
    assert await store.load(KEY) == Conversation(KEY, state="s", revision=1)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_an_unreachable_redis_is_named_without_its_password(
    stores: list[RedisStore], redis_prefix: str
) -> None:
    port = _closed_port()
    url = f"redis://default:hunter2secret@127.0.0.1:{port}/0"
    store = make(stores, url, redis_prefix, connect_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        await store.accept(KEY, event("m1", "e1"), owner="a")
    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert f"redis://127.0.0.1:{port}" in message
    assert "unreachable" in message
    assert "hunter2secret" not in message
    with pytest.raises(StoreUnavailable):
        await store.ping()


async def test_a_busy_pool_times_out_in_words(
    stores: list[RedisStore], redis_server: RedisServer, redis_prefix: str, raw: Redis
) -> None:
    store = make(stores, redis_server.url, redis_prefix, max_connections=1, pool_timeout=0.1)
    blocker = asyncio.create_task(store._client.execute_command("BLPOP", "nothing", 0.3))
    while "cmd=blpop" not in str(await raw.execute_command("CLIENT", "LIST")):  # type: ignore[no-untyped-call]
        pass  # each look is a round trip to Redis, during which the blocker gets going
    with pytest.raises(StoreUnavailable, match=r"no connection of 1 became free within 0\.1 s"):
        await store.ping()
    await blocker
    await store.ping()


async def test_the_store_recovers_after_an_outage(
    stores: list[RedisStore], redis_server: RedisServer, redis_prefix: str
) -> None:
    if redis_server.process is None:
        pytest.skip("REDIS_URL names a server this test cannot stop")
    store = make(stores, redis_server.url, redis_prefix)
    await store.ping()
    redis_server.stop()
    try:
        with pytest.raises(StoreUnavailable, match="unreachable"):
            await store.accept(KEY, event("m1", "e1"), owner="a")
    finally:
        redis_server.start()
    accepted = await store.accept(KEY, event("m2", "e2"), owner="a")
    assert not accepted.duplicate


async def test_no_request_fails_on_a_connection_left_from_before_an_outage(
    stores: list[RedisStore], redis_server: RedisServer, redis_prefix: str
) -> None:
    """The server went away with every pooled connection: once it is back, requests that run
    together (and so take idle connections from the pool) all succeed, none meets a dead one."""
    if redis_server.process is None:
        pytest.skip("REDIS_URL names a server this test cannot stop")
    store = make(stores, redis_server.url, redis_prefix)
    await asyncio.gather(*(store.ping() for _ in range(6)))  # six connections, now idle
    redis_server.stop()
    try:
        with pytest.raises(StoreUnavailable, match="unreachable"):
            await store.ping()
    finally:
        redis_server.start()
    answers = await asyncio.gather(*(store.ping() for _ in range(6)), return_exceptions=True)
    assert answers == [None] * 6


# --- TLS -----------------------------------------------------------------------------------------


def test_rediss_checks_certificates_unless_told_not_to() -> None:
    checked = RedisStore.from_url("rediss://:secret@redis.example:6380", cluster="false")
    context = checked._pool.make_connection().ssl_context.get()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    unchecked = RedisStore.from_url(
        "rediss://:secret@redis.example:6380", ssl_cert_reqs="none", cluster="false"
    )
    context = unchecked._pool.make_connection().ssl_context.get()
    assert context.verify_mode == ssl.CERT_NONE
    plain = RedisStore.from_url("redis://redis.example:6379", cluster="false")
    assert "ssl_cert_reqs" not in plain._pool.connection_kwargs


def test_replies_are_parsed_by_hiredis() -> None:
    store = RedisStore.from_url("redis://redis.example:6379", cluster="false")
    assert "Hiredis" in type(store._pool.make_connection()._parser).__name__


def test_commands_are_packed_by_hiredis_into_the_same_bytes() -> None:
    command = ("EVALSHA", "a" * 40, 2, "bk:{k}:r", "bk:{k}:l", 30000, 1.5, "é", b"\x00")
    for url, kind in (
        ("redis://redis.example:6379", Connection),
        ("rediss://redis.example:6380", SSLConnection),
        ("unix:///tmp/redis.sock", UnixDomainSocketConnection),
    ):
        connection = RedisStore.from_url(url, cluster="false")._pool.make_connection()
        assert isinstance(connection, kind)
        assert type(connection).__name__ == f"Hiredis{kind.__name__}"
        packed = b"".join(connection.pack_command(*command))
        assert packed == b"".join(kind.pack_command(connection, *command))


def test_tls_settings_cannot_hide_in_the_url() -> None:
    with pytest.raises(ValueError, match="ssl_cert_reqs"):
        RedisStore.from_url("rediss://redis.example:6380/0?ssl_cert_reqs=none")
    with pytest.raises(ValueError, match="ssl_cert_reqs"):
        RedisStore.from_url("rediss://redis.example:6380", ssl_cert_reqs="optional")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server speaking only TLS with a self-signed certificate (as Heroku's do)."""
    workdir = tmp_path_factory.mktemp("redis-tls")
    cert, key = self_signed(workdir, "redis")
    port = _closed_port()
    process = launch_redis(
        "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
        "--tls-cert-file", str(cert), "--tls-key-file", str(key),
        "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no",
        "--save", "", "--appendonly", "no", "--dir", str(workdir),
    )  # fmt: skip
    if process is None:
        pytest.skip("this redis-server was built without TLS")
    yield f"rediss://127.0.0.1:{port}/0"
    process.kill()
    process.wait()


async def test_a_self_signed_certificate_is_refused_unless_told_otherwise(
    tls_redis: str, stores: list[RedisStore], redis_prefix: str
) -> None:
    checked = make(stores, tls_redis, redis_prefix)
    with pytest.raises(StoreUnavailable, match="certificate"):
        await checked.ping()
    unchecked = make(stores, tls_redis, redis_prefix, ssl_cert_reqs="none")
    accepted = await unchecked.accept(KEY, event("m1", "e1"), owner="a")
    assert accepted.claim is not None


# --- the due index -------------------------------------------------------------------------------


async def test_marks_of_the_single_index_of_earlier_versions_move_into_buckets(
    stores: list[RedisStore], redis_server: RedisServer, redis_prefix: str, raw: Redis
) -> None:
    """A store upgraded from the single due index loses none of the work marked there."""
    store = make(stores, redis_server.url, redis_prefix)
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    await store.release(claim.lease)  # work left, due now: as an old version would leave it
    async for name in raw.scan_iter(match=f"{redis_prefix}:due:*"):
        await raw.delete(name)
    await raw.delete(f"{{{redis_prefix}:due}}:hints")
    await raw.zadd(f"{redis_prefix}:due", {KEY: 1000})
    assert await store.sweep(owner="b") == []  # moved into its bucket, and hinted
    assert await raw.exists(f"{redis_prefix}:due") == 0
    (taken,) = await store.sweep(owner="b")
    assert taken.lease.key == KEY


async def test_a_mark_without_its_hint_is_found_by_the_sweeps_rounds(
    stores: list[RedisStore], redis_server: RedisServer, redis_prefix: str, raw: Redis
) -> None:
    """A writer that died between its mark and its hint: the sweeps' rounds over every bucket
    find the mark."""
    store = make(stores, redis_server.url, redis_prefix)
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    await store.release(claim.lease)
    await raw.delete(f"{{{redis_prefix}:due}}:hints")
    taken: list[Any] = []
    for _ in range(SLOTS // ROUNDS):
        taken += await store.sweep(owner="b")
    assert [c.lease.key for c in taken] == [KEY]


async def test_an_accept_that_waits_for_a_replica_is_acknowledged_once_it_has_the_event(
    stores: list[RedisStore], own_redis: RedisServer, redis_prefix: str, tmp_path: Path
) -> None:
    store = make(stores, own_redis.url, redis_prefix, wait_replicas=1)
    with pytest.raises(StoreUnavailable, match="did not copy the write to 1 replica"):
        await store.accept(KEY, event("m1", "e1"), owner="a")  # no replica yet: 503, kept
    port = _closed_port()
    replica = launch_redis(
        "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", str(tmp_path), "--replicaof", "127.0.0.1", str(own_redis.port),
    )  # fmt: skip
    assert replica is not None
    try:
        copy = Redis(port=port, decode_responses=True)
        while (await copy.info("replication"))["master_link_status"] != "up":
            pass  # each look is a round trip to the replica, which meanwhile syncs
        assert not (await store.accept(KEY, event("m2", "e2"), owner="a")).duplicate
        inbox = await copy.lrange(f"{redis_prefix}:{{{KEY}}}:i", 0, -1)
        assert [said(codec.decode_event(str(text))) for text in inbox] == ["e1", "e2"]
        await copy.aclose()
    finally:
        replica.kill()
        replica.wait()


# --- Redis Cluster -------------------------------------------------------------------------------


async def test_a_cluster_node_in_the_url_makes_a_store_of_the_whole_cluster(
    stores: list[RedisStore], redis_cluster: RedisClusterNodes, redis_prefix: str
) -> None:
    store = make(stores, redis_cluster.url, redis_prefix)
    assert isinstance(store._client, RedisCluster)
    assert store._client.retry.get_retries() == 0  # a lost reply is never sent again
    keys = [f"whatsapp:447700900000:4477009{n:05d}" for n in range(12)]
    for key in keys:  # spread over the three primaries
        assert (await store.accept(key, event(f"m-{key}", "hi"), owner="a")).claim is not None
    # Told it is a lone Redis, the node sends most keys elsewhere: 503, never a crash.
    alone = make(stores, redis_cluster.url, redis_prefix, cluster="false")
    assert not isinstance(alone._client, RedisCluster)
    answers = await asyncio.gather(
        *(alone.accept(key, event(f"again-{key}", "hi"), owner="b") for key in keys),
        return_exceptions=True,
    )
    refused = [answer for answer in answers if isinstance(answer, BaseException)]
    assert refused
    assert all(isinstance(r, StoreUnavailable) for r in refused), refused
    assert "could not route the command in the cluster" in str(refused[0])


async def test_a_dead_holders_conversation_is_taken_over_ahead_of_a_backlog(
    stores: list[RedisStore], redis_server: RedisServer, redis_prefix: str, raw: Redis
) -> None:
    """The sweep reads the most recently due end of the index as well as the earliest: a
    backlog of older marks does not keep a conversation whose holder just died waiting."""
    store = make(stores, redis_server.url, redis_prefix, lease_seconds=0.3, grace_seconds=0.05)
    past = time.time() - 3600
    backlog = [f"sms:447700900000:4477009{n:05d}" for n in range(100)]
    for key in backlog:  # work nobody has taken yet, due an hour ago
        await store.accept(key, event(f"m-{key}", "old"), owner=None, now=past)
    dead = (await store.accept(KEY, event("m1", "e1"), owner="died")).claim
    assert dead is not None
    await until_redis_time(raw, 0.45)  # past the dead holder's lease and its grace
    claims = await store.sweep(owner="b", limit=20)
    assert len(claims) == 20
    assert KEY in {claim.lease.key for claim in claims}
    assert await store.next_due() == round(past * 1000) / 1000, "the backlog is left, in order"
