"""``botkit serve`` in a real process, with its output read line by line as it comes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parent.parent


class Served:
    """``botkit serve TARGET`` on a free loopback port; ``async with`` starts it and waits until
    it logs that it serves, and stops it (SIGTERM) on the way out."""

    def __init__(
        self,
        target: str,
        env: Mapping[str, str] | None = None,
        *,
        pythonpath: Path | None = None,
        preexec_fn: Callable[[], Any] | None = None,
        args: Sequence[str] = (),
        port: int | None = None,
    ) -> None:
        self.target = target
        self.args = tuple(args)
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        paths = [str(ROOT)] + ([str(pythonpath)] if pythonpath else [])
        self.env = {
            **os.environ,
            "PORT": str(self.port),
            "BOTKIT_HOST": "127.0.0.1",
            "PYTHONPATH": os.pathsep.join(paths),
            "PYTHONUNBUFFERED": "1",
            # "serving", the line wait_up waits for, is logged at info.
            "LOG_LEVEL": "info",
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
            *self.args,
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
        """Until the process logs that it serves on its port (it logs that once the port
        accepts connections); AssertionError if it exits first."""
        url = f"127.0.0.1:{self.port}"
        await self.wait_for(lambda line: "serving" in line and url in line, timeout, "serving")

    async def wait_answering(self, path: str = "/healthz", timeout: float = 20.0) -> None:
        """Until ``GET path`` is answered 200 (a refused connection or a 503 at the connection
        cap is asked again at once: each try is a round trip to the server)."""
        async with asyncio.timeout(timeout), aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"{self.url}{path}") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass

    async def wait_for_line(self, needle: str, timeout: float = 20.0) -> str:
        """The first line of the output containing ``needle``, once it is written."""
        return await self.wait_for(lambda line: needle in line, timeout, repr(needle))

    async def wait_for(
        self, wanted: Callable[[str], bool], timeout: float = 20.0, what: str = "a line"
    ) -> str:
        """The first line of the output for which ``wanted`` is true, once it is written."""
        (line,) = await self._until(
            lambda: [line for line in self.lines if wanted(line)][:1], timeout, what
        )
        return line

    async def wait_for_count(self, needle: str, count: int, timeout: float = 20.0) -> list[str]:
        """Once ``count`` lines of the output contain ``needle``: those lines."""
        return await self._until(
            lambda: (
                found
                if len(found := [line for line in self.lines if needle in line]) >= count
                else []
            ),
            timeout,
            f"{count} lines with {needle!r}",
        )

    async def _until(self, found: Callable[[], list[str]], timeout: float, what: str) -> list[str]:
        """``found()`` once it is not empty, checked each time the output grows."""
        async with asyncio.timeout(timeout):
            while True:
                lines = found()
                if lines:
                    return lines
                assert self.process is not None
                if self.process.returncode is not None and self._reader and self._reader.done():
                    raise AssertionError(f"{what} never logged:\n{self.output}")
                self._grew.clear()
                await self._grew.wait()

    def log_lines(self) -> list[dict[str, Any]]:
        """The output's JSON log lines (``LOG_FORMAT=json``), parsed."""
        parsed = []
        for line in self.lines:
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                parsed.append(value)
        return parsed

    async def stop(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # it died, not yet reaped
                self.process.terminate()
            try:
                async with asyncio.timeout(15):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._reader is not None:
            await self._reader
