"""Simulated users: what they send becomes a signed inbound webhook that parses into the right
event, in the configured version, in the order they wrote."""

from __future__ import annotations

from typing import Any

import pytest

from botkit.events import (
    ButtonReply,
    Channel,
    EventKind,
    File,
    Image,
    Location,
    Text,
    WebhookFormat,
)
from tests.sandbox.conftest import MakeSandbox
from tests.sandbox.harness import (
    APPLICATION_ID,
    MMS_BOT,
    PAGE,
    PSID,
    US_USER,
    VIBER_SERVICE,
    WA_BOT,
    WA_USER,
    Harness,
    assert_matches_webhook_schema,
)

CASES: list[tuple[str, Channel, str, str, dict[str, Any], Any]] = [
    ("whatsapp", Channel.WHATSAPP, WA_USER, WA_BOT, {"text": "hi"}, Text(text="hi")),
    (
        "whatsapp",
        Channel.WHATSAPP,
        WA_USER,
        WA_BOT,
        {"reply": {"id": "yes", "title": "Yes please"}},
        ButtonReply(id="yes", title="Yes please"),
    ),
    (
        "whatsapp",
        Channel.WHATSAPP,
        WA_USER,
        WA_BOT,
        {"location": {"lat": 51.5, "long": -0.12, "name": "Office"}},
        Location(lat=51.5, long=-0.12, name="Office"),
    ),
    (
        "whatsapp",
        Channel.WHATSAPP,
        WA_USER,
        WA_BOT,
        {"image": {"url": "https://example.com/a.jpg", "caption": "me"}},
        Image(url="https://example.com/a.jpg", caption="me"),
    ),
    ("messenger", Channel.MESSENGER, PSID, PAGE, {"text": "hi"}, Text(text="hi")),
    (
        "messenger",
        Channel.MESSENGER,
        PSID,
        PAGE,
        {"file": {"url": "https://example.com/a.pdf"}},
        File(url="https://example.com/a.pdf"),
    ),
    ("viber", Channel.VIBER, WA_USER, VIBER_SERVICE, {"text": "hi"}, Text(text="hi")),
    ("sms", Channel.SMS, WA_USER, WA_BOT, {"text": "stop now"}, Text(text="stop now")),
    (
        "mms",
        Channel.MMS,
        US_USER,
        MMS_BOT,
        {"image": {"url": "https://example.com/a.jpg"}},
        Image(url="https://example.com/a.jpg"),
    ),
]

# The v0.1 spec predates interactive replies: it has no `reply` content type.
V0_SCHEMA_GAPS = {"reply"}


@pytest.mark.parametrize("version", ["v1", "v0.1"])
@pytest.mark.parametrize(
    ("path_channel", "channel", "user", "bot_address", "message", "content"),
    CASES,
    ids=[f"{c[0]}-{next(iter(c[4]))}" for c in CASES],
)
async def test_a_user_message_becomes_a_signed_inbound_webhook(
    make_sandbox: MakeSandbox,
    version: str,
    path_channel: str,
    channel: Channel,
    user: str,
    bot_address: str,
    message: dict[str, Any],
    content: Any,
) -> None:
    harness = await make_sandbox(webhook_version=version)

    logged = await harness.user_says(path_channel, user, message)

    received = (await harness.bot.wait_for("/webhooks/inbound", 1))[0]
    claims = received.verified()
    assert claims["application_id"] == APPLICATION_ID
    event = received.event()
    assert event.kind is EventKind.MESSAGE
    assert event.format is (WebhookFormat.V1 if version == "v1" else WebhookFormat.V0_1)
    assert (event.channel, event.user, event.bot) == (channel, user, bot_address)
    assert event.message_id == logged["message_uuid"]
    assert event.content == content
    if version == "v1":
        assert_matches_webhook_schema("messages-v1", "inbound", received.json)
    elif next(iter(message)) not in V0_SCHEMA_GAPS:
        assert_matches_webhook_schema("messages-v0.1", "inbound", received.json)


