"""Messages API v1 webhooks: flat JSON objects with a top-level ``channel``.

An inbound message names its content type in ``message_type`` and carries the content in the
field of that name (``text`` is a string, the others objects). A status reports on a message the
bot sent, with an RFC 7807-style ``error``.
"""

from __future__ import annotations

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
    StatusInfo,
    WebhookFormat,
    WorkflowInfo,
)
from botkit.vonage.inbound._common import (
    BOT_RULE,
    KNOWN_TYPES,
    SENDER_RULE,
    STATUSES,
    USER_RULE,
    CodeOrText,
    Count,
    MessageId,
    Timestamp,
    WireModel,
    WireUsage,
    address_problems,
    channel_field,
    content_of,
    make_event,
    multipart_of,
    numeric_code,
    one_of,
    require_object,
    unsupported,
    validate,
)

INBOUND = "v1 inbound message"
STATUS = "v1 message status"

_V1Channel = Annotated[
    Channel, channel_field(("sms", "mms", "whatsapp", "messenger", "viber_service"))
]


class _Envelope(WireModel):
    channel: _V1Channel
    message_uuid: MessageId
    to: str
    sender: str = Field(alias="from")
    timestamp: Timestamp
    client_ref: str | None = None


class _Profile(WireModel):
    name: str | None = None


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
    profile: _Profile | None = None
    context: _Context | None = None
    whatsapp: _WhatsappInbound | None = None
    sms: _SmsMeta | None = None
    usage: WireUsage | None = None


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
    usage: WireUsage | None = None
    workflow: _Workflow | None = None


def parse_inbound(payload: object) -> Event:
    """A v1 inbound-message webhook as a ``MESSAGE`` event.

    ``user`` is ``from`` and ``bot`` is ``to``. Content comes from ``message_type`` and the field
    it names; an SMS without ``message_type`` is text. A multi-part MMS ``content`` array
    becomes :class:`~botkit.events.MultiPart`; a type botkit does not know becomes
    :class:`~botkit.events.Unsupported`. WhatsApp's ``profile.name`` becomes ``profile_name`` and
    ``context`` a :class:`~botkit.events.ReplyContext`; SMS ``sms`` metadata becomes
    :class:`~botkit.events.SmsInfo`. Raises :class:`~botkit.errors.InvalidPayload` (and nothing
    else) for a payload the provider would not send.
    """
    data = require_object(payload, INBOUND)
    wire = validate(_Inbound, data, "", INBOUND)
    _check_addresses(wire.channel, user=("from", wire.sender), bot=("to", wire.to), sending=False)
    return make_event(
        INBOUND,
        kind=EventKind.MESSAGE,
        channel=wire.channel,
        user=wire.sender,
        bot=wire.to,
        message_id=wire.message_uuid,
        timestamp=wire.timestamp,
        format=WebhookFormat.V1,
        raw=data,
        client_ref=wire.client_ref,
        content=_content(wire, data),
        context=_context(wire),
        profile_name=wire.profile.name if wire.profile else None,
        sms=_sms(wire.sms),
        usage=wire.usage.event_usage() if wire.usage else None,
    )


def parse_status(payload: object) -> Event:
    """A v1 message-status webhook as a ``STATUS`` event about the bot's message.

    ``user`` is ``to`` (the recipient) and ``bot`` is ``from``; ``status`` keeps the provider's
    word in ``original``. ``error.title`` holds the error code, as a string or a number: when it
    is numeric it becomes :attr:`~botkit.events.ProviderError.code`. A failover ``workflow``
    object becomes :class:`~botkit.events.WorkflowInfo`. Raises
    :class:`~botkit.errors.InvalidPayload` (and nothing else) for an impossible payload.
    """
    data = require_object(payload, STATUS)
    wire = validate(_Status, data, "", STATUS)
    _check_addresses(wire.channel, user=("to", wire.to), bot=("from", wire.sender), sending=True)
    workflow_id = (wire.workflow.workflow_id or wire.workflow.id) if wire.workflow else None
    return make_event(
        STATUS,
        kind=EventKind.STATUS,
        channel=wire.channel,
        user=wire.to,
        bot=wire.sender,
        message_id=wire.message_uuid,
        timestamp=wire.timestamp,
        format=WebhookFormat.V1,
        raw=data,
        client_ref=wire.client_ref,
        status=StatusInfo(
            status=STATUSES[wire.status], original=wire.status, error=_error(wire.error)
        ),
        usage=wire.usage.event_usage() if wire.usage else None,
        workflow=WorkflowInfo(workflow_id=workflow_id) if workflow_id else None,
    )


def _check_addresses(
    channel: Channel, *, user: tuple[str, str], bot: tuple[str, str], sending: bool
) -> None:
    bot_rule = (SENDER_RULE if sending else BOT_RULE)[channel]
    problems = address_problems([(*user, USER_RULE[channel]), (*bot, bot_rule)])
    if problems:
        raise InvalidPayload(problems, format_name=STATUS if sending else INBOUND)


def _content(wire: _Inbound, data: dict[str, Any]) -> Content:
    kind = wire.message_type
    if kind is None:
        if "text" not in data and not isinstance(data.get("content"), list):
            raise InvalidPayload(
                Problem("message_type", "a string naming the type of message"),
                format_name=INBOUND,
            )
        kind = "text" if "text" in data else "content"
    if kind == "content" or (kind not in KNOWN_TYPES and isinstance(data.get("content"), list)):
        parts = multipart_of(data.get("content"), "content", INBOUND)
        return parts if parts is not None else unsupported(kind, {"content": data.get("content")})
    if kind not in KNOWN_TYPES:
        return unsupported(kind, {kind: data[kind]} if kind in data else {})
    if kind not in data:
        raise InvalidPayload(
            Problem(kind, f"the content of the {kind} message (message_type is {kind})"),
            format_name=INBOUND,
        )
    return content_of(kind, data[kind], kind, INBOUND)


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
