"""The provider's channel and status words as botkit reads them in webhooks (the channel
names themselves are :mod:`botkit.vonage.channel_names`'s, shared with sending)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import PlainValidator

from botkit.events import Channel, DeliveryStatus
from botkit.vonage.channel_names import CHANNELS
from botkit.vonage.inbound.problems import expected

STATUSES: Mapping[str, DeliveryStatus] = {status.value: status for status in DeliveryStatus}
"""Message status words of the Messages and Dispatch APIs."""


def channel_field(
    spec_names: Sequence[str], misspellings: Mapping[str, Channel] | None = None
) -> PlainValidator:
    """A check that maps a wire channel name to :class:`Channel`.

    Any name of :data:`~botkit.vonage.channel_names.CHANNELS` or ``misspellings`` is accepted;
    the error lists ``spec_names``, the names the format's spec uses.
    """
    names = {**CHANNELS, **(misspellings or {})}

    def check(value: Any) -> Channel:
        if isinstance(value, str) and value in names:
            return names[value]
        raise expected("one of: " + ", ".join(spec_names))

    return PlainValidator(check)
