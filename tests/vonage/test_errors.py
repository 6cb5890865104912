"""Provider errors: problem+json, status webhook codes and SMS statuses, read robustly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botkit.vonage.errors import (
    InvalidParameter,
    InvalidRequest,
    PaymentRequired,
    ProviderError,
    ProviderUnavailable,
    SendError,
    Throttled,
    Unauthorized,
    from_response,
    from_sms_status,
    from_status_code,
    parse_retry_after,
)
from botkit.vonage.transport import SendError as TransportSendError

PROBLEM = "application/problem+json"


def problem(**fields: object) -> str:
    return json.dumps(fields)


def test_send_error_is_the_one_the_transport_module_exports() -> None:
    assert TransportSendError is SendError
    assert issubclass(ProviderError, SendError)


def test_a_422_names_the_invalid_parameters_in_words() -> None:
    body = problem(
        type="https://developer.nexmo.com/api-errors/messages-olympus#1150",
        title="Invalid params",
        detail="The value of one or more parameters is invalid.",
        instance="bf0ca0bf927b3b52e3cb03217e1a1ddf",
        invalid_parameters=[{"name": "image.url", "reason": "is required."}],
    )
    error = from_response(422, {"Content-Type": PROBLEM}, body)
    assert isinstance(error, InvalidRequest)
    assert (
        str(error) == "the provider refused the message (422 Invalid params): image.url is required"
    )
    assert error.invalid_parameters == (InvalidParameter("image.url", "is required."),)
    assert (error.status, error.title, error.retryable) == (422, "Invalid params", False)
    assert error.instance == "bf0ca0bf927b3b52e3cb03217e1a1ddf"
    assert error.type_url is not None
    assert error.type_url.endswith("#1150")
    assert error.code is None  # codes in the type URL's anchor are not to be trusted


def test_a_dispatch_400_names_its_one_invalid_parameter_object() -> None:
    body = problem(
        type="https://www.nexmo.com/messages/Errors#InvalidParams",
        detail="Found errors validating 1 of your submitted parameters.",
        instance="bf0ca0bf927b3b52e3cb03217e1a1ddf",
        invalid_parameters={"name": "workflow[0].failover.expiry_time", "reason": "too small"},
    )
    error = from_response(400, {"Content-Type": PROBLEM}, body, subject="the Dispatch API")
    assert isinstance(error, InvalidRequest)
    assert error.invalid_parameters == (
        InvalidParameter("workflow[0].failover.expiry_time", "too small"),
    )
    assert "workflow[0].failover.expiry_time too small" in str(error)


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, InvalidRequest, False),
        (401, Unauthorized, False),
        (402, PaymentRequired, False),
        (404, ProviderError, False),
        (422, InvalidRequest, False),
        (429, Throttled, True),
        (500, ProviderUnavailable, True),
        (503, ProviderUnavailable, True),
    ],
)
def test_each_status_has_its_class(status: int, cls: type[ProviderError], retryable: bool) -> None:
    error = from_response(status, {}, problem(title="t", detail="d"))
    assert type(error) is cls
    assert error.retryable is retryable
    assert error.status == status


def test_401_and_402_and_500_say_what_happened() -> None:
    unauthorized = from_response(
        401, {}, problem(title="You did not provide correct credentials.", detail="Check them")
    )
    assert str(unauthorized) == (
        "the provider refused the credentials (401 You did not provide correct credentials.): "
        "Check them"
    )
    assert "lack of credit (402 Low balance)" in str(
        from_response(402, {}, problem(title="Low balance"))
    )
    assert str(from_response(500, {}, "")) == "the provider failed to take the message (500)"


def test_429_with_retry_after_seconds_and_dates() -> None:
    error = from_response(
        429,
        {"Retry-After": "3"},
        problem(title="Rate Limit Hit", detail="Please wait, then retry your request"),
    )
    assert isinstance(error, Throttled)
    assert error.retry_after == 3.0
    assert str(error).endswith("Please wait, then retry your request; retry after 3 s")
    date = format_datetime(datetime.fromtimestamp(1_000_010, UTC), usegmt=True)
    dated = from_response(503, {"retry-after": date}, "", now=1_000_000)
    assert dated.retry_after == 10.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("  7 ", 7.0),
        ("1.5", 1.5),
        ("-4", 0.0),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        ("Wed, 21 Oct 2015 07:28:00", None),  # no zone: unreadable, not guessed
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),  # in the past
    ],
)
def test_retry_after_values(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=100.0) == expected


@pytest.mark.parametrize(
    "body",
    [
        "<html><body>Bad gateway</body></html>",
        "not json",
        "[1, 2, 3]",
        '"a string"',
        "null",
        '{"title": 42, "detail": ["x"], "invalid_parameters": "nope"}',
        '{"invalid_parameters": [1, null, {"name": 5}, {"reason": "is bad"}]}',
        "{" * 10000,
        "",
    ],
)
def test_malformed_bodies_still_give_a_typed_error(body: str) -> None:
    error = from_response(422, {"content-type": "text/html"}, body)
    assert isinstance(error, InvalidRequest)
    assert error.body == body
    assert len(str(error)) < 500


def test_an_html_body_is_quoted_shortly() -> None:
    error = from_response(502, {}, "<html>" + "x" * 5000 + "</html>")
    assert isinstance(error, ProviderUnavailable)
    assert str(error).startswith("the provider failed to take the message (502): <html>xxx")
    assert str(error).endswith("...")


@settings(max_examples=100, deadline=None)
@given(
    status=st.integers(min_value=0, max_value=999),
    headers=st.dictionaries(st.sampled_from(["Retry-After", "retry-after", "X"]), st.text()),
    body=st.one_of(
        st.none(),
        st.text(),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
            lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        ).map(json.dumps),
        st.fixed_dictionaries(
            {},
            optional={
                "title": st.none() | st.integers() | st.text(),
                "detail": st.none() | st.text() | st.lists(st.text()),
                "code": st.none() | st.integers() | st.booleans() | st.text(),
                "invalid_parameters": st.none()
                | st.text()
                | st.lists(st.dictionaries(st.text(), st.none() | st.text() | st.integers())),
            },
        ).map(json.dumps),
    ),
)
def test_from_response_never_raises(status: int, headers: dict[str, str], body: str | None) -> None:
    error = from_response(status, headers, body)
    assert isinstance(error, ProviderError)
    assert error.retry_after is None or error.retry_after >= 0
    str(error)


@pytest.mark.parametrize(
    ("code", "cls", "retryable"),
    [
        (1000, Throttled, True),
        ("1000", Throttled, True),
        (1100, ProviderUnavailable, True),
        (1180, ProviderError, True),
        (1220, ProviderError, True),
        (1230, ProviderError, True),
        (1331, ProviderUnavailable, True),
        (1020, InvalidRequest, False),
        (1070, PaymentRequired, False),
        (1240, ProviderError, False),
        (1340, ProviderError, False),
        (1382, InvalidRequest, False),
        (1430, InvalidRequest, False),
    ],
)
def test_status_webhook_codes(code: int | str, cls: type[ProviderError], retryable: bool) -> None:
    error = from_status_code(code)
    assert type(error) is cls
    assert error.retryable is retryable
    assert error.code == int(code)
    assert error.status is None


def test_status_webhook_code_in_words() -> None:
    error = from_status_code(1340, "the 24 hour window has closed")
    assert str(error) == (
        "the provider could not deliver the message (1340 Outside of the allowed window): "
        "the 24 hour window has closed"
    )
    assert error.title == "Outside of the allowed window"


@pytest.mark.parametrize("code", [9999, "9999", "abc", "", "1e3"])
def test_unknown_status_webhook_codes(code: int | str) -> None:
    error = from_status_code(code)
    assert type(error) is ProviderError
    assert error.retryable is False
    assert "Unknown error code" in str(error)


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        ("1", Throttled, True),
        ("2", InvalidRequest, False),
        ("4", Unauthorized, False),
        ("5", ProviderUnavailable, True),
        ("9", PaymentRequired, False),
        ("29", InvalidRequest, False),
        ("77", ProviderError, False),
        ("x", ProviderError, False),
    ],
)
def test_sms_statuses(status: str, cls: type[ProviderError], retryable: bool) -> None:
    error = from_sms_status(status, "some words")
    assert type(error) is cls
    assert error.retryable is retryable
    assert error.status == 200  # the SMS API answers 200 even when it refuses


def test_sms_throttle_in_words() -> None:
    error = from_sms_status("1", "Throughput Rate Exceeded - please wait [ 702 ] and retry")
    assert str(error) == (
        "the SMS API is throttling sends and refused the message (status 1 Throttled): "
        "Throughput Rate Exceeded - please wait [ 702 ] and retry"
    )
