"""Logging: structlog, JSON lines in production and readable lines in development.

Every line, botkit's own and those of aiohttp and asyncio alike, goes through one pipeline
whose last step before rendering hides the user: exception text and tracebacks are rendered
first, then :func:`botkit.masking.mask_text` runs over every value. Phone numbers are masked
(``447700900001`` becomes ``44********01``; ``BOTKIT_LOG_MASK_NUMBERS=false`` turns this off)
and the words of the message being handled (see :func:`private`) are replaced by
``[redacted]`` in every line above debug level, as are the word-carrying parameters of raw query
strings and JSON (``text=...``). Message texts are therefore readable at debug level only.

Bind per-request facts (message id, channel) with
:func:`structlog.contextvars.bound_contextvars` so that every line about a webhook carries them.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import structlog
from structlog.typing import EventDict, FilteringBoundLogger, Processor, WrappedLogger

from botkit.masking import mask_text

_PRIVATE: ContextVar[frozenset[str]] = ContextVar("botkit_private", default=frozenset())
_KEPT = frozenset({"level", "timestamp", "logger_name", "logger"})


@contextmanager
def private(values: Iterable[str | None]) -> Iterator[None]:
    """Within this block (and the tasks it starts), hide ``values`` from every log line above
    debug level, wherever they appear: in messages, fields, exception text, tracebacks."""
    token = _PRIVATE.set(_PRIVATE.get() | {v for v in values if v})
    try:
        yield
    finally:
        _PRIVATE.reset(token)


def keep_private(values: Iterable[str | None]) -> None:
    """Like :func:`private`, for the rest of the current task (a worker's next turn replaces
    them by calling this again)."""
    _PRIVATE.set(frozenset(v for v in values if v))


class _Masker:
    """The structlog processor that hides the user; it runs after exceptions are rendered."""

    def __init__(self, *, numbers: bool) -> None:
        self.numbers = numbers

    def __call__(self, _: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        words = _PRIVATE.get() if method != "debug" else frozenset()
        return {
            key: value if key in _KEPT else self._mask(value, words)
            for key, value in event_dict.items()
        }

    def _mask(self, value: Any, words: frozenset[str]) -> Any:
        if isinstance(value, str):
            return mask_text(value, words, numbers=self.numbers)
        if isinstance(value, MutableMapping):
            return {k: self._mask(v, words) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._mask(v, words) for v in value)
        return value


class RepeatFilter(logging.Filter):
    """Lets the first of a run of identical standard-library lines through, then at most one
    per ``every`` seconds, telling how many were left out (an ``accept`` failing thousands of
    times a second near the open-files limit must not flood the log)."""

    def __init__(self, every: float = 10.0) -> None:
        super().__init__()
        self.every = every
        self._last: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last[0] < self.every:
            self._last[key] = (last[0], last[1] + 1)
            return False
        if len(self._last) > 1000:
            self._last.clear()
        self._last[key] = (now, 0)
        if last is not None and last[1]:
            record.msg = f"{record.msg} (and {last[1]} more like it in the last {self.every:g} s)"
        return True


def configure_logging(
    *,
    level: str = "info",
    fmt: str = "console",
    mask: bool = True,
    stream: Any = None,
    cache_loggers: bool = False,
) -> None:
    """Configure structlog and the standard library's logging (aiohttp, asyncio) alike.

    ``mask`` masks phone numbers; the words of the message being handled are hidden above
    debug level whatever it says. Safe to call more than once; the last call wins, except with
    ``cache_loggers``: then each logger keeps the configuration in force when it first logs,
    and skips rebuilding it on every line after (for a process that configures logging once,
    as ``botkit serve`` does).
    """
    processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # Exceptions become text before the masker runs, so that tracebacks are masked too.
        structlog.processors.format_exc_info,
        _Masker(numbers=mask),
    ]
    renderer: Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stdout),
        cache_logger_on_first_use=cache_loggers,
    )
    # aiohttp and asyncio log through the standard library: the same pipeline, the same mask.
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=processors,
        )
    )
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # Every request is already logged with its outcome by botkit; the access log would repeat it.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # transitions narrates every callback at info; botkit's own lines say what matters.
    logging.getLogger("transitions").setLevel(max(numeric, logging.WARNING))


def get_logger(name: str) -> FilteringBoundLogger:
    """A structlog logger named ``name`` (shown as ``logger_name`` in every line)."""
    # A lazy proxy: the configuration in force at the first log call applies, not the one at
    # import time.
    logger: FilteringBoundLogger = structlog.get_logger(logger_name=name)
    return logger
