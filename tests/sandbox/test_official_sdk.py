"""The sandbox as Vonage's official Python SDK sees it: its requests, answers and signatures.

The SDK speaks only https, so the sandbox is served here over TLS on 127.0.0.1 with a
certificate made for the test, and the SDK (which uses ``requests``) trusts it through
``REQUESTS_CA_BUNDLE``. The SDK is synchronous: its calls run in a thread while the sandbox
serves on the test's event loop.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import vonage
import vonage_application
import vonage_jwt
import vonage_messages
import vonage_numbers
import vonage_sms
from aiohttp import web
from vonage_http_client import errors

from botkit.events import Channel
from botkit.sandbox import SANDBOX, Sandbox, create_sandbox_app
from botkit.sandbox.users import parse_user_message
from tests.certificates import self_signed
from tests.sandbox.harness import (
    API_KEY,
    API_SECRET,
    APPLICATION_ID,
    MMS_BOT,
    SIGNATURE_SECRET,
    WA_BOT,
    WA_USER,
    BotStandIn,
    KeyPair,
    sandbox_options,
)

T = TypeVar("T")


@dataclass
class TlsSandbox:
    host: str
    sandbox: Sandbox
    bot: BotStandIn

    def client(self, keys: KeyPair) -> Any:
        """The SDK's client for the sandbox's account and its linked application."""
        auth = vonage.Auth(
            api_key=API_KEY,
            api_secret=API_SECRET,
            application_id=APPLICATION_ID,
            private_key=keys.private_pem,
        )
        options = vonage.HttpClientOptions(api_host=self.host, rest_host=self.host)
        return vonage.Vonage(auth, options)


@pytest.fixture
async def tls_sandbox(
    bot: BotStandIn, keys: KeyPair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[TlsSandbox]:
    cert_path, key_path = self_signed(tmp_path, "sandbox")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_path))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    app = create_sandbox_app(**sandbox_options(bot, keys.public_pem))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield TlsSandbox(f"127.0.0.1:{port}", app[SANDBOX], bot)
    finally:
        await runner.cleanup()


async def in_thread(call: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(call, *args)


async def test_messages_whatsapp_text_template_and_mark_read(
    tls_sandbox: TlsSandbox, keys: KeyPair
) -> None:
    client = tls_sandbox.client(keys)
    models = vonage_messages.models
    inbound = tls_sandbox.sandbox.user_writes(
        Channel.WHATSAPP, WA_USER, parse_user_message(Channel.WHATSAPP, {"text": "hi"})
    )

    text = await in_thread(
        client.messages.send, models.WhatsappText(to=WA_USER, from_=WA_BOT, text="Hello")
    )
    template = await in_thread(
        client.messages.send,
        models.WhatsappTemplate(
            to=WA_USER,
            from_=WA_BOT,
            template=models.WhatsappTemplateResource(name="order_ready", parameters=["Ana"]),
            whatsapp=models.WhatsappTemplateSettings(locale="en_GB", policy="deterministic"),
        ),
    )
    await in_thread(client.messages.mark_whatsapp_message_read, inbound.message_uuid)

    sent_text = tls_sandbox.sandbox.messages[text.message_uuid]
    sent_template = tls_sandbox.sandbox.messages[template.message_uuid]
    assert sent_text.content == {"type": "text", "text": "Hello"}
    assert sent_template.content["type"] == "template"
    assert sent_text.application_id == APPLICATION_ID  # the SDK authenticated with a JWT
    assert inbound.status == "read"


async def test_a_refusal_reaches_the_sdk_as_the_providers_error(
    tls_sandbox: TlsSandbox, keys: KeyPair
) -> None:
    client = tls_sandbox.client(keys)
    models = vonage_messages.models

    with pytest.raises(errors.HttpRequestError) as refused:
        await in_thread(
            client.messages.send,
            models.WhatsappText(to=WA_USER, from_="447700900999", text="x"),
        )

    assert refused.value.response.status_code == 422
    body = refused.value.response.json()
    assert body["title"] == "Invalid sender"
    assert "`from`" in body["detail"]

    with pytest.raises(errors.HttpRequestError) as failover:
        await in_thread(
            client.messages.send,
            models.WhatsappText(to=WA_USER, from_=WA_BOT, text="x"),
            [models.Sms(to=WA_USER, from_=WA_BOT, text="x")],
        )

    assert failover.value.response.status_code == 422
    [parameter] = failover.value.response.json()["invalid_parameters"]
    assert parameter["name"] == "failover"
    assert tls_sandbox.sandbox.messages == {}


async def test_sms_api_send(tls_sandbox: TlsSandbox, keys: KeyPair) -> None:
    client = tls_sandbox.client(keys)

    answer = await in_thread(
        client.sms.send, vonage_sms.SmsMessage(to=WA_USER, from_="AcmeInc", text="Hello")
    )

    [part] = answer.messages
    assert part.status == "0"
    assert part.to == WA_USER
    assert tls_sandbox.sandbox.messages  # recorded as sent


async def test_application_api_create_get_list_update_delete(
    tls_sandbox: TlsSandbox, keys: KeyPair
) -> None:
    client = tls_sandbox.client(keys)
    app_models = vonage_application

    def capabilities(inbound: str) -> Any:
        webhooks = app_models.MessagesWebhooks(
            inbound_url=app_models.ApplicationUrl(address=inbound, http_method="POST"),
            status_url=app_models.ApplicationUrl(
                address="https://example.com/status", http_method="POST"
            ),
        )
        return app_models.Capabilities(
            messages=app_models.Messages(webhooks=webhooks, version="v1")
        )

    created = await in_thread(
        client.application.create_application,
        app_models.ApplicationConfig(
            name="from the sdk", capabilities=capabilities("https://example.com/in")
        ),
    )
    fetched = await in_thread(client.application.get_application, created.id)
    listed, next_page = await in_thread(client.application.list_applications)
    updated = await in_thread(
        client.application.update_application,
        created.id,
        app_models.ApplicationConfig(
            name="renamed", capabilities=capabilities("https://example.com/new-in")
        ),
    )
    await in_thread(client.application.delete_application, created.id)

    assert created.keys.private_key.startswith("-----BEGIN PRIVATE KEY-----")
    assert fetched.name == "from the sdk"
    assert fetched.capabilities.messages.webhooks.inbound_url.address == ("https://example.com/in")
    assert {a.id for a in listed} == {APPLICATION_ID, created.id}
    assert next_page is None
    assert updated.name == "renamed"
    assert updated.capabilities.messages.webhooks.inbound_url.address == (
        "https://example.com/new-in"
    )
    assert tls_sandbox.sandbox.applications.get(created.id) is None
    assert tls_sandbox.sandbox.applications.linked.id == APPLICATION_ID


async def test_numbers_api_list_and_link_to_an_application(
    tls_sandbox: TlsSandbox, keys: KeyPair
) -> None:
    client = tls_sandbox.client(keys)
    created = await in_thread(
        client.application.create_application,
        vonage_application.ApplicationConfig(name="linked by the sdk"),
    )

    numbers, count, next_page = await in_thread(client.numbers.list_owned_numbers)
    status = await in_thread(
        client.numbers.update_number,
        vonage_numbers.UpdateNumberParams(
            country="GB", msisdn=WA_BOT, app_id=created.id, mo_http_url="https://example.com/mo"
        ),
    )
    linked, _, _ = await in_thread(
        client.numbers.list_owned_numbers,
        vonage_numbers.ListOwnedNumbersFilter(application_id=created.id),
    )

    # The account owns the bot's British number and its American one, for MMS.
    assert (count, next_page) == (2, None)
    assert [(n.msisdn, n.country) for n in numbers] == [(WA_BOT, "GB"), (MMS_BOT, "US")]
    assert numbers[0].app_id == APPLICATION_ID
    assert status.error_code == "200"
    assert [(n.msisdn, n.app_id, n.mo_http_url) for n in linked] == [
        (WA_BOT, created.id, "https://example.com/mo")
    ]
    assert tls_sandbox.sandbox.applications.linked_to(WA_BOT).id == created.id


async def test_the_sdk_verifies_the_webhooks_the_sandbox_signs(
    tls_sandbox: TlsSandbox, keys: KeyPair
) -> None:
    tls_sandbox.sandbox.user_writes(
        Channel.WHATSAPP, WA_USER, parse_user_message(Channel.WHATSAPP, {"text": "hi"})
    )

    [webhook] = await tls_sandbox.bot.wait_for("/webhooks/inbound", 1)

    scheme, _, token = webhook.headers["Authorization"].partition(" ")
    assert scheme == "Bearer"
    assert vonage_jwt.verify_signature(token, SIGNATURE_SECRET) is True
    assert vonage_jwt.verify_signature(token, "another-secret-of-the-same-length-0123") is False
