"""Failover: messages with a WhatsApp -> SMS policy ("SMS if not read within W seconds"), half
of them read in time, answered by two processes on one Redis; and the CPU a policy costs.

- two worker processes, each running the bot (a :class:`~botkit.runtime.Runtime` on one
  redis-server) with a stand-in for the provider in its own process: every send is taken at
  once; a reader's WhatsApp message is reported ``read`` 1 s to W/2 after it left, an SMS
  ``delivered`` 1 s after (each status accepted as a webhook's would be,
  ``Runtime.accept``); a sleeper's WhatsApp message is never read. ``--messages`` users (half
  readers) write once each, spread over ``--over`` seconds, each worker accepting its half.
  Counted: SMS sent to readers (must be 0), sleepers with no SMS or more than one (must be 0),
  outcomes per message (must be 1), and how late each SMS left after its expiry (the time the
  reply was made plus W); the sweep runs at the default interval (0.5 s);
- CPU per message, in this process, same run, alternating rounds: a message answered with the
  policy against one answered without, each through its reply turn, a ``delivered`` and a
  ``read`` status (and, with the policy, the outcome's turn), on the same Redis.

Run: ``.venv/bin/python bench/failover.py [--messages 10000] [--over 600] [--within 30]
[--cpu-messages 500]`` (a redis-server of its own on a free port; ``--cpu-messages 0`` skips the
CPU rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from botkit import (
    Bot,
    Channel,
    Context,
    DeliveryStatus,
    Event,
    EventKind,
    FailoverOutcome,
    Fallback,
    StatusInfo,
    Text,
    WebhookFormat,
    on,
)
from botkit.log import configure_logging
from botkit.runtime import Runtime
from botkit.store.base import StoreUnavailable
from botkit.store.redis import RedisStore
from botkit.vonage.transport import Prepared, SendReceipt, Transport

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
sys.path.insert(0, str(ROOT))

from bench.own_redis import own_redis  # noqa: E402  (this file runs as a script)

BOT = "447700900000"


class Reminding(Bot):
    """Answers each message with a reminder, with the failover policy or without."""

    senders: ClassVar[dict[Channel, str]] = {Channel.WHATSAPP: BOT, Channel.SMS: BOT}
    within: ClassVar[float] = 30.0
    policy: ClassVar[bool] = True
    dues: ClassVar[dict[str, float]] = {}
    """Each user's reminder's expiry: when it was made plus ``within``."""
    outcomes: ClassVar[list[tuple[str, str]]] = []
    wanted: ClassVar[int] = 0
    all_ended: ClassVar[asyncio.Event | None] = None
    """Set once ``wanted`` outcomes were seen."""

    @on.text()
    async def remind(self, ctx: Context[dict[str, Any]]) -> None:
        if not Reminding.policy:
            await ctx.reply("Reminder: your appointment is tomorrow at 10.")
            return
        Reminding.dues[ctx.user.address] = ctx.facts.now + Reminding.within
        unread = Fallback(Channel.SMS, when="read", within=timedelta(seconds=Reminding.within))
        await ctx.reply("Reminder: your appointment is tomorrow at 10.", failover=[unread])

    @on.failover()
    async def ended(self, ctx: Context[dict[str, Any]]) -> None:
        assert isinstance(ctx.event.content, FailoverOutcome)
        channel = ctx.event.content.channel
        Reminding.outcomes.append((ctx.user.address, channel.value if channel else "none"))
        if Reminding.all_ended is not None and len(Reminding.outcomes) >= Reminding.wanted:
            Reminding.all_ended.set()


def is_reader(address: str) -> bool:
    return int(address[-1]) % 2 == 0


class Provider(Transport):
    """Takes every send at once and reports statuses back as the provider would: a reader's
    WhatsApp message ``read`` a while later, an SMS ``delivered`` a second later."""

    def __init__(self, within: float, report: bool = True) -> None:
        self.runtime: Runtime | None = None
        self.within = within
        self.report = report
        self.sent: list[tuple[str, str, float]] = []
        """(channel, user, when) of every send."""
        self.reads: list[tuple[str, float]] = []
        """(user, when its read was accepted)."""
        self.receipts: dict[str, tuple[str, str]] = {}
        """Each user's last WhatsApp message: its provider id and client_ref."""
        self._tasks: set[asyncio.Task[None]] = set()
        self.expected = 0
        self.done = asyncio.Event()

    async def deliver(self, prepared: Prepared) -> SendReceipt:
        message = prepared.message
        message_id = uuid.uuid4().hex
        self.sent.append((message.channel.value, message.to, time.time()))
        if message.channel is Channel.WHATSAPP:
            self.receipts[message.to] = (message_id, prepared.client_ref)
        if len(self.sent) >= self.expected:
            self.done.set()
        if self.report:
            if message.channel is Channel.SMS:
                self._later(
                    1.0, message.channel, message.to, message_id, prepared.client_ref, "delivered"
                )
            elif is_reader(message.to):
                delay = random.uniform(1.0, self.within / 2)
                self._later(
                    delay, message.channel, message.to, message_id, prepared.client_ref, "read"
                )
        return SendReceipt(message_id, client_ref=prepared.client_ref)

    def _later(
        self, delay: float, channel: Channel, to: str, message_id: str, ref: str, word: str
    ) -> None:
        task = asyncio.get_running_loop().create_task(
            self._status(delay, channel, to, message_id, ref, word)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _status(
        self, delay: float, channel: Channel, to: str, message_id: str, ref: str, word: str
    ) -> None:
        await asyncio.sleep(delay)
        assert self.runtime is not None
        await accept(self.runtime, status(channel, to, message_id, ref, word))
        if word == "read":
            self.reads.append((to, time.time()))


async def accept(runtime: Runtime, event: Event) -> None:
    """Accept ``event`` as a webhook would be: while the store is away (the webhook answers
    503), the provider tries again a little later."""
    pause = 0.2
    while True:
        try:
            await runtime.accept(event)
            return
        except StoreUnavailable:
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)


