"""The inspector API: what the bot thinks, conversation by conversation, behind a token."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from botkit import Channel
from botkit.errors import ConfigError
from botkit.server import create_app
from botkit.testing import Chat, ProviderStandIn
from bots.pizza import PizzaBot

TOKEN = "inspector-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def test_conversations_state_data_messages_and_diagram(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn
) -> None:
    settings = settings_for(VONAGE_API_URL=provider.url, BOTKIT_INSPECTOR_TOKEN=TOKEN)
    client = await aiohttp_client(create_app(settings, PizzaBot()), headers=BEARER)
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
    assert "Access-Control-Allow-Origin" not in response.headers
    detail = await response.json()
    assert "class toppings s_active" in detail["mermaid"]
    summaries = [m["summary"] for m in detail["messages"]]
    assert summaries[0].startswith("Welcome to Botkit Pizza")
    assert len(summaries) == 3
    assert {m["status"] for m in detail["messages"]} == {"submitted"}

    missing = await client.get("/_botkit/conversations/whatsapp%3Anobody%3A1")
    assert missing.status == 404


@pytest.mark.parametrize("env", ["development", "test", "production"])
async def test_no_token_no_inspector_whatever_the_environment(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn, env: str
) -> None:
    settings = settings_for(VONAGE_API_URL=provider.url, BOTKIT_ENV=env)
    client = await aiohttp_client(create_app(settings, PizzaBot()))
    assert (await client.get("/_botkit/conversations")).status == 404
    assert (await client.get("/_botkit/conversations", headers=BEARER)).status == 404


async def test_the_inspector_answers_only_with_its_token(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn
) -> None:
    settings = settings_for(
        VONAGE_API_URL=provider.url, BOTKIT_ENV="production", BOTKIT_INSPECTOR_TOKEN=TOKEN
    )
    client = await aiohttp_client(create_app(settings, PizzaBot()))
    refused = await client.get("/_botkit/conversations")
    assert refused.status == 401
    assert (await refused.json())["error"] == "unauthorized"
    wrong = {"Authorization": "Bearer " + "x" * len(TOKEN)}
    assert (await client.get("/_botkit/conversations", headers=wrong)).status == 401
    assert (await client.get("/_botkit/conversations", headers=BEARER)).status == 200
    by_link = await client.get(f"/_botkit/bot?token={TOKEN}")
    assert by_link.status == 200
    assert by_link.cookies["botkit_token"].value == TOKEN
    assert (await client.get("/_botkit/bot")).status == 200, "the cookie lets the page in"


def test_a_short_token_is_refused_at_start(settings_for: Any) -> None:
    with pytest.raises(ConfigError, match=r"BOTKIT_INSPECTOR_TOKEN=\(hidden\).*16 characters"):
        settings_for(BOTKIT_INSPECTOR_TOKEN="short")
