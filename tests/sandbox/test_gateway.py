"""The sandbox playing KPN's API Store: tokens, the application header, template parameter
objects and the quota headers, as a client of the store meets them."""

from __future__ import annotations

from typing import Any

from botkit.sandbox.gateway import MESSAGES_BASE, TOKEN_PATH
from tests.sandbox.harness import (
    API_KEY,
    API_SECRET,
    APPLICATION_ID,
    WA_BOT,
    WA_USER,
    Harness,
    basic,
)

TEXT = {"channel": "whatsapp", "message_type": "text", "to": WA_USER, "from": WA_BOT, "text": "hi"}


async def token(harness: Harness, **form: str) -> tuple[int, Any]:
    fields = {"client_id": API_KEY, "client_secret": API_SECRET, **form}
    response = await harness.client.post(TOKEN_PATH + "?grant_type=client_credentials", data=fields)
    return response.status, await response.json()


async def send_through(
    harness: Harness, body: dict[str, Any], *, bearer: str, api: str = "v1", **headers: str
) -> tuple[int, Any, Any]:
    response = await harness.client.post(
        f"{MESSAGES_BASE}/{api}/messages",
        json=body,
        headers={"Authorization": f"Bearer {bearer}", **headers},
    )
    return response.status, await response.json(), response.headers


async def test_a_token_for_the_account_s_client_credentials(harness: Harness) -> None:
    status, issued = await token(harness)
    assert status == 200
    assert issued["token_type"] == "BearerToken"
    assert issued["expires_in"] == "3599"
    basic_status, _ = await token(harness, client_id="", client_secret="")
    assert basic_status == 401

    response = await harness.client.post(
        TOKEN_PATH, data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(API_KEY, API_SECRET)},
    )  # fmt: skip
    assert response.status == 200
    refused = await harness.client.post(
        TOKEN_PATH, data={"grant_type": "password", "client_id": API_KEY,
                          "client_secret": API_SECRET},
    )  # fmt: skip
    assert refused.status == 400


async def test_a_send_needs_the_token_and_the_application_header(harness: Harness) -> None:
    _, issued = await token(harness)
    bearer = issued["access_token"]

    no_token = await send_through(
        harness, TEXT, bearer="made-up", **{"X-Application-Id": APPLICATION_ID}
    )
    no_header = await send_through(harness, TEXT, bearer=bearer)
    unknown = await send_through(harness, TEXT, bearer=bearer, **{"X-Application-Id": "nope"})
    status, answer, headers = await send_through(
        harness, TEXT, bearer=bearer, **{"X-Application-Id": APPLICATION_ID}
    )

    assert no_token[0] == 401
    assert no_token[1]["fault"]["detail"]["errorcode"] == "oauth.v2.InvalidAccessToken"
    assert no_header[0] == 401
    assert "X-Application-Id" in no_header[1]["fault"]["faultstring"]
    assert unknown[0] == 401
    assert status == 202
    record = harness.sandbox.messages[answer["message_uuid"]]
    assert record.application_id == APPLICATION_ID
    assert headers["quota-limit"] == "1000"
    assert headers["quota-used"] == "1"
    assert (headers["quota-interval"], headers["quota-time-unit"]) == ("1", "minute")
    assert headers["quota-reset-UTC"].endswith("Z")


async def test_template_parameters_travel_as_default_objects(harness: Harness) -> None:
    _, issued = await token(harness)
    template = {
        "channel": "whatsapp", "message_type": "template", "to": WA_USER, "from": WA_BOT,
        "whatsapp": {"policy": "deterministic", "locale": "en_GB"},
    }  # fmt: skip
    as_strings = {**template, "template": {"name": "order_ready", "parameters": ["Ana"]}}
    as_objects = {
        **template,
        "template": {"name": "order_ready", "parameters": [{"default": "Ana"}]},
    }
    app = {"X-Application-Id": APPLICATION_ID}

    refused = await send_through(harness, as_strings, bearer=issued["access_token"], **app)
    taken = await send_through(harness, as_objects, bearer=issued["access_token"], **app)

    assert refused[0] == 400
    assert refused[1]["invalid_parameters"][0]["name"] == "template.parameters"
    assert taken[0] == 202
    record = harness.sandbox.messages[taken[1]["message_uuid"]]
    assert record.content["parameters"] == ["Ana"]


async def test_the_quota_without_a_reset_time_and_past_its_limit(harness: Harness) -> None:
    changed = await harness.client.post(
        "/_sandbox/gateway", json={"quota_limit": 1, "quota_reset": False}
    )
    _, issued = await token(harness)
    app = {"X-Application-Id": APPLICATION_ID}

    first = await send_through(harness, TEXT, bearer=issued["access_token"], **app)
    second = await send_through(harness, TEXT, bearer=issued["access_token"], **app)

    assert changed.status == 200
    assert first[0] == 202
    assert "quota-reset-UTC" not in first[2]
    assert second[0] == 429
    assert second[2]["quota-used"] == "1"


async def test_a_failing_token_endpoint_answers_its_status_and_is_journaled(
    harness: Harness,
) -> None:
    await harness.client.post("/_sandbox/gateway", json={"token_status": 503})

    status, body = await token(harness)

    assert status == 503
    assert "fault" in body
    [event] = [e for e in harness.sandbox.journal.events() if e.kind == "rejected"]
    assert event.fields["http_status"] == 503
    bad = await harness.client.post("/_sandbox/gateway", json={"token_status": 200})
    assert bad.status == 400
