"""Messages API v0.1 webhooks: ``to``/``from`` objects and a nested ``message.content``.

The channel is ``to.type`` (Viber is ``viber_service_msg``). An address is ``number`` or ``id``
depending on the channel and side: Messenger uses ids on both sides, Viber the user's number and
the bot's service id, the other channels numbers. A status error is ``{code, reason}``.
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
    SmsInfo,
    StatusInfo,
    WebhookFormat,
)
from botkit.vonage.inbound._common import (
    BOT_RULE,
    CHANNEL_ID,
    KNOWN_TYPES,
    SENDER_RULE,
    STATUSES,
    USER_RULE,
    AddressRule,
    CodeOrText,
    Count,
    MessageId,
    Timestamp,
    WireModel,
    WireUsage,
    channel_field,
    content_of,
    make_event,
    numeric_code,
    one_of,
    require_object,
    unsupported,
    validate,
)

INBOUND = "v0.1 inbound message"
STATUS = "v0.1 message status"

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


class _Profile(WireModel):
    name: str | None = None


class _Inbound(WireModel):
    message_uuid: MessageId
    timestamp: Timestamp
    to: _Address
    sender: _Address = Field(alias="from")
    message: _Message
    usage: WireUsage | None = None
    client_ref: str | None = None
    profile: _Profile | None = None


class _Error(WireModel):
    code: CodeOrText | None = None
    reason: str | None = None


class _Status(WireModel):
    message_uuid: MessageId
    timestamp: Timestamp
    to: _Address
    sender: _Address = Field(alias="from")
    status: Annotated[str, one_of(*STATUSES)]
    error: _Error | None = None
    usage: WireUsage | None = None
    client_ref: str | None = None


def parse_inbound(payload: object) -> Event:
    """A v0.1 inbound-message webhook as a ``MESSAGE`` event.

    ``user`` is the ``from`` address and ``bot`` the ``to`` address. ``message.content.type``
    names the content; text is in ``content.text``, anything else in ``content.<type>``. A
    WhatsApp location may be ``{latitude, longitude}`` strings (0.5.0) or ``{lat, long}``
    (0.3.x); a template quick-reply ``button {payload, text}`` becomes a
    :class:`~botkit.events.ButtonReply`; unknown types become
    :class:`~botkit.events.Unsupported`. ``message.sms`` becomes
    :class:`~botkit.events.SmsInfo`. Raises :class:`~botkit.errors.InvalidPayload` (and nothing
    else) for a payload the provider would not send.
    """
    data = require_object(payload, INBOUND)
    wire = validate(_Inbound, data, "", INBOUND)
    channel = _channel(wire.to, wire.sender, INBOUND)
    user, bot = _addresses(
        (wire.sender, "from", USER_RULE[channel]), (wire.to, "to", BOT_RULE[channel]), INBOUND
    )
    sms = wire.message.sms
    return make_event(
        INBOUND,
        kind=EventKind.MESSAGE,
        channel=channel,
        user=user,
        bot=bot,
        message_id=wire.message_uuid,
        timestamp=wire.timestamp,
        format=WebhookFormat.V0_1,
        raw=data,
        client_ref=wire.client_ref,
        content=_content(wire.message.content.type, data["message"]["content"]),
        profile_name=wire.profile.name if wire.profile else None,
        sms=SmsInfo(keyword=sms.keyword, num_messages=sms.num_messages) if sms else None,
        usage=wire.usage.event_usage() if wire.usage else None,
    )


def parse_status(payload: object, *, format_name: str = STATUS) -> Event:
    """A v0.1 message-status webhook as a ``STATUS`` event about the bot's message.

    ``user`` is the ``to`` address (the recipient) and ``bot`` the ``from`` address; an SMS
    sender may be alphanumeric. ``error {code, reason}`` becomes a
    :class:`~botkit.events.ProviderError` with ``title`` = ``reason``. ``format_name`` names
    the webhook in problems (Dispatch reuses this parser). Raises
    :class:`~botkit.errors.InvalidPayload` (and nothing else) for an impossible payload.
    """
    data = require_object(payload, format_name)
    wire = validate(_Status, data, "", format_name)
    channel = _channel(wire.to, wire.sender, format_name)
    user, bot = _addresses(
        (wire.to, "to", USER_RULE[channel]),
        (wire.sender, "from", SENDER_RULE[channel]),
        format_name,
    )
    return make_event(
        format_name,
        kind=EventKind.STATUS,
        channel=channel,
        user=user,
        bot=bot,
        message_id=wire.message_uuid,
        timestamp=wire.timestamp,
        format=WebhookFormat.V0_1,
        raw=data,
        client_ref=wire.client_ref,
        status=StatusInfo(
            status=STATUSES[wire.status], original=wire.status, error=_error(wire.error)
        ),
        usage=wire.usage.event_usage() if wire.usage else None,
    )


def _channel(to: _Address, sender: _Address, format_name: str) -> Channel:
    if sender.type is not to.type:
        raise InvalidPayload(
            Problem("from.type", f"the channel of to.type ({to.type.value})"),
            format_name=format_name,
        )
    return to.type


_Side = tuple[_Address, str, AddressRule]


def _addresses(user: _Side, bot: _Side, format_name: str) -> tuple[str, str]:
    """The user's and the bot's address, each checked against its rule."""
    values, problems = [], []
    for address, side, rule in (user, bot):
        value_or_problem = _address(address, side, rule)
        if isinstance(value_or_problem, Problem):
            problems.append(value_or_problem)
        else:
            values.append(value_or_problem)
    if problems:
        raise InvalidPayload(problems, format_name=format_name)
    return values[0], values[1]


def _address(address: _Address, side: str, rule: AddressRule) -> str | Problem:
    """The ``number`` or ``id`` the channel uses on this side (else the other one)."""
    preferred, other = ("id", "number") if rule == CHANNEL_ID else ("number", "id")
    key = preferred if getattr(address, preferred) is not None else other
    value: str | None = getattr(address, key)
    if value is None:
        return Problem(f"{side}.{preferred}", rule.expected)
    if not rule.accepts(value):
        return Problem(f"{side}.{key}", rule.expected)
    return value


def _content(kind: str, content: dict[str, Any]) -> Content:
    if kind not in KNOWN_TYPES:
        return unsupported(kind, content)
    path = f"message.content.{kind}"
    if kind not in content:
        raise InvalidPayload(
            Problem(path, f"the content of the {kind} message (content.type is {kind})"),
            format_name=INBOUND,
        )
    return content_of(kind, content[kind], path, INBOUND)


def _error(error: _Error | None) -> ProviderError | None:
    if error is None:
        return None
    words = error.reason or (str(error.code) if error.code is not None else "unknown error")
    return ProviderError(code=numeric_code(error.code), title=words)
