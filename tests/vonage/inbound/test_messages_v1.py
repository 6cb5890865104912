"""Messages API v1 webhooks, including the fields only the provider's SDKs document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from botkit.errors import InvalidPayload, Problem
from botkit.events import (
    ButtonReply,
    Channel,
    Contact,
    DeliveryStatus,
    EventKind,
    File,
    Image,
    Location,
    MultiPart,
    Order,
    OrderItem,
    Reaction,
    ReplyContext,
    Sticker,
    Text,
    Unsupported,
    Video,
    WebhookFormat,
)
from botkit.vonage.inbound.messages_v1 import parse_inbound, parse_status

NOW = datetime(2025, 2, 4, 12, 0, tzinfo=UTC)
"""When the webhooks of these tests are read."""

UUID = "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab"


def inbound(**fields: Any) -> dict[str, Any]:
    payload = {
        "channel": "whatsapp",
        "message_uuid": UUID,
        "to": "447700900000",
        "from": "447700900001",
        "timestamp": "2025-02-03T12:14:25Z",
        "message_type": "text",
        "text": "Hello",
    }
    return {key: value for key, value in {**payload, **fields}.items() if value is not None}


def status(**fields: Any) -> dict[str, Any]:
    payload = {
        "channel": "sms",
        "message_uuid": UUID,
        "to": "447700900000",
        "from": "447700900001",
        "timestamp": "2025-02-03T12:14:25Z",
        "status": "delivered",
    }
    return {key: value for key, value in {**payload, **fields}.items() if value is not None}


def problems(payload: dict[str, Any], parse: Any = parse_inbound) -> list[Problem]:
    with pytest.raises(InvalidPayload) as caught:
        parse(payload, now=NOW)
    return caught.value.problems


def fields(payload: dict[str, Any], parse: Any = parse_inbound) -> list[str]:
    return [problem.field for problem in problems(payload, parse)]


# --- inbound: the envelope ---------------------------------------------------------------------


def test_a_whatsapp_text_becomes_a_message_event() -> None:
    payload = inbound(client_ref="order-7")

    event = parse_inbound(payload, now=NOW)

    assert event.kind is EventKind.MESSAGE
    assert event.format is WebhookFormat.V1
    assert event.channel is Channel.WHATSAPP
    assert (event.user, event.bot) == ("447700900001", "447700900000")
    assert event.message_id == UUID
    assert event.timestamp == datetime(2025, 2, 3, 12, 14, 25, tzinfo=UTC)
    assert event.content == Text(text="Hello")
    assert event.client_ref == "order-7"
    assert event.raw == payload


def test_viber_service_is_viber_with_a_service_id_as_the_bot() -> None:
    event = parse_inbound(
        inbound(channel="viber_service", to="654321", context={"message_uuid": "x"}), now=NOW
    )

    assert event.channel is Channel.VIBER
    assert event.bot == "654321"
    assert event.context == ReplyContext(message_id="x")


def test_messenger_addresses_are_ids_of_up_to_50_characters() -> None:
    event = parse_inbound(
        inbound(channel="messenger", to="1", **{"from": "107083064136738000"}), now=NOW
    )
    assert (event.user, event.bot) == ("107083064136738000", "1")

    assert problems(inbound(channel="messenger", to="x" * 51)) == [
        Problem("to", "an id: 1-50 characters without spaces")
    ]


def test_an_sms_without_message_type_is_text_with_its_metadata() -> None:
    event = parse_inbound(
        inbound(
            channel="sms",
            message_type=None,
            text="STOP now",
            sms={"num_messages": "2", "keyword": "STOP"},
            usage={"currency": "EUR", "price": "0.0333"},
        ),
        now=NOW,
    )

    assert event.content == Text(text="STOP now")
    assert event.sms is not None
    assert (event.sms.keyword, event.sms.num_messages) == ("STOP", 2)
    assert event.usage is not None
    assert (event.usage.price, event.usage.currency) == ("0.0333", "EUR")


def test_sms_total_count_stands_in_for_num_messages() -> None:
    # SDK only (.NET fixture): sms.total_count, origin.network_code.
    payload = inbound(
        channel="sms",
        message_type=None,
        sms={"total_count": "3", "keyword": "HELLO"},
        origin={"network_code": "12345"},
    )

    event = parse_inbound(payload, now=NOW)

    assert event.sms is not None
    assert event.sms.num_messages == 3
    assert event.raw["origin"] == {"network_code": "12345"}


def test_the_bot_may_be_a_short_code_but_the_user_is_a_full_number() -> None:
    assert parse_inbound(inbound(channel="sms", to="12345"), now=NOW).bot == "12345"

    assert fields(inbound(channel="sms", **{"from": "123456"})) == ["from"]
    assert fields(inbound(channel="sms", **{"from": "+447700900001"})) == ["from"]


def test_whatsapp_profile_and_quoted_context() -> None:
    payload = inbound(
        profile={"name": "Jane Smith"},
        context={
            "message_uuid": "bbbbbbbb-bbbb-cccc-dddd-0123456789ab",
            "message_from": "447700900000",
            "whatsapp_referred_product": {"catalog_id": "1267", "product_retailer_id": "r07"},
        },
    )

    event = parse_inbound(payload, now=NOW)

    assert event.profile_name == "Jane Smith"
    assert event.context == ReplyContext(
        message_id="bbbbbbbb-bbbb-cccc-dddd-0123456789ab",
        message_from="447700900000",
        referred_product={"catalog_id": "1267", "product_retailer_id": "r07"},
    )


def test_sdk_only_whatsapp_fields_parse_and_stay_in_raw() -> None:
    # SDK only (Java/.NET): profile.username, context_status, whatsapp.referral,
    # whatsapp.whatsapp_referred_product, whatsapp.sender, _self.
    payload = inbound(
        profile={"name": "Jane", "username": "@jane"},
        context_status="available",
        whatsapp={
            "referral": {"body": "Ad", "headline": "Sale", "source_type": "ad", "ctwa_clid": "c1"},
            "whatsapp_referred_product": {"catalog_id": "9", "product_retailer_id": "p9"},
            "sender": {"user_id": "US.13491208655302741918", "wa_id": "447700900001"},
        },
        _self={"href": "https://api-eu.vonage.com/v1/messages/x"},
    )

    event = parse_inbound(payload, now=NOW)

    assert event.profile_name == "Jane"
    assert event.context == ReplyContext(
        referred_product={"catalog_id": "9", "product_retailer_id": "p9"}
    )
    assert event.raw["whatsapp"]["referral"]["ctwa_clid"] == "c1"
    assert event.raw["context_status"] == "available"


def test_a_business_scoped_whatsapp_user_id_is_a_valid_sender() -> None:
    # SDK only (Java InboundMessage notes): `from` may be a BSUID rather than E.164.
    event = parse_inbound(inbound(**{"from": "US.13491208655302741918"}), now=NOW)

    assert event.user == "US.13491208655302741918"


# --- inbound: content --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message_type", "part", "content"),
    [
        (
            "image",
            {"url": "https://x/i.jpg", "caption": "cat"},
            Image(url="https://x/i.jpg", caption="cat"),
        ),
        (
            "video",
            {"url": "https://x/v.mp4", "thumb_url": "https://x/t.jpg"},
            Video(url="https://x/v.mp4", thumb_url="https://x/t.jpg"),
        ),
        (
            "file",
            {"url": "https://x/f.pdf", "name": "f.pdf"},
            File(url="https://x/f.pdf", name="f.pdf"),
        ),
        (
            "location",
            {"lat": 40.34772, "long": -74.18847, "name": "Vonage", "url": "https://maps/x"},
            Location(lat=40.34772, long=-74.18847, name="Vonage", url="https://maps/x"),
        ),
        (
            "reply",
            {"id": "row1", "title": "9am", "description": "Morning"},
            ButtonReply(id="row1", title="9am", description="Morning", source="reply"),
        ),
        (
            "order",
            {
                "catalog_id": "2806",
                "product_items": [
                    {
                        "product_retailer_id": "pk1",
                        "quantity": "2",
                        "item_price": "9.99",
                        "currency": "USD",
                    }
                ],
            },
            Order(
                catalog_id="2806",
                items=(
                    OrderItem(
                        product_retailer_id="pk1", quantity=2, item_price=9.99, currency="USD"
                    ),
                ),
            ),
        ),
        # SDK only: sticker {url} or {id}, reaction {action, emoji}, button {payload, text}.
        (
            "sticker",
            {"url": "https://x/s.webp"},
            Sticker(url="https://x/s.webp"),
        ),
        ("sticker", {"id": "st-1"}, Sticker(id="st-1")),
        ("reaction", {"action": "react", "emoji": "👍"}, Reaction(action="react", emoji="👍")),
        ("reaction", {"action": "unreact"}, Reaction(action="unreact")),
        (
            "button",
            {"payload": "yes-please", "text": "Yes"},
            ButtonReply(id="yes-please", title="Yes", source="button"),
        ),
        (
            "button",
            {"text": "Open", "subtype": "flow"},
            ButtonReply(id="Open", title="Open", source="button"),
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_content_of_each_type(message_type: str, part: dict[str, Any], content: Any) -> None:
    event = parse_inbound(
        inbound(message_type=message_type, text=None, **{message_type: part}), now=NOW
    )

    assert event.content == content


def test_an_mms_vcard_is_a_contact() -> None:
    payload = inbound(channel="mms", message_type="vcard", vcard={"url": "https://x/c.vcf"})

    assert parse_inbound(payload, now=NOW).content == Contact(url="https://x/c.vcf")


def test_a_multi_part_mms_keeps_the_parts_botkit_knows() -> None:
    # SDK only (.NET/Java/Kotlin fixtures): MMS `content` array of {type, url, caption?}.
    parts = [
        {"type": "image", "url": "https://x/a.jpg", "caption": "front"},
        {"type": "video", "url": "https://x/b.mp4"},
        {"type": "text", "text": "see both"},
        {"type": "hologram", "url": "https://x/c.holo"},
    ]
    payload = inbound(channel="mms", message_type="content", text=None, content=parts)

    event = parse_inbound(payload, now=NOW)

    assert event.content == MultiPart(
        parts=(
            Image(url="https://x/a.jpg", caption="front"),
            Video(url="https://x/b.mp4"),
            Text(text="see both"),
        )
    )
    assert event.raw["content"][3]["type"] == "hologram"


def test_a_multi_part_mms_of_unknown_parts_is_unsupported() -> None:
    parts = [{"type": "hologram", "url": "https://x/c.holo"}]
    payload = inbound(channel="mms", message_type="content", text=None, content=parts)

    assert parse_inbound(payload, now=NOW).content == Unsupported(
        declared_type="content", raw={"content": parts}
    )


def test_an_unknown_message_type_is_unsupported_not_an_error() -> None:
    event = parse_inbound(inbound(message_type="ephemeral", text=None, ephemeral={"a": 1}), now=NOW)
    assert event.content == Unsupported(declared_type="ephemeral", raw={"ephemeral": {"a": 1}})

    event = parse_inbound(inbound(message_type="unsupported", text=None), now=NOW)
    assert event.content == Unsupported(declared_type="unsupported")


def test_a_known_type_without_its_content_is_invalid() -> None:
    assert fields(inbound(message_type="image", text=None)) == ["image"]
    assert fields(inbound(message_type="image", text=None, image={"caption": "x"})) == ["image.url"]
    assert fields(inbound(message_type="text", text=None)) == ["text"]
    assert fields(inbound(message_type="text", text=["a"])) == ["text"]


@pytest.mark.parametrize(
    ("location", "field"),
    [
        ({"lat": 90.5, "long": 0}, "location.lat"),
        ({"lat": -90.01, "long": 0}, "location.lat"),
        ({"lat": 0, "long": 180.5}, "location.long"),
        ({"lat": "north", "long": 0}, "location.lat"),
        ({"lat": True, "long": 0}, "location.lat"),
        ({"long": 0}, "location.lat"),
    ],
)
def test_absurd_coordinates_are_invalid(location: dict[str, Any], field: str) -> None:
    payload = inbound(message_type="location", text=None, location=location)

    assert fields(payload) == [field]


def test_the_edges_of_the_coordinate_ranges_are_valid() -> None:
    payload = inbound(message_type="location", text=None, location={"lat": -90, "long": 180})

    assert parse_inbound(payload, now=NOW).content == Location(lat=-90, long=180)


# --- inbound: absurd envelopes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2025-02-03T12:14:25Z", datetime(2025, 2, 3, 12, 14, 25, tzinfo=UTC)),
        ("2025-02-03T12:14:25.123Z", datetime(2025, 2, 3, 12, 14, 25, 123000, tzinfo=UTC)),
        ("2025-02-03T14:14:25+02:00", datetime(2025, 2, 3, 12, 14, 25, tzinfo=UTC)),
        ("2025-02-03T12:14:25", datetime(2025, 2, 3, 12, 14, 25, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(timestamp: str, expected: datetime) -> None:
    event = parse_inbound(inbound(timestamp=timestamp), now=NOW)

    assert event.timestamp == expected
    assert event.timestamp.utcoffset() == timedelta(0)


def test_a_timestamp_within_a_day_ahead_is_accepted_for_clock_skew() -> None:
    soon = (NOW + timedelta(hours=2)).isoformat()

    assert parse_inbound(inbound(timestamp=soon), now=NOW).timestamp.year >= 2025


@pytest.mark.parametrize(
    "timestamp",
    [
        "yesterday",
        "1999-12-31T23:59:59Z",
        (NOW + timedelta(days=2)).isoformat(),
        1738584865,
        "",
    ],
)
def test_unparseable_or_absurd_timestamps_are_invalid(timestamp: Any) -> None:
    [problem] = problems(inbound(timestamp=timestamp))

    assert problem.field == "timestamp"
    assert "ISO 8601" in problem.expected


def test_timestamps_are_judged_by_the_time_the_webhook_was_read() -> None:
    payload = inbound(timestamp=(NOW + timedelta(days=2)).isoformat())

    with pytest.raises(InvalidPayload):
        parse_inbound(payload, now=NOW)
    assert parse_inbound(payload, now=NOW + timedelta(days=1, hours=1)).timestamp > NOW


@pytest.mark.parametrize("message_uuid", ["", "   ", "x" * 201, 42])
def test_absurd_message_ids_are_invalid(message_uuid: Any) -> None:
    assert fields(inbound(message_uuid=message_uuid)) == ["message_uuid"]


def test_a_message_id_of_200_characters_is_valid() -> None:
    assert parse_inbound(inbound(message_uuid="x" * 200), now=NOW).message_id == "x" * 200


def test_every_problem_is_reported_at_once_in_words() -> None:
    payload = inbound(channel="telegram", message_uuid=None, to=447700900000)

    assert problems(payload) == [
        Problem("channel", "one of: sms, mms, whatsapp, messenger, viber_service"),
        Problem("message_uuid", "a value (the field is required)"),
        Problem("to", "a string"),
    ]


def test_the_error_names_the_webhook() -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_inbound(inbound(channel=None), now=NOW)

    assert caught.value.format_name == "v1 inbound message"


@pytest.mark.parametrize("payload", [None, [], "text", 3, {1: "x"}])
def test_anything_but_an_object_is_invalid(payload: Any) -> None:
    assert fields(payload) == ["body"]


# --- status ------------------------------------------------------------------------------------


def test_a_status_reports_on_the_bots_message() -> None:
    payload = status(client_ref="order-7", usage={"currency": "EUR", "price": "0.0333"})

    event = parse_status(payload, now=NOW)

    assert event.kind is EventKind.STATUS
    assert (event.user, event.bot) == ("447700900000", "447700900001")
    assert event.status is not None
    assert (event.status.status, event.status.original) == (DeliveryStatus.DELIVERED, "delivered")
    assert event.status.error is None
    assert event.client_ref == "order-7"
    assert event.usage is not None
    assert event.usage.price == "0.0333"


@pytest.mark.parametrize(
    ("title", "code"),
    [("1340", 1340), (1340, 1340), ("Throttled", None)],
)
def test_the_error_code_is_read_from_the_title(title: Any, code: int | None) -> None:
    error = {
        "type": "https://developer.vonage.com/api-errors/messages#1340",
        "title": title,
        "detail": "Outside of the allowed window",
        "instance": "bf0ca0bf927b3b52e3cb03217e1a1ddf",
    }

    event = parse_status(status(status="rejected", error=error), now=NOW)

    assert event.status is not None
    assert event.status.error is not None
    assert event.status.error.code == code
    assert event.status.error.title == str(title)
    assert event.status.error.detail == "Outside of the allowed window"
    assert event.status.error.type == error["type"]


def test_an_sms_status_may_come_from_an_alphanumeric_sender() -> None:
    assert parse_status(status(**{"from": "AcmeInc"}), now=NOW).bot == "AcmeInc"

    assert fields(status(to="AcmeInc"), parse_status) == ["to"]


def test_an_unknown_status_is_invalid_and_the_error_lists_the_known_ones() -> None:
    assert problems(status(status="seen"), parse_status) == [
        Problem("status", "one of: submitted, delivered, read, rejected, undeliverable")
    ]


def test_a_failover_workflow_is_named_whichever_key_the_sdk_uses() -> None:
    # SDK only: `workflow`; .NET sends {workflow_id, items_number, items_total},
    # Java {id, item_number, total_items}.
    dotnet = {"workflow_id": "3TcNjgu", "items_number": "1", "items_total": "2"}
    java = {"id": "3TcNjgu", "item_number": "1", "total_items": "2"}

    for workflow in (dotnet, java):
        event = parse_status(status(workflow=workflow), now=NOW)
        assert event.workflow is not None
        assert event.workflow.workflow_id == "3TcNjgu"


def test_sdk_only_status_extras_are_kept_in_raw() -> None:
    # SDK only: whatsapp.pricing, sms.count_total, destination.network_code.
    payload = status(
        channel="whatsapp",
        status="read",
        whatsapp={
            "pricing": {"type": "regular", "pricing_model": "CBP", "category": "service"},
            "conversation": {"id": "1234567890", "origin": {"type": "service"}},
        },
        sms={"count_total": "2"},
        destination={"network_code": "12345"},
    )

    event = parse_status(payload, now=NOW)

    assert event.status is not None
    assert event.status.status is DeliveryStatus.READ
    assert event.raw["whatsapp"]["pricing"]["pricing_model"] == "CBP"


def test_a_messenger_status_addresses_page_and_user_ids() -> None:
    event = parse_status(
        status(channel="messenger", to="1234567890123456", **{"from": "9876"}), now=NOW
    )

    assert (event.channel, event.user, event.bot) == (Channel.MESSENGER, "1234567890123456", "9876")