def status(channel: Channel, to: str, message_id: str, ref: str, word: str) -> Event:
    return Event(
        kind=EventKind.STATUS,
        channel=channel,
        user=to,
        bot=BOT,
        message_id=message_id,
        timestamp=datetime.now(UTC),
        format=WebhookFormat.V1,
        raw={},
        client_ref=ref,
        status=StatusInfo(status=DeliveryStatus(word), original=word),
    )


def message(address: str) -> Event:
    return Event(
        kind=EventKind.MESSAGE,
        channel=Channel.WHATSAPP,
        user=address,
        bot=BOT,
        message_id=uuid.uuid4().hex,
        timestamp=datetime.now(UTC),
        format=WebhookFormat.V1,
        raw={},
        content=Text(text="remind me"),
    )


def user(n: int, group: str) -> str:
    return f"44{group}{n:08d}"


# --- CPU per message, policy against none ----------------------------------------------------


async def life_round(
    runtime: Runtime, provider: Provider, addresses: list[str], policy: bool
) -> float:
    """CPU per message: the reply turn, a delivered and a read status (and the outcome)."""
    Reminding.policy = policy
    provider.expected, provider.sent, provider.done = len(addresses), [], asyncio.Event()
    began = time.process_time()
    for address in addresses:
        await accept(runtime, message(address))
    await asyncio.wait_for(provider.done.wait(), 300)
    await runtime.wait_idle(300)
    ended = len(Reminding.outcomes) + (len(addresses) if policy else 0)
    for address in addresses:
        message_id, ref = provider.receipts[address]
        for word in ("delivered", "read"):
            await accept(runtime, status(Channel.WHATSAPP, address, message_id, ref, word))
    await runtime.wait_idle(300)
    # A turn an overloaded Redis delayed comes later, from the sweep: it belongs to this round.
    Reminding.wanted, Reminding.all_ended = ended, asyncio.Event()
    if len(Reminding.outcomes) < ended:
        await asyncio.wait_for(Reminding.all_ended.wait(), 300)
    await runtime.wait_idle(300)
    return (time.process_time() - began) / len(addresses)


