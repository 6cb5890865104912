"""Numbers API: the sandbox account's own numbers, and which application each is linked to.

The account owns the bot's phone numbers (its WhatsApp, SMS and MMS addresses, each once).

- ``GET /account/numbers``: ``{"count", "numbers": [...]}`` (``numbers`` absent when none
  match), each number with ``country``, ``msisdn``, ``type``, ``features``, ``app_id`` (and
  ``messagesCallbackType: "app"``/``messagesCallbackValue``) and ``moHttpUrl`` when set.
  Filters: ``application_id``, ``has_application``, ``country``, ``pattern`` with
  ``search_pattern`` (0 starts with, the default; 1 anywhere; 2 ends with); pages: ``size``
  (1-100, default 10) and ``index`` (from 1).
- ``POST /number/update``: ``country`` and ``msisdn`` name the number (both required);
  ``app_id`` links it to that application (its inbound messages go to that application's
  ``inbound_url`` from now on); ``moHttpUrl`` sets the legacy SMS API's inbound URL (``""``
  clears it). Answers ``{"error-code": "200", "error-code-label": "success"}``.

Both take the account's key and secret as ``api_key``/``api_secret`` parameters or as Basic,
like the SMS API; wrong or missing ones answer HTTP 401 ``{"error-code": "401",
"error-code-label": "authentication failed"}``. Other refusals answer HTTP 420 with the
``error-code-label`` naming the parameter. Only ``app_id`` moves a number: creating or
updating an application never does. The sandbox plays an account whose inbound SMS go to the
Messages API: ``moHttpUrl`` is kept and shown, and inbound SMS still reach the linked
application's ``inbound_url``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import phonenumbers
from aiohttp import web

from botkit.events import Channel
from botkit.sandbox.applications import ACCOUNT, ApplicationBook
from botkit.sandbox.auth import rest_params
from botkit.sandbox.config import SandboxConfig

NUMBER_CHANNELS = (Channel.WHATSAPP, Channel.SMS, Channel.MMS)
"""The channels whose bot address is one of the account's phone numbers."""

MAX_PAGE_SIZE = 100


@dataclass
class OwnedNumber:
    """One of the account's numbers; its application is the book's business."""

    msisdn: str
    country: str
    features: tuple[str, ...]
    mo_http_url: str | None = None

    def as_json(self, app_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "country": self.country,
            "msisdn": self.msisdn,
            "type": "mobile-lvn",
            "features": list(self.features),
            "app_id": app_id,
            "messagesCallbackType": "app",
            "messagesCallbackValue": app_id,
        }
        if self.mo_http_url:
            answer["moHttpUrl"] = self.mo_http_url
        return answer


class NumberRefusal(Exception):
    """A Numbers API request refused with HTTP ``status`` and ``label``."""

    def __init__(self, status: int, label: str) -> None:
        super().__init__(label)
        self.status = status
        self.label = label

    def response(self) -> web.Response:
        body = {"error-code": str(self.status), "error-code-label": self.label}
        return web.json_response(body, status=self.status)


