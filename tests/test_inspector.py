"""The inspector API: what the bot thinks, conversation by conversation, behind a token."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from botkit import Channel
from botkit.clock import Clock, OffsetClock
from botkit.errors import ConfigError
from botkit.server import create_app
from botkit.testing import Chat, ProviderStandIn
from bots.pizza import PizzaBot

TOKEN = "inspector-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def inspected(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn, clock: Clock | None = None
) -> Any:
    """A client of the pizza bot's app with the inspector on, carrying its token."""
    settings = settings_for(VONAGE_API_URL=provider.url, BOTKIT_INSPECTOR_TOKEN=TOKEN)
    return await aiohttp_client(create_app(settings, PizzaBot(), clock=clock), headers=BEARER)


async def test_conversations_state_data_messages_and_diagram(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn
) -> None:
    client = await inspected(aiohttp_client, settings_for, provider)
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


async def test_the_timeline_traces_each_turn_and_the_window(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn
) -> None:
    client = await inspected(aiohttp_client, settings_for, provider)
    chat = Chat(client, provider, channel=Channel.SMS, user="447700900004")
    await chat.say("hi")
    await chat.say("3")  # the third numbered option: large

    (listed,) = (await (await client.get("/_botkit/conversations")).json())["conversations"]
    assert listed["active_at"] is not None
    detail = await (
        await client.get("/_botkit/conversations/" + quote(listed["key"], safe=""))
    ).json()
    turns = [item for item in detail["timeline"] if item["entry"] == "turn"]
    assert [t["revision"] for t in turns] == [1, 2]
    first, second = turns
    assert first["event"] == "'hi'"
    assert (first["state_before"], first["state_after"]) == ("greeting", "size")
    assert first["handler"] == "greet"
    assert first["triggers"] == ["size"]
    assert first["outcome"] == "handled"
    assert first["duration_ms"] >= 0
    assert first["kind"] == "message"
    assert first["replies"] == 2
    # SMS carries no buttons: the rules' note says the choices became numbered options.
    assert any("numbered" in note for note in first["notes"])
    assert second["event"] == "'3'"
    assert (second["state_before"], second["state_after"]) == ("size", "toppings")
    # The turn comes before the messages it sent; the messages stay listed on their own too.
    kinds = [item["entry"] for item in detail["timeline"]]
    assert kinds[0] == "turn"
    assert kinds[1] == "sent"
    assert len(detail["messages"]) == kinds.count("sent") >= 2
    assert detail["window"] == {"applies": False}
    assert detail["timers"] == []


async def test_the_window_is_open_until_a_day_after_the_users_message(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn
) -> None:
    clock = OffsetClock()
    client = await inspected(aiohttp_client, settings_for, provider, clock)
    chat = Chat(client, provider, channel=Channel.WHATSAPP, user="447700900001")
    await chat.say("hi")
    path = "/_botkit/conversations/" + quote("whatsapp:447700900000:447700900001", safe="")
    window = (await (await client.get(path)).json())["window"]
    assert window["open"] is True
    assert window["closed_since"] is None
    assert window["outside"] == "template"
    assert window["hours"] == 24
    clock.advance(25 * 3600)
    closed = (await (await client.get(path)).json())["window"]
    assert closed["open"] is False
    assert closed["closed_since"] == window["until"]


async def test_a_template_reads_as_the_text_it_stands_for(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn
) -> None:
    client = await inspected(aiohttp_client, settings_for, provider)
    found = await client.get("/_botkit/templates/pizza_feedback?parameter=large")
    assert (await found.json())["text"] == (
        "How was your large pizza? Reply with a mark from 1 to 5."
    )
    unknown = await client.get("/_botkit/templates/pizza_feedback")
    assert unknown.status == 404
    assert "0 parameter(s)" in (await unknown.json())["message"]


async def test_pending_timers_are_listed_with_their_due_times(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn
) -> None:
    clock = OffsetClock()
    client = await inspected(aiohttp_client, settings_for, provider, clock)
    chat = Chat(client, provider, channel=Channel.WHATSAPP, user="447700900001")
    for step in ("hi", "small", "no more", "1 Main Street", "yes"):
        await chat.say(step)
    path = "/_botkit/conversations/" + quote("whatsapp:447700900000:447700900001", safe="")
    (timer,) = (await (await client.get(path)).json())["timers"]
    assert (timer["key"], timer["name"], timer["data"]) == ("feedback", "feedback", None)
    assert timer["due_at"] == pytest.approx(clock.now() + 3600, abs=5)
    await chat.advance(3600)
    assert (await (await client.get(path)).json())["timers"] == []
