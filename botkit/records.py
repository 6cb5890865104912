"""Message records: what the bot sent, and what became of it.

Each message the provider accepted gets a record, stored with its conversation (see
:meth:`~botkit.store.base.Store.messages`): botkit's id, the provider's message id, the
``client_ref``, the channel, a one-line summary of the content, and every status reported since.
Statuses may arrive out of order; the record's :attr:`DeliveryRecord.status` never moves back
(a late ``delivered`` does not undo ``read``), while :attr:`DeliveryRecord.history` keeps them all.
A long SMS sent through the SMS API has an id per part: its one record keeps them all
(:attr:`DeliveryRecord.parts`), and each part's receipt updates it (:func:`find_record`).

When the inspector is on, each turn that ran a handler leaves a :class:`TurnRecord` among the
same records, under :func:`turn_id` (``turn:<revision>``), kept as long as message records are:
which event came in, which handler ran, the triggers fired, the state before and after, the
channel rules' notes on its replies and the time it took. :func:`read_records` tells the two
kinds apart.

A message record is stored in a compact form (:func:`pack_record`): what its conversation
already says (the channel, the user, the provider's id, which keys the record) is left out, as
is every field at its default, so the record of a reply with a short text takes about 60 bytes
and Redis keeps it in its compact encoding.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from botkit.events import (
    ButtonReply,
    Channel,
    DeliveryStatus,
    Event,
    EventKind,
    FailoverOutcome,
    Location,
    Notification,
    ProviderError,
    Text,
)
from botkit.outbound import ButtonTemplate, Contacts, Custom, GenericTemplate, Outbound, Template

if TYPE_CHECKING:
    from botkit.bot import TurnOutcome


class StatusEntry(BaseModel):
    """One status the provider reported; ``part`` names the SMS part it is about, on the record
    of a message sent in several parts."""

    model_config = ConfigDict(frozen=True)

    status: DeliveryStatus
    original: str
    at: float
    error: ProviderError | None = None
    part: str | None = None


class DeliveryRecord(BaseModel):
    """One message the bot sent, and the statuses the provider reported for it (the sandbox's
    own view of a message, as the provider holds it, is :class:`~botkit.sandbox.SandboxMessage`)."""

    model_config = ConfigDict(frozen=True)

    id: str
    message_id: str
    client_ref: str
    channel: Channel
    to: str
    summary: str
    sent_at: float
    status: DeliveryStatus = DeliveryStatus.SUBMITTED
    error: ProviderError | None = None
    history: tuple[StatusEntry, ...] = ()
    parts: tuple[str, ...] = ()
    """The provider's id of every part of a long SMS sent through the SMS API (the first is
    ``message_id``); empty for a message sent whole."""

    @classmethod
    def sent(
        cls, message: Outbound, message_id: str, at: float, parts: Sequence[str] = ()
    ) -> DeliveryRecord:
        """The record of ``message``, just accepted by the provider as ``message_id`` (and, for
        a long SMS, as the ids of its ``parts``, ``message_id`` first)."""
        return cls(
            id=message.id,
            message_id=message_id,
            client_ref=message.effective_client_ref,
            channel=message.channel,
            to=message.to,
            summary=summarise(message),
            sent_at=at,
            parts=tuple(parts) if len(parts) > 1 else (),
        )

    def keys(self, key: str) -> dict[str, str]:
        """What the record is stored as among the records of the conversation ``key``: its
        :func:`pack_record` form under ``message_id``, and under :func:`part_key` of each other
        part the ``message_id``, so a status of any part finds it (:func:`find_record`)."""
        return {
            self.message_id: pack_record(self, key),
            **{part_key(part): self.message_id for part in self.parts[1:]},
        }

    @classmethod
    def refused(cls, message: Outbound, error: ProviderError, at: float) -> DeliveryRecord:
        """The record of ``message``, refused for good before the provider took it: keyed by
        botkit's id (the provider gave none), rejected, with the refusal's code and words."""
        record = cls.sent(message, message.id, at)
        return record.model_copy(update={"status": DeliveryStatus.REJECTED, "error": error})

    def with_status(self, event: Event) -> DeliveryRecord:
        """This record after the status ``event``: appended to the history; the current status
        moves only forward (by :attr:`DeliveryStatus.rank`), and a final status stays.

        On a message sent in parts, each part's statuses count for the whole (:meth:`whole`):
        it is ``delivered`` once every part is, and failed as soon as one part failed."""
        assert event.status is not None
        entry = StatusEntry(
            status=event.status.status,
            original=event.status.original,
            at=event.timestamp.timestamp(),
            error=event.status.error,
            part=event.message_id if self.parts else None,
        )
        if entry in self.history:
            return self
        if self.parts:
            history = (*self.history, entry)
            status = self.whole(history)
            failed = status in (DeliveryStatus.REJECTED, DeliveryStatus.UNDELIVERABLE)
            error = self.error or (entry.error if failed else None)
            return self.model_copy(update={"history": history, "status": status, "error": error})
        forward = entry.status.rank > self.status.rank or (
            entry.status.rank == self.status.rank and not self.status.is_final
        )
        return self.model_copy(
            update={
                "history": (*self.history, entry),
                "status": entry.status if forward else self.status,
                "error": entry.error if forward and entry.error else self.error,
            }
        )

    def whole(self, history: Sequence[StatusEntry]) -> DeliveryStatus:
        """The status of a message sent in :attr:`parts`, from the statuses of its parts in
        ``history``: the first failure (``rejected``, ``undeliverable``) of any part; else
        the least advanced of the parts' statuses (``submitted`` while a part has none)."""
        latest: dict[str, DeliveryStatus] = {}
        for entry in history:
            part = entry.part or self.message_id
            before = latest.get(part)
            if before is None or entry.status.rank >= before.rank:
                latest[part] = entry.status
        for status in latest.values():
            if status in (DeliveryStatus.REJECTED, DeliveryStatus.UNDELIVERABLE):
                return status
        if any(part not in latest for part in self.parts):
            return DeliveryStatus.SUBMITTED
        return min(latest.values(), key=lambda status: status.rank)

    @classmethod
    def unknown(cls, event: Event) -> DeliveryRecord:
        """A record for a status of a message botkit has no record of (sent elsewhere, or its
        record expired), so the status is not lost."""
        assert event.status is not None
        return cls(
            id=event.client_ref or event.message_id,
            message_id=event.message_id,
            client_ref=event.client_ref or "",
            channel=event.channel,
            to=event.user or "",
            summary="(not sent by this bot, or its record expired)",
            sent_at=event.timestamp.timestamp(),
        )


