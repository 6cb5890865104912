"""Fixtures: the bot's stand-in, a sandbox wired to it with zero delays, and an RSA key pair."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from botkit.clock import OffsetClock
from botkit.sandbox import SANDBOX, Delays, create_sandbox_app
from tests.sandbox.harness import (
    API_KEY,
    API_SECRET,
    APPLICATION_ID,
    SIGNATURE_SECRET,
    BotStandIn,
    Harness,
    KeyPair,
    make_key_pair,
)

MakeSandbox = Callable[..., Awaitable[Harness]]


@pytest.fixture(scope="session")
def keys() -> KeyPair:
    return make_key_pair()


@pytest.fixture
async def bot() -> AsyncIterator[BotStandIn]:
    stand_in = BotStandIn()
    await stand_in.start()
    yield stand_in
    await stand_in.close()


@pytest.fixture
def make_sandbox(bot: BotStandIn, aiohttp_client: Any, keys: KeyPair) -> MakeSandbox:
    """Build a sandbox on 127.0.0.1 whose webhooks go to ``bot``; keyword arguments override
    those of ``create_sandbox_app``.

    ``bot`` comes first so that it is torn down last: the sandbox's connections to it close
    before it stops."""

    async def make(**overrides: Any) -> Harness:
        options: dict[str, Any] = {
            "clock": OffsetClock(),
            "signature_secret": SIGNATURE_SECRET,
            "api_key": API_KEY,
            "api_secret": API_SECRET,
            "application_id": APPLICATION_ID,
            "public_key_pem": keys.public_pem,
            "inbound_url": bot.url("/webhooks/inbound"),
            "status_url": bot.url("/webhooks/status"),
            "delays": Delays.none(),
            "webhook_retry_delays": (),
        }
        options.update(overrides)
        app = create_sandbox_app(**options)
        client = await aiohttp_client(app)
        return Harness(client, app[SANDBOX], bot)

    return make


@pytest.fixture
async def harness(make_sandbox: MakeSandbox) -> Harness:
    return await make_sandbox()
