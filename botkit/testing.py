"""What bot authors import in their own tests: a stand-in for the provider and a chat driver.

:class:`ProviderStandIn` is a real HTTP server on loopback that accepts Messages API sends and
records them. :class:`Chat` plays one user on one channel: it posts the webhooks the provider
would post to a running botkit app and returns the bot's replies once the bot is done::

    from botkit import Channel, create_app, load_settings
    from botkit.testing import Chat, ProviderStandIn

    async def test_greeting(aiohttp_client):
        async with ProviderStandIn() as provider:
            app = create_app(load_settings({"VONAGE_API_URL": provider.url}), PizzaBot())
            client = await aiohttp_client(app)
            chat = Chat(client, provider, channel=Channel.WHATSAPP, user="447700900001")
            replies = await chat.say("hi")
            assert replies[0].text.startswith("Welcome")
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web
from aiohttp.test_utils import TestServer

from botkit.events import Channel
from botkit.server import EVENTS_PATH, RUNTIME, SETTINGS
from botkit.vonage.channel_names import wire_name

DEFAULT_BOT_ADDRESS = {
    Channel.WHATSAPP: "447700900000",
    Channel.MESSENGER: "botkit-page",
    Channel.VIBER: "botkit-viber",
    Channel.SMS: "447700900000",
    Channel.MMS: "447700900000",
}


@dataclass(frozen=True)
class Sent:
    """One message the bot sent, as the provider received it."""

    body: dict[str, Any]
    authorization: str
    message_uuid: str = ""
    """The id the stand-in gave the message, as the provider would."""
    at: float = field(default_factory=time.monotonic)
    """When it arrived, in :func:`time.monotonic` seconds."""

    @property
    def to(self) -> str:
        return str(self.body.get("to"))

    @property
    def text(self) -> str:
        """What the user reads: the text, a caption, or an interactive message's body (v1)."""
        text = self.body.get("text")
        if isinstance(text, str):
            return text
        interactive = self.body.get("custom", {}).get("interactive", {})
        body = interactive.get("body", {}).get("text") if isinstance(interactive, dict) else None
        if isinstance(body, str):
            return body
        for media in ("image", "video", "audio", "file"):
            caption = self.body.get(media, {}).get("caption")
            if isinstance(caption, str):
                return caption
        return ""

    @property
    def message_type(self) -> str:
        return str(self.body.get("message_type"))

    @property
    def choices(self) -> list[str]:
        """The titles of the buttons or list rows a WhatsApp interactive message offers."""
        interactive = self.body.get("custom", {}).get("interactive", {})
        action = interactive.get("action", {}) if isinstance(interactive, dict) else {}
        buttons = [b.get("reply", {}).get("title", "") for b in action.get("buttons", [])]
        rows = [r.get("title", "") for s in action.get("sections", []) for r in s.get("rows", [])]
        return buttons + rows


