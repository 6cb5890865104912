"""The listening socket: how many connections it holds, and how long a client may take.

aiohttp waits for a client for as long as the client likes, and accepts until the process runs
out of file descriptors, after which the provider is locked out with everyone else. botkit
puts a :class:`ConnectionGuard` around every connection:

- **A cap on concurrent connections** (``BOTKIT_MAX_CONNECTIONS``, never more than the
  open-files limit minus :data:`RESERVED_FILES`, kept for Redis, the provider and logs). A
  connection over the cap is answered ``503`` with a JSON reason and a ``Retry-After`` at once,
  and closed; the refusals are logged at most once per :data:`REFUSAL_LOG_SECONDS`.
- **A deadline for the request head** (``BOTKIT_HEADER_TIMEOUT``): a client that has not sent
  its complete request line and headers by then is answered ``408`` and closed (a slow-loris
  connection holds nothing for long). Between requests on a kept-alive connection, aiohttp's
  keep-alive timeout, set to the same value, does the same.

The body has its own deadline (``BOTKIT_BODY_TIMEOUT``), enforced where the webhook reads it
(:mod:`botkit.server`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import signal
import time
from collections.abc import Awaitable, Callable
from typing import cast

from aiohttp import web

from botkit.eventloop import LoopLag, freeze_start_up, new_event_loop
from botkit.log import get_logger
from botkit.metrics import CONNECTIONS_OPEN, CONNECTIONS_REFUSED, CONNECTIONS_TIMED_OUT
from botkit.settings import Settings

log = get_logger("botkit.connections")

BACKLOG = 128
"""Connections the kernel queues for accepting; asyncio accepts up to this many at once,
before any of them is counted, so they are kept out of the cap."""
RESERVED_FILES = 300
"""File descriptors kept free of admitted connections: a burst of accepts (:data:`BACKLOG`),
refused connections lingering (:data:`LINGERING_REFUSALS`), Redis's pool, the provider's,
logs."""
REFUSAL_LOG_SECONDS = 10.0
LINGERING_REFUSALS = 50
"""Refused connections kept open for up to half a second so that the client reads its 503;
beyond this many at once they are closed at once (out of :data:`RESERVED_FILES`)."""
_HEAD_END = b"\r\n\r\n"


def _answer(status: str, error: str, message: str, *extra: str) -> bytes:
    body = json.dumps({"error": error, "message": message}).encode()
    head = [
        f"HTTP/1.1 {status}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *extra,
        "Connection: close",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def connection_cap(wanted: int) -> int:
    """``wanted``, lowered to what the open-files limit leaves for client connections."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, max(soft - RESERVED_FILES, soft // 4)))


