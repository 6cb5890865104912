"""The aiohttp app: provider webhooks in, one straight pipeline each.

Messages API and Dispatch (JSON, v1 or v0.1, told apart by the payload)::

    read body (413) -> verify JWT (401) -> decode JSON (400) -> parse (400) -> accept -> 200

Legacy SMS API (GET query, POST form or POST JSON)::

    read params (413/400) -> verify sig (401) -> parse (400) -> store SMS part -> accept -> 200

The events API, served only when ``BOTKIT_API_TOKEN`` is set (a proactive event from the
team's own systems, see :mod:`botkit.notifications`)::

    bearer token (401) -> read body (413) -> decode JSON (400) -> read event (400) -> accept -> 202

Client mistakes are answered with a JSON body that says what was wrong and logged at warning,
without a traceback. Only a bug in botkit answers 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from structlog.contextvars import bound_contextvars

from botkit.access import bears, carries
from botkit.bot import Bot
from botkit.clock import Clock, SystemClock
from botkit.delivery import RetryPolicy
from botkit.errors import InvalidPayload, Problem, SignatureError
from botkit.events import Channel, DeliveryStatus, Event, Notification
from botkit.inspector import inspector_app
from botkit.log import get_logger, private
from botkit.metrics import (
    CONTENT_TYPE,
    INBOX_DEPTH,
    TIMERS_DUE,
    WEBHOOK_SECONDS,
    WEBHOOKS,
    child,
    exposition,
)
from botkit.notifications import read_notification
from botkit.runtime import Runtime
from botkit.settings import Settings
from botkit.store import open_store
from botkit.store.base import Store, StoreUnavailable
from botkit.store.parts import PartsLimits
from botkit.vonage.client import transport_from_settings
from botkit.vonage.gateway import messages_version
from botkit.vonage.inbound.concat import SmsConcat
from botkit.vonage.inbound.detect import parse_messages_webhook
from botkit.vonage.inbound.json_body import read_json
from botkit.vonage.inbound.sms_api import SmsPart, parse_sms_delivery_receipt, parse_sms_inbound
from botkit.vonage.signing import verify_sms_signature, verify_webhook_jwt
from botkit.vonage.transport import Transport

log = get_logger("botkit.server")

SETTINGS = web.AppKey("settings", Settings)
BOT = web.AppKey("bot", Bot)
HTTP = web.AppKey("http", aiohttp.ClientSession)
TRANSPORT = web.AppKey("transport", Transport)
STORE = web.AppKey("store", Store)
CLOCK = web.AppKey("clock", Clock)
RUNTIME = web.AppKey("runtime", Runtime)
SMS_PARTS = web.AppKey("sms_parts", SmsConcat)
SERVED = web.AppKey("served", web.Application)
"""For the metrics port's own app: the app whose metrics it serves."""

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    settings: Settings,
    bot: Bot[Any],
    *,
    transport: Transport | None = None,
    store: Store | None = None,
    clock: Clock | None = None,
) -> web.Application:
    """Build the webhook server for ``bot``.

    ``store`` defaults to Redis when ``REDIS_URL`` is set, else the embedded memory store (a
    store given here is not closed with the app);
    ``transport`` to the Messages API client built from the settings. The HTTP client session,
    the store, the runtime and the SMS parts buffer live in the app's ``cleanup_ctx``: created
    at start-up, closed at shutdown (running handlers get a grace period first).

    The parts of a long SMS wait in the store (:meth:`Store.parts_buffer`), so they join
    whichever process each part reaches; a task of every process delivers what arrived of
    messages whose wait (``BOTKIT_SMS_CONCAT_TIMEOUT``) ran out, as one event each with
    ``sms.missing_parts`` set.
    """
    # aiohttp enforces client_max_size only when the body is read: one byte of headroom lets
    # _read_body tell "at the limit" from "over it".
    app = web.Application(
        client_max_size=settings.max_body_bytes, middlewares=[_measure, _answer_errors]
    )
    app[SETTINGS] = settings
    app[BOT] = bot
    app[CLOCK] = clock or SystemClock()
    app.cleanup_ctx.append(_http_session)
    app.cleanup_ctx.append(_make_runtime(transport, store, app[CLOCK]))
    app.router.add_post("/webhooks/inbound", messages_webhook)
    app.router.add_post("/webhooks/status", messages_webhook)
    for path, handler in (("/webhooks/sms/inbound", sms_inbound), ("/webhooks/sms/dlr", sms_dlr)):
        app.router.add_get(path, handler, allow_head=False)
        app.router.add_post(path, handler)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if settings.metrics_token is not None:
        app.router.add_get("/metrics", metrics)
    if settings.metrics_port is not None:
        app.cleanup_ctx.append(_metrics_site)
    if settings.api_token is not None:
        app.router.add_post(EVENTS_PATH, events_api)
    if settings.inspector_token is not None:
        token = settings.inspector_token.get_secret_value()
        app.add_subapp("/_botkit/", inspector_app(BOT, STORE, CLOCK, token=token))
    if settings.vonage_signature_secret is None:
        log.warning(
            "webhooks are unauthenticated: VONAGE_SIGNATURE_SECRET is not set, so anyone who can "
            "reach this server can post events as the provider; set it in production"
        )
    return app


