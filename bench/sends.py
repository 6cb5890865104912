"""Outbound cost: sends per second through botkit's transport stack, and the channel rules'
cost per message, each next to a bare baseline measured side by side (alternating rounds).

1. Sends per second per process. A stand-in for the Messages API runs in its own process (an
   aiohttp server on 127.0.0.1 answering ``POST /v1/messages`` with 202 and a
   ``message_uuid``, refusing a wrong ``Authorization`` with 401), so it does not share the
   sender's event loop. In this process, ``--concurrency`` senders share ONE
   :class:`aiohttp.ClientSession` (a pool of ``--concurrency`` connections) and send
   ``--sends`` WhatsApp texts a round:

   - botkit: ``RetryingTransport(RateLimitedTransport(MessagesTransport(session,
     auth=BasicAuth(...), version="v1"), ChannelLimiter({WHATSAPP: 1e9})))`` sending
     :class:`~botkit.outbound.Outbound` messages (built before the clock starts);
   - baseline: ``session.post(url, json=<the same v1 body dict>, headers=<the same Basic
     header>)`` and reading the ``message_uuid`` from the JSON answer, on a session of its own.

   The stand-in counts the TCP connections it accepts and the distinct connections each
   round's requests came on. Connection reuse is checked: if botkit opened more connections
   than its pool holds, the bench says so and exits with status 1. The report also gives each
   side's CPU use (the sender's, with its CPU time per send, and the stand-in's), which shows
   that the sender, not the stand-in, is what limits the rate.

2. The channel rules' cost per message: ``apply_rules(message, facts)`` for a few
   representative messages, against building the v1 wire body
   (:func:`botkit.vonage.outbound.messages_v1.body`) of every message the plan sends, which
   any sender pays anyway.

Figures are medians over ``--rounds`` rounds; ratios are botkit / baseline.

Run: ``.venv/bin/python bench/sends.py [--rounds 5] [--sends 2000] [--concurrency 50]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from botkit.channels.facts import Facts
from botkit.channels.rules import apply_rules
from botkit.events import Channel, Text
from botkit.outbound import Button, Outbound, Template
from botkit.ratelimit import ChannelLimiter
from botkit.vonage.auth import BasicAuth
from botkit.vonage.outbound import messages_v1
from botkit.vonage.transport import MessagesTransport, RateLimitedTransport, RetryingTransport

API_KEY, API_SECRET = "bench-key", "bench-secret"
BOT, USER = "447700900000", "447700900001"

# The stand-in for the Messages API, run with ``python -c`` in its own process. It prints its
# port, then answers each line on its stdin with what it counted since the previous line (as
# JSON, then resets), and stops when its stdin closes. Control goes through the pipe so that
# every TCP connection the stand-in sees is a sender's.
STAND_IN = r"""
import asyncio, json, sys, time
from aiohttp import web

EXPECTED = sys.argv[1]
ACCEPTED = b'{"message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-%012d"}'
counts = {"requests": 0, "opened": 0, "refused": 0, "cpu": time.process_time()}
peers = set()

async def handle(request):
    if request.method != "POST" or request.path != "/v1/messages":
        return web.Response(status=404)
    await request.read()
    counts["requests"] += 1
    peers.add(request.transport.get_extra_info("peername"))
    if request.headers.get("Authorization") != EXPECTED:
        counts["refused"] += 1
        return web.Response(status=401, body=b'{"title": "Unauthorized"}',
                            content_type="application/json")
    return web.Response(status=202, body=ACCEPTED % counts["requests"],
                        content_type="application/json")

async def main():
    server = web.Server(handle, access_log=None)

    def factory():
        counts["opened"] += 1
        return server()

    loop = asyncio.get_running_loop()
    listener = await loop.create_server(factory, "127.0.0.1", 0, backlog=1024)
    print(listener.sockets[0].getsockname()[1], flush=True)
    while await loop.run_in_executor(None, sys.stdin.readline):
        cpu = time.process_time()
        stats = {**counts, "connections": len(peers), "cpu": cpu - counts["cpu"]}
        print(json.dumps(stats), flush=True)
        counts.update(requests=0, opened=0, refused=0, cpu=cpu)
        peers.clear()
    listener.close()

asyncio.run(main())
"""


@dataclass
class Side:
    """One side of the sends comparison: its rates a round and what the stand-in counted."""

    name: str
    pool: int
    rates: list[float] = field(default_factory=list)
    sender_busy: list[float] = field(default_factory=list)
    stand_in_busy: list[float] = field(default_factory=list)
    requests: int = 0
    opened: int = 0
    most_connections: int = 0
    refused: int = 0


def _text(n: int) -> Outbound:
    return Outbound(
        channel=Channel.WHATSAPP,
        to=USER,
        sender=BOT,
        content=Text(text=f"Thanks! Your order {n:06d} is on its way."),
    )


async def _drive(sends: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Run ``sends`` calls of ``one`` on ``concurrency`` senders; return sends per second."""
    next_index = 0

    async def sender() -> None:
        nonlocal next_index
        while next_index < sends:
            index = next_index
            next_index += 1
            await one(index)

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return sends / (time.perf_counter() - started)


