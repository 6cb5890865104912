"""Injected faults: offline, undeliverable, unread, throttle and 5xx, per user or per channel,
with a count or until cleared."""

from __future__ import annotations

from typing import Any

from tests.sandbox.harness import (
    WA_BOT,
    WA_USER,
    Harness,
    assert_matches_error_schema,
)

OTHER_USER = "447700900002"


def sms(to: str = WA_USER) -> dict[str, Any]:
    return {"channel": "sms", "message_type": "text", "to": to, "from": WA_BOT, "text": "hello"}


async def add_fault(harness: Harness, **spec: Any) -> dict[str, Any]:
    response = await harness.client.post("/_sandbox/faults", json=spec)
    body: dict[str, Any] = await response.json()
    assert response.status == 201, body
    return body


async def test_throttle_answers_429_with_retry_after(harness: Harness) -> None:
    fault = await add_fault(harness, kind="throttle", channel="sms", user=WA_USER, retry_after=7)

    status, body, headers = await harness.send(sms())

    assert status == 429
    assert headers["Retry-After"] == "7"
    assert headers["Content-Type"].startswith("application/problem+json")
    assert body["title"] == "Rate Limit Hit"
    assert_matches_error_schema("ErrorThrottled", body)
    assert (await harness.get("/_sandbox/faults"))["faults"][0]["id"] == fault["id"]


async def test_a_fault_with_a_count_runs_out(harness: Harness) -> None:
    await add_fault(harness, kind="throttle", channel="sms", count=2)

    statuses = [(await harness.send(sms()))[0] for _ in range(3)]

    assert statuses == [429, 429, 202]
    assert (await harness.get("/_sandbox/faults"))["faults"] == []


async def test_a_user_fault_spares_other_users(harness: Harness) -> None:
    await add_fault(harness, kind="error", channel="sms", user=WA_USER, status=503)

    mine = await harness.send(sms())
    theirs = await harness.send(sms(OTHER_USER))

    assert mine[0] == 503
    assert mine[1]["title"] == "Internal error"
    assert_matches_error_schema("ErrorInternal", mine[1])
    assert theirs[0] == 202


async def test_a_channel_fault_covers_every_user_until_cleared(harness: Harness) -> None:
    fault = await add_fault(harness, kind="error", channel="sms")

    before = [(await harness.send(sms(user)))[0] for user in (WA_USER, OTHER_USER)]
    response = await harness.client.delete(f"/_sandbox/faults/{fault['id']}")
    after = (await harness.send(sms()))[0]

    assert before == [500, 500]
    assert response.status == 204
    assert after == 202


async def test_offline_holds_messages_at_submitted_until_cleared(harness: Harness) -> None:
    fault = await add_fault(harness, kind="offline", channel="sms", user=WA_USER)
    message_uuid = await harness.accepted(sms())
    await harness.statuses(message_uuid, 1)
    await harness.sandbox.settle()

    held = await harness.get(f"/_sandbox/messages/{message_uuid}")
    await harness.client.delete(f"/_sandbox/faults/{fault['id']}")
    received = await harness.statuses(message_uuid, 2)

    assert held["status"] == "submitted"
    assert [r.json["status"] for r in received] == ["submitted", "delivered"]


async def test_offline_with_a_count_leaves_the_message_submitted(harness: Harness) -> None:
    await add_fault(harness, kind="offline", channel="sms", count=1)

    lost = await harness.accepted(sms())
    normal = await harness.accepted(sms())
    await harness.statuses(normal, 2)
    await harness.sandbox.settle()

    assert (await harness.get(f"/_sandbox/messages/{lost}"))["status"] == "submitted"


async def test_undeliverable_reports_the_error(harness: Harness) -> None:
    await add_fault(harness, kind="undeliverable", channel="sms", user=WA_USER, code=1190)

    message_uuid = await harness.accepted(sms())

    received = await harness.statuses(message_uuid, 2)
    assert [r.json["status"] for r in received] == ["submitted", "undeliverable"]
    event = received[1].event()
    assert event.status is not None
    assert event.status.error is not None
    assert event.status.error.code == 1190


async def test_faults_are_logged(harness: Harness) -> None:
    fault = await add_fault(harness, kind="throttle", channel="sms", user=WA_USER, count=1)
    await harness.send(sms())

    log = await harness.get(f"/_sandbox/conversations/sms/{WA_USER}")

    kinds = [(e["kind"], e.get("action")) for e in log["events"]]
    assert kinds == [("fault", "set"), ("fault", "used up"), ("rejected", None)]
    assert log["events"][2]["fault_id"] == fault["id"]
    assert log["events"][2]["http_status"] == 429


async def test_a_nonsense_fault_is_refused(harness: Harness) -> None:
    for spec in (
        {"kind": "flood", "channel": "sms"},
        {"kind": "throttle", "channel": "pigeon"},
        {"kind": "throttle", "channel": "sms", "count": 0},
        {"kind": "error", "channel": "sms", "status": 404},
    ):
        response = await harness.client.post("/_sandbox/faults", json=spec)
        assert response.status == 400, spec
        assert "error" in await response.json()


async def test_clearing_all_faults(harness: Harness) -> None:
    await add_fault(harness, kind="throttle", channel="sms")
    await add_fault(harness, kind="error", channel="whatsapp")

    response = await harness.client.delete("/_sandbox/faults")

    assert response.status == 204
    assert (await harness.get("/_sandbox/faults"))["faults"] == []


async def test_unread_leaves_messages_delivered_until_cleared(harness: Harness) -> None:
    fault = await add_fault(harness, kind="unread", channel="whatsapp", user=WA_USER)
    await harness.user_says("whatsapp", WA_USER, {"text": "hi"})
    body = {"channel": "whatsapp", "message_type": "text", "to": WA_USER, "from": WA_BOT}
    message_uuid = await harness.accepted({**body, "text": "are you there?"})
    received = await harness.statuses(message_uuid, 2)
    await harness.sandbox.settle()
    reading = await harness.client.post(f"/_sandbox/users/whatsapp/{WA_USER}/read")

    assert [r.json["status"] for r in received] == ["submitted", "delivered"]
    assert (await reading.json())["read"] == [], "the user leaves it unread, even in the chat"
    assert (await harness.get(f"/_sandbox/messages/{message_uuid}"))["status"] == "delivered"

    await harness.client.delete(f"/_sandbox/faults/{fault['id']}")
    reading = await harness.client.post(f"/_sandbox/users/whatsapp/{WA_USER}/read")
    assert (await reading.json())["read"] == [message_uuid]
    read = await harness.statuses(message_uuid, 3)
    assert read[2].json["status"] == "read"
