"""The sandbox's pages: the web chat (``/``) and the inspector (``/inspector``).

Plain HTML, JS and CSS shipped in ``static/`` (Mermaid included), so nothing is built and
nothing is loaded from the internet. ``/config.js`` tells the pages what they talk to.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from botkit.events import Channel

STATIC = Path(__file__).parent / "static"

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
) -> None:
    """Serve the chat and inspector pages from ``app`` (a sandbox app not yet started).

    ``bot_url`` is where the bot's server answers (its ``/_botkit/`` inspector API).
    """
    config = {
        "bot_name": bot_name,
        "bot_url": bot_url.rstrip("/"),
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

    app.router.add_get("/", chat)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/inspector", inspector)
    app.router.add_get("/config.js", config_js)
    app.router.add_static("/static/", STATIC)
