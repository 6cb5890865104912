"""Who is calling: the account's Basic credentials, or an application's RS256 JWT.

The Messages API takes ``Authorization: Basic base64(api_key:api_secret)`` or ``Bearer
<JWT>``; the JWT must be RS256, carry ``application_id``, ``iat`` and ``jti``, verify with the
public key of that application, and be neither expired (``exp``) nor early (``nbf``, and an
``iat`` in the future beyond :data:`JWT_LEEWAY`). Token times are checked against the machine
clock, like the caller's, not the sandbox clock. The Application API takes Basic only; the
REST APIs (SMS, Numbers) take the key and secret as parameters or as Basic (:func:`rest_params`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import jwt
from aiohttp import web

from botkit.sandbox.problems import ProblemError, v1_problem

if TYPE_CHECKING:
    from botkit.sandbox.applications import ApplicationBook

JWT_LEEWAY = 60.0
"""Seconds of clock skew allowed on ``iat``, ``nbf`` and ``exp``."""

_MISSING = (
    "Check that you're using the correct credentials, and that your account has this "
    "feature enabled"
)


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """The ``(key, secret)`` of a Basic ``Authorization`` header, or None."""
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, colon, secret = decoded.partition(":")
    return (key, secret) if colon else None


def basic_matches(header: str | None, api_key: str, api_secret: str) -> bool:
    """True when ``header`` is Basic with exactly ``api_key`` and ``api_secret``."""
    pair = basic_credentials(header)
    if pair is None:
        return False
    key_ok = hmac.compare_digest(pair[0].encode(), api_key.encode())
    secret_ok = hmac.compare_digest(pair[1].encode(), api_secret.encode())
    return key_ok and secret_ok


def authenticate_messages(
    header: str | None, *, api_key: str, api_secret: str, applications: ApplicationBook
) -> str | None:
    """Check a Messages API caller; return the application id of a JWT, None for Basic.

    Raises :class:`ProblemError` with 401 ``You did not provide correct credentials.`` for
    missing or wrong credentials, and 401 ``...do not have access to the requested product``
    for a valid JWT of an application without the messages capability.
    """
    if basic_matches(header, api_key, api_secret):
        return None
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _missing("Basic credentials are wrong or missing, and there is no Bearer JWT.")
    token = token.strip()
    try:
        if jwt.get_unverified_header(token).get("alg") != "RS256":
            raise _missing("The JWT must be signed with RS256.")
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _missing("The Bearer token is not a JWT.") from None
    application_id = claims.get("application_id")
    application = applications.get(application_id) if isinstance(application_id, str) else None
    if application is None or application.public_key is None:
        raise _missing("The JWT names no application of this account with a public key.")
    try:
        jwt.decode(
            token,
            application.public_key,
            algorithms=["RS256"],
            leeway=JWT_LEEWAY,
            options={"require": ["iat", "jti"], "verify_aud": False},
        )
    except jwt.PyJWTError as exc:
        raise _missing(f"The JWT was refused: {exc}.") from None
    if application.messages is None:
        raise ProblemError(
            v1_problem(
                "ErrorUnauthorizedInvalidApplication",
                "Check your API key is correct and has been whitelisted",
            )
        )
    return application.id


def _missing(why: str) -> ProblemError:
    return ProblemError(v1_problem("ErrorUnauthorizedMissingCredentials", f"{_MISSING}. {why}"))


async def rest_params(request: web.Request) -> dict[str, str]:
    """The parameters of a request to the provider's REST APIs (SMS, Numbers): query and body
    parameters, every value a string (JSON values as they would be form-encoded:
    ``true``/``false`` for booleans), with the key and secret of a Basic ``Authorization``
    header when the parameters carry no ``api_key``."""
    params: dict[str, str] = dict(request.query)
    if request.content_type == "application/json":
        raw = await request.read()
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            # The official SDK (4.9) sends the Numbers API's form under the JSON content type
            # left over from its previous request: read such a body as the form it is.
            data = dict(parse_qsl(raw.decode("utf-8", "replace")))
        if isinstance(data, Mapping):
            params.update({str(k): _as_text(v) for k, v in data.items() if v is not None})
    elif request.can_read_body:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    header = basic_credentials(request.headers.get("Authorization"))
    if header is not None and "api_key" not in params:
        params["api_key"] = header[0]
        if "sig" not in params:
            params.setdefault("api_secret", header[1])
    return params


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