class StandIn:
    """The stand-in's process, with its counters read through its stdin and stdout."""

    def __init__(self, authorization: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", STAND_IN, authorization],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = f"http://127.0.0.1:{int(self._line())}"

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.strip():
            raise SystemExit(f"the stand-in stopped (exit status {self.process.wait(10)})")
        return line

    def stats(self) -> dict[str, float]:
        """What the stand-in counted since the previous call."""
        assert self.process.stdin is not None
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        stats: dict[str, float] = json.loads(self._line())
        return stats

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


async def bench_sends(args: argparse.Namespace) -> tuple[Side, Side]:
    auth = BasicAuth(API_KEY, API_SECRET)
    header = await auth.headers()
    stand_in = StandIn(header["Authorization"])
    try:
        return await _alternate(args, stand_in, auth, header)
    finally:
        stand_in.stop()


async def _alternate(
    args: argparse.Namespace, stand_in: StandIn, auth: BasicAuth, header: dict[str, str]
) -> tuple[Side, Side]:
    botkit_session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency))
    base_session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency))
    try:
        transport = RetryingTransport(
            RateLimitedTransport(
                MessagesTransport(botkit_session, base_url=stand_in.url, auth=auth, version="v1"),
                ChannelLimiter({Channel.WHATSAPP: 1e9}),
            )
        )
        body = messages_v1.body(_text(0))
        post_url = stand_in.url + "/v1/messages"
        # Built once, before any clock starts: making messages is the bot's work, not sending.
        messages = [_text(n) for n in range(args.sends)]

        async def botkit_round(sends: int) -> float:
            async def one(index: int) -> None:
                await transport.send(messages[index])

            return await _drive(sends, args.concurrency, one)

        async def base_round(sends: int) -> float:
            async def one(index: int) -> None:
                async with base_session.post(post_url, json=body, headers=header) as answer:
                    if answer.status != 202:
                        raise RuntimeError(f"the stand-in answered {answer.status}")
                    if not (await answer.json())["message_uuid"]:
                        raise RuntimeError("the stand-in gave no message_uuid")

            return await _drive(sends, args.concurrency, one)

        sides = (Side("botkit", args.concurrency), Side("baseline", args.concurrency))
        rounds = {"botkit": botkit_round, "baseline": base_round}
        # Warm both up (connections opened, code paths hot), then alternate rounds, each side
        # going first in every other round.
        for side in sides:
            await rounds[side.name](min(args.sends, 500))
            _count(side, stand_in.stats())
        for n in range(args.rounds):
            for side in sides if n % 2 == 0 else sides[::-1]:
                wall, cpu = time.perf_counter(), time.process_time()
                rate = await rounds[side.name](args.sends)
                stats = stand_in.stats()
                wall = time.perf_counter() - wall
                side.rates.append(rate)
                side.sender_busy.append((time.process_time() - cpu) / wall)
                side.stand_in_busy.append(stats["cpu"] / wall)
                _count(side, stats)
                print(f"  round {n + 1} {side.name:8} {rate:8.0f} sends/s", file=sys.stderr)
        return sides
    finally:
        await botkit_session.close()
        await base_session.close()


def _count(side: Side, stats: dict[str, float]) -> None:
    side.requests += int(stats["requests"])
    side.opened += int(stats["opened"])
    side.refused += int(stats["refused"])
    side.most_connections = max(side.most_connections, int(stats["connections"]))


# --- the rule pipeline ------------------------------------------------------------------------

CHOICES = (
    Button(id="small", title="Small"),
    Button(id="medium", title="Medium"),
    Button(id="large", title="Large"),
)
LONG = " ".join(
    f"Sentence {n} of the terms you asked for, which go on for a while." for n in range(40)
)[:2500]
SHIPPED = "Your order has shipped and will arrive tomorrow."