def pack_record(record: DeliveryRecord, key: str) -> str:
    """``record`` as stored among the records of the conversation ``key``: a JSON array of
    ``[id, sent_at, summary, status, client_ref, to, channel, error, history, parts]`` (``sent_at``
    to the millisecond) where
    ``client_ref`` is null when it is the id, ``to`` and ``channel`` null when they are the
    conversation's, and the trailing items at their defaults are left out. The provider's
    message id is not in it: it names the record. :func:`unpack_record` reads it back."""
    channel, user = _channel_and_user(key)
    items: list[Any] = [
        record.id,
        round(record.sent_at, 3),
        record.summary,
        record.status.value,
        None if record.client_ref == record.id else record.client_ref,
        None if record.to == user else record.to,
        None if record.channel.value == channel else record.channel.value,
        None if record.error is None else record.error.model_dump(exclude_none=True),
        [_pack_status(entry) for entry in record.history],
        list(record.parts),
    ]
    defaults: list[Any] = [DeliveryStatus.SUBMITTED.value, None, None, None, None, [], []]
    while len(items) > 3 and items[-1] == defaults[len(items) - 4]:
        items.pop()
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


def unpack_record(message_id: str, text: str, key: str) -> DeliveryRecord:
    """The record stored as ``text`` under ``message_id`` among the records of the
    conversation ``key``; records written whole (a JSON object) are read as they are."""
    if text.startswith("{"):
        return DeliveryRecord.model_validate_json(text)
    channel, user = _channel_and_user(key)
    items = json.loads(text)
    items += [None] * (10 - len(items))
    ident, sent_at, summary, status, client_ref, to, channel_name, error, history, parts = items
    return DeliveryRecord(
        id=ident,
        message_id=message_id,
        client_ref=ident if client_ref is None else client_ref,
        channel=Channel(channel_name or channel),
        to=user if to is None else to,
        summary=summary,
        sent_at=sent_at,
        status=DeliveryStatus(status or DeliveryStatus.SUBMITTED),
        error=None if error is None else ProviderError.model_validate(error),
        history=tuple(_unpack_status(entry) for entry in history or ()),
        parts=tuple(parts or ()),
    )


def _channel_and_user(key: str) -> tuple[str, str]:
    """The channel and the user of the conversation ``key`` (``channel:bot:user``); empty
    strings for a key of another form, whose records then keep them."""
    channel, _, rest = key.partition(":")
    _, _, user = rest.partition(":")
    return (channel, user) if user else ("", "")


def _pack_status(entry: StatusEntry) -> list[Any]:
    packed: list[Any] = [entry.status.value, entry.original, entry.at]
    error = None if entry.error is None else entry.error.model_dump(exclude_none=True)
    if entry.part is not None:
        packed += [error, entry.part]
    elif error is not None:
        packed.append(error)
    return packed


def _unpack_status(packed: list[Any]) -> StatusEntry:
    status, original, at, *rest = packed
    rest += [None] * (2 - len(rest))
    error, part = rest
    return StatusEntry(
        status=DeliveryStatus(status),
        original=original,
        at=at,
        error=None if error is None else ProviderError.model_validate(error),
        part=part,
    )


