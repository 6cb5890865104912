"""``botkit dev`` shows users' data only to whoever holds the token it printed."""

from __future__ import annotations

import aiohttp
import pytest

from botkit.devserver import DevServer


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
