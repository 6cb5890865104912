"""Messages API v0.1 webhooks: nested ``to``/``from`` objects and ``message.content``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from botkit.errors import InvalidPayload, Problem
from botkit.events import (
    ButtonReply,
    Channel,
    DeliveryStatus,
    EventKind,
    Image,
    InboundTemplate,
    Location,
    ProviderError,
    Text,
    Unsupported,
    WebhookFormat,
)
from botkit.vonage.inbound.messages_v0 import parse_inbound, parse_status

NOW = datetime(2025, 2, 4, 12, 0, tzinfo=UTC)
"""When the webhooks of these tests are read."""

UUID = "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab"


def inbound(channel: str = "whatsapp", content: Any = None, **fields: Any) -> dict[str, Any]:
    payload = {
        "message_uuid": UUID,
        "timestamp": "2020-01-01T14:00:00.000Z",
        "to": {"type": channel, "number": "447700900000"},
        "from": {"type": channel, "number": "447700900001"},
        "message": {"content": content or {"type": "text", "text": "Hello"}},
    }
    return {key: value for key, value in {**payload, **fields}.items() if value is not None}


def sent_from(address: dict[str, str]) -> dict[str, Any]:
    """``from`` as a keyword (a Python keyword cannot be written as one)."""
    return {"from": address}


def status(channel: str = "sms", **fields: Any) -> dict[str, Any]:
    payload = {
        "message_uuid": UUID,
        "timestamp": "2020-01-01T14:00:00.000Z",
        "to": {"type": channel, "number": "447700900000"},
        "from": {"type": channel, "number": "447700900001"},
        "status": "delivered",
    }
    return {key: value for key, value in {**payload, **fields}.items() if value is not None}


def problems(payload: Any, parse: Any = parse_inbound) -> list[Problem]:
    with pytest.raises(InvalidPayload) as caught:
        parse(payload, now=NOW)
    return caught.value.problems


# --- inbound -----------------------------------------------------------------------------------


def test_a_whatsapp_text_becomes_a_message_event() -> None:
    payload = inbound(profile={"name": "Jane"})

    event = parse_inbound(payload, now=NOW)

    assert event.kind is EventKind.MESSAGE
    assert event.format is WebhookFormat.V0_1
    assert event.channel is Channel.WHATSAPP
    assert (event.user, event.bot) == ("447700900001", "447700900000")
    assert event.message_id == UUID
    assert event.content == Text(text="Hello")
    assert event.profile_name == "Jane"
    assert event.raw == payload


def test_an_inbound_sms_carries_its_parts_and_price() -> None:
    payload = inbound(
        "sms",
        message={"content": {"type": "text", "text": "Hi"}, "sms": {"num_messages": "2"}},
        usage={"currency": "EUR", "price": "0.0333"},
    )

    event = parse_inbound(payload, now=NOW)

    assert event.channel is Channel.SMS
    assert event.sms is not None
    assert event.sms.num_messages == 2
    assert event.usage is not None
    assert (event.usage.price, event.usage.currency) == ("0.0333", "EUR")


@pytest.mark.parametrize(
    "location",
    [
        # 0.5.0: strings named latitude/longitude.
        {"latitude": "37.758056", "longitude": "-122.425332", "name": "HQ"},
        # 0.3.9: numbers named lat/long.
        {"lat": 37.758056, "long": -122.425332, "name": "HQ"},
    ],
)
def test_a_whatsapp_location_in_either_shape(location: dict[str, Any]) -> None:
    event = parse_inbound(inbound(content={"type": "location", "location": location}), now=NOW)

    assert event.content == Location(lat=37.758056, long=-122.425332, name="HQ")


def test_a_location_with_a_latitude_out_of_range_is_invalid() -> None:
    content = {"type": "location", "location": {"latitude": "137.1", "longitude": "0"}}

    assert problems(inbound(content=content)) == [
        Problem("message.content.location.latitude", "a latitude: a number from -90 to 90")
    ]


def test_messenger_uses_ids_on_both_sides() -> None:
    payload = inbound(
        "messenger",
        to={"type": "messenger", "id": "107083064136738"},
        **{"from": {"type": "messenger", "id": "3214567890123456"}},
        content={"type": "image", "image": {"url": "https://x/i.jpg"}},
    )

    event = parse_inbound(payload, now=NOW)

    assert (event.user, event.bot) == ("3214567890123456", "107083064136738")
    assert event.content == Image(url="https://x/i.jpg")


def test_viber_is_viber_service_msg_with_the_bot_as_a_service_id() -> None:
    payload = inbound(
        "viber_service_msg",
        to={"type": "viber_service_msg", "id": "654321"},
    )

    event = parse_inbound(payload, now=NOW)

    assert event.channel is Channel.VIBER
    assert (event.user, event.bot) == ("447700900001", "654321")


def test_an_mms_arrives_at_a_short_code() -> None:
    payload = inbound(
        "mms",
        to={"type": "mms", "number": "12345"},
        content={"type": "image", "image": {"url": "https://x/i.jpg", "caption": "cat"}},
    )

    assert parse_inbound(payload, now=NOW).bot == "12345"


def test_a_template_quick_reply_button_is_a_button_reply() -> None:
    # Documented for v0.1 WhatsApp in the provider's guides, not in the 0.5.0 spec.
    content = {"type": "button", "button": {"payload": "opt-in", "text": "Yes"}}

    event = parse_inbound(inbound(content=content), now=NOW)

    assert event.content == ButtonReply(id="opt-in", title="Yes", source="button")


def test_template_parameters_in_either_shape() -> None:
    content = {
        "type": "template",
        "template": {"name": "ns:verify", "parameters": ["a", {"default": "b"}]},
    }

    event = parse_inbound(inbound(content=content), now=NOW)

    assert event.content == InboundTemplate(name="ns:verify", parameters=("a", "b"))


def test_an_unknown_content_type_is_unsupported_with_its_content() -> None:
    content = {"type": "ephemeral", "ephemeral": {"x": 1}}

    event = parse_inbound(inbound(content=content), now=NOW)

    assert event.content == Unsupported(declared_type="ephemeral", raw=content)


def test_a_known_content_type_without_its_content_is_invalid() -> None:
    assert [p.field for p in problems(inbound(content={"type": "image"}))] == [
        "message.content.image"
    ]
    assert [p.field for p in problems(inbound(content={"type": "text"}))] == [
        "message.content.text"
    ]


def test_a_missing_number_is_named_by_its_path() -> None:
    payload = inbound(to={"type": "whatsapp"})

    assert problems(payload) == [
        Problem("to.number", "a number: 3-15 digits (E.164 without + or 00, or a short code)")
    ]


def test_a_bad_number_and_a_bad_channel_are_named_by_their_paths() -> None:
    assert [
        p.field for p in problems(inbound(**sent_from({"type": "whatsapp", "number": "07"})))
    ] == ["from.number"]
    assert problems(inbound(to={"type": "telegram", "number": "447700900000"})) == [
        Problem("to.type", "one of: sms, mms, whatsapp, messenger, viber_service_msg")
    ]


def test_to_and_from_must_be_on_the_same_channel() -> None:
    payload = inbound(**sent_from({"type": "sms", "number": "447700900001"}))

    assert problems(payload) == [Problem("from.type", "the channel of to.type (whatsapp)")]


def test_the_nested_message_must_be_an_object() -> None:
    assert [p.field for p in problems(inbound(message="hi"))] == ["message"]
    assert [p.field for p in problems(inbound(message={"content": {"text": "x"}}))] == [
        "message.content.type"
    ]


# --- status ------------------------------------------------------------------------------------


def test_a_status_with_an_error_code_and_reason() -> None:
    payload = status(
        status="rejected",
        error={"code": 1300, "reason": "Not part of the provider network"},
        usage={"currency": "EUR", "price": "0.0333"},
        client_ref="my-ref",
    )

    event = parse_status(payload, now=NOW)

    assert event.kind is EventKind.STATUS
    assert event.format is WebhookFormat.V0_1
    assert (event.user, event.bot) == ("447700900000", "447700900001")
    assert event.status is not None
    assert event.status.status is DeliveryStatus.REJECTED
    assert event.status.error == ProviderError(code=1300, title="Not part of the provider network")
    assert event.client_ref == "my-ref"


def test_a_status_error_code_may_be_a_string() -> None:
    event = parse_status(status(error={"code": "1300"}), now=NOW)

    assert event.status is not None
    assert event.status.error == ProviderError(code=1300, title="1300")


def test_an_sms_status_may_come_from_an_alphanumeric_sender() -> None:
    payload = status(**sent_from({"type": "sms", "number": "AcmeInc"}))

    assert parse_status(payload, now=NOW).bot == "AcmeInc"


def test_a_messenger_status_reads_ids() -> None:
    payload = status(
        "messenger",
        to={"type": "messenger", "id": "0123456789012345"},
        **{"from": {"type": "messenger", "id": "987654321"}},
    )

    event = parse_status(payload, now=NOW)

    assert (event.channel, event.user, event.bot) == (
        Channel.MESSENGER,
        "0123456789012345",
        "987654321",
    )


def test_a_status_problem_names_the_webhook() -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_status(status(status="seen"), now=NOW)

    assert caught.value.format_name == "v0.1 message status"
    assert caught.value.problems == [
        Problem("status", "one of: submitted, delivered, read, rejected, undeliverable")
    ]
