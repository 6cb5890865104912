"""Phone numbers, provider ids and sender ids, and where numbers belong."""

from __future__ import annotations

import pytest

from botkit.channels.addresses import (
    looks_like_number,
    normalise,
    normalise_number,
    normalise_sender_id,
    territory_of,
)
from botkit.channels.capabilities import AddressKind


@pytest.mark.parametrize(
    "written",
    [
        "447700900000",
        "+447700900000",
        "00447700900000",
        "+44 7700 900000",
        "+44-7700-900-000",
        "+44 (0) 7700 900000",
        " 447700900000 ",
    ],
)
def test_numbers_become_e164_digits(written: str) -> None:
    assert normalise_number(written) == "447700900000"


@pytest.mark.parametrize(
    "written",
    ["", "12", "07700 900000", "+999 123456789", "4477009000001234567", "44770090000a", "++44"],
)
def test_what_is_not_an_international_number_is_refused(written: str) -> None:
    assert normalise_number(written) is None


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("BotKit", "BotKit"),
        ("My Shop", "My Shop"),
        ("+44 7700 900000", "447700900000"),
        ("12345", "12345"),
        ("ThisIsTooLong", None),
        ("12", None),
        ("Shop!", None),
        ("", None),
    ],
)
def test_sms_senders_are_numbers_short_codes_or_alphanumeric(
    written: str, expected: str | None
) -> None:
    assert normalise_sender_id(written) == expected


def test_ids_are_kept_as_given_within_50_characters() -> None:
    assert normalise(AddressKind.ID, " 3214567890123456 ") == "3214567890123456"
    assert normalise(AddressKind.ID, "x" * 51) is None
    assert normalise(AddressKind.ID, "  ") is None


@pytest.mark.parametrize(
    ("number", "territory"),
    [
        ("447700900000", "GB"),
        ("989121234567", "IR"),
        ("5351234567", "CU"),
        ("85021234567", "KP"),
        ("963944567890", "SY"),
        ("79781234567", "UA-43"),
        ("73652123456", "UA-43"),
        ("380651234567", "UA-43"),
        ("380692123456", "UA-43"),
        ("74951234567", "RU"),
        ("380441234567", "UA"),
    ],
)
def test_territories(number: str, territory: str) -> None:
    assert territory_of(number) == territory


def test_looks_like_number_tells_phone_numbers_from_page_scoped_ids() -> None:
    assert looks_like_number("+44 7700 900000")
    assert looks_like_number("0044 7700 900000")
    assert looks_like_number("14155550100")
    assert not looks_like_number("3214567890123456")
    assert not looks_like_number("107083064136738")
    assert not looks_like_number("0123456789")
