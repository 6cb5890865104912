"""Settings, read Heroku style from the environment over non-secret defaults in ``config/``.

Precedence, highest first: environment variables, then ``config/<BOTKIT_ENV>.toml``, then
``config/default.toml``, then the defaults below. Secrets come only from the environment.
A malformed value stops the process at start with :class:`~botkit.errors.ConfigError`, naming
the variable, what it holds and what it should hold.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from botkit.access import MIN_LENGTH as MIN_TOKEN_LENGTH
from botkit.errors import ConfigError

Environment = Literal["development", "test", "production"]
SmsSignatureMethod = Literal["md5hash", "md5", "sha1", "sha256", "sha512"]


_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("botkit_environ", default=None)


class _EnvironSource(EnvSettingsSource):
    """The environment source, reading a given mapping instead of ``os.environ`` when set."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = _ENVIRON.get()
        if environ is None:
            return super()._load_env_vars()
        return {key.lower(): value for key, value in environ.items()}


def _env(name: str, *more: str) -> Any:
    return Field(None, validation_alias=AliasChoices(name, name.lower(), *more))


class Settings(BaseSettings):
    """Everything botkit reads from its environment. Field docs name the variable."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    env: Environment = Field("development", validation_alias=AliasChoices("BOTKIT_ENV", "env"))
    """``BOTKIT_ENV``: development (readable logs), test, or production (JSON logs)."""
    host: str = Field("0.0.0.0", validation_alias=AliasChoices("BOTKIT_HOST", "host"))
    port: int = Field(8080, ge=1, le=65535, validation_alias=AliasChoices("PORT", "port"))
    redis_url: str | None = Field(None, validation_alias=AliasChoices("REDIS_URL", "redis_url"))
    """``REDIS_URL``: ``redis://`` or ``rediss://``; unset means the embedded memory store."""

    redis_prefix: str = Field(
        "bk",
        pattern=r"^[A-Za-z0-9_.-]{1,32}$",
        validation_alias=AliasChoices("BOTKIT_REDIS_PREFIX", "redis_prefix"),
    )
    """``BOTKIT_REDIS_PREFIX``: the start of every Redis key, so several bots share a Redis."""
    redis_ssl_cert_reqs: Literal["required", "none"] = Field(
        "required", validation_alias=AliasChoices("REDIS_SSL_CERT_REQS", "redis_ssl_cert_reqs")
    )
    """``REDIS_SSL_CERT_REQS``: ``none`` accepts a ``rediss://`` server's self-signed
    certificate (Heroku Redis needs it); the default checks it."""
    redis_cluster: Literal["auto", "true", "false"] = Field(
        "auto", validation_alias=AliasChoices("REDIS_CLUSTER", "redis_cluster")
    )
    """``REDIS_CLUSTER``: ``auto`` asks the server at start whether it is a Redis Cluster node
    (then botkit uses the whole cluster through it); ``true`` or ``false`` force it."""
    redis_wait_replicas: int = Field(
        0, ge=0, le=16, validation_alias=AliasChoices("REDIS_WAIT_REPLICAS", "redis_wait_replicas")
    )
    """``REDIS_WAIT_REPLICAS``: a webhook is answered 200 only once this many replicas of its
    Redis primary have the event, so a failover cannot lose it (0: once the primary has it)."""
    conversation_ttl: float = Field(
        30 * 24 * 3600.0,
        gt=0,
        validation_alias=AliasChoices("BOTKIT_CONVERSATION_TTL", "conversation_ttl"),
    )
    """Seconds an idle conversation is kept before it is forgotten."""
    dedup_seconds: float = Field(
        48 * 3600.0,
        gt=0,
        validation_alias=AliasChoices("BOTKIT_DEDUP_SECONDS", "dedup_seconds"),
    )
    """Seconds a provider message id is remembered, to drop the provider's retries."""
    lease_seconds: float = Field(
        30.0, gt=0, le=3600, validation_alias=AliasChoices("BOTKIT_LEASE_SECONDS", "lease_seconds")
    )
    """Seconds a dead process keeps a conversation before another takes it over."""
    handler_timeout: float = Field(
        30.0, gt=0, validation_alias=AliasChoices("BOTKIT_HANDLER_TIMEOUT", "handler_timeout")
    )
    sweep_seconds: float = Field(
        0.5, gt=0, le=60, validation_alias=AliasChoices("BOTKIT_SWEEP_SECONDS", "sweep_seconds")
    )
    """Seconds between looks for conversations to take over (a holder died or handed over)."""
    uvloop: bool = Field(True, validation_alias=AliasChoices("BOTKIT_UVLOOP", "uvloop"))
    """``BOTKIT_UVLOOP``: ``botkit serve`` runs on uvloop's event loop where it is installed
    (Linux and macOS); false keeps asyncio's own."""
    send_retry_max_seconds: float = Field(
        900.0,
        gt=0,
        validation_alias=AliasChoices("BOTKIT_SEND_RETRY_MAX_SECONDS", "send_retry_max_seconds"),
    )
    """Longest pause between two attempts of a reply that failed for a retryable reason."""
    send_retry_give_up_seconds: float = Field(
        24 * 3600.0,
        gt=0,
        validation_alias=AliasChoices(
            "BOTKIT_SEND_RETRY_GIVE_UP_SECONDS", "send_retry_give_up_seconds"
        ),
    )
    """After failing this long, a reply is given up and reported to the bot as rejected."""

    inspector_token: SecretStr | None = _env("BOTKIT_INSPECTOR_TOKEN")
    """``BOTKIT_INSPECTOR_TOKEN``: when set (at least 16 characters), the inspector API under
    ``/_botkit/`` is served, to requests carrying it; unset, it is not served at all."""
    api_token: SecretStr | None = _env("BOTKIT_API_TOKEN")
    """``BOTKIT_API_TOKEN``: when set (at least 16 characters), the events API
    (``POST /api/v1/events``) is served, to requests carrying it as a bearer token; unset, it
    is not served at all. ``botkit notify --url`` sends it."""
    api_url: str | None = _env("BOTKIT_API_URL")
    """``BOTKIT_API_URL``: the running server's base URL, where ``botkit notify`` posts when it
    cannot reach the store itself (``--url`` wins)."""

    metrics_token: SecretStr | None = _env("BOTKIT_METRICS_TOKEN")
    """``BOTKIT_METRICS_TOKEN``: when set (at least 16 characters), ``/metrics`` is served on
    the webhook port to requests carrying it."""
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("BOTKIT_METRICS_PORT", "metrics_port"),
    )
    """``BOTKIT_METRICS_PORT``: when set, ``/metrics`` is also served on this port of
    ``BOTKIT_HOST``, without a token (for a scraper on a private network)."""

    vonage_api_key: str | None = _env("VONAGE_API_KEY")
    vonage_api_secret: SecretStr | None = _env("VONAGE_API_SECRET")
    vonage_application_id: str | None = _env("VONAGE_APPLICATION_ID")
    vonage_private_key: SecretStr | None = _env("VONAGE_PRIVATE_KEY")
    """``VONAGE_PRIVATE_KEY``: the PEM text itself, or a path to the PEM file."""
    vonage_signature_secret: SecretStr | None = _env("VONAGE_SIGNATURE_SECRET")
    """``VONAGE_SIGNATURE_SECRET``: when set, every webhook must be signed with it."""
    vonage_api_url: str = Field(
        "https://api.nexmo.com",
        validation_alias=AliasChoices("VONAGE_API_URL", "vonage_api_url"),
    )

    vonage_messages_version: Literal["v1", "v0.1"] = Field(
        "v1",
        validation_alias=AliasChoices("VONAGE_MESSAGES_VERSION", "vonage_messages_version"),
    )
    """``VONAGE_MESSAGES_VERSION``: the Messages API version replies are sent with."""
    failover: Literal["local", "provider"] = Field(
        "local", validation_alias=AliasChoices("BOTKIT_FAILOVER", "failover")
    )
    """``BOTKIT_FAILOVER``: who carries out a reply's failover policy: botkit itself
    (``local``, on every channel, from 1 s) or the provider's Dispatch API (``provider``: one
    workflow per reply, 15 s to 1 day per step, on SMS, WhatsApp, Messenger and Viber)."""
    sms_via: Literal["messages", "sms-api"] = Field(
        "messages", validation_alias=AliasChoices("VONAGE_SMS_VIA", "sms_via")
    )
    """``VONAGE_SMS_VIA``: send SMS through the Messages API, or the legacy SMS API."""
    vonage_sms_api_url: str = Field(
        "https://rest.nexmo.com",
        validation_alias=AliasChoices("VONAGE_SMS_API_URL", "vonage_sms_api_url"),
    )
    sms_status_report: bool | None = Field(
        None, validation_alias=AliasChoices("VONAGE_SMS_STATUS_REPORT", "sms_status_report")
    )
    """``VONAGE_SMS_STATUS_REPORT``: ``true`` or ``false``, sent as every SMS API send's
    ``status-report-req`` (whether delivery receipts come back); unset sends none, and the
    provider's default (true) holds."""
    sms_callback_url: str | None = Field(
        None,
        max_length=100,
        validation_alias=AliasChoices("VONAGE_SMS_CALLBACK_URL", "sms_callback_url"),
    )
    """``VONAGE_SMS_CALLBACK_URL``: where the SMS API posts delivery receipts of botkit's sends
    (its ``callback``, at most 100 characters), instead of the number's or the account's
    receipt URL; a message's own ``webhook_url`` wins."""
    sms_sign_requests: bool = Field(
        False, validation_alias=AliasChoices("VONAGE_SMS_SIGN_REQUESTS", "sms_sign_requests")
    )
    """``VONAGE_SMS_SIGN_REQUESTS``: ``true`` signs every SMS API send with
    ``VONAGE_SIGNATURE_SECRET`` and ``VONAGE_SMS_SIGNATURE_METHOD`` (``timestamp`` and ``sig``)
    instead of sending ``VONAGE_API_SECRET``, for accounts that require signed requests."""
    vonage_oauth_token_url: str | None = _env("VONAGE_OAUTH_TOKEN_URL")
    """``VONAGE_OAUTH_TOKEN_URL``: an OAuth2 client-credentials token endpoint, for gateways
    that front the provider (then ``VONAGE_OAUTH_CLIENT_ID``/``_SECRET`` authenticate)."""
    vonage_oauth_client_id: str | None = _env("VONAGE_OAUTH_CLIENT_ID")
    vonage_oauth_client_secret: SecretStr | None = _env("VONAGE_OAUTH_CLIENT_SECRET")
    vonage_oauth_scope: str | None = _env("VONAGE_OAUTH_SCOPE")
    vonage_oauth_client_auth: Literal["basic", "body"] | None = _env("VONAGE_OAUTH_CLIENT_AUTH")
    """``VONAGE_OAUTH_CLIENT_AUTH``: ``basic`` sends the OAuth2 client id and secret as HTTP
    Basic, ``body`` as form fields; unset means the gateway's way (Basic without a gateway)."""
    vonage_gateway: Literal["vonage", "kpn"] = Field(
        "vonage", validation_alias=AliasChoices("VONAGE_GATEWAY", "vonage_gateway")
    )
    """``VONAGE_GATEWAY``: ``vonage`` talks to the provider itself; ``kpn`` sends through KPN's
    API Store (see :mod:`botkit.vonage.gateway`)."""
    vonage_gateway_url: str | None = _env("VONAGE_GATEWAY_URL")
    """``VONAGE_GATEWAY_URL``: where the gateway's Messages API is; unset means the gateway's
    documented base URL."""
    vonage_gateway_application_header: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9-]{1,64}$",
        validation_alias=AliasChoices(
            "VONAGE_GATEWAY_APPLICATION_HEADER", "vonage_gateway_application_header"
        ),
    )
    """``VONAGE_GATEWAY_APPLICATION_HEADER``: the header that carries ``VONAGE_APPLICATION_ID``
    through the gateway; unset means the gateway's default."""

    whatsapp_number: str | None = _env("VONAGE_WHATSAPP_NUMBER")
    """The bot's own WhatsApp number; replies from another number are refused."""
    sms_from: str | None = _env("VONAGE_SMS_FROM")
    """The bot's own SMS number or alphanumeric sender."""
    mms_number: str | None = _env("VONAGE_MMS_NUMBER")
    messenger_page_id: str | None = _env("VONAGE_MESSENGER_PAGE_ID")
    viber_service_id: str | None = _env("VONAGE_VIBER_SERVICE_ID")

    rate_limits: str = Field(
        "sms=30", validation_alias=AliasChoices("BOTKIT_RATE_LIMITS", "rate_limits")
    )
    """``BOTKIT_RATE_LIMITS``: sends per second per channel, as ``sms=30,whatsapp=80``."""

    signature_max_age: float = Field(
        300.0,
        gt=0,
        le=86400,
        validation_alias=AliasChoices("VONAGE_SIGNATURE_MAX_AGE", "signature_max_age"),
    )
    """Seconds a signed webhook stays acceptable after the provider signed it."""
    sms_signature_method: SmsSignatureMethod = Field(
        "md5hash",
        validation_alias=AliasChoices("VONAGE_SMS_SIGNATURE_METHOD", "sms_signature_method"),
    )
    max_body_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        validation_alias=AliasChoices("BOTKIT_MAX_BODY_BYTES", "max_body_bytes"),
    )
    header_timeout: float = Field(
        10.0,
        gt=0,
        le=600,
        validation_alias=AliasChoices("BOTKIT_HEADER_TIMEOUT", "header_timeout"),
    )
    """``BOTKIT_HEADER_TIMEOUT``: seconds a client has to send its complete request head (on a
    new connection, and between requests on a kept-alive one); then 408 and closed."""
    body_timeout: float = Field(
        30.0,
        gt=0,
        le=3600,
        validation_alias=AliasChoices("BOTKIT_BODY_TIMEOUT", "body_timeout"),
    )
    """``BOTKIT_BODY_TIMEOUT``: seconds a client has to send a webhook's body once its head
    arrived; then 408 and closed."""
    max_connections: int = Field(
        1000,
        ge=1,
        le=1_000_000,
        validation_alias=AliasChoices("BOTKIT_MAX_CONNECTIONS", "max_connections"),
    )
    """``BOTKIT_MAX_CONNECTIONS``: concurrent client connections; more are answered 503 at once
    (never more than the open-files limit minus 200)."""
    sms_concat_timeout: float = Field(
        24 * 3600.0,
        gt=0,
        validation_alias=AliasChoices("BOTKIT_SMS_CONCAT_TIMEOUT", "sms_concat_timeout"),
    )
    """Seconds the parts of a concatenated SMS wait for the rest; then what arrived is
    delivered as one message marked incomplete (``sms.missing_parts``)."""
    sms_parts_per_sender: int = Field(
        1000,
        ge=255,
        validation_alias=AliasChoices("BOTKIT_SMS_PARTS_PER_SENDER", "sms_parts_per_sender"),
    )
    """Parts of unfinished long SMS held for one sender at most (at least 255, the most parts
    one message may have). A part past it first delivers that sender's oldest unfinished
    message as it stands, marked incomplete."""
    sms_parts_total: int = Field(
        100_000,
        ge=4096,
        validation_alias=AliasChoices("BOTKIT_SMS_PARTS_TOTAL", "sms_parts_total"),
    )
    """Parts of unfinished long SMS held at most, all senders together (on Redis split evenly
    across 16 buckets of senders, so at least 16 x 256). A part past it first delivers the
    oldest unfinished message of its bucket, marked incomplete."""

    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", validation_alias=AliasChoices("LOG_LEVEL", "log_level")
    )
    log_format: Literal["console", "json"] | None = Field(
        None, validation_alias=AliasChoices("LOG_FORMAT", "log_format")
    )
    """``LOG_FORMAT``: unset means JSON lines in production, readable console otherwise."""
    log_mask_numbers: bool = Field(
        True, validation_alias=AliasChoices("BOTKIT_LOG_MASK_NUMBERS", "log_mask_numbers")
    )

    @field_validator(
        "log_level",
        "env",
        "sms_signature_method",
        "redis_ssl_cert_reqs",
        "vonage_gateway",
        "vonage_oauth_client_auth",
        "redis_cluster",
        mode="before",
    )
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("inspector_token", "metrics_token", "api_token")
    @classmethod
    def _strong_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"must be at least {MIN_TOKEN_LENGTH} characters: it guards users' data"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value or None

    @field_validator("rate_limits")
    @classmethod
    def _rates(cls, value: str) -> str:
        channels = {"whatsapp", "messenger", "viber", "sms", "mms"}
        for item in filter(None, (part.strip() for part in value.split(","))):
            name, sep, rate = item.partition("=")
            if not sep or name.strip() not in channels:
                raise ValueError(f"{item!r} is not channel=rate with a channel of {channels}")
            try:
                if float(rate) <= 0:
                    raise ValueError
            except ValueError:
                raise ValueError(f"{item!r}: the rate must be a positive number") from None
        return value

    @property
    def channel_rates(self) -> dict[str, float]:
        """``BOTKIT_RATE_LIMITS`` as ``{channel: sends per second}``."""
        rates = {}
        for item in filter(None, (part.strip() for part in self.rate_limits.split(","))):
            name, _, rate = item.partition("=")
            rates[name.strip()] = float(rate)
        return rates

    @property
    def senders(self) -> dict[str, str]:
        """The bot's own address per channel, where configured."""
        found = {channel: getattr(self, name) for channel, name in SENDER_FIELDS.items()}
        return {channel: address for channel, address in found.items() if address}

    @field_validator(
        "vonage_api_url",
        "vonage_sms_api_url",
        "vonage_oauth_token_url",
        "vonage_gateway_url",
        "api_url",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("sms_callback_url")
    @classmethod
    def _callback(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value or None

    @field_validator("vonage_private_key")
    @classmethod
    def _pem(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        text = value.get_secret_value().strip()
        if "-----BEGIN" in text:
            # Heroku config vars are often pasted with literal "\n" instead of newlines.
            return SecretStr(text.replace("\\n", "\n"))
        path = Path(text).expanduser()
        if not path.is_file():
            raise ValueError("is neither PEM text (-----BEGIN ...) nor the path of a readable file")
        return SecretStr(path.read_text())

    @property
    def effective_log_format(self) -> Literal["console", "json"]:
        if self.log_format is not None:
            return self.log_format
        return "json" if self.env == "production" else "console"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the config files, which arrive as init kwargs.
        return (_EnvironSource(settings_cls), init_settings)


SENDER_FIELDS = {
    "whatsapp": "whatsapp_number",
    "sms": "sms_from",
    "mms": "mms_number",
    "messenger": "messenger_page_id",
    "viber": "viber_service_id",
}
"""The setting that holds the bot's own address, per channel name."""


def sender_variable(channel: str) -> str:
    """The environment variable of the bot's own address on ``channel`` (``VONAGE_SMS_FROM``)."""
    return _VARIABLE[SENDER_FIELDS[channel]]


def _config_files(config_dir: Path, env_name: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for name in ("default", env_name):
        path = config_dir / f"{name}.toml"
        if not path.is_file():
            continue
        try:
            merged.update(tomllib.loads(path.read_text()))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    return merged


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read the settings; raise :class:`ConfigError` naming every malformed variable.

    ``environ`` replaces ``os.environ`` (for tests); ``overrides`` beat everything.
    """
    env = dict(os.environ if environ is None else environ)
    env_name = env.get("BOTKIT_ENV", "development").lower()
    config_dir = Path(env.get("BOTKIT_CONFIG_DIR", "config"))
    file_values = _config_files(config_dir, env_name)
    token = _ENVIRON.set(env)
    try:
        settings = Settings(**file_values)
        if overrides:
            settings = settings.model_copy(update=overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    finally:
        _ENVIRON.reset(token)
    return settings


_VARIABLE = {
    name: (
        field.validation_alias.choices[0]
        if isinstance(field.validation_alias, AliasChoices)
        and isinstance(field.validation_alias.choices[0], str)
        else name.upper()
    )
    for name, field in Settings.model_fields.items()
}


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        loc = str(error["loc"][0]) if error["loc"] else "?"
        field_name = next(
            (name for name, var in _VARIABLE.items() if loc in (name, var)),
            loc,
        )
        variable = _VARIABLE.get(field_name, loc.upper())
        secret = any(word in variable for word in ("SECRET", "PRIVATE", "TOKEN"))
        shown = "(hidden)" if secret else repr(error.get("input"))
        lines.append(f"{variable}={shown}: {error['msg']}")
    return "malformed settings:\n  " + "\n  ".join(lines) + "\nFix the environment and restart."
