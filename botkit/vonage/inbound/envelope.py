"""What every webhook carries whatever its format, and the event it opens.

A webhook names a channel, the user's and the bot's addresses, the provider's message id, a
timestamp and optionally a ``client_ref`` and ``usage``: its :class:`Envelope`. The two Messages
API versions place these differently (v1 flat, v0.1 in ``to``/``from`` objects): each version's
parser says where, and :func:`read_envelope` does the rest (a JSON object, validated, addresses
checked), so that what a parser adds is only what its version really carries. The SMS API's
parsers build their envelope from its flat parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar

from botkit.events import (
    Channel,
    Event,
    EventKind,
    ProviderError,
    StatusInfo,
    Usage,
    WebhookFormat,
)
from botkit.vonage.inbound.addresses import Address, checked
from botkit.vonage.inbound.channels import STATUSES
from botkit.vonage.inbound.problems import make_event, require_object, validate
from botkit.vonage.inbound.values import MessageId, Timestamp
from botkit.vonage.inbound.wire import WireModel, WireUsage


@dataclass(frozen=True)
class Webhook:
    """One kind of webhook of one format: ``name`` in problems, the event's ``format`` and
    ``kind``."""

    name: str
    format: WebhookFormat
    kind: EventKind


class WireEnvelope(WireModel):
    """The fields every Messages API and Dispatch message webhook has at its top."""

    message_uuid: MessageId
    timestamp: Timestamp
    client_ref: str | None = None
    usage: WireUsage | None = None


W = TypeVar("W", bound=WireEnvelope)

Locate = Callable[[W, Webhook], tuple[Channel, Address, Address]]
"""Where a version keeps the channel, the user's and the bot's address, in one webhook."""


@dataclass(frozen=True)
class Envelope:
    """The fields a webhook's :class:`Event` shares with every other, once checked: which
    webhook, where, who, which message, when, and the payload as received."""

    webhook: Webhook
    channel: Channel
    user: str
    bot: str
    message_id: str
    timestamp: datetime
    raw: dict[str, Any]
    client_ref: str | None = None
    usage: Usage | None = None

    def event(self, **extra: Any) -> Event:
        """The webhook's :class:`Event`: the envelope's fields plus ``extra``; InvalidPayload
        should the event model refuse them."""
        shared = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "webhook"}
        hook = self.webhook
        return make_event(hook.name, kind=hook.kind, format=hook.format, **shared, **extra)


def read_envelope(
    model: type[W], payload: object, webhook: Webhook, locate: Locate[W], *, now: datetime
) -> tuple[W, Envelope]:
    """``payload`` validated as ``model``, and its checked envelope.

    ``locate`` says where the channel and the addresses are; ``now`` is the time the webhook
    was read (timestamps more than a day after it are refused). Raises
    :class:`~botkit.errors.InvalidPayload` naming every field that is wrong.
    """
    data = require_object(payload, webhook.name)
    wire = validate(model, data, "", webhook.name, now=now)
    channel, user, bot = locate(wire, webhook)
    user_value, bot_value = checked(user, bot, webhook.name)
    usage = wire.usage.event_usage() if wire.usage else None
    ids = (wire.message_uuid, wire.timestamp, data, wire.client_ref, usage)
    return wire, Envelope(webhook, channel, user_value, bot_value, *ids)


def status_info(word: str, error: ProviderError | None) -> StatusInfo:
    """A status word of :data:`~botkit.vonage.inbound.channels.STATUSES` and its error."""
    return StatusInfo(status=STATUSES[word], original=word, error=error)
