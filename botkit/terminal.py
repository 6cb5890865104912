"""``botkit chat``: talk to a bot from the terminal, as one user on one channel.

Runs the same bot-and-sandbox pair as ``botkit dev``. Each line typed is the user's message;
the bot's messages are printed as the user would see them. When the last message offered
buttons, typing a button's number picks it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, TextIO

import aiohttp

from botkit.devserver import DevServer
from botkit.events import Channel


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
            if line:
                await self._send(session, line)

    async def _send(self, session: aiohttp.ClientSession, line: str) -> None:
        body: dict[str, Any] = {"text": line}
        if line.isdigit() and 1 <= int(line) <= len(self.choices):
            choice_id, title = self.choices[int(line) - 1]
            body = {"reply": {"id": choice_id, "title": title}}
        url = f"{self.server.sandbox_url}/_sandbox/users/{self.channel.value}/{self.user}/messages"
        async with session.post(url, json=body, headers=self.server.auth_headers) as response:
            if response.status >= 300:
                answer = await response.json(content_type=None)
                self.say(f"! {answer.get('detail') or answer.get('message') or response.status}")

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
                    text, choices = render(event.get("message", {}))
                    self.choices = choices or self.choices
                    self.say(f"bot › {text}")
                elif event.get("kind") == "status" and event.get("status") in (
                    "rejected",
                    "undeliverable",
                ):
                    error = event.get("error") or {}
                    self.say(f"! not delivered: {error.get('code', '')} {error.get('reason', '')}")
