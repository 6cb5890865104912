"""Timers in Redis: memory per pending timer, a timer turn's CPU against a webhook turn's, the
per-turn cost with a million timers pending, and two processes firing timers that fall due
together.

- memory: ``--pending`` conversations get a record each (as a first turn writes it), then one
  pending timer each, as a commit writes it (its field in the record, the first timer's time,
  the conversation's mark in the due index); the figure is the INFO ``used_memory`` growth of
  the second step per timer;
- CPU per turn, in this process, same run, alternating rounds: a webhook-driven turn (the
  runtime accepts a user's message: the turn, its commit, the reply, the ack) against a
  timer-driven one (the sweep claims a conversation whose timer fell due: the same turn, commit,
  reply and ack). The bot's clock moves past the timers, as the sandbox does; HTTP and parsing
  of a real webhook are left out, so the webhook side is the cheaper one;
- the timer turn again once ``--pending`` timers wait far ahead (flat: no scan of them);
- two worker processes on one Redis, ``--due`` timers falling due within one minute: each must
  fire once; lateness is when the handler ran minus when the timer was due.

Run: ``.venv/bin/python bench/timers.py [--pending 1000000] [--due 100000] [--turns 2000]``
(a redis-server of its own on a free port; it needs about 1 GB of memory at full size).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from botkit import Bot, Channel, Context, Event, EventKind, OffsetClock, Text, WebhookFormat, on
from botkit.conversation import Conversation, PendingTimer
from botkit.log import configure_logging
from botkit.runtime import Runtime
from botkit.store import codec
from botkit.store.redis import RedisStore
from botkit.store.redis.store import _tag
from botkit.vonage.transport import Prepared, SendReceipt, Transport

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.own_redis import own_redis  # noqa: E402  (this file runs as a script)

BOT = "447700900000"
BATCH = 10_000


class Turns(BaseModel):
    n: int = 0


class TimedBot(Bot[Turns]):
    """Answers a message and a timer alike: one reply, one more turn counted."""

    fired: ClassVar[list[tuple[str, float]]] = []

    @on.text()
    async def echo(self, ctx: Context[Turns]) -> None:
        ctx.data.n += 1
        await ctx.reply(f"echo: {ctx.text}")

    @on.timer("tick")
    async def tick(self, ctx: Context[Turns]) -> None:
        ctx.data.n += 1
        TimedBot.fired.append((ctx.event.message_id, time.time() - ctx.event.timestamp.timestamp()))
        await ctx.reply("tick")


class Counted(Transport):
    """Takes every message at once and counts them."""

    def __init__(self) -> None:
        self.sent = 0
        self.target = 0
        self.done = asyncio.Event()

    def expect(self, count: int) -> None:
        self.sent, self.target = 0, count
        self.done.clear()

    async def deliver(self, prepared: Prepared) -> SendReceipt:
        self.sent += 1
        if self.sent >= self.target:
            self.done.set()
        return SendReceipt(uuid.uuid4().hex, client_ref=prepared.client_ref)


def user(n: int, group: str) -> str:
    return f"44{group}{n:08d}"


def conversation_key(address: str) -> str:
    return f"sms:{BOT}:{address}"


def message(address: str) -> Event:
    return Event(
        kind=EventKind.MESSAGE,
        channel=Channel.SMS,
        user=address,
        bot=BOT,
        message_id=uuid.uuid4().hex,
        timestamp=datetime.now(UTC),
        format=WebhookFormat.V1,
        raw={},
        content=Text(text="hello"),
    )


# --- seeding, as the store's commit writes it ---------------------------------------------------


async def seed_records(client: Any, prefix: str, keys: list[str]) -> None:
    """A committed record per conversation, as a first turn leaves it."""
    state, data, version, revision, *_ = codec.encode_record(
        Conversation("k", state="start", data='{"n":1}', version=1, revision=1)
    )
    for start in range(0, len(keys), BATCH):
        pipe = client.pipeline(transaction=False)
        for key in keys[start : start + BATCH]:
            record = f"{prefix}:{{{_tag(key)}}}:r"
            pipe.hset(record, mapping={"s": state, "d": data, "v": version, "r": revision, "f": 1})
            pipe.pexpire(record, 30 * 24 * 3600 * 1000)
        await pipe.execute()


async def seed_timers(client: Any, prefix: str, keys: list[str], at: list[float]) -> list[str]:
    """One pending timer ``tick`` per conversation, due at ``at[i]``: its field in the record,
    the first timer's time and the due mark, as a commit writes them. Returns the timer ids."""
    ids: list[str] = []
    store = RedisStore(client, prefix=prefix)  # its client is the caller's, left open
    for start in range(0, len(keys), BATCH):
        pipe = client.pipeline(transaction=False)
        marks: dict[str, float] = {}
        for key, when in zip(keys[start : start + BATCH], at[start : start + BATCH], strict=True):
            timer = PendingTimer("tick", when, uuid.uuid4().hex[:16])
            ids.append(timer.id)
            first = round(when * 1000)
            pipe.hset(
                f"{prefix}:{{{_tag(key)}}}:r",
                mapping={"t": codec.encode_timers({"tick": timer}) or "", "n": first},
            )
            marks[key] = when
        await pipe.execute()
        await store.mark_due(marks)
    return ids


