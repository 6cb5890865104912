"""How a sandbox is set up: credentials, the bot's addresses, webhook targets and timing.

:class:`SandboxConfig` is fixed when the app is built; what the Application API may change
later (webhook URLs, the webhook version) lives in the applications, not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from botkit.errors import ConfigError
from botkit.events import Channel
from botkit.vonage.signing import SmsSignatureMethod

WebhookVersion = Literal["v1", "v0.1"]
WEBHOOK_VERSIONS: tuple[WebhookVersion, ...] = ("v1", "v0.1")

DEFAULT_BOT_ADDRESSES: Mapping[Channel, str] = MappingProxyType(
    {
        Channel.WHATSAPP: "447700900000",
        Channel.SMS: "447700900000",
        Channel.MMS: "14155550100",
        Channel.MESSENGER: "107083064136738",
        Channel.VIBER: "16273",
    }
)
"""The bot's own number or id per channel: a WhatsApp Business number, an SMS virtual number,
an American MMS number (MMS goes between US numbers only), a Facebook page id and a Viber
service id."""


class ProductionRefusedError(ConfigError):
    """Raised when a sandbox is asked to start in the production environment."""


@dataclass(frozen=True)
class Delays:
    """Seconds between a send's acceptance and its ``submitted`` status, from ``submitted`` to
    ``delivered``, and from ``delivered`` to the simulated user reading the message."""

    submitted: float = 0.05
    delivered: float = 0.3
    read: float = 1.0

    def __post_init__(self) -> None:
        for name in ("submitted", "delivered", "read"):
            if getattr(self, name) < 0:
                raise ValueError(f"delay {name} must not be negative")

    @classmethod
    def none(cls) -> Delays:
        """Every step at once (for tests): statuses still arrive in order."""
        return cls(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a sandbox is built with.

    - ``api_key``/``api_secret``: the account's Basic credentials (Messages API, Application
      API) and the SMS API's ``api_key``/``api_secret``.
    - ``signature_secret``: signs every Messages API webhook (HS256 JWT) and verifies the SMS
      API's ``sig``; None sends webhooks unsigned and refuses ``sig``.
    - ``application_id``/``public_key_pem``: the application the bot's numbers are linked to
      and the public key its RS256 JWTs are checked with (a fresh id when None).
    - ``inbound_url``/``status_url``/``webhook_version``: that application's messages webhooks.
    - ``bot_addresses``: the bot's own number or id per channel (defaults for any not given).
    - ``delays``, ``auto_read``: the timing of statuses; whether users read delivered messages
      by themselves after ``delays.read``.
    - ``webhook_retry_delays``: seconds before each new attempt of a webhook the bot did not
      answer with 2xx; its length is the number of retries.
    - ``sms_signature_method``: how an SMS API ``sig`` is computed.
    - ``sms_dlr_url``: where SMS API delivery receipts go when a send names no ``callback``.
    - ``max_events``: how many journal events are kept (older ones are dropped).
    """

    api_key: str
    api_secret: str
    signature_secret: str | None = None
    application_id: str | None = None
    public_key_pem: str | None = None
    webhook_version: WebhookVersion = "v1"
    inbound_url: str | None = None
    status_url: str | None = None
    bot_addresses: Mapping[Channel, str] = field(default_factory=lambda: DEFAULT_BOT_ADDRESSES)
    delays: Delays = field(default_factory=Delays)
    auto_read: bool = True
    webhook_retry_delays: tuple[float, ...] = (1.0, 5.0)
    sms_signature_method: SmsSignatureMethod = "md5hash"
    sms_dlr_url: str | None = None
    max_events: int = 10_000

    def __post_init__(self) -> None:
        if not self.api_key or not self.api_secret:
            raise ConfigError("the sandbox needs an api_key and an api_secret")
        if self.webhook_version not in WEBHOOK_VERSIONS:
            raise ConfigError(
                f"webhook_version must be one of {', '.join(WEBHOOK_VERSIONS)}, "
                f"not {self.webhook_version!r}"
            )
        if self.max_events < 1:
            raise ConfigError("max_events must be at least 1")
        merged = {**DEFAULT_BOT_ADDRESSES, **{Channel(k): v for k, v in self.bot_addresses.items()}}
        object.__setattr__(self, "bot_addresses", MappingProxyType(merged))

    def bot_address(self, channel: Channel) -> str:
        """The bot's own number or id on ``channel``."""
        return self.bot_addresses[channel]


def refuse_production(env: str | None) -> None:
    """Raise :class:`ProductionRefusedError` when ``env`` names the production environment."""
    if env is not None and env.strip().lower() == "production":
        raise ProductionRefusedError(
            "the sandbox plays the provider with made-up users and must not run in production "
            "(BOTKIT_ENV=production); run it in development or test"
        )
