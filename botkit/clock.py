"""Time, as botkit sees it: one clock per app, so tests and the sandbox can move it.

Everything that depends on "now" -- channel windows, dedup, timers -- asks a :class:`Clock`.
The sandbox moves its :class:`OffsetClock` forward (say +25 h, to close WhatsApp's window)
without waiting a day.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    """Gives the current Unix time in seconds."""

    def now(self) -> float: ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> float:
        return time.time()


class OffsetClock:
    """The machine's clock plus an offset that can be moved forward (never back)."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset
        self._listeners: list[weakref.WeakMethod[Callable[[], None]]] = []

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (a positive number)."""
        if seconds <= 0:
            raise ValueError(f"time only moves forward; got {seconds} s")
        self.offset += seconds
        for ref in list(self._listeners):
            listener = ref()
            if listener is None:
                self._listeners.remove(ref)
            else:
                listener()

    def on_advance(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (a bound method, held weakly) each time the clock moves: a
        runtime sweeps at once, so timers that fell due fire without waiting."""
        self._listeners.append(weakref.WeakMethod(listener))
