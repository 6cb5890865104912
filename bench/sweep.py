"""The sweep under a backlog: how fast one process drains due entries, and how soon it takes over
a conversation whose holder died while the backlog waits.

A worker process (one ``Runtime`` on Redis, a bot that answers each message) starts with
``--backlog`` due entries in the store's due index, as handled traffic leaves them: each marks a
conversation with nothing left to do (an accept marks its conversation in case its holder dies,
and the mark stays until a sweep looks). The sweep has nothing to do for such a conversation
but look at it and forget its mark. Beside them, one
conversation holds an event that a process which then died had accepted: its lease expires two
seconds into the run, and the sweep must take it over and handle the event.

Figures, per run: entries drained per second (the backlog over the time until nothing is due,
or what was drained within ``--seconds``); the takeover (the dead holder's event handled, in
seconds after its lease expired); the worker's and Redis's CPU time per entry (on a loaded
machine the wall-clock rate is what the cores left over allow). The same worker runs on the
code of ``--before`` (a git revision, checked out to a temporary folder; its own store writes
its own backlog) and on this tree, one after the other against one redis-server of the
bench's own.

Run: ``.venv/bin/python bench/sweep.py [--backlog 200000] [--before REV] [--seconds 60]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.own_redis import own_redis  # noqa: E402  (this file runs as a script)

BEFORE = "d2d3584"
"""main before the sweep kept up: it looked at 500 due entries, then waited half a second
unless all 500 had been claimed."""

WORKER = r"""
import asyncio, json, sys, time, uuid
from datetime import UTC, datetime

sys.path.insert(0, sys.argv[1])
from pydantic import BaseModel
from redis import asyncio as aioredis

from botkit import Bot, Channel, Context, Event, EventKind, Text, WebhookFormat, on
from botkit.log import configure_logging
from botkit.runtime import Runtime
from botkit.store.base import Lease
from botkit.store.redis import RedisStore
from botkit.vonage.transport import Prepared, SendReceipt, Transport

URL, PREFIX, OUT = sys.argv[2], sys.argv[3], sys.argv[6]
BACKLOG, SECONDS = int(sys.argv[4]), float(sys.argv[5])
BOT = "447700900000"
DEAD = "449999999999"
handled = {}


class Turns(BaseModel):
    n: int = 0


class SweptBot(Bot[Turns]):
    @on.text()
    async def answer(self, ctx: Context[Turns]) -> None:
        handled.setdefault(ctx.event.user, time.time())
        ctx.data.n += 1
        await ctx.reply("ok")


class Taking(Transport):
    async def deliver(self, prepared: Prepared) -> SendReceipt:
        return SendReceipt(uuid.uuid4().hex, client_ref=prepared.client_ref)


def event(user):
    return Event(kind=EventKind.MESSAGE, channel=Channel.SMS, user=user, bot=BOT,
                 message_id=uuid.uuid4().hex, timestamp=datetime.now(UTC),
                 format=WebhookFormat.V1, raw={}, content=Text(text="hello"))


async def seed(store, count, past):
    # A mark an hour old for each of ``count`` conversations with nothing to do, as handled
    # traffic leaves them (an accept marks its conversation in case its holder dies); made
    # here the cheap way, by handing over leases nobody holds (a hand-over marks it due).
    for start in range(0, count, 2000):
        await asyncio.gather(*(
            store.release(Lease(f"sms:{BOT}:44{n:010d}", "nobody:1", 1), now=past)
            for n in range(start, min(count, start + 2000))
        ))


async def due_index(client):
    # Wherever the layout keeps the due index: one sorted set or several buckets.
    found = client.scan_iter(match="*" + PREFIX + ":due*", count=10000, _type="zset")
    return [name async for name in found if not name.endswith(":hints")]


async def due_now(client, index):
    at = time.time() * 1000
    return sum([await client.zcount(name, "-inf", at) for name in index])


async def used_cpu(client):
    info = await client.info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


async def main():
    configure_logging(level="error")
    client = aioredis.from_url(URL, decode_responses=True)
    seeding = RedisStore.from_url(URL, prefix=PREFIX)
    began, cpu = time.time(), time.process_time()
    await seed(seeding, BACKLOG, began - 3600)
    seeded, seeded_cpu = time.time() - began, time.process_time() - cpu
    dying = RedisStore.from_url(URL, prefix=PREFIX, lease_seconds=2.0)
    await dying.accept(f"sms:{BOT}:{DEAD}", event(DEAD), owner="died", now=time.time())
    lease_expired = time.time() + 2.0
    await dying.close()
    await seeding.close()
    index = await due_index(client)
    backlog = await due_now(client, index)

    store = RedisStore.from_url(URL, prefix=PREFIX)
    runtime = Runtime(SweptBot(), store, Taking())
    start = time.time()
    cpu = time.process_time()
    redis_cpu = await used_cpu(client)
    await runtime.start()
    left = backlog
    while time.time() - start < SECONDS:
        await asyncio.sleep(0.05)
        left = await due_now(client, index)
        if left == 0 and DEAD in handled:
            break
    elapsed = time.time() - start
    cpu = time.process_time() - cpu
    redis_cpu = await used_cpu(client) - redis_cpu
    await runtime.close()
    await store.close()
    await client.aclose()
    drained = backlog - left
    taken = handled.get(DEAD)
    with open(OUT, "w") as f:
        json.dump({
            "backlog": backlog,
            "seeded_s": round(seeded, 1),
            "seeded_cpu_s": round(seeded_cpu, 1),
            "drained": drained,
            "seconds": round(elapsed, 2),
            "entries_per_s": round(drained / elapsed),
            "cpu_s": round(cpu, 2),
            "cpu_us_per_entry": round(cpu / max(1, drained) * 1e6),
            "redis_cpu_us_per_entry": round(redis_cpu / max(1, drained) * 1e6),
            "takeover_after_lease_s": None if taken is None else round(taken - lease_expired, 2),
        }, f)

asyncio.run(main())
"""


def say(what: str, **values: Any) -> None:
    """Progress on stderr, with the time."""
    print(f"{time.strftime('%H:%M:%S')} {what} {values}", file=sys.stderr, flush=True)


def checkout(revision: str, into: Path) -> Path:
    """The ``botkit`` package of ``revision``, in ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "botkit"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_worker(tree: Path, url: str, prefix: str, backlog: int, seconds: float, out: Path) -> Any:
    subprocess.run(
        [sys.executable, "-c", WORKER, str(tree), url, prefix, str(backlog), str(seconds),
         str(out)],
        check=True,
    )  # fmt: skip
    return json.loads(out.read_text())


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backlog", type=int, default=200_000)
    parser.add_argument("--before", default=BEFORE, help="git revision to compare with")
    parser.add_argument("--seconds", type=float, default=60.0, help="longest wait per run")
    args = parser.parse_args()

    results: dict[str, Any] = {"backlog": args.backlog, "before": args.before}
    async with own_redis("sweep") as (url, client, workdir):
        before = workdir / "before"
        before.mkdir()
        trees = {"before": checkout(args.before, before), "after": ROOT}
        for name, tree in trees.items():
            say("run", code=name)
            results[name] = run_worker(
                tree, url, name, args.backlog, args.seconds, workdir / f"{name}.json"
            )
            await client.flushall()
    results["after_over_before"] = round(
        results["after"]["entries_per_s"] / max(1, results["before"]["entries_per_s"]), 1
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
