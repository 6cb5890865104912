"""Proactive events: the event a notification becomes, the refusals naming the field, and the
Notifier writing into a store that a serving runtime works from (memory and real Redis)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import aiohttp
import pytest
from pydantic import BaseModel

from botkit import (
    Bot,
    Channel,
    ConfigError,
    Context,
    Event,
    EventKind,
    InvalidPayload,
    Notification,
    Notifier,
    RecipientNotAllowed,
    Template,
    WindowClosed,
    on,
)
from botkit.notifications import notification_event, read_notification
from botkit.runtime import Runtime
from botkit.settings import load_settings
from botkit.store.base import Store
from botkit.store.memory import MemoryStore
from botkit.store.redis import RedisStore
from botkit.testing import ProviderStandIn
from botkit.vonage.client import transport_from_settings
from botkit.vonage.inbound.detect import parse_messages_webhook
from tests.conftest import RedisServer

SENDERS = {Channel.WHATSAPP: "+44 7700 900000", Channel.MESSENGER: "botkit-page"}
NOW = 1_800_000_000.0


def fields_of(exc: pytest.ExceptionInfo[InvalidPayload]) -> list[str]:
    return [p.field for p in exc.value.problems]


def test_the_event_lands_in_the_conversation_a_message_from_the_user_opens() -> None:
    event = notification_event(
        "whatsapp",
        "+44 7700 900001",
        "order_shipped",
        {"order": "123", "items": [1, 2]},
        "order-123",
        senders=SENDERS,
        now=NOW,
    )
    assert event.kind is EventKind.NOTIFICATION
    assert event.conversation_key == "whatsapp:447700900000:447700900001"
    assert event.content == Notification(
        name="order_shipped", data={"order": "123", "items": [1, 2]}
    )
    assert event.message_id == "order-123"
    assert event.dedup_key == "notification:order-123"
    assert event.timestamp.timestamp() == NOW


def test_without_a_key_every_event_is_new() -> None:
    first, second = (
        notification_event("whatsapp", "447700900001", "ping", senders=SENDERS, now=NOW)
        for _ in range(2)
    )
    assert first.dedup_key != second.dedup_key
    assert first.content == Notification(name="ping", data={})


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("fax", "447700900001", "x"), "channel"),
        (("whatsapp", "not a number", "x"), "user"),
        (("whatsapp", 447700900001, "x"), "user"),
        (("messenger", "", "x"), "user"),
        (("whatsapp", "447700900001", ""), "name"),
        (("whatsapp", "447700900001", "order shipped!"), "name"),
        (("whatsapp", "447700900001", "x" * 101), "name"),
        (("whatsapp", "447700900001", "x", [1, 2]), "data"),
        (("whatsapp", "447700900001", "x", "text"), "data"),
        (("whatsapp", "447700900001", "x", {"when": object()}), "data"),
        (("whatsapp", "447700900001", "x", {"big": 10**30}), "data.big"),
        (("whatsapp", "447700900001", "x", {"nan": math.nan}), "data.nan"),
        (("whatsapp", "447700900001", "x", {"s": "\ud800"}), "data.s"),
        (("whatsapp", "447700900001", "x", None, ""), "key"),
        (("whatsapp", "447700900001", "x", None, "k" * 201), "key"),
        (("whatsapp", "447700900001", "x", None, 123), "key"),
        (("whatsapp", "447700900001", "x", None, "line\nbreak"), "key"),
        # The bot has no address on SMS: the fix is a setting, named in the answer.
        (("sms", "447700900001", "x"), "channel"),
    ],
)
def test_each_bad_argument_is_refused_naming_it(args: tuple[Any, ...], field: str) -> None:
    with pytest.raises(InvalidPayload) as caught:
        notification_event(*args, senders=SENDERS, now=NOW)
    assert fields_of(caught) == [field]


def test_a_missing_sender_says_which_setting_to_set() -> None:
    with pytest.raises(InvalidPayload, match="VONAGE_SMS_FROM"):
        notification_event("sms", "447700900001", "x", senders=SENDERS, now=NOW)


def test_data_nested_too_deep_is_refused() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(40):
        inner["a"] = {}
        inner = inner["a"]
    with pytest.raises(InvalidPayload) as caught:
        notification_event("whatsapp", "447700900001", "x", deep, senders=SENDERS, now=NOW)
    assert fields_of(caught)[0].startswith("data.a")


def test_a_body_lists_every_problem_unknown_and_missing_fields_included() -> None:
    with pytest.raises(InvalidPayload) as caught:
        read_notification({"channel": "whatsapp", "nmae": "x"}, senders=SENDERS, now=NOW)
    assert sorted(fields_of(caught)) == ["name", "nmae", "user"]
    with pytest.raises(InvalidPayload) as caught:
        read_notification(["not", "an", "object"], senders=SENDERS, now=NOW)
    assert fields_of(caught) == ["body"]
    with pytest.raises(InvalidPayload) as caught:
        read_notification(
            {"channel": "whatsapp", "user": "x", "name": "", "data": 3}, senders=SENDERS, now=NOW
        )
    assert sorted(fields_of(caught)) == ["data", "name", "user"]


def test_a_handler_name_that_is_not_text_fails_at_the_decorator() -> None:
    with pytest.raises(TypeError, match="event names as text"):
        on.event(3)  # type: ignore[arg-type]


def test_the_notifier_needs_a_shared_store() -> None:
    settings = load_settings({"BOTKIT_ENV": "test"})
    with pytest.raises(ConfigError, match="REDIS_URL"):
        Notifier.from_settings(settings)


# --- a runtime working what a Notifier wrote --------------------------------------------------


class Shipment(BaseModel):
    shipped: list[str] = []


class ShopBot(Bot[Shipment]):
    """Answers messages and order events, and keeps the events' data."""

    templates: ClassVar[dict[str, Template]] = {
        "order {order} shipped": Template(name="order_shipped", parameters=("{order}",)),
    }

    @on.text()
    async def text(self, ctx: Context[Shipment]) -> None:
        await ctx.reply(f"said {ctx.text}")

    @on.event("order_shipped")
    async def shipped(self, ctx: Context[Shipment]) -> None:
        assert isinstance(ctx.event.content, Notification)
        order = str(ctx.event.content.data["order"])
        ctx.data.shipped.append(order)
        await ctx.reply(f"order {order} shipped")

    @on.event()
    async def anything_else(self, ctx: Context[Shipment]) -> None:
        assert isinstance(ctx.event.content, Notification)
        await ctx.reply(f"event {ctx.event.content.name}")


