"""Legacy SMS API webhooks: inbound messages and delivery receipts.

The parsers take the webhook's parameters as one flat ``str -> str`` mapping (GET query, POST form
and POST JSON all look alike by then) and return an :class:`~botkit.events.Event`, or for one
part of a concatenated inbound message an :class:`SmsPart` to be joined by a
:class:`~botkit.vonage.inbound.concat.PartsBuffer`. Whatever the strings, the only exception they
raise is :class:`~botkit.errors.InvalidPayload`, listing every parameter that was wrong; a key or
value that is not valid Unicode (a lone surrogate from a JSON body) is refused first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from botkit.errors import InvalidPayload, Problem
from botkit.events import (
    Channel,
    DeliveryStatus,
    Event,
    EventKind,
    ProviderError,
    SmsInfo,
    StatusInfo,
    Text,
    Unsupported,
    Usage,
    WebhookFormat,
)
from botkit.vonage.codes import SMS_DLR_ERRORS
from botkit.vonage.inbound.envelope import Envelope, Webhook

FORMAT_NAME = WebhookFormat.SMS_API.value
INBOUND = Webhook(FORMAT_NAME, WebhookFormat.SMS_API, EventKind.MESSAGE)
RECEIPT = Webhook(FORMAT_NAME, WebhookFormat.SMS_API, EventKind.STATUS)
MAX_CONCAT_PARTS = 255
"""The most parts a concatenated message may declare (the GSM limit of the concatenation UDH)."""

DLR_STATUSES: Mapping[str, DeliveryStatus] = {
    "delivered": DeliveryStatus.DELIVERED,
    "expired": DeliveryStatus.UNDELIVERABLE,
    "failed": DeliveryStatus.UNDELIVERABLE,
    "rejected": DeliveryStatus.REJECTED,
    "accepted": DeliveryStatus.SUBMITTED,
    "buffered": DeliveryStatus.SUBMITTED,
    "unknown": DeliveryStatus.SUBMITTED,
}
"""Delivery receipt ``status`` values and where each stands on botkit's scale."""

_ENCODINGS: tuple[Literal["text", "unicode", "binary"], ...] = ("text", "unicode", "binary")
_CONCAT_FIELDS = ("concat-ref", "concat-total", "concat-part")
_SMS_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2}):([0-9]{2})")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})*")
_DECIMAL = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,15})?")


@dataclass(frozen=True)
class SmsPart:
    """One part of a concatenated inbound SMS, waiting for the others.

    ``raw`` holds the part's parameters exactly as received; :meth:`to_json` and
    :meth:`from_json` store a part as one string and read it back through
    :func:`parse_sms_inbound`, so a stored part is always one the parser accepts.
    """

    user: str
    bot: str
    concat_ref: str
    part: int
    total: int
    text: str
    message_id: str
    timestamp: datetime
    keyword: str | None
    encoding: Literal["text", "unicode"]
    raw: Mapping[str, str] = field(hash=False, repr=False)

    @property
    def conversation_key(self) -> str:
        """``sms:bot:user``, as :attr:`botkit.events.Event.conversation_key`."""
        return f"{Channel.SMS.value}:{self.bot}:{self.user}"

    @property
    def buffer_key(self) -> str:
        """What all parts of one message share: the conversation key and the concat ref."""
        return f"{self.conversation_key}:{self.concat_ref}"

    def to_json(self) -> str:
        """The part as a JSON object of its raw parameters (ASCII only)."""
        return json.dumps(dict(self.raw), sort_keys=True)

    @classmethod
    def from_json(cls, data: str) -> SmsPart:
        """Read back what :meth:`to_json` wrote; InvalidPayload if it is not such a part."""
        try:
            loaded: object = json.loads(data)
        except (ValueError, RecursionError):
            loaded = None
        if not isinstance(loaded, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
        ):
            raise InvalidPayload(
                Problem("(stored part)", "a JSON object of string parameters"),
                format_name=FORMAT_NAME,
            )
        parsed = parse_sms_inbound(loaded)
        if not isinstance(parsed, SmsPart):
            raise InvalidPayload(
                Problem("concat", "the parameters of one part of a concatenated message"),
                format_name=FORMAT_NAME,
            )
        return parsed


def parse_sms_webhook(params: Mapping[str, str]) -> Event | SmsPart:
    """Parse either kind of SMS API webhook: a delivery receipt when ``status`` or ``err-code``
    is present (an inbound message has neither), else an inbound message."""
    if "status" in params or "err-code" in params:
        return parse_sms_delivery_receipt(params)
    return parse_sms_inbound(params)


