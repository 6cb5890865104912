"""The Dispatch API: ``POST /v0.1/dispatch`` starts a failover workflow of messages.

Credentials are the Messages API's (Basic, or an application's RS256 JWT), else 401. The body is
checked in this order, every violation answered with the API's one documented error, 400
``{type, title, detail, instance, invalid_parameters: {name, reason}}`` (the spec's
``invalid_parameters`` is one object: it names the first violation, ``detail`` lists them all):

- JSON, an object, ``template`` ``failover`` and ``workflow`` a non-empty array, against the
  ``createWorkflow`` schema of the shipped Dispatch spec;
- each step against its branch of that schema: every step but the last is a
  ``sendWithFailoverMessage`` (``failover.condition_status`` ``delivered`` or ``read``,
  ``failover.expiry_time`` 15 to 86400 seconds), the last a ``sendMessage`` without
  ``failover``; template parameters in the ``[{"default": ...}]`` form;
- each step as the v0.1 send it is (``to.type`` and ``from.type`` alike, the channel's own
  schema for its content type, then the rules of :mod:`~botkit.sandbox.rules`), parameters
  named ``workflow[i].…``.

Then a ``throttle`` (429) or ``error`` (5xx) fault for the first step's user, and else 202
``{"dispatch_uuid"}``: the workflow runs as :mod:`~botkit.sandbox.workflow` describes, with
statuses for each step's message and a final report to the application's status URL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import jsonschema
from aiohttp import web

from botkit.events import Channel
from botkit.sandbox.problems import (
    InvalidParameter,
    ProblemError,
    dispatch_invalid_params,
)
from botkit.sandbox.rules import as_parameters, request_violations
from botkit.sandbox.schemas import parameters_of, send_schemas
from botkit.sandbox.state import SANDBOX, Sandbox
from botkit.sandbox.submissions import addressee, from_v0
from botkit.sandbox.workflow import Condition, Step
from botkit.vonage.openapi import load_spec, to_json_schema

_REF = "#/components/schemas/"


@cache
def _validators() -> tuple[Any, Any, Any]:
    """The ``createWorkflow`` envelope (its steps left to the other two), a step with failover
    and a last step."""
    spec = load_spec("dispatch")
    envelope = to_json_schema(spec, {"$ref": _REF + "createWorkflow"})
    envelope["required"] = ["template", "workflow"]
    envelope["properties"]["workflow"] = {"type": "array", "minItems": 1}
    step = to_json_schema(spec, {"$ref": _REF + "sendWithFailoverMessage"})
    last = to_json_schema(spec, {"$ref": _REF + "sendMessage"})
    last.pop("not", None)  # a failover on the last step is named in words below
    make = jsonschema.Draft202012Validator
    return make(envelope), make(step), make(last)


def warm_checks() -> None:
    """Build (once per process) the schemas every send of the sandbox is checked against."""
    send_schemas("v1")
    send_schemas("v0.1")
    _validators()


async def create_workflow(request: web.Request) -> web.Response:
    """``POST /v0.1/dispatch``."""
    sandbox = request.app[SANDBOX]
    raw = await request.read()
    body: object = raw.decode("utf-8", "replace")[:2000]
    try:
        application_id = sandbox.caller(request.headers.get("Authorization"))
        body = _decode(raw)
        steps = workflow_steps(sandbox, body)
        first = steps[0].submission
        refusal = sandbox.refusing_answer(first.channel, first.to)
        if refusal is not None:
            answer, fault = refusal
            sandbox.record_rejection(
                "dispatch", answer, body, channel=first.channel, user=first.to, fault=fault
            )
            return answer.response()
    except ProblemError as refused:
        channel, user = _addressee(body)
        sandbox.record_rejection("dispatch", refused.answer, body, channel=channel, user=user)
        return refused.answer.response()
    workflow = sandbox.start_workflow(steps, application_id=application_id, request=body)
    return web.json_response({"dispatch_uuid": workflow.dispatch_uuid}, status=202)


def _decode(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise _refusal([InvalidParameter("body", f"is not valid JSON: {exc}")]) from None
    if not isinstance(data, dict):
        raise _refusal([InvalidParameter("body", "must be a JSON object.")])
    return data


def _refusal(found: Sequence[InvalidParameter]) -> ProblemError:
    return ProblemError(dispatch_invalid_params(found))


def workflow_steps(sandbox: Sandbox, body: Mapping[str, Any]) -> tuple[Step, ...]:
    """The steps of a valid ``createWorkflow`` body, or :class:`ProblemError` with the 400
    naming every violation."""
    envelope, with_failover, last = _validators()
    found = parameters_of(envelope.iter_errors(body))
    if found:
        raise _refusal(found)
    items: list[Any] = body["workflow"]
    steps: list[Step] = []
    for index, item in enumerate(items):
        is_last = index == len(items) - 1
        prefix = f"workflow[{index}]"
        if not isinstance(item, Mapping):
            found.append(InvalidParameter(prefix, "must be an object."))
            continue
        problems = []
        if is_last and "failover" in item:
            problems.append(
                InvalidParameter(
                    "failover", "must not be set on the last message: nothing follows it."
                )
            )
        schema = last if is_last else with_failover
        problems += parameters_of(schema.iter_errors(item))
        if not problems:
            step, problems = _step(sandbox, item)
            if step is not None:
                steps.append(step)
        found += [_within(prefix, p) for p in problems]
    if found:
        raise _refusal(found)
    return tuple(steps)


def _step(sandbox: Sandbox, item: Mapping[str, Any]) -> tuple[Step | None, list[InvalidParameter]]:
    """A schema-valid workflow message checked as the v0.1 send it is."""
    to_type, from_type = item["to"]["type"], item["from"]["type"]
    if to_type != from_type:
        return None, [InvalidParameter("from.type", f"must be `{to_type}`, as `to.type` is.")]
    send = _as_v0_send(item)
    schemas = send_schemas("v0.1")
    kind = send["message"]["content"]["type"]
    if kind not in schemas.message_types(to_type):
        supported = ", ".join(f"`{t}`" for t in sorted(schemas.message_types(to_type)))
        reason = f"must be one of: {supported} on `{to_type}`."
        return None, [InvalidParameter("message.content.type", reason)]
    problems = schemas.check(to_type, kind, send)
    if problems:
        return None, problems
    submission = from_v0(send)
    violations = request_violations(submission, sandbox.config.bot_address(submission.channel))
    if violations:
        return None, as_parameters(submission, violations)
    failover = item.get("failover")
    if failover is None:
        return Step(submission), []
    condition: Condition = "read" if failover["condition_status"] == "read" else "delivered"
    return Step(submission, condition, int(failover["expiry_time"])), []


def _as_v0_send(item: Mapping[str, Any]) -> dict[str, Any]:
    """The workflow message as a v0.1 send body: without ``failover``, template parameters as
    the strings v0.1 takes."""
    send = {key: value for key, value in item.items() if key != "failover"}
    message = dict(send["message"])
    content = dict(message["content"])
    template = content.get("template")
    if isinstance(template, Mapping) and isinstance(template.get("parameters"), list):
        parameters = [p.get("default", "") for p in template["parameters"]]
        content["template"] = {**template, "parameters": parameters}
    message["content"] = content
    send["message"] = message
    return send


def _within(prefix: str, parameter: InvalidParameter) -> InvalidParameter:
    name = parameter.name
    joined = prefix if name == "body" else f"{prefix}{'' if name.startswith('[') else '.'}{name}"
    return InvalidParameter(joined, parameter.reason)


def _addressee(body: object) -> tuple[Channel | None, str | None]:
    """The conversation a refused body is about (its first step's), for the log."""
    workflow = body.get("workflow") if isinstance(body, Mapping) else None
    return addressee(workflow[0] if isinstance(workflow, list) and workflow else None, "v0.1")


def dispatch_routes() -> list[web.RouteDef]:
    """The Dispatch API route (it needs :data:`~botkit.sandbox.state.SANDBOX`)."""
    return [web.post("/v0.1/dispatch", create_workflow)]
