"""A redis-server of a bench's own: a free loopback port, a temporary folder, nothing saved."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def own_redis(name: str) -> AsyncIterator[tuple[str, Any, Path]]:
    """Its URL, a client of it (answers decoded) and the temporary folder, removed after."""
    workdir = Path(tempfile.mkdtemp(prefix=f"botkit-bench-{name}-"))
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
         "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = aioredis.from_url(url, decode_responses=True)
    try:
        for _ in range(100):
            try:
                await client.ping()
                break
            except (OSError, RedisConnectionError):
                await asyncio.sleep(0.05)
        yield url, client, workdir
    finally:
        await client.aclose()
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
