"""The JSON body of ``POST /v0.1/messages``: addresses as objects, content nested in ``message``.

The body follows the shipped spec (``messages-olympus.v0.yml`` 0.5.0). The one addition is
``custom`` content on WhatsApp (and so WhatsApp's interactive buttons and lists), which the
provider's custom-objects guide documents for v0.1 but the 0.5.0 spec does not list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botkit.events import Channel, Text
from botkit.outbound import Custom, Outbound, Template
from botkit.vonage.outbound import (
    VIBER_TTL_MAX,
    VIBER_TTL_MIN,
    UnsupportedContent,
    check_length,
    check_range,
    content_object,
    whatsapp_interactive,
)

API = "Messages API v0.1"

WIRE_CHANNEL: Mapping[Channel, str] = {
    Channel.WHATSAPP: "whatsapp",
    Channel.MESSENGER: "messenger",
    Channel.VIBER: "viber_service_msg",
    Channel.SMS: "sms",
    Channel.MMS: "mms",
}

CONTENT_FIELDS: Mapping[Channel, Mapping[str, tuple[str, ...]]] = {
    Channel.SMS: {"text": ()},
    Channel.MMS: {"image": ("url", "caption"), "contact": ("url",)},
    Channel.WHATSAPP: {
        "text": (),
        "template": (),
        "image": ("url", "caption"),
        "video": ("url",),
        "audio": ("url",),
        "file": ("url", "caption"),
        "custom": (),
    },
    Channel.MESSENGER: {
        "text": (),
        "image": ("url",),
        "video": ("url",),
        "audio": ("url",),
        "file": ("url",),
    },
    Channel.VIBER: {"text": (), "image": ("url",), "template": ()},
}
"""The content types each channel carries on v0.1, each with the fields of its wire object
(none listed for text, template and custom, which have shapes of their own). A field a channel
does not list, such as a WhatsApp video's caption, is not sent."""

CLIENT_REF_MAX = 40

_ADDRESS_KEYS: Mapping[Channel, tuple[str, str]] = {
    Channel.MESSENGER: ("id", "id"),
    Channel.VIBER: ("number", "id"),
}
"""``to`` and ``from`` keys where they are not both ``number``."""

_WIRE_TYPE = {"contact": "vcard"}

_V1_ONLY = "it is sent through the Messages API v1"
_WHY_NOT: Mapping[tuple[Channel, str], str] = {
    (Channel.WHATSAPP, "location"): _V1_ONLY,
    (Channel.WHATSAPP, "sticker"): _V1_ONLY,
    (Channel.WHATSAPP, "reaction"): _V1_ONLY,
    (Channel.VIBER, "video"): _V1_ONLY,
    (Channel.VIBER, "file"): _V1_ONLY,
}


def body(message: Outbound) -> dict[str, Any]:
    """The ``POST /v0.1/messages`` JSON body that sends ``message``.

    ``to`` and ``from`` are ``{type, number}`` objects (``type`` is the channel, Viber being
    ``viber_service_msg``), except Messenger's, which carry ``id`` on both sides, and Viber's
    ``from``, the service ``id``. ``message.content`` is ``{"type": t, t: {...}}`` with the
    fields of :data:`CONTENT_FIELDS` (a Contact is ``vcard``), or ``{"type": "text", "text":
    ...}``; a template is ``{name, parameters}`` plus, on WhatsApp, ``message.whatsapp
    {locale, policy}`` (:class:`~botkit.outbound.WhatsAppOptions` override the template's).
    ``message`` also holds the message's own channel options when set: ``whatsapp``,
    ``messenger {category, tag}``, ``viber_service_msg {category, ttl}``. ``client_ref`` is
    :attr:`~botkit.outbound.Outbound.effective_client_ref`. WhatsApp buttons become ``custom``
    interactive content (:func:`~botkit.vonage.outbound.whatsapp_interactive`). v0.1 has no
    reply context, so ``reply_to`` is not sent; options for other channels are ignored.

    Raises :class:`~botkit.vonage.outbound.UnsupportedContent` for content or buttons the
    channel cannot carry on v0.1, a Viber action button, and SMS options (ttl, entity_id,
    content_id, an encoding other than ``auto``), which v0.1 has no field for;
    :class:`ValueError` for a client_ref over 40 characters, a Viber ttl outside
    30..259200 s and a Messenger ``message_tag`` without tag.
    """
    channel = message.channel
    check_length(message.effective_client_ref, CLIENT_REF_MAX, f"client_ref on the {API}")
    if message.buttons:
        if channel is not Channel.WHATSAPP:
            raise UnsupportedContent(
                API, channel, "buttons", hint="offer the choices in the text instead"
            )
        content = {"type": "custom", "custom": whatsapp_interactive(message, api=API)}
    else:
        content = _content(message)
    wire_channel = WIRE_CHANNEL[channel]
    to_key, from_key = _ADDRESS_KEYS.get(channel, ("number", "number"))
    return {
        "to": {"type": wire_channel, to_key: message.to},
        "from": {"type": wire_channel, from_key: message.sender},
        "message": {"content": content, **_options(message)},
        "client_ref": message.effective_client_ref,
    }


