"""Phrases the rules' messages and notes share: names of content, lists, durations."""

from __future__ import annotations

from collections.abc import Sequence

from botkit.channels.capabilities import AddressKind, ApiVersion, Capability

NOUNS = {
    "text": "a text",
    "image": "an image",
    "audio": "an audio message",
    "video": "a video",
    "file": "a file",
    "location": "a location",
    "contact": "a contact card",
    "sticker": "a sticker",
    "reaction": "a reaction",
    "template": "a template",
    "custom": "a custom object",
    "contacts": "contact cards",
    "generic_template": "a generic template",
    "button_template": "a button template",
}
ORDER = list(NOUNS)

ADDRESS_FORMS = {
    AddressKind.NUMBER: "a phone number in international form, country code first "
    "(E.164, such as 447700900000)",
    AddressKind.ID: "an id of 1 to 50 characters",
    AddressKind.SENDER_ID: "a number, a short code or an alphanumeric sender id of up to 11 "
    "letters and digits",
}


def listing(words: Sequence[str]) -> str:
    """``"a, b and c"``; a single word as ``"a only"``."""
    if len(words) == 1:
        return f"{words[0]} only"
    return ", ".join(words[:-1]) + " and " + words[-1]


def kinds(names: frozenset[str]) -> str:
    """Content type names listed in a fixed order: ``"text, image and video"``."""
    return listing([kind for kind in ORDER if kind in names])


def carried(cap: Capability, version: ApiVersion) -> str:
    """The content types ``cap`` carries on ``version``, naming the version where it matters."""
    names = listing([kind for kind in ORDER if cap.carries(kind, version)])
    if cap.content == cap.content_v0_1:
        return names
    return f"{names} on the Messages API {version}"


def hours(seconds: float) -> str:
    """``"25 h"``, ``"24.5 h"``: a duration in hours, to a tenth."""
    return f"{seconds / 3600:.1f}".removesuffix(".0") + " h"


def plural(count: int, word: str) -> str:
    """``"1 segment"``, ``"2 segments"``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def shown(cap: Capability) -> str:
    """How ``cap`` shows choices, as a sentence starting with its name."""
    support = cap.choices
    if not support.any:
        return f"{cap.name} has no buttons or lists"
    ways = []
    if support.buttons:
        ways.append(
            f"at most {support.buttons} buttons with titles of up to {support.button_title} "
            f"characters, on {kinds(support.button_content)}"
        )
    if support.list_rows:
        ways.append(
            f"a list of at most {support.list_rows} rows with titles of up to "
            f"{support.row_title} characters, on {kinds(support.list_content)}"
        )
    if support.link_button:
        ways.append(
            f"one button that opens a URL (the choice's id), titled in up to "
            f"{support.link_button_title} characters, on {kinds(support.link_button_content)} "
            "(images with a caption), with the Messages API v1"
        )
    return f"{cap.name} shows " + "; or ".join(ways)
