"""The JSON body of ``POST /v1/messages``: flat, one content field named after ``message_type``.

The body is the spec's (``messages-olympus.yml`` 1.4.0) where it covers a field, and the
official SDKs' where the live API moved on after the public spec stopped: WhatsApp ``sticker``,
``reaction`` and ``context``, the ``sms`` options object, ``ttl`` (SMS and MMS),
``webhook_url``, MMS ``text`` and ``file``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botkit.events import Channel, Image, Reaction, Sticker, Video
from botkit.outbound import Outbound, ViberOptions
from botkit.vonage.outbound import (
    MMS_TTL_RANGE,
    VIBER_VIDEO_MEGABYTES,
    VIBER_VIDEO_SECONDS,
    MessagesApi,
    UnsupportedContent,
    check_length,
    check_range,
    content_object,
    shared_options,
    viber_options,
)

CONTENT_FIELDS: Mapping[Channel, Mapping[str, tuple[str, ...]]] = {
    Channel.SMS: {"text": ()},
    Channel.MMS: {
        "image": ("url", "caption"),
        "contact": ("url", "caption"),
        "audio": ("url", "caption"),
        "video": ("url", "caption"),
        "text": (),
        "file": ("url", "caption"),
    },
    Channel.WHATSAPP: {
        "text": (),
        "image": ("url", "caption"),
        "audio": ("url",),
        "video": ("url", "caption"),
        "file": ("url", "caption", "name"),
        "location": ("lat", "long", "name", "address"),
        "template": (),
        "custom": (),
        "contacts": (),
        "sticker": ("url", "id"),
        "reaction": ("action", "emoji"),
    },
    Channel.MESSENGER: {
        "text": (),
        "image": ("url",),
        "audio": ("url",),
        "video": ("url",),
        "file": ("url",),
    },
    Channel.VIBER: {
        "text": (),
        "image": ("url", "caption"),
        "video": ("url", "caption", "thumb_url"),
        "file": ("url", "name"),
    },
}
"""The content types each channel carries on v1, each with the fields of its wire object
(none listed for text, template and custom, which have shapes of their own). A field a channel
does not list, such as a Messenger image's caption, is not sent."""

CLIENT_REF_MAX = 100

_TEMPLATES_V0 = (
    "Messenger templates are custom objects, which only the Messages API v0.1 sends to Messenger"
)
_WHY_NOT: Mapping[tuple[Channel, str], str] = {
    (Channel.VIBER, "template"): "Viber templates are sent through the Messages API v0.1",
    (Channel.WHATSAPP, "contact"): (
        "WhatsApp takes contact cards as Contacts (a custom contacts object), not a vCard url"
    ),
    (Channel.MESSENGER, "generic_template"): _TEMPLATES_V0,
    (Channel.MESSENGER, "button_template"): _TEMPLATES_V0,
}

API = MessagesApi("v1", CLIENT_REF_MAX, CONTENT_FIELDS, _WHY_NOT)

_VIBER_ACTION_TYPES = ("text", "image")
_VIBER_ACTION_TEXT_MAX = 30


def body(message: Outbound) -> dict[str, Any]:
    """The ``POST /v1/messages`` JSON body that sends ``message``.

    Keys: ``message_type``, ``channel`` (Viber is ``viber_service``), ``to``, ``from``, the
    content field named after the type (``text`` is a string; a Contact is ``vcard``; fields
    per :data:`CONTENT_FIELDS`; a template is ``template {name, parameters}`` plus ``whatsapp
    {policy, locale}``, where :class:`~botkit.outbound.WhatsAppOptions` override the
    template's), ``client_ref`` (:attr:`~botkit.outbound.Outbound.effective_client_ref`),
    ``context {message_uuid}`` for ``reply_to`` on WhatsApp (other channels cannot quote, so
    it is left out there), and the options of the message's own channel when any is set:
    ``whatsapp``, ``messenger {category, tag}``, ``viber_service {category, ttl, action}``
    (a video adds ``duration`` and ``file_size``, as strings), ``sms {encoding_type,
    content_id, entity_id}`` with ``ttl`` (seconds) beside it, and an MMS ``ttl`` (seconds,
    from :class:`~botkit.outbound.MmsOptions`). ``webhook_url`` when the message has one.
    Options for other channels are ignored. WhatsApp buttons become a ``custom`` interactive message
    (:func:`~botkit.vonage.outbound.whatsapp_interactive`).

    Raises :class:`~botkit.vonage.outbound.UnsupportedContent` for content or buttons the
    channel cannot carry, and for a Viber action button on anything but text or an image;
    :class:`ValueError` for a message the API refuses: a client_ref over 100 characters, a
    reaction without ``reply_to`` or a ``react`` without emoji, a sticker with both or neither
    of url and id, a Viber ttl outside 30..259200 s, a Viber action text over 30 characters or
    on an image without caption, a Viber video without thumb_url, duration (1..600 s) or
    file_size (1..200 MB), a Messenger ``message_tag`` without tag, an SMS ttl under 1, an MMS
    ttl outside 300..259200 s.
    """
    API.check_client_ref(message)
    if message.buttons:
        message_type, content = "custom", {"custom": API.choices(message)}
    else:
        message_type, content = _content(message)
    channel = message.channel
    wire: dict[str, Any] = {
        "message_type": message_type,
        "channel": API.channel_name(channel),
        "to": message.to,
        "from": message.sender,
        **content,
        "client_ref": message.effective_client_ref,
    }
    if message.reply_to and channel is Channel.WHATSAPP:
        wire["context"] = {"message_uuid": message.reply_to}
    if message.webhook_url is not None:
        wire["webhook_url"] = message.webhook_url
    wire.update(_options(message))
    return wire


