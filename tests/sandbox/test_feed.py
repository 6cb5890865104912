"""The live feed (server-sent events), the conversation log, the overview, and the sandbox's
refusal to start in production or to lean on botkit's own sender."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from botkit.clock import OffsetClock
from botkit.sandbox import ProductionRefusedError, create_sandbox_app, run_sandbox
from tests.sandbox.harness import API_KEY, API_SECRET, WA_BOT, WA_USER, Harness

SANDBOX_DIR = Path(__file__).resolve().parents[2] / "botkit" / "sandbox"


async def read_events(response: Any, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The next ``count`` events of an SSE stream (comments and ``retry`` lines skipped)."""
    events: list[dict[str, Any]] = []
    seq = None

    async def read() -> None:
        nonlocal seq
        while len(events) < count:
            line = (await response.content.readline()).decode().rstrip("\n")
            if line.startswith("id: "):
                seq = int(line[4:])
            elif line.startswith("data: "):
                event = json.loads(line[6:])
                assert event["seq"] == seq
                events.append(event)

    await asyncio.wait_for(read(), timeout)
    return events


async def test_the_feed_delivers_events_in_order(harness: Harness) -> None:
    response = await harness.client.get("/_sandbox/events")
    assert response.headers["Content-Type"] == "text/event-stream"

    await harness.user_says("whatsapp", WA_USER, {"text": "hi"})
    await harness.accepted(
        {"channel": "whatsapp", "message_type": "text", "to": WA_USER, "from": WA_BOT, "text": "yo"}
    )
    await harness.sandbox.settle()
    wanted = harness.sandbox.journal.last_seq

    events = await read_events(response, wanted)
    response.close()

    assert [e["seq"] for e in events] == list(range(1, wanted + 1))
    story = [(e["kind"], e.get("status")) for e in events if e["kind"] != "webhook"]
    assert story == [
        ("inbound", None),
        ("outbound", None),
        ("status", "submitted"),
        ("status", "delivered"),
        ("status", "read"),
    ]
    inbound, outbound = events[0], next(e for e in events if e["kind"] == "outbound")
    assert inbound["message"] == {"type": "text", "text": "hi"}
    assert inbound["channel"] == "whatsapp"
    assert inbound["user"] == WA_USER
    assert inbound["at"].endswith("Z")
    assert outbound["message"] == {"type": "text", "text": "yo"}
    assert outbound["api"] == "v1"
    webhooks = [e for e in events if e["kind"] == "webhook"]
    assert {w["response_status"] for w in webhooks} == {200}


async def test_the_feed_replays_from_a_seq_and_filters(harness: Harness) -> None:
    await harness.user_says("whatsapp", WA_USER, {"text": "one"})
    await harness.user_says("sms", WA_USER, {"text": "two"})
    await harness.client.post("/_sandbox/clock", json={"advance_seconds": 60})
    await harness.sandbox.settle()

    response = await harness.client.get("/_sandbox/events?since=0&channel=sms")
    events = await read_events(response, 2)
    response.close()

    assert [(e["kind"], e["channel"]) for e in events] == [("inbound", "sms"), ("webhook", "sms")]


async def test_a_clock_event_belongs_to_no_conversation(harness: Harness) -> None:
    response = await harness.client.get("/_sandbox/events", headers={"Last-Event-ID": "0"})

    await harness.client.post("/_sandbox/clock", json={"advance_seconds": 90000})
    event = (await read_events(response, 1))[0]
    response.close()

    assert event["kind"] == "clock"
    assert (event["channel"], event["user"]) == (None, None)
    assert event["advanced_seconds"] == 90000


async def test_the_conversation_log(harness: Harness) -> None:
    await harness.user_says("whatsapp", WA_USER, {"reply": {"id": "a", "title": "A"}})
    message_uuid = await harness.accepted(
        {
            "channel": "whatsapp",
            "message_type": "image",
            "to": WA_USER,
            "from": WA_BOT,
            "image": {"url": "https://example.com/a.jpg", "caption": "cat"},
        }
    )
    await harness.sandbox.settle()

    summary = await harness.get("/_sandbox/conversations")
    log = await harness.get(f"/_sandbox/conversations/whatsapp/{WA_USER}")

    assert summary["conversations"][0]["channel"] == "whatsapp"
    assert summary["conversations"][0]["messages"] == 2
    assert log["window"]["open"] is True
    inbound, outbound = log["messages"]
    assert inbound["direction"] == "inbound"
    assert inbound["message"] == {"type": "reply", "id": "a", "title": "A"}
    assert outbound["message_uuid"] == message_uuid
    assert outbound["message"] == {
        "type": "image",
        "url": "https://example.com/a.jpg",
        "caption": "cat",
    }
    assert [s["status"] for s in outbound["statuses"]] == ["submitted", "delivered", "read"]
    assert log["last_seq"] == harness.sandbox.journal.last_seq


async def test_the_overview_describes_the_setup(harness: Harness) -> None:
    overview = await harness.get("/_sandbox")

    assert overview["channels"]["whatsapp"]["bot"] == WA_BOT
    assert overview["channels"]["whatsapp"]["window_hours"] == 24
    assert overview["channels"]["sms"]["read_receipts"] is False
    assert overview["application"]["inbound_url"] == harness.bot.url("/webhooks/inbound")
    assert overview["signed_webhooks"] is True


async def test_production_refuses_to_start(aiohttp_client: Any) -> None:
    options: dict[str, Any] = {
        "clock": OffsetClock(),
        "signature_secret": None,
        "api_key": API_KEY,
        "api_secret": API_SECRET,
    }

    with pytest.raises(ProductionRefusedError, match="production"):
        create_sandbox_app(env="production", **options)
    with pytest.raises(ProductionRefusedError):
        run_sandbox(env="Production", port=1, **options)
    client = await aiohttp_client(create_sandbox_app(env="development", **options))
    response = await client.get("/_sandbox")
    assert response.status == 200
    assert "channels" in await response.json()


SENDER_MODULES = (
    "botkit.vonage.outbound",
    "botkit.vonage.transport",
    "botkit.channels",
    "botkit.runtime",
    "botkit.bot",
    "botkit.outbound",
    "botkit.server",
    "botkit.vonage.inbound",
    "botkit.vonage.codes",
)


def test_the_sandbox_shares_no_code_with_the_sender() -> None:
    imported = set()
    for path in SANDBOX_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add((path.name, node.module))
            elif isinstance(node, ast.Import):
                imported.update((path.name, alias.name) for alias in node.names)

    leaning = {(f, m) for f, m in imported if m.startswith(SENDER_MODULES)}
    assert leaning == set()
