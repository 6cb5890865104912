"""A send request the sandbox has parsed: who it goes to, from whom, and what it says.

Messages API v1 and v0.1 bodies, and SMS API parameters, all become one :class:`Submission`
once their schema has been checked, so the channel rules and the delivery simulation deal
with one shape. ``content`` is the message as the conversation log shows it: ``{"type":
"text", "text": ...}``, ``{"type": "image", "url": ..., "caption": ...}``, ``{"type":
"template", "name": ..., "parameters": [...], "locale": ...}``, ``{"type": "custom", "custom":
{...}}`` and so on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from botkit.events import Channel
from botkit.sandbox.config import WebhookVersion

SubmissionApi = Literal["v1", "v0.1", "sms"]

V1_CHANNELS: Mapping[str, Channel] = {
    "sms": Channel.SMS,
    "mms": Channel.MMS,
    "whatsapp": Channel.WHATSAPP,
    "messenger": Channel.MESSENGER,
    "viber_service": Channel.VIBER,
}
V0_CHANNELS: Mapping[str, Channel] = {
    "sms": Channel.SMS,
    "mms": Channel.MMS,
    "whatsapp": Channel.WHATSAPP,
    "messenger": Channel.MESSENGER,
    "viber_service_msg": Channel.VIBER,
}
V1_WIRE: Mapping[Channel, str] = {channel: wire for wire, channel in V1_CHANNELS.items()}
V0_WIRE: Mapping[Channel, str] = {channel: wire for wire, channel in V0_CHANNELS.items()}

V0_OPTIONS_KEY: Mapping[Channel, str] = {
    Channel.WHATSAPP: "whatsapp",
    Channel.MESSENGER: "messenger",
    Channel.VIBER: "viber_service_msg",
    Channel.SMS: "sms",
    Channel.MMS: "mms",
}
"""Where v0.1 keeps a channel's options, inside ``message``."""


@dataclass(frozen=True)
class Submission:
    """One accepted-for-checking send: ``to`` is the user, ``sender`` the bot's address.

    ``options`` is the channel's options object (``whatsapp``, ``messenger``,
    ``viber_service``, ``sms``), empty when absent. ``webhook_url``/``webhook_version`` are the
    per-message status webhook overrides (v1 only). ``body`` is the request as received.
    """

    api: SubmissionApi
    channel: Channel
    message_type: str
    to: str
    sender: str
    content: dict[str, Any]
    options: dict[str, Any]
    client_ref: str | None
    webhook_url: str | None
    webhook_version: WebhookVersion | None
    body: dict[str, Any]

    @property
    def text(self) -> str | None:
        value = self.content.get("text") if self.message_type == "text" else None
        return value if isinstance(value, str) else None


def _content(message_type: str, value: Any) -> dict[str, Any]:
    if message_type == "text":
        return {"type": "text", "text": value}
    if message_type in ("custom", "content") or not isinstance(value, Mapping):
        return {"type": message_type, message_type: value}
    return {**value, "type": message_type}


def from_v1(body: dict[str, Any]) -> Submission:
    """The submission of a v1 body that passed its schema."""
    wire = str(body["channel"])
    message_type = str(body["message_type"])
    options = body.get(wire)
    content = _content(message_type, body.get(message_type))
    if message_type == "template" and isinstance(options, Mapping) and "locale" in options:
        content["locale"] = options["locale"]
    version = body.get("webhook_version")
    return Submission(
        api="v1",
        channel=V1_CHANNELS[wire],
        message_type=message_type,
        to=str(body["to"]),
        sender=str(body["from"]),
        content=content,
        options=dict(options) if isinstance(options, Mapping) else {},
        client_ref=_optional_str(body.get("client_ref")),
        webhook_url=_optional_str(body.get("webhook_url")),
        webhook_version="v0.1" if version == "v0.1" else "v1" if version == "v1" else None,
        body=body,
    )


def from_v0(body: dict[str, Any]) -> Submission:
    """The submission of a v0.1 body that passed its schema."""
    channel = V0_CHANNELS[str(body["to"]["type"])]
    message = body["message"]
    content_in = message["content"]
    message_type = str(content_in["type"])
    value = content_in.get("text") if message_type == "text" else content_in.get(message_type)
    options = message.get(V0_OPTIONS_KEY[channel])
    content = _content(message_type, value)
    if message_type == "template" and isinstance(options, Mapping) and "locale" in options:
        content["locale"] = options["locale"]
    return Submission(
        api="v0.1",
        channel=channel,
        message_type=message_type,
        to=_address(body["to"]),
        sender=_address(body["from"]),
        content=content,
        options=dict(options) if isinstance(options, Mapping) else {},
        client_ref=_optional_str(body.get("client_ref")),
        webhook_url=None,
        webhook_version=None,
        body=body,
    )


def addressee(body: object, api: Literal["v1", "v0.1"]) -> tuple[Channel | None, str | None]:
    """The channel and user a send body (possibly invalid) is about, for the log; None for
    what it does not say."""
    if not isinstance(body, Mapping):
        return None, None
    if api == "v1":
        channel = V1_CHANNELS.get(str(body.get("channel")))
        to = body.get("to")
    else:
        to_side = body.get("to")
        to_side = to_side if isinstance(to_side, Mapping) else {}
        channel = V0_CHANNELS.get(str(to_side.get("type")))
        to = to_side.get("number", to_side.get("id"))
    if channel is None or not isinstance(to, str) or not to:
        return None, None
    return channel, to


def _address(side: Mapping[str, Any]) -> str:
    value = side.get("number", side.get("id"))
    return "" if value is None else str(value)


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
