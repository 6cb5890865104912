"""The sandbox playing a gateway that resells the Messages API: KPN's API Store.

Under ``/kpn``, as the store answers at ``https://api-prd.kpn.com``:

- ``POST /kpn/oauth/client_credential/accesstoken``: a client-credentials token. The client id
  and secret are the account's API key and secret, in the form body or as HTTP Basic;
  ``grant_type=client_credentials`` in the query or the form. 200 ``{"access_token",
  "token_type": "BearerToken", "expires_in": "3599", "issued_at"}``; 401 ``{"ErrorCode":
  "invalid_client", "Error": ...}`` for other credentials, 400 for another grant type. While
  :attr:`Gateway.token_status` is set (``POST /_sandbox/gateway {"token_status": 503}``), every
  token request is answered with that status instead. Every refusal is journaled
  (``rejected``, ``api: "gateway-token"``).
- ``POST /kpn/communication/nexmo/v1/messages`` and ``.../v0.1/messages``: a send as
  ``/v1/messages`` takes it, but authenticated the gateway's way: a token issued here and not
  expired (else 401 with the gateway's ``fault`` body), and the application id in the header
  :attr:`Gateway.application_header`, naming an application of the account (else 401); its
  statuses go to that application's ``status_url``. A WhatsApp template's parameters must be
  ``{"default": "..."}`` objects (else 400 naming ``template.parameters``). Every answer carries
  the store's quota headers: ``quota-interval: 1``, ``quota-time-unit: minute``,
  ``quota-limit``, ``quota-used`` (sends this minute, by the sandbox clock) and
  ``quota-reset-UTC`` unless :attr:`Gateway.quota_reset` is off; past the limit, 429.

``GET``/``POST /_sandbox/gateway`` read and change ``token_status``, ``quota_limit``,
``quota_reset`` and ``application_header``.
"""

from __future__ import annotations

import hmac
import json
import math
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from botkit.clock import Clock
from botkit.sandbox.applications import ACCOUNT, APPLICATIONS
from botkit.sandbox.auth import rest_params
from botkit.sandbox.journal import Journal
from botkit.sandbox.schemas import SendApi
from botkit.vonage.gateway import DEFAULT_APPLICATION_HEADER

TOKEN_SECONDS = 3599
TOKEN_PATH = "/kpn/oauth/client_credential/accesstoken"
"""The store's token endpoint (``https://api-prd.kpn.com`` + this)."""
MESSAGES_BASE = "/kpn/communication/nexmo"
"""The store's Messages API base (``https://api-prd.kpn.com`` + this)."""

GatewaySend = Callable[[web.Request, SendApi, bytes, str], Awaitable[web.Response]]
"""Accepts a send the gateway let through: the request, the API, the body to hand the
provider and the application id the gateway named."""


class Gateway:
    """What the sandbox's gateway knows: its tokens, its quota and how it is set up."""

    def __init__(self, clock: Clock, journal: Journal) -> None:
        self._clock = clock
        self._journal = journal
        self._tokens: dict[str, float] = {}
        self.application_header = DEFAULT_APPLICATION_HEADER
        self.token_status: int | None = None
        """An HTTP status every token request is answered with (None: tokens are issued)."""
        self.quota_limit = 1000
        self.quota_reset = True
        """Whether answers carry ``quota-reset-UTC`` (the store's sometimes do not)."""
        self.tokens_issued = 0
        self._window = -1
        self._used = 0

    def refuse_token(self, status: int, body: dict[str, Any]) -> web.Response:
        """Answer a token request with ``status``, and log it as a rejection."""
        self._journal.record(
            "rejected", None, None, api="gateway-token", http_status=status, problem=body
        )
        return web.json_response(body, status=status)

    def issue(self) -> dict[str, str]:
        token = secrets.token_urlsafe(24)
        now = self._clock.now()
        self._tokens[token] = now + TOKEN_SECONDS
        self.tokens_issued += 1
        return {
            "access_token": token,
            "token_type": "BearerToken",
            "expires_in": str(TOKEN_SECONDS),
            "issued_at": str(int(now * 1000)),
        }

    def valid(self, token: str) -> bool:
        expires = self._tokens.get(token)
        return expires is not None and self._clock.now() < expires

    def count(self) -> bool:
        """Count a send against this minute's quota; False when the quota is spent."""
        minute = math.floor(self._clock.now() / 60)
        if minute != self._window:
            self._window, self._used = minute, 0
        if self._used >= self.quota_limit:
            return False
        self._used += 1
        return True

    def quota_headers(self) -> dict[str, str]:
        minute = math.floor(self._clock.now() / 60)
        used = self._used if minute == self._window else 0
        headers = {
            "quota-interval": "1",
            "quota-time-unit": "minute",
            "quota-limit": str(self.quota_limit),
            "quota-used": str(used),
        }
        if self.quota_reset:
            reset = datetime.fromtimestamp((minute + 1) * 60, UTC)
            headers["quota-reset-UTC"] = reset.strftime("%Y-%m-%dT%H:%M:%SZ")
        return headers

    def as_json(self) -> dict[str, Any]:
        return {
            "application_header": self.application_header,
            "token_status": self.token_status,
            "quota_limit": self.quota_limit,
            "quota_reset": self.quota_reset,
            "tokens_issued": self.tokens_issued,
        }


GATEWAY = web.AppKey("gateway", Gateway)


