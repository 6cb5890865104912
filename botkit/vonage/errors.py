"""Why a send failed, as typed exceptions that say whether sending again can help.

Every exception here is a :class:`SendError`. :class:`ProviderError` and its subclasses carry what
the provider said: the HTTP ``status``, a numeric ``code`` where there is one, the ``title`` and
``detail`` of an RFC 7807 problem, and ``retry_after`` when the provider asked for a pause.

- :func:`from_response` reads an HTTP error answer (problem+json or anything else).
- :func:`from_status_code` reads the error code of a Messages API status webhook (1000-1450).
- :func:`from_sms_status` reads a legacy SMS API ``messages[].status``.

``retryable`` is True when sending the same message again later can succeed: throttling, the
provider's 5xx, a timeout, a lost connection and the delivery codes :mod:`botkit.vonage.codes`
marks so. Everything else needs a change (credentials, credit, the message) first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

from botkit.errors import BotkitError
from botkit.vonage.codes import MESSAGES_ERRORS, SMS_SEND_STATUS

_SHOWN = 300
"""Characters of an unreadable body quoted in a message."""


class SendError(BotkitError):
    """The provider refused a message or could not be reached.

    ``status`` is the HTTP status of the provider's answer (None when there was no answer) and
    ``body`` its text. ``retryable`` says whether the same message can be sent again; when not
    given it is True for no answer, 429 and 5xx. ``attempts`` is how many times the message was
    sent before giving up.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.retryable = (
            retryable if retryable is not None else status is None or status == 429 or status >= 500
        )
        self.attempts = 1


