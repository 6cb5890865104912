"""Every webhook variant the provider's specs describe, synthesised from the spec files, parses
into the right event; every synthesised payload is valid against its own schema.

Expected values are read from each payload, so the tests follow the files rather than
restate them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from botkit.events import (
    Audio,
    ButtonReply,
    Channel,
    Contact,
    Event,
    EventKind,
    File,
    Image,
    Location,
    Order,
    Text,
    Unsupported,
    Video,
    WebhookFormat,
)
from botkit.vonage.inbound.detect import parse_messages_webhook
from botkit.vonage.openapi import SPEC_NAMES, load_spec, to_json_schema
from botkit.vonage.openapi.examples import SpecExample, webhook_examples, webhook_schemas

NOW = datetime(2025, 2, 4, 12, 0, tzinfo=UTC)
"""When the webhooks of these tests are read."""

MESSAGES_EXAMPLES = [
    example
    for name in ("messages-v1", "messages-v0.1", "dispatch")
    for example in webhook_examples(name)
]
ALL_EXAMPLES = [example for name in SPEC_NAMES for example in webhook_examples(name)]

WIRE_CHANNELS = {
    "sms": Channel.SMS,
    "mms": Channel.MMS,
    "whatsapp": Channel.WHATSAPP,
    "messenger": Channel.MESSENGER,
    "viber_service": Channel.VIBER,
    "viber_service_msg": Channel.VIBER,
}
FORMATS = {
    "messages-v1": WebhookFormat.V1,
    "messages-v0.1": WebhookFormat.V0_1,
    "dispatch": WebhookFormat.DISPATCH,
}
KINDS = {
    "inbound": EventKind.MESSAGE,
    "status": EventKind.STATUS,
    "final-report": EventKind.WORKFLOW,
}
MEDIA = {"image": Image, "audio": Audio, "video": Video, "file": File, "vcard": Contact}


def examples(webhook: str | None = None, spec: str | None = None) -> pytest.MarkDecorator:
    chosen = [
        example
        for example in MESSAGES_EXAMPLES
        if webhook in (None, example.webhook) and spec in (None, example.spec)
    ]
    return pytest.mark.parametrize("example", chosen, ids=[example.id for example in chosen])


def v0_address(address: dict[str, Any], channel: Channel, *, bot: bool) -> str:
    """The field the channel uses on that side: ids for Messenger and for Viber's bot."""
    uses_id = channel is Channel.MESSENGER or (channel is Channel.VIBER and bot)
    value: str = address["id"] if uses_id else address["number"]
    return value


def inbound_content(example: SpecExample) -> tuple[str, Any]:
    """The declared type of an inbound example and the payload part carrying its content."""
    payload = example.payload
    if example.spec == "messages-v1":
        kind = payload.get("message_type", "text")
        return kind, payload.get(kind)
    content = payload["message"]["content"]
    return content["type"], content.get(content["type"])


@examples()
def test_kind_format_id_time_and_raw_follow_the_payload(example: SpecExample) -> None:
    payload = example.payload

    event = parse_messages_webhook(payload, now=NOW)

    assert event.kind is KINDS[example.webhook]
    assert event.format is FORMATS[example.spec]
    assert event.message_id == payload.get("message_uuid", payload.get("dispatch_uuid"))
    assert event.timestamp == datetime.fromisoformat(payload["timestamp"])
    assert event.raw == payload


@examples(spec="messages-v1")
def test_v1_channel_and_addresses(example: SpecExample) -> None:
    payload = example.payload

    event = parse_messages_webhook(payload, now=NOW)

    assert event.channel is WIRE_CHANNELS[payload["channel"]]
    if example.webhook == "inbound":
        assert (event.user, event.bot) == (payload["from"], payload["to"])
    else:
        assert (event.user, event.bot) == (payload["to"], payload["from"])


@examples(spec="messages-v0.1")
def test_v0_channel_and_addresses(example: SpecExample) -> None:
    payload = example.payload
    channel = WIRE_CHANNELS[payload["to"]["type"]]
    user, bot = ("from", "to") if example.webhook == "inbound" else ("to", "from")

    event = parse_messages_webhook(payload, now=NOW)

    assert event.channel is channel
    assert event.user == v0_address(payload[user], channel, bot=False)
    assert event.bot == v0_address(payload[bot], channel, bot=True)


@examples(webhook="inbound")
def test_inbound_content_matches_the_payload(example: SpecExample) -> None:
    kind, part = inbound_content(example)

    content = parse_messages_webhook(example.payload, now=NOW).content

    if kind == "text":
        text = example.payload["text"] if example.spec == "messages-v1" else part
        assert content == Text(text=text)
    elif kind in MEDIA:
        assert isinstance(content, MEDIA[kind])
        assert getattr(content, "url") == part["url"]  # noqa: B009  (one of several types)
        assert getattr(content, "caption") == part.get("caption")  # noqa: B009
    elif kind == "location":
        assert isinstance(content, Location)
        assert content.lat == float(part.get("lat", part.get("latitude")))
        assert content.long == float(part.get("long", part.get("longitude")))
        assert (content.name, content.address) == (part.get("name"), part.get("address"))
    elif kind == "reply":
        assert content == ButtonReply(
            id=part["id"], title=part["title"], description=part["description"], source="reply"
        )
    elif kind == "order":
        assert isinstance(content, Order)
        assert content.catalog_id == part["catalog_id"]
        assert [
            (i.product_retailer_id, i.quantity, i.item_price, i.currency) for i in content.items
        ] == [
            (
                item["product_retailer_id"],
                int(item["quantity"]),
                float(item["item_price"]),
                item["currency"],
            )
            for item in part["product_items"]
        ]
    else:
        assert kind == "unsupported"
        assert isinstance(content, Unsupported)
        assert content.declared_type == kind


