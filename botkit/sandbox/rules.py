"""The channel rules the provider enforces beyond the request schemas.

Two kinds:

- :func:`request_violations`: what the provider refuses at once (HTTP 422 in v1, 400 in
  v0.1). Text over the channel's limit (SMS 1000, WhatsApp 4096, Messenger 640, Viber 1000
  characters, as the spec's descriptions say), empty text, a ``client_ref`` over 100 (v1) or
  40 (v0.1) characters, a recipient that is not an E.164 number without ``+`` on a number
  channel, a sender that is not the bot's own number or id, a Messenger ``message_tag``
  without ``tag``, a Viber image with an action button but no caption, a Viber video without
  ``duration``/``file_size``, a WhatsApp sticker with both or neither of ``url`` and ``id``,
  a location outside the globe, an MMS to or from a number outside the United States, and a
  Viber ``promotion`` as the first message the account sends a user.
- :func:`delivery_refusal`: what the provider accepts (202) and then reports as a ``rejected``
  status. A custom object WhatsApp or Facebook would refuse (:func:`custom_object_fits`) is
  rejected with 1020 "Invalid params". WhatsApp refuses anything but a template once 24 hours
  have passed since the user's last message (or when the user never wrote): error 1340
  "Outside of the allowed window".
  Messenger refuses a page-scoped id that never wrote to the page with 1300 "Not part of the
  provider network" (the id names no user of this page; Facebook answers "No matching user
  found") and, after 24 hours without a message from the user, anything not sent with
  ``category: message_tag``, with 1340.

Violations name parameters as v1 does (``text``, ``image.caption``, ``messenger.tag``);
:func:`wire_name` gives the v0.1 path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Literal

import phonenumbers

from botkit.events import Channel
from botkit.sandbox.problems import InvalidParameter
from botkit.sandbox.submissions import V0_OPTIONS_KEY, Submission
from botkit.vonage.openapi import load_spec

Category = Literal["recipient", "sender", "channel_params", "client_ref", "params"]
"""Which of the provider's 422 errors a violation belongs to."""

WINDOW_SECONDS = 24 * 3600.0
"""The customer-care window of WhatsApp and Messenger."""

TEXT_LIMITS: Mapping[Channel, int] = {
    Channel.SMS: 1000,
    Channel.WHATSAPP: 4096,
    Channel.MESSENGER: 640,
    Channel.VIBER: 1000,
}
"""The longest text, in characters, each channel accepts (MMS text has no stated limit)."""

CLIENT_REF_LIMITS: Mapping[str, int] = {"v1": 100, "v0.1": 40, "sms": 100}

READ_RECEIPT_CHANNELS = frozenset({Channel.WHATSAPP, Channel.MESSENGER, Channel.VIBER})
"""The channels whose statuses include ``read``."""

WINDOW_CHANNELS = frozenset({Channel.WHATSAPP, Channel.MESSENGER})
"""The channels where the user's last message opens a 24-hour window."""

NUMBER = re.compile(r"[1-9][0-9]{6,14}")
PAGE_SCOPED_ID = re.compile(r"\S{1,50}")
_SHORT_CODE_OR_NUMBER = re.compile(r"[0-9]{3,15}")
_ALPHANUMERIC_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")

_CHANNEL_OPTION_KEYS = frozenset({"whatsapp", "messenger", "viber_service", "sms", "mms"})


@dataclass(frozen=True)
class Violation:
    """One broken rule: its error category, the parameter (v1 name) and the reason."""

    category: Category
    name: str
    reason: str


def category_of(name: str) -> Category:
    """The error category of a v1 or v0.1 parameter path such as ``image.url`` or
    ``message.messenger.category``."""
    head, _, rest = name.partition(".")
    if head == "message":
        head = rest.partition(".")[0]
    if head == "to":
        return "recipient"
    if head == "from":
        return "sender"
    if head == "client_ref":
        return "client_ref"
    if head in _CHANNEL_OPTION_KEYS or head == "viber_service_msg":
        return "channel_params"
    return "params"


