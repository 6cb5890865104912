"""Messages API v0.1 webhooks: ``to``/``from`` objects and a nested ``message.content``.

The channel is ``to.type`` (Viber is ``viber_service_msg``). An address is ``number`` or ``id``
depending on the channel and side: Messenger uses ids on both sides, Viber the user's number and
the bot's service id, the other channels numbers. A status error is ``{code, reason}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from botkit.errors import InvalidPayload, Problem
from botkit.events import Channel, Content, Event, EventKind, ProviderError, SmsInfo, WebhookFormat
from botkit.vonage.inbound.addresses import (
    CHANNEL_ID,
    Address,
    AddressRule,
    rules,
    user_and_bot,
)
from botkit.vonage.inbound.channels import STATUSES, channel_field
from botkit.vonage.inbound.content import KNOWN_TYPES, content_in, unsupported
from botkit.vonage.inbound.envelope import Webhook, WireEnvelope, read_envelope, status_info
from botkit.vonage.inbound.values import CodeOrText, Count, numeric_code, one_of
from botkit.vonage.inbound.wire import WireModel, WireProfile

INBOUND = Webhook("v0.1 inbound message", WebhookFormat.V0_1, EventKind.MESSAGE)
STATUS = Webhook("v0.1 message status", WebhookFormat.V0_1, EventKind.STATUS)

_V0Channel = Annotated[
    Channel, channel_field(("sms", "mms", "whatsapp", "messenger", "viber_service_msg"))
]


class _Address(WireModel):
    type: _V0Channel
    number: str | None = None
    id: str | None = None


class _Content(WireModel):
    type: str


class _SmsMeta(WireModel):
    num_messages: Count | None = None
    keyword: str | None = None


class _Message(WireModel):
    content: _Content
    sms: _SmsMeta | None = None


class _Envelope(WireEnvelope):
    to: _Address
    sender: _Address = Field(alias="from")


class _Inbound(_Envelope):
    message: _Message
    profile: WireProfile | None = None


class _Error(WireModel):
    code: CodeOrText | None = None
    reason: str | None = None


class _Status(_Envelope):
    status: Annotated[str, one_of(*STATUSES)]
    error: _Error | None = None


def parse_inbound(payload: object, *, now: datetime) -> Event:
    """A v0.1 inbound-message webhook as a ``MESSAGE`` event.

    ``user`` is the ``from`` address and ``bot`` the ``to`` address. ``message.content.type``
    names the content; text is in ``content.text``, anything else in ``content.<type>``. A
    WhatsApp location may be ``{latitude, longitude}`` strings (0.5.0) or ``{lat, long}``
    (0.3.x); a template quick-reply ``button {payload, text}`` becomes a
    :class:`~botkit.events.ButtonReply`; unknown types become
    :class:`~botkit.events.Unsupported`. ``message.sms`` becomes
    :class:`~botkit.events.SmsInfo`. ``now`` is the time the webhook was read: a ``timestamp``
    more than a day after it is refused. Raises :class:`~botkit.errors.InvalidPayload` (and
    nothing else) for a payload the provider would not send.
    """
    wire, envelope = read_envelope(_Inbound, payload, INBOUND, _locate, now=now)
    sms = wire.message.sms
    return envelope.event(
        content=_content(wire.message.content.type, envelope.raw["message"]["content"]),
        profile_name=wire.profile.name if wire.profile else None,
        sms=SmsInfo(keyword=sms.keyword, num_messages=sms.num_messages) if sms else None,
    )


def parse_status(payload: object, *, now: datetime) -> Event:
    """A v0.1 message-status webhook as a ``STATUS`` event about the bot's message.

    ``user`` is the ``to`` address (the recipient) and ``bot`` the ``from`` address; an SMS
    sender may be alphanumeric. ``error {code, reason}`` becomes a
    :class:`~botkit.events.ProviderError` with ``title`` = ``reason``. ``now`` is as for
    :func:`parse_inbound`. Raises :class:`~botkit.errors.InvalidPayload` (and nothing else) for
    an impossible payload.
    """
    return status_event(payload, STATUS, now=now)


def status_event(payload: object, webhook: Webhook, *, now: datetime, **fields: Any) -> Event:
    """A status shaped as v0.1's, as ``webhook`` (v0.1's own, or Dispatch's, which adds
    ``fields``); see :func:`parse_status`."""
    wire, envelope = read_envelope(_Status, payload, webhook, _locate, now=now)
    return envelope.event(status=status_info(wire.status, _error(wire.error)), **fields)


def _locate(wire: _Envelope, webhook: Webhook) -> tuple[Channel, Address, Address]:
    if wire.sender.type is not wire.to.type:
        raise InvalidPayload(
            Problem("from.type", f"the channel of to.type ({wire.to.type.value})"),
            format_name=webhook.name,
        )
    channel = wire.to.type
    user_rule, bot_rule = rules(channel, webhook.kind)
    (user, user_side), (bot, bot_side) = user_and_bot(
        webhook.kind, (wire.sender, "from"), (wire.to, "to")
    )
    return channel, _address(user, user_side, user_rule), _address(bot, bot_side, bot_rule)


def _address(address: _Address, side: str, rule: AddressRule) -> Address:
    """The ``number`` or ``id`` the channel uses on this side (else the other one)."""
    preferred, other = ("id", "number") if rule == CHANNEL_ID else ("number", "id")
    key = preferred if getattr(address, preferred) is not None else other
    value: str | None = getattr(address, key)
    return Address(f"{side}.{key if value is not None else preferred}", value, rule)


def _content(kind: str, content: dict[str, Any]) -> Content:
    if kind not in KNOWN_TYPES:
        return unsupported(kind, content)
    return content_in(kind, content, "message.content", "content.type", INBOUND.name)


def _error(error: _Error | None) -> ProviderError | None:
    if error is None:
        return None
    words = error.reason or (str(error.code) if error.code is not None else "unknown error")
    return ProviderError(code=numeric_code(error.code), title=words)