@examples(webhook="inbound", spec="messages-v1")
def test_v1_inbound_metadata_matches_the_payload(example: SpecExample) -> None:
    payload = example.payload

    event = parse_messages_webhook(payload, now=NOW)

    assert event.client_ref == payload.get("client_ref")
    assert event.profile_name == payload.get("profile", {}).get("name")
    context = payload.get("context")
    if context is None:
        assert event.context is None
    else:
        assert event.context is not None
        assert event.context.message_id == context["message_uuid"]
        assert event.context.message_from == context.get("message_from")
        assert event.context.referred_product == context.get("whatsapp_referred_product")
    if "sms" in payload:
        assert event.sms is not None
        assert event.sms.keyword == payload["sms"]["keyword"]
        assert event.sms.num_messages == int(payload["sms"]["num_messages"])
    if "usage" in payload:
        assert event.usage is not None
        assert event.usage.price == payload["usage"]["price"]
        assert event.usage.currency == payload["usage"]["currency"]


@examples(webhook="inbound", spec="messages-v0.1")
def test_v0_inbound_metadata_matches_the_payload(example: SpecExample) -> None:
    payload = example.payload

    event = parse_messages_webhook(payload, now=NOW)

    sms = payload["message"].get("sms")
    assert (event.sms.num_messages if event.sms else None) == (
        int(sms["num_messages"]) if sms else None
    )
    assert (event.usage.price if event.usage else None) == payload.get("usage", {}).get("price")


@examples(webhook="status")
def test_status_matches_the_payload(example: SpecExample) -> None:
    payload = example.payload

    event = parse_messages_webhook(payload, now=NOW)

    assert event.status is not None
    assert event.status.original == payload["status"]
    assert event.status.status.value == payload["status"]
    error = payload["error"]
    assert event.status.error is not None
    if example.spec == "messages-v1":
        assert event.status.error.code == int(error["title"])
        assert event.status.error.title == error["title"]
        assert event.status.error.detail == error["detail"]
        assert event.status.error.type == error["type"]
    else:
        assert event.status.error.code == error["code"]
        assert event.status.error.title == error["reason"]
    assert event.usage is not None
    assert (event.usage.price, event.usage.currency) == (
        payload["usage"]["price"],
        payload["usage"]["currency"],
    )
    assert event.client_ref == payload.get("client_ref")


@examples(webhook="status", spec="dispatch")
def test_dispatch_status_names_its_workflow(example: SpecExample) -> None:
    event = parse_messages_webhook(example.payload, now=NOW)

    assert event.workflow is not None
    assert event.workflow.workflow_id == example.payload["_links"]["workflow"]["dispatch_uuid"]


@examples(webhook="final-report")
def test_final_report_matches_the_payload(example: SpecExample) -> None:
    payload = example.payload
    linked = payload["_links"]["messages"]

    event: Event = parse_messages_webhook(payload, now=NOW)

    assert (event.user, event.bot) == (None, None)
    assert event.channel is WIRE_CHANNELS[linked[-1]["channel"]]
    assert event.workflow is not None
    assert event.workflow.workflow_id == payload["dispatch_uuid"]
    assert event.workflow.outcome == payload["status"]
    assert [(m.message_id, m.status) for m in event.workflow.messages] == [
        (m["message_uuid"], m["status"]) for m in linked
    ]
    assert event.usage is not None
    assert event.usage.price == payload["usage"]["price"]


@pytest.mark.parametrize("example", ALL_EXAMPLES, ids=[example.id for example in ALL_EXAMPLES])
def test_every_synthesised_payload_is_valid_against_its_own_schema(example: SpecExample) -> None:
    spec = load_spec(example.spec)
    schema = to_json_schema(spec, webhook_schemas(example.spec)[example.webhook])

    errors = [
        f"{'.'.join(map(str, error.absolute_path)) or 'body'}: {error.message}"
        for error in jsonschema.Draft202012Validator(schema).iter_errors(example.payload)
    ]

    assert errors == []


def test_the_examples_cover_every_channel_and_the_main_content_types() -> None:
    inbound = [inbound_content(e)[0] for e in MESSAGES_EXAMPLES if e.webhook == "inbound"]
    channels = {parse_messages_webhook(e.payload, now=NOW).channel for e in MESSAGES_EXAMPLES}

    assert channels == set(Channel)
    assert {
        "text",
        "image",
        "audio",
        "video",
        "file",
        "vcard",
        "location",
        "reply",
        "order",
    } <= set(inbound)