def wire_name(submission: Submission, name: str) -> str:
    """Where v1 parameter ``name`` sits in ``submission``'s own API."""
    if submission.api != "v0.1":
        return name
    head, dot, rest = name.partition(".")
    if head in ("to", "from") and not dot:
        key = "id" if _uses_id(submission.channel, head) else "number"
        return f"{head}.{key}"
    if head == "client_ref":
        return name
    if head in _CHANNEL_OPTION_KEYS:
        return f"message.{V0_OPTIONS_KEY[submission.channel]}{dot}{rest}"
    if head == "text":
        return "message.content.text"
    return f"message.content.{name}"


def _uses_id(channel: Channel, side: str) -> bool:
    return channel is Channel.MESSENGER or (channel is Channel.VIBER and side == "from")


def request_violations(
    submission: Submission, bot_address: str, *, wrote_before: bool = True
) -> list[Violation]:
    """The rules ``submission`` breaks that the provider refuses synchronously.
    ``wrote_before``: the account already sent this user a message on this channel."""
    found: list[Violation] = []
    found += _recipient(submission)
    found += _sender(submission, bot_address)
    found += _client_ref(submission)
    found += _text(submission)
    found += _content(submission)
    found += _options(submission)
    if not wrote_before:
        found += _first_message(submission)
    return found


MMS_COUNTRY = "US"
"""MMS goes between numbers of this country only."""


def country_of(number: str) -> str | None:
    """The ISO 3166 code of the country an E.164 number (digits) belongs to, None if unknown; a
    short code (``12345``) counts as its country code's main country."""
    # Read here rather than borrowed from the channel rules: the sandbox judges what the
    # sender does, so it shares none of the sender's code.
    try:
        parsed = phonenumbers.parse("+" + number)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    if region is None and parsed.country_code is not None:
        region = phonenumbers.region_code_for_country_code(parsed.country_code)
    return None if region in (None, phonenumbers.UNKNOWN_REGION) else region


def _first_message(submission: Submission) -> list[Violation]:
    if submission.channel is Channel.VIBER and submission.options.get("category") == "promotion":
        return [
            Violation(
                "channel_params",
                "viber_service.category",
                "must not be `promotion` on the first message to a user: it must be personal "
                "and informative (`transaction`).",
            )
        ]
    return []


def _recipient(submission: Submission) -> list[Violation]:
    if submission.channel is Channel.MMS and country_of(submission.to) != MMS_COUNTRY:
        return [Violation("recipient", "to", "must be a number in the United States for MMS.")]
    if submission.channel is Channel.MESSENGER:
        if not PAGE_SCOPED_ID.fullmatch(submission.to):
            return [Violation("recipient", "to", "must be a page-scoped id of 1-50 characters.")]
        return []
    if not NUMBER.fullmatch(submission.to):
        return [
            Violation(
                "recipient",
                "to",
                "must be a number in E.164 format without a leading + or 00: 7-15 digits.",
            )
        ]
    return []


def _sender(submission: Submission, bot_address: str) -> list[Violation]:
    if submission.channel is Channel.SMS:
        sender = submission.sender
        if _SHORT_CODE_OR_NUMBER.fullmatch(sender) or _ALPHANUMERIC_SENDER.fullmatch(sender):
            return []
        return [
            Violation(
                "sender",
                "from",
                "must be a number (E.164 without + or 00) or an alphanumeric sender id of up "
                "to 11 characters.",
            )
        ]
    if submission.channel is Channel.MMS and country_of(submission.sender) != MMS_COUNTRY:
        return [
            Violation(
                "sender", "from", "must be a number or short code of the United States for MMS."
            )
        ]
    if submission.sender != bot_address:
        return [
            Violation(
                "sender",
                "from",
                f"is not linked to this account on {submission.channel.value}: "
                f"expected {bot_address}.",
            )
        ]
    return []


