"""A scripted provider on loopback for transport tests: the Messages API (v1 and v0.1), the
SMS API and an OAuth2 token endpoint, answering from a script and recording every request."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Answer:
    """One scripted answer: status, body, headers, and seconds to stall before it."""

    status: int = 202
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    """One request: its path, decoded body (JSON or form), ``Authorization`` header, the
    client's address and when it arrived (monotonic seconds)."""

    path: str
    body: dict[str, Any]
    authorization: str
    peer: Any
    at: float = field(default_factory=time.monotonic)

    @property
    def client_ref(self) -> str:
        return str(self.body.get("client_ref") or self.body.get("client-ref"))


class Provider:
    """The provider's send endpoints. Answers come from :attr:`script` in order; once it is
    empty every send is taken. :attr:`taken` lists the client refs of the sends answered 2xx
    (an SMS answered with status 0), which is what the provider would deliver."""

    def __init__(self) -> None:
        self.script: list[Answer] = []
        self.seen: list[Seen] = []
        self.taken: list[str] = []
        self.tokens_issued = 0
        self.token_requests: list[Seen] = []
        self.refused_tokens: set[str] = set()
        self.release = asyncio.Event()
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v0.1/messages", self._messages)
        app.router.add_post("/sms/json", self._sms)
        app.router.add_post("/token", self._token)
        self._server = TestServer(app, host="127.0.0.1")

    @property
    def url(self) -> str:
        return str(self._server.make_url("")).rstrip("/")

    @property
    def connections(self) -> int:
        return len({s.peer for s in self.seen})

    async def start(self) -> None:
        await self._server.start_server()

    async def close(self) -> None:
        self.release.set()
        await self._server.close()

    async def _record(self, request: web.Request, body: dict[str, Any]) -> Answer | None:
        self.seen.append(
            Seen(
                request.path,
                body,
                request.headers.get("Authorization", ""),
                request.transport.get_extra_info("peername") if request.transport else None,
            )
        )
        return self.script.pop(0) if self.script else None

    async def _stall(self, answer: Answer) -> None:
        # Past the client's timeout: the send is taken all the same, as a slow provider's is.
        if answer.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), answer.delay)

    async def _messages(self, request: web.Request) -> web.Response:
        body = await request.json()
        authorization = request.headers.get("Authorization", "")
        if authorization.removeprefix("Bearer ") in self.refused_tokens:
            await self._record(request, body)
            return web.json_response({"title": "Unauthorized"}, status=401)
        answer = await self._record(request, body) or Answer(202)
        if 200 <= answer.status < 300:
            self.taken.append(str(body.get("client_ref")))
        await self._stall(answer)
        payload = answer.body
        if payload is None and answer.status == 202:
            payload = {"message_uuid": f"uuid-{len(self.seen)}"}
        return _respond(answer, payload)

    async def _sms(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        answer = await self._record(request, form) or Answer(200)
        payload = answer.body
        if payload is None:
            payload = {
                "message-count": "1",
                "messages": [{"status": "0", "message-id": f"sms-{len(self.seen)}"}],
            }
        if isinstance(payload, dict) and any(
            isinstance(p, dict) and p.get("status") == "0" for p in payload.get("messages", [])
        ):
            self.taken.append(form.get("client-ref", ""))
        await self._stall(answer)
        return _respond(answer, payload)

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.token_requests.append(
            Seen(request.path, form, request.headers.get("Authorization", ""), None)
        )
        self.tokens_issued += 1
        return web.json_response({"access_token": f"t{self.tokens_issued}", "expires_in": 3600})


def _respond(answer: Answer, payload: Any) -> web.Response:
    if isinstance(payload, str):
        return web.Response(status=answer.status, text=payload, headers=answer.headers)
    return web.Response(
        status=answer.status,
        text=json.dumps(payload),
        headers={"Content-Type": "application/json", **answer.headers},
    )


class FakeTime:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def wall(self) -> float:
        return 1_700_000_000.0 + self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def closed_port_url() -> str:
    """The URL of a loopback port nothing listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
