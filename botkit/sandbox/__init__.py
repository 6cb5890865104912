"""A local stand-in for the provider, so a bot can be built and tested without a real account.

The sandbox answers the Messages API (v1 and v0.1), the SMS API and the Application API the
way the provider documents them. It checks every send against the official schemas and
enforces the channel rules itself (WhatsApp's 24-hour window, Messenger's unknown users,
what each channel can carry, text limits), then posts signed status webhooks to the bot.
Simulated users write to the bot through ``/_sandbox/users/...``; a log of every conversation
and a live feed of server-sent events (``/_sandbox/events``) let a chat page play the user.

It is written from the provider's documentation alone and shares no code with botkit's own
sender, so that it catches a sender's mistake instead of repeating it.

    app = create_sandbox_app(
        clock=OffsetClock(), signature_secret="secret", api_key="abcd1234",
        api_secret="secret123", inbound_url="http://127.0.0.1:8080/webhooks/inbound",
        status_url="http://127.0.0.1:8080/webhooks/status",
    )
"""

from botkit.sandbox.config import (
    DEFAULT_BOT_ADDRESSES,
    Delays,
    ProductionRefusedError,
    SandboxConfig,
    WebhookVersion,
)
from botkit.sandbox.provider import DEFAULT_PORT, build_app, create_sandbox_app, run_sandbox
from botkit.sandbox.state import SANDBOX, Sandbox, SandboxMessage

__all__ = [
    "DEFAULT_BOT_ADDRESSES",
    "DEFAULT_PORT",
    "SANDBOX",
    "Delays",
    "ProductionRefusedError",
    "Sandbox",
    "SandboxConfig",
    "SandboxMessage",
    "WebhookVersion",
    "build_app",
    "create_sandbox_app",
    "run_sandbox",
]
