"""Fixtures: the bot's stand-in, a sandbox wired to it with zero delays, and an RSA key pair."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from botkit.sandbox import SANDBOX, create_sandbox_app
from tests.sandbox.harness import (
    BotStandIn,
    Harness,
    KeyPair,
    make_key_pair,
    sandbox_options,
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
        options = sandbox_options(bot, keys.public_pem)
        options.update(overrides)
        app = create_sandbox_app(**options)
        client = await aiohttp_client(app)
        return Harness(client, app[SANDBOX], bot)

    return make


@pytest.fixture
async def harness(make_sandbox: MakeSandbox) -> Harness:
    return await make_sandbox()
