"""Authenticators: Basic, application JWTs renewed before expiry, OAuth2 tokens shared."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr

from botkit.errors import ConfigError
from botkit.vonage.auth import (
    BasicAuth,
    ClientAuth,
    JwtAuth,
    OAuth2ClientCredentials,
    choose_auth,
)
from botkit.vonage.errors import MalformedResponse, ProviderUnavailable, Unauthorized

APP_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.time = now

    def now(self) -> float:
        return self.time


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def private_pem(rsa_key: rsa.RSAPrivateKey) -> str:
    return rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def bearer(headers: dict[str, str]) -> str:
    scheme, _, token = headers["Authorization"].partition(" ")
    assert scheme == "Bearer"
    return token


async def test_basic_auth_header() -> None:
    auth = BasicAuth("key", "secret")
    expected = "Basic " + base64.b64encode(b"key:secret").decode()
    assert await auth.headers() == {"Authorization": expected}
    await auth.refresh()
    assert await auth.headers() == {"Authorization": expected}


async def test_jwt_claims_verify_with_the_public_key(
    rsa_key: rsa.RSAPrivateKey, private_pem: str
) -> None:
    clock = FakeClock()
    auth = JwtAuth(APP_ID, private_pem, clock=clock)
    token = bearer(await auth.headers())
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT"}
    claims = jwt.decode(
        token,
        rsa_key.public_key(),
        algorithms=["RS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert set(claims) == {"application_id", "iat", "jti", "exp"}
    assert claims["application_id"] == APP_ID
    assert claims["iat"] == int(clock.time)
    assert claims["exp"] == int(clock.time) + 900
    assert uuid.UUID(claims["jti"]).version == 4


async def test_jwt_is_reused_then_renewed_before_it_expires(private_pem: str) -> None:
    clock = FakeClock()
    auth = JwtAuth(APP_ID, private_pem, ttl=300, renew_before=60, clock=clock)
    first = bearer(await auth.headers())
    clock.time += 239
    assert bearer(await auth.headers()) == first
    clock.time += 1  # 60 s left: renew now rather than risk an expired token in flight
    second = bearer(await auth.headers())
    assert second != first
    claims = jwt.decode(second, options={"verify_signature": False})
    assert claims["iat"] == int(clock.time)
    await auth.refresh()
    assert bearer(await auth.headers()) not in (first, second)


def test_jwt_rejects_bad_keys_and_lifetimes(private_pem: str) -> None:
    with pytest.raises(ConfigError, match="not an unencrypted PEM"):
        JwtAuth(APP_ID, "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----")
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(ConfigError, match="RSA"):
        JwtAuth(APP_ID, ec_pem)
    with pytest.raises(ConfigError, match="30 s to 24 h"):
        JwtAuth(APP_ID, private_pem, ttl=10)
    with pytest.raises(ConfigError, match="renew_before"):
        JwtAuth(APP_ID, private_pem, ttl=60, renew_before=60)


@dataclass
class TokenServer:
    """An OAuth2 token endpoint on loopback that counts the tokens it hands out."""

    expires_in: object = 3600
    gate: asyncio.Event | None = None
    """When set, each request waits for it before answering (a token request in flight)."""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    answer: tuple[int, str] | None = None
    requests: list[dict[str, str]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    url: str = ""

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.requests.append({k: str(v) for k, v in form.items()})
        self.authorizations.append(request.headers.get("Authorization", ""))
        self.arrived.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.answer is not None:
            return web.Response(status=self.answer[0], text=self.answer[1])
        body: dict[str, object] = {
            "access_token": f"token-{len(self.requests)}",
            "token_type": "Bearer",
        }
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return web.json_response(body)


@pytest.fixture
async def token_server() -> AsyncIterator[TokenServer]:
    state = TokenServer()
    app = web.Application()
    app.router.add_post("/oauth2/token", state.token)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    state.url = str(server.make_url("/oauth2/token"))
    yield state
    await server.close()


@pytest.mark.parametrize(
    ("client_auth", "form", "authorization"),
    [
        # RFC 6749 2.3.1: form-encoded, then Basic.
        ("basic", {}, "Basic " + base64.b64encode(b"client+id:s3cret%3A").decode()),
        # As Apigee gateways (KPN's API Store) take them.
        ("body", {"client_id": "client id", "client_secret": "s3cret:"}, ""),
    ],
)
async def test_oauth2_requests_a_token_with_client_credentials(
    token_server: TokenServer,
    session: aiohttp.ClientSession,
    client_auth: ClientAuth,
    form: dict[str, str],
    authorization: str,
) -> None:
    auth = OAuth2ClientCredentials(
        token_server.url, "client id", "s3cret:", session, scope="messages", client_auth=client_auth
    )
    assert await auth.headers() == {"Authorization": "Bearer token-1"}
    assert token_server.requests == [
        {"grant_type": "client_credentials", "scope": "messages", **form}
    ]
    assert token_server.authorizations == [authorization]


async def test_oauth2_token_is_cached_and_renewed_on_expiry(
    token_server: TokenServer, session: aiohttp.ClientSession
) -> None:
    token_server.expires_in = "120"
    clock = FakeClock()
    auth = OAuth2ClientCredentials(token_server.url, "id", "secret", session, clock=clock)
    assert await auth.headers() == {"Authorization": "Bearer token-1"}
    clock.time += 89
    assert await auth.headers() == {"Authorization": "Bearer token-1"}
    assert auth.fetches == 1
    clock.time += 1  # 120 s minus the 30 s margin
    assert await auth.headers() == {"Authorization": "Bearer token-2"}
    assert auth.fetches == 2


async def test_one_token_request_for_twenty_concurrent_callers(
    token_server: TokenServer, session: aiohttp.ClientSession
) -> None:
    token_server.gate = asyncio.Event()
    auth = OAuth2ClientCredentials(token_server.url, "id", "secret", session)
    callers = asyncio.gather(*(auth.headers() for _ in range(20)))
    # Every caller has started (tasks run in the order made, before any socket is read) and
    # the token request is held at the server: all twenty ask while it is in flight.
    await token_server.arrived.wait()
    token_server.gate.set()
    headers = await callers
    assert {h["Authorization"] for h in headers} == {"Bearer token-1"}
    assert len(token_server.requests) == 1


async def test_one_refresh_for_twenty_callers_refused_with_the_same_token(
    token_server: TokenServer, session: aiohttp.ClientSession
) -> None:
    auth = OAuth2ClientCredentials(token_server.url, "id", "secret", session)
    assert await auth.headers() == {"Authorization": "Bearer token-1"}
    token_server.gate = asyncio.Event()
    token_server.arrived.clear()
    refreshes = asyncio.gather(*(auth.refresh() for _ in range(20)))
    await token_server.arrived.wait()
    token_server.gate.set()
    await refreshes
    assert len(token_server.requests) == 2
    assert await auth.headers() == {"Authorization": "Bearer token-2"}


async def test_a_token_without_expires_in_is_kept_until_refused(
    token_server: TokenServer, session: aiohttp.ClientSession
) -> None:
    token_server.expires_in = None
    clock = FakeClock()
    auth = OAuth2ClientCredentials(token_server.url, "id", "secret", session, clock=clock)
    await auth.headers()
    clock.time += 10 * 86400
    assert await auth.headers() == {"Authorization": "Bearer token-1"}
    await auth.refresh()
    assert await auth.headers() == {"Authorization": "Bearer token-2"}


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ((401, '{"error": "invalid_client"}'), Unauthorized),
        ((503, "down"), ProviderUnavailable),
        ((200, '{"token_type": "Bearer"}'), MalformedResponse),
        ((200, "<html>"), MalformedResponse),
    ],
)
async def test_token_endpoint_failures_are_send_errors(
    token_server: TokenServer,
    session: aiohttp.ClientSession,
    answer: tuple[int, str],
    error: type[Exception],
) -> None:
    token_server.answer = answer
    auth = OAuth2ClientCredentials(token_server.url, "id", "secret", session)
    with pytest.raises(error, match="OAuth2 token endpoint"):
        await auth.headers()


async def test_choose_auth(private_pem: str, session: aiohttp.ClientSession) -> None:
    assert isinstance(choose_auth(api_key="k", api_secret=SecretStr("s")), BasicAuth)
    both = choose_auth(
        api_key="k", api_secret="s", application_id=APP_ID, private_key=SecretStr(private_pem)
    )
    assert isinstance(both, JwtAuth)
    half = choose_auth(api_key="k", api_secret="s", application_id=APP_ID)
    assert isinstance(half, BasicAuth)
    oauth = choose_auth(
        api_key="k", api_secret="s", token_url="https://auth.example/token", session=session
    )
    assert isinstance(oauth, OAuth2ClientCredentials)
    with pytest.raises(ConfigError, match="VONAGE_PRIVATE_KEY"):
        choose_auth(application_id=APP_ID)
    with pytest.raises(ConfigError, match="no credentials"):
        choose_auth()
    with pytest.raises(ConfigError, match="session"):
        choose_auth(token_url="https://auth.example/token", client_id="c", client_secret="s")
