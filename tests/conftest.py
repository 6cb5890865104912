"""Shared fixtures: a stand-in for the Vonage Messages API on loopback, settings, Redis."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from botkit.devserver import DevServer
from botkit.settings import Settings, load_settings
from botkit.testing import ProviderStandIn


@pytest.fixture
async def provider() -> AsyncIterator[ProviderStandIn]:
    """A real HTTP server on loopback playing the Messages API send endpoint."""
    async with ProviderStandIn() as stand_in:
        yield stand_in


def dev_server(target: str = "bots.pizza:PizzaBot", **env: str) -> DevServer:
    """``botkit dev`` for ``target`` on free ports with short delivery delays, not started;
    ``env`` adds settings (``REDIS_URL``...)."""
    settings = load_settings({"BOTKIT_ENV": "development", "LOG_LEVEL": "warning", **env})
    return DevServer(
        target, settings, port=_free_port(), sandbox_port=_free_port(), delays=(0.05, 0.15, 0.4)
    )


@pytest.fixture
async def dev() -> AsyncIterator[DevServer]:
    """``botkit dev`` for the pizza bot on free ports, as a person would run it."""
    server = dev_server()
    await server.start(watch=False)
    yield server
    await server.stop()


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


@pytest.fixture
def settings_for() -> Any:
    """Build settings from a clean environment plus the given variables."""

    def build(**env: str) -> Settings:
        defaults = {"BOTKIT_ENV": "test", "VONAGE_API_KEY": "key", "VONAGE_API_SECRET": "secret"}
        return load_settings({**defaults, **env})

    return build


# --- Redis ---------------------------------------------------------------------------------------


@dataclass
class RedisServer:
    """A redis-server of the test run's own (or the one ``REDIS_URL`` names)."""

    url: str
    process: subprocess.Popen[bytes] | None
    port: int | None
    workdir: Path | None
    durable: bool = False

    def stop(self) -> None:
        """Stop the server (to test an outage); :meth:`start` brings it back on the same port."""
        assert self.process is not None, "cannot stop a REDIS_URL server"
        self.process.terminate()
        self.process.wait(10)

    def start(self) -> None:
        assert self.port is not None
        assert self.workdir is not None
        self.process = _spawn_redis(self.port, self.workdir, durable=self.durable)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _spawn_redis(port: int, workdir: Path, *, durable: bool = False) -> subprocess.Popen[bytes]:
    """Start redis-server on ``port``; ``durable`` keeps every write in an fsynced AOF, so a
    restart loses nothing (as a managed Redis would)."""
    persistence = (
        ["--appendonly", "yes", "--appendfsync", "always"] if durable else ["--appendonly", "no"]
    )
    process = launch_redis(
        "--port", str(port), "--bind", "127.0.0.1", "--save", "", *persistence,
        "--dir", str(workdir), "--protected-mode", "no",
    )  # fmt: skip
    if process is None:
        pytest.fail(f"redis-server did not start on port {port}")
    return process


def launch_redis(*args: str, timeout: float = 10.0) -> subprocess.Popen[bytes] | None:
    """Start ``redis-server`` with ``args``; return it once it says it accepts connections, or
    None if it exited first (its output was then its reason). The rest of its output is read
    and dropped, so it never blocks on a full pipe."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run .ci/run, or apt-get install redis-server")
    process = subprocess.Popen([binary, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    said: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode(errors="replace")
            if len(said) < 100:
                said.append(line)
            if "Ready to accept connections" in line:
                ready.set()
        ready.set()  # it exited

    threading.Thread(target=read, name="redis-server output", daemon=True).start()
    if not ready.wait(timeout):
        process.kill()
        pytest.fail(f"redis-server was not ready within {timeout} s:\n{''.join(said)}")
    if process.poll() is not None:
        return None
    return process


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A Redis for the whole run: ``REDIS_URL`` when given, else a redis-server of our own on a
    free port (never the machine's shared one)."""
    if url := os.environ.get("REDIS_URL"):
        yield RedisServer(url, None, None, None)
        return
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    server = RedisServer(f"redis://127.0.0.1:{port}/0", _spawn_redis(port, workdir), port, workdir)
    yield server
    if server.process is not None:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A durable redis-server this test alone stops and starts (nothing is lost across)."""
    port = _free_port()
    server = RedisServer(
        f"redis://127.0.0.1:{port}/0",
        _spawn_redis(port, tmp_path, durable=True),
        port,
        tmp_path,
        durable=True,
    )
    yield server
    if server.process is not None and server.process.poll() is None:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix of this test's own, so tests sharing one Redis never see each other's keys."""
    return f"t{uuid.uuid4().hex[:10]}"


async def redis_time(client: Redis) -> float:
    """The Redis server's own clock: the one its key expiries and botkit's scripts read."""
    seconds, microseconds = await client.time()
    return float(seconds) + microseconds / 1_000_000


async def until_redis_time(client: Redis, seconds: float) -> None:
    """Return once the Redis server's clock has moved ``seconds`` on from now (its clock
    cannot be moved, so time really passes: the wait ends on what the server says)."""
    target = await redis_time(client) + seconds
    remaining = seconds
    while remaining > 0:
        await asyncio.sleep(remaining)
        remaining = target - await redis_time(client)


@pytest.fixture(params=["memory", "redis"])
def chat_store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a ``bot_chat`` test on each store: the memory store, then Redis (``REDIS_URL`` set
    to the session's server, as an author's CI would)."""
    if request.param == "memory":
        monkeypatch.delenv("REDIS_URL", raising=False)
    else:
        monkeypatch.setenv("REDIS_URL", request.getfixturevalue("redis_server").url)
    return str(request.param)