def parse_sms_inbound(params: Mapping[str, str]) -> Event | SmsPart:
    """Parse an inbound SMS.

    A whole message (no ``concat`` parameters, ``concat=false``, or ``concat-total=1``) becomes a
    ``MESSAGE`` event: ``user`` is ``msisdn``, ``bot`` is ``to``, ``message_id`` is
    ``messageId``, content is :class:`~botkit.events.Text`, and ``sms`` carries ``keyword``,
    ``num_messages=1`` and the ``type`` as encoding. ``type`` defaults to ``text``; a ``binary``
    message becomes :class:`~botkit.events.Unsupported` content holding its hex ``data`` and
    ``udh``, and is never treated as a part (its concatenation lives in the ``udh``).

    A part of a concatenated text (``concat=true``, or ``concat-ref``/``concat-total``/
    ``concat-part`` present) becomes an :class:`SmsPart`; ``concat-total`` must be 1 to
    :data:`MAX_CONCAT_PARTS` and ``concat-part`` 1 to ``concat-total``.

    The time is ``message-timestamp`` (``YYYY-MM-DD HH:MM:SS`` UTC) or, when that is absent,
    ``timestamp`` (unix seconds).
    """
    _check_unicode(params)
    problems: list[Problem] = []
    user = _required(params, "msisdn", "the sender's number", problems)
    bot = _required(params, "to", "the number the message was sent to", problems)
    message_id = _required(params, "messageId", "the provider's message id", problems)
    encoding = _encoding(params, problems)
    timestamp = _timestamp(params, problems)
    keyword = params.get("keyword") or None

    if encoding == "binary":
        content = _binary_content(params, problems)
        if problems or timestamp is None:
            raise InvalidPayload(problems, format_name=FORMAT_NAME)
        sms = SmsInfo(keyword=keyword, num_messages=1, encoding="binary")
        return _message(user, bot, message_id, timestamp, params, content, sms)

    text = params.get("text")
    if text is None:
        problems.append(Problem("text", "required, the message text"))
    concat = _concat(params, problems)
    if problems or timestamp is None or encoding is None or text is None:
        raise InvalidPayload(problems, format_name=FORMAT_NAME)
    if concat is None or concat[2] == 1:
        sms = SmsInfo(keyword=keyword, num_messages=1, encoding=encoding)
        return _message(user, bot, message_id, timestamp, params, Text(text=text), sms)
    ref, number, total = concat
    return SmsPart(
        user=user,
        bot=bot,
        concat_ref=ref,
        part=number,
        total=total,
        text=text,
        message_id=message_id,
        timestamp=timestamp,
        keyword=keyword,
        encoding=encoding,
        raw=dict(params),
    )


def parse_sms_delivery_receipt(params: Mapping[str, str]) -> Event:
    """Parse a delivery receipt into a ``STATUS`` event about the bot's message ``messageId``.

    ``user`` is ``msisdn`` (the recipient), ``bot`` is ``to`` (the sender id). ``status`` is
    mapped by :data:`DLR_STATUSES` (case-insensitive; ``original`` keeps the word as sent). A
    non-zero ``err-code`` becomes the status's :class:`~botkit.events.ProviderError`, titled from
    :data:`~botkit.vonage.codes.SMS_DLR_ERRORS`. ``price`` becomes ``usage`` (the receipt names
    no currency), ``client-ref`` the event's ``client_ref``. The time is read as for inbound
    messages.
    """
    _check_unicode(params)
    problems: list[Problem] = []
    user = _required(params, "msisdn", "the number the bot's message was sent to", problems)
    bot = _required(params, "to", "the sender id the bot's message was sent from", problems)
    message_id = _required(params, "messageId", "the provider's id of the bot's message", problems)
    allowed = ", ".join(DLR_STATUSES)
    word = _required(params, "status", f"one of {allowed}", problems)
    status = DLR_STATUSES.get(word.strip().lower()) if word else None
    if word and status is None:
        problems.append(Problem("status", f"one of {allowed}, got {_show(word)}"))
    error = _dlr_error(params, problems)
    price = params.get("price") or None
    if price is not None and not _DECIMAL.fullmatch(price):
        problems.append(
            Problem("price", f"a decimal amount such as 0.03330000, got {_show(price)}")
        )
    timestamp = _timestamp(params, problems)
    if problems or status is None or timestamp is None:
        raise InvalidPayload(problems, format_name=FORMAT_NAME)

    client_ref = params.get("client-ref") or None
    usage = None if price is None else Usage(price=price)
    envelope = Envelope(RECEIPT, Channel.SMS, user, bot, message_id, timestamp, dict(params))
    return replace(envelope, client_ref=client_ref, usage=usage).event(
        status=StatusInfo(status=status, original=word, error=error)
    )


def _message(
    user: str,
    bot: str,
    message_id: str,
    timestamp: datetime,
    params: Mapping[str, str],
    content: Text | Unsupported,
    sms: SmsInfo,
) -> Event:
    envelope = Envelope(INBOUND, Channel.SMS, user, bot, message_id, timestamp, dict(params))
    return envelope.event(content=content, sms=sms)


