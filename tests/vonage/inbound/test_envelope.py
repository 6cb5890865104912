"""The envelope: the fields every webhook's event shares, once checked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from botkit.errors import InvalidPayload
from botkit.events import Channel, EventKind, Text, Usage, WebhookFormat
from botkit.vonage.inbound.envelope import Envelope, Webhook

HOOK = Webhook("test message", WebhookFormat.V1, EventKind.MESSAGE)
WHEN = datetime(2025, 2, 4, 12, 0, tzinfo=UTC)


def test_an_envelope_opens_an_event_of_its_webhook_with_the_fields_added() -> None:
    envelope = Envelope(
        HOOK, Channel.SMS, "447700900001", "12345", "m-1", WHEN, {"a": 1}, "ref", Usage(price="1")
    )

    event = envelope.event(content=Text(text="hi"))

    assert event.kind is EventKind.MESSAGE
    assert event.format is WebhookFormat.V1
    assert (event.channel, event.user, event.bot) == (Channel.SMS, "447700900001", "12345")
    assert (event.message_id, event.timestamp, event.raw) == ("m-1", WHEN, {"a": 1})
    assert (event.client_ref, event.usage) == ("ref", Usage(price="1"))
    assert event.content == Text(text="hi")


def test_fields_the_event_refuses_are_invalid_payload_of_the_webhook() -> None:
    envelope = Envelope(HOOK, Channel.SMS, "447700900001", "12345", "m-1", WHEN, {})

    with pytest.raises(InvalidPayload) as caught:
        envelope.event(profile_name=["not", "a", "name"])

    assert caught.value.format_name == "test message"
    assert [p.field for p in caught.value.problems] == ["profile_name"]