def _client_ref(submission: Submission) -> list[Violation]:
    limit = CLIENT_REF_LIMITS[submission.api]
    ref = submission.client_ref
    if ref is not None and len(ref) > limit:
        return [
            Violation("client_ref", "client_ref", f"must be a string of up to {limit} characters.")
        ]
    return []


def _text(submission: Submission) -> list[Violation]:
    text = submission.text
    if text is None:
        return []
    if not text:
        return [Violation("params", "text", "must not be empty.")]
    limit = TEXT_LIMITS.get(submission.channel)
    if limit is not None and len(text) > limit:
        return [
            Violation(
                "params",
                "text",
                f"must be at most {limit} characters on {submission.channel.value} "
                f"(got {len(text)}).",
            )
        ]
    return []


def _content(submission: Submission) -> list[Violation]:
    content, kind = submission.content, submission.message_type
    found: list[Violation] = []
    if kind == "sticker" and ("url" in content) == ("id" in content):
        found.append(Violation("params", "sticker", "must have either `url` or `id`, not both."))
    if kind == "location":
        lat, long = content.get("lat", content.get("latitude")), content.get("long")
        if long is None:
            long = content.get("longitude")
        for name, value, bound in (("lat", lat, 90.0), ("long", long, 180.0)):
            number = _number(value)
            if number is not None and not -bound <= number <= bound:
                found.append(
                    Violation(
                        "params", f"location.{name}", f"must be between -{bound:g} and {bound:g}."
                    )
                )
    if (
        submission.channel is Channel.VIBER
        and kind == "image"
        and "action" in submission.options
        and not content.get("caption")
    ):
        found.append(
            Violation("params", "image.caption", "is required when the message has an action.")
        )
    return found


def _options(submission: Submission) -> list[Violation]:
    options = submission.options
    found: list[Violation] = []
    if (
        submission.channel is Channel.MESSENGER
        and options.get("category") == "message_tag"
        and not options.get("tag")
    ):
        found.append(
            Violation(
                "channel_params",
                "messenger.tag",
                "is required when messenger.category is `message_tag`.",
            )
        )
    if (
        submission.channel is Channel.VIBER
        and submission.message_type == "video"
        and submission.api == "v1"
    ):
        for name, low, high in (("duration", 1, 600), ("file_size", 1, 200)):
            value = _number(options.get(name))
            if options.get(name) is None:
                found.append(Violation("channel_params", f"viber_service.{name}", "is required."))
            elif value is None or not low <= value <= high:
                found.append(
                    Violation(
                        "channel_params",
                        f"viber_service.{name}",
                        f"must be a number from {low} to {high}.",
                    )
                )
    return found


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_parameters(submission: Submission, violations: list[Violation]) -> list[InvalidParameter]:
    """``invalid_parameters`` entries for ``violations``, named in the submission's API."""
    return [InvalidParameter(wire_name(submission, v.name), v.reason) for v in violations]


# --- delivery ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderCode:
    """A Messages API error code with the spec's short title and full description."""

    code: int
    title: str
    description: str


@cache
def provider_code(code: int) -> ProviderCode:
    """Error ``code`` as the v1 spec's ``x-errors`` table describes it."""
    description = str(load_spec("messages-v1")["x-errors"][str(code)]["description"])
    title = re.split(r"\s+-\s+", description, maxsplit=1)[0].strip()
    return ProviderCode(code, title, re.sub(r"\s+", " ", description).strip())


OUTSIDE_WINDOW = 1340
NOT_IN_NETWORK = 1300
INVALID_PARAMS = 1020


