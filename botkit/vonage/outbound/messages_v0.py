"""The JSON body of ``POST /v0.1/messages``: addresses as objects, content nested in ``message``.

The body follows the shipped spec (``messages-olympus.v0.yml`` 0.5.0). The one addition is
``custom`` content on WhatsApp (and so WhatsApp's interactive buttons and lists, and contact
cards) and Messenger (its templates), which the provider's custom-objects guide documents for
v0.1 but the 0.5.0 spec does not list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botkit.events import Channel
from botkit.outbound import Outbound
from botkit.vonage.outbound import (
    MessagesApi,
    UnsupportedContent,
    content_object,
    shared_options,
    viber_options,
)

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
        "contacts": (),
    },
    Channel.MESSENGER: {
        "text": (),
        "image": ("url",),
        "video": ("url",),
        "audio": ("url",),
        "file": ("url",),
        "generic_template": (),
        "button_template": (),
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

_V1_ONLY = "it is sent through the Messages API v1"
_WHY_NOT: Mapping[tuple[Channel, str], str] = {
    (Channel.WHATSAPP, "location"): _V1_ONLY,
    (Channel.WHATSAPP, "sticker"): _V1_ONLY,
    (Channel.WHATSAPP, "reaction"): _V1_ONLY,
    (Channel.VIBER, "video"): _V1_ONLY,
    (Channel.VIBER, "file"): _V1_ONLY,
}

API = MessagesApi("v0.1", CLIENT_REF_MAX, CONTENT_FIELDS, _WHY_NOT)


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
    channel cannot carry on v0.1, a Viber action button, a ``webhook_url``, an MMS ttl and SMS
    options (ttl, entity_id, content_id, an encoding other than ``auto``), which v0.1 has no
    field for;
    :class:`ValueError` for a client_ref over 40 characters, a Viber ttl outside
    30..259200 s and a Messenger ``message_tag`` without tag.
    """
    API.check_client_ref(message)
    if message.buttons:
        content = {"type": "custom", "custom": API.choices(message)}
    else:
        kind, carrier = API.content(message)
        content = {"type": kind, **carrier}
    channel = message.channel
    wire_channel = API.channel_name(channel)
    to_key, from_key = _ADDRESS_KEYS.get(channel, ("number", "number"))
    return {
        "to": {"type": wire_channel, to_key: message.to},
        "from": {"type": wire_channel, from_key: message.sender},
        "message": {"content": content, **_options(message)},
        "client_ref": message.effective_client_ref,
    }


def _options(message: Outbound) -> dict[str, Any]:
    channel = message.channel
    for what, given in (
        ("a per-message webhook_url", message.webhook_url),
        ("an MMS ttl", message.mms.ttl if message.mms else None),
    ):
        if given is not None and (what != "an MMS ttl" or channel is Channel.MMS):
            raise UnsupportedContent(
                API.name, channel, what, hint="v0.1 has no field for it: use the Messages API v1"
            )
    if channel in (Channel.WHATSAPP, Channel.MESSENGER):
        return shared_options(message)
    if channel is Channel.VIBER and message.viber is not None:
        if message.viber.action is not None:
            raise UnsupportedContent(
                API.name, channel, "an action button", hint="Viber action buttons are v1 only"
            )
        viber = viber_options(message)
        return {"viber_service_msg": viber} if viber else {}
    if channel is Channel.SMS and message.sms is not None:
        sms = content_object(message.sms, ("ttl", "entity_id", "content_id"))
        if message.sms.encoding not in (None, "auto"):
            sms["encoding"] = message.sms.encoding
        if sms:
            raise UnsupportedContent(
                API.name,
                channel,
                "sms options (" + ", ".join(sms) + ")",
                hint="v0.1 has no field for them: use the Messages API v1 or the SMS API",
            )
    return {}
