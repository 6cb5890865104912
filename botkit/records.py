"""Message records: what the bot sent, and what became of it.

Each message the provider accepted gets a record, stored with its conversation (see
:meth:`~botkit.store.base.Store.messages`): botkit's id, the provider's message id, the
``client_ref``, the channel, a one-line summary of the content, and every status reported since.
Statuses may arrive out of order; the record's :attr:`DeliveryRecord.status` never moves back
(a late ``delivered`` does not undo ``read``), while :attr:`DeliveryRecord.history` keeps them all.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from botkit.events import Channel, DeliveryStatus, Event, ProviderError, Text
from botkit.outbound import Custom, Outbound, Template


class StatusEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: DeliveryStatus
    original: str
    at: float
    error: ProviderError | None = None


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

    @classmethod
    def sent(cls, message: Outbound, message_id: str, at: float) -> DeliveryRecord:
        """The record of ``message``, just accepted by the provider as ``message_id``."""
        return cls(
            id=message.id,
            message_id=message_id,
            client_ref=message.effective_client_ref,
            channel=message.channel,
            to=message.to,
            summary=summarise(message),
            sent_at=at,
        )

    def with_status(self, event: Event) -> DeliveryRecord:
        """This record after the status ``event``: appended to the history; the current status
        moves only forward (by :attr:`DeliveryStatus.rank`), and a final status stays."""
        assert event.status is not None
        entry = StatusEntry(
            status=event.status.status,
            original=event.status.original,
            at=event.timestamp.timestamp(),
            error=event.status.error,
        )
        if entry in self.history:
            return self
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


def summarise(message: Outbound, width: int = 80) -> str:
    """One line saying what ``message`` carries, for logs and the inspector."""
    content = message.content
    if isinstance(content, Text):
        text = content.text
    elif isinstance(content, Template):
        text = f"template {content.name}({', '.join(content.parameters)})"
    elif isinstance(content, Custom):
        text = f"custom {content.payload.get('type', 'object')}"
    else:
        detail = getattr(content, "caption", None) or getattr(content, "url", None) or ""
        text = f"{content.type} {detail}".strip()
    if message.buttons:
        text += " [" + " | ".join(b.title for b in message.buttons) + "]"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
