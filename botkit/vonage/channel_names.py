"""The provider's names for botkit's channels: one table, for sending and for reading.

The Messages API v1 calls Viber ``viber_service``; v0.1 (and the Dispatch API) call it
``viber_service_msg``. Every other channel has one name everywhere: ``sms``, ``mms``,
``whatsapp``, ``messenger``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from botkit.events import Channel

__all__ = ["CHANNELS", "WIRE_NAMES", "MessagesVersion", "wire_name"]

MessagesVersion = Literal["v1", "v0.1"]

WIRE_NAMES: Mapping[MessagesVersion, Mapping[Channel, str]] = {
    "v1": {
        Channel.SMS: "sms",
        Channel.MMS: "mms",
        Channel.WHATSAPP: "whatsapp",
        Channel.MESSENGER: "messenger",
        Channel.VIBER: "viber_service",
    },
    "v0.1": {
        Channel.SMS: "sms",
        Channel.MMS: "mms",
        Channel.WHATSAPP: "whatsapp",
        Channel.MESSENGER: "messenger",
        Channel.VIBER: "viber_service_msg",
    },
}
"""Each channel's name on each Messages API version."""

CHANNELS: Mapping[str, Channel] = {
    name: channel for names in WIRE_NAMES.values() for channel, name in names.items()
}
"""Every name the provider gives a channel, on any version, and the channel it names."""


def wire_name(channel: Channel, version: MessagesVersion = "v1") -> str:
    """The provider's name for ``channel`` on the Messages API ``version``."""
    return WIRE_NAMES[version][channel]
