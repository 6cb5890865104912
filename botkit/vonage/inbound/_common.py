"""Building blocks the webhook parsers share: value checks that say what they expected, content
models used by both Messages API versions, and the translation of pydantic's errors into
:class:`~botkit.errors.InvalidPayload`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from botkit.errors import InvalidPayload, Problem
from botkit.events import (
    Audio,
    ButtonReply,
    Channel,
    Contact,
    Content,
    DeliveryStatus,
    Event,
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
    Usage,
    Video,
)

_EXPECTED = "expected"
"""pydantic error type of the checks below; its message is what was expected."""

_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_MAX_AHEAD = timedelta(days=1)
MAX_MESSAGE_ID = 200
MAX_ADDRESS_ID = 50


def expected(what: str) -> PydanticCustomError:
    """An error whose message is ``what``: the words :attr:`Problem.expected` carries."""
    return PydanticCustomError(_EXPECTED, what)


class WireModel(BaseModel):
    """A wire format object: unknown fields are kept (the provider adds fields over time)."""

    model_config = ConfigDict(extra="allow", frozen=True)


# --- value checks ------------------------------------------------------------------------------


def _message_id(value: Any) -> str:
    if not isinstance(value, str) or not 0 < len(value.strip()) <= MAX_MESSAGE_ID:
        raise expected(f"a message id: a non-blank string of at most {MAX_MESSAGE_ID} characters")
    return value


_READ_AT: ContextVar[datetime | None] = ContextVar("botkit_webhook_read_at", default=None)


@contextmanager
def read_at(now: datetime) -> Iterator[None]:
    """Judge webhook timestamps against ``now`` (the app's clock) instead of the machine's,
    so a sandbox whose clock was moved a day forward is not refused."""
    token = _READ_AT.set(now)
    try:
        yield
    finally:
        _READ_AT.reset(token)


def parse_timestamp(value: Any, *, now: datetime | None = None) -> datetime:
    """An ISO 8601 string (``Z``, an offset or none, read as UTC) to an aware UTC datetime.

    Raises :class:`PydanticCustomError` for anything else, and for instants before 2000 or more
    than a day after ``now`` (default: the time set by :func:`read_at`, else the current time):
    no real webhook carries those.
    """
    what = (
        "an ISO 8601 date-time such as 2020-01-01T14:00:00.000Z, after 2000 and not in the future"
    )
    if not isinstance(value, str) or len(value) > 64:
        raise expected(what)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise expected(what) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        raise expected(what) from None
    reference = now or _READ_AT.get() or datetime.now(UTC)
    if parsed < _EARLIEST or parsed > reference + _MAX_AHEAD:
        raise expected(what)
    return parsed


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise expected(what)
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise expected(what) from None
    if not math.isfinite(number):
        raise expected(what)
    return number


def _latitude(value: Any) -> float:
    what = "a latitude: a number from -90 to 90"
    number = _number(value, what)
    if not -90 <= number <= 90:
        raise expected(what)
    return number


def _longitude(value: Any) -> float:
    what = "a longitude: a number from -180 to 180"
    number = _number(value, what)
    if not -180 <= number <= 180:
        raise expected(what)
    return number


def _amount(value: Any) -> float:
    return _number(value, "a number, or a string holding one")


def _count(value: Any) -> int:
    what = "a whole number of at least 0 (a string of digits or an integer)"
    if isinstance(value, bool):
        raise expected(what)
    if isinstance(value, int) and value >= 0:
        return value
    count = numeric_code(value) if isinstance(value, str) else None
    if count is None:
        raise expected(what)
    return count


def _price(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return str(value)
    raise expected("a price: a number, usually as a string such as 0.0333")


def _url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise expected("a URL: a non-blank string")
    return value


def _template_parameter(value: Any) -> str:
    # 0.5.0 sends plain strings; 0.3.x and Dispatch wrap each in {"default": ...}.
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("default"), str):
        return str(value["default"])
    raise expected('a string, or an object {"default": string}')


def _code_or_text(value: Any) -> str | int:
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise expected("a string or an integer")


def numeric_code(value: str | int | None) -> int | None:
    """The integer in ``value`` (``1300`` or ``"1300"``, at most 9 digits), else None."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    return None


MessageId = Annotated[str, PlainValidator(_message_id)]
Timestamp = Annotated[datetime, PlainValidator(parse_timestamp)]
Latitude = Annotated[float, PlainValidator(_latitude)]
Longitude = Annotated[float, PlainValidator(_longitude)]
Amount = Annotated[float, PlainValidator(_amount)]
Count = Annotated[int, PlainValidator(_count)]
Price = Annotated[str, PlainValidator(_price)]
Url = Annotated[str, PlainValidator(_url)]
TemplateParameter = Annotated[str, PlainValidator(_template_parameter)]
CodeOrText = Annotated[str | int, PlainValidator(_code_or_text)]


def one_of(*values: str) -> PlainValidator:
    """A check that the value is one of ``values`` (strings), naming them when it is not."""
    allowed = frozenset(values)

    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise expected("one of: " + ", ".join(values))
        return value

    return PlainValidator(check)


# --- channels and addresses --------------------------------------------------------------------

CHANNELS: Mapping[str, Channel] = {
    "sms": Channel.SMS,
    "mms": Channel.MMS,
    "whatsapp": Channel.WHATSAPP,
    "messenger": Channel.MESSENGER,
    "viber_service": Channel.VIBER,
    "viber_service_msg": Channel.VIBER,
}
"""Channel names on the wire; v1 says ``viber_service``, v0.1 and Dispatch ``viber_service_msg``."""

STATUSES: Mapping[str, DeliveryStatus] = {status.value: status for status in DeliveryStatus}


def channel_field(
    spec_names: Sequence[str], misspellings: Mapping[str, Channel] | None = None
) -> PlainValidator:
    """A check that maps a wire channel name to :class:`Channel`.

    Any name of :data:`CHANNELS` or ``misspellings`` is accepted; the error lists
    ``spec_names``, the names the format's spec uses.
    """
    names = {**CHANNELS, **(misspellings or {})}

    def check(value: Any) -> Channel:
        if isinstance(value, str) and value in names:
            return names[value]
        raise expected("one of: " + ", ".join(spec_names))

    return PlainValidator(check)


@dataclass(frozen=True)
class AddressRule:
    """What an address must look like: ``expected`` in words, ``pattern`` for the whole value."""

    expected: str
    pattern: re.Pattern[str]

    def accepts(self, value: str) -> bool:
        return self.pattern.fullmatch(value) is not None


PHONE = AddressRule(
    "a phone number: 7-15 digits (E.164 without + or 00)", re.compile(r"[0-9]{7,15}")
)
BOT_NUMBER = AddressRule(
    "a number: 3-15 digits (E.164 without + or 00, or a short code)", re.compile(r"[0-9]{3,15}")
)
WHATSAPP_USER = AddressRule(
    "a phone number of 7-15 digits (E.164 without + or 00), or a business-scoped user id "
    "such as US.13491208655302741918",
    re.compile(r"[0-9]{7,15}|[A-Z]{2}\.[0-9A-Za-z]{1,47}"),
)
CHANNEL_ID = AddressRule(
    f"an id: 1-{MAX_ADDRESS_ID} characters without spaces",
    re.compile(rf"\S{{1,{MAX_ADDRESS_ID}}}"),
)
SENDER = AddressRule(
    f"a sender: a number or an alphanumeric sender id of 1-{MAX_ADDRESS_ID} characters",
    re.compile(rf"(?=.*\S)[^\x00-\x1f\x7f]{{1,{MAX_ADDRESS_ID}}}"),
)

USER_RULE: Mapping[Channel, AddressRule] = {
    Channel.SMS: PHONE,
    Channel.MMS: PHONE,
    Channel.WHATSAPP: WHATSAPP_USER,
    Channel.MESSENGER: CHANNEL_ID,
    Channel.VIBER: PHONE,
}
"""The user's address, per channel."""

BOT_RULE: Mapping[Channel, AddressRule] = {
    Channel.SMS: BOT_NUMBER,
    Channel.MMS: BOT_NUMBER,
    Channel.WHATSAPP: BOT_NUMBER,
    Channel.MESSENGER: CHANNEL_ID,
    Channel.VIBER: CHANNEL_ID,
}
"""The bot's address as the receiver of a message, per channel."""

SENDER_RULE: Mapping[Channel, AddressRule] = {**BOT_RULE, Channel.SMS: SENDER}
"""The bot's address as the sender a status reports on: an SMS sender may be alphanumeric."""


def address_problems(checks: Sequence[tuple[str, str, AddressRule]]) -> list[Problem]:
    """Problems for each ``(path, value, rule)`` whose value the rule does not accept."""
    return [Problem(path, rule.expected) for path, value, rule in checks if not rule.accepts(value)]


# --- shared wire objects -----------------------------------------------------------------------


class WireUsage(WireModel):
    currency: str | None = None
    price: Price | None = None

    def event_usage(self) -> Usage:
        return Usage(price=self.price, currency=self.currency)


class WireMedia(WireModel):
    url: Url
    caption: str | None = None
    name: str | None = None
    thumb_url: str | None = None


class WireLocation(WireModel):
    """Both location shapes: ``{lat, long}`` numbers and v0.1's ``{latitude, longitude}``."""

    lat: Latitude | None = None
    long: Longitude | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    name: str | None = None
    address: str | None = None
    url: str | None = None


class WireReply(WireModel):
    id: str
    title: str | None = None
    description: str | None = None


class WireButton(WireModel):
    payload: str | None = None
    text: str | None = None
    subtype: str | None = None


class WireReaction(WireModel):
    action: Annotated[str, one_of("react", "unreact")]
    emoji: str | None = None


class WireSticker(WireModel):
    url: str | None = None
    id: str | None = None


class WireOrderItem(WireModel):
    product_retailer_id: str
    quantity: Count
    item_price: Amount | None = None
    currency: str | None = None


class WireOrder(WireModel):
    catalog_id: str | None = None
    product_items: list[WireOrderItem] = Field(default_factory=list)


class WireTemplate(WireModel):
    name: str
    parameters: list[TemplateParameter] = Field(default_factory=list)


class WireMultiPartItem(WireModel):
    type: str
    text: str | None = None


# --- content -----------------------------------------------------------------------------------

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


# --- validation --------------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)

_WORDS: Mapping[str, str] = {
    "missing": "a value (the field is required)",
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "an array",
}


def problems_of(error: ValidationError, path: str = "") -> list[Problem]:
    """Each pydantic error as a :class:`Problem` at its dotted path (below ``path``).

    Errors of the checks in this module carry their own words; pydantic's common ones are
    translated; any other keeps pydantic's message. One problem per field.
    """
    problems: dict[str, Problem] = {}
    for item in error.errors(include_url=False):
        where = ".".join(p for p in (path, *(str(part) for part in item["loc"])) if p) or "body"
        if item["type"] == _EXPECTED:
            what = item["msg"]
        else:
            what = _WORDS.get(item["type"], str(item["msg"]).lower())
        problems.setdefault(where, Problem(where, what))
    return list(problems.values())


def validate(model: type[M], value: Any, path: str, format_name: str) -> M:
    """``model`` validated from ``value``, or :class:`InvalidPayload` naming what was wrong."""
    try:
        return model.model_validate(value)
    except ValidationError as error:
        raise InvalidPayload(problems_of(error, path), format_name=format_name) from None


def require_object(payload: object, format_name: str) -> dict[str, Any]:
    """``payload`` if it is a JSON object (a dict with string keys); else InvalidPayload."""
    if not isinstance(payload, dict) or not all(isinstance(key, str) for key in payload):
        raise InvalidPayload(Problem("body", "a JSON object"), format_name=format_name)
    return payload


def make_event(format_name: str, **fields: Any) -> Event:
    """An :class:`Event` of ``fields``; should the model still refuse them, InvalidPayload."""
    try:
        return Event(**fields)
    except ValidationError as error:
        raise InvalidPayload(problems_of(error), format_name=format_name) from None