def _content(message: Outbound) -> dict[str, Any]:
    channel, content = message.channel, message.content
    fields = CONTENT_FIELDS[channel].get(content.type)
    if fields is None:
        hint = _WHY_NOT.get((channel, content.type)) or (
            f"{channel.value} carries " + ", ".join(CONTENT_FIELDS[channel])
        )
        raise UnsupportedContent(API, channel, content.type, hint=hint)
    wire_type = _WIRE_TYPE.get(content.type, content.type)
    if isinstance(content, Text):
        return {"type": wire_type, "text": content.text}
    if isinstance(content, Template):
        template: dict[str, Any] = {"name": content.name}
        if content.parameters:
            # The shipped 0.5.0 spec makes parameters an array of strings. Spec 0.3.x, its
            # guides and the Dispatch API used [{"default": "..."}] objects instead.
            template["parameters"] = list(content.parameters)
        return {"type": wire_type, "template": template}
    if isinstance(content, Custom):
        return {"type": wire_type, "custom": content.payload}
    return {"type": wire_type, wire_type: content_object(content, fields)}


def _options(message: Outbound) -> dict[str, Any]:
    channel = message.channel
    if channel is Channel.WHATSAPP:
        options = content_object(message.whatsapp, ("locale", "policy")) if message.whatsapp else {}
        if isinstance(message.content, Template) and not message.buttons:
            options = {
                "locale": options.get("locale", message.content.locale),
                "policy": options.get("policy", message.content.policy),
            }
        return {"whatsapp": options} if options else {}
    if channel is Channel.MESSENGER and message.messenger is not None:
        if message.messenger.category == "message_tag" and not message.messenger.tag:
            raise ValueError("a Messenger message_tag category needs a tag")
        messenger = content_object(message.messenger, ("category", "tag"))
        return {"messenger": messenger} if messenger else {}
    if channel is Channel.VIBER and message.viber is not None:
        if message.viber.action is not None:
            raise UnsupportedContent(
                API, channel, "an action button", hint="Viber action buttons are v1 only"
            )
        if message.viber.ttl is not None:
            check_range(message.viber.ttl, VIBER_TTL_MIN, VIBER_TTL_MAX, "a Viber ttl (seconds)")
        viber = content_object(message.viber, ("category", "ttl"))
        return {"viber_service_msg": viber} if viber else {}
    if channel is Channel.SMS and message.sms is not None:
        sms = content_object(message.sms, ("ttl", "entity_id", "content_id"))
        if message.sms.encoding not in (None, "auto"):
            sms["encoding"] = message.sms.encoding
        if sms:
            raise UnsupportedContent(
                API,
                channel,
                "sms options (" + ", ".join(sms) + ")",
                hint="v0.1 has no field for them: use the Messages API v1 or the SMS API",
            )
    return {}
