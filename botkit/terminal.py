"""``botkit chat``: talk to a bot from the terminal, as one user on one channel.

Runs the same bot-and-sandbox pair as ``botkit dev``. Each line typed is the user's message,
shown again as ``you › ...``; the bot's messages are printed as ``bot › ...``, as the user
would see them. When the last message offered buttons, typing a button's number picks it.
Lines starting with ``/`` are commands (:data:`COMMANDS`, ``/help`` lists them).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import quote

import aiohttp

from botkit.devserver import BOT_ADDRESSES, DevServer
from botkit.events import Channel

COMMANDS = {
    "/help": "this list",
    "/location LAT,LONG": "share a location, e.g. /location 51.501,-0.142",
    "/advance 25h": "move the sandbox's clock forward (s, m, h or d; hours by default)",
    "/status": "the conversation's state, its window and what became of the bot's messages",
    "/phone off|on": "switch the phone off (messages wait at one tick) and on again",
    "/quit": "leave",
}
"""The commands ``botkit chat`` knows, with what each does."""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class CommandError(ValueError):
    """A command typed wrongly: the message says how to type it."""


def parse_duration(text: str) -> float:
    """``"25h"``, ``"90m"``, ``"2d"``, ``"30s"`` or ``"1.5"`` (hours) as seconds."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if found is None or float(found[1]) <= 0:
        raise CommandError("/advance takes a positive duration: 25h, 90m, 2d or 30s")
    return float(found[1]) * _UNITS[found[2] or "h"]


def parse_location(text: str) -> dict[str, float]:
    """``"51.501,-0.142"`` as ``{"lat": 51.501, "long": -0.142}``."""
    parts = [part.strip() for part in text.split(",")]
    try:
        lat, long = (float(part) for part in parts)
    except ValueError:
        raise CommandError("/location takes LAT,LONG, e.g. /location 51.501,-0.142") from None
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        raise CommandError("/location: latitude is -90..90 and longitude -180..180")
    return {"lat": lat, "long": long}