class NumberBook:
    """The account's numbers, linked to applications through ``applications``."""

    def __init__(self, config: SandboxConfig, applications: ApplicationBook) -> None:
        self._applications = applications
        self._numbers: dict[str, OwnedNumber] = {}
        for channel in NUMBER_CHANNELS:
            msisdn = config.bot_address(channel)
            if msisdn.isdigit() and msisdn not in self._numbers:
                self._numbers[msisdn] = OwnedNumber(msisdn, _country(msisdn), ("SMS", "MMS"))

    def as_json(self, number: OwnedNumber) -> dict[str, Any]:
        return number.as_json(self._applications.linked_to(number.msisdn).id)

    def search(self, params: dict[str, str]) -> tuple[int, list[dict[str, Any]]]:
        """The count of numbers matching the ``GET /account/numbers`` filters, and the page
        asked for."""
        size = _whole(params, "size", 10, MAX_PAGE_SIZE)
        index = _whole(params, "index", 1, 1_000_000)
        pattern = params.get("pattern", "")
        mode = params.get("search_pattern", "0")
        if mode not in ("0", "1", "2"):
            raise NumberRefusal(420, "Invalid search_pattern: must be 0, 1 or 2")
        matches = {
            "0": str.startswith,
            "1": str.__contains__,
            "2": str.endswith,
        }[mode]
        found = []
        for number in self._numbers.values():
            app_id = self._applications.linked_to(number.msisdn).id
            if not matches(number.msisdn, pattern):
                continue
            if params.get("country") and params["country"].upper() != number.country:
                continue
            if params.get("application_id") and params["application_id"] != app_id:
                continue
            if params.get("has_application") == "false":
                continue  # every number of the sandbox is linked to an application
            found.append(number.as_json(app_id))
        return len(found), found[(index - 1) * size : index * size]

    def update(self, params: dict[str, str]) -> None:
        """Apply ``POST /number/update``: link the number to ``app_id``, set ``moHttpUrl``."""
        for name in ("country", "msisdn"):
            if not params.get(name):
                raise NumberRefusal(420, f"Missing {name} param")
        number = self._numbers.get(params["msisdn"])
        if number is None or number.country != params["country"].upper():
            raise NumberRefusal(
                420, f"Invalid msisdn: {params['msisdn']} in {params['country']} is not one of "
                "this account's numbers"
            )  # fmt: skip
        app_id = params.get("app_id")
        if app_id and self._applications.get(app_id) is None:
            raise NumberRefusal(420, f"Invalid app_id: no application {app_id} in this account")
        url = params.get("moHttpUrl")
        if url and not url.startswith(("http://", "https://")):
            raise NumberRefusal(420, "Invalid moHttpUrl: must be an http(s) URL")
        if app_id:
            self._applications.link(app_id, number.msisdn)
        if url is not None:
            number.mo_http_url = url or None


def _country(msisdn: str) -> str:
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse("+" + msisdn))
    except phonenumbers.NumberParseException:
        region = None
    return region or "GB"


def _whole(params: dict[str, str], name: str, default: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise NumberRefusal(420, f"Invalid {name}: must be a whole number from 1 to {high}")
    return int(raw)


# --- routes ------------------------------------------------------------------------------------

NUMBERS = web.AppKey("numbers", NumberBook)


async def _authorized(request: web.Request) -> dict[str, str]:
    params = await rest_params(request)
    config = request.app[ACCOUNT]
    key, secret = params.get("api_key", ""), params.get("api_secret", "")
    key_ok = hmac.compare_digest(key.encode(), config.api_key.encode())
    secret_ok = hmac.compare_digest(secret.encode(), config.api_secret.encode())
    if not (key_ok and secret_ok):
        raise NumberRefusal(401, "authentication failed")
    return params


async def list_numbers(request: web.Request) -> web.Response:
    """``GET /account/numbers``."""
    try:
        params = await _authorized(request)
        count, page = request.app[NUMBERS].search(params)
    except NumberRefusal as refusal:
        return refusal.response()
    answer: dict[str, Any] = {"count": count}
    if page:
        answer["numbers"] = page
    return web.json_response(answer)


async def update_number(request: web.Request) -> web.Response:
    """``POST /number/update``."""
    try:
        params = await _authorized(request)
        request.app[NUMBERS].update(params)
    except NumberRefusal as refusal:
        return refusal.response()
    return web.json_response({"error-code": "200", "error-code-label": "success"})


def number_routes() -> list[web.RouteDef]:
    """The Numbers API routes (they need :data:`NUMBERS` and
    :data:`~botkit.sandbox.applications.ACCOUNT`)."""
    return [
        web.get("/account/numbers", list_numbers),
        web.post("/number/update", update_number),
    ]
