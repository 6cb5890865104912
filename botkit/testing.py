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
import os
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis import asyncio as redis

from botkit.bot import Bot, TurnOutcome
from botkit.clock import OffsetClock
from botkit.conversation import Conversation
from botkit.events import Channel, Event
from botkit.outbound import Template
from botkit.records import DeliveryRecord, read_records
from botkit.runtime import Runtime
from botkit.server import CLOCK, EVENTS_PATH, RUNTIME, SETTINGS, create_app
from botkit.settings import load_settings
from botkit.vonage.channel_names import wire_name

DEFAULT_BOT_ADDRESS = {
    Channel.WHATSAPP: "447700900000",
    Channel.MESSENGER: "botkit-page",
    Channel.VIBER: "botkit-viber",
    Channel.SMS: "447700900000",
    Channel.MMS: "14155550100",
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
    def buttons(self) -> list[str]:
        """The titles of the buttons or list rows the message shows (WhatsApp); on a channel
        without buttons the choices are numbered options in :attr:`text`, and this is empty."""
        return [title for _, title in self.options]

    @property
    def options(self) -> list[tuple[str, str]]:
        """The (id, title) of each button or list row the message shows."""
        interactive = self.body.get("custom", {}).get("interactive", {})
        action = interactive.get("action", {}) if isinstance(interactive, dict) else {}
        buttons = [b.get("reply", {}) for b in action.get("buttons", [])]
        rows = [r for s in action.get("sections", []) for r in s.get("rows", [])]
        return [(str(b.get("id", "")), str(b.get("title", ""))) for b in buttons + rows]

    @property
    def template(self) -> Template | None:
        """The WhatsApp template the message is, None for any other message."""
        found = self.body.get("template")
        if self.message_type != "template" or not isinstance(found, dict):
            return None
        locale = self.body.get("whatsapp", {}).get("locale", "en_US")
        parameters = tuple(str(p) for p in found.get("parameters", ()))
        return Template(name=str(found.get("name")), parameters=parameters, locale=locale)


class ProviderStandIn:
    """A real HTTP server on 127.0.0.1 answering ``POST /v1/messages`` like the provider: 202
    and a ``message_uuid``. Every message it takes is kept in :attr:`sent`, in arrival order;
    the ids of the user's messages the bot marked read (``PATCH /v1/messages/{id}`` with
    ``{"status": "read"}``, answered 200) are kept in :attr:`read`.

    It misbehaves on request: :meth:`go_down` makes it answer every send with an error status
    until :meth:`come_back` (the requests are kept in :attr:`failed`); :meth:`refuse` makes it
    refuse messages whose text contains a word with a status and a provider code; :meth:`hold`
    keeps the answer to matching messages (taken already) until released."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.read: list[str] = []
        self.failed: list[Sent] = []
        self._down: int | None = None
        self._refusals: dict[str, tuple[int, int]] = {}
        self._holds: list[tuple[str, asyncio.Event, asyncio.Event]] = []
        self._arrived = asyncio.Event()
        app = web.Application()
        app.router.add_post("/v1/messages", self._send)
        app.router.add_patch("/v1/messages/{message_uuid}", self._mark_read)
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

    async def _mark_read(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body != {"status": "read"}:
            problem = {"title": "Invalid params", "invalid_parameters": [{"name": "status"}]}
            return web.json_response(problem, status=422)
        self.read.append(request.match_info["message_uuid"])
        self._arrived.set()
        return web.Response(status=200)

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
    def post(
        self, path: str, *, json: Any, headers: dict[str, str] | None = None
    ) -> Awaitable[Any]: ...

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

    @property
    def address(self) -> str:
        """The bot's address this user writes to."""
        return self.bot_address or DEFAULT_BOT_ADDRESS[self.channel]

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
        ``sent`` (on the channel it went on: a fallback's SMS reports as SMS); returns the
        bot's replies to it."""
        channel = _channel_of(sent, self.channel)
        payload = {
            "message_uuid": sent.message_uuid,
            "to": sent.to,
            "from": str(sent.body.get("from", self.address)),
            "timestamp": self._timestamp(),
            "status": status,
            "channel": wire_name(channel),
        }
        if "client_ref" in sent.body:  # the provider echoes it
            payload["client_ref"] = sent.body["client_ref"]
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

    async def advance(self, by: timedelta | float) -> list[Sent]:
        """Move the app's clock forward ``by`` (a timedelta, or seconds) and return what the
        bot sent this user once everything that fell due meanwhile -- timers, state timeouts
        -- has been handled. The app must run on an :class:`~botkit.clock.OffsetClock`
        (``create_app(..., clock=OffsetClock())``)."""
        clock = self.client.app[CLOCK]
        if not isinstance(clock, OffsetClock):
            raise AssertionError("the app's clock cannot move: create it with clock=OffsetClock()")
        clock.advance(by.total_seconds() if isinstance(by, timedelta) else float(by))
        await self.client.app[RUNTIME].clock_moved()
        return self._mine()

    async def send(self, message_type: str, fields: dict[str, Any]) -> list[Sent]:
        """Post any v1 inbound message of this user's; return the bot's replies to it."""
        payload = {
            "channel": wire_name(self.channel),
            "message_uuid": str(uuid.uuid4()),
            "to": self.address,
            "from": self.user,
            "timestamp": self._timestamp(),
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
        return self._mine()

    def _timestamp(self) -> str:
        """Now on the app's clock, as the provider writes times: a moved clock moves the
        user's messages with it, as it moves the bot's idea of now."""
        now = datetime.fromtimestamp(self.client.app[CLOCK].now(), UTC)
        return now.isoformat().replace("+00:00", "Z")

    def _mine(self) -> list[Sent]:
        mine = [s for s in self.provider.sent[self._seen :] if s.to == self.user]
        self._seen = len(self.provider.sent)
        return mine


def _channel_of(sent: Sent, default: Channel) -> Channel:
    wire = sent.body.get("channel")
    for channel in Channel:
        if wire == wire_name(channel):
            return channel
    return default


# --- the bot_chat fixture's chats ----------------------------------------------------------------

_T = TypeVar("_T")


class _BotLoop:
    """An event loop on a thread of its own, where the bots under test and the provider's
    stand-in run. Chats reach it from whatever loop runs the test (or none), so a test needs
    no particular asyncio plugin, and everything is closed when the fixture ends."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="botkit-test-bots", daemon=True
        )
        self._thread.start()

    async def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coro`` on the bots' loop; await its result from the caller's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def run_now(self, coro: Coroutine[Any, Any, _T], timeout: float = 30.0) -> _T:
        """Run ``coro`` on the bots' loop and block until it is done."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class _World:
    """One bot under test: its app on a loopback port, the provider's stand-in it sends to, its
    store (memory, or Redis at ``REDIS_URL`` under a prefix of its own) and its movable clock."""

    def __init__(self, bot: Bot[Any], env: Mapping[str, str]) -> None:
        self.bot = bot
        self.env = env
        self.clock = OffsetClock()
        self.provider = ProviderStandIn()
        self.failures: list[tuple[Event, TurnOutcome]] = []
        self.client: TestClient[Any, Any] | None = None

    async def start(self) -> None:
        await self.provider.__aenter__()
        settings = load_settings({**self.env, "VONAGE_API_URL": self.provider.url})
        app = create_app(settings, self.bot, clock=self.clock)
        self.client = TestClient(TestServer(app, host="127.0.0.1"))
        await self.client.start_server()
        self.runtime.observe(self._watch)

    @property
    def runtime(self) -> Runtime:
        assert self.client is not None
        runtime: Runtime = self.client.app[RUNTIME]
        return runtime

    def _watch(self, event: Event, outcome: TurnOutcome) -> None:
        if outcome.outcome == "failed" and outcome.error is not None:
            self.failures.append((event, outcome))

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
        await self.provider.__aexit__()
        prefix = self.env.get("BOTKIT_REDIS_PREFIX")
        if self.env.get("REDIS_URL") and prefix:  # leave the shared Redis as it was
            stored = redis.Redis.from_url(self.env["REDIS_URL"])
            try:
                keys = [key async for key in stored.scan_iter(match=f"{prefix}*")]
                if keys:
                    await stored.delete(*keys)
            finally:
                await stored.aclose()


class BotChat:
    """One user talking to a bot on one channel, as ``bot_chat`` gives it to a test.

    Every call posts what the provider would post to the bot's webhook (over real HTTP on
    loopback), waits until the bot has handled it, and returns the bot's replies to this user
    (:class:`Sent`: ``.text``, ``.buttons``, ``.template``). A handler that raises makes the
    call raise that exception, with the handler's traceback.

    The bot's clock is fake: :meth:`advance` moves it forward at once (WhatsApp's 24 h window
    closes, due timers fire) without waiting.
    """

    def __init__(self, loop: _BotLoop, world: _World, channel: Channel, user: str) -> None:
        self._loop = loop
        self._world = world
        assert world.client is not None
        self._chat = Chat(world.client, world.provider, channel=channel, user=user)
        self.channel = channel
        self.user = user

    async def say(self, text: str) -> list[Sent]:
        """The user writes ``text``."""
        return await self._turn(self._chat.say(text))

    async def tap(self, choice: str) -> list[Sent]:
        """The user picks ``choice`` (a title, or an id) among those the bot offered last: a
        button or list row where the channel shows them, else by typing its number."""
        for message in reversed(self.sent):
            for id_, title in message.options:
                if choice.casefold() in (id_.casefold(), title.casefold()):
                    return await self._turn(self._chat.press(id_, title))
            if message.options:
                break
        offered = self._loop.run_now(self._conversation()).choices
        for position, button in enumerate(offered, 1):
            if choice.casefold() in (button.id.casefold(), button.title.casefold()):
                return await self.say(str(position))
        titles = ", ".join(repr(b.title) for b in offered) or "none"
        raise AssertionError(f"the bot offers no choice {choice!r}; it offers {titles}")

    async def share_location(
        self, lat: float, long: float, *, name: str | None = None, address: str | None = None
    ) -> list[Sent]:
        """The user shares a location."""
        return await self._turn(self._chat.share_location(lat, long, name=name, address=address))

    async def status(self, sent: Sent, status: str) -> list[Sent]:
        """The provider reports ``status`` (``delivered``, ``read``...) of the bot's message
        ``sent``."""
        return await self._turn(self._chat.status(sent, status))

    async def notify(
        self, name: str, data: dict[str, Any] | None = None, *, key: str | None = None
    ) -> list[Sent]:
        """The team's own systems send the proactive event ``name`` for this user through the
        events API (the chat needs ``settings={"BOTKIT_API_TOKEN": ...}`` and the bot's own
        address on the channel, such as ``VONAGE_WHATSAPP_NUMBER``)."""
        return await self._turn(self._chat.notify(name, data, key=key))

    async def advance(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> list[Sent]:
        """Move the bot's clock forward (it never goes back); return what the bot sent to this
        user because of it (timers that came due)."""
        total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
        self._world.clock.advance(total)
        return await self._turn(self._world.runtime.clock_moved())

    @property
    def sent(self) -> list[Sent]:
        """Every message the bot sent to this user so far, oldest first."""
        return [s for s in self._world.provider.sent if s.to == self.user]

    @property
    def state(self) -> str:
        """The conversation's state, as committed (the bot's initial state before any turn)."""
        c = self._loop.run_now(self._conversation())
        return self._world.bot._load(c.state, c.data, c.version).state

    @property
    def data(self) -> Any:
        """The conversation's data as the bot's handlers see it (its data model)."""
        c = self._loop.run_now(self._conversation())
        return self._world.bot._load(c.state, c.data, c.version).data

    @property
    def records(self) -> list[DeliveryRecord]:
        """The records of the bot's messages to this user, oldest first, with the statuses
        reported for each (kept with this user's conversation, whichever turn sent them)."""
        stored = self._loop.run_now(self._world.runtime.store.messages(self._key))
        return read_records(stored, self._key)[0]

    @property
    def _key(self) -> str:
        return f"{self.channel.value}:{self._chat.address}:{self.user}"

    async def _conversation(self) -> Conversation:
        return await self._world.runtime.store.load(self._key) or Conversation(self._key)

    async def _turn(self, action: Coroutine[Any, Any, Any]) -> list[Sent]:
        world = self._world
        failed = len(world.failures)
        before = len(self.sent)

        async def act() -> None:
            await action
            await world.runtime.wait_idle()

        await self._loop.run(act())
        for event, outcome in world.failures[failed:]:
            if event.user == self.user and event.channel == self.channel:
                assert outcome.error is not None
                raise outcome.error
        return self.sent[before:]


class BotChats:
    """The ``bot_chat`` fixture: ``await bot_chat(MyBot, channel="whatsapp", user=...)``
    gives a :class:`BotChat`. Chats with the same bot class in one test share one running
    bot (one store, one clock), as two users of one deployment would."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        redis_url = os.environ.get("REDIS_URL")
        self._env = {
            "BOTKIT_ENV": "test",
            "VONAGE_API_KEY": "test-key",
            "VONAGE_API_SECRET": "test-secret",
            "LOG_LEVEL": "warning",
            **({"REDIS_URL": redis_url} if redis_url else {}),
            **(env or {}),
        }
        self._loop: _BotLoop | None = None
        self._worlds: dict[tuple[type[Any], tuple[tuple[str, str], ...]], _World] = {}

    async def __call__(
        self,
        bot: type[Bot[Any]] | Bot[Any],
        *,
        channel: Channel | str = Channel.WHATSAPP,
        user: str = "447700900001",
        settings: Mapping[str, str] | None = None,
    ) -> BotChat:
        """A chat of ``user`` on ``channel`` with ``bot`` (a class, or an instance), running
        with ``settings`` (environment variables such as ``BOTKIT_API_TOKEN``) over the test
        defaults."""
        if self._loop is None:
            self._loop = _BotLoop()
        loop = self._loop
        instance = bot() if isinstance(bot, type) else bot
        key = (type(instance), tuple(sorted((settings or {}).items())))
        world = self._worlds.get(key)
        if world is None:
            prefix = f"t{uuid.uuid4().hex[:10]}"
            env = {**self._env, **(settings or {}), "BOTKIT_REDIS_PREFIX": prefix}
            world = self._worlds[key] = _World(instance, env)
            await loop.run(world.start())
        return BotChat(loop, world, Channel(channel), user)

    def close(self) -> None:
        """Stop every bot and the stand-in (the fixture does it when the test ends)."""
        if self._loop is None:
            return
        for world in self._worlds.values():
            self._loop.run_now(world.close())
        self._loop.close()
        self._loop = None