class ConnectionGuard:
    """Counts the open connections, refuses those over ``max_connections`` and closes those
    whose request head is not complete after ``header_timeout`` seconds."""

    def __init__(self, *, max_connections: int, header_timeout: float) -> None:
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self.open = 0
        """Connections held now."""
        self.refused = 0
        """Connections refused at the cap since start."""
        self.lingering = 0
        """Refused connections waiting for their request before they are closed."""
        self.timed_out = 0
        """Connections closed because their request head came too slowly, since start."""
        self._busy = _answer(
            "503 Service Unavailable",
            "busy",
            f"this server holds its maximum of {max_connections} connections "
            "(BOTKIT_MAX_CONNECTIONS); retry later",
            "Retry-After: 1",
        )
        self._slow = _answer(
            "408 Request Timeout",
            "request_timeout",
            f"the request head did not arrive within {header_timeout:g} s (BOTKIT_HEADER_TIMEOUT)",
        )
        self._refusals_logged = 0
        self._refusal_logged_at = float("-inf")

    def wrap(self, factory: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """A protocol factory putting each of ``factory``'s connections under this guard."""
        return lambda: _Guarded(self, factory())

    def _note_refusal(self) -> None:
        self.refused += 1
        CONNECTIONS_REFUSED.inc()
        now = time.monotonic()
        if now - self._refusal_logged_at >= REFUSAL_LOG_SECONDS:
            log.warning(
                "connections refused: the server is at its cap (BOTKIT_MAX_CONNECTIONS)",
                max_connections=self.max_connections,
                refused=self.refused - self._refusals_logged,
            )
            self._refusal_logged_at = now
            self._refusals_logged = self.refused


class _Guarded(asyncio.Protocol):
    """One connection: passes everything to aiohttp's handler once admitted."""

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol) -> None:
        self.guard = guard
        self.inner = inner
        self.transport: asyncio.Transport | None = None
        self.admitted = False
        self._deadline: asyncio.TimerHandle | None = None
        self._tail = b""
        self._lingers = False

    def connection_made(self, base: asyncio.BaseTransport) -> None:
        # A stream transport, though uvloop's does not subclass asyncio.Transport.
        self.transport = transport = cast(asyncio.Transport, base)
        loop = asyncio.get_running_loop()
        if self.guard.open >= self.guard.max_connections:
            self.guard._note_refusal()
            transport.write(self.guard._busy)
            if self.guard.lingering < LINGERING_REFUSALS:
                # Closed once the client's request is in (closing with it unread resets the
                # connection, and the answer is lost with it), or soon if it never comes.
                self.guard.lingering += 1
                self._lingers = True
                self._deadline = loop.call_later(0.5, transport.close)
            else:
                # A flood: file descriptors come first, whatever the reset costs the client.
                transport.close()
            return
        self.admitted = True
        self.guard.open += 1
        CONNECTIONS_OPEN.inc()
        self._deadline = loop.call_later(self.guard.header_timeout, self._too_slow)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self.admitted:
            assert self.transport is not None
            self.transport.close()
            return
        if self._deadline is not None:
            seen = self._tail + data
            if _HEAD_END in seen:
                self._deadline.cancel()
                self._deadline = None
            else:
                self._tail = seen[-(len(_HEAD_END) - 1) :]
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.admitted else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if self._lingers:
            self._lingers = False
            self.guard.lingering -= 1
        if self.admitted:
            self.guard.open -= 1
            CONNECTIONS_OPEN.dec()
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.admitted:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.admitted:
            self.inner.resume_writing()

    def _too_slow(self) -> None:
        self._deadline = None
        self.guard.timed_out += 1
        CONNECTIONS_TIMED_OUT.inc()
        assert self.transport is not None
        self.transport.write(self.guard._slow)
        self.transport.close()


class GuardedSite(web.TCPSite):
    """A TCP site whose connections go through a :class:`ConnectionGuard`."""

    def __init__(
        self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard
    ) -> None:
        super().__init__(runner, host, port)
        self.guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self.guard.wrap(server), self._host, self._port, backlog=BACKLOG
        )


GUARD = web.AppKey("connection_guard", ConnectionGuard)
"""Where :func:`run_server` leaves the guard in the app (for the metrics)."""


def run_server(
    app: web.Application,
    settings: Settings,
    drain: Callable[[], Awaitable[None]] | None = None,
    serving: Callable[[], None] = lambda: None,
) -> None:
    """Serve ``app`` on the settings' host and port until SIGINT or SIGTERM; then, while the
    server still answers, await ``drain`` (webhooks get 503 meanwhile); then clean up (the
    app's cleanup contexts run). ``serving`` is called once the port accepts connections
    (``botkit serve`` logs it then: tests wait for that line).

    The loop is uvloop's unless ``BOTKIT_UVLOOP=false`` or it is not installed; once the app
    has started, what start-up built is frozen out of the garbage collector's work and the
    loop's lag is measured (see :mod:`botkit.eventloop`)."""
    loop = new_event_loop(settings.uvloop)
    asyncio.set_event_loop(loop)
    main = loop.create_task(_serve(app, settings, drain, serving))
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        main.cancel()
        with contextlib.suppress(asyncio.CancelledError, web.GracefulExit, KeyboardInterrupt):
            loop.run_until_complete(main)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _serve(
    app: web.Application,
    settings: Settings,
    drain: Callable[[], Awaitable[None]] | None,
    serving: Callable[[], None],
) -> None:
    cap = connection_cap(settings.max_connections)
    if cap < settings.max_connections:
        log.warning(
            "fewer connections than BOTKIT_MAX_CONNECTIONS: the open-files limit leaves room "
            "for this many",
            max_connections=cap,
            wanted=settings.max_connections,
        )
    guard = ConnectionGuard(max_connections=cap, header_timeout=settings.header_timeout)
    app[GUARD] = guard
    runner = web.AppRunner(app, handle_signals=False, keepalive_timeout=settings.header_timeout)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    lag = LoopLag()
    try:
        await GuardedSite(runner, settings.host, settings.port, guard).start()
        freeze_start_up()
        lag.start()
        serving()
        await stop.wait()
        if drain is not None:
            await drain()
    finally:
        lag.stop()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(number)
        await runner.cleanup()
