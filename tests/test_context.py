"""What a handler's context refuses, it refuses with the fix."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from botkit import Bot, Channel, Context, Fallback, RecipientNotAllowed, User, ViberOptions, on
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


class Promoter(Bot):
    @on.text("deal")
    async def deal(self, ctx: Context) -> None:
        await ctx.reply("Thanks for your order.", viber=ViberOptions(category="transaction"))
        await ctx.reply("50% off today", viber=ViberOptions(category="promotion"))

    @on.text("promo first")
    async def promo_first(self, ctx: Context) -> None:
        await ctx.send(User(Channel.VIBER, "447700900999"), "50% off", viber=PROMOTION)


PROMOTION = ViberOptions(category="promotion")


async def test_a_viber_promotion_follows_a_first_message_in_the_same_turn(
    bot_chat: BotChats,
) -> None:
    chat = await bot_chat(Promoter, channel="viber")

    sent = await chat.say("deal")

    assert [s.body["viber_service"]["category"] for s in sent] == ["transaction", "promotion"]


async def test_a_viber_promotion_as_the_first_message_to_a_user_is_refused(
    bot_chat: BotChats,
) -> None:
    chat = await bot_chat(Promoter, channel="viber")

    with pytest.raises(RecipientNotAllowed, match="not promotional"):
        await chat.say("promo first")


class Tracked(Bot):
    @on.text()
    async def tracked(self, ctx: Context) -> None:
        await ctx.reply("On its way", webhook_url="https://bot.example.com/status?order=17")


async def test_a_reply_carries_its_own_status_url(bot_chat: BotChats) -> None:
    chat = await bot_chat(Tracked, channel="whatsapp")

    (sent,) = await chat.say("where is it?")

    assert sent.body["webhook_url"] == "https://bot.example.com/status?order=17"


class BadUrl(Bot):
    @on.text()
    async def bad(self, ctx: Context) -> None:
        await ctx.reply("On its way", webhook_url="/status")


async def test_a_reply_with_a_status_url_that_is_no_url_fails_naming_it(
    bot_chat: BotChats,
) -> None:
    chat = await bot_chat(BadUrl, channel="whatsapp")

    with pytest.raises(ValidationError, match="webhook_url"):
        await chat.say("where is it?")


class TrackedFailover(Bot):
    @on.text()
    async def tracked(self, ctx: Context) -> None:
        await ctx.reply(
            "On its way",
            webhook_url="https://bot.example.com/status",
            failover=[Fallback(Channel.SMS, when="delivered", within=timedelta(minutes=5))],
        )


async def test_a_status_url_of_its_own_and_failover_are_refused_together(
    bot_chat: BotChats,
) -> None:
    chat = await bot_chat(TrackedFailover, channel="whatsapp")

    with pytest.raises(ValueError, match="webhook_url sends this message's statuses away"):
        await chat.say("where is it?")