class UnsendableMessage(SendError):
    """botkit cannot turn this message into a request (unsupported content for the channel,
    a field out of range); nothing was sent and sending it again cannot help."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


@dataclass(frozen=True)
class InvalidParameter:
    """One parameter a 422 answer names: ``name`` (e.g. ``image.url``) and ``reason``."""

    name: str
    reason: str

    def __str__(self) -> str:
        reason = self.reason.strip().rstrip(".")
        return f"{self.name} {reason}".strip()


class ProviderError(SendError):
    """The provider answered with an error, or a send could not complete.

    ``code`` is the provider's numeric code (a status webhook's 1000-1450 or an SMS API status)
    when there is one; ``title`` and ``detail`` are the provider's words; ``retry_after`` is the
    pause in seconds the provider asked for, if any; ``headers`` are the answer's headers with
    lower-case names (empty when there was no answer).
    """

    default_retryable: ClassVar[bool] = False
    refused: ClassVar[str] = "refused the message"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        title: str | None = None,
        detail: str | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
        type_url: str | None = None,
        instance: str | None = None,
    ) -> None:
        super().__init__(
            message,
            status=status,
            body=body,
            retryable=self.default_retryable if retryable is None else retryable,
        )
        self.code = code
        self.title = title
        self.detail = detail
        self.retry_after = retry_after
        self.headers: Mapping[str, str] = dict(headers or {})
        self.type_url = type_url
        self.instance = instance


class Unauthorized(ProviderError):
    """401: the credentials are missing, wrong, expired or not enabled for this API."""

    refused = "refused the credentials"


class PaymentRequired(ProviderError):
    """402 (or SMS status 9): the account is out of credit."""

    refused = "refused the message for lack of credit"


class InvalidRequest(ProviderError):
    """400/422: the message itself is wrong; ``invalid_parameters`` names the fields."""

    def __init__(
        self,
        message: str,
        *,
        invalid_parameters: tuple[InvalidParameter, ...] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.invalid_parameters = invalid_parameters


class Throttled(ProviderError):
    """429 (or code 1000/1241, SMS status 1): too many sends; wait ``retry_after`` and retry."""

    default_retryable = True
    refused = "is throttling sends and refused the message"


class ProviderUnavailable(ProviderError):
    """5xx: the provider failed; the same message can be sent again later."""

    default_retryable = True
    refused = "failed to take the message"


class MalformedResponse(ProviderError):
    """A success answer (2xx) botkit cannot read. The provider may well have taken the message,
    so it is not retryable: sending it again could deliver it twice."""


class TimedOut(ProviderError):
    """No answer within the timeout. The provider may or may not have taken the message."""

    default_retryable = True


class Unreachable(ProviderError):
    """The connection failed or broke before an answer arrived."""

    default_retryable = True


_BY_STATUS: dict[int, type[ProviderError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    402: PaymentRequired,
    422: InvalidRequest,
    429: Throttled,
}


def error_class_for_status(status: int) -> type[ProviderError]:
    """The exception class for an HTTP error status."""
    if status >= 500:
        return ProviderUnavailable
    return _BY_STATUS.get(status, ProviderError)


def from_response(
    status: int,
    headers: Mapping[str, str] | None,
    body_text: str | None,
    *,
    subject: str = "the provider",
    now: float | None = None,
) -> ProviderError:
    """The exception for an HTTP error answer: ``status``, its ``headers`` and body text.

    An RFC 7807 body (``type``, ``title``, ``detail``, ``instance``, ``invalid_parameters``) is
    read field by field; a body that is not JSON, not an object or has fields of the wrong type
    still gives an exception of the class the status calls for, quoting the start of the body.
    ``Retry-After`` (seconds or an HTTP date, relative to ``now``, default the system time) sets
    ``retry_after``. ``subject`` names who answered in the message. Never raises.
    """
    lowered = _lower_keys(headers)
    problem = json_object(body_text)
    title = _text(problem.get("title"))
    detail = _text(problem.get("detail"))
    invalid = _invalid_parameters(problem.get("invalid_parameters"))
    code = problem.get("code")
    cls = error_class_for_status(status)
    heading = f"{status} {title}" if title else str(status)
    if invalid:
        explanation: str | None = "; ".join(str(p) for p in invalid)
    elif detail:
        explanation = detail
    elif not problem and body_text and body_text.strip():
        explanation = _shorten(body_text.strip())
    else:
        explanation = None
    retry_after = parse_retry_after(lowered.get("retry-after"), now=now)
    message = f"{subject} {cls.refused} ({heading})"
    if explanation:
        message += f": {explanation}"
    if retry_after is not None:
        message += f"; retry after {retry_after:g} s"
    kwargs: dict[str, Any] = {
        "status": status,
        "code": code if isinstance(code, int) and not isinstance(code, bool) else None,
        "title": title,
        "detail": detail,
        "retry_after": retry_after,
        "body": body_text,
        "headers": lowered,
        "type_url": _text(problem.get("type")),
        "instance": _text(problem.get("instance")),
    }
    if cls is InvalidRequest:
        return InvalidRequest(message, invalid_parameters=invalid, **kwargs)
    return cls(message, **kwargs)


def from_status_code(code: int | str, detail: str | None = None) -> ProviderError:
    """The exception for a Messages API error code from a status webhook (``error.title`` in
    v1, ``error.code`` in v0.1), with the retryable flag of :data:`~botkit.vonage.codes.
    MESSAGES_ERRORS`. An unknown or unreadable code gives a non-retryable :class:`ProviderError`.
    """
    entry = MESSAGES_ERRORS.get(code)
    number = entry.code if entry else _int_or_none(code)
    title = entry.title if entry else "Unknown error code"
    cls = _STATUS_CODE_CLASS.get(number, ProviderError) if number is not None else ProviderError
    heading = f"{number if number is not None else code!r} {title}"
    message = f"the provider could not deliver the message ({heading})"
    if detail:
        message += f": {detail}"
    return cls(
        message,
        code=number,
        title=title,
        detail=detail,
        retryable=entry is not None and entry.retryable,
    )


def from_sms_status(
    code: int | str,
    error_text: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    body: str | None = None,
) -> ProviderError:
    """The exception for a legacy SMS API send status other than 0 (the API answers HTTP 200
    with a status per message part), retryable as :data:`~botkit.vonage.codes.SMS_SEND_STATUS`
    says."""
    entry = SMS_SEND_STATUS.get(code)
    number = entry.code if entry else _int_or_none(code)
    title = entry.title if entry else "Unknown status"
    cls = _SMS_STATUS_CLASS.get(number, ProviderError) if number is not None else ProviderError
    shown = number if number is not None else repr(code)
    message = f"the SMS API {cls.refused} (status {shown} {title})"
    if error_text:
        message += f": {error_text}"
    return cls(
        message,
        status=200,
        code=number,
        title=title,
        detail=error_text,
        retryable=entry is not None and entry.retryable,
        headers=headers,
        body=body,
    )


_STATUS_CODE_CLASS: dict[int, type[ProviderError]] = {
    1000: Throttled,
    1241: Throttled,
    1070: PaymentRequired,
    1100: ProviderUnavailable,
    1331: ProviderUnavailable,
    **{
        c: InvalidRequest
        for c in (1010, 1020, 1021, 1022, 1040, 1090, 1120, 1130, 1150, 1170, 1380, 1381, 1382)
    },
    **{c: InvalidRequest for c in range(1400, 1451, 10)},
}

_SMS_STATUS_CLASS: dict[int, type[ProviderError]] = {
    1: Throttled,
    10: Throttled,
    5: ProviderUnavailable,
    4: Unauthorized,
    14: Unauthorized,
    9: PaymentRequired,
    **{c: InvalidRequest for c in (2, 3, 6, 12, 15, 22, 23, 29, 32)},
}


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay seconds, or an HTTP date (relative to
    ``now``, default the system time). None when absent or unreadable; never negative."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)


def _lower_keys(headers: Mapping[str, str] | None) -> dict[str, str]:
    if not headers:
        return {}
    return {str(k).lower(): str(v) for k, v in headers.items()}


def json_object(body_text: str | None) -> dict[str, Any]:
    """The JSON object an answer's body holds; empty for no body, a body that is not JSON
    (or nested too deep to read), or JSON that is not an object."""
    if not body_text:
        return {}
    try:
        data = json.loads(body_text)
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return _shorten(value.strip())
    return None


def _invalid_parameters(value: object) -> tuple[InvalidParameter, ...]:
    if isinstance(value, dict):
        value = [value]  # the Dispatch API's spec gives one object, not a list
    if not isinstance(value, list):
        return ()
    found = []
    for item in value:
        if isinstance(item, dict):
            name, reason = _text(item.get("name")), _text(item.get("reason"))
            if name or reason:
                found.append(InvalidParameter(name or "?", reason or "is invalid"))
    return tuple(found)


def _int_or_none(value: int | str) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def _shorten(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."
