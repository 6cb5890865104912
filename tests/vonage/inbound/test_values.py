"""Single wire values: each check says what it expected, and a Timestamp is judged by the time
the webhook was read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from botkit.errors import InvalidPayload
from botkit.vonage.inbound.problems import validate
from botkit.vonage.inbound.values import (
    Latitude,
    Longitude,
    Price,
    Timestamp,
    numeric_code,
    parse_timestamp,
)

NOW = datetime(2025, 2, 4, 12, 0, tzinfo=UTC)


class _Values(BaseModel):
    timestamp: Timestamp | None = None
    lat: Latitude | None = None
    long: Longitude | None = None
    price: Price | None = None


def problems(**values: Any) -> dict[str, str]:
    with pytest.raises(InvalidPayload) as caught:
        validate(_Values, values, "", "test", now=NOW)
    return {p.field: p.expected for p in caught.value.problems}


def test_a_timestamp_is_aware_utc_and_at_most_a_day_after_now() -> None:
    assert parse_timestamp("2025-02-04T14:00:00+02:00", now=NOW) == NOW
    assert parse_timestamp((NOW + timedelta(hours=23)).isoformat(), now=NOW) > NOW

    assert "ISO 8601" in problems(timestamp=(NOW + timedelta(hours=25)).isoformat())["timestamp"]
    assert "ISO 8601" in problems(timestamp="1999-12-31T23:59:59Z")["timestamp"]


def test_a_timestamp_cannot_be_validated_without_the_time_of_reading() -> None:
    with pytest.raises(TypeError, match="now"):
        _Values.model_validate({"timestamp": "2025-02-04T12:00:00Z"})


def test_coordinates_are_numbers_in_range() -> None:
    model = validate(_Values, {"lat": "51.5", "long": -0.12}, "", "test", now=NOW)
    assert (model.lat, model.long) == (51.5, -0.12)

    assert problems(lat=90.5, long="east") == {
        "lat": "a latitude: a number from -90 to 90",
        "long": "a longitude: a number from -180 to 180",
    }


@pytest.mark.parametrize("price", [10**400, -(10**20), 1e300, float("inf"), float("nan"), True])
def test_absurd_prices_are_refused_without_echoing_them(price: Any) -> None:
    [(field, expected)] = problems(price=price).items()

    assert field == "price"
    assert "price" in expected
    assert "000" not in expected


def test_a_reasonable_price_keeps_its_digits() -> None:
    model = validate(_Values, {"price": 0.0333}, "", "test", now=NOW)
    assert model.price == "0.0333"


def test_numeric_codes_are_short_ascii_digit_strings_or_integers() -> None:
    assert numeric_code("1300") == 1300
    assert numeric_code(1300) == 1300
    assert numeric_code("1" * 10) is None
    assert numeric_code("١٣") is None
    assert numeric_code(None) is None