def render(message: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """A bot message as terminal text, and the (id, title) choices it offers."""
    kind = message.get("type")
    choices: list[tuple[str, str]] = []
    if kind == "text":
        text = str(message.get("text", ""))
    elif kind == "template":
        params = ", ".join(str(p) for p in message.get("parameters", []))
        text = f"[template {message.get('name')}({params})]"
    elif kind == "custom":
        interactive = message.get("custom", {}).get("interactive", {})
        text = str(interactive.get("body", {}).get("text", "[custom message]"))
        action = interactive.get("action", {})
        for button in action.get("buttons", []):
            reply = button.get("reply", {})
            choices.append((str(reply.get("id")), str(reply.get("title"))))
        for section in action.get("sections", []):
            for row in section.get("rows", []):
                choices.append((str(row.get("id")), str(row.get("title"))))
    elif kind == "location":
        text = f"[location {message.get('name') or ''} {message.get('lat')},{message.get('long')}]"
    else:
        detail = message.get("caption") or message.get("url") or ""
        text = f"[{kind}] {detail}".strip()
    if choices:
        text += "\n" + "\n".join(f"  [{n}] {title}" for n, (_, title) in enumerate(choices, 1))
    return text, choices


class TerminalChat:
    """One user on one channel, reading lines from ``stdin`` and printing to ``out``."""

    def __init__(self, server: DevServer, channel: Channel, user: str, out: TextIO) -> None:
        self.server = server
        self.channel = channel
        self.user = user
        self.out = out
        self.choices: list[tuple[str, str]] = []
        self._fault: str | None = None
        self._commands: dict[str, Callable[[aiohttp.ClientSession, str], Awaitable[None]]] = {
            "/help": self._help,
            "/location": self._location,
            "/advance": self._advance,
            "/status": self._status,
            "/phone": self._phone,
        }

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def run(self, session: aiohttp.ClientSession) -> None:
        feed = asyncio.create_task(self._follow(session))
        try:
            await self._read(session)
        finally:
            feed.cancel()

    async def _read(self, session: aiohttp.ClientSession) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            raw = await reader.readline()
            if not raw:
                return
            line = raw.decode(errors="replace").strip()
            if line in ("/quit", "/exit"):
                return
            if not line:
                continue
            self._mark(line)
            if line.startswith("/"):
                await self._command(session, line)
            else:
                await self._send(session, line)

    def _mark(self, line: str) -> None:
        """Show the typed line as the user's: on a terminal, in place of its echo."""
        if self.out.isatty():
            self.out.write("\x1b[1A\x1b[2K")
        self.say(f"you › {line}")

    async def _command(self, session: aiohttp.ClientSession, line: str) -> None:
        name, _, rest = line.partition(" ")
        command = self._commands.get(name.lower())
        if command is None:
            self.say(f"! unknown command {name}: /help lists the commands")
            return
        try:
            await command(session, rest.strip())
        except CommandError as exc:
            self.say(f"! {exc}")

    async def _help(self, session: aiohttp.ClientSession, rest: str) -> None:
        width = max(len(usage) for usage in COMMANDS)
        self.say("\n".join(f"  {usage:<{width}}  {what}" for usage, what in COMMANDS.items()))

    async def _location(self, session: aiohttp.ClientSession, rest: str) -> None:
        await self._post_message(session, {"location": parse_location(rest)})

    async def _advance(self, session: aiohttp.ClientSession, rest: str) -> None:
        seconds = parse_duration(rest or "")
        clock = await self._call(
            session, "POST", "/_sandbox/clock", json={"advance_seconds": seconds}
        )
        if clock is not None:
            offset = clock["offset_seconds"] / 3600
            self.say(f"clock › {clock['now'][:16].replace('T', ' ')} UTC (+{offset:g} h)")

    async def _phone(self, session: aiohttp.ClientSession, rest: str) -> None:
        if rest == "off":
            body = {"kind": "offline", "channel": self.channel.value, "user": self.user}
            fault = await self._call(session, "POST", "/_sandbox/faults", json=body)
            if fault is not None:
                self._fault = str(fault["id"])
                self.say("phone › off: the bot's messages wait at one tick until it is on")
        elif rest == "on":
            if self._fault is not None:
                await self._call(session, "DELETE", f"/_sandbox/faults/{self._fault}")
                self._fault = None
            self.say("phone › on")
        else:
            raise CommandError("/phone takes off or on")

    async def _status(self, session: aiohttp.ClientSession, rest: str) -> None:
        key = f"{self.channel.value}:{BOT_ADDRESSES[self.channel]}:{self.user}"
        found = await self._call(session, "GET", f"/_botkit/conversations/{quote(key, safe='')}")
        if found is None:
            return
        self.say(f"state › {found['state']} · {found['revision']} events handled")
        window = found.get("window") or {}
        if window.get("applies") and window.get("open"):
            self.say(f"window › open until {_when(window['until'])}")
        elif window.get("applies") and window.get("closed_since"):
            self.say(f"window › closed since {_when(window['closed_since'])}")
        for message in found.get("messages", [])[-5:]:
            self.say(f"  {message['status']:<13} {message['summary']}")

    async def _send(self, session: aiohttp.ClientSession, line: str) -> None:
        body: dict[str, Any] = {"text": line}
        if line.isdigit() and 1 <= int(line) <= len(self.choices):
            choice_id, title = self.choices[int(line) - 1]
            body = {"reply": {"id": choice_id, "title": title}}
        await self._post_message(session, body)

    async def _post_message(self, session: aiohttp.ClientSession, body: dict[str, Any]) -> None:
        path = f"/_sandbox/users/{self.channel.value}/{self.user}/messages"
        await self._call(session, "POST", path, json=body)

    async def _call(
        self, session: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
    ) -> Any:
        """The sandbox's JSON answer; None (the reason printed) when it refused."""
        url = f"{self.server.sandbox_url}{path}"
        headers = self.server.auth_headers
        async with session.request(method, url, headers=headers, **kwargs) as response:
            if response.status == 204:
                return {}
            answer = await response.json(content_type=None)
            if response.status >= 300:
                reason = answer.get("detail") or answer.get("message") or answer.get("error")
                self.say(f"! {reason or response.status}")
                return None
            return answer

    async def _follow(self, session: aiohttp.ClientSession) -> None:
        url = f"{self.server.sandbox_url}/_sandbox/events"
        params = {"channel": self.channel.value, "user": self.user}
        async with session.get(
            url, params=params, headers=self.server.auth_headers, timeout=aiohttp.ClientTimeout()
        ) as response:
            async for raw in response.content:
                line = raw.decode().strip()
                if not line.startswith("data:"):
                    continue
                event = json.loads(line[5:])
                if event.get("kind") == "outbound":
                    message = event.get("message", {})
                    text, choices = render(message)
                    self.choices = choices or self.choices
                    if message.get("type") == "template":
                        text += await self._template_text(session, message)
                    self.say(f"bot › {text}")
                elif event.get("kind") == "status" and event.get("status") in (
                    "rejected",
                    "undeliverable",
                ):
                    error = event.get("error") or {}
                    self.say(f"! not delivered: {error.get('code', '')} {error.get('reason', '')}")

    async def _template_text(self, session: aiohttp.ClientSession, message: Any) -> str:
        """The bot's own text a template stands for, to print after it ("" when unknown)."""
        name = quote(str(message.get("name")), safe="")
        params = [("parameter", str(p)) for p in message.get("parameters", [])]
        url = f"{self.server.sandbox_url}/_botkit/templates/{name}"
        headers = self.server.auth_headers
        async with session.get(url, params=params, headers=headers) as response:
            if response.status != 200:
                return ""
            return f" {(await response.json())['text']}"


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")
