"""The pizza bot, ordered end to end through real webhooks, on every channel and both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis import asyncio as redis

from botkit import Channel, OffsetClock, create_app
from botkit.testing import Chat, ProviderStandIn
from bots.pizza import PizzaBot

USERS = {
    Channel.WHATSAPP: "447700900001",
    Channel.MESSENGER: "4711000222333",
    Channel.VIBER: "447700900003",
    Channel.SMS: "447700900004",
}


@pytest.fixture(params=["memory", "redis"])
def store_settings(request: pytest.FixtureRequest, redis_prefix: str) -> dict[str, str]:
    """The settings that choose the store: none for the embedded memory store, else Redis."""
    if request.param == "memory":
        return {}
    server = request.getfixturevalue("redis_server")
    return {"REDIS_URL": server.url, "BOTKIT_REDIS_PREFIX": redis_prefix}


@pytest.fixture
async def chat_for(
    aiohttp_client: Any,
    settings_for: Any,
    provider: ProviderStandIn,
    store_settings: dict[str, str],
) -> AsyncIterator[Any]:
    settings = settings_for(VONAGE_API_URL=provider.url, **store_settings)
    client = await aiohttp_client(create_app(settings, PizzaBot()))

    def make(channel: Channel) -> Chat:
        return Chat(client, provider, channel=channel, user=USERS[channel])

    yield make
    if "REDIS_URL" in store_settings:  # the conversations really went to Redis
        stored = redis.Redis.from_url(store_settings["REDIS_URL"])
        try:
            prefix = store_settings["BOTKIT_REDIS_PREFIX"]
            assert [key async for key in stored.scan_iter(match=f"{prefix}*")]
        finally:
            await stored.aclose()


def texts(replies: list[Any]) -> list[str]:
    return [r.text for r in replies]


@pytest.mark.parametrize("channel", list(USERS), ids=lambda c: c.value)
async def test_order_a_pizza_by_typing(chat_for: Any, channel: Channel) -> None:
    chat: Chat = chat_for(channel)
    welcome, size_question = await chat.say("hi")
    assert welcome.text.startswith("Welcome to Botkit Pizza")
    assert "What size" in size_question.text
    if channel is Channel.WHATSAPP:
        assert size_question.choices == ["Small", "Medium", "Large"]
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
    assert {r.to for r in chat.provider.sent} == {USERS[channel]}


async def test_order_with_buttons_and_a_shared_location_on_whatsapp(chat_for: Any) -> None:
    chat: Chat = chat_for(Channel.WHATSAPP)
    await chat.say("hello")
    assert texts(await chat.press("medium", "Medium"))[0].startswith("A medium pizza")
    await chat.press("cheese", "Cheese")
    await chat.press("no more", "No more")
    (summary,) = texts(
        await chat.share_location(51.5, -0.12, name="Office", address="10 Downing St")
    )
    assert "A medium pizza with cheese, to 10 Downing St." in summary
    assert texts(await chat.press("change", "Change it"))[0] == (
        "No problem, let's start with the size again."
    )


async def test_unclear_answers_and_cancel(chat_for: Any) -> None:
    chat: Chat = chat_for(Channel.MESSENGER)
    await chat.say("hi")
    assert texts(await chat.say("gigantic")) == ["Please pick a size: small, medium or large."]
    assert texts(await chat.say("2"))[0].startswith("A medium pizza")
    assert texts(await chat.say("pineapple"))[0].startswith("We have cheese")
    assert texts(await chat.say("cancel")) == ["Order cancelled. Say hi whenever you want a pizza."]
    assert texts(await chat.say("hi"))[0].startswith("Welcome")


async def test_two_users_have_separate_orders(chat_for: Any) -> None:
    alice: Chat = chat_for(Channel.WHATSAPP)
    bob = Chat(alice.client, alice.provider, channel=Channel.WHATSAPP, user="447700900999")
    await alice.say("hi")
    await bob.say("hi")
    await alice.say("small")
    assert texts(await bob.say("large"))[0].startswith("A large pizza")
    assert texts(await alice.say("no more"))[0].startswith("Where should we deliver?")


async def test_feedback_goes_as_a_template_once_the_window_closed(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn
) -> None:
    clock = OffsetClock()
    app = create_app(settings_for(VONAGE_API_URL=provider.url), PizzaBot(), clock=clock)
    chat = Chat(
        await aiohttp_client(app), provider, channel=Channel.WHATSAPP, user=USERS[Channel.WHATSAPP]
    )
    for step in ("hi", "small", "no more", "1 Main Street"):
        await chat.say(step)
    (confirmation,) = await chat.say("yes")
    clock.advance(25 * 3600)  # the user reads the confirmation a day later
    (feedback,) = await chat.status(confirmation, "read")
    assert feedback.message_type == "template"
    assert feedback.body["template"] == {"name": "pizza_feedback", "parameters": ["small"]}
    assert feedback.body["whatsapp"]["locale"] == "en_US"
    assert await chat.status(confirmation, "read") == [], "asked once"


async def test_feedback_is_free_text_inside_the_window(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn
) -> None:
    app = create_app(settings_for(VONAGE_API_URL=provider.url), PizzaBot())
    chat = Chat(
        await aiohttp_client(app),
        provider,
        channel=Channel.MESSENGER,
        user=USERS[Channel.MESSENGER],
    )
    for step in ("hi", "large", "no more", "1 Main Street"):
        await chat.say(step)
    (confirmation,) = await chat.say("yes")
    (feedback,) = await chat.status(confirmation, "read")
    assert feedback.text == "How was your large pizza? Reply with a mark from 1 to 5."
