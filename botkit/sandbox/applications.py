"""Application API v2: the applications of the sandbox's account and their messages webhooks.

``POST /v2/applications`` creates an application, ``GET`` lists them (``page_size``,
``page``, HAL ``_embedded.applications`` and ``_links`` with ``self``, ``first``, ``last`` and
``prev``/``next`` where there is such a page), ``GET``/``PUT``/``DELETE /v2/applications/{id}``
read, replace and delete one; all with the account's Basic credentials. A body is checked
against the spec's request schema, and ``capabilities.messages.version`` must be ``v1`` or
``v0.1`` (unset means ``v1``); violations answer 400 with ``invalid_parameters``. An
application created without ``keys.public_key`` gets a fresh RSA key pair, and only that
answer carries ``keys.private_key``.

Each of the bot's numbers and ids is linked to one application, whose ``messages.webhooks``
receive its inbound messages (and the statuses of Basic-authenticated sends from it). At first
they all are linked to the application the sandbox was built with (named by its
``application_id``, a fresh id when None); :meth:`ApplicationBook.link` moves all of them, or
one address (as the Numbers API's ``POST /number/update`` does with ``app_id``). Creating an
application never moves a number, so a bot keeps receiving while its team creates applications.
An application a number or id is linked to cannot be deleted. A send authenticated with an
application's JWT has its statuses sent to that application's ``status_url``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jsonschema
from aiohttp import web
from cryptography.hazmat.primitives import serialization

from botkit.sandbox.auth import basic_matches
from botkit.sandbox.config import WEBHOOK_VERSIONS, SandboxConfig, WebhookVersion
from botkit.sandbox.credentials import key_pair
from botkit.sandbox.problems import (
    InvalidParameter,
    ProblemError,
    application_problem,
    not_found,
)
from botkit.sandbox.schemas import parameters_of
from botkit.vonage.openapi import load_spec, to_json_schema


@dataclass(frozen=True)
class MessagesCapability:
    """An application's messages webhooks and the format they are sent in."""

    version: WebhookVersion = "v1"
    inbound_url: str | None = None
    status_url: str | None = None

    def as_json(self) -> dict[str, Any]:
        webhooks = {
            name: {"address": address, "http_method": "POST"}
            for name, address in (
                ("inbound_url", self.inbound_url),
                ("status_url", self.status_url),
            )
            if address is not None
        }
        return {"version": self.version, "webhooks": webhooks}


@dataclass
class Application:
    """One application. ``capabilities`` keeps every capability as given; ``messages`` is
    the messages capability as the sandbox uses it (None when absent)."""

    id: str
    name: str
    public_key: str | None
    messages: MessagesCapability | None
    capabilities: dict[str, Any] = field(default_factory=dict)
    improve_ai: bool = False

    def as_json(self, *, private_key: str | None = None) -> dict[str, Any]:
        capabilities = dict(self.capabilities)
        if self.messages is not None:
            capabilities["messages"] = self.messages.as_json()
        keys: dict[str, str] = {}
        if self.public_key is not None:
            keys["public_key"] = self.public_key
        if private_key is not None:
            keys["private_key"] = private_key
        return {
            "id": self.id,
            "name": self.name,
            "capabilities": capabilities,
            "privacy": {"improve_ai": self.improve_ai},
            "keys": keys,
            "_links": {"self": {"href": f"/v2/applications/{self.id}"}},
        }


