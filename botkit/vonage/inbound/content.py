"""The content of an inbound Messages API message (either version) as botkit's content types.

:func:`content_in` finds the content a message declares in the object that carries it;
:func:`content_of` maps one content value; :func:`multipart_of` a multi-part MMS array.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botkit.errors import InvalidPayload, Problem
from botkit.events import (
    Audio,
    ButtonReply,
    Contact,
    Content,
    File,
    Image,
    InboundTemplate,
    Location,
    MultiPart,
    Order,
    OrderItem,
    Reaction,
    Sticker,
    Text,
    Unsupported,
    Video,
)
from botkit.vonage.inbound.problems import validate
from botkit.vonage.inbound.wire import (
    WireButton,
    WireLocation,
    WireMedia,
    WireMultiPartItem,
    WireOrder,
    WireReaction,
    WireReply,
    WireSticker,
    WireTemplate,
)

MediaContent = Image | Audio | Video | File | Contact

_MEDIA: Mapping[str, type[MediaContent]] = {
    "image": Image,
    "audio": Audio,
    "video": Video,
    "file": File,
    "vcard": Contact,
}

KNOWN_TYPES = frozenset(
    {*_MEDIA, "text", "location", "sticker", "reaction", "reply", "button", "order", "template"}
)
"""The message types :func:`content_of` maps; any other becomes :class:`Unsupported`."""


def content_in(
    kind: str, carrier: Mapping[str, Any], prefix: str, declared_by: str, format_name: str
) -> Content:
    """The content of a ``kind`` message (one of :data:`KNOWN_TYPES`), held in ``carrier[kind]``.

    ``prefix`` is where ``carrier`` sits in the payload (``""`` at the top) and ``declared_by``
    the field that named ``kind``, both for problems. Raises :class:`InvalidPayload` when the
    content is missing or does not fit ``kind``.
    """
    path = f"{prefix}.{kind}" if prefix else kind
    if kind not in carrier:
        raise InvalidPayload(
            Problem(path, f"the content of the {kind} message ({declared_by} is {kind})"),
            format_name=format_name,
        )
    return content_of(kind, carrier[kind], path, format_name)


def _media(kind: type[MediaContent], wire: WireMedia) -> MediaContent:
    if kind is Video:
        return Video(url=wire.url, caption=wire.caption, thumb_url=wire.thumb_url)
    if kind is File:
        return File(url=wire.url, caption=wire.caption, name=wire.name)
    return kind(url=wire.url, caption=wire.caption)


def content_of(kind: str, value: Any, path: str, format_name: str) -> Content:
    """The :data:`~botkit.events.Content` of a message of type ``kind`` carried in ``value``.

    ``path`` is where ``value`` sits in the payload, for problems. ``kind`` must be one of
    :data:`KNOWN_TYPES`. Raises :class:`InvalidPayload` when ``value`` does not fit ``kind``.
    """
    if kind == "text":
        if not isinstance(value, str):
            raise InvalidPayload(
                Problem(path, "a string: the message text"), format_name=format_name
            )
        return Text(text=value)
    if kind in _MEDIA:
        return _media(_MEDIA[kind], validate(WireMedia, value, path, format_name))
    if kind == "location":
        return _location(validate(WireLocation, value, path, format_name), path, format_name)
    if kind == "sticker":
        sticker = validate(WireSticker, value, path, format_name)
        return Sticker(url=sticker.url, id=sticker.id)
    if kind == "reaction":
        reaction = validate(WireReaction, value, path, format_name)
        action = "react" if reaction.action == "react" else "unreact"
        return Reaction(action=action, emoji=reaction.emoji)
    if kind == "reply":
        reply = validate(WireReply, value, path, format_name)
        return ButtonReply(
            id=reply.id, title=reply.title, description=reply.description, source="reply"
        )
    if kind == "button":
        return _button(validate(WireButton, value, path, format_name), path, format_name)
    if kind == "order":
        order = validate(WireOrder, value, path, format_name)
        items = tuple(
            OrderItem(
                product_retailer_id=item.product_retailer_id,
                quantity=item.quantity,
                item_price=item.item_price,
                currency=item.currency,
            )
            for item in order.product_items
        )
        return Order(catalog_id=order.catalog_id, items=items)
    if kind == "template":
        template = validate(WireTemplate, value, path, format_name)
        return InboundTemplate(name=template.name, parameters=tuple(template.parameters))
    raise ValueError(f"not a known message type: {kind!r}")


def _location(wire: WireLocation, path: str, format_name: str) -> Location:
    lat = wire.lat if wire.lat is not None else wire.latitude
    long = wire.long if wire.long is not None else wire.longitude
    problems = []
    if lat is None:
        problems.append(
            Problem(f"{path}.lat", "a latitude: a number from -90 to 90 (or `latitude`)")
        )
    if long is None:
        problems.append(
            Problem(f"{path}.long", "a longitude: a number from -180 to 180 (or `longitude`)")
        )
    if lat is None or long is None:
        raise InvalidPayload(problems, format_name=format_name)
    return Location(lat=lat, long=long, name=wire.name, address=wire.address, url=wire.url)


def _button(wire: WireButton, path: str, format_name: str) -> ButtonReply:
    choice = wire.payload if wire.payload is not None else wire.text
    if choice is None:
        raise InvalidPayload(
            Problem(f"{path}.payload", "a string: the payload of the button (or its text)"),
            format_name=format_name,
        )
    return ButtonReply(id=choice, title=wire.text, source="button")


def multipart_of(value: Any, path: str, format_name: str) -> MultiPart | None:
    """The parts of a multi-part MMS ``content`` array; None when no part is of a known type.

    Each part is ``{type, url, caption?}`` (or ``{type: "text", text}``). Parts of unknown
    types are left out; the event's ``raw`` keeps them.
    """
    if not isinstance(value, list):
        raise InvalidPayload(Problem(path, "an array of message parts"), format_name=format_name)
    parts: list[MediaContent | Text] = []
    for index, item in enumerate(value):
        where = f"{path}.{index}"
        part = validate(WireMultiPartItem, item, where, format_name)
        if part.type == "text":
            if part.text is None:
                raise InvalidPayload(Problem(f"{where}.text", "a string"), format_name=format_name)
            parts.append(Text(text=part.text))
        elif part.type in _MEDIA:
            parts.append(_media(_MEDIA[part.type], validate(WireMedia, item, where, format_name)))
    return MultiPart(parts=tuple(parts)) if parts else None


def unsupported(declared: str | None, raw: dict[str, Any]) -> Unsupported:
    return Unsupported(declared_type=declared, raw=raw)
