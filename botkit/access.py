"""The token that guards everything showing users' data: the inspector API, the metrics, the
sandbox's pages and control API.

A request passes with the token in any of three places: an ``Authorization: Bearer <token>``
header (for programs), a ``?token=`` query parameter (for the link ``botkit dev`` prints), or
the ``botkit_token`` cookie. A request that passed with the query parameter gets the cookie
set (HttpOnly, SameSite=Strict), so the pages keep working as they call their APIs. Anything
else is answered 401 with a JSON reason. Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

COOKIE = "botkit_token"
MIN_LENGTH = 16
"""Shorter tokens are refused at start (``BOTKIT_INSPECTOR_TOKEN``): they can be guessed."""

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _presented(request: web.Request) -> tuple[str | None, bool]:
    """The token the request carries, and whether it came in the query string."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    if "token" in request.query:
        return request.query["token"], True
    return request.cookies.get(COOKIE), False


def _matches(presented: str | None, expected: bytes) -> bool:
    return presented is not None and hmac.compare_digest(presented.encode(), expected)


def carries(request: web.Request, token: str) -> bool:
    """True when ``request`` carries ``token`` (header, query or cookie)."""
    return _matches(_presented(request)[0], token.encode())


def bears(request: web.Request, token: str) -> bool:
    """True when ``request`` carries ``token`` in its ``Authorization: Bearer`` header, and
    only there: an API for programs takes no token from a URL (logged along the way) or a
    cookie (sent by browsers on their own). Compared in constant time."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(errors="replace"), token.encode())


def token_guard(token: str, guarded: Callable[[str], bool] = lambda path: True) -> Middleware:
    """A middleware answering 401 to requests for a ``guarded`` path (all paths by default)
    that do not carry ``token``."""
    expected = token.encode()

    @web.middleware
    async def guard(request: web.Request, handler: _Handler) -> web.StreamResponse:
        if not guarded(request.path):
            return await handler(request)
        presented, in_query = _presented(request)
        if not _matches(presented, expected):
            return web.json_response(
                {
                    "error": "unauthorized",
                    "message": "this shows users' data: open the link with ?token=... that "
                    "botkit dev printed, or send Authorization: Bearer <BOTKIT_INSPECTOR_TOKEN>",
                },
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        response = await handler(request)
        if in_query:
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
        return response

    return guard
