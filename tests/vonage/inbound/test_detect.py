"""One route for every Messages and Dispatch webhook: telling the formats apart, and raising
nothing but InvalidPayload whatever arrives."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botkit.errors import InvalidPayload
from botkit.events import Event, EventKind, WebhookFormat
from botkit.vonage.inbound.detect import detect, parse_messages_webhook
from botkit.vonage.openapi.examples import webhook_examples

NOW = datetime(2025, 2, 4, 12, 0, tzinfo=UTC)
"""When the webhooks of these tests are read."""

EXAMPLES = {
    example.id: example.payload
    for name in ("messages-v1", "messages-v0.1", "dispatch")
    for example in webhook_examples(name)
}

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=16,
)


def outcome(payload: Any) -> Event | InvalidPayload:
    """The event, or the InvalidPayload raised; any other exception fails the test."""
    try:
        return parse_messages_webhook(payload, now=NOW)
    except InvalidPayload as error:
        return error


@pytest.mark.parametrize(
    ("example", "shape"),
    [
        ("v1/inbound/whatsapp/text", (WebhookFormat.V1, EventKind.MESSAGE)),
        ("v1/status/viber", (WebhookFormat.V1, EventKind.STATUS)),
        ("v0.1/inbound/messenger/text", (WebhookFormat.V0_1, EventKind.MESSAGE)),
        ("v0.1/status", (WebhookFormat.V0_1, EventKind.STATUS)),
        ("dispatch/status", (WebhookFormat.DISPATCH, EventKind.STATUS)),
        ("dispatch/final-report", (WebhookFormat.DISPATCH, EventKind.WORKFLOW)),
    ],
)
def test_the_shape_tells_the_format_and_the_kind(
    example: str, shape: tuple[WebhookFormat, EventKind]
) -> None:
    payload = EXAMPLES[example]

    assert detect(payload) == shape
    event = parse_messages_webhook(payload, now=NOW)
    assert (event.format, event.kind) == shape


def test_a_v0_message_is_recognised_by_its_content_alone() -> None:
    payload = {"message": {"content": {"type": "text", "text": "hi"}}}

    assert detect(payload) == (WebhookFormat.V0_1, EventKind.MESSAGE)


def test_a_payload_of_no_known_shape_is_invalid() -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_messages_webhook({"hello": "world"}, now=NOW)

    assert [p.field for p in caught.value.problems] == ["channel"]


@pytest.mark.parametrize("payload", [None, "x", 1, [], [{"channel": "sms"}]])
def test_a_body_that_is_not_an_object_is_invalid(payload: Any) -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_messages_webhook(payload, now=NOW)

    assert [p.field for p in caught.value.problems] == ["body"]


def test_deep_nesting_in_a_field_botkit_keeps_raw_is_harmless() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    payload = {**EXAMPLES["v1/inbound/whatsapp/text"], "extra": deep}

    assert parse_messages_webhook(payload, now=NOW).raw["extra"] is deep


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(JSON)
def test_any_json_value_gives_an_event_or_invalid_payload(value: Any) -> None:
    result = outcome(value)

    assert isinstance(result, Event) or result.problems


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(sorted(EXAMPLES)), st.data())
def test_a_spec_example_with_one_field_replaced_gives_an_event_or_invalid_payload(
    example: str, data: st.DataObject
) -> None:
    payload = copy.deepcopy(EXAMPLES[example])
    node: Any = payload
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        descend = isinstance(child, dict | list) and child and data.draw(st.booleans())
        if not descend:
            if isinstance(node, dict) and data.draw(st.booleans()):
                del node[key]
            else:
                node[key] = data.draw(JSON)
            break
        node = child

    result = outcome(payload)

    assert isinstance(result, Event) or result.problems
