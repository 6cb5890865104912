"""What a simulated user can send, as posted to ``/_sandbox/users/{channel}/{user}/messages``.

The body holds exactly one content key, plus optional ``profile_name`` (WhatsApp) and
``context`` (the ``message_uuid`` of a bot message the user replies to, WhatsApp and Viber)::

    {"text": "hello"}
    {"reply": {"id": "opt-1", "title": "Yes", "description": "optional"}}    WhatsApp buttons/lists
    {"button": {"payload": "STOP", "text": "Stop promotions"}}              WhatsApp template button
    {"location": {"lat": 51.5, "long": -0.12, "name": "...", "address": "..."}}
    {"image": {"url": "https://...", "caption": "..."}}   also audio, video, file (+name), vcard,
                                                          sticker (url)

Which content each channel lets a user send follows the v1 inbound schemas (plus the SDKs'
``button`` and ``sticker`` on WhatsApp).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botkit.events import Channel
from botkit.sandbox.rules import NUMBER, PAGE_SCOPED_ID

INBOUND_TYPES: Mapping[Channel, frozenset[str]] = {
    Channel.WHATSAPP: frozenset(
        {"text", "image", "audio", "video", "file", "location", "reply", "button", "sticker"}
    ),
    Channel.MESSENGER: frozenset({"text", "image", "audio", "video", "file"}),
    Channel.VIBER: frozenset({"text", "image", "video", "file"}),
    Channel.SMS: frozenset({"text"}),
    Channel.MMS: frozenset({"text", "image", "audio", "video", "vcard"}),
}
"""The message types a user can send on each channel."""

_MEDIA = frozenset({"image", "audio", "video", "file", "vcard", "sticker"})
_ALL_TYPES = frozenset().union(*INBOUND_TYPES.values())


class UserMessageError(ValueError):
    """A simulated user's message the channel cannot carry; the message says why."""


@dataclass(frozen=True)
class UserMessage:
    """A user's message: ``message_type`` and its ``value`` (the text, or the content object
    in the v1 shape), ``profile_name`` and ``context`` (a message uuid)."""

    message_type: str
    value: Any
    profile_name: str | None = None
    context: str | None = None

    @property
    def content(self) -> dict[str, Any]:
        """The message as the conversation log shows it."""
        if self.message_type == "text":
            return {"type": "text", "text": self.value}
        return {**self.value, "type": self.message_type}

    @property
    def text(self) -> str | None:
        return self.value if self.message_type == "text" else None


def check_user(channel: Channel, user: str) -> None:
    """Raise :class:`UserMessageError` unless ``user`` is an address on ``channel``: a
    page-scoped id on Messenger, a number (7-15 digits, no ``+``) elsewhere."""
    if channel is Channel.MESSENGER:
        if not PAGE_SCOPED_ID.fullmatch(user):
            raise UserMessageError("a Messenger user is a page-scoped id of 1-50 characters")
    elif not NUMBER.fullmatch(user):
        raise UserMessageError(
            f"a {channel.value} user is a number of 7-15 digits, without + or 00"
        )


def parse_user_message(channel: Channel, data: object) -> UserMessage:
    """The :class:`UserMessage` in ``data``, or :class:`UserMessageError` saying what is
    wrong."""
    if not isinstance(data, Mapping):
        raise UserMessageError("the body must be a JSON object")
    kinds = [key for key in data if key in _ALL_TYPES]
    unknown = [
        key for key in data if key not in _ALL_TYPES and key not in ("profile_name", "context")
    ]
    if unknown:
        raise UserMessageError(f"unknown field(s): {', '.join(sorted(unknown))}")
    if len(kinds) != 1:
        raise UserMessageError("give exactly one of: " + ", ".join(sorted(INBOUND_TYPES[channel])))
    kind = kinds[0]
    if kind not in INBOUND_TYPES[channel]:
        raise UserMessageError(
            f"a {channel.value} user cannot send {kind}; they can send: "
            + ", ".join(sorted(INBOUND_TYPES[channel]))
        )
    value = _value(kind, data[kind])
    profile_name = data.get("profile_name")
    if profile_name is not None and not isinstance(profile_name, str):
        raise UserMessageError("profile_name must be a string")
    context = data.get("context")
    if context is not None and not (isinstance(context, str) and context):
        raise UserMessageError("context must be the message_uuid of the message replied to")
    return UserMessage(kind, value, profile_name, context)


def _value(kind: str, value: Any) -> Any:
    if kind == "text":
        if not isinstance(value, str) or not value:
            raise UserMessageError("text must be a non-empty string")
        return value
    if not isinstance(value, Mapping):
        raise UserMessageError(f"{kind} must be an object")
    if kind == "reply":
        return _strings(kind, value, required=("id", "title"), optional=("description",))
    if kind == "button":
        return _strings(kind, value, required=("payload", "text"), optional=())
    if kind == "location":
        lat, long = value.get("lat"), value.get("long")
        for name, number, bound in (("lat", lat, 90), ("long", long, 180)):
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise UserMessageError(f"location.{name} must be a number")
            if not -bound <= number <= bound:
                raise UserMessageError(f"location.{name} must be between -{bound} and {bound}")
        extra = _strings(kind, value, required=(), optional=("name", "address"))
        return {"lat": float(value["lat"]), "long": float(value["long"]), **extra}
    if kind in _MEDIA:
        optional = ("caption", "name") if kind == "file" else ("caption",)
        return _strings(kind, value, required=("url",), optional=optional)
    raise UserMessageError(f"unknown message type {kind}")


def _strings(
    kind: str, value: Mapping[str, Any], *, required: tuple[str, ...], optional: tuple[str, ...]
) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in (*required, *optional):
        item = value.get(name)
        if item is None:
            if name in required:
                raise UserMessageError(f"{kind}.{name} is required")
            continue
        if not isinstance(item, str) or (name in required and not item):
            raise UserMessageError(f"{kind}.{name} must be a non-empty string")
        out[name] = item
    return out
