"""Test helpers: a recorder standing in for the bot's webhook endpoints, and a sandbox driver.

Both are real aiohttp servers on 127.0.0.1. :class:`BotStandIn` records every request it gets
(path, headers, raw body) and answers 200 unless told to fail. :class:`Harness` drives one
sandbox: it sends as a bot would, plays users, and verifies the signed webhooks that arrive.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jsonschema
import jwt
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from botkit.clock import OffsetClock
from botkit.events import Event
from botkit.sandbox import Delays, Sandbox
from botkit.vonage.inbound.detect import parse_messages_webhook
from botkit.vonage.openapi import SpecName, load_spec, to_json_schema
from botkit.vonage.openapi.examples import webhook_schemas
from botkit.vonage.signing import verify_webhook_jwt

API_KEY = "abcd1234"
API_SECRET = "s3cr3tValue"
SIGNATURE_SECRET = "signature-secret-for-sandbox-tests-0123"
APPLICATION_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
WA_BOT = "447700900000"
WA_USER = "447700900001"
PAGE = "107083064136738"
PSID = "4012345678901234"
VIBER_SERVICE = "16273"
MMS_BOT = "14155550100"
US_USER = "12015550123"
"""MMS goes between American numbers only."""


def basic(key: str = API_KEY, secret: str = API_SECRET) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str


def make_key_pair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(private, public)


def application_jwt(private_pem: str, application_id: str = APPLICATION_ID, **claims: Any) -> str:
    now = int(time.time())
    payload = {"application_id": application_id, "iat": now, "jti": str(uuid.uuid4()), **claims}
    payload.setdefault("exp", now + 900)
    return jwt.encode(payload, private_pem, algorithm="RS256")


@dataclass(frozen=True)
class Received:
    """One request the bot's stand-in got."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def verified(self) -> dict[str, Any]:
        """The JWT claims, after checking signature and payload hash as botkit does."""
        return verify_webhook_jwt(
            self.headers.get("Authorization"), self.body, SIGNATURE_SECRET, max_age=300
        )

    def event(self, now: datetime | None = None) -> Event:
        """The webhook as botkit parses it, read at ``now`` (default: the machine's time)."""
        return parse_messages_webhook(self.json, now=now or datetime.now(UTC))


class BotStandIn:
    """A real server on 127.0.0.1 recording webhooks at any path under ``/webhooks/``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.fail_next: list[int] = []
        self._arrived = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/webhooks/{name}", self._record)
        self._server = TestServer(app, host="127.0.0.1")

    async def start(self) -> None:
        await self._server.start_server()

    async def close(self) -> None:
        await self._server.close()

    def url(self, path: str) -> str:
        return str(self._server.make_url(path))

    async def _record(self, request: web.Request) -> web.Response:
        received = Received(request.path, dict(request.headers), await request.read())
        async with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()
        if self.fail_next:
            return web.Response(status=self.fail_next.pop(0))
        return web.Response(status=200)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def wait_for(
        self,
        path: str,
        count: int,
        timeout: float = 5.0,
        which: Callable[[Received], bool] = lambda _: True,
    ) -> list[Received]:
        """Wait until ``count`` requests (of those ``which`` accepts) reached ``path``; return
        them in arrival order."""

        def found() -> list[Received]:
            return [r for r in self.at(path) if which(r)]

        async def enough() -> None:
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(found()) >= count)

        try:
            await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            raise AssertionError(f"{len(found())} of {count} at {path}: {found()}") from None
        return found()


@contextlib.asynccontextmanager
async def served(app: web.Application) -> AsyncIterator[str]:
    """``app`` served on 127.0.0.1 at a free port, as ``botkit dev`` serves its sandbox; yields
    its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def sandbox_options(bot: BotStandIn, public_pem: str) -> dict[str, Any]:
    """The arguments of ``create_sandbox_app`` for the tests' account: its credentials, the
    linked application with ``public_pem``, webhooks to ``bot``, no delays and no retries."""
    return {
        "clock": OffsetClock(),
        "signature_secret": SIGNATURE_SECRET,
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "application_id": APPLICATION_ID,
        "public_key_pem": public_pem,
        "inbound_url": bot.url("/webhooks/inbound"),
        "status_url": bot.url("/webhooks/status"),
        "delays": Delays.none(),
        "webhook_retry_delays": (),
    }


class Harness:
    """One sandbox under test and the bot stand-in its webhooks go to."""

    def __init__(self, client: TestClient[Any, Any], sandbox: Sandbox, bot: BotStandIn) -> None:
        self.client = client
        self.sandbox = sandbox
        self.bot = bot

    async def send(
        self, body: Any, *, api: str = "v1", authorization: str | None = None
    ) -> tuple[int, Any, Any]:
        """POST a send; return the status, the decoded JSON answer and the headers."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = await self.client.post(
            f"/{api}/messages",
            data=raw,
            headers={
                "Content-Type": "application/json",
                "Authorization": authorization if authorization is not None else basic(),
            },
        )
        return response.status, await response.json(content_type=None), response.headers

    async def accepted(self, body: dict[str, Any], *, api: str = "v1", **kwargs: Any) -> str:
        status, answer, _ = await self.send(body, api=api, **kwargs)
        assert status == 202, answer
        message_uuid: str = answer["message_uuid"]
        return message_uuid

    async def user_says(self, channel: str, user: str, message: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(
            f"/_sandbox/users/{channel}/{user}/messages", json=message
        )
        answer: dict[str, Any] = await response.json()
        assert response.status == 201, answer
        return answer

    async def statuses(self, message_uuid: str, count: int) -> list[Received]:
        """The first ``count`` status webhooks about ``message_uuid``, once they arrived."""
        await self.sandbox.settle()
        return await self.bot.wait_for(
            "/webhooks/status", count, which=lambda r: _uuid_of(r) == message_uuid
        )

    async def get(self, path: str) -> Any:
        response = await self.client.get(path)
        assert response.status == 200, await response.text()
        return await response.json()


def _uuid_of(received: Received) -> str | None:
    try:
        value = received.json.get("message_uuid")
    except ValueError:
        return None
    return value if isinstance(value, str) else None


@cache
def _webhook_validator(spec: SpecName, webhook: str) -> Any:
    schema = to_json_schema(load_spec(spec), webhook_schemas(spec)[webhook])  # type: ignore[index]
    return jsonschema.Draft202012Validator(schema)


@cache
def _error_validator(name: str) -> Any:
    schema = to_json_schema(load_spec("messages-v1"), {"$ref": f"#/components/schemas/{name}"})
    return jsonschema.Draft202012Validator(schema)


def assert_matches_webhook_schema(spec: SpecName, webhook: str, payload: Any) -> None:
    """``payload`` is valid against the spec's schema of ``webhook`` (``inbound``/``status``)."""
    _webhook_validator(spec, webhook).validate(payload)


def assert_matches_error_schema(name: str, body: Any) -> None:
    """``body`` is valid against the v1 spec's error schema ``name``."""
    _error_validator(name).validate(body)