async def used_memory(client: Any) -> int:
    info = await client.info("memory")
    return int(info["used_memory"])


# --- CPU per turn --------------------------------------------------------------------------------


async def webhook_round(runtime: Runtime, transport: Counted, addresses: list[str]) -> float:
    transport.expect(len(addresses))
    began = time.process_time()
    for address in addresses:
        await runtime.accept(message(address))
    await asyncio.wait_for(transport.done.wait(), 120)
    await runtime.wait_idle(60)
    return (time.process_time() - began) / len(addresses)


async def timer_round(
    runtime: Runtime, transport: Counted, client: Any, prefix: str, addresses: list[str]
) -> float:
    clock = runtime.clock
    assert isinstance(clock, OffsetClock)
    keys = [conversation_key(a) for a in addresses]
    await seed_timers(client, prefix, keys, [clock.now() + 60.0] * len(keys))
    transport.expect(len(addresses))
    began = time.process_time()
    clock.advance(61.0)  # the sandbox's way: the clock moves, the sweep wakes
    await asyncio.wait_for(transport.done.wait(), 120)
    await runtime.wait_idle(60)
    return (time.process_time() - began) / len(addresses)


async def cpu_rounds(
    runtime: Runtime, transport: Counted, client: Any, prefix: str, turns: int, rounds: int
) -> tuple[list[float], list[float]]:
    addresses = [user(n, "10") for n in range(turns)]
    await webhook_round(runtime, transport, addresses)  # first turns: records exist after
    webhook, timer = [], []
    for _ in range(rounds):
        webhook.append(await webhook_round(runtime, transport, addresses))
        timer.append(await timer_round(runtime, transport, client, prefix, addresses))
    return webhook, timer


# --- two processes, timers due together ----------------------------------------------------------

WORKER = r"""
import asyncio, json, sys, time
sys.path.insert(0, sys.argv[4])
from bench.timers import TimedBot, Counted
from botkit.log import configure_logging
from botkit.runtime import Runtime
from botkit.store.redis import RedisStore
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

async def main(url, prefix, out):
    configure_logging(level="error")
    store = RedisStore.from_url(url, prefix=prefix, lease_seconds=10.0)
    runtime = Runtime(TimedBot(), store, Counted(), sweep_interval=0.2)
    await runtime.start()
    client = aioredis.from_url(url, decode_responses=True)
    name = out.rsplit("/", 1)[-1]
    while not await client.exists(prefix + ":bench-done"):
        await client.hset(prefix + ":bench-fired", name, len(TimedBot.fired))
        await asyncio.sleep(0.2)
    await runtime.close()
    await store.close()
    with open(out, "w") as f:
        json.dump({"fired": TimedBot.fired, "cpu": time.process_time()}, f)

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
"""


