"""A handler's send to another user is judged and recorded as that user's: their window, and
the message record kept with their conversation, where their statuses update it."""

from __future__ import annotations

import re

import pytest

from botkit import Bot, Channel, Context, DeliveryStatus, User, WindowClosed, on
from botkit.testing import BotChats

ALICE, BOB, CAROL = "447700900001", "447700900002", "447700900003"


class Relay(Bot):
    @on.text(re.compile(r"^tell (\d+) (.+)$"))
    async def tell(self, ctx: Context) -> None:
        assert ctx.match is not None
        assert ctx.match.regex is not None
        to, text = ctx.match.regex.groups()
        await ctx.send(User(ctx.event.channel, to), text)

    @on.text()
    async def hello(self, ctx: Context) -> None:
        await ctx.reply("hello")


pytestmark = pytest.mark.usefixtures("chat_store")  # each test on both stores


async def test_a_send_to_a_user_who_wrote_is_filed_with_them_and_their_statuses_update_it(
    bot_chat: BotChats,
) -> None:
    alice = await bot_chat(Relay, channel="whatsapp", user=ALICE)
    bob = await bot_chat(Relay, channel="whatsapp", user=BOB)
    await bob.say("hi")  # Bob's window is open: free text may go to him
    assert await alice.say(f"tell {BOB} see you at 8") == []
    (sent,) = bob.sent[-1:]
    assert (sent.text, sent.message_type) == ("see you at 8", "text")
    (greeting, relayed) = bob.records
    assert (relayed.to, relayed.summary, relayed.status) == (BOB, "see you at 8", "submitted")
    assert relayed.message_id != greeting.message_id
    assert alice.records == [], "nothing of it is kept with the sender's conversation"

    await bob.status(sent, "read")
    assert bob.records[-1].status is DeliveryStatus.READ
    assert [h.original for h in bob.records[-1].history] == ["read"]


async def test_a_send_to_a_user_who_never_wrote_follows_their_window(bot_chat: BotChats) -> None:
    alice = await bot_chat(Relay, channel="whatsapp", user=ALICE)
    with pytest.raises(WindowClosed):
        await alice.say(f"tell {CAROL} see you at 8")
    sms = await bot_chat(Relay, channel=Channel.SMS, user=ALICE, settings=SMS)
    carol = await bot_chat(Relay, channel=Channel.SMS, user=CAROL, settings=SMS)
    assert await sms.say(f"tell {CAROL} see you at 8") == []  # SMS has no window
    assert [r.summary for r in carol.records] == ["see you at 8"]


SMS = {"VONAGE_SMS_FROM": "447700900000"}
