"""End-to-end turns per second: botkit's echo bot against a bare aiohttp + Redis handler.

A turn is: a WhatsApp text webhook arrives -> the conversation's state advances in Redis -> a
reply reaches the stand-in for the Messages API, where it is counted (not at the webhook).

- botkit: ``botkit serve bench.turns:CountingEchoBot`` on Redis, in its own process;
- baseline: a hand-written aiohttp app in its own process that does the least the same work
  needs: GET the state, SET the state, POST the reply, then answer the webhook. It runs on
  uvloop too when botkit does (``--no-uvloop`` turns it off for both).

Both run against one fresh redis-server of the bench's own, alternating rounds in one run with
a third server, botkit logging as production does by default (``LOG_LEVEL=info``, JSON lines,
every value masked), whose extra CPU per reply is what logging costs; the load generator and
the stand-in share this process. Per round: turns per second, CPU seconds
of the server's process per reply and of Redis per turn (from /proc and INFO). Then, at half of
botkit's measured maximum rate: webhook acknowledgement latency p50/p99 of both, botkit's
event-loop lag (its ``botkit_event_loop_lag_seconds`` histogram: the largest bucket reached),
and CPU per turn of botkit and of Redis at that moderate load. Then Redis round trips and
commands per turn. With ``--processes 1,2,3``, botkit's throughput and Redis CPU per turn with
that many ``botkit serve`` processes sharing the Redis (users spread over them). With
``--before DIR``, a checkout of an older botkit alternates with them too, in the same run.

Memory per conversation is measured by ``bench/memory.py``.

Run: ``.venv/bin/python bench/turns.py [--rounds 5] [--turns 3000] [--processes 1,2,3]
[--before DIR] [--no-uvloop]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel
from redis import asyncio as aioredis

from botkit import Bot, Channel, Context, Event, EventKind, Text, WebhookFormat, on
from botkit.log import configure_logging

ROOT = Path(__file__).resolve().parent.parent


class Turns(BaseModel):
    n: int = 0


class CountingEchoBot(Bot[Turns]):
    """The echo bot, counting its turns in the conversation's data (so state really advances)."""

    @on.text()
    async def echo(self, ctx: Context[Turns]) -> None:
        ctx.data.n += 1
        await ctx.reply(f"echo: {ctx.text}")


# --- the baseline: a bare handler doing the minimal same work ---------------------------------

