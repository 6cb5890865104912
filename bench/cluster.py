"""Botkit on a 3-primary Redis Cluster against one Redis node, in one run.

Both are the bench's own, on free ports of this machine (the cluster without replicas). The
same runtime (echo bot, a transport that takes every reply at once, as in ``bench/timers.py``)
works ``--turns`` webhook-driven turns per round, alternating one node and cluster rounds;
figures are medians of ``--rounds``:

- turns per second and this process's CPU per turn (the client side: a cluster client routes
  each call to its slot's node);
- Redis CPU per turn, summed over the nodes (INFO cpu), and the busiest primary's share of the
  commands (a third is an even spread; the single due index of earlier versions made one
  node run about half of them);
- memory per pending timer with ``--pending`` conversations each holding one (INFO memory
  growth, summed over the nodes), seeded as a commit writes them.

Run: ``.venv/bin/python bench/cluster.py [--rounds 5] [--turns 2000] [--pending 200000]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from redis import asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.timers import (
    Counted,
    TimedBot,
    conversation_key,
    message,
    seed_records,
    seed_timers,
    user,
)
from botkit.log import configure_logging
from botkit.runtime import Runtime
from botkit.store.redis import RedisStore


def free_ports(count: int) -> list[int]:
    """Free ports whose cluster bus ports (10,000 higher) are free too."""
    found: list[int] = []
    for port in random.sample(range(20000, 45000), 400):
        ok = True
        for p in (port, port + 10000):
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
        if ok:
            found.append(port)
            if len(found) == count:
                return found
    raise SystemExit("no free ports")


def redis_server(port: int, workdir: Path, *cluster: str) -> subprocess.Popen[bytes]:
    home = workdir / str(port)
    home.mkdir()
    process = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
         "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(home), *cluster],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(500):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.01)
    raise SystemExit(f"redis-server did not start on {port}")


def start(workdir: Path) -> tuple[list[subprocess.Popen[bytes]], int, list[int]]:
    """One node and a cluster of three primaries: the processes, the node's port, the
    cluster's ports."""
    node, *cluster = free_ports(4)
    processes = [redis_server(node, workdir)]
    flags = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
    processes += [redis_server(port, workdir, *flags) for port in cluster]
    subprocess.run(
        ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in cluster),
         "--cluster-replicas", "0", "--cluster-yes"],
        check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    for port in cluster:
        while (
            "cluster_state:ok"
            not in subprocess.run(
                ["redis-cli", "-p", str(port), "cluster", "info"], capture_output=True, text=True
            ).stdout
        ):
            time.sleep(0.05)
    return processes, node, cluster


async def nodes_info(ports: list[int], section: str) -> list[dict[str, Any]]:
    found = []
    for port in ports:
        client = aioredis.Redis(port=port, decode_responses=True)
        found.append(await client.info(section))
        await client.aclose()
    return found


async def redis_cpu(ports: list[int]) -> float:
    return sum(i["used_cpu_user"] + i["used_cpu_sys"] for i in await nodes_info(ports, "cpu"))


async def commands(ports: list[int]) -> list[int]:
    stats = await nodes_info(ports, "commandstats")
    return [sum(v["calls"] for v in s.values()) for s in stats]


async def used_memory(ports: list[int]) -> int:
    return sum(int(i["used_memory"]) for i in await nodes_info(ports, "memory"))


class Side:
    """One store (one node or the cluster) with a runtime working turns on it."""

    def __init__(self, name: str, url: str, ports: list[int]) -> None:
        self.name = name
        self.url = url
        self.ports = ports
        self.store = RedisStore.from_url(url, prefix="turns")
        self.transport = Counted()
        self.runtime = Runtime(TimedBot(), self.store, self.transport, sweep_interval=0.5)

    async def round(self, turns: int) -> dict[str, float]:
        addresses = [user(n, "10") for n in range(turns)]
        self.transport.expect(len(addresses))
        cpu, redis, calls = time.process_time(), await redis_cpu(self.ports), None
        calls_before = await commands(self.ports)
        began = time.perf_counter()
        for start in range(0, turns, 200):  # a burst of webhooks at a time
            await asyncio.gather(
                *(self.runtime.accept(message(a)) for a in addresses[start : start + 200])
            )
        await asyncio.wait_for(self.transport.done.wait(), 300)
        await self.runtime.wait_idle(60)
        wall = time.perf_counter() - began
        cpu = time.process_time() - cpu
        redis = await redis_cpu(self.ports) - redis
        calls = [b - a for a, b in zip(calls_before, await commands(self.ports), strict=True)]
        return {
            "turns_per_second": turns / wall,
            "client_cpu_us_per_turn": cpu / turns * 1e6,
            "redis_cpu_us_per_turn": redis / turns * 1e6,
            "busiest_node_share": max(calls) / sum(calls),
        }

    async def pending_timer_bytes(self, pending: int) -> float:
        client: Any = (
            RedisCluster.from_url(self.url, decode_responses=True)
            if len(self.ports) > 1
            else aioredis.from_url(self.url, decode_responses=True)
        )
        keys = [conversation_key(user(n, "30")) for n in range(pending)]
        await seed_records(client, "mem", keys)
        before = await used_memory(self.ports)
        far = time.time() + 30 * 24 * 3600
        await seed_timers(client, "mem", keys, [far + n % 3600 for n in range(pending)])
        grown = await used_memory(self.ports) - before
        await client.aclose()
        return grown / pending


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--pending", type=int, default=200_000)
    args = parser.parse_args()
    configure_logging(level="error")
    workdir = Path(tempfile.mkdtemp(prefix="botkit-cluster-bench-"))
    processes, node, cluster = start(workdir)
    try:
        one = Side("one node", f"redis://127.0.0.1:{node}/0", [node])
        many = Side("cluster", f"redis://127.0.0.1:{cluster[0]}/0", cluster)
        results: dict[str, Any] = {"turns": args.turns, "rounds": args.rounds}
        for side in (one, many):
            await side.runtime.start()
            await side.round(args.turns)  # first turns: every conversation has a record after
        rounds: dict[str, list[dict[str, float]]] = {one.name: [], many.name: []}
        for _ in range(args.rounds):
            for side in (one, many):
                rounds[side.name].append(await side.round(args.turns))
        for side in (one, many):
            await side.runtime.close()
            await side.store.close()
            figures = rounds[side.name]
            results[side.name] = {
                name: round(statistics.median(r[name] for r in figures), 3) for name in figures[0]
            }
        for name in ("turns_per_second", "client_cpu_us_per_turn", "redis_cpu_us_per_turn"):
            ratio = results[many.name][name] / results[one.name][name]
            results[f"cluster_vs_one_node_{name}"] = round(ratio, 2)
        if args.pending:
            for side in (one, many):
                per_timer = await side.pending_timer_bytes(args.pending)
                results[side.name]["bytes_per_pending_timer"] = round(per_timer, 1)
        print(json.dumps(results, indent=2))
    finally:
        for process in processes:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
