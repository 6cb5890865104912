"""What users see when something fails: a provider outage, a Redis freeze, a SIGTERM under load.

Two ``botkit serve tests.ledger:LedgerBot`` processes share a redis-server of the bench's own
and send to :class:`~botkit.testing.ProviderStandIn` in this process. The ledger bot answers
each user's n-th message ``<n>:<tag>``, so every reply lost, doubled or out of order shows.

- ``provider``: the stand-in answers 503 to every send for ``--minutes`` while users keep
  writing (one message per user every few seconds); then it comes back. Counted: replies lost,
  doubled, out of order; how long after the outage the last one arrived.
- ``redis-freeze``: redis-server is stopped (SIGSTOP) for ``--seconds`` just as turns are about
  to commit, with ``BOTKIT_LEASE_SECONDS=30`` (the default); then it goes on (SIGCONT). Counted:
  how long after Redis came back each user's reply arrived.
- ``sigterm``: users write to both processes; one gets SIGTERM half way. Counted: replies lost,
  doubled, out of order; how long each conversation it handed over waited for the other.

Run: ``.venv/bin/python bench/outage.py provider --minutes 10`` (``redis-freeze --seconds 6``,
``sigterm``). With botkit's default longest pause between attempts (15 minutes), replies held
by a long outage may wait that long after the provider is back; ``--retry-max 60`` shortens it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from botkit.testing import ProviderStandIn

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Redis:
    """A redis-server of the bench's own, on a free port, in a temporary folder."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed")
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self) -> None:
        self.process.send_signal(signal.SIGCONT)
        self.process.kill()
        self.process.wait()


