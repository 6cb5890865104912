"""``botkit dev`` shows users' data only to whoever holds the token it printed, and answers
the provider's API to whoever holds the provider credentials it printed."""

from __future__ import annotations

import asyncio
import os
import re
import stat
import sys
import time
import uuid

import aiohttp
import jwt
import pytest

from botkit.devserver import DevServer
from tests.conftest import _free_port, basic, dev_server


@pytest.mark.parametrize(
    "path", ["/", "/inspector", "/config.js", "/_sandbox/conversations", "/_botkit/conversations"]
)
async def test_pages_and_apis_refuse_a_visitor_without_the_token(dev: DevServer, path: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(dev.sandbox_url + path) as response:
            assert response.status == 401
        async with session.get(f"{dev.bot_url}/_botkit/conversations") as response:
            assert response.status == 401


async def test_the_printed_link_lets_the_browser_in_with_a_cookie(dev: DevServer) -> None:
    # Like a browser, accept cookies from an IP address.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(dev.chat_url) as response:
            assert response.status == 200
            assert "Access-Control-Allow-Origin" not in response.headers
        url = f"{dev.sandbox_url}/_sandbox/users/whatsapp/447700900001/messages"
        async with session.post(url, json={"text": "hi"}) as response:
            assert response.status == 201
        async with session.get(f"{dev.sandbox_url}/_botkit/bot") as response:
            assert response.status == 200
            assert (await response.json())["name"] == "PizzaBot"
            assert "Access-Control-Allow-Origin" not in response.headers


async def test_programs_send_the_token_as_a_bearer(dev: DevServer) -> None:
    async with aiohttp.ClientSession(headers=dev.auth_headers) as session:
        async with session.get(f"{dev.sandbox_url}/_sandbox/clock") as response:
            assert response.status == 200
        async with session.get(f"{dev.bot_url}/_botkit/bot") as response:
            assert response.status == 200


async def test_outside_clients_reach_the_provider_api_with_the_printed_credentials(
    dev: DevServer,
) -> None:
    credentials = dev.credentials
    key_file = dev.private_key_path
    assert key_file is not None
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    now = int(time.time())
    token = jwt.encode(
        {"application_id": credentials.application_id, "iat": now, "jti": str(uuid.uuid4())},
        key_file.read_text(),
        algorithm="RS256",
    )
    sms = {"channel": "sms", "message_type": "text", "to": "447700900001", "text": "hi"}
    sms["from"] = "447700900000"
    account = basic(credentials.api_key, credentials.api_secret)
    async with aiohttp.ClientSession() as session:
        url = f"{dev.sandbox_url}/v2/applications/{credentials.application_id}"
        async with session.get(url, headers={"Authorization": account}) as response:
            assert response.status == 200
            application = await response.json()
        url = f"{dev.sandbox_url}/v1/messages"
        async with session.post(url, json=sms, headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 202, await r.text()
        async with session.post(url, json=sms, headers={"Authorization": basic("x", "y")}) as r:
            assert r.status == 401

    assert application["keys"]["public_key"] == credentials.public_key_pem
    assert application["capabilities"]["messages"]["webhooks"]["inbound_url"]["address"] == (
        f"{dev.bot_url}/webhooks/inbound"
    )


async def test_the_private_key_file_goes_away_when_dev_stops() -> None:
    server = dev_server()
    await server.start(watch=False)
    key_file = server.private_key_path
    assert key_file is not None
    assert key_file.exists()

    await server.stop()

    assert not key_file.exists()
    assert not key_file.parent.exists()


@pytest.mark.slow
async def test_botkit_dev_prints_what_a_client_needs_and_takes_the_secrets_given() -> None:
    sandbox_port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "botkit", "dev", "bots.pizza:PizzaBot",
        "--port", str(_free_port()), "--sandbox-port", str(sandbox_port),
        "--api-secret", "chosen-api-secret", "--signature-secret", "chosen-signature-secret",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "BOTKIT_ENV": "development", "LOG_LEVEL": "warning"},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        printed = await asyncio.wait_for(_printed_until_stop_hint(process.stdout), 60)
        fields = dict(re.findall(r"^  ([A-Z][A-Za-z ]+?):\s+(\S+)", printed, re.MULTILINE))
        assert fields["API base URL"] == f"http://127.0.0.1:{sandbox_port}"
        assert fields["API secret"] == "chosen-api-secret"
        assert fields["Signature secret"] == "chosen-signature-secret"
        assert stat.S_IMODE(os.stat(fields["Private key"]).st_mode) == 0o600
        account = basic(fields["API key"], fields["API secret"])
        url = f"{fields['API base URL']}/v2/applications/{fields['Application id']}"
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, headers={"Authorization": account}) as response,
        ):
            assert response.status == 200
    finally:
        process.terminate()
        await process.wait()


async def _printed_until_stop_hint(stdout: asyncio.StreamReader) -> str:
    lines: list[str] = []
    while not lines or "Press Ctrl+C" not in lines[-1]:
        line = (await stdout.readline()).decode()
        assert line, "botkit dev ended before it printed its credentials:\n" + "".join(lines)
        lines.append(line)
    return "".join(lines)