class ApplicationBook:
    """The account's applications, and which one each of the bot's numbers and ids is
    linked to."""

    def __init__(self, config: SandboxConfig) -> None:
        first = Application(
            id=config.application_id or str(uuid.uuid4()),
            name="botkit sandbox",
            public_key=config.public_key_pem,
            messages=MessagesCapability(
                config.webhook_version, config.inbound_url, config.status_url
            ),
        )
        self._applications: dict[str, Application] = {first.id: first}
        self.linked_id = first.id
        self._links: dict[str, str] = {}
        """Addresses linked apart from :attr:`linked_id`, to the application named."""

    @property
    def linked(self) -> Application:
        """The application the bot's numbers and ids are linked to, but those linked apart."""
        return self._applications[self.linked_id]

    def linked_to(self, address: str) -> Application:
        """The application the bot's number or id ``address`` is linked to."""
        return self._applications[self._links.get(address, self.linked_id)]

    def get(self, application_id: str) -> Application | None:
        return self._applications.get(application_id)

    def all(self) -> list[Application]:
        return list(self._applications.values())

    def create(self, payload: object) -> tuple[Application, str | None]:
        """A new application from a create body, with the private key when one was made.

        Raises :class:`ProblemError` (400) for a body the API refuses.
        """
        data = _checked(payload)
        public_key = _public_key(data)
        private_key = None
        if public_key is None:
            public_key, private_key = key_pair()
        application = _build(str(uuid.uuid4()), data, public_key)
        self._applications[application.id] = application
        return application, private_key

    def link(self, application_id: str, address: str | None = None) -> Application:
        """Link the bot's number or id ``address`` (all of them when None) to
        ``application_id``: its webhooks receive from now on. :class:`ProblemError` 404 when
        there is no such application."""
        application = self.require(application_id)
        if address is None:
            self.linked_id = application.id
            self._links.clear()
        else:
            self._links[address] = application.id
        return application

    def replace(self, application_id: str, payload: object) -> Application:
        """Replace an application's name and capabilities (its key unless a new one is given)."""
        current = self.require(application_id)
        data = _checked(payload)
        public_key = _public_key(data) or current.public_key
        application = _build(application_id, data, public_key)
        self._applications[application_id] = application
        return application

    def delete(self, application_id: str) -> None:
        """Forget an application; one a number or id is linked to stays (link the number to
        another application first)."""
        self.require(application_id)
        if application_id == self.linked_id or application_id in self._links.values():
            raise ProblemError(
                application_problem(
                    "InvalidPayloadError",
                    "The bot's numbers are linked to this application; it cannot be deleted.",
                )
            )
        del self._applications[application_id]

    def require(self, application_id: str) -> Application:
        """The application ``application_id``; :class:`ProblemError` 404 when there is none."""
        application = self._applications.get(application_id)
        if application is None:
            raise ProblemError(not_found(f"ID '{application_id}'"))
        return application


