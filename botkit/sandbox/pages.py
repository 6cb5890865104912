"""The sandbox's pages: the web chat (``/``) and the inspector (``/inspector``).

Plain HTML, JS and CSS shipped in ``static/`` (Mermaid included), so nothing is built and
nothing is loaded from the internet. ``/config.js`` tells the pages what they talk to.

The inspector page reads the bot's inspector API through this app (``/_botkit/...`` is passed
on to the bot's server with the inspector token), so the page stays on one origin and the bot
never grants cross-origin access.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import aiohttp
from aiohttp import web

from botkit.events import Channel

STATIC = Path(__file__).parent / "static"
_SESSION = web.AppKey("pages_session", aiohttp.ClientSession)

_CHANNELS = {
    Channel.WHATSAPP: {"label": "WhatsApp", "user_kind": "number", "location": True},
    Channel.MESSENGER: {"label": "Messenger", "user_kind": "id", "location": False},
    Channel.VIBER: {"label": "Viber", "user_kind": "number", "location": False},
    Channel.SMS: {"label": "SMS", "user_kind": "number", "location": False},
    Channel.MMS: {"label": "MMS", "user_kind": "number", "location": False},
}
_DEFAULT_USERS = {
    Channel.WHATSAPP: "447700900001",
    Channel.MESSENGER: "4711000222333",
    Channel.VIBER: "447700900003",
    Channel.SMS: "447700900004",
    Channel.MMS: "14155550105",
}


def add_pages(
    app: web.Application,
    *,
    bot_name: str,
    bot_url: str,
    bot_addresses: Mapping[Channel, str],
    inspector_token: str | None = None,
) -> None:
    """Serve the chat and inspector pages from ``app`` (a sandbox app not yet started).

    ``bot_url`` is where the bot's server answers; its ``/_botkit/`` inspector API is passed on
    under the same path here, with ``inspector_token`` as a bearer token.
    """
    bot_url = bot_url.rstrip("/")
    config = {
        "bot_name": bot_name,
        "inspector_api": "/_botkit",
        "inspector_url": "/inspector",
        "channels": {
            channel.value: {
                **info,
                "default_user": _DEFAULT_USERS[channel],
                "bot_address": bot_addresses.get(channel),
            }
            for channel, info in _CHANNELS.items()
        },
    }
    script = f"window.BOTKIT = {json.dumps(config, indent=2)};\n"

    async def config_js(request: web.Request) -> web.Response:
        return web.Response(text=script, content_type="application/javascript")

    async def chat(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "chat.html")

    async def inspector(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "inspector.html")

    async def favicon(request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def inspector_api(request: web.Request) -> web.Response:
        headers = {"Authorization": f"Bearer {inspector_token}"} if inspector_token else {}
        url = f"{bot_url}/_botkit/{request.match_info['tail']}"
        try:
            async with request.app[_SESSION].get(
                url, headers=headers, params=request.rel_url.query
            ) as answer:
                return web.Response(
                    body=await answer.read(),
                    status=answer.status,
                    content_type=answer.content_type,
                )
        except aiohttp.ClientError as exc:
            return web.json_response(
                {"error": "bot_unreachable", "message": f"the bot did not answer: {exc}"},
                status=502,
            )

    async def session(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as client:
            app[_SESSION] = client
            yield

    app.cleanup_ctx.append(session)
    app.router.add_get("/_botkit/{tail:.*}", inspector_api)
    app.router.add_get("/", chat)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/inspector", inspector)
    app.router.add_get("/config.js", config_js)
    app.router.add_static("/static/", STATIC)