@pytest.fixture(params=["memory", "redis"])
async def store(
    request: pytest.FixtureRequest, redis_server: RedisServer, redis_prefix: str
) -> AsyncIterator[Store]:
    built: Store
    if request.param == "memory":
        built = MemoryStore(lease_seconds=5.0)
    else:
        built = RedisStore.from_url(redis_server.url, prefix=redis_prefix, lease_seconds=5.0)
    yield built
    await built.close()


@contextlib.asynccontextmanager
async def serving(
    store: Store, provider: ProviderStandIn, bot: Bot[Any] | None = None
) -> AsyncIterator[Runtime]:
    """A runtime of the shop bot working ``store``, its sweep every 50 ms."""
    settings = load_settings(
        {
            "BOTKIT_ENV": "test",
            "VONAGE_API_URL": provider.url,
            "VONAGE_API_KEY": "key",
            "VONAGE_API_SECRET": "secret",
        }
    )
    async with aiohttp.ClientSession() as session:
        transport = transport_from_settings(settings, session)
        runtime = Runtime(bot or ShopBot(), store, transport, sweep_interval=0.05, senders=SHOP)
        await runtime.start()
        try:
            yield runtime
        finally:
            await runtime.close()


SHOP = {Channel.WHATSAPP: "447700900000"}