async def due_together(url: str, client: Any, due: int, workdir: Path) -> dict[str, Any]:
    prefix = "two"
    outs = [workdir / f"worker{i}.json" for i in range(2)]
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, url, prefix, str(out), str(ROOT)])
        for out in outs
    ]
    try:
        keys = [conversation_key(user(n, "20")) for n in range(due)]
        await seed_records(client, prefix, keys)
        start = time.time() + 10.0
        at = [start + random.uniform(0.0, 60.0) for _ in keys]
        ids = await seed_timers(client, prefix, keys, at)
        deadline = start + 60.0 + 120.0
        while time.time() < deadline:
            counts = await client.hvals(f"{prefix}:bench-fired")
            if sum(int(c) for c in counts) >= due:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(2.0)  # a double firing would show in the next 2 s too
        await client.set(f"{prefix}:bench-done", 1)
        for worker in workers:
            worker.wait(60)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    fired: ClassVar[list[tuple[str, float]]] = []
    shares = []
    for out in outs:
        found = json.loads(out.read_text())
        fired += [tuple(item) for item in found["fired"]]  # type: ignore[misc]
        shares.append(len(found["fired"]))
    seen = [ident for ident, _ in fired]
    lateness = sorted(late for _, late in fired)
    return {
        "timers": due,
        "fired": len(fired),
        "distinct": len(set(seen)),
        "never_fired": len(set(ids) - set(seen)),
        "per_process": shares,
        "lateness_p50_s": round(percentile(lateness, 50), 3),
        "lateness_p99_s": round(percentile(lateness, 99), 3),
        "lateness_max_s": round(lateness[-1], 3) if lateness else None,
    }


def say(what: str, **values: Any) -> None:
    """Progress on stderr, with the time."""
    print(f"{time.strftime('%H:%M:%S')} {what} {values}", file=sys.stderr, flush=True)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * p / 100))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pending", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    configure_logging(level="error")

    results: dict[str, Any] = {"pending": args.pending, "turns": args.turns}
    async with own_redis("timers") as (url, client, workdir):
        store = RedisStore.from_url(url, prefix="cpu")
        transport = Counted()
        runtime = Runtime(TimedBot(), store, transport, clock=OffsetClock(), sweep_interval=0.2)
        await runtime.start()
        webhook, timer = await cpu_rounds(
            runtime, transport, client, "cpu", args.turns, args.rounds
        )

        keys = [conversation_key(user(n, "30")) for n in range(args.pending)]
        await seed_records(client, "mem", keys)
        before = await used_memory(client)
        far = runtime.clock.now() + 30 * 24 * 3600
        await seed_timers(client, "mem", keys, [far + n % 3600 for n in range(len(keys))])
        after = await used_memory(client)
        results["bytes_per_pending_timer"] = round((after - before) / max(1, args.pending), 1)

        # The same rounds with the pending timers in the same due index as the turns' own.
        await seed_records(client, "cpu", keys)
        await seed_timers(client, "cpu", keys, [far + n % 3600 for n in range(len(keys))])
        loaded_webhook, loaded_timer = await cpu_rounds(
            runtime, transport, client, "cpu", args.turns, args.rounds
        )
        await runtime.close()
        await store.close()
        results["cpu_us_per_turn"] = {
            "webhook": round(statistics.median(webhook) * 1e6),
            "timer": round(statistics.median(timer) * 1e6),
            "timer_over_webhook": round(statistics.median(timer) / statistics.median(webhook), 3),
            "webhook_with_pending": round(statistics.median(loaded_webhook) * 1e6),
            "timer_with_pending": round(statistics.median(loaded_timer) * 1e6),
            "timer_with_over_without": round(
                statistics.median(loaded_timer) / statistics.median(timer), 3
            ),
        }
        say("results so far", **results)
        await client.flushall(asynchronous=True)  # millions of keys: not within a reply timeout
        results["two_processes"] = await due_together(url, client, args.due, workdir)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    asyncio.run(main())
