"""Shared fixtures: a stand-in for the Vonage Messages API on loopback, settings, Redis."""

from __future__ import annotations

import asyncio
import base64
import os
import random
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

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


# --- Redis Cluster -------------------------------------------------------------------------------


@dataclass
class RedisClusterNodes:
    """A Redis Cluster of the test run's own: ``primaries`` masters, each with ``replicas``."""

    ports: list[int]
    processes: dict[int, subprocess.Popen[bytes]]
    workdir: Path

    @property
    def url(self) -> str:
        """Any one node's URL: botkit finds the rest."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def kill(self, port: int) -> None:
        """``kill -9`` one node."""
        process = self.processes.pop(port)
        process.kill()
        process.wait(10)

    def stop(self) -> None:
        for process in self.processes.values():
            process.kill()
        for process in self.processes.values():
            process.wait(10)
        self.processes.clear()


def cluster_ports(count: int) -> list[int]:
    """Free ports whose cluster bus ports (10,000 higher) are free too."""
    ports: list[int] = []
    for port in random.sample(range(20000, 45000), 400):
        if all(_is_free(p) for p in (port, port + 10000)):
            ports.append(port)
            if len(ports) == count:
                return ports
    pytest.fail("no free ports for a cluster")


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def start_cluster(
    workdir: Path, *, primaries: int = 3, replicas: int = 0, node_timeout_ms: int = 15000
) -> RedisClusterNodes:
    """Start a Redis Cluster on free ports and return once every slot is served and every
    node agrees on it."""
    ports = cluster_ports(primaries * (1 + replicas))
    nodes = RedisClusterNodes(ports, {}, workdir)
    try:
        for port in ports:
            home = workdir / str(port)
            home.mkdir()
            process = launch_redis(
                "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(home), "--protected-mode", "no", "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf", "--cluster-node-timeout",
                str(node_timeout_ms),
            )  # fmt: skip
            if process is None:
                pytest.fail(f"a cluster node did not start on port {port}")
            nodes.processes[port] = process
        subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
             "--cluster-replicas", str(replicas), "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_cluster_ok(ports)
    except BaseException:
        nodes.stop()
        raise
    return nodes


def wait_cluster_ok(ports: list[int], timeout: float = 60.0, known: int | None = None) -> None:
    """Return once each node of ``ports`` says the cluster is ok, knows ``known`` nodes (all of
    ``ports`` unless told) and maps every slot to the same primaries as the others: a node may
    still say CLUSTERDOWN for a moment after ``redis-cli --cluster create`` returns, and
    redis-py's cluster client answers that by closing every connection of the client."""
    count = len(ports) if known is None else known
    nodes = [SyncRedis(host="127.0.0.1", port=port, decode_responses=True) for port in ports]
    said = ""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                states = [node.cluster("INFO") for node in nodes]
                maps = {_slot_map(node) for node in nodes}
            except RedisError as exc:
                said = str(exc)
            else:
                said = str(states)
                if (
                    all(s.get("cluster_state") == "ok" for s in states)
                    and all(int(s.get("cluster_known_nodes", 0)) == count for s in states)
                    and len(maps) == 1
                    and None not in maps
                ):
                    return
            time.sleep(0.01)
    finally:
        for node in nodes:
            node.close()
    pytest.fail(f"the cluster on {ports} is not ok on every node: {said}")


def _slot_map(node: SyncRedis) -> tuple[tuple[int, int, int], ...] | None:
    """(first slot, last slot, primary port) of every range; None unless all slots are served."""
    ranges = sorted((int(r[0]), int(r[1]), int(r[2][1])) for r in node.cluster("SLOTS"))
    covered = sum(last - first + 1 for first, last, _ in ranges)
    return tuple(ranges) if covered == 16384 else None


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    """A Redis Cluster of three primaries for the whole run (tests keep to their own prefix,
    and leave every slot where it was)."""
    nodes = start_cluster(tmp_path_factory.mktemp("cluster"))
    yield nodes
    nodes.stop()
