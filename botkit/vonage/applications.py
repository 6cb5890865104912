"""The provider's account APIs a bot's team needs: applications (v2) and the numbers.

:class:`AccountApi` talks to the Application API (``{api_url}/v2/applications``) and the
Numbers API (``{rest_url}/account/numbers``, ``{rest_url}/number/update``) with the account's
key and secret as HTTP Basic, on an :class:`aiohttp.ClientSession`. Every failure raises
:class:`AccountError`, whose message is one line saying what went wrong and what to change.

Vonage's official Python SDK has packages for both APIs (``vonage-application``,
``vonage-numbers``), but it only speaks ``https://{host}``: it cannot reach ``botkit dev``'s
sandbox on ``http://127.0.0.1`` without a TLS proxy in front, and it would add its ~20 packages
to every bot's deployment for a few commands. The sandbox is kept faithful to the SDK by
``tests/sandbox/test_official_sdk.py`` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from botkit.vonage.auth import BasicAuth
from botkit.vonage.errors import from_response, json_object

PAGE_SIZE = 100
"""Items asked per page when listing (the most both APIs give)."""

_FIX_CREDENTIALS = (
    "set VONAGE_API_KEY and VONAGE_API_SECRET to your account's (the dashboard's API "
    "settings; `botkit dev` prints its sandbox's)"
)


class AccountError(Exception):
    """A request to the account APIs failed; the message says what to change, in one line.
    ``status`` is the HTTP status of the answer (None when there was none)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Webhooks:
    """The messages capability of an application: where inbound messages and statuses go,
    and the webhook format (``v1`` or ``v0.1``)."""

    inbound_url: str | None
    status_url: str | None
    version: str = "v1"

    @classmethod
    def for_bot(cls, base_url: str, version: str = "v1") -> Webhooks:
        """The webhooks ``botkit serve`` answers at ``base_url`` (``/webhooks/inbound`` and
        ``/webhooks/status``)."""
        base = base_url.rstrip("/")
        return cls(f"{base}/webhooks/inbound", f"{base}/webhooks/status", version)

    @classmethod
    def of(cls, application: Mapping[str, Any]) -> Webhooks | None:
        """The messages capability of an Application API answer, or None when it has none."""
        messages = _mapping(_mapping(application.get("capabilities")).get("messages"))
        if not messages:
            return None
        hooks = _mapping(messages.get("webhooks"))
        return cls(
            _address(hooks.get("inbound_url")),
            _address(hooks.get("status_url")),
            str(messages.get("version") or "v1"),
        )

    def capability(self) -> dict[str, Any]:
        """The ``capabilities.messages`` object of a create or update body."""
        hooks = {
            name: {"address": address, "http_method": "POST"}
            for name, address in (
                ("inbound_url", self.inbound_url),
                ("status_url", self.status_url),
            )
            if address
        }
        return {"version": self.version, "webhooks": hooks}


