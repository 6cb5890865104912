"""The pizza bot, ordered end to end through real webhooks, on every channel and both stores."""

from __future__ import annotations

from typing import Any

import pytest
from redis import asyncio as redis

from botkit import Channel, Template
from botkit.testing import BotChat, BotChats, Sent
from bots.pizza import PizzaBot

USERS = {
    Channel.WHATSAPP: "447700900001",
    Channel.MESSENGER: "4711000222333",
    Channel.VIBER: "447700900003",
    Channel.SMS: "447700900004",
}


pytestmark = pytest.mark.usefixtures("chat_store")  # each test on both stores


async def chat_on(bot_chat: BotChats, channel: Channel) -> BotChat:
    return await bot_chat(PizzaBot, channel=channel, user=USERS[channel])


def texts(replies: list[Sent]) -> list[str]:
    return [r.text for r in replies]


@pytest.mark.parametrize("channel", list(USERS), ids=lambda c: c.value)
async def test_order_a_pizza_by_typing(bot_chat: BotChats, channel: Channel) -> None:
    chat = await chat_on(bot_chat, channel)
    welcome, size_question = await chat.say("hi")
    assert welcome.text.startswith("Welcome to Botkit Pizza")
    assert "What size" in size_question.text
    if channel is Channel.WHATSAPP:
        assert size_question.buttons == ["Small", "Medium", "Large"]
    else:  # no native buttons: numbered options, answered by number or by name
        assert "1. Small\n2. Medium\n3. Large" in size_question.text

    (toppings,) = texts(await chat.say("Large"))
    assert toppings.startswith("A large pizza. Which toppings?")
    assert texts(await chat.say("ham")) == ["Added ham. Another, or 'no more'?"]
    assert texts(await chat.say("olives")) == ["Added olives. Another, or 'no more'?"]
    assert texts(await chat.say("ham")) == ["You already have ham. Another, or 'no more'?"]
    (address,) = texts(await chat.say("no more"))
    assert "Where should we deliver?" in address
    (summary,) = texts(await chat.say("1 Main Street, Springfield"))
    assert summary.startswith(
        "A large pizza with ham, olives, to 1 Main Street, Springfield. Shall we bake it?"
    )
    (done,) = texts(await chat.say("yes"))
    assert done.startswith("Thank you! Your pizza is in the oven")
    assert texts(await chat.say("hello?")) == [
        "Your pizza is on its way! Say 'start over' to order another."
    ]
    assert {r.to for r in chat.sent} == {USERS[channel]}
    assert chat.state == "done"
    assert chat.data.toppings == ["ham", "olives"]


@pytest.mark.parametrize("channel", list(USERS), ids=lambda c: c.value)
async def test_tapping_a_choice_is_the_same_on_every_channel(
    bot_chat: BotChats, channel: Channel
) -> None:
    chat = await chat_on(bot_chat, channel)
    await chat.say("hi")
    (toppings,) = texts(await chat.tap("Medium"))
    assert toppings.startswith("A medium pizza")
    assert texts(await chat.say("2")) == ["Added mushrooms. Another, or 'no more'?"]
    assert chat.data.size == "medium"


async def test_order_with_buttons_and_a_shared_location_on_whatsapp(bot_chat: BotChats) -> None:
    chat = await chat_on(bot_chat, Channel.WHATSAPP)
    await chat.say("hello")
    assert texts(await chat.tap("Medium"))[0].startswith("A medium pizza")
    await chat.tap("Cheese")
    await chat.tap("No more")
    (summary,) = texts(
        await chat.share_location(51.5, -0.12, name="Office", address="10 Downing St")
    )
    assert "A medium pizza with cheese, to 10 Downing St." in summary
    assert texts(await chat.tap("Change it"))[0] == "No problem, let's start with the size again."


async def test_unclear_answers_and_cancel(bot_chat: BotChats) -> None:
    chat = await chat_on(bot_chat, Channel.MESSENGER)
    await chat.say("hi")
    assert texts(await chat.say("gigantic")) == ["Please pick a size: small, medium or large."]
    assert texts(await chat.say("2"))[0].startswith("A medium pizza")
    assert texts(await chat.say("pineapple"))[0].startswith("We have cheese")
    assert texts(await chat.say("cancel")) == ["Order cancelled. Say hi whenever you want a pizza."]
    assert texts(await chat.say("hi"))[0].startswith("Welcome")


async def test_two_users_have_separate_orders(bot_chat: BotChats) -> None:
    alice = await chat_on(bot_chat, Channel.WHATSAPP)
    bob = await bot_chat(PizzaBot, channel="whatsapp", user="447700900999")
    await alice.say("hi")
    await bob.say("hi")
    await alice.say("small")
    assert texts(await bob.say("large"))[0].startswith("A large pizza")
    assert texts(await alice.say("no more"))[0].startswith("Where should we deliver?")


async def test_feedback_goes_as_a_template_once_the_window_closed(bot_chat: BotChats) -> None:
    chat = await chat_on(bot_chat, Channel.WHATSAPP)
    for step in ("hi", "small", "no more", "1 Main Street"):
        await chat.say(step)
    (confirmation,) = await chat.say("yes")
    assert await chat.status(confirmation, "read") == [], "the read receipt asks nothing"
    # The hour's timer falls due while the bot is away for a day: it asks once it is back.
    (feedback,) = await chat.advance(hours=25)
    assert feedback.message_type == "template"
    assert feedback.body["template"] == {"name": "pizza_feedback", "parameters": ["small"]}
    assert feedback.body["whatsapp"]["locale"] == "en_US"
    assert feedback.template == Template(name="pizza_feedback", parameters=("small",))
    assert await chat.advance(hours=25) == [], "asked once"


async def test_feedback_is_free_text_inside_the_window(bot_chat: BotChats) -> None:
    chat = await chat_on(bot_chat, Channel.MESSENGER)
    for step in ("hi", "large", "no more", "1 Main Street"):
        await chat.say(step)
    await chat.say("yes")
    assert await chat.advance(minutes=59) == [], "an hour after the order, not before"
    (feedback,) = await chat.advance(minutes=1)
    assert feedback.text == "How was your large pizza? Reply with a mark from 1 to 5."
    assert feedback.template is None


async def test_conversations_are_in_redis_when_redis_url_is_set(
    bot_chat: BotChats, chat_store: str, redis_server: Any
) -> None:
    chat = await bot_chat(PizzaBot, channel="whatsapp", user="447700900777")
    await chat.say("hi")
    stored = redis.Redis.from_url(redis_server.url)
    try:
        keys = [key async for key in stored.scan_iter(match="*447700900777*")]
    finally:
        await stored.aclose()
    assert bool(keys) == (chat_store == "redis")
