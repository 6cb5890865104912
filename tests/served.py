"""``botkit serve`` in a real process, with its output read line by line as it comes."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parent.parent


class Served:
    """``botkit serve TARGET`` on a free loopback port; ``async with`` starts it and waits until
    ``/healthz`` answers, and stops it (SIGTERM) on the way out."""

    def __init__(
        self,
        target: str,
        env: Mapping[str, str] | None = None,
        *,
        pythonpath: Path | None = None,
        preexec_fn: Callable[[], Any] | None = None,
    ) -> None:
        self.target = target
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        paths = [str(ROOT)] + ([str(pythonpath)] if pythonpath else [])
        self.env = {
            **os.environ,
            "PORT": str(self.port),
            "BOTKIT_HOST": "127.0.0.1",
            "PYTHONPATH": os.pathsep.join(paths),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.preexec_fn = preexec_fn
        self.lines: list[str] = []
        self._grew = asyncio.Event()
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def __aenter__(self) -> Served:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "botkit",
            "serve",
            self.target,
            cwd=ROOT,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=self.preexec_fn,
            limit=1 << 20,
        )
        self._reader = asyncio.create_task(self._read())
        try:
            await self.wait_up()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _read(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            self._grew.set()
        self._grew.set()

    async def wait_up(self, timeout: float = 20.0) -> None:
        """Until ``/healthz`` answers 200 (or the process exits: AssertionError)."""
        async with asyncio.timeout(timeout), aiohttp.ClientSession() as session:
            while True:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise AssertionError(f"botkit serve exited:\n{self.output}")
                try:
                    async with session.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)

    async def wait_for_line(self, needle: str, timeout: float = 20.0) -> str:
        """The first line of the output containing ``needle``, once it is written."""
        async with asyncio.timeout(timeout):
            seen = 0
            while True:
                for line in self.lines[seen:]:
                    if needle in line:
                        return line
                seen = len(self.lines)
                assert self.process is not None
                if self.process.returncode is not None and self._reader and self._reader.done():
                    raise AssertionError(f"{needle!r} never logged:\n{self.output}")
                self._grew.clear()
                await self._grew.wait()

    async def stop(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            self.process.terminate()
            try:
                async with asyncio.timeout(15):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._reader is not None:
            await self._reader