@cache
def _request_schema() -> dict[str, Any]:
    spec = load_spec("application")
    body = spec["paths"]["/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema = to_json_schema(spec, body)
    schema["type"] = "object"
    return schema


def _checked(payload: object) -> dict[str, Any]:
    validator = jsonschema.Draft202012Validator(_request_schema())
    problems = parameters_of(validator.iter_errors(payload))
    if not problems and isinstance(payload, dict):
        version = _messages(payload).get("version")
        if version is not None and version not in WEBHOOK_VERSIONS:
            problems.append(
                InvalidParameter(
                    "capabilities.messages.version",
                    "must be one of: " + ", ".join(f"`{v}`" for v in WEBHOOK_VERSIONS) + ".",
                )
            )
        public_key = _public_key(payload)
        if public_key is not None and not _loads_public_key(public_key):
            problems.append(InvalidParameter("keys.public_key", "is not a PEM public key."))
    if problems or not isinstance(payload, dict):
        raise ProblemError(
            application_problem(
                "InvalidPayloadError",
                "The request failed due to validation errors",
                invalid_parameters=problems,
            )
        )
    return payload


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _messages(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return _mapping(_mapping(data.get("capabilities")).get("messages"))


def _build(application_id: str, data: Mapping[str, Any], public_key: str | None) -> Application:
    capabilities = dict(data.get("capabilities") or {})
    messages = None
    if "messages" in capabilities:
        raw = _messages(data)
        webhooks = _mapping(raw.get("webhooks"))
        messages = MessagesCapability(
            version="v0.1" if raw.get("version") == "v0.1" else "v1",
            inbound_url=_address(webhooks, "inbound_url"),
            status_url=_address(webhooks, "status_url"),
        )
        del capabilities["messages"]
    privacy = data.get("privacy")
    improve_ai = privacy.get("improve_ai") is True if isinstance(privacy, Mapping) else False
    return Application(
        id=application_id,
        name=str(data["name"]),
        public_key=public_key,
        messages=messages,
        capabilities=capabilities,
        improve_ai=improve_ai,
    )


def _address(webhooks: Mapping[str, Any], name: str) -> str | None:
    hook = webhooks.get(name)
    address = hook.get("address") if isinstance(hook, Mapping) else None
    return address if isinstance(address, str) and address else None


def _public_key(data: Mapping[str, Any]) -> str | None:
    keys = data.get("keys")
    key = keys.get("public_key") if isinstance(keys, Mapping) else None
    return key if isinstance(key, str) and key.strip() else None


def _loads_public_key(pem: str) -> bool:
    try:
        serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        return False
    return True


# --- routes ------------------------------------------------------------------------------------

APPLICATIONS = web.AppKey("applications", ApplicationBook)
ACCOUNT = web.AppKey("account", SandboxConfig)


def _authorize(request: web.Request) -> None:
    config = request.app[ACCOUNT]
    if not basic_matches(request.headers.get("Authorization"), config.api_key, config.api_secret):
        raise ProblemError(
            application_problem("BadCredentialsError", "You did not provide correct credentials.")
        )


async def _json_body(request: web.Request) -> object:
    if request.content_type != "application/json":
        raise ProblemError(
            application_problem(
                "UnsupportedContentTypeHeader",
                "Unsupported Content-Type header provided. Must be one of the following: "
                "'application/json'",
            )
        )
    try:
        return await request.json()
    except ValueError:
        raise ProblemError(
            application_problem("InvalidPayloadError", "The request body is not valid JSON")
        ) from None


async def list_applications(request: web.Request) -> web.Response:
    _authorize(request)
    book = request.app[APPLICATIONS]
    problems = []
    numbers: dict[str, int] = {}
    for name, default, high in (("page_size", 10, 100), ("page", 1, 1_000_000)):
        raw = request.query.get(name)
        value = int(raw) if raw is not None and raw.isdigit() else (default if raw is None else 0)
        if not 1 <= value <= high:
            problems.append(InvalidParameter(name, f"must be between 1 and {high}"))
        numbers[name] = value
    if problems:
        raise ProblemError(
            application_problem(
                "InvalidPayloadError",
                "The request failed due to validation errors",
                invalid_parameters=problems,
            )
        )
    everything = book.all()
    size, page = numbers["page_size"], numbers["page"]
    chosen = everything[(page - 1) * size : page * size]
    pages = max(1, -(-len(everything) // size))
    return web.json_response(
        {
            "page_size": size,
            "page": page,
            "total_items": len(everything),
            "total_pages": pages,
            "_embedded": {"applications": [a.as_json() for a in chosen]},
            "_links": _page_links(size, page, pages),
        }
    )


def _page_links(size: int, page: int, pages: int) -> dict[str, dict[str, str]]:
    """HAL links of a page of the list: ``self``, ``first``, ``last``, and ``prev``/``next``
    when those pages exist."""
    numbers = {"self": page, "first": 1, "last": pages}
    if page > 1:
        numbers["prev"] = min(page - 1, pages)
    if page < pages:
        numbers["next"] = page + 1
    return {
        name: {"href": f"/v2/applications?page_size={size}&page={number}"}
        for name, number in numbers.items()
    }


async def create_application(request: web.Request) -> web.Response:
    _authorize(request)
    application, private_key = request.app[APPLICATIONS].create(await _json_body(request))
    return web.json_response(application.as_json(private_key=private_key), status=201)


async def get_application(request: web.Request) -> web.Response:
    _authorize(request)
    application = request.app[APPLICATIONS].require(request.match_info["id"])
    return web.json_response(application.as_json())


async def update_application(request: web.Request) -> web.Response:
    _authorize(request)
    book = request.app[APPLICATIONS]
    application = book.replace(request.match_info["id"], await _json_body(request))
    return web.json_response(application.as_json())


async def delete_application(request: web.Request) -> web.Response:
    _authorize(request)
    request.app[APPLICATIONS].delete(request.match_info["id"])
    return web.Response(status=204)


def application_routes() -> list[web.RouteDef]:
    """The Application API v2 routes (they need :data:`APPLICATIONS` and :data:`ACCOUNT`)."""
    return [
        web.get("/v2/applications", list_applications),
        web.post("/v2/applications", create_application),
        web.get("/v2/applications/{id}", get_application),
        web.put("/v2/applications/{id}", update_application),
        web.delete("/v2/applications/{id}", delete_application),
    ]
