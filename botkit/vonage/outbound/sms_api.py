"""The form parameters of the legacy SMS API's ``POST /sms/json``, and SMS text arithmetic.

:func:`is_gsm7` and :func:`sms_segments` say how a text travels as SMS: in the GSM 03.38
7-bit alphabet when every character is in it, else in UCS-2, and in how many parts.
"""

from __future__ import annotations

import time
from typing import Literal, NamedTuple

from botkit.events import Channel, Text
from botkit.outbound import Outbound
from botkit.vonage.outbound import UnsupportedContent, check_length, check_range
from botkit.vonage.signing import SmsSignatureMethod, sms_signature

API = "SMS API"

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"  # 0x1B, the escape to the extension table, is not a character
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
"""The GSM 03.38 default alphabet: one septet each."""

GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
"""The GSM 03.38 extension table: an escape septet plus one, so two septets each."""

CLIENT_REF_MAX = 100
CALLBACK_MAX = 100
TTL_MIN_MS = 20_000
TTL_MAX_MS = 604_800_000

Encoding = Literal["text", "unicode"]


class SegmentInfo(NamedTuple):
    """How a text travels as SMS.

    ``chars_per_segment`` counts the encoding's units: septets for ``text`` (GSM-7), UTF-16
    code units for ``unicode`` (UCS-2) -- 160 or 70 for a single part, 153 or 67 per part of
    a longer message, whose header takes the rest.
    """

    encoding: Encoding
    segments: int
    chars_per_segment: int


_SINGLE = {"text": 160, "unicode": 70}
_PART = {"text": 153, "unicode": 67}


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` is in the GSM 03.38 default alphabet or its
    extension table, so the text can be sent as ``type=text``."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def sms_segments(text: str, encoding: Encoding | None = None) -> SegmentInfo:
    """The encoding of ``text`` and the number of SMS parts it takes.

    ``encoding`` defaults to ``text`` when :func:`is_gsm7` holds and ``unicode`` otherwise.
    In ``text`` an extension character (``€``, ``[``, ...) counts two septets; in ``unicode``
    a character outside the Basic Multilingual Plane (most emoji) counts two UTF-16 units.
    Up to 160 (70) units fit one part; a longer text is split into parts of at most 153 (67)
    units, never between the two units of one character. An empty text is one part.
    Raises :class:`ValueError` when ``encoding`` is ``text`` and the text is not GSM-7.
    """
    if encoding is None:
        encoding = "text" if is_gsm7(text) else "unicode"
    elif encoding == "text" and not is_gsm7(text):
        raise ValueError(f"SMS encoding text (GSM-7) cannot carry {_first_non_gsm(text)!r}")
    sizes = [_units(char, encoding) for char in text]
    if sum(sizes) <= _SINGLE[encoding]:
        return SegmentInfo(encoding, 1, _SINGLE[encoding])
    per_part = _PART[encoding]
    parts, used = 1, 0
    for size in sizes:
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return SegmentInfo(encoding, parts, per_part)


def params(
    message: Outbound,
    *,
    api_key: str,
    api_secret: str | None = None,
    signature_secret: str | None = None,
    signature_method: SmsSignatureMethod = "md5hash",
    status_report: bool | None = None,
    callback: str | None = None,
    now: float | None = None,
) -> dict[str, str]:
    """The form parameters of ``POST /sms/json`` that send ``message``; every value a string.

    ``api_key``, ``from``, ``to``, ``text``, ``type`` (``unicode`` when the text is not GSM-7,
    or as :class:`~botkit.outbound.SmsOptions` ``encoding`` says) and ``client-ref``
    (:attr:`~botkit.outbound.Outbound.effective_client_ref`); when set, ``ttl`` (the options'
    seconds as the milliseconds this API takes), ``entity-id``, ``content-id``,
    ``status-report-req`` (``true``/``false``) and ``callback`` (the message's own
    ``webhook_url``, else ``callback``). Authentication is ``api_secret`` or, with
    ``signature_secret``, ``timestamp`` (``now`` as whole unix seconds, default the current
    time) and ``sig`` (:func:`~botkit.vonage.signing.sms_signature` of all the others).

    Raises :class:`~botkit.vonage.outbound.UnsupportedContent` for anything but text on the
    SMS channel, and :class:`ValueError` when both or neither of ``api_secret`` and
    ``signature_secret`` are given (the API answers error 32 to both), for a client_ref over
    100 characters, a callback over 100 characters, a ttl outside 20..604800 s, and
    ``encoding="text"`` with a non-GSM-7 text.
    """
    content = message.content
    if message.channel is not Channel.SMS:
        raise UnsupportedContent(API, message.channel, "any message", hint="it sends SMS only")
    if not isinstance(content, Text):
        raise UnsupportedContent(API, message.channel, content.type, hint="it sends text only")
    if (api_secret is None) == (signature_secret is None):
        raise ValueError(
            "give exactly one of api_secret and signature_secret: the SMS API refuses a request "
            "that is both signed and carries the secret (error 32), and one with neither"
        )
    check_length(message.effective_client_ref, CLIENT_REF_MAX, f"client-ref on the {API}")
    options = message.sms
    wanted = options.encoding if options is not None else None
    encoding = sms_segments(content.text, None if wanted == "auto" else wanted).encoding
    form = {
        "api_key": api_key,
        "from": message.sender,
        "to": message.to,
        "text": content.text,
        "type": encoding,
        "client-ref": message.effective_client_ref,
    }
    if options is not None and options.ttl is not None:
        check_range(options.ttl, TTL_MIN_MS // 1000, TTL_MAX_MS // 1000, "an SMS ttl (seconds)")
        form["ttl"] = str(options.ttl * 1000)
    if options is not None and options.entity_id is not None:
        form["entity-id"] = options.entity_id
    if options is not None and options.content_id is not None:
        form["content-id"] = options.content_id
    if status_report is not None:
        form["status-report-req"] = "true" if status_report else "false"
    receipts_to = message.webhook_url or callback
    if receipts_to is not None:
        check_length(receipts_to, CALLBACK_MAX, f"callback (the receipt URL) on the {API}")
        form["callback"] = receipts_to
    if api_secret is not None:
        form["api_secret"] = api_secret
    elif signature_secret is not None:
        form["timestamp"] = str(int(time.time() if now is None else now))
        form["sig"] = sms_signature(form, signature_secret, signature_method)
    return form


def _units(char: str, encoding: Encoding) -> int:
    if encoding == "text":
        return 2 if char in GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def _first_non_gsm(text: str) -> str:
    return next(char for char in text if not is_gsm7(char))
