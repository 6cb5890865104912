"""The README's bot code works as written: a bot made from it alone sends its template once
WhatsApp's window has closed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from botkit import Bot, Channel, OffsetClock, create_app
from botkit.testing import BotChats, Chat, ProviderStandIn

README = Path(__file__).resolve().parent.parent / "README.md"
DAY = 24 * 3600


def readme_bot(marker: str = 'name="pizza_feedback"') -> type[Bot[Any]]:
    """The bot class of the README's example whose code holds ``marker`` (by default the
    template example), created from the README's own text."""
    text = README.read_text()
    (found,) = [
        block
        for block in re.finditer(r"```python\n(.*?)```", text, flags=re.S)
        if marker in block.group(1)
    ]
    # Padded to its place in the README, so that errors name the README's own lines.
    code = "\n" * text.count("\n", 0, found.start(1)) + found.group(1)
    namespace: dict[str, Any] = {}
    exec(compile(code, str(README), "exec"), namespace)
    bots = [v for v in namespace.values() if isinstance(v, type) and issubclass(v, Bot)]
    (bot,) = [b for b in bots if b is not Bot]
    return bot


async def chat_with(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn, clock: OffsetClock
) -> Chat:
    app = create_app(settings_for(VONAGE_API_URL=provider.url), readme_bot()(), clock=clock)
    return Chat(await aiohttp_client(app), provider, channel=Channel.WHATSAPP)


async def test_the_readme_bot_sends_its_template_once_the_window_closed(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn
) -> None:
    clock = OffsetClock()
    chat = await chat_with(aiohttp_client, settings_for, provider, clock)
    (confirmation,) = await chat.say("large")
    assert confirmation.text == "One large pizza, coming up!"
    clock.advance(DAY + 3600)
    (feedback,) = await chat.status(confirmation, "read")
    assert feedback.message_type == "template"
    assert feedback.body["template"] == {"name": "pizza_feedback", "parameters": ["large"]}
    assert feedback.body["whatsapp"] == {"policy": "deterministic", "locale": "en_US"}


async def test_the_readme_bot_writes_freely_inside_the_window(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn
) -> None:
    chat = await chat_with(aiohttp_client, settings_for, provider, OffsetClock())
    (confirmation,) = await chat.say("small")
    (feedback,) = await chat.status(confirmation, "read")
    assert feedback.message_type == "text"
    assert feedback.text == "How was your small pizza? Reply with a mark from 1 to 5."


async def test_the_readme_timer_bot_reminds_and_times_out(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn
) -> None:
    bot = readme_bot("ctx.schedule(")
    app = create_app(settings_for(VONAGE_API_URL=provider.url), bot(), clock=OffsetClock())
    chat = Chat(await aiohttp_client(app), provider, channel=Channel.WHATSAPP)
    assert await chat.say("remind me") == []
    assert await chat.advance(59 * 60) == []
    (reminder,) = await chat.advance(60)
    assert reminder.text == "A reminder about your basket."
    assert bot.timeouts["address"].duration.total_seconds() == 30 * 60


async def test_the_readme_front_desk_sends_cards_and_its_template_as_the_channel_allows(
    bot_chat: BotChats,
) -> None:
    desk = readme_bot("class FrontDesk")
    whatsapp = await bot_chat(desk, channel="whatsapp")
    viber = await bot_chat(desk, channel="viber", user="447700900002")

    (cards,) = await whatsapp.say("call")
    (help_text,) = await viber.say("help")

    assert cards.body["custom"]["contacts"][0]["phones"] == [{"phone": "+44 20 7946 0000"}]
    assert help_text.text == (
        "What do you need?\nFAQ: https://acme.example/faq\n\n1. Track my order"
    )


async def test_the_readme_shop_sends_a_viber_video_and_a_tracked_mms(bot_chat: BotChats) -> None:
    shop = readme_bot("mms=MmsOptions(")
    viber = await bot_chat(shop, channel="viber")
    mms = await bot_chat(shop, channel="mms", user="12015550123")

    (video,) = await viber.say("tour")
    (receipt,) = await mms.say("receipt")

    assert video.body["viber_service"] == {"duration": "42", "file_size": "3"}
    assert (receipt.body["ttl"], receipt.body["webhook_url"]) == (
        3600,
        "https://shop.example.com/webhooks/receipts",
    )
