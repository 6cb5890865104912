"""Messages API v1 webhooks: flat JSON objects with a top-level ``channel``.

An inbound message names its content type in ``message_type`` and carries the content in the
field of that name (``text`` is a string, the others objects). A status reports on a message the
bot sent, with an RFC 7807-style ``error``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from botkit.errors import InvalidPayload, Problem
from botkit.events import (
    Channel,
    Content,
    Event,
    EventKind,
    ProviderError,
    ReplyContext,
    SmsInfo,
    WebhookFormat,
    WorkflowInfo,
)
from botkit.vonage.inbound.addresses import Address, rules, user_and_bot
from botkit.vonage.inbound.channels import STATUSES, channel_field
from botkit.vonage.inbound.content import KNOWN_TYPES, content_in, multipart_of, unsupported
from botkit.vonage.inbound.envelope import Webhook, WireEnvelope, read_envelope, status_info
from botkit.vonage.inbound.values import CodeOrText, Count, numeric_code, one_of
from botkit.vonage.inbound.wire import WireModel, WireProfile

INBOUND = Webhook("v1 inbound message", WebhookFormat.V1, EventKind.MESSAGE)
STATUS = Webhook("v1 message status", WebhookFormat.V1, EventKind.STATUS)

_V1Channel = Annotated[
    Channel, channel_field(("sms", "mms", "whatsapp", "messenger", "viber_service"))
]


class _Channel(WireModel):
    channel: _V1Channel


class _Envelope(WireEnvelope, _Channel):  # fields in this order: channel first, as on the wire
    to: str
    sender: str = Field(alias="from")


class _Context(WireModel):
    message_uuid: str | None = None
    message_from: str | None = None
    whatsapp_referred_product: dict[str, Any] | None = None


class _WhatsappInbound(WireModel):
    # SDK-era field: the product a click-to-WhatsApp or "Message Business" message refers to.
    whatsapp_referred_product: dict[str, Any] | None = None


class _SmsMeta(WireModel):
    num_messages: Count | None = None
    total_count: Count | None = None
    keyword: str | None = None


class _Inbound(_Envelope):
    message_type: str | None = None
    profile: WireProfile | None = None
    context: _Context | None = None
    whatsapp: _WhatsappInbound | None = None
    sms: _SmsMeta | None = None


class _Error(WireModel):
    type: str | None = None
    title: CodeOrText | None = None
    detail: str | None = None
    instance: str | None = None


class _Workflow(WireModel):
    # The SDKs disagree on the key: ``workflow_id`` (.NET) or ``id`` (Java).
    workflow_id: str | None = None
    id: str | None = None


class _Status(_Envelope):
    status: Annotated[str, one_of(*STATUSES)]
    error: _Error | None = None
    workflow: _Workflow | None = None


def parse_inbound(payload: object, *, now: datetime) -> Event:
    """A v1 inbound-message webhook as a ``MESSAGE`` event.

    ``user`` is ``from`` and ``bot`` is ``to``. Content comes from ``message_type`` and the field
    it names; an SMS without ``message_type`` is text. A multi-part MMS ``content`` array
    becomes :class:`~botkit.events.MultiPart`; a type botkit does not know becomes
    :class:`~botkit.events.Unsupported`. WhatsApp's ``profile.name`` becomes ``profile_name`` and
    ``context`` a :class:`~botkit.events.ReplyContext`; SMS ``sms`` metadata becomes
    :class:`~botkit.events.SmsInfo`. ``now`` is the time the webhook was read: a ``timestamp``
    more than a day after it is refused. Raises :class:`~botkit.errors.InvalidPayload` (and
    nothing else) for a payload the provider would not send.
    """
    wire, envelope = read_envelope(_Inbound, payload, INBOUND, _locate, now=now)
    return envelope.event(
        content=_content(wire, envelope.raw),
        context=_context(wire),
        profile_name=wire.profile.name if wire.profile else None,
        sms=_sms(wire.sms),
    )


def parse_status(payload: object, *, now: datetime) -> Event:
    """A v1 message-status webhook as a ``STATUS`` event about the bot's message.

    ``user`` is ``to`` (the recipient) and ``bot`` is ``from``; ``status`` keeps the provider's
    word in ``original``. ``error.title`` holds the error code, as a string or a number: when it
    is numeric it becomes :attr:`~botkit.events.ProviderError.code`. A failover ``workflow``
    object becomes :class:`~botkit.events.WorkflowInfo`. ``now`` is as for
    :func:`parse_inbound`. Raises :class:`~botkit.errors.InvalidPayload` (and nothing else) for
    an impossible payload.
    """
    wire, envelope = read_envelope(_Status, payload, STATUS, _locate, now=now)
    workflow_id = (wire.workflow.workflow_id or wire.workflow.id) if wire.workflow else None
    return envelope.event(
        status=status_info(wire.status, _error(wire.error)),
        workflow=WorkflowInfo(workflow_id=workflow_id) if workflow_id else None,
    )


def _locate(wire: _Envelope, webhook: Webhook) -> tuple[Channel, Address, Address]:
    user_rule, bot_rule = rules(wire.channel, webhook.kind)
    (user_path, user), (bot_path, bot) = user_and_bot(
        webhook.kind, ("from", wire.sender), ("to", wire.to)
    )
    return wire.channel, Address(user_path, user, user_rule), Address(bot_path, bot, bot_rule)


def _content(wire: _Inbound, data: dict[str, Any]) -> Content:
    kind = wire.message_type
    if kind is None:
        if "text" not in data and not isinstance(data.get("content"), list):
            raise InvalidPayload(
                Problem("message_type", "a string naming the type of message"),
                format_name=INBOUND.name,
            )
        kind = "text" if "text" in data else "content"
    if kind == "content" or (kind not in KNOWN_TYPES and isinstance(data.get("content"), list)):
        parts = multipart_of(data.get("content"), "content", INBOUND.name)
        return parts if parts is not None else unsupported(kind, {"content": data.get("content")})
    if kind not in KNOWN_TYPES:
        return unsupported(kind, {kind: data[kind]} if kind in data else {})
    return content_in(kind, data, "", "message_type", INBOUND.name)


def _context(wire: _Inbound) -> ReplyContext | None:
    product = wire.context.whatsapp_referred_product if wire.context else None
    if product is None and wire.whatsapp is not None:
        product = wire.whatsapp.whatsapp_referred_product
    if wire.context is None and product is None:
        return None
    return ReplyContext(
        message_id=wire.context.message_uuid if wire.context else None,
        message_from=wire.context.message_from if wire.context else None,
        referred_product=(
            {key: value for key, value in product.items() if isinstance(value, str)}
            if product is not None
            else None
        ),
    )


def _sms(meta: _SmsMeta | None) -> SmsInfo | None:
    if meta is None:
        return None
    parts = meta.num_messages if meta.num_messages is not None else meta.total_count
    return SmsInfo(keyword=meta.keyword, num_messages=parts)


def _error(error: _Error | None) -> ProviderError | None:
    if error is None:
        return None
    title = error.title
    return ProviderError(
        code=numeric_code(title),
        title=str(title) if title is not None else (error.detail or "unknown error"),
        detail=error.detail,
        type=error.type,
    )