BASELINE = r"""
import json, sys, base64
from aiohttp import web, ClientSession
from redis import asyncio as aioredis

async def main(port, redis_url, provider):
    redis = aioredis.from_url(redis_url)
    session = ClientSession()
    auth = {"Authorization": "Basic " + base64.b64encode(b"k:s").decode()}

    async def inbound(request):
        body = await request.json()
        key = "base:" + body["to"] + ":" + body["from"]
        state = await redis.get(key)
        n = int(state or 0) + 1
        await redis.set(key, n)
        reply = {"message_type": "text", "channel": body["channel"], "to": body["from"],
                 "from": body["to"], "text": "echo: " + body["text"]}
        async with session.post(provider + "/v1/messages", json=reply, headers=auth) as r:
            await r.read()
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/webhooks/inbound", inbound)
    app.router.add_get("/healthz", lambda r: web.json_response({"status": "ok"}))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    import asyncio
    await asyncio.Event().wait()

import asyncio
if sys.argv[4] == "uvloop":
    import uvloop
    uvloop.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
else:
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class StandIn:
    """The Messages API stand-in: counts replies as they arrive."""

    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.done = asyncio.Event()

    async def send(self, request: web.Request) -> web.Response:
        await request.read()
        self.count += 1
        if self.count >= self.target:
            self.done.set()
        return web.json_response({"message_uuid": str(uuid.uuid4())}, status=202)

    def expect(self, count: int) -> None:
        self.count, self.target = 0, count
        self.done.clear()


def webhook(user: str, n: int) -> bytes:
    return json.dumps(
        {
            "channel": "whatsapp",
            "message_uuid": str(uuid.uuid4()),
            "to": "447700900000",
            "from": user,
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "message_type": "text",
            "text": f"hello {n}",
        }
    ).encode()


async def _wait_up(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(400):
            try:
                async with session.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def closed_loop(
    session: aiohttp.ClientSession,
    urls: list[str],
    stand_in: StandIn,
    turns: int,
    users: int,
    tag: str,
) -> float:
    """Send ``turns`` webhooks, ``users`` conversations in parallel (each user one at a time,
    user i to ``urls[i % len(urls)]``); return turns per second, counted when the last reply
    reached the stand-in."""
    stand_in.expect(turns)
    per_user = turns // users
    started = time.perf_counter()

    async def user(index: int) -> None:
        who = f"44{tag}{index:07d}"
        url = urls[index % len(urls)]
        for n in range(per_user):
            async with session.post(
                url + "/webhooks/inbound",
                data=webhook(who, n),
                headers={"Content-Type": "application/json"},
            ) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"webhook answered {response.status}")

    await asyncio.gather(*(user(i) for i in range(users)))
    await asyncio.wait_for(stand_in.done.wait(), 120)
    return per_user * users / (time.perf_counter() - started)


async def open_loop(
    session: aiohttp.ClientSession, url: str, stand_in: StandIn, rate: float, seconds: float
) -> list[float]:
    """Send webhooks at ``rate`` per second for ``seconds``; return each ack latency in ms."""
    total = int(rate * seconds)
    stand_in.expect(total)
    latencies: list[float] = []
    start = time.perf_counter()

    async def one(n: int) -> None:
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        sent = time.perf_counter()
        async with session.post(
            url + "/webhooks/inbound",
            data=webhook(f"4455{n % 500:07d}", n),
            headers={"Content-Type": "application/json"},
        ) as response:
            await response.read()
        latencies.append((time.perf_counter() - sent) * 1000)

    await asyncio.gather(*(one(n) for n in range(total)))
    await asyncio.wait_for(stand_in.done.wait(), 120)
    return latencies


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes ``pids`` used so far (from /proc)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


async def redis_cpu(client: aioredis.Redis) -> float:
    """CPU seconds the Redis server used so far (its main thread and helpers)."""
    info = await client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class Meter:
    """CPU of some processes and of Redis across a stretch of work."""

    def __init__(self, pids: list[int], redis: aioredis.Redis) -> None:
        self.pids, self.redis = pids, redis

    async def __aenter__(self) -> Meter:
        self._cpu, self._redis = cpu_seconds(self.pids), await redis_cpu(self.redis)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.cpu = cpu_seconds(self.pids) - self._cpu
        self.redis_cpu = await redis_cpu(self.redis) - self._redis


async def lag_buckets(session: aiohttp.ClientSession, metrics_url: str) -> dict[float, float]:
    """botkit's ``botkit_event_loop_lag_seconds`` histogram: upper bound -> cumulative count."""
    async with session.get(metrics_url) as response:
        text = await response.text()
    found: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "botkit_event_loop_lag_seconds":
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    found[float(sample.labels["le"])] = sample.value
    return found


def max_lag_bucket(before: dict[float, float], after: dict[float, float]) -> float:
    """The smallest bucket bound that holds every lag measured between the two reads (nan
    when the server keeps no such histogram)."""
    if not after:
        return float("nan")
    total = after[float("inf")] - before[float("inf")]
    for bound in sorted(after):
        if after[bound] - before.get(bound, 0.0) >= total:
            return bound
    return float("inf")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def hello(user: str) -> Event:
    """A WhatsApp "hi" from ``user`` to the bot, as the provider's webhook would bring it."""
    return Event(
        kind=EventKind.MESSAGE,
        channel=Channel.WHATSAPP,
        user=user,
        bot="447700900000",
        message_id=str(uuid.uuid4()),
        timestamp=datetime.now(UTC),
        format=WebhookFormat.V1,
        raw={},
        content=Text(text="hi"),
    )


async def round_trips_per_turn(redis_url: str, turns: int) -> tuple[float, float]:
    """Drive the runtime in this process on Redis and read the store's own traffic counters."""

    from botkit.runtime import Runtime
    from botkit.store.redis import RedisStore
    from botkit.testing import ProviderStandIn
    from botkit.vonage.auth import BasicAuth
    from botkit.vonage.transport import MessagesTransport

    store = RedisStore.from_url(redis_url, prefix="rt")
    async with ProviderStandIn() as provider, aiohttp.ClientSession() as session:
        transport = MessagesTransport(session, base_url=provider.url, auth=BasicAuth("k", "s"))
        runtime = Runtime(CountingEchoBot(), store, transport)
        store.traffic.reset()
        for n in range(turns):
            await runtime.accept(hello(f"4466{n % 50:07d}"))
            await runtime.wait_idle()
        trips, commands = store.traffic.round_trips, store.traffic.commands
        await runtime.close()
    await store.close()
    return trips / turns, commands / turns


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A fresh redis-server of the bench's own, without persistence."""
    port = _free_port()
    binary = shutil.which("redis-server") or "redis-server"
    flags = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)]
    process = subprocess.Popen(
        [binary, "--port", str(port), *flags],
        stdout=subprocess.DEVNULL,
    )
    return process, f"redis://127.0.0.1:{port}/0"


