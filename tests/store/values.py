"""Values the store tests build: events, outbox entries, commits, and what they say."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from botkit.conversation import Conversation, OutboxEntry
from botkit.events import Channel, Event, EventKind, Text, WebhookFormat
from botkit.outbound import Outbound
from botkit.store.base import Commit

KEY = "whatsapp:447700900001:447700900000"


def event(message_id: str, text: str) -> Event:
    """A user's text; its dedup key comes from ``message_id``."""
    return Event(
        kind=EventKind.MESSAGE,
        channel=Channel.WHATSAPP,
        user="447700900000",
        bot="447700900001",
        message_id=message_id,
        timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        format=WebhookFormat.V1,
        raw={"text": text},
        content=Text(text=text),
    )


def said(handed: Event | None) -> str | None:
    """The text of an event the store handed back (None for no event)."""
    return None if handed is None else handed.text


def entries(*texts: str) -> tuple[OutboxEntry, ...]:
    return tuple(
        OutboxEntry(
            Outbound(channel=Channel.WHATSAPP, to="447700900000", sender="447700900001",
                     content=Text(text=text))
        )
        for text in texts
    )  # fmt: skip


def said_all(outbox: Sequence[OutboxEntry]) -> tuple[str, ...]:
    """The texts of an outbox's messages, in order."""
    return tuple(getattr(entry.message.content, "text", "") for entry in outbox)


def turn(
    conversation: Conversation, replies: tuple[str, ...] = (), messages: Mapping[str, str] = {}
) -> Commit:
    """A commit of ``conversation`` whose outbox holds ``replies``."""
    return Commit(replace(conversation, outbox=entries(*replies)), messages)
