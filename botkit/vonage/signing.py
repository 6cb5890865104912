"""Signed webhooks: the JWT of the Messages and Dispatch APIs, and the ``sig`` of the SMS API.

Every check that fails raises :class:`~botkit.errors.SignatureError` saying what was wrong.
Arguments that can only be a programming or configuration mistake (an empty secret, an unknown
signature method, a window that is not positive) raise :class:`ValueError` instead.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping
from typing import Any, Literal, get_args

import jwt

from botkit.errors import SignatureError

SmsSignatureMethod = Literal["md5hash", "md5", "sha1", "sha256", "sha512"]
SMS_SIGNATURE_METHODS: tuple[SmsSignatureMethod, ...] = get_args(SmsSignatureMethod)
"""The signature methods the SMS API offers; ``md5hash`` is the account default."""

_JWT_ALGORITHM = "HS256"
_MISSING_HEADER = (
    "missing Authorization header: signed webhooks are enabled (VONAGE_SIGNATURE_SECRET is set)"
)


def sign_webhook_jwt(
    body: bytes,
    secret: str,
    *,
    api_key: str = "abcd1234",
    application_id: str | None = None,
    iat: float | None = None,
) -> str:
    """A token like the one the provider puts in ``Authorization: Bearer`` of a signed webhook.

    HS256 with ``secret``; claims ``iat`` (now in whole seconds, or ``iat`` as given, an int
    when it is whole), ``jti`` (a fresh uuid4), ``iss`` ``"Vonage"``, ``payload_hash`` (hex
    SHA-256 of ``body``), ``api_key`` (by default the placeholder the provider's documentation
    uses) and, when given, ``application_id``.
    """
    _require_secret(secret)
    if iat is None:
        issued: float = int(time.time())
    else:
        issued = int(iat) if float(iat).is_integer() else iat
    claims: dict[str, Any] = {
        "iat": issued,
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body).hexdigest(),
        "api_key": api_key,
    }
    if application_id is not None:
        claims["application_id"] = application_id
    return jwt.encode(claims, secret, algorithm=_JWT_ALGORITHM, headers={"typ": "JWT"})


def verify_webhook_jwt(
    authorization_header: str | None,
    body: bytes,
    secret: str,
    *,
    max_age: float,
    now: float | None = None,
) -> dict[str, Any]:
    """Check the ``Authorization`` header of a Messages or Dispatch webhook and return its claims.

    Accepted only when all of these hold, else :class:`SignatureError` names the first that
    does not:

    - the header is ``Bearer <JWT>`` (the scheme is case-insensitive);
    - the token's ``alg`` is HS256 (``none``, RS256 and every other algorithm are refused);
    - the signature verifies with ``secret``;
    - the ``payload_hash`` claim is the hex SHA-256 of the raw ``body`` (case-insensitive);
    - the ``iat`` claim is a number of seconds no more than ``max_age`` before or after ``now``
      (default: the current time);
    - an ``exp`` claim, if present, is not before ``now``.
    """
    _require_secret(secret)
    if max_age <= 0:
        raise ValueError(f"max_age must be a positive number of seconds, got {max_age!r}")
    checked_at = time.time() if now is None else now

    token = _bearer_token(authorization_header)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise SignatureError(f"malformed JWT in the Authorization header: {exc}") from None
    alg = header.get("alg")
    if alg != _JWT_ALGORITHM:
        raise SignatureError(
            f"JWT algorithm {_show(alg)} is refused: signed webhooks use {_JWT_ALGORITHM}"
        )
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[_JWT_ALGORITHM],
            # Time claims are checked below against ``now`` so that the window is one rule.
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise SignatureError("JWT signature does not verify with the signature secret") from None
    except jwt.PyJWTError as exc:
        raise SignatureError(f"JWT refused: {exc}") from None

    _check_payload_hash(claims.get("payload_hash"), body)
    _check_issued_at(claims.get("iat"), checked_at, max_age)
    _check_expiry(claims.get("exp"), checked_at)
    return claims


def sms_signature(params: Mapping[str, str], secret: str, method: SmsSignatureMethod) -> str:
    """The ``sig`` the SMS API computes for ``params``, as lower-case hex.

    The base string is every parameter but ``sig``, sorted by key, each as ``&key=value`` with
    ``&`` and ``=`` in the value replaced by ``_`` (values as decoded, not URL-encoded).
    ``md5hash`` is MD5 of base string + secret; the other methods are the HMAC of the base string
    keyed with ``secret``.
    """
    if method not in SMS_SIGNATURE_METHODS:
        raise ValueError(
            f"unknown SMS signature method {method!r}: expected one of "
            + ", ".join(SMS_SIGNATURE_METHODS)
        )
    base = "".join(
        "&" + key + "=" + params[key].replace("&", "_").replace("=", "_")
        for key in sorted(params)
        if key != "sig"
    )
    if method == "md5hash":
        return hashlib.md5(_utf8(base + secret)).hexdigest()
    return hmac.new(_utf8(secret), _utf8(base), method).hexdigest()


def verify_sms_signature(
    params: Mapping[str, str],
    secret: str,
    method: SmsSignatureMethod,
    *,
    max_age: float,
    now: float | None = None,
) -> None:
    """Check the ``sig`` of an SMS API webhook (inbound message or delivery receipt).

    Accepted only when ``sig`` and ``timestamp`` are present, ``timestamp`` is unix seconds no
    more than ``max_age`` before or after ``now`` (default: the current time), and ``sig``
    equals :func:`sms_signature` of the parameters (compared in constant time, ignoring hex
    case). Raises :class:`SignatureError` naming the first check that fails.
    """
    _require_secret(secret)
    if max_age <= 0:
        raise ValueError(f"max_age must be a positive number of seconds, got {max_age!r}")
    checked_at = time.time() if now is None else now

    sig = params.get("sig")
    if not sig:
        raise SignatureError(
            "missing sig parameter: signed SMS webhooks are enabled "
            "(VONAGE_SIGNATURE_SECRET is set)"
        )
    stamp = params.get("timestamp")
    if not stamp:
        raise SignatureError("missing timestamp parameter: a signed SMS webhook carries one")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise SignatureError(f"timestamp parameter is not unix seconds: {_show(stamp)}")
    expected = sms_signature(params, secret, method)
    if not hmac.compare_digest(_utf8(sig.lower()), _utf8(expected)):
        raise SignatureError(f"sig does not match the parameters ({method} signature)")
    _check_window(int(stamp), checked_at, max_age, what="timestamp is from")


def _bearer_token(header: str | None) -> str:
    if header is None or not header.strip():
        raise SignatureError(_MISSING_HEADER)
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise SignatureError(
            f"Authorization header uses the {_show(scheme)} scheme, expected 'Bearer <JWT>'"
        )
    token = token.strip()
    if not token:
        raise SignatureError("Authorization header has no token after 'Bearer'")
    return token


def _check_payload_hash(claim: object, body: bytes) -> None:
    if claim is None:
        raise SignatureError("JWT has no payload_hash claim, so it is not tied to the body")
    if not isinstance(claim, str):
        raise SignatureError("JWT payload_hash claim is not a string")
    expected = hashlib.sha256(body).hexdigest()
    if not hmac.compare_digest(_utf8(claim.lower()), _utf8(expected)):
        raise SignatureError("payload_hash does not match the body")


def _check_issued_at(claim: object, now: float, max_age: float) -> None:
    if claim is None:
        raise SignatureError("JWT has no iat claim, so its age cannot be checked")
    if isinstance(claim, bool) or not isinstance(claim, int | float):
        raise SignatureError("JWT iat claim is not a number of seconds")
    _check_window(claim, now, max_age, what="token issued")


def _check_expiry(claim: object, now: float) -> None:
    if claim is None:
        return
    if isinstance(claim, bool) or not isinstance(claim, int | float):
        raise SignatureError("JWT exp claim is not a number of seconds")
    if now >= claim:
        raise SignatureError(f"token expired {now - claim:.0f} s ago")


def _check_window(issued: float, now: float, max_age: float, *, what: str) -> None:
    age = now - issued
    if age > max_age:
        raise SignatureError(f"{what} {age:.0f} s ago, older than the {max_age:g} s window")
    if -age > max_age:
        raise SignatureError(f"{what} {-age:.0f} s in the future, beyond the {max_age:g} s window")


def _require_secret(secret: str) -> None:
    if not secret:
        raise ValueError("the signature secret must not be empty")


def _utf8(text: str) -> bytes:
    # Lone surrogates cannot come from a decoded request, but must not crash the comparison.
    return text.encode("utf-8", "surrogatepass")


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
