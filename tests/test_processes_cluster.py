"""Botkit processes on a Redis Cluster while its slots move and while a primary dies.

Two ``botkit serve tests.ledger:LedgerBot`` processes share a cluster of three primaries, each
with a replica. Users write without pause, as a provider does: a webhook answered 503 is sent
again until it is answered 200 (acknowledged). Meanwhile a thousand slots move between primaries
(``redis-cli --cluster reshard``), or a primary is killed and its replica takes over. Afterwards
every acknowledged message has its reply, in each user's order; what came twice (a reply whose
sending was not recorded before its node died) is counted and printed.
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest

from botkit.testing import ProviderStandIn
from tests.conftest import RedisClusterNodes, start_cluster, wait_cluster_ok
from tests.served import Served
from tests.test_processes import post, replies_by_user, servers, webhook  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replicated_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    """Three primaries with a replica each; a node is thought dead after two seconds."""
    nodes = start_cluster(tmp_path_factory.mktemp("replicated"), replicas=1, node_timeout_ms=2000)
    yield nodes
    nodes.stop()


def cli(*args: str) -> str:
    return subprocess.run(
        ["redis-cli", *args], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()


def primaries(nodes: RedisClusterNodes) -> list[tuple[int, str]]:
    """(port, node id) of each primary serving slots now."""
    found = []
    for line in cli("-p", str(next(iter(nodes.processes))), "cluster", "nodes").splitlines():
        node_id, address, flags, *_rest, slots = [*line.split(), ""][:9]
        if "master" in flags and "fail" not in flags and slots:
            found.append((int(address.split(":")[1].split("@")[0]), node_id))
    return found


async def deliver(
    session: aiohttp.ClientSession, processes: list[Served], first: int, body: dict[str, Any]
) -> int:
    """Post ``body`` as a provider does, to the next process each time, until it is
    acknowledged (200); how many times it was answered 503."""
    for attempt in itertools.count():
        status = await post(session, processes[(first + attempt) % len(processes)], body)
        if status == 200:
            return attempt
        assert status == 503, status
        await asyncio.sleep(0.05)  # a provider's retry delay
    raise AssertionError("unreachable")


async def under_load(
    processes: list[Served], users: list[str], disrupt: Callable[[], Awaitable[None]]
) -> tuple[dict[str, list[str]], int]:
    """Users write in turns while ``disrupt`` runs, and one round more once it is done; each
    message is sent again until acknowledged. Returns each user's acknowledged tags, in order,
    and how many webhooks were answered 503."""
    acknowledged: dict[str, list[str]] = {user: [] for user in users}
    refused = 0
    done = asyncio.Event()

    async def one_user(session: aiohttp.ClientSession, index: int, user: str) -> None:
        nonlocal refused
        turn = 0
        rounds_after = 0
        while rounds_after < 2:
            if done.is_set():
                rounds_after += 1
            turn += 1
            body = webhook(user, f"m{turn}", message_id=str(uuid.uuid4()))
            refused += await deliver(session, processes, index + turn, body)
            acknowledged[user].append(f"m{turn}")

    async def run_disruption() -> None:
        try:
            await disrupt()
        finally:
            done.set()

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(
            run_disruption(), *(one_user(session, i, u) for i, u in enumerate(users))
        )
    return acknowledged, refused


async def to_the_end(server: Served, provider: ProviderStandIn, users: list[str]) -> None:
    """Each user says "end", answered once all the user's earlier messages were handled and
    their replies sent (one user's events run in order); return once every "end" is answered,
    when a lost or reordered reply has already shown."""
    async with aiohttp.ClientSession() as session:
        for user in users:
            await deliver(session, [server], 0, webhook(user, "end"))
    while not all(
        any(text.endswith(":end") for text in texts)
        for texts in (replies_by_user(provider).get(user, []) for user in users)
    ):
        await provider.wait_for(len(provider.sent) + 1, timeout=60)


def check(
    provider: ProviderStandIn, acknowledged: dict[str, list[str]], label: str, refused: int
) -> None:
    """Every acknowledged message answered, each user's in order; doubles counted."""
    got = replies_by_user(provider)
    doubled = 0
    for user, tags in acknowledged.items():
        replies = [text.split(":", 1)[1] for text in got.get(user, [])]
        firsts = list(dict.fromkeys(replies))
        assert firsts == [*tags, "end"], f"{user}: lost or reordered"
        doubled += sum(n - 1 for n in Counter(replies).values())
    total = sum(len(tags) for tags in acknowledged.values())
    print(f"{label}: {total} acknowledged, 0 lost, {doubled} replies sent twice, {refused} x 503")


@pytest.fixture
async def processes(
    replicated_cluster: RedisClusterNodes,
    servers: Any,  # noqa: F811  (the fixture imported above)
) -> list[Served]:
    """Two processes on the cluster; a webhook is acknowledged once a replica has it."""
    started: list[Served] = await servers(2, replicated_cluster.url, REDIS_WAIT_REPLICAS="1")
    return started


async def test_moving_slots_under_load_loses_no_acknowledged_message(
    replicated_cluster: RedisClusterNodes, processes: list[Served], provider: ProviderStandIn
) -> None:
    users = [f"4477011{n:05d}" for n in range(30)]
    (_, source), (_, target), *_ = primaries(replicated_cluster)

    async def reshard() -> None:
        await asyncio.to_thread(
            cli, "--cluster", "reshard", replicated_cluster.url.split("//")[1].split("/")[0],
            "--cluster-from", source, "--cluster-to", target, "--cluster-slots", "1000",
            "--cluster-yes",
        )  # fmt: skip

    acknowledged, refused = await under_load(processes, users, reshard)
    wait_cluster_ok(list(replicated_cluster.processes))
    await to_the_end(processes[0], provider, users)
    check(provider, acknowledged, "slots moved", refused)


async def test_a_primary_failover_under_load_loses_no_acknowledged_message(
    replicated_cluster: RedisClusterNodes, processes: list[Served], provider: ProviderStandIn
) -> None:
    users = [f"4477012{n:05d}" for n in range(30)]
    (doomed, _), *_ = primaries(replicated_cluster)
    known = len(replicated_cluster.processes)

    async def fail_over() -> None:
        await provider.wait_for(len(users), timeout=60)  # under load first
        replicated_cluster.kill(doomed)
        await asyncio.to_thread(wait_cluster_ok, list(replicated_cluster.processes), known=known)

    acknowledged, refused = await under_load(processes, users, fail_over)
    assert len(primaries(replicated_cluster)) == 3  # a replica took the dead primary's slots
    await to_the_end(processes[0], provider, users)
    check(provider, acknowledged, "primary failed over", refused)
