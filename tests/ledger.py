"""A bot for the runtime's guarantee tests: every turn leaves a trace that can be counted.

Each text ``<tag>`` from a user is answered ``<n>:<tag>`` where ``n`` counts that user's
handled turns (saved with the turn). ``sleep <seconds> <tag>`` holds the handler that long first
(to kill or stall the process mid-handler); ``raise <tag>`` makes the handler fail; ``twice
<tag>`` answers with two messages, ``<n>:<tag>`` and ``<n>:<tag>+``. A long SMS delivered
incomplete is answered ``<n>:<tag> missing <part numbers>``. A proactive event is answered
``<n>:<tag>`` too, its tag being its data's ``tag`` (else its name). A reply the provider
refused for good comes back as a ``rejected`` status, answered ``refused:<code>``.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from pydantic import BaseModel

from botkit import Bot, Context, Notification, on


class Count(BaseModel):
    turns: int = 0
    tags: list[str] = []


class LedgerBot(Bot[Count]):
    apology = "apology"
    running: ClassVar[int] = 0
    """Handlers running now in this process, and the most seen at once."""
    most_running: ClassVar[int] = 0
    entered: ClassVar[asyncio.Event | None] = None
    """Set (when a test puts an event here) as a ``sleep`` handler starts sleeping."""

    @on.text()
    async def count(self, ctx: Context[Count]) -> None:
        words = ctx.text.split()
        if words[0] == "sleep":
            LedgerBot.running += 1
            LedgerBot.most_running = max(LedgerBot.most_running, LedgerBot.running)
            if LedgerBot.entered is not None:
                LedgerBot.entered.set()
            try:
                await asyncio.sleep(float(words[1]))
            finally:
                LedgerBot.running -= 1
            words = words[2:]
        if words[0] == "raise":
            raise RuntimeError(f"asked to fail: {ctx.text}")
        twice = words[0] == "twice"
        if twice:
            words = words[1:]
        ctx.data.turns += 1
        ctx.data.tags.append(words[0])
        sms = ctx.event.sms
        missing = sms.missing_parts if sms is not None else ()
        marked = f" missing {','.join(map(str, missing))}" if missing else ""
        await ctx.reply(f"{ctx.data.turns}:{words[0]}{marked}")
        if twice:
            await ctx.reply(f"{ctx.data.turns}:{words[0]}+")

    @on.event()
    async def event(self, ctx: Context[Count]) -> None:
        content = ctx.event.content
        assert isinstance(content, Notification)
        tag = str(content.data.get("tag", content.name))
        ctx.data.turns += 1
        ctx.data.tags.append(tag)
        await ctx.reply(f"{ctx.data.turns}:{tag}")

    @on.status("rejected")
    async def refused(self, ctx: Context[Count]) -> None:
        """A reply refused for good comes back as a status; say so, with the code."""
        status = ctx.event.status
        code = status.error.code if status is not None and status.error is not None else None
        await ctx.reply(f"refused:{code}")
