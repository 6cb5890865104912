"""The sandbox app: the provider's endpoints, the control API, and how to run them.

Provider endpoints (what a bot talks to, in place of ``https://api.nexmo.com``):

- ``POST /v1/messages``, ``POST /v0.1/messages``: Basic (the account's key and secret) or an
  application's RS256 JWT, else 401. The body is checked in the provider's order: JSON (422
  ``invalid-json``), ``channel`` (422 ``Unsupported channel``), ``message_type`` (422 ``Invalid
  message type`` when the channel cannot carry it), the official schema of that channel and
  type, then :mod:`~botkit.sandbox.rules`. v1 answers each violation with the 422 its
  parameter belongs to (``Invalid recipient`` for ``to``, ``Invalid sender`` for ``from``,
  ``Invalid channel parameters`` for the channel's options object, ``Invalid client
  reference``, else ``Invalid params``), with ``invalid_parameters`` ``[{name, reason}]``. v0.1
  answers every violation with its one documented error, 400. Then a ``throttle`` (429) or
  ``error`` (5xx) fault, and else 202 ``{"message_uuid"}`` with statuses to follow.
  A v1 body with ``failover`` is refused (422 ``Invalid params`` naming ``failover``): the
  sandbox does not play failover yet, and must not pretend it did.
- ``PATCH /v1/messages/{message_uuid}`` with ``{"status": "read"}``: marks an inbound WhatsApp
  message read (the same credentials as a send); 200 with no body. 404 for a uuid the sandbox
  does not know, 422 naming ``status`` for another status and ``message_uuid`` for a message
  that is not an inbound WhatsApp message.
- ``POST /sms/json``: :mod:`~botkit.sandbox.sms_api`.
- ``POST /v0.1/dispatch``: :mod:`~botkit.sandbox.dispatch` (failover workflows).
- ``/v2/applications``: :mod:`~botkit.sandbox.applications`.
- ``GET /account/numbers``, ``POST /number/update``: :mod:`~botkit.sandbox.numbers`.
- ``/kpn/...``: KPN's API Store reselling the Messages API, :mod:`~botkit.sandbox.gateway`.

The control API under ``/_sandbox`` is in :mod:`~botkit.sandbox.admin`. Any other path answers
the provider's JSON error (404 ``Not Found``, 405 ``Request method not allowed``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from aiohttp import web

from botkit.access import token_guard
from botkit.clock import OffsetClock
from botkit.events import Channel
from botkit.sandbox.admin import ADMIN_MIDDLEWARE, admin_routes
from botkit.sandbox.applications import ACCOUNT, APPLICATIONS, application_routes
from botkit.sandbox.config import (
    Delays,
    SandboxConfig,
    WebhookVersion,
    refuse_production,
)
from botkit.sandbox.dispatch import dispatch_routes, warm_checks
from botkit.sandbox.gateway import GATEWAY, gateway_routes
from botkit.sandbox.numbers import NUMBERS, number_routes
from botkit.sandbox.problems import (
    InvalidParameter,
    ProblemAnswer,
    ProblemError,
    V1ErrorName,
    application_problem,
    not_found,
    v0_invalid_params,
    v1_problem,
)
from botkit.sandbox.rules import (
    Category,
    as_parameters,
    category_of,
    request_violations,
)
from botkit.sandbox.schemas import SendApi, send_schemas
from botkit.sandbox.sms_api import sms_routes
from botkit.sandbox.state import SANDBOX, Sandbox
from botkit.sandbox.submissions import (
    Submission,
    addressee,
    from_v0,
    from_v1,
)
from botkit.vonage.signing import SmsSignatureMethod

DEFAULT_PORT = 8700
DEFAULT_DELAYS = Delays()
MAX_BODY_BYTES = 1024 * 1024

_V1_ERRORS: tuple[tuple[Category, V1ErrorName], ...] = (
    ("recipient", "ErrorRecipient"),
    ("sender", "ErrorSender"),
    ("channel_params", "ErrorChannelParams"),
    ("client_ref", "ErrorClientReference"),
    ("params", "ErrorMessageParams"),
)
_V1_DETAILS: Mapping[Category, str] = {
    "recipient": "The `to` parameter is invalid for the given channel.",
    "sender": "The `from` parameter is invalid for the given channel.",
    "channel_params": "The value of one or more parameters is invalid.",
    "client_ref": "The client reference can be a string of up to 100 characters.",
    "params": "The value of one or more parameters is invalid.",
}


# --- Messages API ------------------------------------------------------------------------------


async def send_v1(request: web.Request) -> web.Response:
    """``POST /v1/messages``."""
    return await _send(request, "v1")


async def send_v0(request: web.Request) -> web.Response:
    """``POST /v0.1/messages``."""
    return await _send(request, "v0.1")


async def _send(
    request: web.Request,
    api: SendApi,
    raw: bytes | None = None,
    application_id: str | None = None,
) -> web.Response:
    """A send; ``raw`` and ``application_id`` when a gateway took the request and
    authenticated it (the sandbox's gateway hands on the body it checked)."""
    sandbox = request.app[SANDBOX]
    if raw is None:
        raw = await request.read()
    body: object = raw.decode("utf-8", "replace")[:2000]
    channel: Channel | None = None
    user: str | None = None
    try:
        if application_id is None:
            application_id = sandbox.caller(request.headers.get("Authorization"))
        body = _decode(raw, api)
        channel, user = addressee(body, api)
        submission = _submission(sandbox, body, api)
        refusal = sandbox.refusing_answer(submission.channel, submission.to)
        if refusal is not None:
            answer, fault = refusal
            sandbox.record_rejection(api, answer, body, channel=channel, user=user, fault=fault)
            return answer.response()
    except ProblemError as refused:
        sandbox.record_rejection(api, refused.answer, body, channel=channel, user=user)
        return refused.answer.response()
    record = sandbox.accept(submission, application_id=application_id)
    return web.json_response({"message_uuid": record.message_uuid}, status=202)


def _decode(raw: bytes, api: SendApi) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        detail = f"The request body is not valid JSON: {exc}"
        raise ProblemError(_invalid_json(api, detail)) from None
    if not isinstance(data, dict):
        raise ProblemError(_invalid_json(api, "The request body must be a JSON object."))
    return data


def _invalid_json(api: SendApi, detail: str) -> ProblemAnswer:
    answer = v1_problem("ErrorInvalidJson", detail)
    return answer if api == "v1" else ProblemAnswer(400, answer.body)


def _submission(sandbox: Sandbox, body: dict[str, Any], api: SendApi) -> Submission:
    """The submission of ``body``, or :class:`ProblemError` with the provider's refusal."""
    schemas = send_schemas(api)
    if api == "v1":
        channel, kind = body.get("channel"), body.get("message_type")
        if channel is None:
            raise ProblemError(
                _v1_refusal([("params", InvalidParameter("channel", "is required."))])
            )
        if not isinstance(channel, str) or channel not in schemas.channels:
            raise ProblemError(
                v1_problem(
                    "ErrorChannel",
                    f"The specified channel is not supported: `{channel}` is not one of "
                    + ", ".join(f"`{c}`" for c in sorted(schemas.channels))
                    + ".",
                )
            )
        if kind is None:
            raise ProblemError(
                _v1_refusal([("params", InvalidParameter("message_type", "is required."))])
            )
        supported = schemas.message_types(channel)
        if not isinstance(kind, str) or kind not in supported:
            raise ProblemError(
                v1_problem(
                    "ErrorMessageType",
                    f"The message type `{kind}` is not supported for the channel `{channel}`; "
                    "it supports " + ", ".join(f"`{t}`" for t in sorted(supported)) + ".",
                )
            )
        if "failover" in body:
            raise ProblemError(
                _v1_refusal(
                    [
                        (
                            "params",
                            InvalidParameter(
                                "failover",
                                "is not supported by this sandbox yet: send without it, and "
                                "send the next message yourself when a status says failed.",
                            ),
                        )
                    ]
                )
            )
    else:
        to_side = _mapping(body.get("to"))
        channel = to_side.get("type")
        if not isinstance(channel, str) or channel not in schemas.channels:
            raise ProblemError(
                v0_invalid_params([InvalidParameter("to.type", _one_of(schemas.channels))])
            )
        content = _mapping(_mapping(body.get("message")).get("content"))
        kind = content.get("type")
        supported = schemas.message_types(channel)
        if not isinstance(kind, str) or kind not in supported:
            raise ProblemError(
                v0_invalid_params([InvalidParameter("message.content.type", _one_of(supported))])
            )
    found = [(category_of(p.name), p) for p in schemas.check(channel, kind, body)]
    if not found:
        submission = from_v1(body) if api == "v1" else from_v0(body)
        bot = sandbox.config.bot_address(submission.channel)
        wrote = sandbox.has_written(submission.channel, submission.to)
        violations = request_violations(submission, bot, wrote_before=wrote)
        parameters = as_parameters(submission, violations)
        found = [(v.category, p) for v, p in zip(violations, parameters, strict=True)]
        if not found:
            return submission
    if api == "v1":
        raise ProblemError(_v1_refusal(found))
    raise ProblemError(v0_invalid_params([p for _, p in found]))


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _one_of(values: frozenset[str]) -> str:
    return "must be one of: " + ", ".join(f"`{v}`" for v in sorted(values)) + "."


def _v1_refusal(found: list[tuple[Category, InvalidParameter]]) -> ProblemAnswer:
    """The one 422 of the first category (in the provider's order) that has violations."""
    for category, name in _V1_ERRORS:
        chosen = [p for c, p in found if c == category]
        if not chosen:
            continue
        if category in ("recipient", "sender", "client_ref"):
            reasons = "; ".join(f"`{p.name}` {p.reason}" for p in chosen)
            return v1_problem(name, f"{_V1_DETAILS[category]} {reasons}")
        return v1_problem(name, _V1_DETAILS[category], invalid_parameters=chosen)
    raise ValueError("no violations to answer")


async def update_message(request: web.Request) -> web.Response:
    """``PATCH /v1/messages/{message_uuid}``: mark an inbound WhatsApp message read."""
    sandbox = request.app[SANDBOX]
    sandbox.caller(request.headers.get("Authorization"))
    body = _decode(await request.read(), "v1")
    message_uuid = request.match_info["message_uuid"]
    record = sandbox.messages.get(message_uuid)
    if record is None:
        raise ProblemError(not_found(f"Message '{message_uuid}'"))
    if body.get("status") != "read":
        raise ProblemError(_v1_refusal([("params", InvalidParameter("status", "must be `read`."))]))
    if record.direction != "inbound" or record.channel is not Channel.WHATSAPP:
        reason = "must name an inbound WhatsApp message; only those can be marked read."
        raise ProblemError(_v1_refusal([("params", InvalidParameter("message_uuid", reason))]))
    sandbox.mark_read(record)
    return web.Response(status=200)


# --- the app -----------------------------------------------------------------------------------


@web.middleware
async def _problems(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ProblemError as refused:
        return refused.answer.response()
    except web.HTTPNotFound:
        if _shows_users(request.path):
            raise
        detail = f"No resource at {request.method} {request.path}"
        return application_problem("NotFoundError", detail).response()
    except web.HTTPMethodNotAllowed:
        if _shows_users(request.path):
            raise
        detail = f"Request method '{request.method}' not supported"
        return application_problem("InvalidRequestMethod", detail).response()


def create_sandbox_app(
    *,
    clock: OffsetClock,
    signature_secret: str | None,
    api_key: str,
    api_secret: str,
    application_id: str | None = None,
    public_key_pem: str | None = None,
    webhook_version: WebhookVersion = "v1",
    inbound_url: str | None = None,
    status_url: str | None = None,
    delays: Delays | tuple[float, float, float] = DEFAULT_DELAYS,
    auto_read: bool = True,
    bot_addresses: Mapping[Channel, str] | None = None,
    webhook_retry_delays: tuple[float, ...] = (1.0, 5.0),
    sms_signature_method: SmsSignatureMethod = "md5hash",
    sms_dlr_url: str | None = None,
    env: str | None = None,
    token: str | None = None,
) -> web.Application:
    """An aiohttp app playing the provider for one account (see :class:`SandboxConfig`).

    ``clock`` is the sandbox's clock (``POST /_sandbox/clock`` moves it); ``delays`` is
    ``(submitted, delivered, read)`` in seconds (:meth:`Delays.none` for tests). The app keeps
    its :class:`~botkit.sandbox.state.Sandbox` at ``app[SANDBOX]``; its HTTP session and
    background deliveries live in the app's ``cleanup_ctx``. With ``token``, the control API
    and the pages answer only requests carrying it (see :mod:`botkit.access`). Raises
    :class:`~botkit.sandbox.config.ProductionRefusedError` when ``env`` is ``production``.
    """
    refuse_production(env)
    config = SandboxConfig(
        api_key=api_key,
        api_secret=api_secret,
        signature_secret=signature_secret,
        application_id=application_id,
        public_key_pem=public_key_pem,
        webhook_version=webhook_version,
        inbound_url=inbound_url,
        status_url=status_url,
        bot_addresses=bot_addresses or {},
        delays=delays if isinstance(delays, Delays) else Delays(*delays),
        auto_read=auto_read,
        webhook_retry_delays=webhook_retry_delays,
        sms_signature_method=sms_signature_method,
        sms_dlr_url=sms_dlr_url,
    )
    return build_app(Sandbox(config, clock), token=token)


def _shows_users(path: str) -> bool:
    """The sandbox's own pages and APIs (not the provider's endpoints, which authenticate
    like the provider does)."""
    return path in ("/", "/inspector", "/config.js") or path.startswith(("/_sandbox", "/_botkit"))


def build_app(sandbox: Sandbox, *, token: str | None = None) -> web.Application:
    """The aiohttp app around an existing :class:`~botkit.sandbox.state.Sandbox`; with
    ``token``, its pages and control API answer only requests carrying it."""
    guard = [token_guard(token, _shows_users)] if token is not None else []
    app = web.Application(
        middlewares=[*guard, _problems, ADMIN_MIDDLEWARE], client_max_size=MAX_BODY_BYTES
    )
    # Built on first use otherwise, the checks would make a client's first send slow enough to
    # time out on a busy machine.
    warm_checks()
    app[SANDBOX] = sandbox
    app[APPLICATIONS] = sandbox.applications
    app[ACCOUNT] = sandbox.config
    app[NUMBERS] = sandbox.numbers
    app[GATEWAY] = sandbox.gateway
    app.router.add_routes(
        [
            web.post("/v1/messages", send_v1),
            web.post("/v0.1/messages", send_v0),
            web.patch("/v1/messages/{message_uuid}", update_message),
            *sms_routes(),
            *dispatch_routes(),
            *application_routes(),
            *number_routes(),
            *gateway_routes(_send),
            *admin_routes(),
        ]
    )
    app.cleanup_ctx.append(_running)
    app.on_shutdown.append(_end_feeds)
    return app


async def _running(app: web.Application) -> AsyncIterator[None]:
    sandbox = app[SANDBOX]
    async with aiohttp.ClientSession() as session:
        sandbox.start(session)
        yield
        await sandbox.stop()


async def _end_feeds(app: web.Application) -> None:
    app[SANDBOX].journal.close()


def run_sandbox(
    *, host: str = "127.0.0.1", port: int = DEFAULT_PORT, env: str | None = None, **options: Any
) -> None:
    """Serve a sandbox on ``host:port`` (loopback by default) until interrupted.

    ``options`` are the keyword arguments of :func:`create_sandbox_app` (``clock`` defaults to
    a fresh :class:`~botkit.clock.OffsetClock`, ``token`` to a random one, printed with the
    control API's address). Raises :class:`~botkit.sandbox.config.ProductionRefusedError` when
    ``env`` is ``production``.
    """
    refuse_production(env)
    options.setdefault("clock", OffsetClock())
    token = options.setdefault("token", secrets.token_urlsafe(24))
    app = create_sandbox_app(env=env, **options)
    print(f"sandbox control API: http://{host}:{port}/_sandbox?token={token}", flush=True)
    web.run_app(app, host=host, port=port)
