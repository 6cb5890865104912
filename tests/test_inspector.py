"""The inspector API: what the bot thinks, conversation by conversation."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from botkit import Channel
from botkit.server import create_app
from botkit.testing import Chat, ProviderStandIn
from bots.pizza import PizzaBot


async def test_conversations_state_data_messages_and_diagram(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn
) -> None:
    client = await aiohttp_client(create_app(settings_for(VONAGE_API_URL=provider.url), PizzaBot()))
    chat = Chat(client, provider, channel=Channel.WHATSAPP, user="447700900001")
    await chat.say("hi")
    await chat.say("large")

    bot = await (await client.get("/_botkit/bot")).json()
    assert bot["name"] == "PizzaBot"
    assert bot["states"][0] == "greeting"

    listing = await (await client.get("/_botkit/conversations")).json()
    (conversation,) = listing["conversations"]
    assert conversation["state"] == "toppings"
    assert conversation["data"]["size"] == "large"
    assert conversation["user"] == "447700900001"

    response = await client.get("/_botkit/conversations/" + quote(conversation["key"], safe=""))
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    detail = await response.json()
    assert "class toppings s_active" in detail["mermaid"]
    summaries = [m["summary"] for m in detail["messages"]]
    assert summaries[0].startswith("Welcome to Botkit Pizza")
    assert len(summaries) == 3
    assert {m["status"] for m in detail["messages"]} == {"submitted"}

    missing = await client.get("/_botkit/conversations/whatsapp%3Anobody%3A1")
    assert missing.status == 404


async def test_production_has_no_inspector(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn
) -> None:
    settings = settings_for(VONAGE_API_URL=provider.url, BOTKIT_ENV="production")
    client = await aiohttp_client(create_app(settings, PizzaBot()))
    assert (await client.get("/_botkit/conversations")).status == 404
