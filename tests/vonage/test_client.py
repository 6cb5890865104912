"""The transport stack built from the settings, judged by what reaches a provider on loopback:
every combination of authentication, Messages API version and SMS route, and the rates."""

from __future__ import annotations

import asyncio
import base64
import itertools
from typing import Any, Literal

import aiohttp
import jwt
import pytest

from botkit.errors import ConfigError
from botkit.events import Channel, Text
from botkit.outbound import Outbound
from botkit.settings import Settings, load_settings
from botkit.store.base import Store
from botkit.store.memory import MemoryStore
from botkit.store.redis import RedisStore
from botkit.vonage.client import transport_from_settings
from botkit.vonage.errors import SendError
from botkit.vonage.outbound import messages_v0, messages_v1
from tests.conftest import RedisServer
from tests.sandbox.harness import KeyPair, make_key_pair
from tests.vonage.provider import Answer, Provider

Auth = Literal["basic", "jwt", "oauth2", "none"]
APPLICATION_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"


@pytest.fixture(scope="module")
def keys() -> KeyPair:
    return make_key_pair()


def settings(provider: Provider, keys: KeyPair, auth: Auth, **env: str) -> Settings:
    credentials: dict[str, str] = {
        "basic": {"VONAGE_API_KEY": "key", "VONAGE_API_SECRET": "secret"},
        "jwt": {"VONAGE_APPLICATION_ID": APPLICATION_ID, "VONAGE_PRIVATE_KEY": keys.private_pem},
        "oauth2": {
            "VONAGE_OAUTH_TOKEN_URL": provider.url + "/token",
            "VONAGE_OAUTH_CLIENT_ID": "client",
            "VONAGE_OAUTH_CLIENT_SECRET": "client-secret",
        },
        "none": {},
    }[auth]
    return load_settings(
        {
            "BOTKIT_ENV": "test",
            "VONAGE_API_URL": provider.url,
            "VONAGE_SMS_API_URL": provider.url,
            **credentials,
            **env,
        }
    )


def message(channel: Channel, text: str = "hello") -> Outbound:
    return Outbound(
        channel=channel, to="447700900001", sender="447700900000", content=Text(text=text)
    )


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def assert_authorized(authorization: str, auth: Auth, provider: Provider, keys: KeyPair) -> None:
    if auth == "basic":
        assert authorization == basic("key", "secret")
    elif auth == "jwt":
        scheme, _, token = authorization.partition(" ")
        assert scheme == "Bearer"
        claims = jwt.decode(token, keys.public_pem, algorithms=["RS256"])
        assert claims["application_id"] == APPLICATION_ID
    else:
        assert authorization == "Bearer t1"
        (token_request,) = provider.token_requests
        assert token_request.authorization == basic("client", "client-secret")
        assert token_request.body == {"grant_type": "client_credentials"}


@pytest.mark.parametrize(
    ("auth", "version", "sms_via"),
    [
        (auth, version, sms_via)
        for auth, version, sms_via in itertools.product(
            ("basic", "jwt", "oauth2"), ("v1", "v0.1"), ("messages", "sms-api")
        )
        if sms_via == "messages" or auth == "basic"
    ],
)
async def test_every_combination_reaches_the_provider_as_configured(
    provider: Provider,
    session: aiohttp.ClientSession,
    keys: KeyPair,
    auth: Auth,
    version: Literal["v1", "v0.1"],
    sms_via: Literal["messages", "sms-api"],
) -> None:
    env = {"VONAGE_MESSAGES_VERSION": version, "VONAGE_SMS_VIA": sms_via}
    transport = transport_from_settings(settings(provider, keys, auth, **env), session)
    whatsapp, sms = message(Channel.WHATSAPP), message(Channel.SMS)
    await transport.send(whatsapp)
    await transport.send(sms)
    chat, text = provider.seen
    body = messages_v1.body if version == "v1" else messages_v0.body
    assert chat.path == f"/{version}/messages"
    assert chat.body == body(whatsapp)
    assert_authorized(chat.authorization, auth, provider, keys)
    if sms_via == "messages":
        assert text.path == f"/{version}/messages"
        assert text.body == body(sms)
        assert_authorized(text.authorization, auth, provider, keys)
    else:
        assert text.path == "/sms/json"
        assert text.authorization == ""
        assert text.body["api_key"] == "key"
        assert text.body["api_secret"] == "secret"
        assert text.body["client-ref"] == sms.effective_client_ref
        assert text.body["text"] == "hello"


