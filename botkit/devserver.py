"""``botkit dev``: the bot and a sandbox provider in one process, wired to each other.

    sandbox (127.0.0.1:8090)  --signed webhooks-->  bot server (127.0.0.1:8080)
            ^                                              |
            +------------- Messages API sends -------------+

The sandbox plays Vonage (it checks every send against the provider's rules) and serves the web
chat and the inspector. A random token, fresh per run, guards the pages, the sandbox's control
API and the bot's inspector API: :attr:`DevServer.chat_url` carries it. Both share one clock,
so moving the sandbox's clock a day forward moves
the bot's too. The bot runs on the embedded memory store unless ``REDIS_URL`` is set; the store
outlives reloads, so editing the bot's file keeps every conversation where it was.

The provider's own endpoints (``/v1/messages``, ``/sms/json``, ``/v2/applications``...) take
the provider's credentials, not the token: :attr:`DevServer.credentials` holds the account's
key and secret, the signature secret of the webhooks, and the id and key pair of the
application the bot's numbers are linked to. Its private key is written, mode 0600, to
:attr:`DevServer.private_key_path` (a fresh temporary folder, removed by :meth:`DevServer.stop`),
so that curl, Postman or an official SDK can talk to the sandbox, and a bot developer can check
signed webhooks with the SDK's helper. With :attr:`DevServer.gateway` ``kpn`` the bot sends
through the sandbox playing KPN's API Store, with the ``VONAGE_GATEWAY=kpn`` profile.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import secrets
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from botkit.bot import Bot
from botkit.clock import OffsetClock
from botkit.errors import ConfigError
from botkit.events import Channel
from botkit.log import get_logger
from botkit.sandbox.credentials import SandboxCredentials
from botkit.sandbox.gateway import MESSAGES_BASE as GATEWAY_MESSAGES_BASE
from botkit.sandbox.gateway import TOKEN_PATH as GATEWAY_TOKEN_PATH
from botkit.sandbox.journal import Journal
from botkit.sandbox.pages import add_pages
from botkit.sandbox.provider import create_sandbox_app
from botkit.sandbox.state import SANDBOX
from botkit.server import create_app
from botkit.settings import SENDER_FIELDS, Settings
from botkit.store import open_store
from botkit.store.base import Store
from botkit.targets import load_bot_class
from botkit.vonage.gateway import GatewayName

log = get_logger("botkit.dev")

BOT_ADDRESSES = {
    Channel.WHATSAPP: "447700900000",
    Channel.SMS: "447700900000",
    Channel.MMS: "14155550100",
    Channel.MESSENGER: "107083064136738",
    Channel.VIBER: "botkit-pizza",
}


@dataclass
class DevServer:
    """The bot at ``target`` (``module:Class``) and its sandbox, started by :meth:`start`."""

    target: str
    settings: Settings
    host: str = "127.0.0.1"
    port: int = 8080
    sandbox_port: int = 8090
    delays: tuple[float, float, float] = (0.2, 0.6, 1.5)
    clock: OffsetClock = field(default_factory=OffsetClock)
    bot_class: type[Bot[Any]] | None = None
    _store: Store | None = None
    _bot_runner: web.AppRunner | None = None
    _sandbox_runner: web.AppRunner | None = None
    _watcher: asyncio.Task[None] | None = None
    _journal: Journal | None = None
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    """Guards the pages, the sandbox's control API and the bot's inspector API (fresh per run)."""
    credentials: SandboxCredentials = field(default_factory=SandboxCredentials.fresh)
    """What outside clients authenticate with, as with the provider (fresh per run unless
    given)."""
    _key_folder: Path | None = None
    gateway: GatewayName = "vonage"
    """``kpn``: the bot sends through the sandbox playing KPN's API Store (its token endpoint,
    application header and quota headers), with the ``VONAGE_GATEWAY=kpn`` profile."""

    @property
    def private_key_path(self) -> Path | None:
        """The file holding the linked application's private key, once started."""
        return None if self._key_folder is None else self._key_folder / "private.key"

    @property
    def bot_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://{self.host}:{self.sandbox_port}"

    @property
    def chat_url(self) -> str:
        """The web chat, with the token: opening it once lets the browser in (a cookie)."""
        return f"{self.sandbox_url}/?token={self.token}"

    @property
    def inspector_url(self) -> str:
        return f"{self.sandbox_url}/inspector?token={self.token}"

    @property
    def auth_headers(self) -> dict[str, str]:
        """What a program sends to the sandbox's control API."""
        return {"Authorization": f"Bearer {self.token}"}

    async def start(self, *, watch: bool = True) -> None:
        """Start the sandbox and the bot; with ``watch``, reload the bot when its file changes."""
        if self.settings.env == "production":
            raise ConfigError(
                "botkit dev runs a sandbox that plays the provider; it refuses to start with "
                "BOTKIT_ENV=production"
            )
        self.bot_class = load_bot_class(self.target)
        self._store = open_store(self.settings)
        self._write_private_key()
        credentials = self.credentials
        sandbox = create_sandbox_app(
            clock=self.clock,
            signature_secret=credentials.signature_secret,
            api_key=credentials.api_key,
            api_secret=credentials.api_secret,
            application_id=credentials.application_id,
            public_key_pem=credentials.public_key_pem,
            inbound_url=f"{self.bot_url}/webhooks/inbound",
            status_url=f"{self.bot_url}/webhooks/status",
            delays=self.delays,
            bot_addresses=BOT_ADDRESSES,
            env=self.settings.env,
            token=self.token,
        )
        add_pages(
            sandbox,
            bot_name=self.bot_class.__name__,
            bot_url=self.bot_url,
            bot_addresses=BOT_ADDRESSES,
            inspector_token=self.token,
        )
        self._journal = sandbox[SANDBOX].journal
        self._sandbox_runner = await _serve(sandbox, self.host, self.sandbox_port)
        await self._start_bot()
        if watch:
            self._watcher = asyncio.create_task(self._watch())

    def _write_private_key(self) -> None:
        self._key_folder = Path(tempfile.mkdtemp(prefix="botkit-dev-"))
        path = self._key_folder / "private.key"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(self.credentials.private_key_pem)

    def _bot_settings(self) -> Settings:
        # The bot's own address on each channel is the sandbox's, unless a setting says
        # otherwise, so it can send on a channel the user did not write on (a failover's SMS).
        own = {
            SENDER_FIELDS[channel.value]: address
            for channel, address in BOT_ADDRESSES.items()
            if getattr(self.settings, SENDER_FIELDS[channel.value]) is None
        }
        return self.settings.model_copy(
            update={
                **own,
                "vonage_api_url": self.sandbox_url,
                "vonage_sms_api_url": self.sandbox_url,
                "vonage_api_key": self.credentials.api_key,
                "vonage_api_secret": _secret(self.credentials.api_secret),
                "vonage_application_id": None,
                "vonage_private_key": None,
                "vonage_signature_secret": _secret(self.credentials.signature_secret),
                "inspector_token": _secret(self.token),
                **self._gateway_settings(),
            }
        )

    def _gateway_settings(self) -> dict[str, Any]:
        if self.gateway == "vonage":
            return {"vonage_gateway": "vonage"}
        return {
            "vonage_gateway": self.gateway,
            "vonage_gateway_url": self.sandbox_url + GATEWAY_MESSAGES_BASE,
            "vonage_oauth_token_url": self.sandbox_url
            + GATEWAY_TOKEN_PATH
            + "?grant_type=client_credentials",
            "vonage_oauth_client_id": self.credentials.api_key,
            "vonage_oauth_client_secret": _secret(self.credentials.api_secret),
            "vonage_application_id": self.credentials.application_id,
            "vonage_gateway_application_header": None,
        }

    async def _start_bot(self) -> None:
        assert self.bot_class is not None
        assert self._store is not None
        app = create_app(
            self._bot_settings(), self.bot_class(), store=self._store, clock=self.clock
        )
        self._bot_runner = await _serve(app, self.host, self.port)

    async def reload(self) -> None:
        """Import the bot's module afresh and restart its server (the store stays)."""
        module_name = self.target.partition(":")[0]
        module = sys.modules.get(module_name)
        try:
            if module is not None:
                importlib.reload(module)
            self.bot_class = load_bot_class(self.target)
        except Exception as exc:  # a half-edited file: keep the running bot
            error = f"{type(exc).__name__}: {exc}"
            log.error("the bot did not reload; still running the last good version", error=error)
            self._tell_pages(ok=False, error=error)
            return
        if self._bot_runner is not None:
            await self._bot_runner.cleanup()
        await self._start_bot()
        log.warning("bot reloaded", bot=self.target)
        self._tell_pages(ok=True, error=None)

    def _tell_pages(self, *, ok: bool, error: str | None) -> None:
        """Put the reload's outcome on the sandbox's feed, where the web chat shows it."""
        if self._journal is not None:
            self._journal.record("reload", None, None, ok=ok, bot=self.target, error=error)

    async def _watch(self, every: float = 0.5) -> None:
        path = _module_file(self.target)
        if path is None:
            return
        seen = path.stat().st_mtime
        while True:
            await asyncio.sleep(every)
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            if mtime != seen:
                seen = mtime
                await self.reload()

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        if self._bot_runner is not None:
            await self._bot_runner.cleanup()
        if self._sandbox_runner is not None:
            await self._sandbox_runner.cleanup()
        if self._store is not None:
            await self._store.close()
        if self._key_folder is not None:
            shutil.rmtree(self._key_folder, ignore_errors=True)
            self._key_folder = None


async def _serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}); pick another port"
        ) from None
    return runner


def _module_file(target: str) -> Path | None:
    module = sys.modules.get(target.partition(":")[0])
    file = getattr(module, "__file__", None)
    return Path(file) if file else None


def _secret(value: str) -> SecretStr:
    return SecretStr(value)