def rule_cases(now: float) -> list[tuple[str, Outbound, Facts]]:
    inside = Facts(now=now, last_inbound_at=now - 600)
    outside = Facts(
        now=now,
        last_inbound_at=now - 2 * 86400,
        templates={SHIPPED: Template(name="order_shipped")},
    )
    whatsapp = {"channel": Channel.WHATSAPP, "to": USER, "sender": BOT}
    return [
        ("WhatsApp short text, in window", Outbound(**whatsapp, content=Text(text="Hi!")), inside),
        (
            "WhatsApp text + 3 buttons",
            Outbound(**whatsapp, content=Text(text="Which size?"), buttons=CHOICES),
            inside,
        ),
        (
            "SMS text, buttons -> numbered",
            Outbound(
                channel=Channel.SMS,
                to=USER,
                sender=BOT,
                content=Text(text="Which size?"),
                buttons=CHOICES,
            ),
            inside,
        ),
        (
            f"Messenger {len(LONG)}-char text, split",
            Outbound(
                channel=Channel.MESSENGER,
                to="1234567890123456",
                sender="6543210987654321",
                content=Text(text=LONG),
            ),
            inside,
        ),
        (
            "WhatsApp outside window -> template",
            Outbound(**whatsapp, content=Text(text=SHIPPED)),
            outside,
        ),
    ]


def _per_call(func: Callable[[], Any], loops: int) -> float:
    started = time.perf_counter()
    for _ in range(loops):
        func()
    return (time.perf_counter() - started) / loops * 1e6


def bench_rules(rounds: int, loops: int) -> list[tuple[str, int, float, float]]:
    """Per case: its name, messages in the plan, and median µs for the body alone and rules."""
    results = []
    for name, message, facts in rule_cases(time.time()):
        plan = apply_rules(message, facts)
        sent = plan.messages

        def rules(message: Outbound = message, facts: Facts = facts) -> Any:
            return apply_rules(message, facts)

        def bodies(sent: tuple[Outbound, ...] = sent) -> Any:
            return [messages_v1.body(m) for m in sent]

        bodies()
        base, bot = [], []
        for n in range(rounds):
            for which in ("base", "bot") if n % 2 == 0 else ("bot", "base"):
                if which == "base":
                    base.append(_per_call(bodies, loops))
                else:
                    bot.append(_per_call(rules, loops))
        results.append((name, len(sent), statistics.median(base), statistics.median(bot)))
    return results


def _check_reuse(botkit: Side, base: Side) -> None:
    """Print what the stand-in saw of the connections; exit with status 1 when botkit did not
    reuse its pooled connections (or a request was refused)."""
    failures = [
        f"{side.name}: the stand-in refused {side.refused} requests (401)"
        for side in (botkit, base)
        if side.refused
    ]
    if botkit.opened > botkit.pool or botkit.most_connections > botkit.pool:
        failures.append(
            f"botkit did not reuse its connections: it opened {botkit.opened} TCP connections "
            f"for {botkit.requests} requests (at most {botkit.most_connections} in a round), "
            f"with a pool of {botkit.pool}"
        )
    if failures:
        print("\nFAILED: " + "; ".join(failures), file=sys.stderr)
        raise SystemExit(1)
    print(
        f"   connection reuse: ok, botkit opened {botkit.opened} connections for "
        f"{botkit.requests} requests with a pool of {botkit.pool}"
        + ("" if base.opened <= base.pool else f" (the baseline opened {base.opened})")
    )


# --- the report -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sends", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--loops", type=int, default=300, help="rule calls a timing (part 2)")
    args = parser.parse_args()

    botkit, base = asyncio.run(bench_sends(args))
    bot_rate, base_rate = statistics.median(botkit.rates), statistics.median(base.rates)
    print(
        f"\n1. Sends per second, one process, {args.concurrency} senders on one session, "
        f"median of {args.rounds} rounds of {args.sends}"
    )
    print(
        f"   {'':9} {'sends/s':>8} {'sender CPU':>10} {'CPU us/send':>11} {'stand-in CPU':>12} "
        f"{'requests':>9} {'conns opened':>12} {'most in a round':>15}"
    )
    for side, rate in ((botkit, bot_rate), (base, base_rate)):
        busy = statistics.median(side.sender_busy)
        print(
            f"   {side.name:9} {rate:8.0f} {busy:10.0%} {busy / rate * 1e6:11.0f} "
            f"{statistics.median(side.stand_in_busy):12.0%} {side.requests:9} {side.opened:12} "
            f"{side.most_connections:15}"
        )
    print(
        f"   ratio botkit / baseline: {bot_rate / base_rate:.2f} "
        f"(requests and connections include a warm-up of {min(args.sends, 500)} each)"
    )

    _check_reuse(botkit, base)

    print(
        f"\n2. Channel rules per message, median of {args.rounds} rounds of {args.loops} calls "
        "(baseline: v1 body of each message sent)"
    )
    print(f"   {'message':38} {'sent':>4} {'body us':>8} {'rules us':>9} {'ratio':>7}")
    for name, sent, body_us, rules_us in bench_rules(args.rounds, args.loops):
        print(f"   {name:38} {sent:>4} {body_us:8.1f} {rules_us:9.1f} {rules_us / body_us:6.1f}x")


if __name__ == "__main__":
    main()
