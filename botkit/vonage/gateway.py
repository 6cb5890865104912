"""Gateway profiles: what changes when the provider's APIs are bought through a reseller.

``VONAGE_GATEWAY`` names the profile. ``vonage`` (the default) is the provider itself and
changes nothing. ``kpn`` is KPN's API Store, which resells the Messages API:

- sends go to ``https://api-prd.kpn.com/communication/nexmo`` (``VONAGE_GATEWAY_URL`` wins);
- with an OAuth2 client-credentials token from ``https://api-prd.kpn.com/oauth/
  client_credential/accesstoken?grant_type=client_credentials`` (``VONAGE_OAUTH_TOKEN_URL``
  wins), the store's client id and secret (``VONAGE_OAUTH_CLIENT_ID``/``_SECRET``) sent in the
  form body (``VONAGE_OAUTH_CLIENT_AUTH=basic`` sends them as HTTP Basic instead);
- the application id (``VONAGE_APPLICATION_ID``) in a header of every send, named by
  ``VONAGE_GATEWAY_APPLICATION_HEADER`` (default :data:`DEFAULT_APPLICATION_HEADER`: the store
  documents that the id travels in a header, not the header's name);
- Messages API v0.1, the shape the store's documentation describes (``VONAGE_MESSAGES_VERSION``
  wins), SMS included (not the legacy SMS API), with WhatsApp template parameters as
  ``{"default": "..."}`` objects;
- the store's quota headers (``quota-limit``, ``quota-used``, ``quota-interval``,
  ``quota-time-unit`` and, when given, ``quota-reset-UTC``) pace sends, as any quota headers
  do (:mod:`botkit.ratelimit`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from botkit.outbound import Outbound
from botkit.settings import Settings
from botkit.vonage.auth import Authenticator, ClientAuth

GatewayName = Literal["vonage", "kpn"]

KPN_BASE_URL = "https://api-prd.kpn.com/communication/nexmo"
KPN_TOKEN_URL = (
    "https://api-prd.kpn.com/oauth/client_credential/accesstoken?grant_type=client_credentials"
)
DEFAULT_APPLICATION_HEADER = "X-Application-Id"
"""The header that carries the application id through a gateway, unless configured."""

BodyBuilder = Callable[[Outbound], dict[str, Any]]


@dataclass(frozen=True)
class GatewayProfile:
    """What a gateway changes; None keeps the provider's own behaviour or setting."""

    name: GatewayName
    base_url: str | None = None
    token_url: str | None = None
    client_auth: ClientAuth = "basic"
    messages_version: Literal["v1", "v0.1"] | None = None
    application_header: str | None = None
    template_parameter_objects: bool = False


PROFILES: dict[GatewayName, GatewayProfile] = {
    "vonage": GatewayProfile("vonage"),
    "kpn": GatewayProfile(
        "kpn",
        base_url=KPN_BASE_URL,
        token_url=KPN_TOKEN_URL,
        client_auth="body",
        messages_version="v0.1",
        application_header=DEFAULT_APPLICATION_HEADER,
        template_parameter_objects=True,
    ),
}


class ApplicationHeader:
    """An :class:`~botkit.vonage.auth.Authenticator` that adds ``header: application_id`` to
    the headers of ``inner`` (a gateway's token), for every request."""

    def __init__(self, inner: Authenticator, header: str, application_id: str) -> None:
        self.inner = inner
        self._extra = {header: application_id}

    async def headers(self) -> dict[str, str]:
        return {**await self.inner.headers(), **self._extra}

    async def refresh(self) -> None:
        await self.inner.refresh()


def parameter_objects(build: BodyBuilder) -> BodyBuilder:
    """``build``, with a template's parameters written ``{"default": "..."}`` (Messages API
    v0.1 as its 0.3 spec and the Dispatch API take them) instead of plain strings."""

    def body(message: Outbound) -> dict[str, Any]:
        wire = build(message)
        content = wire.get("message", {}).get("content", wire)
        template = content.get("template") if isinstance(content, dict) else None
        if isinstance(template, dict) and isinstance(template.get("parameters"), list):
            template["parameters"] = [
                p if isinstance(p, dict) else {"default": p} for p in template["parameters"]
            ]
        return wire

    return body


def profile_of(settings: Settings) -> GatewayProfile:
    """The profile ``VONAGE_GATEWAY`` names."""
    return PROFILES[settings.vonage_gateway]


def messages_version(settings: Settings) -> Literal["v1", "v0.1"]:
    """The Messages API version replies go out with: ``VONAGE_MESSAGES_VERSION`` when it is
    set, else the gateway's (v0.1 through KPN), else v1."""
    version = profile_of(settings).messages_version
    if version is None or "vonage_messages_version" in settings.model_fields_set:
        return settings.vonage_messages_version
    return version


def messages_url(settings: Settings) -> str:
    """The base URL of the Messages API replies go to: ``VONAGE_GATEWAY_URL``, else the
    gateway's, else ``VONAGE_API_URL``."""
    return settings.vonage_gateway_url or profile_of(settings).base_url or settings.vonage_api_url
