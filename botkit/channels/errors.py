"""Errors raised when a message breaks a rule of its channel.

Each message names the channel, says what was wrong and what the bot author can do about it;
recipients' numbers and ids appear masked.
"""

from __future__ import annotations

from botkit.errors import BotkitError
from botkit.events import Channel


class ChannelRuleError(BotkitError):
    """A message the channel would refuse; raised before anything is sent."""

    def __init__(self, message: str, *, channel: Channel) -> None:
        super().__init__(message)
        self.channel = channel


class WindowClosed(ChannelRuleError):
    """Free-form messages are allowed only for a time after the user's last message."""


class RecipientNotAllowed(ChannelRuleError):
    """The channel lets the bot write only to this kind of recipient, or only after they wrote."""


class UnsupportedOnChannel(ChannelRuleError):
    """The channel cannot carry this content, media type or way of offering choices."""


class InvalidAddress(ChannelRuleError):
    """A recipient or sender address that is not an address on the channel."""


class CountryNotSupported(ChannelRuleError):
    """The channel is not available in the country of the recipient or the sender."""


class TooLong(ChannelRuleError):
    """A value outside the channel's limits: a caption, a client_ref, a time to live, a name."""
