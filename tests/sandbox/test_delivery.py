"""Accepted sends: signed status webhooks in order, in the configured version, and the channel
rules the provider applies after accepting (WhatsApp's window, Messenger's unknown users)."""

from __future__ import annotations

from typing import Any

import pytest

from botkit.events import Channel, DeliveryStatus, EventKind, WebhookFormat
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
    Received,
    application_jwt,
    assert_matches_webhook_schema,
)

IMAGE = {"url": "https://example.com/cat.jpg"}

# channel, botkit channel, recipient, sender, message_type, content
SENDS: list[tuple[str, Channel, str, str, str, Any]] = [
    ("sms", Channel.SMS, WA_USER, WA_BOT, "text", "hello"),
    ("mms", Channel.MMS, US_USER, MMS_BOT, "image", IMAGE),
    ("whatsapp", Channel.WHATSAPP, WA_USER, WA_BOT, "text", "hello"),
    ("whatsapp", Channel.WHATSAPP, WA_USER, WA_BOT, "image", {**IMAGE, "caption": "cat"}),
    ("whatsapp", Channel.WHATSAPP, WA_USER, WA_BOT, "location", {"lat": 51.5, "long": -0.1}),
    ("whatsapp", Channel.WHATSAPP, WA_USER, WA_BOT, "file", {"url": "https://e.com/a.pdf"}),
    ("messenger", Channel.MESSENGER, PSID, PAGE, "text", "hello"),
    ("messenger", Channel.MESSENGER, PSID, PAGE, "image", IMAGE),
    ("viber_service", Channel.VIBER, WA_USER, VIBER_SERVICE, "text", "hello"),
    ("viber_service", Channel.VIBER, WA_USER, VIBER_SERVICE, "image", IMAGE),
]

READS = {Channel.WHATSAPP, Channel.MESSENGER, Channel.VIBER}
SANDBOX_CHANNEL = {
    Channel.SMS: "sms",
    Channel.MMS: "mms",
    Channel.WHATSAPP: "whatsapp",
    Channel.MESSENGER: "messenger",
    Channel.VIBER: "viber",
}


async def open_window(harness: Harness, channel: Channel, user: str) -> None:
    """The user writes first, so free-form messages are allowed."""
    if channel in (Channel.WHATSAPP, Channel.MESSENGER):
        await harness.user_says(SANDBOX_CHANNEL[channel], user, {"text": "hi"})


def check_status(received: Received, version: str, channel: Channel, user: str, bot: str) -> Any:
    claims = received.verified()
    assert claims["iss"] == "Vonage"
    assert claims["api_key"] == "abcd1234"
    assert claims["application_id"] == APPLICATION_ID
    event = received.event()
    assert event.kind is EventKind.STATUS
    assert event.format is (WebhookFormat.V1 if version == "v1" else WebhookFormat.V0_1)
    assert (event.channel, event.user, event.bot) == (channel, user, bot)
    assert_matches_webhook_schema(
        "messages-v1" if version == "v1" else "messages-v0.1", "status", received.json
    )
    return event


@pytest.mark.parametrize("version", ["v1", "v0.1"])
@pytest.mark.parametrize(
    ("wire", "channel", "to", "sender", "message_type", "content"),
    SENDS,
    ids=[f"{s[0]}-{s[4]}" for s in SENDS],
)
async def test_a_valid_send_gets_signed_statuses_in_order(
    make_sandbox: MakeSandbox,
    version: str,
    wire: str,
    channel: Channel,
    to: str,
    sender: str,
    message_type: str,
    content: Any,
) -> None:
    harness = await make_sandbox(webhook_version=version)
    await open_window(harness, channel, to)
    body = {"channel": wire, "message_type": message_type, "to": to, "from": sender}

    message_uuid = await harness.accepted({**body, message_type: content, "client_ref": "order-42"})

    expected = ["submitted", "delivered", *(["read"] if channel in READS else [])]
    received = await harness.statuses(message_uuid, len(expected))
    events = [check_status(r, version, channel, to, sender) for r in received]
    assert [e.status.original for e in events] == expected
    assert {e.message_id for e in events} == {message_uuid}
    assert {e.client_ref for e in events} == {"order-42"}


