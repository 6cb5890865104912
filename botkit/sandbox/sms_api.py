"""The legacy SMS API: ``POST /sms/json``.

Parameters come as a form, as JSON, or in the query string; the key and secret may come instead
in an ``Authorization: Basic`` header, as the official SDKs send them (parameters win over the
header when both are given). The answer is always HTTP 200 with
``{"message-count": "N", "messages": [...]}``, all values strings. A refused send gives one
``{"status": code, "error-text": ...}``; an accepted one gives an entry per SMS part (``to``,
``message-id``, ``status: "0"``, ``remaining-balance``, ``message-price``, ``network`` and the
``client-ref``/``account-ref`` sent). Checks, in order, with the API's status codes:

- 2 ``api_key`` missing; 32 both ``api_secret`` and ``sig``; 2 neither of them;
- 4 a wrong ``api_key`` or ``api_secret``; 14 a ``sig`` that does not verify with the
  signature secret (or no ``timestamp`` within five minutes of now, or no secret configured);
- 2 ``from``, ``to`` or ``text`` missing (``body`` and ``udh`` for ``type=binary``);
- 23 a ``callback`` over 100 characters; 3 any other value the ``NewMessage`` schema refuses;
  12 text over 3200 characters;
- the faults: 1 ``throttle``, 5 ``error``.

A delivery receipt goes to the send's ``callback`` (else the configured ``sms_dlr_url``) unless
``status-report-req`` is false: ``delivered`` (``err-code`` 0), or ``failed`` for an
``undeliverable`` fault; one per part.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from botkit.events import Channel
from botkit.sandbox.auth import rest_params
from botkit.sandbox.rules import SMS_MAX_CHARACTERS, sms_parts
from botkit.sandbox.schemas import check_sms_params, sms_schema
from botkit.sandbox.state import SANDBOX, Sandbox
from botkit.sandbox.submissions import Submission
from botkit.vonage.signing import sms_signature

SIGNATURE_WINDOW = 300.0
"""Seconds a signed request's ``timestamp`` may be away from now."""

_REMAINING_BALANCE = "10.00000000"
_PRICE = "0.03330000"
_NETWORK = "23410"


class SmsRefusal(Exception):
    """A send the SMS API refuses with ``status`` and ``error_text``."""

    def __init__(self, status: int, error_text: str) -> None:
        super().__init__(f"{status} {error_text}")
        self.status = status
        self.error_text = error_text

    def entry(self) -> dict[str, str]:
        return {"status": str(self.status), "error-text": self.error_text}


async def send_sms(request: web.Request) -> web.Response:
    """``POST /sms/json``."""
    sandbox = request.app[SANDBOX]
    params = await rest_params(request)
    shown = {k: v for k, v in params.items() if k not in ("api_secret", "sig")}
    user = params.get("to") or None
    try:
        text, typed = _checked(sandbox, params)
        fault = sandbox.refusing_fault(Channel.SMS, params["to"])
        if fault is not None:
            refusal = (
                SmsRefusal(1, "Throughput Rate Exceeded - please wait [ 702 ] and retry")
                if fault.kind == "throttle"
                else SmsRefusal(5, "Internal Error")
            )
            _log_refusal(sandbox, refusal, shown, user, fault_id=fault.id)
            return _answer([refusal.entry()])
    except SmsRefusal as refusal:
        _log_refusal(sandbox, refusal, shown, user)
        return _answer([refusal.entry()])

    parts, _ = sms_parts(text)
    ids = tuple(secrets.token_hex(8).upper() for _ in range(parts))
    report = typed.get("status-report-req", True) is not False
    callback = params.get("callback") or sandbox.config.sms_dlr_url
    submission = Submission(
        api="sms",
        channel=Channel.SMS,
        message_type="text",
        to=params["to"],
        sender=params["from"],
        content={"type": "text", "text": text},
        options={},
        client_ref=params.get("client-ref"),
        webhook_url=callback if report else None,
        webhook_version=None,
        body=shown,
    )
    sandbox.accept(submission, sms_message_ids=ids)
    entries = []
    for message_id in ids:
        entry = {
            "to": params["to"],
            "message-id": message_id,
            "status": "0",
            "remaining-balance": _REMAINING_BALANCE,
            "message-price": _PRICE,
            "network": _NETWORK,
        }
        for name in ("client-ref", "account-ref"):
            if name in params:
                entry[name] = params[name]
        entries.append(entry)
    return _answer(entries)