async def cpu_rounds(url: str, count: int, rounds: int) -> dict[str, Any]:
    store = RedisStore.from_url(url, prefix="cpu")
    provider = Provider(within=3600.0, report=False)
    runtime = Runtime(Reminding(), store, provider, sweep_interval=0.5)
    provider.runtime = runtime
    await runtime.start()
    with_policy: list[float] = []
    without: list[float] = []
    try:
        for n in range(rounds):
            # Fresh users every round, so each message is a first one on both sides.
            with_policy.append(
                await life_round(runtime, provider, [user(i, f"5{n}") for i in range(count)], True)
            )
            without.append(
                await life_round(runtime, provider, [user(i, f"6{n}") for i in range(count)], False)
            )
    finally:
        await runtime.close()
        await store.close()
    outcomes = len(Reminding.outcomes)
    return {
        "messages_per_round": count,
        "rounds": rounds,
        "outcomes_seen": outcomes,
        "with_policy_us": round(statistics.median(with_policy) * 1e6),
        "without_us": round(statistics.median(without) * 1e6),
        "with_over_without": round(statistics.median(with_policy) / statistics.median(without), 3),
    }


# --- two processes ------------------------------------------------------------------------------


async def worker(url: str, index: int, messages: int, over: float, within: float, out: str) -> None:
    configure_logging(level="error")
    Reminding.within = within
    store = RedisStore.from_url(url, prefix="two")
    provider = Provider(within)
    runtime = Runtime(Reminding(), store, provider)
    provider.runtime = runtime
    await runtime.start()
    client = aioredis.from_url(url, decode_responses=True)
    mine = [user(n, "70") for n in range(messages) if n % 2 == index]
    began = time.time()
    for position, address in enumerate(mine):
        pause = began + over * position / max(1, len(mine)) - time.time()
        if pause > 0:
            await asyncio.sleep(pause)
        await accept(runtime, message(address))
        if position % 200 == 0:
            await report(client, index, provider)
    while not await client.exists("two:bench-done"):
        await report(client, index, provider)
        await asyncio.sleep(0.5)
    await runtime.close()
    await store.close()
    await client.aclose()
    found = {
        "sent": provider.sent,
        "reads": provider.reads,
        "dues": Reminding.dues,
        "outcomes": Reminding.outcomes,
        "cpu": time.process_time(),
    }
    with open(out, "w") as file:  # noqa: ASYNC230 - written once, when the worker is done
        json.dump(found, file)


async def report(client: Any, index: int, provider: Provider) -> None:
    """This worker's progress, for the main process (skipped while Redis does not answer)."""
    sms = sum(1 for channel, _, _ in provider.sent if channel == "sms")
    with contextlib.suppress(OSError, RedisConnectionError):
        await client.hset(
            "two:bench-progress",
            mapping={f"sms{index}": sms, f"out{index}": len(Reminding.outcomes)},
        )


