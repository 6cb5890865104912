"""The Dispatch API in the sandbox: failover workflows, their statuses and final report, and the
400s that name what is wrong, each checked against the shipped Dispatch spec."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema
import pytest

from botkit.events import Channel, EventKind, WebhookFormat
from botkit.vonage.openapi import load_spec, to_json_schema
from tests.sandbox.conftest import MakeSandbox
from tests.sandbox.harness import (
    WA_BOT,
    WA_USER,
    Harness,
    Received,
    assert_matches_webhook_schema,
    basic,
)

TEN_MINUTES = 600
FAILOVER = {"condition_status": "read", "expiry_time": TEN_MINUTES}


def whatsapp_template(**extra: Any) -> dict[str, Any]:
    template = {"name": "whatsapp:hsm:reminders:appointment", "parameters": [{"default": "10:00"}]}
    return {
        "to": {"type": "whatsapp", "number": WA_USER},
        "from": {"type": "whatsapp", "number": WA_BOT},
        "message": {
            "content": {"type": "template", "template": template},
            "whatsapp": {"policy": "deterministic", "locale": "en-GB"},
        },
        **extra,
    }


def whatsapp_text(**extra: Any) -> dict[str, Any]:
    return {
        "to": {"type": "whatsapp", "number": WA_USER},
        "from": {"type": "whatsapp", "number": WA_BOT},
        "message": {"content": {"type": "text", "text": "See you at 10:00"}},
        **extra,
    }


def sms(**extra: Any) -> dict[str, Any]:
    return {
        "to": {"type": "sms", "number": WA_USER},
        "from": {"type": "sms", "number": WA_BOT},
        "message": {"content": {"type": "text", "text": "Reminder: 10:00 tomorrow"}},
        **extra,
    }


def workflow(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"template": "failover", "workflow": list(steps)}


@cache
def _schema(name: str) -> Any:
    spec = load_spec("dispatch")
    return jsonschema.Draft202012Validator(
        to_json_schema(spec, {"$ref": f"#/components/schemas/{name}"})
    )


async def dispatch(harness: Harness, body: Any, **headers: str) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = await harness.client.post(
        "/v0.1/dispatch",
        data=raw,
        headers={"Content-Type": "application/json", "Authorization": basic(), **headers},
    )
    return response.status, await response.json(content_type=None)


async def started(harness: Harness, body: dict[str, Any]) -> str:
    _schema("createWorkflow").validate(body)  # what the tests send is what the spec allows
    status, answer = await dispatch(harness, body)
    assert status == 202, answer
    _schema("Response").validate(answer)
    dispatch_uuid: str = answer["dispatch_uuid"]
    return dispatch_uuid


def is_report(received: Received) -> bool:
    return "template" in received.json


async def statuses_of(harness: Harness, channel: str, count: int) -> list[Received]:
    def about(received: Received) -> bool:
        body = received.json
        return not is_report(received) and body.get("to", {}).get("type") == channel

    return await harness.bot.wait_for("/webhooks/status", count, which=about)


async def final_report(harness: Harness) -> Received:
    (report,) = await harness.bot.wait_for("/webhooks/status", 1, which=is_report)
    report.verified()
    assert_matches_webhook_schema("dispatch", "final-report", report.json)
    return report


async def advance(harness: Harness, seconds: float) -> None:
    response = await harness.client.post("/_sandbox/clock", json={"advance_seconds": seconds})
    assert response.status == 200, await response.text()


async def test_an_unread_whatsapp_template_fails_over_to_sms_when_the_time_is_up(
    make_sandbox: MakeSandbox,
) -> None:
    harness = await make_sandbox(auto_read=False)

    dispatch_uuid = await started(
        harness, workflow(whatsapp_template(failover=FAILOVER), sms(client_ref="reminder-1"))
    )

    delivered = await statuses_of(harness, "whatsapp", 2)
    assert [r.json["status"] for r in delivered] == ["submitted", "delivered"]
    for received in delivered:
        received.verified()
        assert_matches_webhook_schema("dispatch", "status", received.json)
        event = received.event()
        assert event.format is WebhookFormat.DISPATCH
        assert event.workflow is not None
        assert event.workflow.workflow_id == dispatch_uuid
        assert (event.channel, event.user, event.bot) == (Channel.WHATSAPP, WA_USER, WA_BOT)
    await harness.sandbox.settle()
    assert not [r for r in harness.bot.received if r.json["to"]["type"] == "sms"]
    assert (await harness.get(f"/_sandbox/workflows/{dispatch_uuid}"))["status"] == "running"

    await advance(harness, TEN_MINUTES)

    sms_statuses = await statuses_of(harness, "sms", 2)
    assert [r.json["status"] for r in sms_statuses] == ["submitted", "delivered"]
    assert {r.json["client_ref"] for r in sms_statuses} == {"reminder-1"}
    report = await final_report(harness)
    assert report.json["dispatch_uuid"] == dispatch_uuid
    assert report.json["status"] == "completed"
    assert [(m["channel"], m["status"]) for m in report.json["_links"]["messages"]] == [
        ("whatsapp", "delivered"),
        ("sms", "delivered"),
    ]
    event = report.event()
    assert event.kind is EventKind.WORKFLOW
    assert event.workflow is not None
    assert event.workflow.outcome == "completed"
    assert event.channel is Channel.SMS

    log = await harness.get(f"/_sandbox/conversations/whatsapp/{WA_USER}")
    moved = [e for e in log["events"] if e["kind"] == "workflow" and e["action"] == "next step"]
    assert [e["reason"] for e in moved] == ["not read within 600 s (status: delivered)"]


async def test_a_message_read_in_time_ends_the_workflow_without_the_fallback(
    make_sandbox: MakeSandbox,
) -> None:
    harness = await make_sandbox(auto_read=False)
    dispatch_uuid = await started(harness, workflow(whatsapp_template(failover=FAILOVER), sms()))
    await statuses_of(harness, "whatsapp", 2)

    response = await harness.client.post(f"/_sandbox/users/whatsapp/{WA_USER}/read")
    assert response.status == 200

    report = await final_report(harness)
    assert report.json["status"] == "completed"
    assert [(m["channel"], m["status"]) for m in report.json["_links"]["messages"]] == [
        ("whatsapp", "read")
    ]
    await advance(harness, TEN_MINUTES)
    await harness.sandbox.settle()
    assert not [r for r in harness.bot.received if r.json.get("to", {}).get("type") == "sms"]
    assert (await harness.get(f"/_sandbox/workflows/{dispatch_uuid}"))["status"] == "completed"


async def test_a_rejected_step_fails_over_at_once(harness: Harness) -> None:
    # Free text outside WhatsApp's window: the provider takes it, then rejects it (1340).
    await started(harness, workflow(whatsapp_text(failover=FAILOVER), sms()))

    whatsapp = await statuses_of(harness, "whatsapp", 1)
    assert whatsapp[0].json["status"] == "rejected"
    assert whatsapp[0].json["error"]["code"] == 1340
    report = await final_report(harness)
    assert report.json["status"] == "completed"
    assert [(m["channel"], m["status"]) for m in report.json["_links"]["messages"]] == [
        ("whatsapp", "rejected"),
        ("sms", "delivered"),
    ]
    assert report.json["usage"] == {"price": "0.0333", "currency": "EUR"}


async def test_a_last_step_that_fails_ends_the_workflow_in_error(harness: Harness) -> None:
    response = await harness.client.post(
        "/_sandbox/faults", json={"kind": "undeliverable", "channel": "sms", "user": WA_USER}
    )
    assert response.status == 201
    await started(harness, workflow(whatsapp_text(failover=FAILOVER), sms()))

    report = await final_report(harness)

    assert report.json["status"] == "error"
    assert [m["status"] for m in report.json["_links"]["messages"]] == [
        "rejected",
        "undeliverable",
    ]
    event = report.event()
    assert event.workflow is not None
    assert event.workflow.outcome == "error"


async def test_a_late_read_changes_nothing_once_the_fallback_left(
    make_sandbox: MakeSandbox,
) -> None:
    harness = await make_sandbox(auto_read=False)
    await started(harness, workflow(whatsapp_template(failover=FAILOVER), sms()))
    await statuses_of(harness, "whatsapp", 2)
    await advance(harness, TEN_MINUTES + 1)
    await final_report(harness)

    await harness.client.post(f"/_sandbox/users/whatsapp/{WA_USER}/read")
    late = await statuses_of(harness, "whatsapp", 3)

    assert late[2].json["status"] == "read"
    assert late[2].json["_links"]["workflow"]["dispatch_uuid"]
    await harness.sandbox.settle()
    assert len([r for r in harness.bot.received if is_report(r)]) == 1


async def test_a_delivered_condition_is_met_by_delivery_alone(harness: Harness) -> None:
    await harness.user_says("whatsapp", WA_USER, {"text": "hi"})
    failover = {"condition_status": "delivered", "expiry_time": 15}

    await started(harness, workflow(whatsapp_text(failover=failover), sms()))

    report = await final_report(harness)
    assert report.json["status"] == "completed"
    assert [m["channel"] for m in report.json["_links"]["messages"]] == ["whatsapp"]


async def test_a_fault_refuses_the_workflow_like_a_send(harness: Harness) -> None:
    response = await harness.client.post(
        "/_sandbox/faults",
        json={"kind": "throttle", "channel": "whatsapp", "user": WA_USER, "retry_after": 3},
    )
    assert response.status == 201

    status, answer = await dispatch(harness, workflow(whatsapp_template(failover=FAILOVER), sms()))

    assert status == 429
    assert answer["title"] == "Rate Limit Hit"


async def test_a_workflow_needs_credentials(harness: Harness) -> None:
    status, _ = await dispatch(harness, workflow(sms()), Authorization="Basic bm9wZTpub3Bl")

    assert status == 401


def _without(step: dict[str, Any], *path: str) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(step))
    node = copy
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return copy


BAD_BODIES: list[tuple[str, Any, str, str]] = [
    ("not json", b"{", "body", "is not valid JSON"),
    ("no template", {"workflow": [sms()]}, "template", "is required."),
    ("other template", {"template": "race", "workflow": [sms()]}, "template", "must be one of"),
    ("empty workflow", workflow(), "workflow", "must have at least 1 item"),
    (
        "expiry too short",
        workflow(whatsapp_template(failover={**FAILOVER, "expiry_time": 10}), sms()),
        "workflow[0].failover.expiry_time",
        "must be at least 15.",
    ),
    (
        "expiry too long",
        workflow(whatsapp_template(failover={**FAILOVER, "expiry_time": 86401}), sms()),
        "workflow[0].failover.expiry_time",
        "must be at most 86400.",
    ),
    (
        "unknown condition",
        workflow(whatsapp_template(failover={**FAILOVER, "condition_status": "seen"}), sms()),
        "workflow[0].failover.condition_status",
        "must be one of: `delivered`, `read`.",
    ),
    (
        "no failover before the last step",
        workflow(whatsapp_template(), sms()),
        "workflow[0].failover",
        "is required.",
    ),
    (
        "failover on the last step",
        workflow(whatsapp_template(failover=FAILOVER), sms(failover=FAILOVER)),
        "workflow[1].failover",
        "must not be set on the last message",
    ),
    (
        "template parameters as strings",
        workflow(
            whatsapp_template(
                failover=FAILOVER,
                message={
                    "content": {
                        "type": "template",
                        "template": {"name": "reminder", "parameters": ["10:00"]},
                    }
                },
            ),
            sms(),
        ),
        "workflow[0].message.content.template.parameters[0]",
        "must be of type object.",
    ),
    (
        "channels that differ",
        workflow({**sms(), "from": {"type": "whatsapp", "number": WA_BOT}}),
        "workflow[0].from.type",
        "must be `sms`, as `to.type` is.",
    ),
    (
        "content the channel cannot carry",
        workflow(
            {
                **sms(),
                "message": {"content": {"type": "image", "image": {"url": "https://e.com/a.png"}}},
            }
        ),
        "workflow[0].message.content.type",
        "must be one of: `text` on `sms`.",
    ),
    (
        "a recipient that is no number",
        workflow(
            whatsapp_template(failover=FAILOVER), {**sms(), "to": {"type": "sms", "number": "12"}}
        ),
        "workflow[1].to.number",
        "E.164",
    ),
    (
        "a sender that is not the bot's",
        workflow({**whatsapp_template(), "from": {"type": "whatsapp", "number": "447700900999"}}),
        "workflow[0].from.number",
        "is not linked to this account",
    ),
    ("no recipient", workflow(_without(sms(), "to")), "workflow[0].to", "is required."),
]


@pytest.mark.parametrize(
    ("body", "name", "reason"),
    [case[1:] for case in BAD_BODIES],
    ids=[case[0] for case in BAD_BODIES],
)
async def test_a_bad_workflow_is_a_400_naming_the_parameter(
    harness: Harness, body: Any, name: str, reason: str
) -> None:
    status, answer = await dispatch(harness, body)

    assert status == 400, answer
    _schema("Error").validate(answer)
    assert answer["invalid_parameters"]["name"] == name
    assert reason in answer["invalid_parameters"]["reason"]
    assert name in answer["detail"]
    assert harness.sandbox.workflows == {}
