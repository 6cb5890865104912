"""Logging: structlog, JSON lines in production and readable lines in development.

Phone numbers are masked by default (``447700900001`` becomes ``4477******01``): logs leave the
process, and a user's number is personal data. Bind per-request facts (message id, channel)
with :func:`structlog.contextvars.bound_contextvars` so that every line about a webhook carries
them.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from structlog.typing import EventDict, FilteringBoundLogger, Processor, WrappedLogger

_NUMBER = re.compile(r"(?<![\w.-])(\+?)(\d{4})(\d{3,9})(\d{2})(?![\w-])")


def mask_number(text: str) -> str:
    """Mask every phone-number-like run of 9 to 15 digits in ``text``, keeping the country
    prefix and the last two digits so that log lines stay tellable apart."""
    return _NUMBER.sub(lambda m: m[1] + m[2] + "*" * len(m[3]) + m[4], text)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_number(value)
    if isinstance(value, MutableMapping):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask(v) for v in value)
    return value


def mask_numbers(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask phone numbers in every value of the line."""
    return {key: _mask(value) for key, value in event_dict.items()}


def configure_logging(
    *, level: str = "info", fmt: str = "console", mask: bool = True, stream: Any = None
) -> None:
    """Configure structlog and the standard library's logging (aiohttp's access log) alike.

    Safe to call more than once; the last call wins.
    """
    processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if mask:
        processors.append(mask_numbers)
    renderer: Processor
    if fmt == "json":
        processors += [structlog.processors.format_exc_info]
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stdout),
        cache_logger_on_first_use=False,
    )
    # aiohttp and asyncio log through the standard library: route them into the same format.
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=processors,
        )
    )
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
