"""Joining the parts of a concatenated inbound SMS into one message event.

Carriers split a long SMS into parts that arrive as separate webhooks, in any order, possibly
more than once (the provider retries a webhook that was not answered 2xx) and at different
processes. :class:`SmsConcat` keeps them in the store's :class:`~botkit.store.parts.PartsBuffer`
(as :meth:`SmsPart.to_json` strings, keyed by (user, bot, concat-ref)) until all have arrived;
:func:`assemble_parts` turns a complete set into the event, and a set whose wait ran out into
an event marked incomplete (:attr:`~botkit.events.SmsInfo.missing_parts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from botkit.errors import InvalidPayload, Problem
from botkit.events import Channel, Event, SmsInfo, Text
from botkit.store.parts import DEFAULT_WAIT, Part, PartsBuffer
from botkit.vonage.inbound.envelope import Envelope
from botkit.vonage.inbound.sms_api import FORMAT_NAME, INBOUND, MAX_CONCAT_PARTS, SmsPart

DEFAULT_TTL = DEFAULT_WAIT
"""How long the parts of an incomplete message wait, in seconds: the provider's retry span."""


@dataclass(frozen=True)
class DueMessage:
    """A long SMS handed to delivery by :meth:`SmsConcat.claim_due`."""

    claim: str
    """What to give :meth:`SmsConcat.delivered` once ``event`` is accepted."""
    event: Event | None
    """The message (incomplete unless every part arrived); None when the stored parts could
    not be read back, which :attr:`problem` explains."""
    problem: str | None = None


class SmsConcat:
    """Long SMS joined in a :class:`~botkit.store.parts.PartsBuffer`.

    - :meth:`add` returns None until every part 1..total of the part's
      :attr:`~SmsPart.buffer_key` is stored, then the event :func:`assemble_parts` makes of
      them; a part redelivered before :meth:`done` yields the same event again (same
      ``message_id``, which the runtime's deduplication recognises), after it None.
    - A part whose number is already held with the same ``message_id`` is a redelivery. A part
      that does not fit the held ones (another ``total``, or the same number with another
      ``message_id``) means the concat ref was reused: the held parts are handed to delivery
      and a new set starts with this part. So does a part arriving after its set's wait.
    - :meth:`claim_due` hands out what arrived of sets whose wait ran out (or that a bound
      pushed out) as events marked incomplete; :meth:`delivered` forgets them once accepted.
    - A part with ``total`` above :data:`MAX_CONCAT_PARTS` or a number outside 1..total is
      refused with InvalidPayload.
    """

    def __init__(self, buffer: PartsBuffer) -> None:
        self.buffer = buffer

    async def add(self, part: SmsPart) -> Event | None:
        """Hold ``part``; the assembled event once its message is complete, else None."""
        check_part(part)
        added = await self.buffer.add(_stored(part))
        if added.outcome != "complete":
            return None
        return assemble_parts([SmsPart.from_json(body) for body in added.bodies])

    async def done(self, part: SmsPart) -> None:
        """The complete message ``part`` belongs to was accepted: forget its parts."""
        await self.buffer.done(_stored(part))

    async def claim_due(self, limit: int = 100) -> list[DueMessage]:
        """Claim messages whose wait is over (see :meth:`PartsBuffer.claim_due`)."""
        found: list[DueMessage] = []
        for due in await self.buffer.claim_due(limit):
            try:
                parts = [SmsPart.from_json(body) for body in due.bodies]
                event = assemble_parts(parts, complete=due.complete)
            except (InvalidPayload, ValueError) as exc:
                found.append(DueMessage(due.claim, None, f"{type(exc).__name__}: {exc}"))
                continue
            found.append(DueMessage(due.claim, event))
        return found

    async def delivered(self, claims: Sequence[str]) -> None:
        """Forget claimed messages that were accepted."""
        if claims:
            await self.buffer.delivered(claims)


def _stored(part: SmsPart) -> Part:
    return Part(
        key=part.buffer_key,
        sender=part.user,
        number=part.part,
        total=part.total,
        part_id=part.message_id,
        body=part.to_json(),
    )


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


def assemble_parts(parts: Sequence[SmsPart], *, complete: bool = True) -> Event:
    """The ``MESSAGE`` event for the set ``parts`` (in any order, each number once).

    The text is the parts' texts in part order. ``message_id``, ``timestamp`` and
    ``sms.keyword`` are those of the lowest-numbered part (part 1 when complete), so every
    assembly of the same message gives the same event; ``sms.num_messages`` is the total and
    ``sms.encoding`` is ``unicode`` when any part is. ``raw`` is
    ``{"parts": [params of each part, in order]}``. With ``complete=False`` some parts may be
    missing: their numbers are ``sms.missing_parts``.

    Raises ValueError when ``parts`` is not parts of one message, each number once (and, when
    ``complete``, every number 1..total).
    """
    ordered = sorted(parts, key=lambda p: p.part)
    if not ordered:
        raise ValueError("no parts to assemble")
    first = ordered[0]
    numbers = [p.part for p in ordered]
    everything = list(range(1, first.total + 1))
    fits = numbers == everything if complete else len(set(numbers)) == len(numbers)
    if (
        not fits
        or not all(1 <= n <= first.total for n in numbers)
        or any(p.buffer_key != first.buffer_key or p.total != first.total for p in ordered)
    ):
        raise ValueError(f"parts {numbers} are not parts 1..{first.total} of one message")
    arrived = set(numbers)
    missing = tuple(n for n in everything if n not in arrived)
    encoding = "unicode" if any(p.encoding == "unicode" for p in ordered) else "text"
    raw = {"parts": [dict(p.raw) for p in ordered]}
    envelope = Envelope(
        INBOUND, Channel.SMS, first.user, first.bot, first.message_id, first.timestamp, raw
    )
    return envelope.event(
        content=Text(text="".join(p.text for p in ordered)),
        sms=SmsInfo(
            keyword=first.keyword,
            num_messages=first.total,
            encoding=encoding,
            missing_parts=missing,
        ),
    )
