"""The legacy SMS API: HTTP 200 always, with the API's per-message status codes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from botkit.vonage.signing import sms_signature
from tests.sandbox.conftest import MakeSandbox
from tests.sandbox.harness import (
    API_KEY,
    API_SECRET,
    SIGNATURE_SECRET,
    WA_USER,
    Harness,
    basic,
)


def params(**overrides: Any) -> dict[str, str]:
    base = {
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "from": "AcmeInc",
        "to": WA_USER,
        "text": "Hello",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


async def send(harness: Harness, data: dict[str, str], *, as_json: bool = False) -> Any:
    if as_json:
        response = await harness.client.post("/sms/json", json=data)
    else:
        response = await harness.client.post("/sms/json", data=data)
    assert response.status == 200
    return await response.json()


async def test_a_send_is_answered_with_status_0(harness: Harness) -> None:
    answer = await send(harness, params(**{"client-ref": "ref-1"}))

    assert answer["message-count"] == "1"
    message = answer["messages"][0]
    assert message["status"] == "0"
    assert message["to"] == WA_USER
    assert message["client-ref"] == "ref-1"
    assert all(isinstance(v, str) for v in message.values())


async def test_basic_authorization_stands_for_the_key_and_secret(harness: Harness) -> None:
    data = params(api_key=None, api_secret=None)
    good = await harness.client.post("/sms/json", data=data, headers={"Authorization": basic()})
    wrong = await harness.client.post(
        "/sms/json", data=data, headers={"Authorization": basic(secret="wrong")}
    )

    assert (await good.json())["messages"][0]["status"] == "0"
    assert (await wrong.json())["messages"][0] == {"status": "4", "error-text": "Bad Credentials"}


async def test_json_parameters_are_accepted(harness: Harness) -> None:
    answer = await send(harness, params(), as_json=True)

    assert answer["messages"][0]["status"] == "0"


async def test_a_long_text_gets_one_message_id_per_part(harness: Harness) -> None:
    answer = await send(harness, params(text="x" * 200))

    assert answer["message-count"] == "2"
    assert len({m["message-id"] for m in answer["messages"]}) == 2


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"api_key": None}, "2"),
        ({"to": None}, "2"),
        ({"from": None}, "2"),
        ({"text": None}, "2"),
        ({"api_secret": None}, "2"),
        ({"api_secret": "wrong-secret"}, "4"),
        ({"api_key": "zzzz9999"}, "4"),
        ({"sig": "0123456789abcdef0123"}, "32"),
        ({"to": "not-a-number"}, "3"),
        ({"ttl": "5"}, "3"),
        ({"type": "morse"}, "3"),
        ({"callback": "https://example.com/" + "x" * 100}, "23"),
        ({"text": "x" * 3201}, "12"),
    ],
)
async def test_refusals_have_the_api_status_codes(
    harness: Harness, overrides: dict[str, Any], status: str
) -> None:
    answer = await send(harness, params(**overrides))

    assert answer["message-count"] == "1"
    assert answer["messages"][0]["status"] == status
    assert answer["messages"][0]["error-text"]


def signed(**overrides: Any) -> dict[str, str]:
    data = params(**{"api_secret": None, "timestamp": str(int(time.time())), **overrides})
    data["sig"] = sms_signature(data, SIGNATURE_SECRET, "md5hash")
    return data


async def test_a_signed_request_is_accepted(harness: Harness) -> None:
    answer = await send(harness, signed())

    assert answer["messages"][0]["status"] == "0"


async def test_a_bad_signature_is_status_14(harness: Harness) -> None:
    data = signed()
    data["text"] = "tampered"

    answer = await send(harness, data)

    assert answer["messages"][0]["status"] == "14"


async def test_a_stale_signature_is_status_14(harness: Harness) -> None:
    answer = await send(harness, signed(timestamp=str(int(time.time()) - 3600)))

    assert answer["messages"][0]["status"] == "14"


async def test_throttle_fault_is_status_1(harness: Harness) -> None:
    await harness.client.post("/_sandbox/faults", json={"kind": "throttle", "channel": "sms"})

    answer = await send(harness, params())

    assert answer["messages"][0]["status"] == "1"


async def test_a_delivery_receipt_goes_to_the_callback(make_sandbox: MakeSandbox) -> None:
    harness = await make_sandbox()
    callback = harness.bot.url("/webhooks/dlr")

    answer = await send(harness, params(callback=callback, **{"client-ref": "r1"}))

    receipt = (await harness.bot.wait_for("/webhooks/dlr", 1))[0].json
    assert receipt["messageId"] == answer["messages"][0]["message-id"]
    assert receipt["status"] == "delivered"
    assert receipt["err-code"] == "0"
    assert receipt["client-ref"] == "r1"
    signature = dict(receipt)
    assert receipt["sig"] == sms_signature(signature, SIGNATURE_SECRET, "md5hash")


async def test_no_receipt_when_none_is_asked_for(make_sandbox: MakeSandbox) -> None:
    harness = await make_sandbox()
    callback = harness.bot.url("/webhooks/dlr")

    await send(harness, params(callback=callback, **{"status-report-req": "false"}))
    await harness.sandbox.settle()

    assert harness.bot.at("/webhooks/dlr") == []


async def test_sms_api_sends_join_the_conversation_log(harness: Harness) -> None:
    await send(harness, params())
    await harness.sandbox.settle()

    log = await harness.get(f"/_sandbox/conversations/sms/{WA_USER}")

    outbound = log["messages"][0]
    assert outbound["api"] == "sms"
    assert outbound["message"] == {"type": "text", "text": "Hello"}
    assert outbound["status"] == "delivered"
    request = next(e for e in log["events"] if e["kind"] == "outbound")["request"]
    assert "api_secret" not in request
