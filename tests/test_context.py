"""What a handler's context refuses, it refuses with the fix."""

from __future__ import annotations

import pytest

from botkit import Bot, Channel, Context, User, on
from botkit.testing import BotChats


class Forwarder(Bot):
    @on.text()
    async def forward(self, ctx: Context) -> None:
        await ctx.send(User(Channel.SMS, "447700900555"), ctx.text)


async def test_sending_on_a_channel_without_a_bot_address_names_the_setting(
    bot_chat: BotChats,
) -> None:
    chat = await bot_chat(Forwarder, channel="whatsapp")
    with pytest.raises(LookupError) as refused:
        await chat.say("pass it on")
    assert str(refused.value) == (
        "no bot address is configured for sms, so it cannot send there: set the bot class's "
        'senders ({Channel.SMS: "<address>"}) or the VONAGE_SMS_FROM setting'
    )
