"""The shop bot writes first: order events through the events API, inside and outside
WhatsApp's window, deduplicated on the shop's key."""

from __future__ import annotations

from botkit.testing import BotChat, BotChats
from bots.shop import ShopBot

SHOP = {"VONAGE_WHATSAPP_NUMBER": "447700900000", "BOTKIT_API_TOKEN": "the-shop-systems-token"}


async def chat_with(bot_chat: BotChats) -> BotChat:
    return await bot_chat(ShopBot, channel="whatsapp", user="447700900001", settings=SHOP)


async def test_a_shipped_order_is_told_in_the_window_and_remembered(bot_chat: BotChats) -> None:
    chat = await chat_with(bot_chat)
    (answer,) = await chat.say("where is my order?")
    assert answer.text == "Nothing has shipped yet: we will write as soon as it does."
    data = {"order": "A-1001", "carrier": "DHL"}
    (told,) = await chat.notify("order_shipped", data, key="A-1001")
    assert told.message_type == "text"
    assert told.text == "Good news: order A-1001 has shipped with DHL."
    # The shop's system retried: the same key reaches the bot no more.
    assert await chat.notify("order_shipped", data, key="A-1001") == []
    (answer,) = await chat.say("and now?")
    assert answer.text == "Your order A-1001 is on its way."


async def test_outside_the_window_the_template_goes(bot_chat: BotChats) -> None:
    chat = await chat_with(bot_chat)
    await chat.say("hi")
    await chat.advance(hours=25)
    (told,) = await chat.notify("order_shipped", {"order": "A-1002"}, key="A-1002")
    assert told.message_type == "template"
    assert told.body["template"] == {
        "name": "order_shipped",
        "parameters": ["A-1002", "our courier"],
    }


async def test_a_customer_who_never_wrote_gets_the_template(bot_chat: BotChats) -> None:
    chat = await chat_with(bot_chat)
    (told,) = await chat.notify("order_shipped", {"order": "A-1003", "carrier": "UPS"})
    assert told.message_type == "template"
    assert told.body["template"]["parameters"] == ["A-1003", "UPS"]
