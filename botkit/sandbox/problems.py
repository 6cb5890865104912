"""The provider's error answers: RFC 7807 ``application/problem+json`` bodies.

The ``type`` and ``title`` of each Messages API v1 error are read from the examples of its
schema in the official spec (``ErrorMessageParams`` answers ``"Invalid params"`` with
``https://developer.nexmo.com/api-errors/messages-olympus#1150``, and so on), so the sandbox
answers what the provider documents rather than what botkit expects.

Messages API v0.1 documents a single 400 error; its body, as the live API sent it, is
``{type: ".../messages/Errors#InvalidParams", title: "Your request parameters didn't
validate.", detail: "Found errors validating N of your submitted parameters.", instance,
invalid_parameters}``. The spec is silent on the other v0.1 errors, so they take the v1 shapes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from aiohttp import web

from botkit.vonage.openapi import load_spec, resolve

PROBLEM_JSON = "application/problem+json"

V1ErrorName = Literal[
    "ErrorInvalidJson",
    "ErrorChannel",
    "ErrorChannelParams",
    "ErrorSender",
    "ErrorRecipient",
    "ErrorMessageType",
    "ErrorMessageParams",
    "ErrorClientReference",
    "ErrorUnauthorizedMissingCredentials",
    "ErrorUnauthorizedInvalidApplication",
    "ErrorPaymentRequired",
    "ErrorThrottled",
    "ErrorInternal",
]

_V1_STATUS: Mapping[V1ErrorName, int] = {
    "ErrorInvalidJson": 422,
    "ErrorChannel": 422,
    "ErrorChannelParams": 422,
    "ErrorSender": 422,
    "ErrorRecipient": 422,
    "ErrorMessageType": 422,
    "ErrorMessageParams": 422,
    "ErrorClientReference": 422,
    "ErrorUnauthorizedMissingCredentials": 401,
    "ErrorUnauthorizedInvalidApplication": 401,
    "ErrorPaymentRequired": 402,
    "ErrorThrottled": 429,
    "ErrorInternal": 500,
}

V0_INVALID_PARAMS_TYPE = "https://www.nexmo.com/messages/Errors#InvalidParams"
V0_INVALID_PARAMS_TITLE = "Your request parameters didn't validate."


@dataclass(frozen=True)
class InvalidParameter:
    """One entry of ``invalid_parameters``: the parameter's dotted name and what is wrong."""

    name: str
    reason: str

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "reason": self.reason}


@dataclass(frozen=True)
class ProblemAnswer:
    """An error answer: HTTP status, the problem body and any extra headers."""

    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return str(self.body.get("title", ""))

    def response(self) -> web.Response:
        return web.json_response(
            self.body, status=self.status, content_type=PROBLEM_JSON, headers=dict(self.headers)
        )


class ProblemError(Exception):
    """Raised inside a handler to answer with :attr:`answer`."""

    def __init__(self, answer: ProblemAnswer) -> None:
        super().__init__(f"{answer.status} {answer.title}")
        self.answer = answer


def new_instance() -> str:
    """A trace id shaped like the provider's (32 lower-case hex digits)."""
    return uuid.uuid4().hex


@cache
def _v1_examples(name: V1ErrorName) -> tuple[str, str]:
    spec = load_spec("messages-v1")
    properties = spec["components"]["schemas"][name]["properties"]
    return str(properties["type"]["example"]), str(properties["title"]["example"])


def v1_problem(
    name: V1ErrorName,
    detail: str,
    *,
    invalid_parameters: Sequence[InvalidParameter] = (),
    headers: Mapping[str, str] | None = None,
) -> ProblemAnswer:
    """The Messages API v1 error ``name`` (a schema of the spec) with ``detail``.

    ``invalid_parameters`` is included only when given.
    """
    body = _problem(*_v1_examples(name), detail, invalid_parameters)
    return ProblemAnswer(_V1_STATUS[name], body, dict(headers or {}))