class AccountApi:
    """The Application API v2 and the Numbers API of one account.

    ``api_url`` is the Application API's host (``https://api.nexmo.com``), ``rest_url`` the
    Numbers API's (``https://rest.nexmo.com``); both are a sandbox's address in tests.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_url: str,
        rest_url: str,
        api_key: str,
        api_secret: str,
    ) -> None:
        self._session = session
        self.api_url = api_url.rstrip("/")
        self.rest_url = rest_url.rstrip("/")
        self._auth = BasicAuth(api_key, api_secret)

    # --- applications ----------------------------------------------------------------------

    async def applications(self) -> list[dict[str, Any]]:
        """Every application of the account, page after page."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            answer = await self._json(
                "GET", "/v2/applications", "the list of applications",
                params={"page_size": str(PAGE_SIZE), "page": str(page)},
            )  # fmt: skip
            embedded = _mapping(answer.get("_embedded")).get("applications")
            found.extend(a for a in embedded or [] if isinstance(a, dict))
            pages = answer.get("total_pages")
            if not isinstance(pages, int) or page >= pages:
                return found
            page += 1

    async def application(self, application_id: str) -> dict[str, Any]:
        """One application; :class:`AccountError` 404 when the account has none by that id."""
        return await self._json(
            "GET", f"/v2/applications/{application_id}", f"application {application_id}"
        )

    async def create_application(self, name: str, webhooks: Webhooks) -> dict[str, Any]:
        """A new application with the messages capability; the answer carries the new key
        pair's ``keys.private_key`` (the provider keeps no copy)."""
        body = {"name": name, "capabilities": {"messages": webhooks.capability()}}
        return await self._json("POST", "/v2/applications", f"application {name!r}", json=body)

    async def update_application(
        self, application: Mapping[str, Any], *, name: str | None = None, webhooks: Webhooks
    ) -> dict[str, Any]:
        """Replace the messages capability of ``application`` (an answer of
        :meth:`application`), keeping its name (unless ``name``), its other capabilities and
        its key."""
        capabilities = dict(_mapping(application.get("capabilities")))
        capabilities["messages"] = webhooks.capability()
        body: dict[str, Any] = {
            "name": name or application.get("name"),
            "capabilities": capabilities,
        }
        privacy = application.get("privacy")
        if isinstance(privacy, Mapping):
            body["privacy"] = dict(privacy)
        application_id = str(application.get("id"))
        return await self._json(
            "PUT", f"/v2/applications/{application_id}", f"application {application_id}", json=body
        )

    async def delete_application(self, application_id: str) -> None:
        await self._request(
            "DELETE", self.api_url + f"/v2/applications/{application_id}",
            f"application {application_id}",
        )  # fmt: skip

    # --- numbers ---------------------------------------------------------------------------

    async def numbers(self, *, application_id: str | None = None) -> list[dict[str, Any]]:
        """The account's numbers (those linked to ``application_id`` when given)."""
        found: list[dict[str, Any]] = []
        index = 1
        while True:
            params = {"size": str(PAGE_SIZE), "index": str(index)}
            if application_id:
                params["application_id"] = application_id
            text = await self._request(
                "GET", self.rest_url + "/account/numbers", "the account's numbers", params=params
            )
            answer = json_object(text)
            page = [n for n in answer.get("numbers") or [] if isinstance(n, dict)]
            found.extend(page)
            count = answer.get("count")
            if not page or not isinstance(count, int) or len(found) >= count:
                return found
            index += 1

    async def number(self, msisdn: str) -> dict[str, Any]:
        """The account's number ``msisdn``; :class:`AccountError` when it owns no such one."""
        wanted = msisdn.lstrip("+")
        for number in await self.numbers():
            if number.get("msisdn") == wanted:
                return number
        raise AccountError(
            f"{wanted} is not one of this account's numbers: `botkit vonage numbers` lists them"
        )

    async def update_number(
        self,
        number: Mapping[str, Any],
        *,
        app_id: str | None = None,
        mo_http_url: str | None = None,
    ) -> None:
        """Link ``number`` (an entry of :meth:`numbers`) to ``app_id`` and/or set the legacy
        SMS API's inbound URL ``mo_http_url`` on it."""
        form = {"country": str(number.get("country")), "msisdn": str(number.get("msisdn"))}
        if app_id is not None:
            form["app_id"] = app_id
        if mo_http_url is not None:
            form["moHttpUrl"] = mo_http_url
        await self._request(
            "POST", self.rest_url + "/number/update", f"number {form['msisdn']}", data=form
        )

    # --- plumbing --------------------------------------------------------------------------

    async def _json(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        text = await self._request(method, self.api_url + path, what, **kwargs)
        answer = json_object(text)
        if not answer:
            raise AccountError(f"{self.api_url} answered {what} with something not JSON")
        return answer

    async def _request(self, method: str, url: str, what: str, **kwargs: Any) -> str:
        try:
            headers = await self._auth.headers()
            async with self._session.request(method, url, headers=headers, **kwargs) as answer:
                text = await answer.text(errors="replace")
                status = answer.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AccountError(
                f"cannot reach {url} ({type(exc).__name__}: {exc}): check VONAGE_API_URL "
                "and VONAGE_SMS_API_URL (or --api-url)"
            ) from None
        if status >= 400:
            raise AccountError(_refusal(status, text, what), status) from None
        # The Numbers API answers some refusals with 200 and an error code in the body.
        code = json_object(text).get("error-code")
        if code is not None and str(code) != "200":
            raise AccountError(_refusal(int(str(code)) if str(code).isdigit() else 420, text, what))
        return text


def _refusal(status: int, text: str, what: str) -> str:
    """One line for an error answer: what was refused and what to change."""
    if status == 401:
        return f"the provider refused the account's key and secret (401): {_FIX_CREDENTIALS}"
    if status == 404:
        return (
            f"{what} was not found (404): `botkit vonage list` shows the account's "
            "applications, `botkit vonage numbers` its numbers"
        )
    label = json_object(text).get("error-code-label")
    if isinstance(label, str) and label:
        return f"the provider refused {what} ({status}): {label}"
    error = from_response(status, None, text, subject="the provider")
    invalid = getattr(error, "invalid_parameters", ())
    if invalid:
        fixes = "; ".join(f"{p.name}: {p.reason.strip().rstrip('.')}" for p in invalid)
        return f"the provider refused {what} ({status} {error.title or 'invalid'}): fix {fixes}"
    reason = error.detail or error.title or (text.strip()[:200] if text.strip() else "no reason")
    return f"the provider refused {what} ({status}): {reason}"


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _address(hook: object) -> str | None:
    address = _mapping(hook).get("address")
    return address if isinstance(address, str) and address else None