def summarise(message: Outbound, width: int = 80) -> str:
    """One line saying what ``message`` carries, for logs and the inspector."""
    content = message.content
    if isinstance(content, Text):
        text = content.text
    elif isinstance(content, Template):
        text = f"template {content.name}({', '.join(content.parameters)})"
    elif isinstance(content, Custom):
        text = f"custom {content.payload.get('type', 'object')}"
    elif isinstance(content, Contacts):
        text = "contacts " + ", ".join(card.name for card in content.cards)
    elif isinstance(content, ButtonTemplate):
        text = content.text
    elif isinstance(content, GenericTemplate):
        text = "cards " + " | ".join(element.title for element in content.elements)
    else:
        detail = getattr(content, "caption", None) or getattr(content, "url", None) or ""
        text = f"{content.type} {detail}".strip()
    if message.buttons:
        text += " [" + " | ".join(b.title for b in message.buttons) + "]"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


PART_PREFIX = "part:"


def part_key(message_id: str) -> str:
    """Where a later part's id of a long SMS points to its message's record."""
    return f"{PART_PREFIX}{message_id}"


def find_record(stored: Mapping[str, str], message_id: str, key: str) -> DeliveryRecord | None:
    """The record that provider id ``message_id`` belongs to among the ``stored`` records of
    the conversation ``key`` (stored under its ``message_id``): its own, or the record of the
    message it is a part of; None when there is none."""
    text = stored.get(message_id)
    if text is None:
        message_id = stored.get(part_key(message_id), "")
        text = stored.get(message_id)
    return None if text is None else unpack_record(message_id, text, key)


TURN_PREFIX = "turn:"
FAILOVER_PREFIX = "failover:"
"""Record ids of messages' failovers (:mod:`botkit.failover`); read them with
:func:`botkit.failover.read_failovers`."""


def turn_id(revision: int) -> str:
    """The record id of the turn that made ``revision`` (provider message ids never start so)."""
    return f"{TURN_PREFIX}{revision}"


class TurnRecord(BaseModel):
    """One turn of the bot: the event it handled and what the handler did with it.

    ``at`` is the runtime clock's time when the turn began; ``outcome`` is the
    :class:`~botkit.bot.TurnOutcome`'s; ``triggers`` the transitions fired, in order;
    ``notes`` what the channel rules changed in the replies; ``error`` the exception of a
    failed turn, or the reason a fallback ran.
    """

    model_config = ConfigDict(frozen=True)

    revision: int
    at: float
    kind: EventKind
    event: str
    outcome: str
    handler: str | None = None
    triggers: tuple[str, ...] = ()
    state_before: str
    state_after: str
    notes: tuple[str, ...] = ()
    replies: int = 0
    error: str | None = None
    duration_ms: float

    @classmethod
    def of(
        cls, turn: TurnOutcome, event: Event, state_before: str, at: float, seconds: float
    ) -> TurnRecord:
        """The record of ``turn``, which handled ``event`` from ``state_before``, began at
        ``at`` and took ``seconds``."""
        error = turn.error
        return cls(
            revision=turn.conversation.revision,
            at=at,
            kind=event.kind,
            event=describe(event),
            outcome=turn.outcome,
            handler=turn.handler,
            triggers=turn.triggers,
            state_before=state_before,
            state_after=turn.state,
            notes=turn.notes,
            replies=len(turn.replies),
            error=f"{type(error).__name__}: {error}" if error is not None else None,
            duration_ms=round(seconds * 1000, 2),
        )


def describe(event: Event, width: int = 120) -> str:
    """What ``event`` carried, in one line, for the inspector."""
    content = event.content
    if event.kind is EventKind.STATUS and event.status is not None:
        return f"status {event.status.original} of {event.message_id}"
    if isinstance(content, ButtonReply):
        text = f"tapped {content.title!r}" + (f" (id {content.id})" if content.id else "")
    elif isinstance(content, Text):
        text = repr(content.text)
    elif isinstance(content, Notification):
        text = f"event {content.name}"
    elif isinstance(content, FailoverOutcome):
        ended = f"reached on {content.channel.value}" if content.channel else "reached nobody"
        text = f"failover of {content.id} ended: {ended}"
    elif isinstance(content, Location):
        where = f"{content.lat},{content.long}"
        text = f"location {content.name or content.address or where} ({where})"
    elif content is not None:
        detail = getattr(content, "caption", None) or getattr(content, "url", None) or ""
        text = f"{content.type} {detail}".strip()
    else:
        text = event.kind.value
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def read_records(
    stored: Mapping[str, str], key: str
) -> tuple[list[DeliveryRecord], list[TurnRecord]]:
    """The stored records of the conversation ``key`` (:meth:`~botkit.store.base.Store.messages`)
    as the messages sent, oldest first, and the turns, in revision order (failover records are
    neither)."""
    sent: list[DeliveryRecord] = []
    turns: list[TurnRecord] = []
    for record_id, text in stored.items():
        if record_id.startswith((PART_PREFIX, FAILOVER_PREFIX)):
            continue
        if record_id.startswith(TURN_PREFIX):
            turns.append(TurnRecord.model_validate_json(text))
        else:
            sent.append(unpack_record(record_id, text, key))
    sent.sort(key=lambda m: m.sent_at)
    turns.sort(key=lambda t: t.revision)
    return sent, turns
