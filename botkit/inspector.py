"""What the bot thinks, as JSON: its state machine, every conversation, their message logs.

Served by the bot's own app under ``/_botkit/`` only when ``BOTKIT_INSPECTOR_TOKEN`` is set,
in any environment, and then only to requests carrying that token (see :mod:`botkit.access`):
it shows users' data. ``botkit dev`` sets a fresh token per run; its sandbox reads the API on
the page's behalf, so no cross-origin access is ever granted.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from botkit.access import token_guard
from botkit.bot import Bot
from botkit.conversation import Conversation
from botkit.records import DeliveryRecord
from botkit.store.base import Store, StoreUnavailable

BotKey = web.AppKey[Bot[Any]]
StoreKey = web.AppKey[Store]


def inspector_app(bot_key: BotKey, store_key: StoreKey, *, token: str) -> web.Application:
    """A sub-application answering the inspector API to requests carrying ``token``; it finds
    the bot and the store in its parent app under ``bot_key`` and ``store_key`` (they exist
    once the parent started)."""
    app = web.Application(middlewares=[token_guard(token)])
    app[_KEYS] = (bot_key, store_key)
    app.router.add_get("/bot", describe_bot)
    app.router.add_get("/conversations", list_conversations)
    app.router.add_get("/conversations/{key}", show_conversation)
    return app


_KEYS = web.AppKey("inspector_keys", tuple)


def _parts(request: web.Request) -> tuple[Bot[Any], Store]:
    bot_key, store_key = request.app[_KEYS]
    return request.config_dict[bot_key], request.config_dict[store_key]


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


async def list_conversations(request: web.Request) -> web.Response:
    bot, store = _parts(request)
    try:
        keys = await store.keys(limit=500)
        found = [_conversation(key, await store.load(key), bot) for key in sorted(keys)]
    except StoreUnavailable as exc:
        return web.json_response({"error": "unavailable", "message": str(exc)}, status=503)
    return web.json_response({"conversations": found})


async def show_conversation(request: web.Request) -> web.Response:
    bot, store = _parts(request)
    key = request.match_info["key"]
    try:
        record = await store.load(key)
        stored = await store.messages(key)
    except StoreUnavailable as exc:
        return web.json_response({"error": "unavailable", "message": str(exc)}, status=503)
    if record is None and not stored:
        return web.json_response(
            {"error": "not_found", "message": f"no conversation {key!r}"}, status=404
        )
    conversation = _conversation(key, record, bot)
    messages = sorted(
        (DeliveryRecord.model_validate_json(text) for text in stored.values()),
        key=lambda m: m.sent_at,
    )
    conversation["messages"] = [m.model_dump(mode="json") for m in messages]
    conversation["mermaid"] = type(bot).mermaid(current=conversation["state"])
    return web.json_response(conversation)