class Server:
    """One ``botkit serve`` process, logging JSON to a file."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"server-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "botkit", "serve", "tests.ledger:LedgerBot",
             "--port", str(self.port)],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    async def wait_up(self, session: aiohttp.ClientSession) -> None:
        for _ in range(600):
            try:
                async with session.get(self.url + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
        raise SystemExit(f"{self.url} did not come up: {self.log_path.read_text()[-2000:]}")

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for raw in self.log_path.read_text().splitlines():
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if line.get("event") == name:
                found.append(line)
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()


def webhook(user: str, text: str) -> dict[str, Any]:
    return {
        "channel": "whatsapp",
        "message_uuid": str(uuid.uuid4()),
        "to": "447700900000",
        "from": user,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "message_type": "text",
        "text": text,
    }


async def deliver(
    session: aiohttp.ClientSession, servers: list[Server], body: dict[str, Any]
) -> None:
    """Post ``body`` as the provider would: to the next server until one answers 200."""
    for attempt in range(600):
        server = servers[attempt % len(servers)]
        try:
            async with session.post(server.url + "/webhooks/inbound", json=body) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("a webhook was never accepted")


def seconds_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def tally(provider: ProviderStandIn, sent: dict[str, int]) -> dict[str, int]:
    """Lost, doubled and out-of-order replies, against the messages each user had accepted."""
    by_user: dict[str, list[int]] = {}
    for reply in provider.sent:
        number = int(reply.text.split(":", 1)[0])
        by_user.setdefault(reply.to, []).append(number)
    lost = doubled = reordered = 0
    for user, count in sent.items():
        got = by_user.get(user, [])
        lost += len(set(range(1, count + 1)) - set(got))
        doubled += len(got) - len(set(got))
        reordered += sum(1 for a, b in itertools.pairwise(got) if b < a)
    return {"accepted": sum(sent.values()), "lost": lost, "doubled": doubled,
            "out_of_order": reordered}  # fmt: skip


async def wait_for(provider: ProviderStandIn, count: int, timeout: float) -> float:
    """Wait until ``count`` replies arrived (or ``timeout``); return when the last did."""
    with contextlib.suppress(TimeoutError):
        await provider.wait_for(count, timeout=timeout)
    return time.monotonic()


async def provider_outage(args: argparse.Namespace, env: dict[str, str], workdir: Path) -> None:
    users = [f"4477005{n:05d}" for n in range(args.users)]
    sent = dict.fromkeys(users, 0)
    async with ProviderStandIn() as provider, aiohttp.ClientSession() as session:
        env = {**env, "VONAGE_API_URL": provider.url}
        servers = [Server(env, workdir) for _ in range(2)]
        try:
            for server in servers:
                await server.wait_up(session)
            provider.go_down(503)
            began = time.monotonic()
            outage = args.minutes * 60
            while time.monotonic() - began < outage:
                for index, user in enumerate(users):
                    sent[user] += 1
                    await deliver(session, servers[index % 2 :] + servers[: index % 2],
                                  webhook(user, f"m{sent[user]}"))  # fmt: skip
                await asyncio.sleep(min(args.every, max(0.0, outage - (time.monotonic() - began))))
            failed_sends = len(provider.failed)
            provider.come_back()
            back = time.monotonic()
            last = await wait_for(provider, sum(sent.values()), timeout=args.retry_max * 4 + 120)
            await asyncio.sleep(3)  # a quiet spell: a late double would show
            result = tally(provider, sent)
            result.update(
                outage_seconds=round(outage),
                failed_sends_during_outage=failed_sends,
                seconds_to_deliver_after_outage=round(last - back, 1),
            )
            print(json.dumps(result))
        finally:
            for server in servers:
                server.stop()


async def redis_freeze(args: argparse.Namespace, env: dict[str, str], workdir: Path) -> None:
    redis = Redis(workdir)
    users = [f"4477006{n:05d}" for n in range(args.users)]
    try:
        async with ProviderStandIn() as provider, aiohttp.ClientSession() as session:
            env = {**env, "VONAGE_API_URL": provider.url, "REDIS_URL": redis.url,
                   "BOTKIT_LEASE_SECONDS": "30"}  # fmt: skip
            servers = [Server(env, workdir) for _ in range(2)]
            try:
                for server in servers:
                    await server.wait_up(session)
                for index, user in enumerate(users):
                    await deliver(session, [servers[index % 2]], webhook(user, "sleep 0.2 a"))
                redis.process.send_signal(signal.SIGSTOP)
                await asyncio.sleep(args.seconds)
                redis.process.send_signal(signal.SIGCONT)
                back = time.monotonic()
                arrived: dict[str, float] = {}

                def note() -> None:
                    for reply in provider.sent:
                        arrived.setdefault(reply.to, time.monotonic() - back)

                while len(arrived) < len(users) and time.monotonic() - back < 90:
                    await provider.wait_for(len(provider.sent) + 1, timeout=90)
                    note()
                delays = sorted(arrived.values())
                print(json.dumps({
                    "freeze_seconds": args.seconds, "users": len(users),
                    "answered": len(arrived),
                    "max_seconds_after_redis_came_back": round(delays[-1], 1) if delays else None,
                    "median_seconds_after": round(delays[len(delays) // 2], 1) if delays else None,
                    "doubled": len(provider.sent) - len({r.to for r in provider.sent}),
                }))  # fmt: skip
            finally:
                for server in servers:
                    server.stop()
    finally:
        redis.stop()


async def sigterm(args: argparse.Namespace, env: dict[str, str], workdir: Path) -> None:
    redis = Redis(workdir)
    users = [f"4477007{n:05d}" for n in range(args.users)]
    sent = dict.fromkeys(users, 0)
    try:
        async with ProviderStandIn() as provider, aiohttp.ClientSession() as session:
            env = {**env, "VONAGE_API_URL": provider.url, "REDIS_URL": redis.url,
                   "BOTKIT_LEASE_SECONDS": "30"}  # fmt: skip
            leaving, staying = servers = [Server(env, workdir) for _ in range(2)]
            try:
                for server in servers:
                    await server.wait_up(session)
                half_way = asyncio.Event()

                async def one_user(index: int, user: str) -> None:
                    for turn in range(1, args.per_user + 1):
                        sent[user] += 1
                        order = servers if (index + turn) % 2 == 0 else [staying, leaving]
                        await deliver(session, order, webhook(user, f"sleep 0.1 m{turn}"))
                        if turn == args.per_user // 2:
                            half_way.set()

                load = asyncio.gather(*(one_user(i, u) for i, u in enumerate(users)))
                await half_way.wait()
                leaving.process.send_signal(signal.SIGTERM)
                await load
                code = await asyncio.to_thread(leaving.process.wait, 60)
                await wait_for(provider, sum(sent.values()), timeout=120)
                await asyncio.sleep(3)
                handed = {
                    line["key"].rsplit(":", 1)[1]: line["timestamp"]
                    for line in leaving.events("handed over: another process takes it at once")
                }
                gaps = []
                for line in staying.events("reply sent"):  # the next reply, handler included
                    at = handed.get(line.get("to", ""))
                    if at is not None and line["timestamp"] >= at:
                        gaps.append(seconds_between(at, line["timestamp"]))
                        del handed[line["to"]]
                result = tally(provider, sent)
                result.update(
                    exit_code=code, handed_over=len(gaps) + len(handed),
                    takeover_max_seconds=round(max(gaps), 2) if gaps else None,
                    takeover_median_seconds=round(statistics.median(gaps), 2) if gaps else None,
                )  # fmt: skip
                print(json.dumps(result))
            finally:
                for server in servers:
                    server.stop()
    finally:
        redis.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=["provider", "redis-freeze", "sigterm"])
    parser.add_argument("--minutes", type=float, default=10.0, help="provider outage length")
    parser.add_argument("--seconds", type=float, default=6.0, help="Redis freeze length")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--per-user", type=int, default=10, help="messages per user (sigterm)")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between messages")
    parser.add_argument("--retry-max", type=float, default=900.0,
                        help="BOTKIT_SEND_RETRY_MAX_SECONDS for the provider outage "
                             "(default: botkit's own default)")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="botkit-outage-") as folder:
        workdir = Path(folder)
        redis = Redis(workdir) if args.scenario == "provider" else None
        env = {
            "BOTKIT_ENV": "test",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "info",
            "BOTKIT_HOST": "127.0.0.1",
            "BOTKIT_REDIS_PREFIX": "outage",
            "VONAGE_API_KEY": "key",
            "VONAGE_API_SECRET": "secret",
            "BOTKIT_SEND_RETRY_MAX_SECONDS": str(args.retry_max),
        }
        if redis is not None:
            env["REDIS_URL"] = redis.url
        try:
            if args.scenario == "provider":
                await provider_outage(args, env, workdir)
            elif args.scenario == "redis-freeze":
                await redis_freeze(args, env, workdir)
            else:
                await sigterm(args, env, workdir)
        finally:
            if redis is not None:
                redis.stop()


if __name__ == "__main__":
    asyncio.run(main())
