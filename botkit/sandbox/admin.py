"""The control API under ``/_sandbox``: simulated users, clock, faults, the log and its feed.

Channels in paths are botkit's names (``whatsapp``, ``messenger``, ``viber``, ``sms``,
``mms``; ``viber_service`` is accepted too). Mistakes answer 400 (or 404) with
``{"error": "what is wrong"}``.

- ``GET /_sandbox``: the set-up: bot addresses and rules per channel, the linked application
  and its webhooks, delays, the clock.
- ``POST /_sandbox/users/{channel}/{user}/messages``: the user writes (body: see
  :mod:`~botkit.sandbox.users`); 201 with the ``inbound`` event.
- ``POST /_sandbox/users/{channel}/{user}/read``: the user reads; 200 ``{"read": [uuids]}``.
- ``POST /_sandbox/link {"application_id": id}``: link the bot's numbers and ids to that
  application (404 when there is none); 200 with the overview's ``application``.
- ``GET /_sandbox/clock``; ``POST /_sandbox/clock {"advance_seconds": N}``: forward only.
- ``GET /_sandbox/faults``; ``POST /_sandbox/faults {"kind", "channel", "user"?, "count"?,
  "retry_after"?, "status"?, "code"?}`` (201); ``DELETE /_sandbox/faults[/{id}]``.
- ``GET /_sandbox/conversations``; ``GET /_sandbox/conversations/{channel}/{user}``.
- ``GET /_sandbox/messages/{message_uuid}``: one message with its statuses.
- ``GET /_sandbox/workflows/{dispatch_uuid}``: one Dispatch workflow, its status and steps.
- ``GET /_sandbox/events``: server-sent events, one journal event per ``data:`` line (JSON),
  with ``id: <seq>``. Only new events by default; ``?since=N`` or a ``Last-Event-ID`` header
  replays the kept events after ``N`` first. ``?channel=`` and ``&user=`` filter. A comment
  line is sent every :data:`HEARTBEAT_SECONDS` so proxies keep the stream open.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from botkit.events import Channel
from botkit.sandbox.applications import Application
from botkit.sandbox.faults import FaultSpecError, parse_fault_spec
from botkit.sandbox.journal import JournalEvent
from botkit.sandbox.rules import READ_RECEIPT_CHANNELS, TEXT_LIMITS, WINDOW_CHANNELS
from botkit.sandbox.state import SANDBOX
from botkit.sandbox.users import INBOUND_TYPES, UserMessageError, parse_user_message

HEARTBEAT_SECONDS = 15.0

_CHANNEL_ALIASES = {"viber_service": Channel.VIBER, "viber_service_msg": Channel.VIBER}


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _channel(name: str) -> Channel:
    if name in _CHANNEL_ALIASES:
        return _CHANNEL_ALIASES[name]
    try:
        return Channel(name)
    except ValueError:
        raise _BadRequest(
            f"unknown channel {name!r}: use one of " + ", ".join(c.value for c in Channel)
        ) from None


async def _json(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise _BadRequest("the body must be JSON") from None


@web.middleware
async def _bad_requests(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except _BadRequest as bad:
        return _error(str(bad), bad.status)
    return response


async def overview(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    config = sandbox.config
    return web.json_response(
        {
            "channels": {
                channel.value: {
                    "bot": config.bot_address(channel),
                    "user_message_types": sorted(INBOUND_TYPES[channel]),
                    "text_limit": TEXT_LIMITS.get(channel),
                    "read_receipts": channel in READ_RECEIPT_CHANNELS,
                    "window_hours": 24 if channel in WINDOW_CHANNELS else None,
                }
                for channel in Channel
            },
            "application": _application_view(sandbox.applications.linked),
            "signed_webhooks": config.signature_secret is not None,
            "delays": {
                "submitted": config.delays.submitted,
                "delivered": config.delays.delivered,
                "read": config.delays.read,
            },
            "auto_read": config.auto_read,
            "clock": sandbox.clock_json(),
            "last_seq": sandbox.journal.last_seq,
        }
    )


async def user_message(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    channel = _channel(request.match_info["channel"])
    user = request.match_info["user"]
    try:
        message = parse_user_message(channel, await _json(request))
        record = sandbox.user_writes(channel, user, message)
    except UserMessageError as bad:
        raise _BadRequest(str(bad)) from None
    event = next(
        e
        for e in reversed(sandbox.journal.events(channel=channel, user=user))
        if e.kind == "inbound" and e.fields.get("message_uuid") == record.message_uuid
    )
    return web.json_response(event.as_json(), status=201)


async def user_read(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    channel = _channel(request.match_info["channel"])
    return web.json_response({"read": sandbox.user_reads(channel, request.match_info["user"])})


async def get_clock(request: web.Request) -> web.Response:
    return web.json_response(request.app[SANDBOX].clock_json())


async def move_clock(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    data = await _json(request)
    seconds = data.get("advance_seconds") if isinstance(data, Mapping) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        raise _BadRequest("advance_seconds must be a positive number: the clock only moves forward")
    sandbox.advance_clock(float(seconds))
    return web.json_response(sandbox.clock_json())


async def list_faults(request: web.Request) -> web.Response:
    faults = request.app[SANDBOX].faults.all()
    return web.json_response({"faults": [f.as_json() for f in faults]})


async def add_fault(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    data = await _json(request)
    if not isinstance(data, Mapping):
        raise _BadRequest("the body must be a JSON object")
    channel = _channel(str(data.get("channel")))
    try:
        spec = parse_fault_spec(data, channel)
    except FaultSpecError as bad:
        raise _BadRequest(str(bad)) from None
    return web.json_response(sandbox.add_fault(**spec).as_json(), status=201)


async def clear_fault(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    fault_id = request.match_info["fault_id"]
    if sandbox.clear_fault(fault_id) is None:
        raise _BadRequest(f"no fault {fault_id}", 404)
    return web.Response(status=204)


async def clear_faults(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    for fault in sandbox.faults.all():
        sandbox.clear_fault(fault.id)
    return web.Response(status=204)


async def conversations(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    return web.json_response(
        {"conversations": sandbox.conversations(), "last_seq": sandbox.journal.last_seq}
    )


async def conversation(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    channel = _channel(request.match_info["channel"])
    return web.json_response(sandbox.conversation(channel, request.match_info["user"]))


async def message(request: web.Request) -> web.Response:
    record = request.app[SANDBOX].messages.get(request.match_info["message_uuid"])
    if record is None:
        raise _BadRequest("no such message", 404)
    return web.json_response(record.view())


async def workflow(request: web.Request) -> web.Response:
    found = request.app[SANDBOX].workflows.get(request.match_info["dispatch_uuid"])
    if found is None:
        raise _BadRequest("no such workflow", 404)
    return web.json_response(found.view())


async def events(request: web.Request) -> web.StreamResponse:
    sandbox = request.app[SANDBOX]
    since = _since(request)
    channel_name = request.query.get("channel")
    channel = _channel(channel_name) if channel_name else None
    user = request.query.get("user")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    try:
        await response.write(b"retry: 1000\n\n")
        async for event in sandbox.journal.follow(since=since, heartbeat=HEARTBEAT_SECONDS):
            if event is None:
                await response.write(b": keep-alive\n\n")
            elif _matches(event, channel, user):
                data = json.dumps(event.as_json(), ensure_ascii=False)
                await response.write(f"id: {event.seq}\ndata: {data}\n\n".encode())
    except ConnectionResetError:
        pass  # the page went away
    return response


def _application_view(application: Application) -> dict[str, Any]:
    messages = application.messages
    return {
        "id": application.id,
        "webhook_version": messages.version if messages else None,
        "inbound_url": messages.inbound_url if messages else None,
        "status_url": messages.status_url if messages else None,
    }


async def link_numbers(request: web.Request) -> web.Response:
    body = await _json(request)
    application_id = body.get("application_id") if isinstance(body, Mapping) else None
    if not isinstance(application_id, str) or not application_id:
        raise _BadRequest("application_id is required: the id of the application to link")
    applications = request.app[SANDBOX].applications
    if applications.get(application_id) is None:
        raise _BadRequest(f"there is no application {application_id!r}", 404)
    return web.json_response(_application_view(applications.link(application_id)))


def _since(request: web.Request) -> int | None:
    raw = request.query.get("since", request.headers.get("Last-Event-ID"))
    if raw is None:
        return None
    if not raw.isdigit():
        raise _BadRequest("since must be an event seq (a whole number)")
    return int(raw)


def _matches(event: JournalEvent, channel: Channel | None, user: str | None) -> bool:
    if channel is not None and event.channel is not channel:
        return False
    return user is None or event.user == user


def admin_routes() -> list[web.RouteDef]:
    """The ``/_sandbox`` routes (they need :data:`~botkit.sandbox.state.SANDBOX`)."""
    return [
        web.get("/_sandbox", overview),
        web.post("/_sandbox/users/{channel}/{user}/messages", user_message),
        web.post("/_sandbox/users/{channel}/{user}/read", user_read),
        web.post("/_sandbox/link", link_numbers),
        web.get("/_sandbox/clock", get_clock),
        web.post("/_sandbox/clock", move_clock),
        web.get("/_sandbox/faults", list_faults),
        web.post("/_sandbox/faults", add_fault),
        web.delete("/_sandbox/faults", clear_faults),
        web.delete("/_sandbox/faults/{fault_id}", clear_fault),
        web.get("/_sandbox/conversations", conversations),
        web.get("/_sandbox/conversations/{channel}/{user}", conversation),
        web.get("/_sandbox/messages/{message_uuid}", message),
        web.get("/_sandbox/workflows/{dispatch_uuid}", workflow),
        web.get("/_sandbox/events", events),
    ]


ADMIN_MIDDLEWARE = _bad_requests
"""Turns the control API's mistakes into 400/404 answers; the app installs it."""