async def issue_token(request: web.Request) -> web.Response:
    """``POST /kpn/oauth/client_credential/accesstoken``."""
    gateway = request.app[GATEWAY]
    if gateway.token_status is not None:
        fault = _fault_body("The token service is unavailable", "messaging.ServiceUnavailable")
        return gateway.refuse_token(gateway.token_status, fault)
    params = await rest_params(request)
    client_id = params.get("client_id", params.get("api_key", ""))
    client_secret = params.get("client_secret", params.get("api_secret", ""))
    if params.get("grant_type") != "client_credentials":
        grant = params.get("grant_type", "")
        body = {"ErrorCode": "invalid_request", "Error": f"Unsupported grant type : {grant}"}
        return gateway.refuse_token(400, body)
    account = request.app[ACCOUNT]
    if not (_same(client_id, account.api_key) and _same(client_secret, account.api_secret)):
        body = {"ErrorCode": "invalid_client", "Error": "ClientId is Invalid"}
        return gateway.refuse_token(401, body)
    return web.json_response(gateway.issue())


def gateway_routes(send: GatewaySend) -> list[web.RouteDef]:
    """The gateway's routes and its control route; ``send`` takes what the gateway let
    through (they need :data:`GATEWAY`, :data:`~botkit.sandbox.applications.ACCOUNT` and
    :data:`~botkit.sandbox.applications.APPLICATIONS`)."""

    async def send_through(request: web.Request) -> web.Response:
        api: SendApi = "v1" if request.match_info["version"] == "v1" else "v0.1"
        gateway = request.app[GATEWAY]
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not gateway.valid(token.strip()):
            return _fault(401, "Invalid access token", "oauth.v2.InvalidAccessToken")
        application_id = request.headers.get(gateway.application_header, "").strip()
        if request.app[APPLICATIONS].get(application_id) is None:
            return _fault(
                401,
                f"The {gateway.application_header} header must name an application of the account",
                "messaging.InvalidApplication",
            )
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if isinstance(body, dict):
            refused = _template_parameters(body, api)
            if refused is not None:
                return _with_quota(gateway, refused)
            raw = json.dumps(body).encode()
        if not gateway.count():
            answer = _fault(429, "Quota exceeded", "policies.ratelimit.QuotaViolation")
            return _with_quota(gateway, answer)
        return _with_quota(gateway, await send(request, api, raw, application_id))

    return [
        web.post(TOKEN_PATH, issue_token),
        web.post(MESSAGES_BASE + "/{version:v1|v0.1}/messages", send_through),
        web.get("/_sandbox/gateway", _show),
        web.post("/_sandbox/gateway", _change),
    ]


def _template_parameters(body: dict[str, Any], api: SendApi) -> web.Response | None:
    """Check a template's parameters are ``{"default": text}`` objects and turn them into the
    strings the provider's API takes; the gateway's refusal when they are not."""
    content = body.get("message", {}).get("content") if api == "v0.1" else body
    template = content.get("template") if isinstance(content, dict) else None
    if not isinstance(template, dict) or not isinstance(template.get("parameters"), list):
        return None
    plain = []
    for parameter in template["parameters"]:
        text = parameter.get("default") if isinstance(parameter, dict) else None
        if not isinstance(text, str):
            return web.json_response(
                {
                    "title": "Invalid params",
                    "detail": "Each of template.parameters must be an object "
                    '{"default": "text"} through this gateway.',
                    "invalid_parameters": [
                        {"name": "template.parameters", "reason": 'must be {"default": "..."}'}
                    ],
                },
                status=400,
            )
        plain.append(text)
    template["parameters"] = plain
    return None


def _fault_body(text: str, code: str) -> dict[str, Any]:
    """The gateway's own error body (Apigee's ``fault``)."""
    return {"fault": {"faultstring": text, "detail": {"errorcode": code}}}


def _fault(status: int, text: str, code: str) -> web.Response:
    return web.json_response(_fault_body(text, code), status=status)


def _with_quota(gateway: Gateway, answer: web.Response) -> web.Response:
    answer.headers.update(gateway.quota_headers())
    return answer


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


async def _show(request: web.Request) -> web.Response:
    return web.json_response(request.app[GATEWAY].as_json())


async def _change(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    try:
        data = await request.json()
    except ValueError:
        data = None
    if not isinstance(data, Mapping):
        return web.json_response({"error": "the body must be a JSON object"}, status=400)
    problems = []
    if "token_status" in data:
        status = data["token_status"]
        if status is None or (isinstance(status, int) and 400 <= status <= 599):
            gateway.token_status = status
        else:
            problems.append("token_status must be null or an HTTP error status (400-599)")
    if "quota_limit" in data:
        limit = data["quota_limit"]
        if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1:
            gateway.quota_limit = limit
        else:
            problems.append("quota_limit must be a whole number from 1")
    if "quota_reset" in data:
        if isinstance(data["quota_reset"], bool):
            gateway.quota_reset = data["quota_reset"]
        else:
            problems.append("quota_reset must be true or false")
    if "application_header" in data:
        header = data["application_header"]
        if isinstance(header, str) and header and header.replace("-", "").isalnum():
            gateway.application_header = header
        else:
            problems.append("application_header must be a header name (letters, digits, -)")
    if problems:
        return web.json_response({"error": "; ".join(problems)}, status=400)
    return web.json_response(gateway.as_json())
