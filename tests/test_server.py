"""The webhook server over real loopback HTTP: routes, answers to bad input, signatures."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
import structlog
from aiohttp.test_utils import TestClient
from yarl import URL

from botkit import Bot, Context, Event, EventKind, on
from botkit.server import RUNTIME, SMS_PARTS, create_app
from botkit.store.parts import Part
from botkit.testing import ProviderStandIn
from botkit.vonage.signing import sign_webhook_jwt, sms_signature
from tests.conftest import RedisServer

SECRET = "a-signature-secret-for-the-botkit-tests"


def now_iso() -> str:
    """Now, as the provider writes timestamps (a reply is due within the channel's window)."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class RecordingBot(Bot):
    """Keeps every event it is given, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.arrived = asyncio.Event()

    @on.message()
    async def message(self, ctx: Context) -> None:
        self._keep(ctx.event)

    @on.status()
    async def status(self, ctx: Context) -> None:
        self._keep(ctx.event)

    def _keep(self, event: Event) -> None:
        self.events.append(event)
        self.arrived.set()

    async def handled(self, http: TestClient[Any, Any]) -> list[Event]:
        """Every event the app accepted so far, once handled: the app's runtime starts a
        worker before a webhook is answered, so once it is idle nothing accepted is left."""
        await http.app[RUNTIME].wait_idle()
        return self.events

    async def wait_for(self, count: int) -> list[Event]:
        async def enough() -> None:
            while len(self.events) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), 5)
        return self.events


def whatsapp_text(
    text: str = "hello", uuid: str = "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab"
) -> dict[str, Any]:
    return {
        "channel": "whatsapp",
        "message_uuid": uuid,
        "to": "447700900000",
        "from": "447700900001",
        "timestamp": now_iso(),
        "message_type": "text",
        "text": text,
        "profile": {"name": "Jane Smith"},
    }


@pytest.fixture
async def client(aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn) -> Any:
    async def make(bot: Bot | None = None, **env: str) -> tuple[TestClient[Any, Any], Bot]:
        bot = bot or RecordingBot()
        settings = settings_for(VONAGE_API_URL=provider.url, **env)
        return await aiohttp_client(create_app(settings, bot)), bot

    return make


async def test_healthz(client: Any) -> None:
    http, _ = await client()
    response = await http.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_v1_and_v01_share_the_inbound_route(client: Any) -> None:
    http, bot = await client()
    v01 = {
        "message_uuid": "bbbbbbbb-bbbb-4ccc-8ddd-0123456789ab",
        "timestamp": "2020-01-01T14:00:00.000Z",
        "to": {"type": "messenger", "id": "page-1"},
        "from": {"type": "messenger", "id": "psid-1"},
        "message": {"content": {"type": "text", "text": "hi from v0.1"}},
    }
    assert (await http.post("/webhooks/inbound", json=whatsapp_text())).status == 200
    assert (await http.post("/webhooks/inbound", json=v01)).status == 200
    events = await bot.wait_for(2)
    formats = sorted(e.format.value for e in events)
    assert formats == ["v0.1", "v1"]
    assert {e.user for e in events} == {"447700900001", "psid-1"}


async def test_duplicate_delivery_reaches_the_bot_once(client: Any) -> None:
    http, bot = await client()
    for _ in range(3):
        response = await http.post("/webhooks/inbound", json=whatsapp_text())
        assert response.status == 200
    bodies = []
    response = await http.post(
        "/webhooks/inbound",
        json=whatsapp_text("later", uuid="cccccccc-bbbb-4ccc-8ddd-0123456789ab"),
    )
    bodies.append(await response.json())
    events = await bot.wait_for(2)
    assert [e.text for e in events] == ["hello", "later"]


async def test_status_webhook_reaches_the_bot(client: Any) -> None:
    http, bot = await client()
    status = {
        "message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab",
        "to": "447700900001",
        "from": "447700900000",
        "timestamp": now_iso(),
        "status": "rejected",
        "channel": "whatsapp",
        "error": {
            "type": "https://developer.vonage.com/api-errors/messages#1340",
            "title": "1340",
            "detail": "Outside the allowed window",
        },
    }
    assert (await http.post("/webhooks/status", json=status)).status == 200
    (event,) = await bot.wait_for(1)
    assert event.kind is EventKind.STATUS
    assert event.status is not None
    assert event.status.error is not None
    assert event.status.error.code == 1340


async def test_the_log_is_quiet_about_routine_statuses_and_loud_about_failures(
    client: Any,
) -> None:
    http, bot = await client()
    report = {
        "message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab",
        "to": "447700900001",
        "from": "447700900000",
        "channel": "whatsapp",
    }
    with structlog.testing.capture_logs() as logs:
        assert (await http.post("/webhooks/inbound", json=whatsapp_text())).status == 200
        for status in ("delivered", "read"):
            routine = {**report, "timestamp": now_iso(), "status": status}
            assert (await http.post("/webhooks/status", json=routine)).status == 200
        failed = {
            **report,
            "timestamp": now_iso(),
            "status": "undeliverable",
            "error": {
                "type": "https://developer.vonage.com/api-errors/messages#1260",
                "title": "1260",
                "detail": "Destination unreachable",
            },
        }
        assert (await http.post("/webhooks/status", json=failed)).status == 200
        await bot.wait_for(4)
    accepted = [
        (line["log_level"], line.get("kind"))
        for line in logs
        if line["event"] == "webhook accepted"
    ]
    assert accepted == [("info", "message"), ("debug", "status"), ("debug", "status")]
    (loud,) = [line for line in logs if line["event"] == "message not delivered"]
    assert loud["log_level"] == "warning"
    assert (loud["status"], loud["code"]) == ("undeliverable", 1260)


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        (b"{not json", "application/json", "body"),
        (b'{"channel": "whatsapp"}', "text/plain", "Content-Type"),
        (b"[1, 2, 3]", "application/json", None),
        (
            json.dumps({**whatsapp_text(), "timestamp": "yesterday"}).encode(),
            "application/json",
            "timestamp",
        ),
        (
            json.dumps({k: v for k, v in whatsapp_text().items() if k != "from"}).encode(),
            "application/json",
            "from",
        ),
    ],
)
async def test_bad_input_is_a_400_naming_the_field(
    client: Any, body: bytes, content_type: str, field: str | None
) -> None:
    http, bot = await client()
    with structlog.testing.capture_logs() as logs:
        response = await http.post(
            "/webhooks/inbound", data=body, headers={"Content-Type": content_type}
        )
    assert response.status == 400
    answer = await response.json()
    assert answer["error"] == "invalid_payload"
    assert answer["problems"], answer
    if field is not None:
        assert any(p["field"] == field for p in answer["problems"]), answer
    refused = [line for line in logs if line["event"].startswith("webhook refused")]
    assert refused
    assert all(line["log_level"] == "warning" for line in refused)
    assert not any("exc_info" in line for line in logs)
    assert await bot.handled(http) == []


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _order(price: str) -> bytes:
    order = {"product_items": [{"product_retailer_id": "p-1", "quantity": 1, "item_price": 1}]}
    text = json.dumps({**whatsapp_text(), "message_type": "order", "order": order})
    return text.replace('"item_price": 1', f'"item_price": {price}').encode()


@pytest.mark.parametrize(
    ("body", "field", "secret"),
    [
        (f'{{"channel": {_nested(5000)}}}'.encode(), "body", "9" * 30),
        (
            json.dumps({**whatsapp_text(), "extra": 0}).replace("0}", _nested(40) + "}").encode(),
            "extra" + ".0" * 31,
            "9" * 30,
        ),
        (json.dumps({**whatsapp_text("a secret \ud800")}).encode(), "text", "secret"),
        (json.dumps({**whatsapp_text(), "\udfff": 1}).encode(), "'\\udfff'", "secret"),
        (_order("9" * 400), "order.product_items.0.item_price", "9" * 30),
        (_order("-" + "9" * 5000), "order.product_items.0.item_price", "9" * 30),
        (_order("1e400"), "order.product_items.0.item_price", "1e400"),
        (_order("NaN"), "order.product_items.0.item_price", "NaN"),
        (
            json.dumps({**whatsapp_text(), "usage": {"price": 0}})
            .replace('"price": 0', '"price": ' + "9" * 400)
            .encode(),
            "usage.price",
            "9" * 30,
        ),
    ],
    ids=[
        "deep",
        "deep-field",
        "surrogate",
        "surrogate-key",
        "huge",
        "huger",
        "inf",
        "nan",
        "huge-usage-price",
    ],
)
async def test_json_no_step_could_hold_is_a_400_naming_the_field(
    client: Any, body: bytes, field: str, secret: str
) -> None:
    http, bot = await client()
    with structlog.testing.capture_logs() as logs:
        response = await http.post(
            "/webhooks/inbound", data=body, headers={"Content-Type": "application/json"}
        )
    assert response.status == 400
    answer = await response.json()
    assert [p["field"] for p in answer["problems"]] == [field]
    assert secret not in (await response.text())
    assert not [line for line in logs if line["log_level"] in ("error", "critical")]
    assert bot.events == []


@pytest.mark.parametrize("how", ["json", "query"])
async def test_a_signed_sms_route_refuses_hostile_input_without_a_5xx(
    client: Any, how: str
) -> None:
    http, bot = await client(VONAGE_SIGNATURE_SECRET=SECRET)
    if how == "json":
        deep = json.dumps(sms_params()).replace('"HELLO"', _nested(5000))
        response = await http.post(
            "/webhooks/sms/inbound", data=deep, headers={"Content-Type": "application/json"}
        )
        assert response.status == 400
        assert (await response.json())["problems"][0]["field"] == "body"
    else:
        query = urlencode(sms_params(text="-")).replace("text=-", "text=%ED%A0%80%FF")
        response = await http.get(URL(f"/webhooks/sms/inbound?{query}", encoded=True))
        assert response.status == 401
    assert bot.events == []


async def test_body_over_the_limit_is_413(client: Any) -> None:
    http, _ = await client(BOTKIT_MAX_BODY_BYTES="2048")
    big = whatsapp_text("x" * 4000)
    response = await http.post("/webhooks/inbound", json=big)
    assert response.status == 413
    assert (await response.json())["limit_bytes"] == 2048


async def test_unknown_route_is_a_json_404(client: Any) -> None:
    http, _ = await client()
    response = await http.post("/webhooks/nope", json={})
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"


async def test_unsigned_server_warns_at_start(settings_for: Any) -> None:
    with structlog.testing.capture_logs() as logs:
        create_app(settings_for(), RecordingBot())
    assert any("unauthenticated" in line["event"] for line in logs)


class TestSignedWebhooks:
    async def test_valid_signature_is_accepted(self, client: Any) -> None:
        http, bot = await client(VONAGE_SIGNATURE_SECRET=SECRET)
        body = json.dumps(whatsapp_text()).encode()
        token = sign_webhook_jwt(body, SECRET)
        response = await http.post(
            "/webhooks/inbound",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        assert response.status == 200
        await bot.wait_for(1)

    @pytest.mark.parametrize("case", ["missing", "forged", "stale", "other-body"])
    async def test_bad_signature_is_a_401_with_a_reason(self, client: Any, case: str) -> None:
        http, bot = await client(VONAGE_SIGNATURE_SECRET=SECRET)
        body = json.dumps(whatsapp_text()).encode()
        headers = {"Content-Type": "application/json"}
        if case == "forged":
            headers["Authorization"] = (
                f"Bearer {sign_webhook_jwt(body, 'another-signature-secret-of-32-bytes!')}"
            )
        elif case == "stale":
            token = sign_webhook_jwt(body, SECRET, iat=time.time() - 3600)
            headers["Authorization"] = f"Bearer {token}"
        elif case == "other-body":
            token = sign_webhook_jwt(json.dumps(whatsapp_text("other")).encode(), SECRET)
            headers["Authorization"] = f"Bearer {token}"
        response = await http.post("/webhooks/inbound", data=body, headers=headers)
        assert response.status == 401
        answer = await response.json()
        assert answer["error"] == "invalid_signature"
        assert answer["message"]
        assert await bot.handled(http) == []

    async def test_sms_sig_is_checked(self, client: Any) -> None:
        http, bot = await client(VONAGE_SIGNATURE_SECRET=SECRET)
        params = sms_params(text="signed")
        params["timestamp"] = str(int(time.time()))
        params["nonce"] = "n-1"
        params["sig"] = sms_signature(params, SECRET, "md5hash")
        assert (await http.get("/webhooks/sms/inbound", params=params)).status == 200
        params["text"] = "tampered"
        assert (await http.get("/webhooks/sms/inbound", params=params)).status == 401
        events = await bot.wait_for(1)
        assert [e.text for e in events] == ["signed"]


def sms_params(**overrides: str) -> dict[str, str]:
    return {
        "msisdn": "447700900001",
        "to": "447700900000",
        "messageId": "0A0000000123ABCD1",
        "text": "Hello world",
        "type": "text",
        "keyword": "HELLO",
        "api-key": "abcd1234",
        "message-timestamp": "2020-01-01 12:00:00",
        **overrides,
    }


class TestSmsApi:
    async def test_get_form_and_json_give_the_same_event(self, client: Any) -> None:
        http, bot = await client()
        await http.get("/webhooks/sms/inbound", params=sms_params(messageId="A1"))
        await http.post("/webhooks/sms/inbound", data=sms_params(messageId="A2"))
        await http.post("/webhooks/sms/inbound", json=sms_params(messageId="A3"))
        events = await bot.wait_for(3)
        assert sorted(e.message_id for e in events) == ["A1", "A2", "A3"]
        assert {e.text for e in events} == {"Hello world"}

    async def test_concatenated_parts_become_one_event(self, client: Any) -> None:
        http, bot = await client()
        parts = ["The quick brown ", "fox jumps over ", "the lazy dog"]
        for number in (3, 1, 2):
            response = await http.post(
                "/webhooks/sms/inbound",
                data=sms_params(
                    messageId=f"P{number}",
                    text=parts[number - 1],
                    concat="true",
                    **{"concat-ref": "77", "concat-total": "3", "concat-part": str(number)},
                ),
            )
            assert response.status == 200
        (event,) = await bot.wait_for(1)
        assert event.text == "".join(parts)
        assert len(await bot.handled(http)) == 1

    async def test_an_unfinished_long_sms_is_delivered_once_marked_incomplete(
        self, client: Any
    ) -> None:
        http, bot = await client(BOTKIT_SMS_CONCAT_TIMEOUT="0.3")
        for number in (3, 1):
            response = await http.post(
                "/webhooks/sms/inbound",
                data=sms_params(
                    messageId=f"U{number}",
                    text=f"<{number}>",
                    concat="true",
                    **{"concat-ref": "78", "concat-total": "3", "concat-part": str(number)},
                ),
            )
            assert response.status == 200
            assert await response.json() == {"status": "part held"}

        (event,) = await bot.wait_for(1)

        assert event.text == "<1><3>"
        assert event.message_id == "U1"
        assert event.sms is not None
        assert event.sms.missing_parts == (2,)
        await http.post("/webhooks/sms/inbound", data=sms_params(messageId="after"))
        events = await bot.wait_for(2)
        assert [e.message_id for e in events] == ["U1", "after"]
        buffer = http.app[SMS_PARTS].buffer
        assert await buffer.held() == 0
        assert await buffer.claim_due() == []

    async def test_unreadable_stored_parts_never_stop_later_deliveries(self, client: Any) -> None:
        http, bot = await client(BOTKIT_SMS_CONCAT_TIMEOUT="0.3")
        buffer = http.app[SMS_PARTS].buffer
        poison = Part(key="x", sender="447700900009", number=1, total=2, part_id="x", body="{")
        await buffer.add(poison)
        await http.post(
            "/webhooks/sms/inbound",
            data=sms_params(
                messageId="V1",
                concat="true",
                **{"concat-ref": "79", "concat-total": "2", "concat-part": "1"},
            ),
        )

        (event,) = await bot.wait_for(1)

        assert event.message_id == "V1"
        assert event.sms is not None
        assert event.sms.missing_parts == (2,)

    async def test_unfinished_long_sms_are_delivered_after_a_redis_outage(
        self, client: Any, own_redis: RedisServer, redis_prefix: str
    ) -> None:
        with structlog.testing.capture_logs() as logs:
            http, bot = await client(
                REDIS_URL=own_redis.url,
                BOTKIT_REDIS_PREFIX=redis_prefix,
                BOTKIT_SMS_CONCAT_TIMEOUT="0.5",
            )
            part = sms_params(
                messageId="R1",
                concat="true",
                **{"concat-ref": "80", "concat-total": "2", "concat-part": "1"},
            )
            assert (await http.post("/webhooks/sms/inbound", data=part)).status == 200
            own_redis.stop()
            gone = "long SMS waiting for delivery: the store is unreachable"
            for _ in range(400):
                if any(line["event"] == gone for line in logs):
                    break
                await asyncio.sleep(0.02)
            own_redis.start()

            (event,) = await bot.wait_for(1)

        assert event.message_id == "R1"
        assert event.sms is not None
        assert event.sms.missing_parts == (2,)
        events = [line["event"] for line in logs]
        assert events.count(gone) == 1
        assert "long SMS waiting for delivery: the store is reachable again" in events

    async def test_delivery_receipt_is_a_status(self, client: Any) -> None:
        http, bot = await client()
        dlr = {
            "msisdn": "447700900001",
            "to": "AcmeInc",
            "network-code": "12345",
            "messageId": "0A0000001234567B",
            "price": "0.03330000",
            "status": "expired",
            "scts": "2001011400",
            "err-code": "3",
            "message-timestamp": "2020-01-01 12:00:00",
        }
        assert (await http.get("/webhooks/sms/dlr", params=dlr)).status == 200
        (event,) = await bot.wait_for(1)
        assert event.status is not None
        assert event.status.status.value == "undeliverable"
        assert event.status.original == "expired"
        assert event.status.error is not None
        assert event.status.error.code == 3

    async def test_wrong_content_type_is_a_400(self, client: Any) -> None:
        http, _ = await client()
        response = await http.post(
            "/webhooks/sms/inbound", data=b"<xml/>", headers={"Content-Type": "application/xml"}
        )
        assert response.status == 400
        assert (await response.json())["problems"][0]["field"] == "Content-Type"


async def test_echo_bot_replies_through_the_messages_api(
    client: Any, provider: ProviderStandIn
) -> None:
    from bots.echo import EchoBot

    http, _ = await client(EchoBot(), VONAGE_API_KEY="key123", VONAGE_API_SECRET="secret456")
    assert (await http.post("/webhooks/inbound", json=whatsapp_text("ping"))).status == 200
    (sent,) = await provider.wait_for(1)
    client_ref = sent.body.pop("client_ref")
    assert sent.body == {
        "message_type": "text",
        "channel": "whatsapp",
        "to": "447700900001",
        "from": "447700900000",
        "text": "echo: ping",
    }
    assert len(client_ref) == 32, "every reply carries botkit's id as its client_ref"