async def two_processes(
    url: str, client: Any, messages: int, over: float, within: float, workdir: Path
) -> dict[str, Any]:
    outs = [workdir / f"worker{i}.json" for i in range(2)]
    workers = [
        subprocess.Popen(
            [sys.executable, str(SCRIPT), "--worker", str(i), "--url", url,
             "--messages", str(messages), "--over", str(over), "--within", str(within),
             "--out", str(out)],
            cwd=ROOT,
        )
        for i, out in enumerate(outs)
    ]  # fmt: skip
    began = time.time()
    sleepers = sum(1 for n in range(messages) if not is_reader(user(n, "70")))
    try:
        # Every expiry is past once the last message (over) and its wait (within) went by.
        deadline = began + over + within + 600
        while time.time() < deadline:
            progress = await client.hgetall("two:bench-progress")
            sms = int(progress.get("sms0", 0)) + int(progress.get("sms1", 0))
            outcomes = int(progress.get("out0", 0)) + int(progress.get("out1", 0))
            if sms >= sleepers and outcomes >= messages and time.time() > began + over + within:
                break
            await asyncio.sleep(1.0)
        await asyncio.sleep(3.0)  # a late or doubled fallback would show in the next 3 s too
        await client.set("two:bench-done", 1)
        for process in workers:
            process.wait(120)
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
    sent: list[tuple[str, str, float]] = []
    reads: list[tuple[str, float]] = []
    dues: dict[str, float] = {}
    outcomes_seen: list[tuple[str, str]] = []
    cpu = []
    for out in outs:
        found = json.loads(out.read_text())
        sent += [tuple(s) for s in found["sent"]]  # type: ignore[misc]
        reads += [tuple(r) for r in found["reads"]]  # type: ignore[misc]
        dues.update(found["dues"])
        outcomes_seen += [tuple(o) for o in found["outcomes"]]  # type: ignore[misc]
        cpu.append(round(found["cpu"], 1))
    users = [user(n, "70") for n in range(messages)]
    sms_by_user: dict[str, list[float]] = {}
    whatsapp_by_user: dict[str, int] = {}
    for channel, to, at in sent:
        if channel == "sms":
            sms_by_user.setdefault(to, []).append(at)
        else:
            whatsapp_by_user[to] = whatsapp_by_user.get(to, 0) + 1
    readers = [u for u in users if is_reader(u)]
    sleeping = [u for u in users if not is_reader(u)]
    lateness = sorted(
        sms_by_user[u][0] - dues[u] for u in sleeping if u in sms_by_user and u in dues
    )
    late_reads = sum(1 for u, at in reads if u in dues and at > dues[u])
    outcome_count: dict[str, int] = {}
    for address, _ in outcomes_seen:
        outcome_count[address] = outcome_count.get(address, 0) + 1
    return {
        "messages": messages,
        "over_seconds": over,
        "within_seconds": within,
        "whatsapp_sent": sum(whatsapp_by_user.values()),
        "whatsapp_doubled": sum(1 for c in whatsapp_by_user.values() if c > 1),
        "readers": len(readers),
        "reads_accepted_after_expiry": late_reads,
        "fallbacks_sent_for_read_messages": sum(len(sms_by_user.get(u, [])) for u in readers),
        "sleepers": len(sleeping),
        "missing_fallbacks": sum(1 for u in sleeping if u not in sms_by_user),
        "doubled_fallbacks": sum(1 for u in sleeping if len(sms_by_user.get(u, [])) > 1),
        "outcomes_missing": sum(1 for u in users if u not in outcome_count),
        "outcomes_doubled": sum(1 for c in outcome_count.values() if c > 1),
        "fallback_lateness_p50_s": round(percentile(lateness, 50), 3),
        "fallback_lateness_p99_s": round(percentile(lateness, 99), 3),
        "fallback_lateness_max_s": round(lateness[-1], 3) if lateness else None,
        "cpu_seconds_per_process": cpu,
    }


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def say(what: str, **values: Any) -> None:
    """Progress on stderr, with the time."""
    print(f"{time.strftime('%H:%M:%S')} {what} {values}", file=sys.stderr, flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--over", type=float, default=600.0)
    parser.add_argument("--within", type=float, default=30.0)
    parser.add_argument("--cpu-messages", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", type=int, default=None)
    parser.add_argument("--url")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.worker is not None:
        await worker(args.url, args.worker, args.messages, args.over, args.within, args.out)
        return
    configure_logging(level="error")
    results: dict[str, Any] = {}
    async with own_redis("failover") as (url, client, workdir):
        if args.cpu_messages:
            say("cpu per message", messages=args.cpu_messages, rounds=args.rounds)
            results["cpu_per_message"] = await cpu_rounds(url, args.cpu_messages, args.rounds)
        say("two processes", messages=args.messages, over=args.over, within=args.within)
        results["two_processes"] = await two_processes(
            url, client, args.messages, args.over, args.within, workdir
        )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.path.insert(0, str(ROOT))
    asyncio.run(main())