def v0_invalid_params(invalid_parameters: Sequence[InvalidParameter]) -> ProblemAnswer:
    """The Messages API v0.1 answer to a body that does not validate: 400."""
    count = len(invalid_parameters)
    return ProblemAnswer(
        400,
        {
            "type": V0_INVALID_PARAMS_TYPE,
            "title": V0_INVALID_PARAMS_TITLE,
            "detail": f"Found errors validating {count} of your submitted parameters.",
            "instance": new_instance(),
            "invalid_parameters": [p.as_json() for p in invalid_parameters],
        },
    )


def dispatch_invalid_params(invalid_parameters: Sequence[InvalidParameter]) -> ProblemAnswer:
    """The Dispatch API's answer to a body that does not validate: 400 in the v0.1 shape,
    except that the Dispatch spec makes ``invalid_parameters`` one ``{name, reason}`` object: it
    names the first violation, and ``detail`` lists every one."""
    listed = "; ".join(f"`{p.name}` {p.reason}" for p in invalid_parameters)
    answer = v0_invalid_params(invalid_parameters)
    body = {
        **answer.body,
        "detail": f"{answer.body['detail'][:-1]}: {listed}",
        "invalid_parameters": invalid_parameters[0].as_json(),
    }
    return ProblemAnswer(400, body)


def throttled(retry_after: int) -> ProblemAnswer:
    """429 ``Rate Limit Hit`` with ``Retry-After`` in seconds."""
    return v1_problem(
        "ErrorThrottled",
        "Please wait, then retry your request",
        headers={"Retry-After": str(retry_after)},
    )


def internal_error(status: int = 500) -> ProblemAnswer:
    """A 5xx ``Internal error`` (the status may be another 5xx, for a failing gateway)."""
    answer = v1_problem(
        "ErrorInternal", "There was an error processing your request in the Platform."
    )
    return ProblemAnswer(status, answer.body, answer.headers)


# --- Application API ---------------------------------------------------------------------------

ApplicationErrorName = Literal[
    "BadCredentialsError",
    "NotFoundError",
    "InvalidRequestMethod",
    "UnsupportedContentTypeHeader",
    "InvalidPayloadError",
]

_APPLICATION_STATUS: Mapping[ApplicationErrorName, int] = {
    "BadCredentialsError": 401,
    "NotFoundError": 404,
    "InvalidRequestMethod": 405,
    "UnsupportedContentTypeHeader": 415,
    "InvalidPayloadError": 400,
}


@cache
def _application_examples(name: ApplicationErrorName) -> tuple[str, str]:
    spec = load_spec("application")
    if name == "InvalidPayloadError":
        response = spec["components"]["responses"][name]
    else:
        ref = f"common/common_errors.yml#/components/responses/{name}"
        response = resolve(spec, {"$ref": ref})
    properties = response["content"]["application/json"]["schema"]["properties"]
    return str(properties["type"]["example"]), str(properties["title"]["example"])


def application_problem(
    name: ApplicationErrorName,
    detail: str,
    *,
    invalid_parameters: Sequence[InvalidParameter] = (),
) -> ProblemAnswer:
    """An Application API v2 error, shaped by the examples in its spec (all but
    ``InvalidPayloadError`` are the provider's common errors, which any API answers)."""
    body = _problem(*_application_examples(name), detail, invalid_parameters)
    return ProblemAnswer(_APPLICATION_STATUS[name], body)


def _problem(
    type_url: str, title: str, detail: str, invalid_parameters: Sequence[InvalidParameter]
) -> dict[str, Any]:
    """An RFC 7807 body as the provider's APIs write it (``invalid_parameters`` when given)."""
    body: dict[str, Any] = {
        "type": type_url,
        "title": title,
        "detail": detail,
        "instance": new_instance(),
    }
    if invalid_parameters:
        body["invalid_parameters"] = [p.as_json() for p in invalid_parameters]
    return body


def not_found(what: str) -> ProblemAnswer:
    """404 ``Not Found`` for ``what`` (e.g. ``ID 'abc'``), in the provider's common shape."""
    return application_problem("NotFoundError", f"{what} does not exist, or you do not have access")
