"""A bot for the web chat's failover test: "remind me" is answered on WhatsApp with a failover
to SMS when the reminder is not read within 10 minutes."""

from __future__ import annotations

from datetime import timedelta

from botkit import Bot, Channel, Context, Fallback, on


class RemindingBot(Bot):
    @on.text("remind me")
    async def remind(self, ctx: Context[dict[str, str]]) -> None:
        await ctx.reply(
            "Reminder: your appointment is tomorrow at 10.",
            failover=[Fallback(Channel.SMS, when="read", within=timedelta(minutes=10))],
        )

    @on.fallback()
    async def other(self, ctx: Context[dict[str, str]]) -> None:
        await ctx.reply('Say "remind me".')