def message(user: str, text: str) -> Event:
    """A WhatsApp text from ``user`` to the shop's number, as a webhook brings it."""
    payload = {
        "channel": "whatsapp",
        "message_uuid": f"{user}-{text}",
        "to": "447700900000",
        "from": user,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "message_type": "text",
        "text": text,
    }
    return parse_messages_webhook(payload, now=datetime.now(UTC))


async def test_a_notifier_takes_no_lease_and_a_serving_sweep_runs_the_bot(
    store: Store, provider: ProviderStandIn
) -> None:
    notifier = Notifier(store, SHOP)
    done = await notifier.notify(
        Channel.WHATSAPP, "447700900001", "order_shipped", data={"order": "7"}, key="o-7"
    )
    assert not done.duplicate
    assert done.key == "o-7"
    assert done.conversation == "whatsapp:447700900000:447700900001"
    again = await notifier.notify("whatsapp", "447700900001", "order_shipped",
                                  data={"order": "7"}, key="o-7")  # fmt: skip
    assert again.duplicate
    # Had the notifier taken the lease (5 s), nobody would answer within 2 s.
    async with serving(store, provider):
        (sent,) = await provider.wait_for(1, timeout=2)
    # The user never wrote: outside WhatsApp's window the reply went as the bot's template.
    assert sent.message_type == "template"
    assert sent.body["template"] == {"name": "order_shipped", "parameters": ["7"]}


async def test_notified_events_reach_the_bot_once_in_order_with_messages(
    store: Store, provider: ProviderStandIn
) -> None:
    notifier = Notifier(store, SHOP)
    user = "447700900002"
    async with serving(store, provider) as runtime:
        await runtime.accept(message(user, "hello"))
        await provider.wait_for(1)
        for order in ("1", "2", "2", "3"):
            await notifier.notify("whatsapp", user, "order_shipped", data={"order": order},
                                  key=f"order-{order}")  # fmt: skip
        await notifier.notify("whatsapp", user, "refund")
        await runtime.accept(message(user, "bye"))
        await provider.wait_for(6, timeout=10)
        await runtime.wait_idle()
    texts = [s.text for s in provider.sent if s.to == user]
    assert texts == [
        "said hello",
        "order 1 shipped",
        "order 2 shipped",
        "order 3 shipped",
        "event refund",
        "said bye",
    ]
    conversation = await store.load(f"whatsapp:447700900000:{user}")
    assert conversation is not None
    assert conversation.data is not None
    assert Shipment.model_validate_json(conversation.data).shipped == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("channel", "user", "refusal", "says"),
    [
        (Channel.WHATSAPP, "447700900003", WindowClosed, "window"),
        (Channel.MESSENGER, "psid-1234", RecipientNotAllowed, "has not written to this page"),
    ],
)
async def test_a_reply_to_an_event_for_a_user_who_never_wrote_follows_the_channel_rules(
    store: Store,
    provider: ProviderStandIn,
    channel: Channel,
    user: str,
    refusal: type[Exception],
    says: str,
) -> None:
    """No template for it on WhatsApp, or Messenger to a user who never wrote to the page: the
    handler's reply raises, as any reply the channel would refuse."""
    refused: list[Exception] = []
    ran = asyncio.Event()

    class Strict(ShopBot):
        @on.event("late")
        async def late(self, ctx: Context[Shipment]) -> None:
            try:
                await ctx.reply("a free-form text with no template")
            except refusal as exc:
                refused.append(exc)
            ran.set()

    senders = {Channel.WHATSAPP: "447700900000", Channel.MESSENGER: "botkit-page"}
    await Notifier(store, senders).notify(channel, user, "late")
    async with serving(store, provider, Strict()) as runtime:
        await asyncio.wait_for(ran.wait(), 5)
        await runtime.wait_idle()
    assert says in str(refused[0])
    assert provider.sent == []
