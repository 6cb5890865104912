"""Credentials for the provider's APIs, as request headers.

An :class:`Authenticator` gives the headers for the next request and, after the provider
answered 401, :meth:`~Authenticator.refresh` drops whatever it cached so the next headers are
fresh. Three kinds:

- :class:`BasicAuth`: ``Authorization: Basic base64(key:secret)``.
- :class:`JwtAuth`: a Vonage application JWT (RS256), cached and renewed before it expires.
- :class:`OAuth2ClientCredentials`: a bearer token from an OAuth2 token endpoint, cached until
  shortly before ``expires_in`` and shared by concurrent callers.

:func:`choose_auth` picks one from configuration.
"""

from __future__ import annotations

import asyncio
import base64
import math
import uuid
from typing import Literal, Protocol
from urllib.parse import quote_plus

import aiohttp
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import SecretStr

from botkit.clock import Clock, SystemClock
from botkit.errors import ConfigError
from botkit.vonage.errors import (
    MalformedResponse,
    TimedOut,
    Unreachable,
    from_response,
    json_object,
)

ClientAuth = Literal["basic", "body"]
"""How an OAuth2 client sends its id and secret: HTTP Basic (RFC 6749's default) or as
``client_id``/``client_secret`` in the form body (as Apigee gateways such as KPN's take them)."""


class Authenticator(Protocol):
    """Gives the authentication headers of the next request."""

    async def headers(self) -> dict[str, str]:
        """The headers to add to the next request (may fetch or sign a new credential)."""
        ...

    async def refresh(self) -> None:
        """Forget cached credentials because the provider refused them (401); the next
        :meth:`headers` uses new ones."""
        ...


class BasicAuth:
    """HTTP Basic with the account's API key and secret. Nothing to refresh."""

    def __init__(self, api_key: str, api_secret: str) -> None:
        token = base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}

    async def headers(self) -> dict[str, str]:
        return dict(self._headers)

    async def refresh(self) -> None:
        return None


class JwtAuth:
    """A Vonage application JWT: RS256, signed with the application's private key.

    Claims are ``application_id``, ``iat`` (now), ``jti`` (a new uuid4) and ``exp``
    (``iat + ttl``; the provider accepts 30 s to 24 h). The token is reused until fewer than
    ``renew_before`` seconds of it remain by ``clock``, then a new one is signed;
    :meth:`refresh` forces a new one.
    """

    def __init__(
        self,
        application_id: str,
        private_key_pem: str | bytes,
        *,
        ttl: int = 900,
        renew_before: float = 60.0,
        clock: Clock | None = None,
    ) -> None:
        if not application_id:
            raise ConfigError("JWT authentication needs an application id")
        if not 30 <= ttl <= 86400:
            raise ConfigError(f"a JWT lives 30 s to 24 h; got ttl={ttl}")
        if not 0 <= renew_before < ttl:
            raise ConfigError(
                f"renew_before must be from 0 to below ttl ({ttl}); got {renew_before}"
            )
        pem = private_key_pem.encode() if isinstance(private_key_pem, str) else private_key_pem
        try:
            key = load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"the private key is not an unencrypted PEM key: {exc}") from None
        if not isinstance(key, RSAPrivateKey):
            raise ConfigError("the private key must be an RSA key (the provider signs RS256)")
        self.application_id = application_id
        self._key = key
        self._ttl = ttl
        self._renew_before = renew_before
        self._clock = clock or SystemClock()
        self._token: str | None = None
        self._expires = 0.0

    def token(self) -> str:
        """The current JWT, signing a new one when none is cached or it is about to expire."""
        now = self._clock.now()
        if self._token is None or now >= self._expires - self._renew_before:
            issued = int(now)
            claims = {
                "application_id": self.application_id,
                "iat": issued,
                "jti": str(uuid.uuid4()),
                "exp": issued + self._ttl,
            }
            self._token = jwt.encode(claims, self._key, algorithm="RS256")
            self._expires = float(issued + self._ttl)
        return self._token

    async def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    async def refresh(self) -> None:
        self._token = None