def _ms(values: list[float]) -> str:
    return f"p50 {percentile(values, 0.5):.2f} ms, p99 {percentile(values, 0.99):.2f} ms"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--turns", type=int, default=3000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0, help="of the half-rate run")
    parser.add_argument("--processes", default="1", help="botkit processes to measure, e.g. 1,2,3")
    parser.add_argument("--no-uvloop", action="store_true", help="asyncio's loop for both")
    parser.add_argument(
        "--before", type=Path, help="a checkout of an older botkit, to measure in the same run"
    )
    args = parser.parse_args()
    counts = sorted({int(n) for n in args.processes.split(",")} | {1})
    uvloop = not args.no_uvloop
    configure_logging(level="warning")

    workdir = Path(tempfile.mkdtemp(prefix="botkit-bench-"))
    redis_server, redis_url = start_redis(workdir)
    redis = aioredis.from_url(redis_url)
    stand_in = StandIn()
    app = web.Application()
    app.router.add_post("/v1/messages", stand_in.send)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    provider_port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", provider_port).start()
    provider = f"http://127.0.0.1:{provider_port}"

    processes: list[subprocess.Popen[bytes]] = []
    try:
        bot_ports = [_free_port() for _ in range(max(counts))]
        metrics_port, base_port = _free_port(), _free_port()
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "VONAGE_API_URL": provider,
            "VONAGE_API_KEY": "k",
            "VONAGE_API_SECRET": "s",
            "BOTKIT_HOST": "127.0.0.1",
            "LOG_LEVEL": "warning",
            "BOTKIT_ENV": "production",
            "BOTKIT_UVLOOP": "true" if uvloop else "false",
        }
        bots = []
        for n, port in enumerate(bot_ports):
            extra = {"BOTKIT_METRICS_PORT": str(metrics_port)} if n == 0 else {}
            command = ["-m", "botkit", "serve", "bench.turns:CountingEchoBot", "--port", str(port)]
            bots.append(
                subprocess.Popen([sys.executable, *command], cwd=ROOT, env={**env, **extra})
            )
        processes += bots
        # The same server logging as production does by default: a JSON line per webhook and
        # per reply, every value masked (written to /dev/null).
        logging_port = _free_port()
        command = ["-m", "botkit", "serve", "bench.turns:CountingEchoBot", "--port"]
        logged = subprocess.Popen(
            [sys.executable, *command, str(logging_port)],
            cwd=ROOT,
            env={**env, "LOG_LEVEL": "info"},
            stdout=subprocess.DEVNULL,
        )
        processes.append(logged)
        logged_url = f"http://127.0.0.1:{logging_port}"
        loop_name = "uvloop" if uvloop else "asyncio"
        baseline = subprocess.Popen(
            [sys.executable, "-c", BASELINE, str(base_port), redis_url, provider, loop_name],
            cwd=ROOT,
        )
        processes.append(baseline)
        bot_urls = [f"http://127.0.0.1:{port}" for port in bot_ports]
        base_url = f"http://127.0.0.1:{base_port}"
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        contenders = [
            ("botkit", bot_urls[0], bots[0].pid),
            ("baseline", base_url, baseline.pid),
            ("logging", logged_url, logged.pid),
        ]
        if args.before is not None:
            # Another checkout of botkit (an older commit), served the same way.
            before_port = _free_port()
            earlier = subprocess.Popen(
                [sys.executable, *command, str(before_port)],
                cwd=args.before,
                env={**env, "PYTHONPATH": str(args.before)},
            )
            processes.append(earlier)
            contenders.append(("before", f"http://127.0.0.1:{before_port}", earlier.pid))
        await asyncio.gather(*(_wait_up(url) for url in [*bot_urls, *(c[1] for c in contenders)]))

        connector = aiohttp.TCPConnector(limit=200)
        async with aiohttp.ClientSession(connector=connector) as session:
            # Warm all up, then alternate.
            await closed_loop(session, bot_urls, stand_in, 500, args.users, "90")
            for index, (_, url, _) in enumerate(contenders):
                await closed_loop(session, [url], stand_in, 500, args.users, f"9{index + 1}")
            tps: dict[str, list[float]] = {name: [] for name, _, _ in contenders}
            cpu: dict[str, list[float]] = {name: [] for name, _, _ in contenders}
            rcpu: dict[str, list[float]] = {name: [] for name, _, _ in contenders}
            for r in range(args.rounds):
                for index, (name, url, pid) in enumerate(contenders):
                    async with Meter([pid], redis) as meter:
                        rate = await closed_loop(
                            session, [url], stand_in, args.turns, args.users, f"{r}{index}"
                        )
                    turns = args.turns // args.users * args.users
                    tps[name].append(rate)
                    cpu[name].append(meter.cpu / turns * 1e6)
                    rcpu[name].append(meter.redis_cpu / turns * 1e6)
                    print(
                        f"  round {r + 1} {name:8} {rate:6.0f} turns/s, "
                        f"{cpu[name][-1]:5.0f} us CPU per reply, "
                        f"Redis {rcpu[name][-1]:4.0f} us per turn",
                        file=sys.stderr,
                    )
            botkit_tps, base_tps = _median(tps["botkit"]), _median(tps["baseline"])
            botkit_cpu, base_cpu = _median(cpu["botkit"]), _median(cpu["baseline"])

            half = botkit_tps / 2
            lag_before = await lag_buckets(session, metrics_url)
            async with Meter([bots[0].pid], redis) as moderate:
                latencies = await open_loop(session, bot_urls[0], stand_in, half, args.seconds)
            lag_after = await lag_buckets(session, metrics_url)
            base_latencies = await open_loop(session, base_url, stand_in, half, args.seconds)
            max_lag = max_lag_bucket(lag_before, lag_after)

            scaled: dict[int, tuple[float, float]] = {}
            for count in counts:
                if count == 1:
                    continue
                async with Meter([b.pid for b in bots[:count]], redis) as meter:
                    rate = await closed_loop(
                        session, bot_urls[:count], stand_in, args.turns, args.users, f"8{count}"
                    )
                turns = args.turns // args.users * args.users
                scaled[count] = (rate, meter.redis_cpu / turns * 1e6)
                print(f"  {count} processes: {rate:.0f} turns/s", file=sys.stderr)

        trips, commands = await round_trips_per_turn(redis_url, 300)

        moderate_turns = int(half * args.seconds)
        report = [
            f"event loop: {loop_name} (botkit and baseline); medians of {args.rounds} rounds of "
            f"{args.turns} turns, {args.users} users",
            f"turns/s: botkit {botkit_tps:.0f}, baseline {base_tps:.0f}; "
            f"ratio botkit / baseline: {botkit_tps / base_tps:.2f}",
            f"CPU per reply: botkit {botkit_cpu:.0f} us, baseline {base_cpu:.0f} us; "
            f"ratio {botkit_cpu / base_cpu:.2f}",
            *(
                [
                    f"before (--before {args.before}): turns/s {_median(tps['before']):.0f}, "
                    f"ratio to baseline {_median(tps['before']) / base_tps:.2f}; CPU per reply "
                    f"{_median(cpu['before']):.0f} us, "
                    f"ratio {_median(cpu['before']) / base_cpu:.2f}"
                ]
                if args.before is not None
                else []
            ),
            f"production logging (LOG_LEVEL=info, JSON): CPU per reply "
            f"{_median(cpu['logging']):.0f} us, {_median(cpu['logging']) / botkit_cpu - 1:+.1%}",
            f"Redis CPU per turn at full load (batched): botkit {_median(rcpu['botkit']):.0f} us, "
            f"baseline {_median(rcpu['baseline']):.0f} us",
            f"at half of botkit's rate ({half:.0f}/s for {args.seconds:g} s): ack latency botkit "
            f"{_ms(latencies)}; baseline {_ms(base_latencies)}",
            f"  botkit max event-loop lag: <= {max_lag * 1000:g} ms (histogram bucket); "
            f"CPU per reply {moderate.cpu / moderate_turns * 1e6:.0f} us; "
            f"Redis CPU per turn {moderate.redis_cpu / moderate_turns * 1e6:.0f} us",
            f"Redis per turn (botkit, one at a time): {trips:.2f} round trips, "
            f"{commands:.2f} commands",
        ]
        report.append(
            f"1 process: {botkit_tps:.0f} turns/s, Redis {_median(rcpu['botkit']):.0f} us per turn"
        )
        for count, (rate, per_turn) in scaled.items():
            report.append(
                f"{count} processes: {rate:.0f} turns/s ({rate / count:.0f} per process), "
                f"Redis {per_turn:.0f} us per turn"
            )
        print("\n" + "\n".join(report))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
        await redis.aclose()
        redis_server.terminate()
        redis_server.wait(10)
        await runner.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