def _answer(entries: list[dict[str, str]]) -> web.Response:
    return web.json_response({"message-count": str(len(entries)), "messages": entries})


def _log_refusal(
    sandbox: Sandbox,
    refusal: SmsRefusal,
    shown: dict[str, str],
    user: str | None,
    *,
    fault_id: str | None = None,
) -> None:
    sandbox.journal.record(
        "rejected",
        Channel.SMS if user else None,
        user,
        api="sms",
        http_status=200,
        problem=refusal.entry(),
        request=shown,
        fault_id=fault_id,
    )


def _checked(sandbox: Sandbox, params: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The text to send and the parameters converted to their schema types; raises
    :class:`SmsRefusal`."""
    config = sandbox.config
    if not params.get("api_key"):
        raise SmsRefusal(2, "Missing api_key")
    has_secret, has_sig = "api_secret" in params, "sig" in params
    if has_secret and has_sig:
        raise SmsRefusal(32, "Signature And API Secret Disallowed")
    if not has_secret and not has_sig:
        raise SmsRefusal(2, "Missing api_secret")
    if not _same(params["api_key"], config.api_key):
        raise SmsRefusal(4, "Bad Credentials")
    if has_secret and not _same(params["api_secret"], config.api_secret):
        raise SmsRefusal(4, "Bad Credentials")
    if has_sig:
        _check_signature(sandbox, params)
    kind = params.get("type", "text")
    needed = ["from", "to", *(("body", "udh") if kind == "binary" else ("text",))]
    for name in needed:
        if not params.get(name):
            raise SmsRefusal(2, f"Missing {name} param")
    callback = params.get("callback")
    if callback is not None and len(callback) > 100:
        raise SmsRefusal(23, "Invalid Callback Url")
    typed = _typed(params)
    problems = check_sms_params(typed)
    if problems:
        first = problems[0]
        raise SmsRefusal(3, f"Invalid {first.name} param: {first.reason}")
    text = params.get("text", "") if kind != "binary" else f"[binary {params.get('body', '')}]"
    if len(text) > SMS_MAX_CHARACTERS:
        raise SmsRefusal(12, "Message too long")
    return text, typed


def _check_signature(sandbox: Sandbox, params: dict[str, str]) -> None:
    secret = sandbox.config.signature_secret
    if secret is None:
        raise SmsRefusal(14, "Invalid Signature: this account has no signature secret")
    stamp = params.get("timestamp", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > SIGNATURE_WINDOW:
        raise SmsRefusal(14, "Invalid Signature: timestamp missing or out of range")
    expected = sms_signature(params, secret, sandbox.config.sms_signature_method)
    if not _same(params["sig"].lower(), expected):
        raise SmsRefusal(14, "Invalid Signature")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _typed(params: Mapping[str, str]) -> dict[str, Any]:
    """``params`` with the values the schema wants as integers or booleans converted (those
    that do not convert stay strings, for the schema to refuse)."""
    properties = sms_schema().get("properties", {})
    out: dict[str, Any] = {}
    for name, value in params.items():
        kind = properties.get(name, {}).get("type")
        if kind == "integer" and value.lstrip("-").isdigit():
            out[name] = int(value)
        elif kind == "boolean" and value.lower() in ("true", "false"):
            out[name] = value.lower() == "true"
        else:
            out[name] = value
    return out


def sms_routes() -> list[web.RouteDef]:
    """The SMS API route (it needs :data:`~botkit.sandbox.state.SANDBOX`)."""
    return [web.post("/sms/json", send_sms)]
