"""The KPN API Store profile end to end: ``botkit dev`` with its sandbox playing the store.

The bot sends as ``VONAGE_GATEWAY=kpn`` makes it (a client-credentials token from the store,
the application id in a header, Messages API v0.1 with template parameters as
``{"default": ...}`` objects) to the sandbox's gateway, which checks each of these and answers
with the store's quota headers.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import aiohttp

from botkit.delivery import RetryPolicy
from botkit.devserver import DevServer
from botkit.vonage.transport import RetryingTransport
from tests.conftest import dev_server

USER = "447700900001"


class Feed:
    """The sandbox's event feed, read line by line as the web chat reads it."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def next_where(self, matches: Any, timeout: float = 30.0) -> dict[str, Any]:
        while True:
            line = await asyncio.wait_for(self._response.content.readline(), timeout)
            assert line, "the feed ended"
            text = line.decode().strip()
            if not text.startswith("data:"):
                continue
            event: dict[str, Any] = json.loads(text[5:])
            if matches(event):
                return event


async def feed_of(session: aiohttp.ClientSession, dev: DevServer) -> Feed:
    response = await session.get(f"{dev.sandbox_url}/_sandbox/events?since=0")
    assert response.status == 200
    return Feed(response)


async def user_says(
    session: aiohttp.ClientSession, dev: DevServer, text: str, channel: str = "whatsapp"
) -> None:
    url = f"{dev.sandbox_url}/_sandbox/users/{channel}/{USER}/messages"
    async with session.post(url, json={"text": text}) as sent:
        assert sent.status == 201, await sent.text()


def says(text: str, channel: str = "whatsapp") -> Any:
    def matches(event: dict[str, Any]) -> bool:
        if event["kind"] != "outbound" or event["channel"] != channel:
            return False
        return text in json.dumps(event["message"])

    return matches


async def test_a_pizza_order_goes_through_the_kpn_profile() -> None:
    dev = dev_server()
    dev.gateway = "kpn"
    await dev.start(watch=False)
    try:
        async with aiohttp.ClientSession(headers=dev.auth_headers) as session:
            feed = await feed_of(session, dev)
            for said, answer in [
                ("hi", "What size would you like?"),
                ("large", "Which toppings?"),
                ("cheese", "Added cheese"),
                ("no more", "Where should we deliver?"),
                ("1 Main Street", "Shall we bake it?"),
                ("yes", "Your pizza is in the oven"),
            ]:
                await user_says(session, dev, said)
                event = await feed.next_where(says(answer))
                assert event["api"] == "v0.1"
            # A day later the feedback timer fires outside WhatsApp's window: the approved
            # template goes instead. The store takes its parameters only as {"default": ...}
            # objects (strings are refused) and hands the provider the plain strings.
            async with session.post(
                f"{dev.sandbox_url}/_sandbox/clock", json={"advance_seconds": 25 * 3600}
            ) as moved:
                assert moved.status == 200
            template = await feed.next_where(says("pizza_feedback"))
            assert template["request"]["message"]["content"]["template"]["parameters"] == ["large"]
            await user_says(session, dev, "hi", channel="sms")
            sms = await feed.next_where(says("Welcome to Botkit Pizza!", channel="sms"))
            assert sms["api"] == "v0.1"
            # One token for the whole order; the day's jump expired it at the store, which
            # refused it, and the bot fetched a second one.
            async with session.get(f"{dev.sandbox_url}/_sandbox/gateway") as gateway:
                assert (await gateway.json())["tokens_issued"] == 2
    finally:
        await dev.stop()


async def test_a_failing_token_endpoint_is_retried_then_the_bot_hears_of_the_refusal() -> None:
    dev = dev_server(
        "tests.ledger:LedgerBot",
        BOTKIT_SEND_RETRY_MAX_SECONDS="0.01",
        BOTKIT_SEND_RETRY_GIVE_UP_SECONDS="0.001",
    )
    dev.gateway = "kpn"
    await dev.start(watch=False)
    # The reply is tried this many times (the transport's tries, for each of the outbox's
    # attempts until it gives up); the next token request is the bot answering the refusal.
    policy = RetryPolicy(max_seconds=0.01, give_up_seconds=0.001)
    outbox_attempts = next(n for n in range(1, 100) if policy.gives_up(n))
    tries = inspect.signature(RetryingTransport).parameters["attempts"].default
    try:
        async with aiohttp.ClientSession(headers=dev.auth_headers) as session:
            feed = await feed_of(session, dev)
            async with session.post(
                f"{dev.sandbox_url}/_sandbox/gateway", json={"token_status": 503}
            ) as failing:
                assert failing.status == 200
            await user_says(session, dev, "hello")

            def token_refused(event: dict[str, Any]) -> bool:
                return event["kind"] == "rejected" and event.get("api") == "gateway-token"

            for _ in range(tries * outbox_attempts + 1):
                await feed.next_where(token_refused)
            async with session.post(
                f"{dev.sandbox_url}/_sandbox/gateway", json={"token_status": None}
            ) as restored:
                assert restored.status == 200
            refused = await feed.next_where(says("refused:"))
            async with session.get(
                f"{dev.sandbox_url}/_sandbox/conversations/whatsapp/{USER}"
            ) as log:
                events = (await log.json())["events"]
    finally:
        await dev.stop()
    assert refused["api"] == "v0.1"
    sent = [json.dumps(e["message"]) for e in events if e["kind"] == "outbound"]
    assert not any("1:hello" in text for text in sent)
