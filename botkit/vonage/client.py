"""The transport stack the settings call for: how replies reach the provider.

    rate limit per channel -> retry with backoff -> Messages API (v1 or v0.1)
                                                 \\-> legacy SMS API, for SMS when configured

All of it shares the app's one pooled :class:`aiohttp.ClientSession`.
"""

from __future__ import annotations

import aiohttp

from botkit.errors import ConfigError
from botkit.events import Channel
from botkit.log import get_logger
from botkit.outbound import Outbound
from botkit.ratelimit import ChannelLimiter
from botkit.settings import Settings
from botkit.vonage.auth import choose_auth
from botkit.vonage.errors import SendError
from botkit.vonage.transport import (
    MessagesTransport,
    RateLimitedTransport,
    RetryingTransport,
    SendReceipt,
    SmsApiTransport,
    Transport,
)

log = get_logger("botkit.vonage")


class _Unconfigured:
    """Stands where the provider's transport would be when no credentials are set: every send
    fails with words saying what to set, and nothing is retried."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    async def send(self, message: Outbound) -> SendReceipt:
        error = SendError(self._reason)
        error.retryable = False
        raise error


class _SmsRouter:
    """SMS through the legacy SMS API, everything else through the Messages API."""

    def __init__(self, messages: Transport, sms_api: Transport) -> None:
        self._messages = messages
        self._sms_api = sms_api

    async def send(self, message: Outbound) -> SendReceipt:
        if message.channel is Channel.SMS:
            return await self._sms_api.send(message)
        return await self._messages.send(message)


def transport_from_settings(settings: Settings, session: aiohttp.ClientSession) -> Transport:
    """The provider transport for ``settings``: authentication chosen as the provider's SDKs
    do (JWT with an application, Basic otherwise, OAuth2 for a gateway's token URL)."""
    secret = settings.vonage_api_secret.get_secret_value() if settings.vonage_api_secret else None
    try:
        auth = choose_auth(
            api_key=settings.vonage_api_key,
            api_secret=secret,
            application_id=settings.vonage_application_id,
            private_key=settings.vonage_private_key,
            token_url=settings.vonage_oauth_token_url,
            client_id=settings.vonage_oauth_client_id,
            client_secret=settings.vonage_oauth_client_secret,
            scope=settings.vonage_oauth_scope,
            session=session,
        )
    except ConfigError as exc:
        reason = (
            f"replies cannot be sent: {exc} "
            "(`botkit dev` needs none: its sandbox plays the provider)"
        )
        log.warning("no provider credentials", detail=reason)
        return _Unconfigured(reason)
    transport: Transport = MessagesTransport(
        session,
        base_url=settings.vonage_api_url,
        auth=auth,
        version=settings.vonage_messages_version,
    )
    if settings.sms_via == "sms-api":
        if not settings.vonage_api_key or not secret:
            raise ConfigError("VONAGE_SMS_VIA=sms-api needs VONAGE_API_KEY and VONAGE_API_SECRET")
        sms_api = SmsApiTransport(
            session,
            base_url=settings.vonage_sms_api_url,
            api_key=settings.vonage_api_key,
            api_secret=secret,
        )
        transport = _SmsRouter(transport, sms_api)
    rates = {Channel(name): rate for name, rate in settings.channel_rates.items()}
    limited = RateLimitedTransport(transport, ChannelLimiter(rates))
    return RetryingTransport(limited)
