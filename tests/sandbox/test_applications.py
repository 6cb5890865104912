"""Application API v2: registering webhooks and the messages version, with Basic auth."""

from __future__ import annotations

from typing import Any

import jsonschema

from botkit.vonage.openapi import load_spec, to_json_schema
from tests.sandbox.conftest import MakeSandbox
from tests.sandbox.harness import (
    APPLICATION_ID,
    WA_BOT,
    WA_USER,
    Harness,
    application_jwt,
    basic,
)


def messages_capability(inbound: str, status: str, version: str = "v1") -> dict[str, Any]:
    return {
        "messages": {
            "version": version,
            "webhooks": {
                "inbound_url": {"address": inbound, "http_method": "POST"},
                "status_url": {"address": status, "http_method": "POST"},
            },
        }
    }


async def call(harness: Harness, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    headers = {"Authorization": kw.get("authorization", basic())}
    response = await harness.client.request(method, path, json=body, headers=headers)
    text = await response.text()
    return response.status, (await response.json() if text else None)


async def test_updating_the_linked_application_moves_its_webhooks(harness: Harness) -> None:
    inbound = harness.bot.url("/webhooks/new-inbound")
    status, app = await call(
        harness,
        "PUT",
        f"/v2/applications/{APPLICATION_ID}",
        {"name": "bot", "capabilities": messages_capability(inbound, "http://x/s", "v0.1")},
    )

    await harness.user_says("whatsapp", WA_USER, {"text": "hi"})

    assert status == 200
    assert app["capabilities"]["messages"]["version"] == "v0.1"
    received = await harness.bot.wait_for("/webhooks/new-inbound", 1)
    assert received[0].json["to"] == {"type": "whatsapp", "number": WA_BOT}


async def test_creating_an_application_returns_a_generated_key_pair(harness: Harness) -> None:
    status, app = await call(harness, "POST", "/v2/applications", {"name": "second"})

    assert status == 201
    assert app["keys"]["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert app["keys"]["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    fetched_status, fetched = await call(harness, "GET", f"/v2/applications/{app['id']}")
    assert fetched_status == 200
    assert "private_key" not in fetched["keys"]


async def test_a_jwt_of_a_new_application_sends_to_its_status_url(harness: Harness) -> None:
    status_url = harness.bot.url("/webhooks/second-status")
    _, app = await call(
        harness,
        "POST",
        "/v2/applications",
        {"name": "second", "capabilities": messages_capability("http://x/i", status_url)},
    )
    token = application_jwt(app["keys"]["private_key"], app["id"])

    await harness.accepted(
        {"channel": "sms", "message_type": "text", "to": WA_USER, "from": WA_BOT, "text": "x"},
        authorization=f"Bearer {token}",
    )

    received = await harness.bot.wait_for("/webhooks/second-status", 2)
    assert received[0].verified()["application_id"] == app["id"]


async def test_an_application_without_messages_cannot_send(harness: Harness) -> None:
    _, app = await call(harness, "POST", "/v2/applications", {"name": "voice only"})
    token = application_jwt(app["keys"]["private_key"], app["id"])

    status, body, _ = await harness.send(
        {"channel": "sms", "message_type": "text", "to": WA_USER, "from": WA_BOT, "text": "x"},
        authorization=f"Bearer {token}",
    )

    assert status == 401
    assert body["type"].endswith("#unprovisioned")


async def test_creating_an_application_leaves_the_numbers_until_they_are_linked(
    make_sandbox: MakeSandbox,
) -> None:
    harness = await make_sandbox(application_id=None)
    registered = harness.bot.url("/webhooks/registered")
    _, app = await call(
        harness,
        "POST",
        "/v2/applications",
        {"name": "mine", "capabilities": messages_capability(registered, "http://x/s")},
    )

    await harness.user_says("sms", WA_USER, {"text": "before"})
    assert len(await harness.bot.wait_for("/webhooks/inbound", 1)) == 1
    linked = await harness.client.post("/_sandbox/link", json={"application_id": app["id"]})
    await harness.user_says("sms", WA_USER, {"text": "after"})

    assert linked.status == 200
    assert (await linked.json())["inbound_url"] == registered
    [after] = await harness.bot.wait_for("/webhooks/registered", 1)
    assert after.json["text"] == "after"
    assert len(harness.bot.at("/webhooks/inbound")) == 1


async def test_linking_an_unknown_application_is_404(harness: Harness) -> None:
    response = await harness.client.post("/_sandbox/link", json={"application_id": "nope"})

    assert response.status == 404
    assert "nope" in (await response.json())["error"]


async def test_listing_applications(harness: Harness) -> None:
    await call(harness, "POST", "/v2/applications", {"name": "second"})

    status, page = await call(harness, "GET", "/v2/applications?page_size=1&page=2")

    assert status == 200
    assert page["total_items"] == 2
    assert page["total_pages"] == 2
    assert [a["name"] for a in page["_embedded"]["applications"]] == ["second"]
    assert page["_links"] == {
        "self": {"href": "/v2/applications?page_size=1&page=2"},
        "first": {"href": "/v2/applications?page_size=1&page=1"},
        "last": {"href": "/v2/applications?page_size=1&page=2"},
        "prev": {"href": "/v2/applications?page_size=1&page=1"},
    }
    collection = {"$ref": "#/components/schemas/ApplicationResponseCollection"}
    spec = load_spec("application")
    jsonschema.Draft202012Validator(to_json_schema(spec, collection)).validate(page)


async def test_refusals(harness: Harness) -> None:
    no_auth = await call(harness, "GET", "/v2/applications", authorization="")
    missing = await call(harness, "GET", "/v2/applications/nope")
    no_name = await call(harness, "POST", "/v2/applications", {"capabilities": {}})
    bad_version = await call(
        harness,
        "POST",
        "/v2/applications",
        {"name": "x", "capabilities": {"messages": {"version": "v2"}}},
    )
    bad_method = await call(
        harness,
        "POST",
        "/v2/applications",
        {
            "name": "x",
            "capabilities": {
                "messages": {"webhooks": {"inbound_url": {"address": "a", "http_method": "GET"}}}
            },
        },
    )

    assert no_auth[0] == 401
    assert no_auth[1]["title"] == "Invalid credentials supplied"
    assert missing[0] == 404
    assert no_name[0] == 400
    assert no_name[1]["invalid_parameters"] == [{"name": "name", "reason": "is required."}]
    assert bad_version[0] == 400
    assert bad_version[1]["invalid_parameters"][0]["name"] == "capabilities.messages.version"
    assert bad_method[0] == 400
    assert bad_method[1]["invalid_parameters"][0]["name"] == (
        "capabilities.messages.webhooks.inbound_url.http_method"
    )