async def test_v0_sends_get_statuses_too(harness: Harness) -> None:
    message_uuid = await harness.accepted(
        {
            "to": {"type": "sms", "number": WA_USER},
            "from": {"type": "sms", "number": "AcmeInc"},
            "message": {"content": {"type": "text", "text": "hello"}},
        },
        api="v0.1",
    )

    received = await harness.statuses(message_uuid, 2)

    assert [r.json["status"] for r in received] == ["submitted", "delivered"]
    assert received[0].event().bot == "AcmeInc"


async def test_sms_and_mms_never_report_read(harness: Harness) -> None:
    message_uuid = await harness.accepted(
        {"channel": "sms", "message_type": "text", "to": WA_USER, "from": WA_BOT, "text": "x"}
    )
    await harness.statuses(message_uuid, 2)

    assert await harness.client.post(f"/_sandbox/users/sms/{WA_USER}/read")
    await harness.sandbox.settle()

    statuses = [r.json["status"] for r in harness.bot.at("/webhooks/status")]
    assert statuses == ["submitted", "delivered"]


async def test_without_auto_read_the_user_reads_when_told(make_sandbox: MakeSandbox) -> None:
    harness = await make_sandbox(auto_read=False)
    await open_window(harness, Channel.WHATSAPP, WA_USER)
    message_uuid = await harness.accepted(
        {"channel": "whatsapp", "message_type": "text", "to": WA_USER, "from": WA_BOT, "text": "x"}
    )
    await harness.statuses(message_uuid, 2)

    response = await harness.client.post(f"/_sandbox/users/whatsapp/{WA_USER}/read")

    assert (await response.json())["read"] == [message_uuid]
    received = await harness.statuses(message_uuid, 3)
    assert [r.json["status"] for r in received] == ["submitted", "delivered", "read"]


async def test_a_per_message_webhook_url_and_version_win(harness: Harness) -> None:
    await open_window(harness, Channel.WHATSAPP, WA_USER)
    own = harness.bot.url("/webhooks/own-status")

    await harness.accepted(
        {
            "channel": "whatsapp",
            "message_type": "text",
            "to": WA_USER,
            "from": WA_BOT,
            "text": "x",
            "webhook_url": own,
            "webhook_version": "v0.1",
        }
    )

    received = await harness.bot.wait_for("/webhooks/own-status", 3)
    assert all(r.event().format is WebhookFormat.V0_1 for r in received)
    assert harness.bot.at("/webhooks/status") == []


async def test_a_jwt_send_reports_to_its_application(harness: Harness, keys: Any) -> None:
    await open_window(harness, Channel.WHATSAPP, WA_USER)
    token = application_jwt(keys.private_pem)

    message_uuid = await harness.accepted(
        {"channel": "whatsapp", "message_type": "text", "to": WA_USER, "from": WA_BOT, "text": "x"},
        authorization=f"Bearer {token}",
    )

    received = await harness.statuses(message_uuid, 3)
    assert received[0].verified()["application_id"] == APPLICATION_ID


async def test_unsigned_when_there_is_no_signature_secret(make_sandbox: MakeSandbox) -> None:
    harness = await make_sandbox(signature_secret=None)
    message_uuid = await harness.accepted(
        {"channel": "sms", "message_type": "text", "to": WA_USER, "from": WA_BOT, "text": "x"}
    )

    received = await harness.statuses(message_uuid, 2)

    assert "Authorization" not in received[0].headers


async def test_whatsapp_delivered_carries_the_conversation(harness: Harness) -> None:
    await open_window(harness, Channel.WHATSAPP, WA_USER)
    message_uuid = await harness.accepted(
        {"channel": "whatsapp", "message_type": "text", "to": WA_USER, "from": WA_BOT, "text": "x"}
    )

    delivered = (await harness.statuses(message_uuid, 2))[1].json

    assert delivered["whatsapp"]["conversation"]["origin"]["type"] == "service"


# --- rules applied after acceptance --------------------------------------------------------------


def whatsapp(text: str = "hello") -> dict[str, Any]:
    return {
        "channel": "whatsapp",
        "message_type": "text",
        "to": WA_USER,
        "from": WA_BOT,
        "text": text,
    }


def assert_rejected(
    received: list[Received], code: int, title: str, version: str = "v1", *, parse: bool = True
) -> None:
    """One ``rejected`` status with error ``code``. ``parse`` False skips botkit's parser,
    which refuses timestamps more than a day ahead of the machine clock (after the sandbox
    clock moved)."""
    assert len(received) == 1
    received[0].verified()
    assert received[0].json["status"] == "rejected"
    if parse:
        event = received[0].event()
        assert event.status is not None
        assert event.status.status is DeliveryStatus.REJECTED
        assert event.status.error is not None
        assert event.status.error.code == code
    if version == "v1":
        assert received[0].json["error"]["title"] == str(code)
        assert title in received[0].json["error"]["detail"]
    else:
        assert received[0].json["error"] == {"code": code, "reason": title}


