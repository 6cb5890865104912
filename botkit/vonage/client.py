"""The transport stack the settings call for: how replies reach the provider.

    retry with backoff -> rate limit per channel and sender -> Messages API (v1 or v0.1)
                                                            \\-> legacy SMS API, for SMS
                                                            \\-> Dispatch API, for replies
                                                               with provider failover

All of it shares the app's one pooled :class:`aiohttp.ClientSession`. The rate limits live
where the conversations do: in Redis, shared by every process, with a Redis store; in this
process with the memory store.
"""

from __future__ import annotations

import aiohttp

from botkit.errors import ConfigError
from botkit.events import Channel
from botkit.log import get_logger
from botkit.ratelimit import ChannelLimiter
from botkit.settings import Settings
from botkit.store.base import Store
from botkit.vonage.auth import Authenticator, choose_auth
from botkit.vonage.gateway import (
    ApplicationHeader,
    messages_url,
    messages_version,
    parameter_objects,
    profile_of,
)
from botkit.vonage.outbound import messages_v0, messages_v1
from botkit.vonage.transport import (
    ChannelRouter,
    DispatchTransport,
    MessagesTransport,
    RateLimitedTransport,
    RetryingTransport,
    SmsApiTransport,
    Transport,
    UnconfiguredTransport,
)

log = get_logger("botkit.vonage")


def transport_from_settings(
    settings: Settings, session: aiohttp.ClientSession, store: Store | None = None
) -> Transport:
    """The provider transport for ``settings``: authentication chosen as the provider's SDKs
    do (JWT with an application, Basic otherwise, OAuth2 for a gateway's token URL), what the
    ``VONAGE_GATEWAY`` profile changes (:mod:`botkit.vonage.gateway`), the rates
    of ``BOTKIT_RATE_LIMITS`` kept by ``store``'s :meth:`~botkit.store.base.Store.rate_limiter`
    (in this process without a store)."""
    secret = settings.vonage_api_secret.get_secret_value() if settings.vonage_api_secret else None
    profile = profile_of(settings)
    try:
        auth: Authenticator = choose_auth(
            api_key=settings.vonage_api_key,
            api_secret=secret,
            application_id=settings.vonage_application_id,
            private_key=settings.vonage_private_key,
            token_url=settings.vonage_oauth_token_url or profile.token_url,
            client_id=settings.vonage_oauth_client_id,
            client_secret=settings.vonage_oauth_client_secret,
            scope=settings.vonage_oauth_scope,
            client_auth=settings.vonage_oauth_client_auth or profile.client_auth,
            session=session,
        )
        if profile.application_header is not None:
            if not settings.vonage_application_id:
                raise ConfigError(
                    f"VONAGE_GATEWAY={profile.name} sends the application id with every "
                    "message: set VONAGE_APPLICATION_ID"
                )
            header = settings.vonage_gateway_application_header or profile.application_header
            auth = ApplicationHeader(auth, header, settings.vonage_application_id)
    except ConfigError as exc:
        reason = (
            f"replies cannot be sent: {exc} "
            "(`botkit dev` needs none: its sandbox plays the provider)"
        )
        log.warning("no provider credentials", detail=reason)
        return UnconfiguredTransport(reason)
    version = messages_version(settings)
    body = messages_v1.body if version == "v1" else messages_v0.body
    transport: Transport = MessagesTransport(
        session,
        base_url=messages_url(settings),
        auth=auth,
        version=version,
        body=parameter_objects(body) if profile.template_parameter_objects else body,
    )
    routes: dict[Channel, Transport] = {}
    if settings.sms_via == "sms-api":
        if profile.name != "vonage":
            raise ConfigError(
                f"VONAGE_SMS_VIA=sms-api does not go through VONAGE_GATEWAY={profile.name}: "
                "SMS go through the gateway's Messages API (VONAGE_SMS_VIA=messages)"
            )
        routes[Channel.SMS] = _sms_api(settings, session, secret)
    if routes or settings.failover == "provider":
        workflows = (
            DispatchTransport(session, base_url=settings.vonage_api_url, auth=auth)
            if settings.failover == "provider"
            else None
        )
        transport = ChannelRouter(transport, routes, workflows=workflows)
    rates = {Channel(name): rate for name, rate in settings.channel_rates.items()}
    limiter = store.rate_limiter(rates) if store is not None else ChannelLimiter(rates)
    limited = RateLimitedTransport(transport, limiter)
    return RetryingTransport(limited)


def _sms_api(
    settings: Settings, session: aiohttp.ClientSession, secret: str | None
) -> SmsApiTransport:
    """The legacy SMS API's transport: authenticated with the API secret, or signed with the
    signature secret under ``VONAGE_SMS_SIGN_REQUESTS``; receipts as the settings ask."""
    signature = settings.vonage_signature_secret
    if settings.sms_sign_requests:
        if not settings.vonage_api_key or signature is None:
            raise ConfigError(
                "VONAGE_SMS_SIGN_REQUESTS=true needs VONAGE_API_KEY and VONAGE_SIGNATURE_SECRET "
                "(the account's signature secret, which signs each SMS API request)"
            )
    elif not settings.vonage_api_key or not secret:
        raise ConfigError(
            "VONAGE_SMS_VIA=sms-api needs VONAGE_API_KEY and VONAGE_API_SECRET (or "
            "VONAGE_SMS_SIGN_REQUESTS=true and VONAGE_SIGNATURE_SECRET)"
        )
    return SmsApiTransport(
        session,
        base_url=settings.vonage_sms_api_url,
        api_key=settings.vonage_api_key,
        api_secret=None if settings.sms_sign_requests else secret,
        signature_secret=signature.get_secret_value()
        if settings.sms_sign_requests and signature is not None
        else None,
        signature_method=settings.sms_signature_method,
        status_report=settings.sms_status_report,
        callback=settings.sms_callback_url,
    )
