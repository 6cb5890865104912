"""The KPN API Store profile as the settings build it, against the sandbox playing the store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import pytest

from botkit.errors import ConfigError
from botkit.events import Channel, Text
from botkit.outbound import Outbound, Template
from botkit.ratelimit import ChannelLimiter
from botkit.sandbox import SANDBOX, Sandbox, create_sandbox_app
from botkit.sandbox.gateway import MESSAGES_BASE, TOKEN_PATH
from botkit.settings import Settings, load_settings
from botkit.vonage.client import transport_from_settings
from botkit.vonage.gateway import KPN_BASE_URL, messages_url, messages_version
from botkit.vonage.transport import (
    RateLimitedTransport,
    RetryingTransport,
    UnconfiguredTransport,
)
from tests.sandbox.harness import (
    API_KEY,
    API_SECRET,
    APPLICATION_ID,
    WA_BOT,
    WA_USER,
    BotStandIn,
    make_key_pair,
    sandbox_options,
    served,
)


def kpn(url: str = "", **env: str) -> Settings:
    store = {
        "VONAGE_GATEWAY_URL": url + MESSAGES_BASE,
        "VONAGE_OAUTH_TOKEN_URL": url + TOKEN_PATH + "?grant_type=client_credentials",
    } if url else {}  # fmt: skip
    return load_settings(
        {
            "BOTKIT_ENV": "test",
            "VONAGE_GATEWAY": "kpn",
            "VONAGE_OAUTH_CLIENT_ID": API_KEY,
            "VONAGE_OAUTH_CLIENT_SECRET": API_SECRET,
            "VONAGE_APPLICATION_ID": APPLICATION_ID,
            **store,
            **env,
        }
    )


def test_the_profile_s_documented_defaults_and_the_settings_that_win() -> None:
    assert messages_url(kpn()) == KPN_BASE_URL
    assert messages_version(kpn()) == "v0.1"
    assert messages_version(kpn(VONAGE_MESSAGES_VERSION="v1")) == "v1"
    assert messages_url(kpn(VONAGE_GATEWAY_URL="https://gw.example.com/x/")) == (
        "https://gw.example.com/x"
    )
    vonage = load_settings({"BOTKIT_ENV": "test"})
    assert (messages_url(vonage), messages_version(vonage)) == ("https://api.nexmo.com", "v1")
    with pytest.raises(ConfigError, match="VONAGE_GATEWAY_APPLICATION_HEADER"):
        kpn(VONAGE_GATEWAY_APPLICATION_HEADER="not a header")
    with pytest.raises(ConfigError, match="VONAGE_GATEWAY"):
        kpn(VONAGE_GATEWAY="acme")


async def test_what_the_profile_needs_is_named_when_missing() -> None:
    async with aiohttp.ClientSession() as session:
        without_id = transport_from_settings(kpn(VONAGE_APPLICATION_ID=""), session)
        without_client = transport_from_settings(
            kpn(VONAGE_OAUTH_CLIENT_ID="", VONAGE_OAUTH_CLIENT_SECRET=""), session
        )
        with pytest.raises(ConfigError, match="VONAGE_SMS_VIA=messages"):
            transport_from_settings(kpn(VONAGE_SMS_VIA="sms-api"), session)

    assert isinstance(without_id, UnconfiguredTransport)
    assert "set VONAGE_APPLICATION_ID" in without_id.reason
    assert isinstance(without_client, UnconfiguredTransport)
    assert "client id" in without_client.reason


@pytest.fixture
async def store() -> AsyncIterator[tuple[str, Sandbox]]:
    bot = BotStandIn()
    await bot.start()
    app = create_sandbox_app(**sandbox_options(bot, make_key_pair().public_pem))
    try:
        async with served(app) as url:
            yield url, app[SANDBOX]
    finally:
        await bot.close()


def limiter_of(transport: Any) -> ChannelLimiter:
    assert isinstance(transport, RetryingTransport)
    limited = transport.inner
    assert isinstance(limited, RateLimitedTransport)
    assert isinstance(limited.limiter, ChannelLimiter)
    return limited.limiter


async def test_the_store_s_quota_paces_sends_even_without_a_reset_time(
    store: tuple[str, Sandbox],
) -> None:
    url, sandbox = store
    sandbox.gateway.quota_limit = 3
    sandbox.gateway.quota_reset = False
    text = Outbound(channel=Channel.WHATSAPP, to=WA_USER, sender=WA_BOT, content=Text(text="x"))

    async with aiohttp.ClientSession() as session:
        transport = transport_from_settings(kpn(url), session)
        receipt = await transport.send(text)
        rate = await limiter_of(transport).effective_rate(Channel.WHATSAPP, WA_BOT)

    assert "quota-reset-utc" not in {name.lower() for name in receipt.headers}
    # Two sends left of three, spread over the minute the quota counts.
    assert rate == pytest.approx(2 / 60, rel=0.05)
    assert sandbox.messages[receipt.message_id].application_id == APPLICATION_ID


async def test_a_template_reaches_the_store_with_default_objects(
    store: tuple[str, Sandbox],
) -> None:
    url, sandbox = store
    sent: list[Mapping[str, Any]] = []
    template = Outbound(
        channel=Channel.WHATSAPP,
        to=WA_USER,
        sender=WA_BOT,
        content=Template(name="order_ready", parameters=("Ana", "12:30")),
    )

    async with aiohttp.ClientSession() as session:
        transport = transport_from_settings(kpn(url), session)
        prepared = transport.prepare(template)
        sent.append(prepared.payload)
        receipt = await transport.send(template)

    parameters = sent[0]["message"]["content"]["template"]["parameters"]
    assert parameters == [{"default": "Ana"}, {"default": "12:30"}]
    assert sandbox.messages[receipt.message_id].content["parameters"] == ["Ana", "12:30"]
