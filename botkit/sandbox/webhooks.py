"""The webhooks the sandbox posts to the bot, shaped and signed as the provider's.

Payloads follow the spec of the version in force:

- v1 status: flat, with ``channel`` (``viber_service`` for Viber), ``to`` the user, ``from`` the
  bot, ``timestamp``, ``status``, ``client_ref`` when the send had one, and on failure
  ``error: {type, title (the code as a string), detail, instance}``. WhatsApp ``delivered``
  adds ``whatsapp.conversation``; SMS and MMS ``delivered`` add ``usage``.
- v0.1 status: ``to``/``from`` objects ``{type, number|id}`` (Messenger ids on both sides, Viber
  the user's number and the service's id), ``error: {code, reason}``.
- v1 inbound: per channel, ``message_type`` and the content field named after it (``text`` a
  string); WhatsApp adds ``profile.name`` and ``context``; SMS adds ``sms.num_messages``,
  ``sms.keyword`` and ``usage``.
- v0.1 inbound: ``message.content: {type, text | <type>: {...}}``; SMS adds
  ``message.sms.num_messages`` and ``usage`` (both required there); a WhatsApp location is
  ``{latitude, longitude}`` as strings, as in spec 0.5.0.

Messages API webhooks carry ``Authorization: Bearer <JWT>`` signed HS256 with the signature
secret (``iat`` by the machine clock, ``jti``, ``iss: "Vonage"``, ``payload_hash``,
``api_key``, ``application_id``); payload timestamps follow the sandbox clock. SMS API delivery
receipts are signed with ``timestamp``, ``nonce`` and ``sig`` instead. A webhook the bot does
not answer with 2xx is tried again after each of the configured retry delays.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Literal

import aiohttp

from botkit.events import Channel
from botkit.sandbox.config import WebhookVersion
from botkit.sandbox.journal import Journal, iso_time
from botkit.sandbox.rules import ProviderCode, sms_parts
from botkit.sandbox.submissions import V0_WIRE, V1_WIRE
from botkit.sandbox.users import UserMessage
from botkit.vonage.signing import SmsSignatureMethod, sign_webhook_jwt, sms_signature

WebhookName = Literal["inbound", "status", "final-report", "dlr"]

ERROR_TYPE_URL = "https://developer.nexmo.com/api-errors/messages-olympus#"
SMS_PRICE = "0.0333"
_TIMEOUT = aiohttp.ClientTimeout(total=10)


def status_payload(
    version: WebhookVersion,
    *,
    message_uuid: str,
    channel: Channel,
    user: str,
    bot: str,
    status: str,
    timestamp: float,
    client_ref: str | None = None,
    error: ProviderCode | None = None,
) -> dict[str, Any]:
    """A message-status webhook in ``version``."""
    if version == "v0.1":
        payload: dict[str, Any] = {
            "message_uuid": message_uuid,
            "to": _v0_address(channel, user, side="user"),
            "from": _v0_address(channel, bot, side="bot"),
            "timestamp": iso_time(timestamp),
            "status": status,
        }
        if error is not None:
            payload["error"] = {"code": error.code, "reason": error.title}
    else:
        payload = {
            "message_uuid": message_uuid,
            "to": user,
            "from": bot,
            "timestamp": iso_time(timestamp),
            "status": status,
            "channel": V1_WIRE[channel],
        }
        if error is not None:
            payload["error"] = {
                "type": ERROR_TYPE_URL + str(error.code),
                "title": str(error.code),
                "detail": error.description,
                "instance": uuid.uuid4().hex,
            }
        if status == "delivered" and channel is Channel.WHATSAPP:
            payload["whatsapp"] = {
                "conversation": {
                    "id": uuid.uuid5(uuid.NAMESPACE_URL, f"{bot}/{user}").hex,
                    "origin": {"type": "service"},
                }
            }
    if status == "delivered" and channel in (Channel.SMS, Channel.MMS):
        payload["usage"] = {"currency": "EUR", "price": SMS_PRICE}
    if client_ref is not None:
        payload["client_ref"] = client_ref
    return payload


def inbound_payload(
    version: WebhookVersion,
    message: UserMessage,
    *,
    message_uuid: str,
    channel: Channel,
    user: str,
    bot: str,
    timestamp: float,
) -> dict[str, Any]:
    """An inbound-message webhook in ``version``."""
    if version == "v0.1":
        return _v0_inbound(message, message_uuid, channel, user, bot, timestamp)
    payload: dict[str, Any] = {
        "channel": V1_WIRE[channel],
        "message_uuid": message_uuid,
        "to": bot,
        "from": user,
        "timestamp": iso_time(timestamp),
        "message_type": message.message_type,
        message.message_type: message.value,
    }
    if channel is Channel.WHATSAPP:
        payload["profile"] = {"name": message.profile_name or "Sandbox user"}
        if message.context is not None:
            payload["context"] = {"message_uuid": message.context, "message_from": bot}
    elif channel is Channel.VIBER and message.context is not None:
        payload["context"] = {"message_uuid": message.context}
    elif channel is Channel.SMS and message.text is not None:
        parts, _ = sms_parts(message.text)
        payload["sms"] = {"num_messages": str(parts), "keyword": _keyword(message.text)}
        payload["usage"] = {"currency": "EUR", "price": SMS_PRICE}
    return payload


def _v0_inbound(
    message: UserMessage,
    message_uuid: str,
    channel: Channel,
    user: str,
    bot: str,
    timestamp: float,
) -> dict[str, Any]:
    kind = message.message_type
    content: dict[str, Any] = {"type": kind}
    if kind == "location":
        location = {
            "latitude": repr(message.value["lat"]),
            "longitude": repr(message.value["long"]),
        }
        location.update({k: v for k, v in message.value.items() if k in ("name", "address")})
        content["location"] = location
    else:
        content[kind] = message.value
    body: dict[str, Any] = {"content": content}
    payload: dict[str, Any] = {
        "message_uuid": message_uuid,
        "timestamp": iso_time(timestamp),
        "to": _v0_address(channel, bot, side="bot"),
        "from": _v0_address(channel, user, side="user"),
        "message": body,
    }
    if channel is Channel.SMS and message.text is not None:
        parts, _ = sms_parts(message.text)
        body["sms"] = {"num_messages": str(parts)}
        payload["usage"] = {"currency": "EUR", "price": SMS_PRICE}
    return payload


def _v0_address(channel: Channel, address: str, *, side: Literal["user", "bot"]) -> dict[str, str]:
    uses_id = channel is Channel.MESSENGER or (channel is Channel.VIBER and side == "bot")
    return {"type": V0_WIRE[channel], "id" if uses_id else "number": address}


def _keyword(text: str) -> str:
    words = text.split()
    return words[0].upper() if words else ""


def sms_dlr_params(
    *,
    message_id: str,
    user: str,
    sender: str,
    status: str,
    err_code: str,
    api_key: str,
    client_ref: str | None,
    timestamp: float,
) -> dict[str, str]:
    """An SMS API delivery receipt (every value a string)."""
    stamp = time.gmtime(timestamp)
    params = {
        "msisdn": user,
        "to": sender,
        "network-code": "23410",
        "messageId": message_id,
        "price": SMS_PRICE,
        "status": status,
        "scts": time.strftime("%y%m%d%H%M", stamp),
        "err-code": err_code,
        "api-key": api_key,
        "message-timestamp": time.strftime("%Y-%m-%d %H:%M:%S", stamp),
    }
    if client_ref is not None:
        params["client-ref"] = client_ref
    return params


class WebhookSender:
    """Posts webhooks to the bot, signs them, retries them, and logs every attempt."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        journal: Journal,
        *,
        signature_secret: str | None,
        api_key: str,
        retry_delays: Sequence[float],
        sms_signature_method: SmsSignatureMethod,
    ) -> None:
        self._session = session
        self._journal = journal
        self._secret = signature_secret
        self._api_key = api_key
        self._retry_delays = tuple(retry_delays)
        self._sms_method: SmsSignatureMethod = sms_signature_method

    async def post_messages_webhook(
        self,
        webhook: WebhookName,
        url: str | None,
        payload: dict[str, Any],
        *,
        application_id: str | None,
        channel: Channel,
        user: str,
        message_uuid: str,
    ) -> bool:
        """Post a Messages API webhook (JSON, JWT-signed); True once the bot answered 2xx."""
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()

        def request() -> tuple[bytes, dict[str, str]]:
            headers = {"Content-Type": "application/json"}
            if self._secret is not None:
                token = sign_webhook_jwt(
                    body,
                    self._secret,
                    api_key=self._api_key,
                    application_id=application_id,
                    iat=time.time(),
                )
                headers["Authorization"] = f"Bearer {token}"
            return body, headers

        return await self._post(webhook, url, request, channel, user, message_uuid)

    async def post_sms_receipt(
        self, url: str | None, params: dict[str, str], *, user: str, message_uuid: str
    ) -> bool:
        """Post an SMS API delivery receipt (JSON; signed with ``timestamp``, ``nonce`` and
        ``sig`` when there is a secret); True once the bot answered 2xx."""

        def request() -> tuple[bytes, dict[str, str]]:
            signed = dict(params)
            if self._secret is not None:
                signed["timestamp"] = str(int(time.time()))
                signed["nonce"] = str(uuid.uuid4())
                signed["sig"] = sms_signature(signed, self._secret, self._sms_method)
            body = json.dumps(signed, separators=(",", ":")).encode()
            return body, {"Content-Type": "application/json"}

        return await self._post("dlr", url, request, Channel.SMS, user, message_uuid)

    async def _post(
        self,
        webhook: WebhookName,
        url: str | None,
        request: Callable[[], tuple[bytes, dict[str, str]]],
        channel: Channel,
        user: str,
        message_uuid: str,
    ) -> bool:
        if url is None:
            self._journal.record(
                "webhook",
                channel,
                user,
                webhook=webhook,
                url=None,
                message_uuid=message_uuid,
                attempt=1,
                response_status=None,
                error=f"no {'inbound_url' if webhook == 'inbound' else 'status URL'} is set",
            )
            return False
        for attempt, delay in enumerate((0.0, *self._retry_delays), start=1):
            if delay:
                await asyncio.sleep(delay)
            data, headers = request()
            status: int | None = None
            error: str | None = None
            try:
                async with self._session.post(
                    url, data=data, headers=headers, timeout=_TIMEOUT
                ) as response:
                    status = response.status
                    await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}".rstrip(": ")
            ok = status is not None and 200 <= status < 300
            self._journal.record(
                "webhook",
                channel,
                user,
                webhook=webhook,
                url=url,
                message_uuid=message_uuid,
                attempt=attempt,
                response_status=status,
                error=None if ok else (error or f"the bot answered {status}"),
            )
            if ok:
                return True
        return False
