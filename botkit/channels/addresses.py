"""Addresses on the channels: phone numbers in E.164, provider ids, and their territories."""

from __future__ import annotations

import functools
import re

import phonenumbers

from botkit.channels.capabilities import AddressKind

MAX_ID = 50
MAX_ALPHANUMERIC_SENDER = 11

_FORMATTING = re.compile(r"[\s\-().\u00a0]")
_DIGITS = re.compile(r"\+?[0-9]+")
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9 ]+")
_LETTER = re.compile(r"[A-Za-z]")

# phonenumbers places Crimea's numbers in RU or UA; the providers' sanctions lists name the
# region itself. Russian-assigned mobile +7 978 and landlines +7 365, +7 869 (Sevastopol);
# the Ukrainian plan's +380 65 and +380 692 (Sevastopol).
_CRIMEA_PREFIXES = ("7978", "7365", "7869", "38065", "380692")
CRIMEA = "UA-43"

TERRITORY_NAMES = {
    "CU": "Cuba",
    "IR": "Iran",
    "KP": "North Korea",
    "SY": "Syria",
    CRIMEA: "Crimea",
    "US": "the United States",
}
"""Names for the territories some channel does not serve, or serves alone."""


@functools.lru_cache(maxsize=65536)
def normalise_number(raw: str) -> str | None:
    """The E.164 digits (no ``+``) of a phone number in international form, or None.

    Spaces, dashes, dots and parentheses are ignored; a leading ``+`` or ``00`` is dropped and
    digits alone are read as starting with the country code. A trunk ``(0)`` after the country
    code is removed. The number must be a *possible* number of a known country code with 7 to 15
    digits; it need not be assigned, so test ranges such as 447700900000 pass.
    """
    compact = _FORMATTING.sub("", raw)
    if compact.startswith("00"):
        compact = compact[2:]
    if not _DIGITS.fullmatch(compact):
        return None
    try:
        parsed = phonenumbers.parse("+" + compact.removeprefix("+"))
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    digits = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]
    return digits if 7 <= len(digits) <= 15 else None


@functools.lru_cache(maxsize=65536)
def looks_like_number(address: str) -> bool:
    """True when ``address`` is written as a phone number rather than a provider id.

    Provider ids are digits too, so only a ``+``, a ``00`` prefix, separators, or digits that
    make a valid (assigned) number of at most 15 digits count as a phone number.
    """
    stripped = address.strip()
    if stripped.startswith(("+", "00")) or _FORMATTING.search(stripped):
        return normalise_number(stripped) is not None
    if not stripped.isascii() or not stripped.isdigit() or len(stripped) > 15:
        return False
    try:
        parsed = phonenumbers.parse("+" + stripped)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(parsed))


def normalise_sender_id(raw: str) -> str | None:
    """A number or short code as digits (3 to 15), an alphanumeric sender id as given, or None.

    An alphanumeric sender id has 1 to 11 letters, digits and spaces, at least one a letter.
    """
    compact = _FORMATTING.sub("", raw)
    if _DIGITS.fullmatch(compact):
        digits = compact.removeprefix("+")
        digits = digits[2:] if digits.startswith("00") else digits
        return digits if 3 <= len(digits) <= 15 else None
    sender = raw.strip()
    if (
        0 < len(sender) <= MAX_ALPHANUMERIC_SENDER
        and _ALPHANUMERIC.fullmatch(sender)
        and _LETTER.search(sender)
    ):
        return sender
    return None


def normalise_id(raw: str) -> str | None:
    """A provider id without surrounding whitespace, 1 to 50 characters, or None."""
    value = raw.strip()
    return value if 0 < len(value) <= MAX_ID else None


def normalise(kind: AddressKind, raw: str) -> str | None:
    """``raw`` as an address of ``kind``, or None when it is not one."""
    if kind is AddressKind.NUMBER:
        return normalise_number(raw)
    if kind is AddressKind.SENDER_ID:
        return normalise_sender_id(raw)
    return normalise_id(raw)


@functools.lru_cache(maxsize=65536)
def territory_of(number: str) -> str | None:
    """The ISO 3166 code of where an E.164 number (digits) belongs, or None if unknown.

    Countries are ISO 3166-1 codes (``"IR"``); Crimea is ``"UA-43"``, told by its prefixes.
    """
    if number.startswith(_CRIMEA_PREFIXES):
        return CRIMEA
    try:
        parsed = phonenumbers.parse("+" + number)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    if region is None and parsed.country_code is not None:
        region = phonenumbers.region_code_for_country_code(parsed.country_code)
    return None if region in (None, phonenumbers.UNKNOWN_REGION) else region