def delivery_refusal(
    submission: Submission, last_inbound: float | None, now: float
) -> ProviderCode | None:
    """The error the provider reports (as a ``rejected`` status) for ``submission``, or None.

    ``last_inbound`` is when the user last wrote on this channel (sandbox clock), None if never.
    """
    open_window = last_inbound is not None and now - last_inbound < WINDOW_SECONDS
    if submission.message_type == "custom" and not custom_object_fits(submission):
        return provider_code(INVALID_PARAMS)
    if submission.channel is Channel.WHATSAPP:
        if submission.message_type != "template" and not open_window:
            return provider_code(OUTSIDE_WINDOW)
    elif submission.channel is Channel.MESSENGER:
        if last_inbound is None:
            return provider_code(NOT_IN_NETWORK)
        if not open_window and submission.options.get("category") != "message_tag":
            return provider_code(OUTSIDE_WINDOW)
    return None


def custom_object_fits(submission: Submission) -> bool:
    """Whether WhatsApp or Facebook would take the custom object they are passed: WhatsApp's
    contacts (1 to 257, each with ``name.formatted_name`` and a first or last name) and
    Messenger's generic (1 to 10 elements with a title of up to 80 characters) and button
    (text of up to 640 characters) templates, whose buttons are 1 to 3 ``web_url`` (with a
    ``url``) or ``postback`` (with a ``payload`` of up to 1000 characters) buttons titled in up
    to 20 characters. Other custom objects pass as they are."""
    custom = submission.content.get("custom")
    if not isinstance(custom, Mapping):
        return False
    if submission.channel is Channel.WHATSAPP and custom.get("type") == "contacts":
        return _contacts_fit(custom.get("contacts"))
    attachment = custom.get("attachment")
    if (
        submission.channel is Channel.MESSENGER
        and isinstance(attachment, Mapping)
        and attachment.get("type") == "template"
    ):
        return _template_fits(attachment.get("payload"))
    return True


def _contacts_fit(contacts: object) -> bool:
    if not isinstance(contacts, list) or not 1 <= len(contacts) <= 257:
        return False
    for contact in contacts:
        name = contact.get("name") if isinstance(contact, Mapping) else None
        if not isinstance(name, Mapping) or not _filled(name.get("formatted_name"), 10_000):
            return False
        if not (_filled(name.get("first_name"), 10_000) or _filled(name.get("last_name"), 10_000)):
            return False
    return True


def _template_fits(payload: object) -> bool:
    if not isinstance(payload, Mapping):
        return False
    if payload.get("template_type") == "button":
        return _filled(payload.get("text"), 640) and _buttons_fit(payload.get("buttons"), 1)
    if payload.get("template_type") != "generic":
        return True
    elements = payload.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
        return False
    return all(
        isinstance(element, Mapping)
        and _filled(element.get("title"), 80)
        and (element.get("subtitle") is None or _filled(element.get("subtitle"), 80))
        and (element.get("buttons") is None or _buttons_fit(element.get("buttons"), 1))
        for element in elements
    )


def _buttons_fit(buttons: object, least: int) -> bool:
    if not isinstance(buttons, list) or not least <= len(buttons) <= 3:
        return False
    for button in buttons:
        if not isinstance(button, Mapping) or not _filled(button.get("title"), 20):
            return False
        kind = button.get("type")
        if kind == "web_url" and not _filled(button.get("url"), 2000):
            return False
        if kind == "postback" and not _filled(button.get("payload"), 1000):
            return False
        if kind not in ("web_url", "postback"):
            return False
    return True


def _filled(value: object, most: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= most


# --- SMS segmentation --------------------------------------------------------------------------

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")

SMS_MAX_CHARACTERS = 3200
"""The longest text the SMS API accepts."""


def sms_parts(text: str) -> tuple[int, Literal["text", "unicode"]]:
    """How many SMS parts ``text`` takes, and whether it goes as GSM-7 ``text`` or ``unicode``.

    GSM-7: 160 septets in one part, 153 per part when concatenated (the extension characters
    take two). UCS-2: 70 characters in one part, 67 per part.
    """
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        septets = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        return (1 if septets <= 160 else -(-septets // 153)), "text"
    units = len(text.encode("utf-16-le")) // 2
    return (1 if units <= 70 else -(-units // 67)), "unicode"
