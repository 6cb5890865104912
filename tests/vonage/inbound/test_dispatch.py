"""Dispatch API webhooks: per-message statuses and the failover workflow's final report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from botkit.errors import InvalidPayload, Problem
from botkit.events import (
    Channel,
    DeliveryStatus,
    EventKind,
    WebhookFormat,
    WorkflowInfo,
    WorkflowMessage,
)
from botkit.vonage.inbound.dispatch import parse_final_report, parse_status

NOW = datetime(2025, 2, 4, 12, 0, tzinfo=UTC)
"""When the webhooks of these tests are read."""

WORKFLOW = "bbbbbbbb-bbbb-4ccc-8ddd-0123456789ab"


def linked(uuid: str, channel: str, state: str) -> dict[str, Any]:
    return {
        "message_uuid": uuid,
        "href": f"/messages/{uuid}",
        "channel": channel,
        "usage": {"currency": "EUR", "price": "0.0333"},
        "status": state,
    }


def report(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    payload = {
        "dispatch_uuid": WORKFLOW,
        "template": "failover",
        "status": "completed",
        "timestamp": "2020-01-01T14:00:00.000Z",
        "usage": {"price": "0.02", "currency": "EUR"},
        "_links": {"messages": list(messages)},
    }
    return {key: value for key, value in {**payload, **fields}.items() if value is not None}


def status(**fields: Any) -> dict[str, Any]:
    payload = {
        "message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab",
        "timestamp": "2020-01-01T14:00:00.000Z",
        "to": {"type": "whatsapp", "number": "447700900000"},
        "from": {"type": "whatsapp", "number": "447700900001"},
        "status": "read",
        "_links": {"workflow": {"dispatch_uuid": WORKFLOW, "href": f"/workflows/{WORKFLOW}"}},
    }
    return {**payload, **fields}


def test_a_dispatch_status_is_a_v0_status_of_a_workflow() -> None:
    event = parse_status(status(), now=NOW)

    assert event.kind is EventKind.STATUS
    assert event.format is WebhookFormat.DISPATCH
    assert event.channel is Channel.WHATSAPP
    assert (event.user, event.bot) == ("447700900000", "447700900001")
    assert event.status is not None
    assert event.status.status is DeliveryStatus.READ
    assert event.workflow == WorkflowInfo(workflow_id=WORKFLOW)


def test_a_dispatch_status_without_its_workflow_id_is_invalid() -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_status(status(_links={"workflow": {"href": "/workflows/x"}}), now=NOW)

    assert caught.value.problems == [
        Problem("_links.workflow.dispatch_uuid", "a value (the field is required)")
    ]
    assert caught.value.format_name == "dispatch message status"


def test_a_dispatch_status_problem_names_the_dispatch_webhook() -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_status(status(status="seen"), now=NOW)

    assert caught.value.format_name == "dispatch message status"


def test_a_final_report_is_a_workflow_event_on_the_last_channel() -> None:
    sms = "cccccccc-bbbb-4ccc-8ddd-0123456789ab"
    whatsapp = "dddddddd-bbbb-4ccc-8ddd-0123456789ab"
    payload = report(
        linked(whatsapp, "whatsapp", "submitted"),
        linked(sms, "sms", "delivered"),
    )

    event = parse_final_report(payload, now=NOW)

    assert event.kind is EventKind.WORKFLOW
    assert event.format is WebhookFormat.DISPATCH
    assert (event.user, event.bot) == (None, None)
    assert event.message_id == WORKFLOW
    assert event.channel is Channel.SMS
    assert event.workflow == WorkflowInfo(
        workflow_id=WORKFLOW,
        outcome="completed",
        messages=(
            WorkflowMessage(message_id=whatsapp, channel=Channel.WHATSAPP, status="submitted"),
            WorkflowMessage(message_id=sms, channel=Channel.SMS, status="delivered"),
        ),
    )
    assert event.usage is not None
    assert event.usage.price == "0.02"
    assert event.status is None


@pytest.mark.parametrize("spelling", ["viber_service_msg", "viber_sevice_msg", "viber_service"])
def test_a_final_report_accepts_every_spelling_of_viber(spelling: str) -> None:
    event = parse_final_report(
        report(linked(WORKFLOW, spelling, "rejected"), status="error"), now=NOW
    )

    assert event.channel is Channel.VIBER
    assert event.workflow is not None
    assert event.workflow.outcome == "error"


def test_a_final_report_without_a_channel_is_invalid() -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_final_report(report(), now=NOW)

    assert [p.field for p in caught.value.problems] == ["_links.messages"]


def test_a_final_report_with_an_unknown_outcome_or_channel_is_invalid() -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_final_report(report(linked(WORKFLOW, "telegram", "read"), status="done"), now=NOW)

    assert caught.value.problems == [
        Problem("status", "one of: completed, error"),
        Problem(
            "_links.messages.0.channel",
            "one of: messenger, viber_service_msg, sms, whatsapp, mms",
        ),
    ]
    assert caught.value.format_name == "dispatch final report"