class OAuth2ClientCredentials:
    """A bearer token from an OAuth2 token endpoint (client credentials grant, RFC 6749 4.4).

    The token is requested with ``POST token_url``, a form body ``grant_type=client_credentials``
    (and ``scope`` when given) and the client id and secret as HTTP Basic (``client_auth=
    "body"``: as ``client_id`` and ``client_secret`` in the form). It is cached until
    ``margin`` seconds before its ``expires_in`` (a token without ``expires_in`` is kept until
    the provider refuses it). Callers that need a token at the same time wait for one request;
    after a 401, :meth:`refresh` fetches a new token, once for all the callers that saw the old
    one refused. A failed token request raises a :class:`~botkit.vonage.errors.ProviderError`.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        session: aiohttp.ClientSession,
        *,
        scope: str | None = None,
        margin: float = 30.0,
        timeout: float = 10.0,
        clock: Clock | None = None,
        client_auth: ClientAuth = "basic",
    ) -> None:
        if not token_url.startswith(("http://", "https://")):
            raise ConfigError(f"the OAuth2 token URL must be http(s); got {token_url!r}")
        if not client_id or not client_secret:
            raise ConfigError("OAuth2 needs both a client id and a client secret")
        self.token_url = token_url
        self._session = session
        # RFC 6749 2.3.1: the id and secret are form-encoded before they are joined.
        pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
        self._client_auth = "Basic " + base64.b64encode(pair.encode()).decode()
        self._client_form = (
            {"client_id": client_id, "client_secret": client_secret}
            if client_auth == "body"
            else None
        )
        self._scope = scope
        self._margin = margin
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock or SystemClock()
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._expires: float | None = None
        self.fetches = 0
        """How many tokens were requested so far."""

    async def headers(self) -> dict[str, str]:
        token = self._token
        if token is None or self._expired():
            async with self._lock:
                if self._token is None or self._expired():
                    await self._fetch()
                token = self._token
        assert token is not None
        return {"Authorization": f"Bearer {token}"}

    async def refresh(self) -> None:
        refused = self._token
        async with self._lock:
            # Whoever held the lock before us may already have replaced the refused token.
            if self._token is refused:
                self._token = None
                await self._fetch()

    def _expired(self) -> bool:
        return self._expires is not None and self._clock.now() >= self._expires

    async def _fetch(self) -> None:
        form = {"grant_type": "client_credentials"}
        if self._scope:
            form["scope"] = self._scope
        headers = {"Accept": "application/json"}
        if self._client_form is None:
            headers["Authorization"] = self._client_auth
        else:
            form.update(self._client_form)
        subject = f"the OAuth2 token endpoint {self.token_url}"
        self.fetches += 1
        try:
            async with self._session.post(
                self.token_url, data=form, headers=headers, timeout=self._timeout
            ) as response:
                text = await response.text(errors="replace")
                status, answer_headers = response.status, response.headers
        except TimeoutError as exc:
            raise TimedOut(f"{subject} did not answer in time") from exc
        except aiohttp.ClientError as exc:
            raise Unreachable(f"{subject} could not be reached: {exc}") from exc
        if status != 200:
            raise from_response(status, answer_headers, text, subject=subject)
        data = json_object(text)
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise MalformedResponse(
                f"{subject} answered 200 without an access_token", status=status, body=text
            )
        lifetime = _seconds(data.get("expires_in"))
        self._token = token
        self._expires = (
            None if lifetime is None else self._clock.now() + max(0.0, lifetime - self._margin)
        )


def choose_auth(
    *,
    api_key: str | None = None,
    api_secret: str | SecretStr | None = None,
    application_id: str | None = None,
    private_key: str | SecretStr | None = None,
    token_url: str | None = None,
    client_id: str | None = None,
    client_secret: str | SecretStr | None = None,
    scope: str | None = None,
    client_auth: ClientAuth = "basic",
    session: aiohttp.ClientSession | None = None,
    clock: Clock | None = None,
) -> Authenticator:
    """The authenticator the configuration calls for.

    - A ``token_url``: :class:`OAuth2ClientCredentials` with ``client_id``/``client_secret``
      (the API key and secret when those are not given) on ``session``, sent as
      ``client_auth`` says.
    - Otherwise an ``application_id`` and a ``private_key``: :class:`JwtAuth`.
    - Otherwise: :class:`BasicAuth` with ``api_key`` and ``api_secret``.

    JWT when an application is configured, Basic otherwise, is what Vonage's own server SDKs do
    for the Messages API (the Python SDK's ``Messages`` client uses JWT unless the
    ``Auth`` has no application id). An application id without a private key (or the reverse)
    falls back to Basic when a key and secret are set. Raises
    :class:`~botkit.errors.ConfigError` when no complete set of credentials is given.
    """
    if token_url:
        if session is None:
            raise ConfigError("OAuth2 authentication needs the HTTP client session")
        return OAuth2ClientCredentials(
            token_url,
            client_id or api_key or "",
            _plain(client_secret) or _plain(api_secret) or "",
            session,
            scope=scope,
            clock=clock,
            client_auth=client_auth,
        )
    key = _plain(private_key)
    if application_id and key:
        return JwtAuth(application_id, key, clock=clock)
    secret = _plain(api_secret)
    if api_key and secret:
        return BasicAuth(api_key, secret)
    if application_id or key:
        missing = "VONAGE_PRIVATE_KEY" if application_id else "VONAGE_APPLICATION_ID"
        raise ConfigError(f"JWT authentication needs {missing} too")
    raise ConfigError(
        "no credentials for the provider: set VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY, "
        "or VONAGE_API_KEY and VONAGE_API_SECRET"
    )


def _plain(value: str | SecretStr | None) -> str | None:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value or None


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
