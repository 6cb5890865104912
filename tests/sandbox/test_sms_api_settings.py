"""The SMS API route as the settings build it (``VONAGE_SMS_VIA=sms-api``), sending to the
sandbox: signed requests, the receipt URL and whether receipts come at all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from botkit.errors import ConfigError
from botkit.events import Channel, DeliveryStatus, Text
from botkit.outbound import Outbound
from botkit.records import DeliveryRecord, find_record, pack_record, read_records
from botkit.settings import load_settings
from botkit.vonage.client import transport_from_settings
from botkit.vonage.errors import SendError
from botkit.vonage.inbound.sms_api import parse_sms_delivery_receipt
from botkit.vonage.transport import Transport
from tests.sandbox.conftest import MakeSandbox
from tests.sandbox.harness import API_KEY, API_SECRET, SIGNATURE_SECRET, WA_USER, Harness


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


def transport(harness: Harness, session: aiohttp.ClientSession, **env: str) -> Transport:
    url = str(harness.client.make_url("")).rstrip("/")
    settings = load_settings(
        {
            "BOTKIT_ENV": "test",
            "VONAGE_API_URL": url,
            "VONAGE_SMS_API_URL": url,
            "VONAGE_API_KEY": API_KEY,
            "VONAGE_API_SECRET": API_SECRET,
            "VONAGE_SMS_VIA": "sms-api",
            **env,
        }
    )
    return transport_from_settings(settings, session)


def sms(text: str = "Your table is ready", **fields: Any) -> Outbound:
    return Outbound(
        channel=Channel.SMS, to=WA_USER, sender="AcmeInc", content=Text(text=text), **fields
    )


def signing(harness: Harness, session: aiohttp.ClientSession, secret: str) -> Transport:
    return transport(
        harness, session, VONAGE_SMS_SIGN_REQUESTS="true", VONAGE_SIGNATURE_SECRET=secret
    )


async def test_signed_sends_carry_a_signature_and_no_secret(
    harness: Harness, session: aiohttp.ClientSession
) -> None:
    receipt = await signing(harness, session, SIGNATURE_SECRET).send(sms())

    assert harness.sandbox.messages[receipt.message_id].content["text"] == "Your table is ready"
    (logged,) = [e for e in harness.sandbox.journal.events() if e.kind == "outbound"]
    assert "timestamp" in logged.fields["request"]
    assert "api_secret" not in logged.fields["request"]


async def test_a_wrong_signature_secret_is_refused_by_the_provider(
    harness: Harness, session: aiohttp.ClientSession
) -> None:
    sender = signing(harness, session, "not-the-accounts-secret")

    with pytest.raises(SendError, match="Invalid Signature"):
        await sender.send(sms())


def test_signing_without_a_signature_secret_names_the_setting(
    session: aiohttp.ClientSession,
) -> None:
    settings = load_settings(
        {
            "BOTKIT_ENV": "test",
            "VONAGE_API_KEY": API_KEY,
            "VONAGE_API_SECRET": API_SECRET,
            "VONAGE_SMS_VIA": "sms-api",
            "VONAGE_SMS_SIGN_REQUESTS": "true",
        }
    )

    with pytest.raises(
        ConfigError, match=r"VONAGE_SMS_SIGN_REQUESTS=true needs .*VONAGE_SIGNATURE_SECRET"
    ):
        transport_from_settings(settings, session)


async def test_receipts_go_to_the_callback_of_the_settings(
    make_sandbox: MakeSandbox, session: aiohttp.ClientSession
) -> None:
    harness = await make_sandbox(sms_dlr_url=None)
    callback = harness.bot.url("/webhooks/dlr")
    sender = transport(harness, session, VONAGE_SMS_CALLBACK_URL=callback)

    receipt = await sender.send(sms())

    (arrived,) = await harness.bot.wait_for("/webhooks/dlr", 1)
    assert arrived.json["messageId"] == receipt.message_id
    assert arrived.json["status"] == "delivered"


async def test_a_messages_own_webhook_url_is_its_callback(
    make_sandbox: MakeSandbox, session: aiohttp.ClientSession
) -> None:
    harness = await make_sandbox(sms_dlr_url=None)
    sender = transport(harness, session, VONAGE_SMS_CALLBACK_URL=harness.bot.url("/webhooks/dlr"))

    await sender.send(sms(webhook_url=harness.bot.url("/webhooks/order-17")))

    assert len(await harness.bot.wait_for("/webhooks/order-17", 1)) == 1
    await harness.sandbox.settle()
    assert harness.bot.at("/webhooks/dlr") == []


async def test_no_receipts_when_the_settings_ask_for_none(
    make_sandbox: MakeSandbox, session: aiohttp.ClientSession
) -> None:
    harness = await make_sandbox(sms_dlr_url=None)
    callback = harness.bot.url("/webhooks/dlr")
    sender = transport(
        harness, session, VONAGE_SMS_CALLBACK_URL=callback, VONAGE_SMS_STATUS_REPORT="false"
    )

    await sender.send(sms())
    await harness.sandbox.settle()

    assert harness.bot.at("/webhooks/dlr") == []


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VONAGE_SMS_CALLBACK_URL", "ftp://bot.example.com/dlr"),
        ("VONAGE_SMS_CALLBACK_URL", "https://bot.example.com/" + "d" * 100),
        ("VONAGE_SMS_STATUS_REPORT", "sometimes"),
    ],
)
def test_malformed_sms_settings_are_named(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings({"BOTKIT_ENV": "test", variable: value})


async def test_every_part_of_a_long_sms_updates_its_one_record(
    make_sandbox: MakeSandbox, session: aiohttp.ClientSession
) -> None:
    harness = await make_sandbox(sms_dlr_url=None)
    sender = transport(harness, session, VONAGE_SMS_CALLBACK_URL=harness.bot.url("/webhooks/dlr"))
    message = sms("Your order " + "is on its way " * 30)

    receipt = await sender.send(message)
    key = message.conversation_key
    stored = DeliveryRecord.sent(message, receipt.message_id, 0.0, receipt.message_ids).keys(key)

    assert len(receipt.message_ids) == 3
    receipts = await harness.bot.wait_for("/webhooks/dlr", 3)
    for arrived in receipts:
        event = parse_sms_delivery_receipt(arrived.json)
        record = find_record(stored, event.message_id, key)
        assert record is not None
        stored[record.message_id] = pack_record(record.with_status(event), key)
    (record,), _ = read_records(stored, key)
    assert record.parts == receipt.message_ids
    assert {entry.part for entry in record.history} == set(receipt.message_ids)
    assert record.status is DeliveryStatus.DELIVERED
