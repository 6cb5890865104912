"""End-to-end turns per second: botkit's echo bot against a bare aiohttp + Redis handler.

A turn is: a WhatsApp text webhook arrives -> the conversation's state advances in Redis -> a
reply reaches the stand-in for the Messages API, where it is counted (not at the webhook).

- botkit: ``botkit serve bench.turns:CountingEchoBot`` on Redis, in its own process;
- baseline: a hand-written aiohttp app in its own process that does the least the same work
  needs: GET the state, SET the state, POST the reply, then answer the webhook.

Both run against one fresh redis-server of the bench's own, alternating rounds in one run; the
load generator and the stand-in share this process. Then, for botkit: Redis round trips and
commands per turn, webhook acknowledgement latency p50/p99 at half the measured maximum rate,
and Redis memory per idle conversation with 100,000 conversations stored.

Run: ``.venv/bin/python bench/turns.py [--rounds 5] [--turns 3000] [--conversations 100000]``
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
    session: aiohttp.ClientSession, url: str, stand_in: StandIn, turns: int, users: int, tag: str
) -> float:
    """Send ``turns`` webhooks, ``users`` conversations in parallel (each user one at a time);
    return turns per second, counted when the last reply reached the stand-in."""
    stand_in.expect(turns)
    per_user = turns // users
    started = time.perf_counter()

    async def user(index: int) -> None:
        who = f"44{tag}{index:07d}"
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
    await asyncio.wait_for(stand_in.done.wait(), 60)
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
    await asyncio.wait_for(stand_in.done.wait(), 60)
    return latencies


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


async def memory_per_conversation(redis_url: str, conversations: int) -> tuple[float, float]:
    """Store ``conversations`` idle conversations through the store's own operations; return
    bytes each while their dedup entries live, and once the dedup window is over."""
    from botkit.conversation import Conversation
    from botkit.store.base import Commit
    from botkit.store.redis import RedisStore

    client = aioredis.from_url(redis_url)
    await client.flushdb()
    before = (await client.info("memory"))["used_memory"]
    store = RedisStore.from_url(redis_url, prefix="mem", dedup_seconds=5.0)
    bot = CountingEchoBot()
    data = bot.dump_data(Turns(n=1))
    semaphore = asyncio.Semaphore(64)
    done = 0

    async def one(n: int) -> None:
        nonlocal done
        async with semaphore:
            key = f"whatsapp:447700900000:44{n:010d}"
            accepted = await store.accept(key, hello(f"44{n:010d}"), owner="bench")
            assert accepted.claim is not None
            conversation = Conversation(
                key, state="start", data=data, version=1, revision=1, last_inbound_at=time.time()
            )
            await store.commit(accepted.claim.lease, Commit(conversation))
            await store.ack(accepted.claim.lease, 0)
            done += 1
            if done % 10000 == 0:
                print(f"  stored {done:,} conversations", file=sys.stderr)

    await asyncio.gather(*(one(n) for n in range(conversations)))
    with_dedup = ((await client.info("memory"))["used_memory"] - before) / conversations
    await asyncio.sleep(6)
    # Expired keys are reclaimed lazily; touch them all the way Redis would over time.
    async for key in client.scan_iter(match="mem:*", count=5000):
        await client.exists(key)
    async for key in client.scan_iter(match="mem:due:*", count=5000):  # the due index
        await client.delete(key)
    await client.delete("{mem:due}:hints")
    idle = ((await client.info("memory"))["used_memory"] - before) / conversations
    await store.close()
    await client.aclose()
    return with_dedup, idle


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--turns", type=int, default=3000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--conversations", type=int, default=100_000)
    args = parser.parse_args()
    configure_logging(level="warning")

    workdir = Path(tempfile.mkdtemp(prefix="botkit-bench-"))
    redis_port = _free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    binary = shutil.which("redis-server") or "redis-server"
    redis_server = subprocess.Popen(
        [
            binary,
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
    )
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
        bot_port, base_port = _free_port(), _free_port()
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "VONAGE_API_URL": provider,
            "VONAGE_API_KEY": "k",
            "VONAGE_API_SECRET": "s",
            "BOTKIT_HOST": "127.0.0.1",
            "LOG_LEVEL": "warning",
            "BOTKIT_ENV": "production",
        }
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "botkit",
                    "serve",
                    "bench.turns:CountingEchoBot",
                    "--port",
                    str(bot_port),
                ],
                cwd=ROOT,
                env=env,
            )
        )
        processes.append(
            subprocess.Popen(
                [sys.executable, "-c", BASELINE, str(base_port), redis_url, provider],
                cwd=ROOT,
            )
        )
        botkit_url, base_url = f"http://127.0.0.1:{bot_port}", f"http://127.0.0.1:{base_port}"
        await asyncio.gather(_wait_up(botkit_url), _wait_up(base_url))

        connector = aiohttp.TCPConnector(limit=200)
        async with aiohttp.ClientSession(connector=connector) as session:
            # Warm both up, then alternate.
            await closed_loop(session, botkit_url, stand_in, 500, args.users, "90")
            await closed_loop(session, base_url, stand_in, 500, args.users, "91")
            results: dict[str, list[float]] = {"botkit": [], "baseline": []}
            for r in range(args.rounds):
                for name, url in (("botkit", botkit_url), ("baseline", base_url)):
                    tps = await closed_loop(
                        session, url, stand_in, args.turns, args.users, f"{r}{len(name)}"
                    )
                    results[name].append(tps)
                    print(f"  round {r + 1} {name:8} {tps:8.0f} turns/s", file=sys.stderr)
            botkit_tps = statistics.median(results["botkit"])
            base_tps = statistics.median(results["baseline"])

            half = botkit_tps / 2
            latencies = await open_loop(session, botkit_url, stand_in, half, 10.0)
            base_latencies = await open_loop(session, base_url, stand_in, half, 10.0)

        trips, commands = await round_trips_per_turn(redis_url, 300)
        with_dedup, idle = await memory_per_conversation(redis_url, args.conversations)

        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        b50, b99 = percentile(base_latencies, 0.5), percentile(base_latencies, 0.99)
        report = [
            f"turns/s, median of {args.rounds} rounds: botkit {botkit_tps:.0f}, "
            f"baseline {base_tps:.0f}",
            f"ratio botkit / baseline: {botkit_tps / base_tps:.2f}",
            f"Redis per turn (botkit): {trips:.2f} round trips, {commands:.2f} commands",
            f"webhook ack latency at {half:.0f}/s: botkit p50 {p50:.2f} ms, p99 {p99:.2f} ms; "
            f"baseline p50 {b50:.2f} ms, p99 {b99:.2f} ms",
            f"Redis memory per conversation ({args.conversations:,} stored): "
            f"{with_dedup:.0f} B while its dedup entries live, {idle:.0f} B idle",
        ]
        print("\n" + "\n".join(report))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)
        redis_server.terminate()
        redis_server.wait(10)
        await runner.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
