"""Checks of single wire values that say what they expected: ids, timestamps, coordinates,
amounts, counts, prices, URLs, template parameters and closed sets of words.

Each check is a pydantic :class:`PlainValidator` behind an ``Annotated`` type, raising
:func:`~botkit.vonage.inbound.problems.expected` with the words a
:class:`~botkit.errors.Problem` carries.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import PlainValidator, ValidationInfo

from botkit.vonage.inbound.problems import NOW, expected

MAX_MESSAGE_ID = 200
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=1)
MAX_PRICE = 10**15
"""Prices at or beyond this magnitude are refused: no message costs that much."""


def _message_id(value: Any) -> str:
    if not isinstance(value, str) or not 0 < len(value.strip()) <= MAX_MESSAGE_ID:
        raise expected(f"a message id: a non-blank string of at most {MAX_MESSAGE_ID} characters")
    return value


def parse_timestamp(value: Any, *, now: datetime) -> datetime:
    """An ISO 8601 string (``Z``, an offset or none, read as UTC) to an aware UTC datetime.

    Raises :class:`PydanticCustomError` for anything else, and for instants before 2000 or more
    than a day after ``now`` (the time the webhook was read, by the app's clock): no real
    webhook carries those.
    """
    what = (
        "an ISO 8601 date-time such as 2020-01-01T14:00:00.000Z, after 2000 and not in the future"
    )
    if not isinstance(value, str) or len(value) > 64:
        raise expected(what)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise expected(what) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        raise expected(what) from None
    if parsed < EARLIEST or parsed > now + MAX_AHEAD:
        raise expected(what)
    return parsed


def _timestamp(value: Any, info: ValidationInfo) -> datetime:
    now = info.context.get(NOW) if isinstance(info.context, dict) else None
    if not isinstance(now, datetime):
        raise TypeError("a Timestamp is validated with the time the webhook was read: now=...")
    return parse_timestamp(value, now=now)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise expected(what)
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise expected(what) from None
    if not math.isfinite(number):
        raise expected(what)
    return number


def _in_range(what: str, low: float, high: float) -> PlainValidator:
    def check(value: Any) -> float:
        number = _number(value, what)
        if not low <= number <= high:
            raise expected(what)
        return number

    return PlainValidator(check)


def _amount(value: Any) -> float:
    return _number(value, "a number, or a string holding one")


def _count(value: Any) -> int:
    what = "a whole number of at least 0 (a string of digits or an integer)"
    if isinstance(value, bool):
        raise expected(what)
    if isinstance(value, int) and value >= 0:
        return value
    count = numeric_code(value) if isinstance(value, str) else None
    if count is None:
        raise expected(what)
    return count


def _price(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < MAX_PRICE:
        return str(value)
    raise expected("a price: a number, usually as a string such as 0.0333")


def _url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise expected("a URL: a non-blank string")
    return value


def _template_parameter(value: Any) -> str:
    # 0.5.0 sends plain strings; 0.3.x and Dispatch wrap each in {"default": ...}.
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("default"), str):
        return str(value["default"])
    raise expected('a string, or an object {"default": string}')


def _code_or_text(value: Any) -> str | int:
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise expected("a string or an integer")


def numeric_code(value: str | int | None) -> int | None:
    """The integer in ``value`` (``1300`` or ``"1300"``, at most 9 digits), else None."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    return None


def one_of(*values: str) -> PlainValidator:
    """A check that the value is one of ``values`` (strings), naming them when it is not."""
    allowed = frozenset(values)

    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise expected("one of: " + ", ".join(values))
        return value

    return PlainValidator(check)


MessageId = Annotated[str, PlainValidator(_message_id)]
Timestamp = Annotated[datetime, PlainValidator(_timestamp)]
"""Validated against the ``now`` the parser was given (see :func:`parse_timestamp`)."""
Latitude = Annotated[float, _in_range("a latitude: a number from -90 to 90", -90, 90)]
Longitude = Annotated[float, _in_range("a longitude: a number from -180 to 180", -180, 180)]
Amount = Annotated[float, PlainValidator(_amount)]
Count = Annotated[int, PlainValidator(_count)]
Price = Annotated[str, PlainValidator(_price)]
Url = Annotated[str, PlainValidator(_url)]
TemplateParameter = Annotated[str, PlainValidator(_template_parameter)]
CodeOrText = Annotated[str | int, PlainValidator(_code_or_text)]