async def _metrics_site(app: web.Application) -> AsyncIterator[None]:
    """``/metrics`` on ``BOTKIT_METRICS_PORT``, without a token."""
    settings = app[SETTINGS]
    assert settings.metrics_port is not None
    site_app = web.Application()
    site_app[SERVED] = app
    site_app.router.add_get("/metrics", _exposition)
    runner = web.AppRunner(site_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.metrics_port).start()
    yield
    await runner.cleanup()


async def drain(app: web.Application, seconds: float = 20.0) -> None:
    """Drain ``app`` before its server closes (SIGTERM): webhooks answer 503 (the provider
    retries, elsewhere) while in-flight turns finish for up to ``seconds``, and each
    conversation is handed over (its lease released, so another process takes it at once)."""
    log.info("draining: webhooks answer 503 while turns in progress finish")
    await app[RUNTIME].close(timeout=seconds)


async def _http_session(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as session:
        app[HTTP] = session
        yield


def _make_runtime(
    transport: Transport | None, store: Store | None, clock: Clock
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def runtime_ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        app[STORE] = store or open_store(settings)
        app[TRANSPORT] = transport or transport_from_settings(settings, app[HTTP], app[STORE])
        limits = PartsLimits(
            wait_seconds=settings.sms_concat_timeout,
            per_sender=settings.sms_parts_per_sender,
            total=settings.sms_parts_total,
        )
        app[SMS_PARTS] = SmsConcat(app[STORE].parts_buffer(limits))
        runtime = Runtime(
            app[BOT],
            app[STORE],
            app[TRANSPORT],
            handler_timeout=settings.handler_timeout,
            sweep_interval=settings.sweep_seconds,
            retry=RetryPolicy(
                max_seconds=settings.send_retry_max_seconds,
                give_up_seconds=settings.send_retry_give_up_seconds,
            ),
            clock=clock,
            api_version=messages_version(settings),
            failover=settings.failover,
            senders={Channel(name): address for name, address in settings.senders.items()},
            trace_turns=settings.inspector_token is not None,
        )
        app[RUNTIME] = runtime
        await runtime.start()
        every = min(5.0, max(0.05, settings.sms_concat_timeout / 20))
        deliverer = asyncio.create_task(_deliver_sms_parts(app, every), name="botkit:sms-parts")
        yield
        deliverer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await deliverer
        await runtime.close()
        if store is None:  # a store given by the caller outlives the app (dev reloads)
            await app[STORE].close()

    return runtime_ctx


async def _deliver_sms_parts(app: web.Application, every: float) -> None:
    """Deliver what arrived of long SMS whose wait ran out, or that a bound pushed out, each as
    one event (``sms.missing_parts`` says what is missing), every ``every`` seconds and at once
    again while there is more. Runs as long as the app: a failure is logged, never fatal."""
    unreachable = False
    while True:
        try:
            more = await deliver_due_sms(app[SMS_PARTS], app[RUNTIME])
            if unreachable:
                unreachable = False
                log.info("long SMS waiting for delivery: the store is reachable again")
        except asyncio.CancelledError:
            raise
        except StoreUnavailable as exc:
            more = False
            if not unreachable:  # once per outage, not once per pass
                unreachable = True
                log.warning(
                    "long SMS waiting for delivery: the store is unreachable", error=str(exc)
                )
        except Exception as exc:
            more = False
            log.error(
                "delivering long SMS whose wait ran out failed; trying again",
                error=f"{type(exc).__name__}: {exc}",
            )
        if not more:
            await asyncio.sleep(every)


async def deliver_due_sms(concat: SmsConcat, runtime: Runtime, limit: int = 100) -> bool:
    """Claim the long SMS that are due, accept each as one event and forget those accepted;
    True when every claimed one was handled (there may be more). A message the runtime cannot
    take now (store unreachable) stays claimed and comes back when its claim runs out."""
    due = await concat.claim_due(limit)
    handled: list[str] = []
    for item in due:
        if item.event is None:
            log.error(
                "a stored long SMS could not be read back: dropped",
                claim=item.claim,
                reason=item.problem,
            )
            handled.append(item.claim)
            continue
        event = item.event
        try:
            new = await runtime.accept(event)
        except StoreUnavailable:
            break
        missing = event.sms.missing_parts if event.sms is not None else ()
        log.info(
            "long SMS delivered incomplete after its wait" if missing else "long SMS delivered",
            message_id=event.message_id,
            missing_parts=list(missing),
            duplicate=not new,
        )
        handled.append(item.claim)
    await concat.delivered(handled)
    return bool(due) and len(handled) == len(due)


# --- routes ------------------------------------------------------------------------------------


READY_TIMEOUT = 2.0
"""Seconds ``/readyz`` waits for the store to answer before calling it unreachable."""


async def healthz(request: web.Request) -> web.Response:
    """Liveness: 200 while the process serves requests, whatever the store does."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: 200 when webhooks can be accepted now (the store answers and the process is
    not draining), else 503 with the reason, so a load balancer sends the provider elsewhere."""
    runtime = request.app.get(RUNTIME)
    if runtime is None or runtime.draining:
        return _problem(503, "draining", "this process is shutting down and accepts no webhooks")
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await request.app[STORE].ping()
    except (StoreUnavailable, TimeoutError) as exc:
        reason = str(exc) or f"no answer within {READY_TIMEOUT:g} s"
        return _problem(503, "store_unreachable", f"the store is unreachable: {reason}")
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    """The Prometheus metrics, to requests carrying ``BOTKIT_METRICS_TOKEN``."""
    token = request.app[SETTINGS].metrics_token
    if token is None or not carries(request, token.get_secret_value()):
        return _problem(401, "unauthorized", "send Authorization: Bearer <BOTKIT_METRICS_TOKEN>")
    return await _exposition(request)


async def _exposition(request: web.Request) -> web.Response:
    app = request.app.get(SERVED, request.app)
    try:
        backlog = await app[STORE].backlog(now=app[CLOCK].now())
    except StoreUnavailable:
        pass  # the gauges keep their last reading; /readyz says why
    else:
        INBOX_DEPTH.set(backlog.events)
        TIMERS_DUE.set(backlog.timers_due)
    response = web.Response(body=exposition())
    response.headers["Content-Type"] = CONTENT_TYPE
    return response


async def messages_webhook(request: web.Request) -> web.Response:
    """Messages API v1/v0.1 inbound and status webhooks, and Dispatch webhooks."""
    settings = request.app[SETTINGS]
    body = await _read_body(request)
    if settings.vonage_signature_secret is not None:
        verify_webhook_jwt(
            request.headers.get("Authorization"),
            body,
            settings.vonage_signature_secret.get_secret_value(),
            max_age=settings.signature_max_age,
        )
    payload = _decode_json(request, body)
    now = datetime.fromtimestamp(request.app[CLOCK].now(), UTC)
    event = parse_messages_webhook(payload, now=now)
    return await _accept(request, event)


async def sms_inbound(request: web.Request) -> web.Response:
    """Legacy SMS API inbound messages; the parts of a long SMS are held until all arrived."""
    params = await _read_params(request)
    parsed = parse_sms_inbound(params)
    if isinstance(parsed, SmsPart):
        concat = request.app[SMS_PARTS]
        event = await concat.add(parsed)
        if event is None:
            log.info(
                "sms part held until the rest arrives",
                message_id=parsed.message_id,
                part=parsed.part,
                total=parsed.total,
            )
            return web.json_response({"status": "part held"})
        response = await _accept(request, event)
        await concat.done(parsed)
        return response
    return await _accept(request, parsed)


async def sms_dlr(request: web.Request) -> web.Response:
    """Legacy SMS API delivery receipts."""
    params = await _read_params(request)
    return await _accept(request, parse_sms_delivery_receipt(params))


EVENTS_PATH = "/api/v1/events"


async def events_api(request: web.Request) -> web.Response:
    """A proactive event from the team's own systems, for the bot's ``@on.event`` handlers:
    202 once durably accepted (a repeated ``key`` too, marked ``duplicate``)."""
    settings = request.app[SETTINGS]
    assert settings.api_token is not None
    if not bears(request, settings.api_token.get_secret_value()):
        log.warning("events API refused: no or wrong bearer token", path=request.path)
        answer = _problem(
            401,
            "unauthorized",
            "send the events API token: Authorization: Bearer <BOTKIT_API_TOKEN>",
        )
        answer.headers["WWW-Authenticate"] = "Bearer"
        return answer
    payload = _decode_json(request, await _read_body(request))
    runtime = request.app[RUNTIME]
    event = read_notification(
        payload, senders=runtime.channels.senders, now=request.app[CLOCK].now()
    )
    name = event.content.name if isinstance(event.content, Notification) else ""
    return await _accept(request, event, status=202, what="event", name=name, key=event.message_id)


# --- pipeline steps ----------------------------------------------------------------------------


async def _accept(
    request: web.Request,
    event: Event,
    *,
    status: int = 200,
    what: str = "webhook",
    **answer: str,
) -> web.Response:
    """Accept ``event``; answer ``status`` with ``{"status": "accepted" | "duplicate"}`` and
    ``answer``'s fields. ``what`` names the request in the log line."""
    with (
        bound_contextvars(message_id=event.message_id, channel=event.channel.value),
        private(event.private_texts()),
    ):
        log.debug(f"{what} content", user=event.user, text=event.text)
        new = await request.app[RUNTIME].accept(event)
        _log_accepted(event, new, what)
    body = {"status": "accepted" if new else "duplicate", **answer}
    return web.json_response(body, status=status)


def _log_accepted(event: Event, new: bool, what: str) -> None:
    """Messages (and ``what`` else came in) at info; a message not delivered as a warning;
    routine statuses (submitted, delivered, read: several per message sent) at debug."""
    report = event.status
    if report is not None and report.status in (
        DeliveryStatus.REJECTED,
        DeliveryStatus.UNDELIVERABLE,
    ):
        log.warning(
            "message not delivered",
            status=report.original,
            code=report.error.code if report.error is not None else None,
            reason=report.error.title if report.error is not None else None,
            user=event.user,
            duplicate=not new,
        )
        return
    line = log.debug if report is not None else log.info
    line(
        f"{what} accepted" if new else f"{what} was a duplicate delivery",
        kind=event.kind.value,
        format=event.format.value,
        user=event.user,
    )


async def _read_body(request: web.Request) -> bytes:
    settings = request.app[SETTINGS]
    limit = settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    try:
        async with asyncio.timeout(settings.body_timeout):
            return await request.read()
    except TimeoutError:
        raise web.HTTPRequestTimeout() from None


def _decode_json(request: web.Request, body: bytes) -> Any:
    if request.content_type not in (
        "application/json",
        "text/json",
    ) and not request.content_type.endswith("+json"):
        raise InvalidPayload(
            Problem("Content-Type", f"application/json, got {request.content_type or 'none'}")
        )
    return read_json(body)


async def _read_params(request: web.Request) -> dict[str, str]:
    """The SMS API's parameters as one flat mapping, whichever way they were sent.

    The signature, when configured, is checked here, over exactly these parameters; a JSON body
    is decoded first (the signature covers its parameters), within the bounds of ``read_json``.
    """
    params: dict[str, str] = dict(request.query)
    if request.method == "POST":
        body = await _read_body(request)
        if request.content_type == "application/json":
            data = _decode_json(request, body)
            if not isinstance(data, dict):
                raise InvalidPayload(Problem("body", "a JSON object of parameters"))
            params.update({str(k): _flat(v) for k, v in data.items()})
        elif request.content_type in ("application/x-www-form-urlencoded", ""):
            try:
                form = parse_qsl(body.decode(), keep_blank_values=True)
            except (UnicodeDecodeError, ValueError):
                raise InvalidPayload(Problem("body", "form data in UTF-8")) from None
            params.update(dict(form))
        else:
            raise InvalidPayload(
                Problem(
                    "Content-Type",
                    "application/x-www-form-urlencoded or application/json, "
                    f"got {request.content_type}",
                )
            )
    settings = request.app[SETTINGS]
    if settings.vonage_signature_secret is not None:
        verify_sms_signature(
            params,
            settings.vonage_signature_secret.get_secret_value(),
            settings.sms_signature_method,
            max_age=settings.signature_max_age,
        )
    return params


def _flat(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


# --- errors ------------------------------------------------------------------------------------


@web.middleware
async def _measure(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Count every answer by route and status, and time it."""
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "other"
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        child(WEBHOOKS, route, str(status)).inc()
        child(WEBHOOK_SECONDS, route).observe(time.perf_counter() - started)


@web.middleware
async def _answer_errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except InvalidPayload as exc:
        log.warning("webhook refused: invalid payload", path=request.path, reason=str(exc))
        return _problem(
            400,
            "invalid_payload",
            str(exc),
            problems=[{"field": p.field, "expected": p.expected} for p in exc.problems],
        )
    except StoreUnavailable:
        # Logged once per outage by the runtime; the provider retries on 5xx.
        return _problem(503, "unavailable", "the store is unreachable; retry later")
    except SignatureError as exc:
        log.warning("webhook refused: bad signature", path=request.path, reason=str(exc))
        return _problem(401, "invalid_signature", str(exc))
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[SETTINGS].max_body_bytes
        log.warning("webhook refused: body too large", path=request.path, limit_bytes=limit)
        return _problem(
            413,
            "payload_too_large",
            f"the body is larger than {limit} bytes (BOTKIT_MAX_BODY_BYTES)",
            limit_bytes=limit,
        )
    except web.HTTPRequestTimeout:
        seconds = request.app[SETTINGS].body_timeout
        log.warning("webhook refused: body too slow", path=request.path, limit_seconds=seconds)
        answer = _problem(
            408,
            "request_timeout",
            f"the body did not arrive within {seconds:g} s (BOTKIT_BODY_TIMEOUT)",
        )
        answer.force_close()
        return answer
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _problem(
            exc.status,
            exc.reason.lower().replace(" ", "_"),
            f"{request.method} {request.path}: {exc.reason}",
        )


def _problem(status: int, error: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": error, "message": message, **extra}, status=status)
