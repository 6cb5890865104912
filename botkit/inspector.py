"""What the bot thinks, as JSON: its state machine, every conversation, their message logs.

Served by the bot's own app under ``/_botkit/`` only when ``BOTKIT_INSPECTOR_TOKEN`` is set,
in any environment, and then only to requests carrying that token (see :mod:`botkit.access`):
it shows users' data. ``botkit dev`` sets a fresh token per run; its sandbox reads the API on
the page's behalf, so no cross-origin access is ever granted.

- ``GET /bot``: the bot's name, states and diagram.
- ``GET /conversations``: every conversation with its state and ``active_at`` (the time of its
  latest message or turn), so a page can follow the one in use.
- ``GET /conversations/{key}``: one conversation: state, data, its channel window (open until,
  closed since), pending timers, the messages sent, its messages with a failover policy
  (``failovers``: each one message with its steps per channel, each step's status and why it
  moved on) and a ``timeline``, oldest first, of turns (``"entry": "turn"``: the event that
  came in, the handler, triggers, state change, the channel rules' notes, time taken) and
  messages sent (``"entry": "sent"``).
- ``GET /templates/{name}?parameter=...``: the text of the bot's message that the template
  stands in for, with those parameters.

While the store is unreachable every answer about conversations is a 503 ``unavailable``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from botkit.access import token_guard
from botkit.bot import Bot
from botkit.channels.capabilities import capability
from botkit.channels.templates import template_text
from botkit.clock import Clock
from botkit.conversation import Conversation, PendingTimer
from botkit.events import Channel
from botkit.failover import FailoverRecord, data_of, read_failovers
from botkit.records import read_records, summarise
from botkit.store.base import Store, StoreUnavailable
from botkit.timers import TIMEOUT_PREFIX

BotKey = web.AppKey[Bot[Any]]
StoreKey = web.AppKey[Store]
ClockKey = web.AppKey[Clock]


def inspector_app(
    bot_key: BotKey, store_key: StoreKey, clock_key: ClockKey, *, token: str
) -> web.Application:
    """A sub-application answering the inspector API to requests carrying ``token``; it finds
    the bot, the store and the clock in its parent app under ``bot_key``, ``store_key`` and
    ``clock_key`` (they exist once the parent started)."""
    app = web.Application(middlewares=[token_guard(token)])
    app[_KEYS] = (bot_key, store_key, clock_key)
    app.router.add_get("/bot", describe_bot)
    app.router.add_get("/conversations", list_conversations)
    app.router.add_get("/conversations/{key}", show_conversation)
    app.router.add_get("/templates/{name}", show_template)
    return app


_KEYS = web.AppKey("inspector_keys", tuple)


def _parts(request: web.Request) -> tuple[Bot[Any], Store]:
    bot_key, store_key, _ = request.app[_KEYS]
    return request.config_dict[bot_key], request.config_dict[store_key]


def _now(request: web.Request) -> float:
    clock: Clock = request.config_dict[request.app[_KEYS][2]]
    return clock.now()


def _unavailable(exc: StoreUnavailable) -> web.Response:
    return web.json_response(
        {"error": "unavailable", "message": f"the store is unreachable: {exc}"}, status=503
    )


async def describe_bot(request: web.Request) -> web.Response:
    bot, _ = _parts(request)
    machine = type(bot).machine
    return web.json_response(
        {
            "name": type(bot).__name__,
            "states": list(machine.states),
            "initial": machine.initial,
            "mermaid": type(bot).mermaid(),
        }
    )


def _conversation(key: str, record: Conversation | None, bot: Bot[Any]) -> dict[str, Any]:
    channel, _, rest = key.partition(":")
    bot_address, _, user = rest.partition(":")
    state = record.state if record and record.state else type(bot).machine.initial
    try:
        data = json.loads(record.data) if record and record.data else None
    except ValueError:
        data = record.data if record else None
    return {
        "key": key,
        "channel": channel,
        "bot": bot_address,
        "user": user,
        "state": state,
        "data": data,
        "revision": record.revision if record else 0,
        "last_inbound_at": record.last_inbound_at if record else None,
    }


def _window(channel: str, last_inbound_at: float | None, now: float) -> dict[str, Any]:
    """The channel's window for free-form replies: whether it applies, is open, until when
    (or closed since when), and what still goes outside it."""
    try:
        window = capability(Channel(channel)).window
    except ValueError:
        window = None
    if window is None:
        return {"applies": False}
    if last_inbound_at is None:
        return {
            "applies": True,
            "open": False,
            "until": None,
            "closed_since": None,
            "outside": window.outside,
        }
    until = last_inbound_at + window.seconds
    return {
        "applies": True,
        "open": now < until,
        "until": until,
        "closed_since": until if now >= until else None,
        "outside": window.outside,
        "hours": window.seconds / 3600,
    }


def _pending_timers(record: Conversation | None) -> list[dict[str, Any]]:
    """The conversation's pending timers, soonest first, each ``{"name": str, "due_at": Unix
    seconds}`` (what the page's "Pending timers" card lists), with its ``key`` and ``data``
    besides; a state's timeout is named "timeout of 'state'"."""
    if record is None:
        return []
    timers = sorted(record.timers.values(), key=lambda timer: timer.at)
    return [
        {
            "key": timer.key,
            "name": _timer_name(timer),
            "due_at": timer.at,
            "data": json.loads(timer.data) if timer.data is not None else None,
        }
        for timer in timers
    ]


def _timer_name(timer: PendingTimer) -> str:
    """A state's timeout is "timeout of 'state'", a failover's "failover of <its message>"."""
    if timer.key.startswith(TIMEOUT_PREFIX):
        return f"timeout of {timer.key[len(TIMEOUT_PREFIX) :]!r}"
    failover = data_of(timer)
    if failover is not None:
        what = "outcome" if failover.ended_at is not None else "failover"
        return f"{what} of {summarise(failover.steps[0].message, 40)!r}"
    return timer.key


def _failovers(record: Conversation | None, stored: Mapping[str, str]) -> list[dict[str, Any]]:
    """The conversation's messages with a failover policy, oldest first: the stored records,
    updated by the pending failovers' own (newer) state."""
    found = {failover.id: failover for failover in read_failovers(stored)}
    for timer in record.timers.values() if record is not None else ():
        pending = data_of(timer)
        if pending is not None:
            found[pending.id] = pending
    return [_failover(f) for f in sorted(found.values(), key=lambda f: f.started_at)]


def _failover(failover: FailoverRecord) -> dict[str, Any]:
    steps = [
        {
            "channel": step.channel.value,
            "summary": summarise(step.message),
            "when": step.when,
            "within": step.within,
            "sent_at": step.sent_at,
            "status": step.status.value if step.status else None,
            "error": step.error.model_dump(mode="json") if step.error else None,
            "reason": step.reason,
        }
        for step in failover.steps
    ]
    return {
        "id": failover.id,
        "summary": summarise(failover.steps[0].message),
        "started_at": failover.started_at,
        "ended_at": failover.ended_at,
        "channel": failover.channel.value if failover.channel else None,
        "current": failover.current,
        "steps": steps,
    }


async def list_conversations(request: web.Request) -> web.Response:
    bot, store = _parts(request)
    try:
        keys = await store.keys(limit=500)
        found = []
        for key in sorted(keys):
            record = await store.load(key)
            conversation = _conversation(key, record, bot)
            sent, turns = read_records(await store.messages(key), key)
            times = [m.sent_at for m in sent] + [t.at for t in turns]
            if record is not None and record.last_inbound_at is not None:
                times.append(record.last_inbound_at)
            conversation["active_at"] = max(times, default=None)
            found.append(conversation)
    except StoreUnavailable as exc:
        return _unavailable(exc)
    return web.json_response({"conversations": found})


async def show_conversation(request: web.Request) -> web.Response:
    bot, store = _parts(request)
    key = request.match_info["key"]
    try:
        record = await store.load(key)
        stored = await store.messages(key)
    except StoreUnavailable as exc:
        return _unavailable(exc)
    if record is None and not stored:
        return web.json_response(
            {"error": "not_found", "message": f"no conversation {key!r}"}, status=404
        )
    conversation = _conversation(key, record, bot)
    sent, turns = read_records(stored, key)
    conversation["messages"] = [m.model_dump(mode="json") for m in sent]
    timeline: list[tuple[float, int, dict[str, Any]]] = [
        (t.at, 0, {"entry": "turn", **t.model_dump(mode="json")}) for t in turns
    ]
    timeline += [(m.sent_at, 1, {"entry": "sent", **m.model_dump(mode="json")}) for m in sent]
    conversation["timeline"] = [item for _, _, item in sorted(timeline, key=lambda i: i[:2])]
    conversation["window"] = _window(
        conversation["channel"], conversation["last_inbound_at"], _now(request)
    )
    conversation["now"] = _now(request)
    conversation["timers"] = _pending_timers(record)
    conversation["failovers"] = _failovers(record, stored)
    conversation["mermaid"] = type(bot).mermaid(current=conversation["state"])
    return web.json_response(conversation)


async def show_template(request: web.Request) -> web.Response:
    bot, _ = _parts(request)
    name = request.match_info["name"]
    parameters = request.query.getall("parameter", [])
    text = template_text(name, parameters, type(bot).templates)
    if text is None:
        return web.json_response(
            {
                "error": "not_found",
                "message": f"no template {name!r} with {len(parameters)} parameter(s) in "
                f"{type(bot).__name__}.templates",
            },
            status=404,
        )
    return web.json_response({"name": name, "parameters": parameters, "text": text})
