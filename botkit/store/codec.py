"""How events and conversations are written as text, for stores that hold text (Redis).

The one place that knows the text forms:

- an :class:`~botkit.events.Event` is its JSON;
- a conversation's record is seven optional strings, in :data:`RECORD_FIELDS` order: state,
  data, version, revision, last inbound time, the choices last offered
  (``{"offered": [[id, title], ...]}``; records written before titles were kept hold
  ``{"choices": {"1": id, ...}}``, read as choices titled with their ids) and the pending
  timers (``{key: [at, id, data]}``, ``data`` the timer's JSON text or null);
- an :class:`~botkit.conversation.OutboxEntry` never tried is its message's JSON; one that
  waits for another attempt is ``{"attempts": n, "not_before": t, "message": {...}}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Final

from pydantic import BaseModel, ConfigDict

from botkit.conversation import Conversation, OutboxEntry, PendingTimer
from botkit.events import Event
from botkit.outbound import Button, Outbound

RECORD_FIELDS: Final = ("s", "d", "v", "r", "w", "m", "t")
"""The record's field names, in the order :func:`encode_record` gives their values."""


def encode_event(event: Event) -> str:
    return event.model_dump_json()


def decode_event(text: str) -> Event:
    return Event.model_validate_json(text)


class _Waiting(BaseModel):
    """An outbox entry that was tried: its attempts and when the next may go."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    attempts: int
    not_before: float | None = None
    message: Outbound


_WAITING_PREFIX: Final = '{"attempts":'


def encode_entry(entry: OutboxEntry) -> str:
    if entry.attempts == 0 and entry.not_before is None:
        return entry.message.model_dump_json()
    return _Waiting(
        attempts=entry.attempts, not_before=entry.not_before, message=entry.message
    ).model_dump_json()


def decode_entry(text: str) -> OutboxEntry:
    if text.startswith(_WAITING_PREFIX):
        waiting = _Waiting.model_validate_json(text)
        return OutboxEntry(waiting.message, waiting.attempts, waiting.not_before)
    return OutboxEntry(Outbound.model_validate_json(text))


def encode_record(conversation: Conversation) -> tuple[str | None, ...]:
    """The record's values in :data:`RECORD_FIELDS` order; None for a field to leave out."""
    inbound = conversation.last_inbound_at
    choices = conversation.choices
    return (
        conversation.state,
        conversation.data,
        str(conversation.version),
        str(conversation.revision),
        repr(inbound) if inbound is not None else None,
        json.dumps({"offered": [[c.id, c.title] for c in choices]}, separators=(",", ":"))
        if choices
        else None,
        encode_timers(conversation.timers),
    )


def encode_timers(timers: Mapping[str, PendingTimer]) -> str | None:
    """The pending timers as JSON text, None when there are none."""
    if not timers:
        return None
    return json.dumps(
        {key: [timer.at, timer.id, timer.data] for key, timer in timers.items()},
        separators=(",", ":"),
    )


def decode_timers(text: str | None) -> Mapping[str, PendingTimer]:
    if not text:
        return {}
    found = json.loads(text)
    return {
        key: PendingTimer(key, float(at), str(ident), data)
        for key, (at, ident, data) in found.items()
    }


def decode_conversation(
    key: str, record: Sequence[str | None], outbox: Sequence[str] = ()
) -> Conversation:
    """The conversation from its record's values (:data:`RECORD_FIELDS` order) and outbox."""
    state, data, version, revision, inbound, choices, *rest = record
    timers = rest[0] if rest else None
    return Conversation(
        key=key,
        state=state,
        data=data,
        version=int(version or 0),
        revision=int(revision or 0),
        last_inbound_at=float(inbound) if inbound is not None else None,
        choices=_decode_choices(choices),
        outbox=tuple(decode_entry(text) for text in outbox),
        timers=decode_timers(timers),
    )


def _decode_choices(text: str | None) -> tuple[Button, ...]:
    if not text:
        return ()
    try:
        found = json.loads(text)
        offered = found.get("offered")
        if offered is None:  # the older form: positions to ids, no titles
            numbered = found.get("choices") or {}
            offered = [[numbered[n], numbered[n]] for n in sorted(numbered, key=int)]
        return tuple(Button(id=str(id_), title=str(title)) for id_, title in offered)
    except (ValueError, AttributeError, TypeError, KeyError):
        return ()
