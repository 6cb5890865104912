"""What the user's and the bot's addresses must look like on each channel, and the check of
a webhook's pair of addresses against them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from botkit.errors import InvalidPayload, Problem
from botkit.events import Channel, EventKind

MAX_ADDRESS_ID = 50

T = TypeVar("T")


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


def rules(channel: Channel, kind: EventKind) -> tuple[AddressRule, AddressRule]:
    """The rules of the user's and of the bot's address in a ``kind`` webhook on ``channel``.

    In a message the bot is the receiver (:data:`BOT_RULE`); in a status it is the sender of
    the message reported on (:data:`SENDER_RULE`).
    """
    bot = SENDER_RULE if kind is EventKind.STATUS else BOT_RULE
    return USER_RULE[channel], bot[channel]


def user_and_bot(kind: EventKind, sender: T, receiver: T) -> tuple[T, T]:
    """Which of a webhook's ``from`` (``sender``) and ``to`` (``receiver``) is the user's and
    which the bot's address: a message goes from the user to the bot, a status reports on a
    message from the bot to the user."""
    return (receiver, sender) if kind is EventKind.STATUS else (sender, receiver)


@dataclass(frozen=True)
class Address:
    """An address as a webhook gave it: where it sits (``path``), its ``value`` (None when the
    field is absent) and the ``rule`` it must follow."""

    path: str
    value: str | None
    rule: AddressRule

    def problem(self) -> Problem | None:
        """What is wrong with the address, if anything."""
        if self.value is None or not self.rule.accepts(self.value):
            return Problem(self.path, self.rule.expected)
        return None


def checked(user: Address, bot: Address, format_name: str) -> tuple[str, str]:
    """The values of ``user`` and ``bot``; InvalidPayload naming each one its rule refuses."""
    problems = [p for p in (user.problem(), bot.problem()) if p is not None]
    if problems or user.value is None or bot.value is None:
        raise InvalidPayload(problems, format_name=format_name)
    return user.value, bot.value