class ProviderStandIn:
    """A real HTTP server on 127.0.0.1 answering ``POST /v1/messages`` like the provider: 202
    and a ``message_uuid``. Every message it takes is kept in :attr:`sent`, in arrival order.

    It misbehaves on request: :meth:`go_down` makes it answer every send with an error status
    until :meth:`come_back` (the requests are kept in :attr:`failed`); :meth:`refuse` makes it
    refuse messages whose text contains a word with a status and a provider code; :meth:`hold`
    keeps the answer to matching messages (taken already) until released."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.failed: list[Sent] = []
        self._down: int | None = None
        self._refusals: dict[str, tuple[int, int]] = {}
        self._holds: list[tuple[str, asyncio.Event, asyncio.Event]] = []
        self._arrived = asyncio.Event()
        app = web.Application()
        app.router.add_post("/v1/messages", self._send)
        self._server = TestServer(app, host="127.0.0.1")

    async def __aenter__(self) -> ProviderStandIn:
        await self._server.start_server()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._server.close()

    @property
    def url(self) -> str:
        """The base URL to give botkit as ``VONAGE_API_URL``."""
        return str(self._server.make_url("")).rstrip("/")

    def go_down(self, status: int = 503) -> None:
        """Answer every send with ``status`` (and take nothing) until :meth:`come_back`."""
        self._down = status

    def come_back(self) -> None:
        """Take messages again."""
        self._down = None

    def refuse(self, word: str, status: int = 422, code: int = 1340) -> None:
        """Refuse every message whose text contains ``word``: ``status`` with a problem body
        carrying the provider ``code`` (1340: outside the allowed window)."""
        self._refusals[word] = (status, code)

    def hold(self, word: str) -> tuple[asyncio.Event, asyncio.Event]:
        """Take the next message whose text contains ``word`` but answer only once the second
        event returned is set; the first is set when the message arrived."""
        arrived, release = asyncio.Event(), asyncio.Event()
        self._holds.append((word, arrived, release))
        return arrived, release

    async def _send(self, request: web.Request) -> web.Response:
        message_uuid = str(uuid.uuid4())
        body = await request.json()
        sent = Sent(body, request.headers.get("Authorization", ""), message_uuid)
        if self._down is not None:
            self.failed.append(sent)
            self._arrived.set()
            return web.json_response(
                {"type": "about:blank", "title": "Service Unavailable"}, status=self._down
            )
        for word, (status, code) in self._refusals.items():
            if word in sent.text:
                self.failed.append(sent)
                self._arrived.set()
                problem = {"title": "Refused", "detail": f"refused ({code})", "code": code}
                return web.json_response(problem, status=status)
        self.sent.append(sent)
        self._arrived.set()
        for hold in self._holds:
            word, arrived, release = hold
            if word in sent.text:
                self._holds.remove(hold)
                arrived.set()
                await release.wait()
                break
        return web.json_response({"message_uuid": message_uuid}, status=202)

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Sent]:
        """Wait until at least ``count`` messages were taken; return all of them."""
        await self._wait_until(lambda: len(self.sent) >= count, timeout)
        return self.sent

    async def wait_for_failures(self, count: int, timeout: float = 5.0) -> list[Sent]:
        """Wait until at least ``count`` sends were answered with an error; return them."""
        await self._wait_until(lambda: len(self.failed) >= count, timeout)
        return self.failed

    async def _wait_until(self, done: Callable[[], bool], timeout: float) -> None:
        async def enough() -> None:
            while not done():
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(enough(), timeout)


class _Client(Protocol):
    async def post(self, path: str, **kwargs: Any) -> Any: ...

    @property
    def app(self) -> Any: ...


@dataclass
class Chat:
    """One user on one channel, talking to a botkit app through its webhooks.

    ``client`` is an aiohttp test client of the app (pytest-aiohttp's ``aiohttp_client``).
    Each call posts a Messages API v1 inbound webhook, waits until the bot has handled it and
    sent its replies, and returns the replies that went to this user.
    """

    client: _Client
    provider: ProviderStandIn
    channel: Channel = Channel.WHATSAPP
    user: str = "447700900001"
    bot_address: str | None = None
    _seen: int = field(default=0, init=False)

    async def say(self, text: str) -> list[Sent]:
        """The user writes ``text``."""
        return await self.send("text", {"text": text})

    async def press(self, button_id: str, title: str | None = None) -> list[Sent]:
        """The user picks the button or list row ``button_id`` (WhatsApp)."""
        return await self.send("reply", {"reply": {"id": button_id, "title": title or button_id}})

    async def share_location(
        self, lat: float, long: float, *, name: str | None = None, address: str | None = None
    ) -> list[Sent]:
        """The user shares a location (WhatsApp)."""
        location: dict[str, Any] = {"lat": lat, "long": long}
        if name:
            location["name"] = name
        if address:
            location["address"] = address
        return await self.send("location", {"location": location})

    async def status(self, sent: Sent, status: str) -> list[Sent]:
        """The provider reports ``status`` (``delivered``, ``read``...) of the bot's message
        ``sent``; returns the bot's replies to it."""
        payload = {
            "message_uuid": sent.message_uuid,
            "to": self.user,
            "from": self.bot_address or DEFAULT_BOT_ADDRESS[self.channel],
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "status": status,
            "channel": wire_name(self.channel),
        }
        return await self._post("/webhooks/status", payload)

    async def notify(
        self, name: str, data: dict[str, Any] | None = None, *, key: str | None = None
    ) -> list[Sent]:
        """The team's own systems send the proactive event ``name`` for this user through the
        app's events API (the app needs ``BOTKIT_API_TOKEN`` and the bot's address on the
        channel, such as ``VONAGE_WHATSAPP_NUMBER``); returns the bot's replies to it."""
        token = self.client.app[SETTINGS].api_token
        if token is None:
            raise AssertionError("the app serves no events API: create it with BOTKIT_API_TOKEN")
        body: dict[str, Any] = {"channel": self.channel.value, "user": self.user, "name": name}
        if data is not None:
            body["data"] = data
        if key is not None:
            body["key"] = key
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
        return await self._post(EVENTS_PATH, body, headers=headers, expect=202)

    async def send(self, message_type: str, fields: dict[str, Any]) -> list[Sent]:
        """Post any v1 inbound message of this user's; return the bot's replies to it."""
        payload = {
            "channel": wire_name(self.channel),
            "message_uuid": str(uuid.uuid4()),
            "to": self.bot_address or DEFAULT_BOT_ADDRESS[self.channel],
            "from": self.user,
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "message_type": message_type,
            **fields,
        }
        return await self._post("/webhooks/inbound", payload)

    async def _post(
        self,
        path: str,
        payload: dict[str, Any],
        *,
        headers: dict[str, str] | None = None,
        expect: int = 200,
    ) -> list[Sent]:
        response = await self.client.post(path, json=payload, headers=headers)
        if response.status != expect:
            raise AssertionError(f"webhook answered {response.status}: {await response.text()}")
        await self.client.app[RUNTIME].wait_idle()
        mine = [s for s in self.provider.sent[self._seen :] if s.to == self.user]
        self._seen = len(self.provider.sent)
        return mine
