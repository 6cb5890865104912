"""The events API over real loopback HTTP: served only with a token, its answers to bad input,
and the events it accepts reaching the bot once, in order with the user's messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
import structlog
from aiohttp.test_utils import TestClient

from botkit import Bot, Channel, Context, EventKind, Notification, create_app, on
from botkit.server import RUNTIME
from botkit.testing import Chat, ProviderStandIn

TOKEN = "an-events-api-token-for-the-tests"
USER = "447700900001"


class Recorder(Bot):
    """Answers each event and message with what it was."""

    @on.event("order_shipped")
    async def shipped(self, ctx: Context[dict[str, Any]]) -> None:
        assert isinstance(ctx.event.content, Notification)
        await ctx.reply(f"shipped {ctx.event.content.data.get('order')}")

    @on.event()
    async def other(self, ctx: Context[dict[str, Any]]) -> None:
        assert isinstance(ctx.event.content, Notification)
        await ctx.reply(f"event {ctx.event.content.name}")

    @on.text()
    async def text(self, ctx: Context[dict[str, Any]]) -> None:
        await ctx.reply(f"said {ctx.text}")


def body(**fields: Any) -> dict[str, Any]:
    return {"channel": "whatsapp", "user": USER, "name": "order_shipped", **fields}


AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def client(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn
) -> TestClient[Any, Any]:
    settings = settings_for(
        VONAGE_API_URL=provider.url,
        BOTKIT_API_TOKEN=TOKEN,
        VONAGE_WHATSAPP_NUMBER="447700900000",
        BOTKIT_MAX_BODY_BYTES="4096",
    )
    result: TestClient[Any, Any] = await aiohttp_client(create_app(settings, Recorder()))
    return result


async def answer(response: Any) -> tuple[int, dict[str, Any]]:
    return response.status, json.loads(await response.read())


async def test_without_a_token_configured_the_route_does_not_exist(
    aiohttp_client: Any, settings_for: Any
) -> None:
    client = await aiohttp_client(create_app(settings_for(), Recorder()))
    status, found = await answer(await client.post("/api/v1/events", json=body(), headers=AUTH))
    assert status == 404
    assert found["error"] == "not_found"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-of-the-same-kind!!"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer"},
    ],
)
async def test_without_the_right_bearer_token_401_and_nothing_recorded(
    client: TestClient[Any, Any], headers: dict[str, str]
) -> None:
    response = await client.post("/api/v1/events", json=body(key="k-401"), headers=headers)
    status, found = await answer(response)
    assert status == 401
    assert found["error"] == "unauthorized"
    assert "BOTKIT_API_TOKEN" in found["message"]
    assert response.headers["WWW-Authenticate"] == "Bearer"
    # The same key, with the token, is new: the refused request recorded nothing.
    accepted = await client.post("/api/v1/events", json=body(key="k-401"), headers=AUTH)
    assert (await answer(accepted))[1]["status"] == "accepted"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (body(channel="fax"), "channel"),
        (body(channel=None), "channel"),
        (body(user="not a number"), "user"),
        (body(user=447700900001), "user"),
        (body(user=""), "user"),
        ({"channel": "whatsapp", "user": USER}, "name"),
        (body(name=""), "name"),
        (body(name=["order_shipped"]), "name"),
        (body(data=[1, 2]), "data"),
        (body(data="order 123"), "data"),
        (body(key=""), "key"),
        (body(key={"id": 1}), "key"),
        (body(extra=1), "extra"),
        (body(channel="sms"), "channel"),
        ([body()], "body"),
    ],
)
async def test_a_bad_body_is_400_naming_the_field(
    client: TestClient[Any, Any], payload: Any, field: str
) -> None:
    response = await client.post("/api/v1/events", json=payload, headers=AUTH)
    status, found = await answer(response)
    assert status == 400, found
    assert found["error"] == "invalid_payload"
    assert [p["field"] for p in found["problems"]] == [field]


@pytest.mark.parametrize(
    ("data", "content_type", "field"),
    [
        (b'{"channel": "whatsapp",', "application/json", "body"),
        (b"\xff\xfe\x00garbage", "application/json", "body"),
        (json.dumps(body()).encode(), "text/plain", "Content-Type"),
        (
            b'{"channel": "whatsapp", "user": "447700900001", "name": "x", "data": {"n": 1e400}}',
            "application/json",
            "data.n",
        ),
    ],
)
async def test_a_body_that_is_not_sane_json_is_400_naming_the_field(
    client: TestClient[Any, Any], data: bytes, content_type: str, field: str
) -> None:
    headers = {**AUTH, "Content-Type": content_type}
    status, found = await answer(await client.post("/api/v1/events", data=data, headers=headers))
    assert status == 400
    assert found["problems"][0]["field"] == field


async def test_a_body_over_the_limit_is_413(client: TestClient[Any, Any]) -> None:
    payload = body(data={"filler": "x" * 5000})
    status, found = await answer(await client.post("/api/v1/events", json=payload, headers=AUTH))
    assert status == 413
    assert found["limit_bytes"] == 4096


async def test_other_methods_are_405(client: TestClient[Any, Any]) -> None:
    status, found = await answer(await client.get("/api/v1/events", headers=AUTH))
    assert status == 405
    assert found["error"] == "method_not_allowed"


async def test_accepted_events_reach_the_bot_once_in_order_with_the_users_messages(
    client: TestClient[Any, Any], provider: ProviderStandIn
) -> None:
    chat = Chat(client, provider, channel=Channel.WHATSAPP, user=USER)
    assert [s.text for s in await chat.say("hi")] == ["said hi"]
    with structlog.testing.capture_logs() as logs:
        response = await client.post(
            "/api/v1/events",
            json=body(user="+44 7700 900001", data={"order": "123"}, key="order-123"),
            headers=AUTH,
        )
        assert await answer(response) == (
            202,
            {"status": "accepted", "name": "order_shipped", "key": "order-123"},
        )
        repeated = await client.post(
            "/api/v1/events", json=body(data={"order": "123"}, key="order-123"), headers=AUTH
        )
        assert await answer(repeated) == (
            202,
            {"status": "duplicate", "name": "order_shipped", "key": "order-123"},
        )
    accepts = [line for line in logs if line["event"].startswith("event ")]
    assert [(line["event"], line["log_level"]) for line in accepts] == [
        ("event content", "debug"),
        ("event accepted", "info"),
        ("event content", "debug"),
        ("event was a duplicate delivery", "info"),
    ]
    # The duplicate added nothing to the inbox: the next message is answered right after the
    # one event, and the bot saw the event once.
    assert [s.text for s in await chat.say("thanks")] == ["shipped 123", "said thanks"]
    assert [s.text for s in await chat.notify("refund", key="r-1")] == ["event refund"]
    assert await chat.notify("refund", key="r-1") == []
    await client.app[RUNTIME].wait_idle()
    assert [s.text for s in provider.sent] == [
        "said hi",
        "shipped 123",
        "said thanks",
        "event refund",
    ]


async def test_an_event_no_handler_takes_is_logged_with_the_fix(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn
) -> None:
    class Quiet(Bot):
        @on.text()
        async def text(self, ctx: Context[dict[str, Any]]) -> None:
            await ctx.reply("ok")

    settings = settings_for(
        VONAGE_API_URL=provider.url, BOTKIT_API_TOKEN=TOKEN, VONAGE_WHATSAPP_NUMBER="447700900000"
    )
    client = await aiohttp_client(create_app(settings, Quiet()))
    chat = Chat(client, provider, user=USER)
    with structlog.testing.capture_logs() as logs:
        assert await chat.notify("order_shipped") == []
    (warning,) = [line for line in logs if "no handler takes" in line["event"]]
    assert warning["name"] == "order_shipped"
    assert "@on.event" in warning["event"]


def test_the_event_kind_is_its_own() -> None:
    assert EventKind.NOTIFICATION.value == "notification"