def _check_unicode(params: Mapping[str, str]) -> None:
    # A JSON body can carry lone surrogates ("\ud800"); no SMS text contains one, and an event
    # holding one could not be serialised later.
    problems = [
        Problem(ascii(key) if _is_broken(key) else key, "text that is valid Unicode")
        for key, value in params.items()
        if _is_broken(key) or _is_broken(value)
    ]
    if problems:
        raise InvalidPayload(problems, format_name=FORMAT_NAME)


def _is_broken(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _required(params: Mapping[str, str], name: str, what: str, problems: list[Problem]) -> str:
    value = params.get(name)
    if value is None or not value.strip():
        problems.append(Problem(name, f"required, {what}"))
        return ""
    return value


def _encoding(
    params: Mapping[str, str], problems: list[Problem]
) -> Literal["text", "unicode", "binary"] | None:
    value = params.get("type", "text")
    for known in _ENCODINGS:
        if value == known:
            return known
    problems.append(Problem("type", f"one of text, unicode, binary, got {_show(value)}"))
    return None


def _binary_content(params: Mapping[str, str], problems: list[Problem]) -> Unsupported:
    raw: dict[str, str] = {}
    data = params.get("data")
    if data is None:
        problems.append(Problem("data", "required for type binary, the message body in hex"))
    elif not _HEX.fullmatch(data):
        problems.append(Problem("data", f"the message body in hex, got {_show(data)}"))
    else:
        raw["data"] = data
    udh = params.get("udh")
    if udh is not None:
        if _HEX.fullmatch(udh):
            raw["udh"] = udh
        else:
            problems.append(Problem("udh", f"the user data header in hex, got {_show(udh)}"))
    return Unsupported(declared_type="binary", raw=raw)


def _concat(params: Mapping[str, str], problems: list[Problem]) -> tuple[str, int, int] | None:
    flag = params.get("concat")
    if flag is not None:
        word = flag.strip().lower()
        if word == "false":
            return None
        if word != "true":
            problems.append(
                Problem("concat", f"true for a part of a longer message, got {_show(flag)}")
            )
            return None
    elif not any(name in params for name in _CONCAT_FIELDS):
        return None
    ref = _required(params, "concat-ref", "the reference all parts of the message share", problems)
    total = _count(
        params, "concat-total", f"the number of parts, from 1 to {MAX_CONCAT_PARTS}", problems
    )
    number = _count(params, "concat-part", "the number of this part, from 1", problems)
    if total is not None and number is not None and number > total:
        problems.append(
            Problem("concat-part", f"the number of this part, from 1 to {total}, got {number}")
        )
        return None
    if not ref or total is None or number is None:
        return None
    return ref, number, total


def _count(params: Mapping[str, str], name: str, what: str, problems: list[Problem]) -> int | None:
    value = params.get(name)
    if value is None or not value.strip():
        problems.append(Problem(name, f"required, {what}"))
        return None
    number = _small_int(value.strip(), digits=3)
    if number is None or not 1 <= number <= MAX_CONCAT_PARTS:
        problems.append(Problem(name, f"{what}, got {_show(value)}"))
        return None
    return number


def _dlr_error(params: Mapping[str, str], problems: list[Problem]) -> ProviderError | None:
    value = params.get("err-code")
    if value is None or not value.strip():
        return None
    code = _small_int(value.strip(), digits=9)
    if code is None:
        problems.append(
            Problem("err-code", f"a whole number, 0 when there was no error, got {_show(value)}")
        )
        return None
    if code == 0:
        return None
    title = SMS_DLR_ERRORS.title(code) or f"Undocumented err-code {code}"
    return ProviderError(code=code, title=title)


def _timestamp(params: Mapping[str, str], problems: list[Problem]) -> datetime | None:
    value = params.get("message-timestamp")
    if value:
        match = _SMS_TIME.fullmatch(value.strip())
        if match:
            try:
                year, month, day, hour, minute, second = (int(g) for g in match.groups())
                return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except ValueError:
                pass
        problems.append(
            Problem("message-timestamp", f"'YYYY-MM-DD HH:MM:SS' in UTC, got {_show(value)}")
        )
        return None
    value = params.get("timestamp")
    if value:
        seconds = _small_int(value.strip(), digits=11)
        if seconds is not None:
            try:
                return datetime.fromtimestamp(seconds, UTC)
            except (OverflowError, OSError, ValueError):
                pass
        problems.append(Problem("timestamp", f"unix seconds, got {_show(value)}"))
        return None
    problems.append(
        Problem(
            "message-timestamp",
            "required, when the provider sent the webhook, as 'YYYY-MM-DD HH:MM:SS' in UTC "
            "(or timestamp in unix seconds)",
        )
    )
    return None


def _small_int(text: str, *, digits: int) -> int | None:
    # str.isdigit() alone accepts non-ASCII digits and superscripts, which int() may not read.
    if not text or len(text) > digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def _show(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