def _content(message: Outbound) -> tuple[str, dict[str, Any]]:
    wire = API.content(message)
    content = message.content
    if isinstance(content, Sticker) and (content.url is None) == (content.id is None):
        raise ValueError("a WhatsApp sticker needs exactly one of url and id")
    if isinstance(content, Reaction):
        _check_reaction(content, message.reply_to)
    return wire


def _check_reaction(reaction: Reaction, reply_to: str | None) -> None:
    if not reply_to:
        raise ValueError("a reaction needs reply_to: the message_uuid of the message it reacts to")
    if reaction.action == "react" and not reaction.emoji:
        raise ValueError("a react reaction needs an emoji")


def _options(message: Outbound) -> dict[str, Any]:
    channel = message.channel
    if channel in (Channel.WHATSAPP, Channel.MESSENGER):
        return shared_options(message)
    if channel is Channel.VIBER:
        viber = _viber(message)
        return {"viber_service": viber} if viber else {}
    if channel is Channel.SMS:
        return _sms(message)
    if channel is Channel.MMS and message.mms is not None and message.mms.ttl is not None:
        check_range(message.mms.ttl, *MMS_TTL_RANGE, "an MMS ttl (seconds)")
        return {"ttl": message.mms.ttl}
    return {}


def _viber(message: Outbound) -> dict[str, Any]:
    viber = viber_options(message)
    if isinstance(message.content, Video):
        viber.update(_video_details(message.content, message.viber))
    action = message.viber.action if message.viber else None
    if action is not None:
        content = message.content
        if content.type not in _VIBER_ACTION_TYPES:
            raise UnsupportedContent(
                API.name,
                message.channel,
                f"an action button with {content.type}",
                hint="Viber action buttons go with text or an image",
            )
        if isinstance(content, Image) and not content.caption:
            raise ValueError("a Viber image with an action button needs a caption")
        check_length(action.text, _VIBER_ACTION_TEXT_MAX, "a Viber action button text")
        viber["action"] = {"url": action.url, "text": action.text}
    return viber


def _video_details(video: Video, options: ViberOptions | None) -> dict[str, str]:
    """``duration`` and ``file_size`` as the strings the API takes; :class:`ValueError` naming
    what a Viber video lacks or has out of range."""
    duration = options.duration if options else None
    file_size = options.file_size if options else None
    if duration is None or file_size is None or not video.thumb_url:
        raise ValueError(
            "a Viber video needs thumb_url, viber.duration and viber.file_size; "
            f"got thumb_url={video.thumb_url!r}, duration={duration!r}, file_size={file_size!r}"
        )
    check_range(duration, *VIBER_VIDEO_SECONDS, "a Viber video's duration (seconds)")
    check_range(file_size, *VIBER_VIDEO_MEGABYTES, "a Viber video's file_size (MB)")
    return {"duration": str(duration), "file_size": str(file_size)}


def _sms(message: Outbound) -> dict[str, Any]:
    options = message.sms
    if options is None:
        return {}
    wire: dict[str, Any] = {}
    sms = content_object(options, ("encoding", "content_id", "entity_id"))
    if "encoding" in sms:
        sms = {"encoding_type": sms.pop("encoding"), **sms}
    if sms:
        wire["sms"] = sms
    if options.ttl is not None:
        if options.ttl < 1:
            raise ValueError(f"an SMS ttl must be at least 1 second, got {options.ttl}")
        wire["ttl"] = options.ttl
    return wire
