"""Property: whatever the provider (or anyone) sends, the server never answers 5xx and never
logs an error. Valid payloads of every format, synthesised from the spec files, are mutated
(fields dropped, retyped, oversized, garbled) and posted over real HTTP; hostile requests of
``tests/hostile.py`` (deep JSON, lone surrogates, huge numbers, bytes that are not UTF-8, any
method and content type) reach every route, and each 4xx says what was wrong."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botkit import Bot, Context, on
from botkit.server import create_app
from botkit.settings import load_settings
from botkit.vonage.openapi.examples import SpecExample, webhook_examples
from tests.hostile import (
    INSPECTOR_TOKEN,
    HostileRequest,
    hostile_requests,
    json_values,
    names_a_field,
    paths_in,
)

EXAMPLES: list[SpecExample] = [
    example
    for spec in ("messages-v1", "messages-v0.1", "dispatch", "sms")
    for example in webhook_examples(spec)
]
LIMIT = 64 * 1024


def _set(target: Any, path: tuple[Any, ...], value: Any, *, drop: bool = False) -> None:
    for step in path[:-1]:
        target = target[step]
    if drop:
        del target[path[-1]]
    else:
        target[path[-1]] = value


@st.composite
def mutated(draw: st.DrawFn) -> tuple[SpecExample, Any]:
    example = draw(st.sampled_from(EXAMPLES))
    payload = copy.deepcopy(example.payload)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = list(paths_in(payload))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["drop", "retype", "oversize", "garble"]))
        if action == "drop":
            _set(payload, path, None, drop=True)
        elif action == "retype":
            _set(payload, path, draw(json_values))
        elif action == "oversize":
            _set(payload, path, "9" * draw(st.sampled_from([300, 5000, LIMIT + 10])))
        else:
            _set(payload, path, draw(st.text(min_size=1, max_size=20)))
    if example.spec == "sms":
        payload = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
    return example, payload


class SilentBot(Bot):
    """Takes every event and answers nothing, so only the webhook path can log errors."""

    @on.message()
    async def take(self, ctx: Context[dict[str, Any]]) -> None:
        pass


class _Server:
    """One real app on loopback for the whole property run, driven from a private loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        settings_ = load_settings(
            {
                "BOTKIT_ENV": "test",
                "BOTKIT_MAX_BODY_BYTES": str(LIMIT),
                "VONAGE_API_URL": "http://127.0.0.1:9",
                "BOTKIT_INSPECTOR_TOKEN": INSPECTOR_TOKEN,
                "BOTKIT_API_TOKEN": INSPECTOR_TOKEN,
                "VONAGE_WHATSAPP_NUMBER": "447700900000",
                "VONAGE_MESSENGER_PAGE_ID": "botkit-page",
            }
        )

        async def start() -> TestClient[Any, Any]:
            client = TestClient(TestServer(create_app(settings_, SilentBot()), host="127.0.0.1"))
            await client.start_server()
            return client

        self.client = self.loop.run_until_complete(start())

    def post(self, example: SpecExample, payload: Any, how: str) -> int:
        async def go() -> int:
            if example.spec != "sms":
                path = "/webhooks/inbound" if example.webhook == "inbound" else "/webhooks/status"
                response = await self.client.post(path, json=payload)
            else:
                path = (
                    "/webhooks/sms/dlr" if example.webhook == "sms-dlr" else "/webhooks/sms/inbound"
                )
                if how == "query":
                    response = await self.client.get(path, params=payload)
                elif how == "form":
                    response = await self.client.post(path, data=payload)
                else:
                    response = await self.client.post(path, json=payload)
            await response.read()
            return response.status

        return self.loop.run_until_complete(go())

    def send(self, request: HostileRequest) -> tuple[int, bytes]:
        base = f"http://127.0.0.1:{self.client.port}"
        return self.loop.run_until_complete(request.send(self.client.session, base))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.close()


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    running = _Server()
    yield running
    running.close()


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=mutated(), how=st.sampled_from(["query", "form", "json"]))
def test_mutated_payloads_never_get_a_5xx(
    server: _Server, case: tuple[SpecExample, Any], how: str
) -> None:
    example, payload = case
    with structlog.testing.capture_logs() as logs:
        status = server.post(example, payload, how)
    assert status in (200, 400, 413), (example.id, payload, status)
    errors = [line for line in logs if line["log_level"] in ("error", "critical")]
    assert not errors, errors


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=2000),
    path=st.sampled_from(["/webhooks/inbound", "/webhooks/status", "/webhooks/sms/inbound"]),
)
def test_garbage_bodies_get_a_4xx(server: _Server, body: bytes, path: str) -> None:
    async def go() -> int:
        response = await server.client.post(
            path, data=body, headers={"Content-Type": "application/json"}
        )
        await response.read()
        return response.status

    assert server.loop.run_until_complete(go()) in (200, 400)


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(request=hostile_requests)
def test_hostile_requests_on_every_route_get_a_4xx_naming_the_field_never_a_5xx(
    server: _Server, request: HostileRequest
) -> None:
    with structlog.testing.capture_logs() as logs:
        status, body = server.send(request)

    assert status < 500, (request, status, body[:300])
    if status >= 400 and request.method != "HEAD":
        assert names_a_field(body), (request, status, body[:300])
    errors = [line for line in logs if line["log_level"] in ("error", "critical")]
    assert not errors, errors
