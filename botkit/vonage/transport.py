"""Sending to the provider: one small interface, and a minimal Messages API v1 text send.

:class:`Transport` is the extension point: anything with ``send`` can carry botkit's outbound
messages (the provider's APIs, a local sandbox, a recorder in tests).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from botkit.errors import BotkitError
from botkit.events import Channel, Text
from botkit.outbound import Outbound

_WIRE_CHANNEL = {
    Channel.WHATSAPP: "whatsapp",
    Channel.MESSENGER: "messenger",
    Channel.VIBER: "viber_service",
    Channel.SMS: "sms",
    Channel.MMS: "mms",
}


@dataclass(frozen=True)
class SendReceipt:
    """The provider took the message: ``message_id`` is how its statuses will refer to it."""

    message_id: str


class SendError(BotkitError):
    """The provider refused a message or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, body: str | None = None):
        super().__init__(message)
        self.status = status
        self.body = body


class Transport(Protocol):
    """Carries one outbound message to the provider and returns its receipt."""

    async def send(self, message: Outbound) -> SendReceipt: ...


class MessagesV1Transport:
    """``POST {base_url}/v1/messages`` with Basic authentication.

    Uses the caller's :class:`aiohttp.ClientSession` so that connections are pooled.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        api_key: str,
        api_secret: str,
        timeout: float = 10.0,
    ) -> None:
        self._session = session
        self._url = base_url.rstrip("/") + "/v1/messages"
        token = base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, message: Outbound) -> SendReceipt:
        if not isinstance(message.content, Text):
            raise SendError(f"this transport sends text only, not {message.content.type}")
        text = message.content.text
        if message.buttons:
            # Offered choices as numbered lines, which every channel can show.
            options = "\n".join(f"{n}. {b.title}" for n, b in enumerate(message.buttons, 1))
            text = f"{text}\n{options}"
        body: dict[str, str] = {
            "message_type": "text",
            "channel": _WIRE_CHANNEL[message.channel],
            "to": message.to,
            "from": message.sender,
            "text": text,
        }
        if message.client_ref:
            body["client_ref"] = message.client_ref
        try:
            async with self._session.post(
                self._url, json=body, headers=self._headers, timeout=self._timeout
            ) as response:
                text = await response.text()
                if response.status != 202:
                    raise SendError(
                        f"the Messages API answered {response.status} to a {body['channel']} "
                        f"text: {text[:300]}",
                        status=response.status,
                        body=text,
                    )
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SendError(f"the Messages API at {self._url} could not be reached: {exc}") from exc
        uuid = data.get("message_uuid") if isinstance(data, dict) else None
        if not isinstance(uuid, str) or not uuid:
            raise SendError(f"the Messages API answered 202 without a message_uuid: {text[:300]}")
        return SendReceipt(message_id=uuid)
