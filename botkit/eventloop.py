"""The event loop ``botkit serve`` runs on, and how it is kept responsive.

- uvloop's loop where it is installed (a dependency on Linux and macOS), unless
  ``BOTKIT_UVLOOP=false``: it runs the same asyncio code on less CPU.
- After start-up, every object alive then (modules, the pydantic schemas, the OpenAPI
  documents, the app) is moved out of the garbage collector's generations
  (:func:`gc.freeze`): they live as long as the process, and scanning them in every full
  collection paused the loop for tens of milliseconds every few seconds.
- :class:`LoopLag` measures how late the loop runs a callback, into the
  ``botkit_event_loop_lag_seconds`` histogram.
"""

from __future__ import annotations

import asyncio
import gc

from botkit.metrics import LOOP_LAG


def new_event_loop(uvloop: bool = True) -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop's when ``uvloop`` is true and it is installed, else asyncio's."""
    if uvloop:
        try:
            import uvloop as fast
        except ImportError:
            pass
        else:
            return fast.new_event_loop()
    return asyncio.new_event_loop()


def loop_kind(loop: asyncio.AbstractEventLoop) -> str:
    """``"uvloop"`` or ``"asyncio"``: which implementation ``loop`` is."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def freeze_start_up() -> None:
    """Collect what start-up left as garbage, then keep every object alive now out of the
    garbage collector's work for the rest of the process (see the module's docstring)."""
    gc.collect()
    gc.freeze()


class LoopLag:
    """Every ``every`` seconds, how late the loop ran a callback due then, observed into
    ``botkit_event_loop_lag_seconds``; :attr:`worst` is the longest since :meth:`start`."""

    def __init__(self, every: float = 0.05) -> None:
        self.every = every
        self.worst = 0.0
        self.ticked = asyncio.Event()
        """Set at each measurement (clear it to wait for the next)."""
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0

    def start(self) -> None:
        """Start measuring on the running loop."""
        loop = asyncio.get_running_loop()
        self._due = loop.time() + self.every
        self._handle = loop.call_at(self._due, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        lag = max(0.0, now - self._due)
        LOOP_LAG.observe(lag)
        self.worst = max(self.worst, lag)
        self.ticked.set()
        self._due = now + self.every
        self._handle = loop.call_at(self._due, self._tick, loop)

    def stop(self) -> None:
        """Stop measuring."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
