"""Signed webhooks: the Messages/Dispatch JWT and the SMS API ``sig``."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from botkit.errors import SignatureError
from botkit.vonage.signing import (
    SMS_SIGNATURE_METHODS,
    SmsSignatureMethod,
    sign_webhook_jwt,
    sms_signature,
    verify_sms_signature,
    verify_webhook_jwt,
)

SECRET = "a-signature-secret-of-at-least-32-bytes"
NOW = 1_700_000_000.0
BODY = b'{"message_uuid":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab","text":"hi"}'


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def bearer(token: str) -> str:
    return f"Bearer {token}"


def verify(header: str | None, body: bytes = BODY, **kwargs: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"max_age": 300, "now": NOW} | kwargs
    return verify_webhook_jwt(header, body, SECRET, **options)


def claims_for(body: bytes = BODY, **extra: Any) -> dict[str, Any]:
    return {
        "iat": int(NOW),
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body).hexdigest(),
        "api_key": "abcd1234",
    } | extra


# --- JWT: accepted ---------------------------------------------------------------------------


def test_a_token_from_sign_webhook_jwt_verifies() -> None:
    token = sign_webhook_jwt(BODY, SECRET, application_id="app-1", iat=NOW)

    claims = verify(bearer(token))

    assert claims["iss"] == "Vonage"
    assert claims["iat"] == int(NOW)
    assert claims["payload_hash"] == hashlib.sha256(BODY).hexdigest()
    assert claims["api_key"] == "abcd1234"
    assert claims["application_id"] == "app-1"
    assert uuid.UUID(claims["jti"]).version == 4


def test_the_token_looks_like_the_providers() -> None:
    token = sign_webhook_jwt(BODY, SECRET, api_key="k1", iat=NOW)

    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert set(claims) == {"iat", "jti", "iss", "payload_hash", "api_key"}
    assert claims["api_key"] == "k1"


def test_each_token_has_its_own_jti() -> None:
    first = jwt.decode(sign_webhook_jwt(BODY, SECRET), SECRET, algorithms=["HS256"])
    second = jwt.decode(sign_webhook_jwt(BODY, SECRET), SECRET, algorithms=["HS256"])

    assert first["jti"] != second["jti"]


def test_the_default_iat_is_now() -> None:
    claims = verify_webhook_jwt(bearer(sign_webhook_jwt(BODY, SECRET)), BODY, SECRET, max_age=5)

    assert isinstance(claims["iat"], int)


def test_the_scheme_is_case_insensitive_and_space_tolerant() -> None:
    token = sign_webhook_jwt(BODY, SECRET, iat=NOW)

    assert verify(f"  bearer   {token} ")["iss"] == "Vonage"


@pytest.mark.parametrize("offset", [-300, 300, -299.5])
def test_a_token_at_the_edge_of_the_window_is_accepted(offset: float) -> None:
    token = sign_webhook_jwt(BODY, SECRET, iat=NOW + offset)

    assert verify(bearer(token))["iat"] == NOW + offset


def test_an_upper_case_payload_hash_is_accepted() -> None:
    claims = claims_for(payload_hash=hashlib.sha256(BODY).hexdigest().upper())

    verify(bearer(jwt.encode(claims, SECRET, algorithm="HS256")))


def test_an_empty_body_can_be_signed() -> None:
    token = sign_webhook_jwt(b"", SECRET, iat=NOW)

    verify(bearer(token), body=b"")


# --- JWT: refused ----------------------------------------------------------------------------


def refused(header: str | None, body: bytes = BODY, **kwargs: Any) -> str:
    with pytest.raises(SignatureError) as caught:
        verify(header, body, **kwargs)
    return str(caught.value)


@pytest.mark.parametrize("header", [None, "", "   "])
def test_a_missing_header_is_refused(header: str | None) -> None:
    assert refused(header) == (
        "missing Authorization header: signed webhooks are enabled (VONAGE_SIGNATURE_SECRET is set)"
    )


@pytest.mark.parametrize("scheme", ["Basic", "Token", "Bearer:"])
def test_another_scheme_is_refused(scheme: str) -> None:
    token = sign_webhook_jwt(BODY, SECRET, iat=NOW)

    assert "expected 'Bearer <JWT>'" in refused(f"{scheme} {token}")


def test_a_bare_token_is_refused() -> None:
    assert "expected 'Bearer <JWT>'" in refused(sign_webhook_jwt(BODY, SECRET, iat=NOW))


def test_bearer_without_a_token_is_refused() -> None:
    assert "no token" in refused("Bearer ")


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "a.b", "....", "ünï.cö.de"])
def test_a_malformed_token_is_refused(token: str) -> None:
    assert "JWT" in refused(bearer(token))


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = sign_webhook_jwt(BODY, "another-secret-of-at-least-32-bytes!", iat=NOW)

    assert refused(bearer(token)) == "JWT signature does not verify with the signature secret"


def test_a_token_with_altered_claims_is_refused() -> None:
    header, _, signature = sign_webhook_jwt(BODY, SECRET, iat=NOW).split(".")
    forged = f"{header}.{b64(claims_for(api_key='someone-else'))}.{signature}"

    assert "does not verify" in refused(bearer(forged))


def test_alg_none_is_refused() -> None:
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims_for())}."

    assert refused(bearer(unsigned)) == (
        "JWT algorithm 'none' is refused: signed webhooks use HS256"
    )


def test_rs256_is_refused_even_when_validly_signed() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims_for(), key, algorithm="RS256")

    assert "'RS256' is refused" in refused(bearer(token))


@pytest.mark.parametrize("alg", ["HS512", "HS384"])
def test_other_hmac_algorithms_are_refused(alg: str) -> None:
    token = jwt.encode(claims_for(), SECRET + SECRET, algorithm=alg)

    assert f"'{alg}' is refused" in refused(bearer(token))


def test_a_header_without_alg_is_refused() -> None:
    token = f"{b64({'typ': 'JWT'})}.{b64(claims_for())}.c2ln"

    assert "None is refused" in refused(bearer(token))


def test_a_token_for_another_body_is_refused() -> None:
    token = sign_webhook_jwt(b'{"text":"something else"}', SECRET, iat=NOW)

    assert refused(bearer(token)) == "payload_hash does not match the body"


def test_a_body_changed_by_one_byte_is_refused() -> None:
    token = sign_webhook_jwt(BODY, SECRET, iat=NOW)

    assert refused(bearer(token), body=BODY + b" ") == "payload_hash does not match the body"


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"payload_hash": None}, "no payload_hash claim"),
        ({"payload_hash": 12}, "payload_hash claim is not a string"),
        ({"payload_hash": "\u00e9" * 64}, "payload_hash does not match"),
        ({"iat": None}, "no iat claim"),
        ({"iat": "1700000000"}, "iat claim is not a number"),
        ({"iat": True}, "iat claim is not a number"),
        ({"exp": int(NOW)}, "token expired 0 s ago"),
        ({"exp": "later"}, "exp claim is not a number"),
    ],
)
def test_missing_or_mistyped_claims_are_refused(claims: dict[str, Any], words: str) -> None:
    payload = {k: v for k, v in (claims_for() | claims).items() if v is not None}
    token = jwt.encode(payload, SECRET, algorithm="HS256")

    assert words in refused(bearer(token))


def test_a_stale_token_is_refused_with_its_age() -> None:
    token = sign_webhook_jwt(BODY, SECRET, iat=NOW - 612)

    assert refused(bearer(token)) == "token issued 612 s ago, older than the 300 s window"


def test_a_token_from_the_future_is_refused() -> None:
    token = sign_webhook_jwt(BODY, SECRET, iat=NOW + 400)

    assert refused(bearer(token)) == "token issued 400 s in the future, beyond the 300 s window"


def test_the_window_follows_max_age() -> None:
    token = sign_webhook_jwt(BODY, SECRET, iat=NOW - 612)

    assert verify(bearer(token), max_age=900)["iat"] == NOW - 612


@pytest.mark.parametrize(
    ("secret", "max_age", "words"), [("", 300, "secret"), (SECRET, 0, "max_age")]
)
def test_a_misconfiguration_is_a_value_error(secret: str, max_age: float, words: str) -> None:
    token = sign_webhook_jwt(BODY, SECRET, iat=NOW)

    with pytest.raises(ValueError, match=words):
        verify_webhook_jwt(bearer(token), BODY, secret, max_age=max_age, now=NOW)


def test_signing_with_an_empty_secret_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="secret"):
        sign_webhook_jwt(BODY, "")


# --- SMS sig ---------------------------------------------------------------------------------

# Test vectors of the Vonage PHP SDK (Signature.php and its test suite).
VECTOR_SECRET = "my_secret_key_for_testing"
VECTOR_PARAMS = {
    "message-timestamp": "2013-11-21 15:27:30",
    "messageId": "020000001B0FE827",
    "msisdn": "14843472194",
    "text": "Test again",
    "timestamp": "1385047698",
    "to": "13239877404",
    "type": "text",
}
VECTOR_NOW = 1385047698.0 + 10


def test_the_md5hash_vector() -> None:
    assert (
        sms_signature(VECTOR_PARAMS, VECTOR_SECRET, "md5hash") == "d2e7b1dc968737c5998ad624e02f90b7"
    )


def test_the_hmac_sha256_vector() -> None:
    sig = sms_signature(VECTOR_PARAMS, VECTOR_SECRET, "sha256").upper()

    assert sig.startswith("DDB8397C")
    assert sig.endswith("0FC0D330")
    assert sig == "DDB8397C2B90AAC7F3882D306475C9A5058C92322EEF43C92B298B6E0FC0D330"


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("md5", "DDEBD46008C2D4E93CCE578A332A52D5"),
        ("sha1", "27D0D05C2876C7CB1720DBCDBA4D492E1E55C09A"),
        (
            "sha512",
            "E0D3C650F8C9D1A5C174D10DDDBFB003E561F59B265616208B0487C5D819481C"
            "D3C311D59CF6165ECD1139622D5BA3A256C0D763AC4A9AD9144B5A426B94FE82",
        ),
    ],
)
def test_the_other_hmac_vectors(method: SmsSignatureMethod, expected: str) -> None:
    assert sms_signature(VECTOR_PARAMS, VECTOR_SECRET, method) == expected.lower()


@pytest.mark.parametrize(
    ("params", "secret", "expected"),
    [
        (
            {
                "keyword": "TEST",
                "message-timestamp": "2017-04-04 22:57:47",
                "messageId": "0B00000042AC53BD",
                "msisdn": "14843472194",
                "nonce": "929d6744-bd28-42c8-b6cf-31d5b4f43732",
                "sig": "e06d9763e3fd0b9c31beb5fc2fcb011c",
                "text": "Test with & and =",
                "timestamp": "1491346667",
                "to": "12192259404",
                "type": "text",
            },
            VECTOR_SECRET,
            "e06d9763e3fd0b9c31beb5fc2fcb011c",
        ),
        (
            {
                "api_key": "not_a_key",
                "from": "12192259404",
                "text": "Test&test=something",
                "timestamp": "1490638615",
                "to": "14843472194",
            },
            VECTOR_SECRET,
            "17f5e3b22f778ec73464c01d180e9d0f",
        ),
        (
            {
                "message-timestamp": "2013-11-21 17:31:42",
                "messageId": "030000002A264B8B",
                "msisdn": "14843472194",
                "text": "Message test",
                "timestamp": "1385055102",
                "to": "14849970568",
                "type": "text",
                "sig": "f0bfad43bd90cf1ea1f1525c18ba4dab",
            },
            "",
            "f0bfad43bd90cf1ea1f1525c18ba4dab",
        ),
    ],
    ids=["ampersand and equals in a value", "outbound", "empty secret"],
)
def test_more_md5hash_vectors(params: dict[str, str], secret: str, expected: str) -> None:
    assert sms_signature(params, secret, "md5hash") == expected


def test_sig_itself_is_not_signed_and_order_does_not_matter() -> None:
    shuffled = dict(reversed(list(VECTOR_PARAMS.items()))) | {"sig": "whatever"}

    assert sms_signature(shuffled, VECTOR_SECRET, "md5hash") == sms_signature(
        VECTOR_PARAMS, VECTOR_SECRET, "md5hash"
    )


def test_an_unknown_method_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="md5hash, md5, sha1, sha256, sha512"):
        sms_signature(VECTOR_PARAMS, VECTOR_SECRET, "sha3")  # type: ignore[arg-type]


def signed(method: SmsSignatureMethod = "md5hash", **changes: str) -> dict[str, str]:
    params = VECTOR_PARAMS | changes
    return params | {"sig": sms_signature(params, VECTOR_SECRET, method)}


def sms_refused(params: dict[str, str], method: SmsSignatureMethod = "md5hash", **kw: Any) -> str:
    options: dict[str, Any] = {"max_age": 300, "now": VECTOR_NOW} | kw
    with pytest.raises(SignatureError) as caught:
        verify_sms_signature(params, VECTOR_SECRET, method, **options)
    return str(caught.value)


@pytest.mark.parametrize("method", SMS_SIGNATURE_METHODS)
def test_a_signed_webhook_verifies_with_each_method(method: SmsSignatureMethod) -> None:
    verify_sms_signature(signed(method), VECTOR_SECRET, method, max_age=300, now=VECTOR_NOW)


def test_the_php_vector_verifies_in_upper_and_lower_case() -> None:
    sha256 = "DDB8397C2B90AAC7F3882D306475C9A5058C92322EEF43C92B298B6E0FC0D330"
    for sig in (sha256, sha256.lower()):
        params = VECTOR_PARAMS | {"sig": sig}
        verify_sms_signature(params, VECTOR_SECRET, "sha256", max_age=300, now=VECTOR_NOW)


def test_a_forged_sig_is_refused() -> None:
    params = VECTOR_PARAMS | {"sig": "0" * 32}

    assert sms_refused(params) == "sig does not match the parameters (md5hash signature)"


def test_a_sig_for_other_params_is_refused() -> None:
    params = signed() | {"text": "Send me money"}

    assert "sig does not match" in sms_refused(params)


def test_a_sig_made_with_another_secret_is_refused() -> None:
    params = VECTOR_PARAMS | {"sig": sms_signature(VECTOR_PARAMS, "guess", "md5hash")}

    assert "sig does not match" in sms_refused(params)


def test_a_sig_made_with_another_method_is_refused() -> None:
    assert "(sha256 signature)" in sms_refused(signed("sha1"), "sha256")


@pytest.mark.parametrize("sig", ["", "not-hex", "é" * 32])
def test_a_malformed_sig_is_refused(sig: str) -> None:
    message = sms_refused(VECTOR_PARAMS | {"sig": sig})

    assert "sig" in message


def test_a_missing_sig_is_refused() -> None:
    assert sms_refused(VECTOR_PARAMS) == (
        "missing sig parameter: signed SMS webhooks are enabled (VONAGE_SIGNATURE_SECRET is set)"
    )


def test_a_missing_timestamp_is_refused() -> None:
    params = {k: v for k, v in signed().items() if k != "timestamp"}

    assert "missing timestamp" in sms_refused(params)


@pytest.mark.parametrize("stamp", ["yesterday", "-1385047698", "1385047698.5", "١٢٣"])
def test_a_timestamp_that_is_not_unix_seconds_is_refused(stamp: str) -> None:
    assert "timestamp parameter is not unix seconds" in sms_refused(signed(timestamp=stamp))


def test_a_stale_signed_webhook_is_refused() -> None:
    message = sms_refused(signed(), now=1385047698.0 + 612)

    assert message == "timestamp is from 612 s ago, older than the 300 s window"


def test_a_signed_webhook_from_the_future_is_refused() -> None:
    message = sms_refused(signed(), now=1385047698.0 - 400)

    assert message == "timestamp is from 400 s in the future, beyond the 300 s window"


def test_the_vector_is_stale_by_the_real_clock() -> None:
    with pytest.raises(SignatureError, match="older than"):
        verify_sms_signature(signed(), VECTOR_SECRET, "md5hash", max_age=300)


def test_verifying_without_a_secret_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="secret"):
        verify_sms_signature(signed(), "", "md5hash", max_age=300, now=VECTOR_NOW)
