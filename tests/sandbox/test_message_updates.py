"""``PATCH /v1/messages/{uuid}``: the bot marks a user's WhatsApp message read; and the
provider's JSON errors on paths it does not serve."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.harness import PSID, WA_USER, Harness, basic


async def patch(harness: Harness, message_uuid: str, body: Any, auth: str | None = None) -> Any:
    response = await harness.client.patch(
        f"/v1/messages/{message_uuid}",
        json=body,
        headers={"Authorization": auth if auth is not None else basic()},
    )
    text = await response.text()
    return response.status, (await response.json(content_type=None) if text else None)


async def test_an_inbound_whatsapp_message_is_marked_read(harness: Harness) -> None:
    inbound = await harness.user_says("whatsapp", WA_USER, {"text": "hi"})

    status, body = await patch(harness, inbound["message_uuid"], {"status": "read"})

    assert (status, body) == (200, None)
    record = harness.sandbox.messages[inbound["message_uuid"]]
    assert record.status == "read"
    assert [s["status"] for s in record.statuses] == ["read"]


async def test_marking_read_needs_credentials(harness: Harness) -> None:
    inbound = await harness.user_says("whatsapp", WA_USER, {"text": "hi"})

    status, body = await patch(harness, inbound["message_uuid"], {"status": "read"}, auth="")

    assert status == 401
    assert harness.sandbox.messages[inbound["message_uuid"]].status is None
    assert body["title"] == "You did not provide correct credentials."


async def test_an_unknown_message_is_404_in_the_provider_shape(harness: Harness) -> None:
    status, body = await patch(harness, "0b5b0b7e-0000-4000-8000-000000000000", {"status": "read"})

    assert status == 404
    assert body["title"] == "Not Found"
    assert "0b5b0b7e-0000-4000-8000-000000000000" in body["detail"]


@pytest.mark.parametrize(
    ("channel", "user", "body", "named"),
    [
        ("whatsapp", WA_USER, {"status": "delivered"}, "status"),
        ("whatsapp", WA_USER, {}, "status"),
        ("messenger", PSID, {"status": "read"}, "message_uuid"),
    ],
)
async def test_what_cannot_be_marked_read_is_named(
    harness: Harness, channel: str, user: str, body: dict[str, Any], named: str
) -> None:
    inbound = await harness.user_says(channel, user, {"text": "hi"})

    status, answer = await patch(harness, inbound["message_uuid"], body)

    assert status == 422
    assert [p["name"] for p in answer["invalid_parameters"]] == [named]
    assert harness.sandbox.messages[inbound["message_uuid"]].status is None


@pytest.mark.parametrize(
    ("method", "path", "status", "title"),
    [
        ("GET", "/v1/nothing-here", 404, "Not Found"),
        ("POST", "/v3/messages", 404, "Not Found"),
        ("GET", "/v1/messages", 405, "Request method not allowed"),
    ],
)
async def test_other_paths_answer_the_providers_json_error(
    harness: Harness, method: str, path: str, status: int, title: str
) -> None:
    response = await harness.client.request(method, path, headers={"Authorization": basic()})

    assert response.status == status
    assert response.content_type == "application/problem+json"
    body = await response.json(content_type=None)
    assert body["title"] == title
    assert path in body["detail"] or method in body["detail"]
