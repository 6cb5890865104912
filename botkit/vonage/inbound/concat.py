"""Joining the parts of a concatenated inbound SMS into one message event.

Carriers split a long SMS into parts that arrive as separate webhooks, in any order and possibly
more than once (the provider retries a webhook that was not answered 2xx). A
:class:`PartsBuffer` holds the parts of each message, keyed by (user, bot, concat-ref), until all
have arrived; :func:`assemble_parts` turns a complete set into the event. Everything a buffer
stores is an :class:`~botkit.vonage.inbound.sms_api.SmsPart`, which :meth:`SmsPart.to_json`
makes a plain string, so a buffer can live in any string store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from botkit.errors import InvalidPayload, Problem
from botkit.events import Channel, Event, SmsInfo, Text
from botkit.vonage.inbound.envelope import Envelope
from botkit.vonage.inbound.sms_api import FORMAT_NAME, INBOUND, MAX_CONCAT_PARTS, SmsPart

DEFAULT_TTL = 24 * 60 * 60.0
"""How long the parts of an incomplete message are kept, in seconds: the provider's retry span."""


class PartsBuffer(Protocol):
    """Where the parts of concatenated SMS wait for each other.

    Contract for every implementation:

    - :meth:`add` returns None until every part 1..total of the part's
      :attr:`~SmsPart.buffer_key` is held, then the event :func:`assemble_parts` makes of them.
    - A part whose number is already held with the same ``message_id`` is a redelivery and is
      not stored again. A part that does not fit the held ones (another ``total``, or the same
      number with another ``message_id``) means the concat ref was reused for a new message: the
      held parts are dropped and a new set starts with this part.
    - A complete set stays until it expires, so a redelivered part yields the same event again
      (same ``message_id``), which the event deduplication downstream recognises.
    - A set expires ``ttl`` seconds after its first part arrived; :meth:`evict_expired` removes
      every expired set and returns the incomplete ones, each in part order. A part arriving for
      an expired set starts a new set.
    - A part with ``total`` above :data:`MAX_CONCAT_PARTS` or a number outside 1..total is
      refused with InvalidPayload.
    """

    async def add(self, part: SmsPart) -> Event | None:
        """Hold ``part``; the assembled event once its message is complete, else None."""
        ...

    async def evict_expired(self) -> list[tuple[SmsPart, ...]]:
        """Drop expired sets; the incomplete ones among them, oldest first, parts in order."""
        ...


def check_part(part: SmsPart) -> None:
    """InvalidPayload unless ``part.total`` is 1 to :data:`MAX_CONCAT_PARTS` and ``part.part``
    is 1 to ``part.total``."""
    problems: list[Problem] = []
    if not 1 <= part.total <= MAX_CONCAT_PARTS:
        problems.append(
            Problem("concat-total", f"from 1 to {MAX_CONCAT_PARTS} parts, got {part.total}")
        )
    elif not 1 <= part.part <= part.total:
        problems.append(Problem("concat-part", f"from 1 to {part.total}, got {part.part}"))
    if problems:
        raise InvalidPayload(problems, format_name=FORMAT_NAME)


def assemble_parts(parts: Sequence[SmsPart]) -> Event:
    """The ``MESSAGE`` event for the complete set ``parts`` (in any order, each number once).

    The text is the parts' texts in part order. ``message_id``, ``timestamp`` and
    ``sms.keyword`` are those of part 1, so every assembly of the same message gives the same
    event; ``sms.num_messages`` is the total and ``sms.encoding`` is ``unicode`` when any part
    is. ``raw`` is ``{"parts": [params of part 1, params of part 2, ...]}``.

    Raises ValueError when ``parts`` is not exactly parts 1..total of one message.
    """
    ordered = sorted(parts, key=lambda p: p.part)
    if not ordered:
        raise ValueError("no parts to assemble")
    first = ordered[0]
    if [p.part for p in ordered] != list(range(1, first.total + 1)) or any(
        p.buffer_key != first.buffer_key or p.total != first.total for p in ordered
    ):
        raise ValueError(
            f"parts {[p.part for p in ordered]} are not parts 1..{first.total} of one message"
        )
    encoding = "unicode" if any(p.encoding == "unicode" for p in ordered) else "text"
    raw = {"parts": [dict(p.raw) for p in ordered]}
    envelope = Envelope(
        INBOUND, Channel.SMS, first.user, first.bot, first.message_id, first.timestamp, raw
    )
    return envelope.event(
        content=Text(text="".join(p.text for p in ordered)),
        sms=SmsInfo(keyword=first.keyword, num_messages=first.total, encoding=encoding),
    )


@dataclass
class _PartSet:
    started: float
    total: int
    parts: dict[int, SmsPart] = field(default_factory=dict)

    def fits(self, part: SmsPart) -> bool:
        held = self.parts.get(part.part)
        return part.total == self.total and (held is None or held.message_id == part.message_id)


class MemoryPartsBuffer:
    """A :class:`PartsBuffer` in process memory, for one process.

    Safe for concurrent tasks on one event loop: each call runs to completion without awaiting.
    Memory is bounded by the ``ttl``: call :meth:`evict_expired` periodically.
    ``clock`` gives the time in seconds (default :func:`time.monotonic`).
    """

    def __init__(
        self, *, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl <= 0:
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
        self._ttl = ttl
        self._clock = clock
        self._sets: dict[str, _PartSet] = {}

    def __len__(self) -> int:
        """How many messages (complete or not) are held."""
        return len(self._sets)

    async def add(self, part: SmsPart) -> Event | None:
        """See :meth:`PartsBuffer.add`."""
        check_part(part)
        now = self._clock()
        key = part.buffer_key
        held = self._sets.get(key)
        if held is not None and (self._expired(held, now) or not held.fits(part)):
            del self._sets[key]
            held = None
        if held is None:
            held = self._sets[key] = _PartSet(started=now, total=part.total)
        held.parts.setdefault(part.part, part)
        if len(held.parts) < held.total:
            return None
        return assemble_parts(list(held.parts.values()))

    async def evict_expired(self) -> list[tuple[SmsPart, ...]]:
        """See :meth:`PartsBuffer.evict_expired`."""
        now = self._clock()
        expired = [key for key, held in self._sets.items() if self._expired(held, now)]
        incomplete: list[tuple[SmsPart, ...]] = []
        for key in expired:
            held = self._sets.pop(key)
            if len(held.parts) < held.total:
                incomplete.append(tuple(held.parts[n] for n in sorted(held.parts)))
        return incomplete

    def _expired(self, held: _PartSet, now: float) -> bool:
        return now - held.started >= self._ttl
