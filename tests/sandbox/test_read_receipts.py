"""A bot with ``read_receipts = True`` marks the user's WhatsApp messages read: a real app,
its webhooks fed by the sandbox, its marks and replies sent back to the sandbox."""

from __future__ import annotations

from typing import Any

from botkit import Bot, Context, on
from botkit.sandbox.applications import MessagesCapability
from botkit.server import RUNTIME, create_app
from botkit.settings import load_settings
from tests.sandbox.conftest import MakeSandbox
from tests.sandbox.harness import API_KEY, API_SECRET, SIGNATURE_SECRET, US_USER, WA_USER, Harness


class Attentive(Bot):
    read_receipts = True

    @on.text()
    async def answer(self, ctx: Context) -> None:
        await ctx.reply("Got it")


class Quiet(Attentive):
    read_receipts = False


async def wired(
    make_sandbox: MakeSandbox, aiohttp_client: Any, bot: Bot[Any]
) -> tuple[Harness, Any]:
    """A sandbox whose webhooks go to an app of ``bot`` that sends back to the sandbox."""
    harness = await make_sandbox()
    sandbox_url = str(harness.client.make_url("")).rstrip("/")
    settings = load_settings(
        {
            "BOTKIT_ENV": "test",
            "LOG_LEVEL": "warning",
            "VONAGE_API_URL": sandbox_url,
            "VONAGE_API_KEY": API_KEY,
            "VONAGE_API_SECRET": API_SECRET,
            "VONAGE_SIGNATURE_SECRET": SIGNATURE_SECRET,
        }
    )
    app = await aiohttp_client(create_app(settings, bot))
    harness.sandbox.applications.linked.messages = MessagesCapability(
        inbound_url=str(app.make_url("/webhooks/inbound")),
        status_url=str(app.make_url("/webhooks/status")),
    )
    return harness, app


async def user_writes(harness: Harness, app: Any, channel: str, user: str) -> str:
    inbound = await harness.user_says(channel, user, {"text": "hello"})
    await harness.sandbox.settle()
    await app.app[RUNTIME].wait_idle()
    await harness.sandbox.settle()
    message_uuid: str = inbound["message_uuid"]
    return message_uuid


async def test_the_users_whatsapp_message_is_marked_read_before_the_reply(
    make_sandbox: MakeSandbox, aiohttp_client: Any
) -> None:
    harness, app = await wired(make_sandbox, aiohttp_client, Attentive())

    message_uuid = await user_writes(harness, app, "whatsapp", WA_USER)

    assert harness.sandbox.messages[message_uuid].status == "read"
    kinds = [
        (e.kind, e.fields.get("message_uuid"), e.fields.get("status"))
        for e in harness.sandbox.journal.events()
        if e.kind in ("status", "outbound")
    ]
    read_at = kinds.index(("status", message_uuid, "read"))
    assert [k for k, *_ in kinds[read_at + 1 :]][:1] == ["outbound"]


async def test_without_the_setting_nothing_is_marked_read(
    make_sandbox: MakeSandbox, aiohttp_client: Any
) -> None:
    harness, app = await wired(make_sandbox, aiohttp_client, Quiet())

    message_uuid = await user_writes(harness, app, "whatsapp", WA_USER)

    assert harness.sandbox.messages[message_uuid].status is None
    assert [m.content for m in harness.sandbox.messages.values() if m.direction == "outbound"]


async def test_other_channels_are_not_marked_read(
    make_sandbox: MakeSandbox, aiohttp_client: Any
) -> None:
    harness, app = await wired(make_sandbox, aiohttp_client, Attentive())

    message_uuid = await user_writes(harness, app, "sms", US_USER)

    assert harness.sandbox.messages[message_uuid].status is None
    refused = [e for e in harness.sandbox.journal.events() if e.kind == "rejected"]
    assert refused == []