@pytest.mark.parametrize("auth", ["jwt", "oauth2"])
def test_the_sms_api_needs_a_key_and_secret(
    provider: Provider, session: aiohttp.ClientSession, keys: KeyPair, auth: Auth
) -> None:
    with pytest.raises(ConfigError, match="VONAGE_SMS_VIA=sms-api needs VONAGE_API_KEY"):
        transport_from_settings(settings(provider, keys, auth, VONAGE_SMS_VIA="sms-api"), session)


@pytest.mark.parametrize("env", [{}, {"VONAGE_APPLICATION_ID": APPLICATION_ID}])
async def test_without_credentials_every_send_fails_saying_what_to_set(
    provider: Provider, session: aiohttp.ClientSession, keys: KeyPair, env: dict[str, str]
) -> None:
    transport = transport_from_settings(settings(provider, keys, "none", **env), session)
    with pytest.raises(SendError, match="VONAGE_") as caught:
        await transport.send(message(Channel.WHATSAPP))
    assert caught.value.retryable is False
    assert caught.value.attempts == 1
    assert provider.seen == []


@pytest.mark.parametrize("sms_via", ["messages", "sms-api"])
async def test_retryable_failures_are_sent_again_with_the_same_request(
    provider: Provider, session: aiohttp.ClientSession, keys: KeyPair, sms_via: str
) -> None:
    transport = transport_from_settings(
        settings(provider, keys, "basic", VONAGE_SMS_VIA=sms_via), session
    )
    throttled = (
        Answer(429, {"title": "Rate Limit Hit"}, {"Retry-After": "0"})
        if sms_via == "messages"
        else Answer(200, {"messages": [{"status": "1", "error-text": "Throttled"}]})
    )
    provider.script = [Answer(503, "busy"), throttled]
    receipt = await transport.send(message(Channel.SMS))
    assert receipt.attempts == 3
    first, second, third = provider.seen
    assert first.body == second.body == third.body
    assert provider.taken == [receipt.client_ref]


async def span(transport: Any, provider: Provider, channel: Channel, count: int) -> float:
    """Seconds from the first send's arrival to the last's, ``count`` sent at once."""
    await asyncio.gather(*(transport.send(message(channel, f"message {n}")) for n in range(count)))
    assert len(provider.seen) == count
    return provider.seen[-1].at - provider.seen[0].at


@pytest.mark.parametrize(
    ("rates", "channel", "rate"),
    [
        ("whatsapp=20", Channel.WHATSAPP, 20.0),
        ("sms=25,whatsapp=80", Channel.SMS, 25.0),
        ("whatsapp=80", Channel.SMS, 30.0),
    ],
)
async def test_sends_reach_the_provider_at_the_configured_rate(
    provider: Provider,
    session: aiohttp.ClientSession,
    keys: KeyPair,
    rates: str,
    channel: Channel,
    rate: float,
) -> None:
    transport = transport_from_settings(
        settings(provider, keys, "basic", BOTKIT_RATE_LIMITS=rates), session
    )
    # Six sends at once: each leaves with its token, the sixth no sooner than 5/rate after
    # the first (less 10 ms for the first one's time on the wire).
    assert await span(transport, provider, channel, 6) >= 5 / rate - 0.01


@pytest.mark.parametrize("shared", [True, False])
async def test_the_rate_is_kept_together_by_processes_that_share_a_redis_store(
    provider: Provider,
    session: aiohttp.ClientSession,
    keys: KeyPair,
    redis_server: RedisServer,
    redis_prefix: str,
    shared: bool,
) -> None:
    config = settings(provider, keys, "basic", BOTKIT_RATE_LIMITS="whatsapp=20")
    stores: list[Store] = (
        [RedisStore.from_url(redis_server.url, prefix=redis_prefix) for _ in range(2)]
        if shared
        else [MemoryStore(), MemoryStore()]
    )
    try:
        first, second = (transport_from_settings(config, session, store) for store in stores)
        await asyncio.gather(
            *(t.send(message(Channel.WHATSAPP, f"{n}")) for t in (first, second) for n in range(6))
        )
    finally:
        for store in stores:
            await store.close()
    elapsed = provider.seen[-1].at - provider.seen[0].at
    if shared:
        # Twelve sends of one sender through two processes: 11/20 s at the least, together.
        assert elapsed >= 11 / 20 - 0.01
    else:
        # Each memory store paces its own process: six sends each (5/20 s), side by side.
        assert elapsed < 11 / 20 - 0.1
