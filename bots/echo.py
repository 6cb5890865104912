"""The smallest bot: it answers every text with the same text."""

from botkit import Bot, Context, on


class EchoBot(Bot):
    """Answers ``hello`` with ``echo: hello`` on any channel."""

    @on.text()
    async def echo(self, ctx: Context) -> None:
        await ctx.reply(f"echo: {ctx.text}")
