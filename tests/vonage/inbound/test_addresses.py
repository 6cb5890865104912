"""Address rules: who is the user and who the bot, and each address named when wrong."""

from __future__ import annotations

import pytest

from botkit.errors import InvalidPayload, Problem
from botkit.events import Channel, EventKind
from botkit.vonage.inbound.addresses import (
    BOT_NUMBER,
    CHANNEL_ID,
    PHONE,
    SENDER,
    Address,
    checked,
    rules,
    user_and_bot,
)


def test_a_message_is_from_the_user_and_a_status_from_the_bot() -> None:
    assert user_and_bot(EventKind.MESSAGE, "from", "to") == ("from", "to")
    assert user_and_bot(EventKind.STATUS, "from", "to") == ("to", "from")


def test_an_sms_status_may_name_an_alphanumeric_sender() -> None:
    assert rules(Channel.SMS, EventKind.MESSAGE) == (PHONE, BOT_NUMBER)
    assert rules(Channel.SMS, EventKind.STATUS) == (PHONE, SENDER)
    assert rules(Channel.MESSENGER, EventKind.STATUS) == (CHANNEL_ID, CHANNEL_ID)


def test_checked_addresses_give_their_values() -> None:
    user = Address("from", "447700900001", PHONE)
    bot = Address("to", "12345", BOT_NUMBER)

    assert checked(user, bot, "test") == ("447700900001", "12345")


def test_every_wrong_or_missing_address_is_named_with_its_rule() -> None:
    user = Address("from.number", "+4477", PHONE)
    bot = Address("to.id", None, CHANNEL_ID)

    with pytest.raises(InvalidPayload) as caught:
        checked(user, bot, "test")

    assert caught.value.problems == [
        Problem("from.number", PHONE.expected),
        Problem("to.id", CHANNEL_ID.expected),
    ]
    assert caught.value.format_name == "test"