async def test_sms_inbound_carries_keyword_and_parts(harness: Harness) -> None:
    await harness.user_says("sms", WA_USER, {"text": "stop " + "x" * 200})

    received = (await harness.bot.wait_for("/webhooks/inbound", 1))[0]

    assert received.json["sms"] == {"num_messages": "2", "keyword": "STOP"}
    event = received.event()
    assert event.sms is not None
    assert event.sms.keyword == "STOP"


async def test_whatsapp_profile_and_context(harness: Harness) -> None:
    await harness.user_says(
        "whatsapp",
        WA_USER,
        {"text": "this one", "profile_name": "Ann", "context": "bot-message-uuid"},
    )

    event = (await harness.bot.wait_for("/webhooks/inbound", 1))[0].event()

    assert event.profile_name == "Ann"
    assert event.context is not None
    assert (event.context.message_id, event.context.message_from) == ("bot-message-uuid", WA_BOT)


async def test_a_template_button_press(harness: Harness) -> None:
    await harness.user_says("whatsapp", WA_USER, {"button": {"payload": "STOP", "text": "Stop"}})

    event = (await harness.bot.wait_for("/webhooks/inbound", 1))[0].event()

    assert isinstance(event.content, ButtonReply)
    assert event.content.id == "STOP"


async def test_inbound_webhooks_arrive_in_the_order_written(harness: Harness) -> None:
    for n in range(5):
        await harness.user_says("whatsapp", WA_USER, {"text": f"message {n}"})

    received = await harness.bot.wait_for("/webhooks/inbound", 5)

    assert [r.json["text"] for r in received] == [f"message {n}" for n in range(5)]


async def test_a_webhook_the_bot_refuses_is_retried(make_sandbox: MakeSandbox) -> None:
    harness = await make_sandbox(webhook_retry_delays=(0.0, 0.0))
    harness.bot.fail_next = [500, 503]

    await harness.user_says("whatsapp", WA_USER, {"text": "hi"})

    received = await harness.bot.wait_for("/webhooks/inbound", 3)
    assert len({r.json["message_uuid"] for r in received}) == 1
    assert len({r.headers["Authorization"] for r in received}) == 3
    await harness.sandbox.settle()
    log = await harness.get(f"/_sandbox/conversations/whatsapp/{WA_USER}")
    attempts = [e for e in log["events"] if e["kind"] == "webhook"]
    assert [(a["attempt"], a["response_status"]) for a in attempts] == [
        (1, 500),
        (2, 503),
        (3, 200),
    ]


@pytest.mark.parametrize(
    ("channel", "user", "message", "why"),
    [
        ("whatsapp", "+447700900001", {"text": "hi"}, "number"),
        ("whatsapp", WA_USER, {"text": "hi", "image": {"url": "u"}}, "exactly one"),
        ("whatsapp", WA_USER, {"text": ""}, "non-empty"),
        ("messenger", PSID, {"location": {"lat": 1, "long": 2}}, "cannot send location"),
        ("sms", WA_USER, {"reply": {"id": "a", "title": "A"}}, "cannot send reply"),
        ("whatsapp", WA_USER, {"location": {"lat": 100, "long": 2}}, "between"),
        ("telegram", WA_USER, {"text": "hi"}, "unknown channel"),
        ("whatsapp", WA_USER, {"txt": "hi"}, "unknown field"),
    ],
)
async def test_a_message_a_user_could_not_send_is_refused(
    harness: Harness, channel: str, user: str, message: dict[str, Any], why: str
) -> None:
    response = await harness.client.post(f"/_sandbox/users/{channel}/{user}/messages", json=message)

    assert response.status == 400
    assert why in (await response.json())["error"]
    assert harness.bot.received == []


async def test_without_an_inbound_url_the_message_is_logged_as_undelivered(
    make_sandbox: MakeSandbox,
) -> None:
    harness = await make_sandbox(inbound_url=None)

    await harness.user_says("whatsapp", WA_USER, {"text": "hi"})
    await harness.sandbox.settle()

    log = await harness.get(f"/_sandbox/conversations/whatsapp/{WA_USER}")
    webhook = next(e for e in log["events"] if e["kind"] == "webhook")
    assert webhook["error"] == "no inbound_url is set"
    assert log["window"]["open"] is True