@pytest.mark.parametrize("version", ["v1", "v0.1"])
async def test_whatsapp_to_a_user_who_never_wrote_is_rejected_1340(
    make_sandbox: MakeSandbox, version: str
) -> None:
    harness = await make_sandbox(webhook_version=version)

    status, _, _ = await harness.send(whatsapp())
    message_uuid = (await harness.get(f"/_sandbox/conversations/whatsapp/{WA_USER}"))["messages"][
        0
    ]["message_uuid"]

    assert status == 202
    received = await harness.statuses(message_uuid, 1)
    await harness.sandbox.settle()
    assert_rejected(received, 1340, "Outside of the allowed window", version)


async def test_whatsapp_outside_the_window_after_the_clock_moves(harness: Harness) -> None:
    await open_window(harness, Channel.WHATSAPP, WA_USER)
    inside = await harness.accepted(whatsapp("inside"))
    await harness.statuses(inside, 3)

    response = await harness.client.post("/_sandbox/clock", json={"advance_seconds": 24 * 3600})
    assert response.status == 200
    outside = await harness.accepted(whatsapp("outside"))

    assert_rejected(
        await harness.statuses(outside, 1), 1340, "Outside of the allowed window", parse=False
    )
    log = await harness.get(f"/_sandbox/conversations/whatsapp/{WA_USER}")
    assert log["window"]["open"] is False
    assert [m["status"] for m in log["messages"] if m["direction"] == "outbound"] == [
        "read",
        "rejected",
    ]


async def test_a_whatsapp_template_is_allowed_outside_the_window(harness: Harness) -> None:
    message_uuid = await harness.accepted(
        {
            "channel": "whatsapp",
            "message_type": "template",
            "to": WA_USER,
            "from": WA_BOT,
            "template": {"name": "ns:welcome", "parameters": ["Ann"]},
            "whatsapp": {"policy": "deterministic", "locale": "en_GB"},
        }
    )

    received = await harness.statuses(message_uuid, 3)

    assert [r.json["status"] for r in received] == ["submitted", "delivered", "read"]


async def test_the_user_writing_again_reopens_the_window(harness: Harness) -> None:
    await open_window(harness, Channel.WHATSAPP, WA_USER)
    await harness.client.post("/_sandbox/clock", json={"advance_seconds": 90000})
    await harness.user_says("whatsapp", WA_USER, {"text": "back"})

    message_uuid = await harness.accepted(whatsapp())

    assert (await harness.statuses(message_uuid, 1))[0].json["status"] == "submitted"


async def test_messenger_to_an_unknown_user_is_rejected(harness: Harness) -> None:
    message_uuid = await harness.accepted(
        {"channel": "messenger", "message_type": "text", "to": PSID, "from": PAGE, "text": "hi"}
    )

    assert_rejected(
        await harness.statuses(message_uuid, 1), 1300, "Not part of the provider network"
    )


async def test_messenger_outside_the_window_needs_a_message_tag(harness: Harness) -> None:
    await harness.user_says("messenger", PSID, {"text": "hi"})
    await harness.client.post("/_sandbox/clock", json={"advance_seconds": 25 * 3600})
    base = {"channel": "messenger", "message_type": "text", "to": PSID, "from": PAGE, "text": "x"}

    plain = await harness.accepted(base)
    tagged = await harness.accepted(
        {**base, "messenger": {"category": "message_tag", "tag": "ACCOUNT_UPDATE"}}
    )

    assert_rejected(
        await harness.statuses(plain, 1), 1340, "Outside of the allowed window", parse=False
    )
    assert (await harness.statuses(tagged, 1))[0].json["status"] == "submitted"


async def test_the_clock_only_moves_forward(harness: Harness) -> None:
    before = await harness.get("/_sandbox/clock")

    backwards = await harness.client.post("/_sandbox/clock", json={"advance_seconds": -5})
    forwards = await harness.client.post("/_sandbox/clock", json={"advance_seconds": 3600})

    assert backwards.status == 400
    assert forwards.status == 200
    after = await forwards.json()
    assert after["offset_seconds"] == before["offset_seconds"] + 3600
    assert after["time"] >= before["time"] + 3600
