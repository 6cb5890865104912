"""Outbound rate limits across processes: the rate at which N ``botkit serve`` processes
together reach the provider, against the configured rate.

Starts a redis-server of its own on a free port (``--store redis``; with ``--store memory``
each process keeps its own conversations and buckets), ``--processes`` processes of
``botkit serve bots.echo:EchoBot`` with ``BOTKIT_RATE_LIMITS=whatsapp=<--rate>``, and, in this
process, :class:`botkit.testing.ProviderStandIn`, which answers 202 and notes when each send
arrived. ``--users`` users each write one WhatsApp message, their webhooks spread over the
processes at once; every echo leaves from the same bot number, so all of them share one
bucket. Reported: the sends that arrived in each second, the most in any one-second window,
and the aggregate rate ((sends - 1) / time from the first arrival to the last).

Run: ``.venv/bin/python bench/shared_rates.py [--store redis|memory] [--processes 3]
[--rate 20] [--users 200]``
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import unused_port

from botkit.testing import ProviderStandIn

ROOT = Path(__file__).resolve().parent.parent
BOT = "447700900000"


def start_redis(workdir: str) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed")
    port = unused_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", workdir, "--protected-mode", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return process, f"redis://127.0.0.1:{port}/0"


async def wait_up(url: str, process: subprocess.Popen[bytes], session: Any) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"a server exited with status {process.returncode}")
        try:
            async with session.get(url + "/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.05)
    sys.exit(f"{url} did not come up")


def webhook(user: str) -> dict[str, Any]:
    return {
        "channel": "whatsapp",
        "message_uuid": str(uuid.uuid4()),
        "to": BOT,
        "from": user,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "message_type": "text",
        "text": "hi",
    }


def report(arrivals: list[float], rate: float, processes: int, store: str) -> None:
    first = arrivals[0]
    times = [t - first for t in arrivals]
    per_second: dict[int, int] = {}
    for t in times:
        per_second[int(t)] = per_second.get(int(t), 0) + 1
    busiest = max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))
    aggregate = (len(times) - 1) / times[-1] if times[-1] > 0 else float("inf")
    print(f"store={store} processes={processes} configured={rate:g}/s sends={len(times)}")
    print("  sends in each second: " + " ".join(str(per_second[s]) for s in sorted(per_second)))
    print(
        f"  most in any one-second window: {busiest} (configured rate + burst of 1: {rate + 1:g})"
    )
    print(f"  aggregate: {aggregate:.2f} sends/s ({aggregate / rate:.2f} x the configured rate)")


async def main(args: argparse.Namespace) -> None:
    async with ProviderStandIn() as stand_in:
        await measure(args, stand_in)


async def measure(args: argparse.Namespace, stand_in: ProviderStandIn) -> None:
    workdir = tempfile.mkdtemp(prefix="botkit-bench-")
    redis: subprocess.Popen[bytes] | None = None
    env = {
        **os.environ,
        "BOTKIT_ENV": "test",
        "BOTKIT_HOST": "127.0.0.1",
        "LOG_LEVEL": "warning",
        "BOTKIT_REDIS_PREFIX": f"bench{uuid.uuid4().hex[:8]}",
        "BOTKIT_RATE_LIMITS": f"whatsapp={args.rate:g}",
        "VONAGE_API_URL": stand_in.url,
        "VONAGE_API_KEY": "bench-key",
        "VONAGE_API_SECRET": "bench-secret",
    }
    env.pop("REDIS_URL", None)
    if args.store == "redis":
        redis, env["REDIS_URL"] = start_redis(workdir)
    servers: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for _ in range(args.processes):
            port = unused_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "botkit", "serve", "bots.echo:EchoBot", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            servers.append((f"http://127.0.0.1:{port}", process))
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(wait_up(url, p, session) for url, p in servers))

            async def post(n: int) -> None:
                url = servers[n % len(servers)][0]
                async with session.post(
                    url + "/webhooks/inbound", json=webhook(f"44770{n:06d}")
                ) as r:
                    if r.status != 200:
                        sys.exit(f"webhook answered {r.status}: {await r.text()}")

            await asyncio.gather(*(post(n) for n in range(args.users)))
            expected = args.users / args.rate / (1 if args.store == "redis" else args.processes)
            await stand_in.wait_for(args.users, timeout=expected * 3 + 30)
        report(sorted(sent.at for sent in stand_in.sent), args.rate, args.processes, args.store)
    finally:
        for _, process in servers:
            process.terminate()
        for _, process in servers:
            process.wait(10)
        if redis is not None:
            redis.terminate()
            redis.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("redis", "memory"), default="redis")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
