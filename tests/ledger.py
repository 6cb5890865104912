"""A bot for the runtime's guarantee tests: every turn leaves a trace that can be counted.

Each text ``<tag>`` from a user is answered ``<n>:<tag>`` where ``n`` counts that user's
handled turns (saved with the turn). ``slow <seconds> <tag>`` is a slow handler: it works that
long first (to kill or stall the process mid-handler, or outlive a lease), and says when it
starts and ends, so a test can wait for a handler to be running: it logs ``ledger handler
holding`` and ``ledger handler held``, and sets :attr:`LedgerBot.holding` ``[tag]``.
``raise <tag>`` makes the handler fail. A long SMS delivered incomplete is answered
``<n>:<tag> missing <part numbers>``. A proactive event is answered ``<n>:<tag>`` too, its tag
being its data's ``tag`` (else its name). ``twice <tag>`` answers with two messages,
``<n>:<tag>`` and ``<n>:<tag>+``. A reply the provider refused for good comes back as a
``rejected`` status, answered ``refused:<code>``.
``timer <seconds> <tag> [<sleep>]`` schedules a timer ``<seconds>`` ahead, answered
``<n>:set-<tag>``; when it fires the handler sleeps ``<sleep>`` seconds (default none) and
answers ``<n>:<tag>``.
``failover <seconds> <tag> [<sleep>]`` answers ``<n>:fo-<tag>`` with a failover to SMS when
not read within ``<seconds>`` (the SMS carries the same text); when the message ends, the
outcome handler works ``<sleep>`` seconds (logging ``ledger handler holding`` first) and
answers ``<n>:outcome-<channel>`` (``none`` when no step succeeded).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import timedelta
from typing import ClassVar

from pydantic import BaseModel

from botkit import Bot, Channel, Context, FailoverOutcome, Fallback, Notification, Timer, on
from botkit.log import get_logger

log = get_logger("tests.ledger")


class Count(BaseModel):
    turns: int = 0
    tags: list[str] = []
    outcome_sleep: float = 0.0


class LedgerBot(Bot[Count]):
    apology = "apology"
    running: ClassVar[int] = 0
    """Handlers running now in this process, and the most seen at once."""
    most_running: ClassVar[int] = 0

    def __init__(self) -> None:
        self.holding: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
        """Set once a slow handler with that tag started."""

    @on.text()
    async def count(self, ctx: Context[Count]) -> None:
        words = ctx.text.split()
        if words[0] == "timer":
            sleep = float(words[3]) if len(words) > 3 else 0.0
            await ctx.schedule(words[2], after=float(words[1]), data={"sleep": sleep})
            words = [f"set-{words[2]}"]
        if words[0] == "failover":
            ctx.data.turns += 1
            ctx.data.outcome_sleep = float(words[3]) if len(words) > 3 else 0.0
            within = timedelta(seconds=float(words[1]))
            unread = Fallback(Channel.SMS, when="read", within=within)
            await ctx.reply(f"{ctx.data.turns}:fo-{words[2]}", failover=[unread])
            return
        if words[0] == "slow":
            LedgerBot.running += 1
            LedgerBot.most_running = max(LedgerBot.most_running, LedgerBot.running)
            log.info("ledger handler holding", seconds=float(words[1]))
            self.holding[words[2]].set()
            try:
                # The work a slow handler does: it takes this long.
                await asyncio.sleep(float(words[1]))
            finally:
                LedgerBot.running -= 1
            log.info("ledger handler held")
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

    @on.timer()
    async def timer(self, ctx: Context[Count]) -> None:
        content = ctx.event.content
        assert isinstance(content, Timer)
        await asyncio.sleep(float(content.data["sleep"]))
        ctx.data.turns += 1
        ctx.data.tags.append(content.key)
        await ctx.reply(f"{ctx.data.turns}:{content.key}")

    @on.failover()
    async def failover(self, ctx: Context[Count]) -> None:
        outcome = ctx.event.content
        assert isinstance(outcome, FailoverOutcome)
        if ctx.data.outcome_sleep:
            log.info("ledger handler holding", seconds=ctx.data.outcome_sleep)
            self.holding["outcome"].set()
            # The work a slow handler does: it takes this long.
            await asyncio.sleep(ctx.data.outcome_sleep)
            log.info("ledger handler held")
        ctx.data.turns += 1
        channel = outcome.channel.value if outcome.channel else "none"
        await ctx.reply(f"{ctx.data.turns}:outcome-{channel}")

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
