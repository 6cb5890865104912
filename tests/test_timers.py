"""Timers and state timeouts, end to end: a real app on loopback, the memory store, a clock the
test moves (never a sleep)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from botkit import Bot, BotDefinitionError, Channel, Context, OffsetClock, Timeout, create_app, on
from botkit.server import RUNTIME, STORE
from botkit.testing import Chat, ProviderStandIn

USER = "447700900001"
KEY = f"whatsapp:447700900000:{USER}"


class Notes(BaseModel):
    fired: list[str] = []


class Reminders(Bot[Notes]):
    """Schedules, replaces and cancels timers on command, and says what fell due."""

    @on.text("remind")
    async def remind(self, ctx: Context[Notes]) -> None:
        await ctx.schedule("remind", after=timedelta(hours=1), data={"about": "the dentist"})
        await ctx.reply("I will remind you in an hour.")

    @on.text("sooner")
    async def sooner(self, ctx: Context[Notes]) -> None:
        await ctx.schedule("remind", after=timedelta(minutes=10), data={"about": "the bus"})
        await ctx.reply("Ten minutes, then.")

    @on.text("forget it")
    async def forget(self, ctx: Context[Notes]) -> None:
        cancelled = await ctx.cancel("remind")
        await ctx.reply("Cancelled." if cancelled else "Nothing to cancel.")

    @on.text("now")
    async def now(self, ctx: Context[Notes]) -> None:
        await ctx.schedule("remind", at=datetime(2001, 1, 1, tzinfo=UTC), data={"about": "then"})

    @on.text("and fail")
    async def and_fail(self, ctx: Context[Notes]) -> None:
        await ctx.schedule("remind", after=60)
        raise RuntimeError("the handler fails after scheduling")

    @on.text(r"bad")
    async def bad(self, ctx: Context[Notes]) -> None:
        attempts: list[tuple[str, dict[str, Any]]] = [
            ("remind", {"after": timedelta(seconds=-1)}),
            ("remind", {"after": timedelta(days=366)}),
            ("remind", {"at": datetime(2001, 1, 1)}),
            ("remind", {"at": datetime.now(UTC) + timedelta(days=400)}),
            ("remind", {"after": 60, "data": {"when": datetime.now(UTC)}}),
            ("remind", {}),
            ("", {"after": 60}),
            ("botkit.timeout:start", {"after": 60}),
        ]
        for key, arguments in attempts:
            try:
                await ctx.schedule(key, **arguments)
            except (TypeError, ValueError) as exc:
                await ctx.reply(str(exc))

    @on.timer("remind")
    async def reminded(self, ctx: Context[Notes]) -> None:
        assert ctx.event.content is not None
        about = ctx.event.content.data["about"]  # type: ignore[union-attr]
        ctx.data.fired.append(about)
        await ctx.reply(f"Reminder: {about} ({len(ctx.data.fired)} so far).")


async def chat_with(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn, bot: Bot[Any]
) -> Chat:
    app = create_app(settings_for(VONAGE_API_URL=provider.url), bot, clock=OffsetClock())
    return Chat(await aiohttp_client(app), provider, channel=Channel.WHATSAPP, user=USER)


@pytest.fixture
async def chat(aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn) -> Chat:
    return await chat_with(aiohttp_client, settings_for, provider, Reminders())


def texts(sent: list[Any]) -> list[str]:
    return [s.text for s in sent]


async def test_a_timer_fires_once_when_its_time_comes(chat: Chat) -> None:
    assert texts(await chat.say("remind")) == ["I will remind you in an hour."]
    assert await chat.advance(timedelta(minutes=59)) == []
    (reminder,) = await chat.advance(timedelta(minutes=1))
    assert reminder.text == "Reminder: the dentist (1 so far)."
    assert await chat.advance(timedelta(days=2)) == [], "once"


async def test_a_timer_is_pending_in_the_conversation_until_it_fires(chat: Chat) -> None:
    await chat.say("remind")
    stored = await chat.client.app[STORE].load(KEY)
    assert stored is not None
    (timer,) = stored.timers.values()
    clock = chat.client.app[RUNTIME].clock
    assert timer.key == "remind"
    assert timer.at == pytest.approx(clock.now() + 3600, abs=5)
    await chat.advance(3600)
    stored = await chat.client.app[STORE].load(KEY)
    assert stored is not None
    assert stored.timers == {}


async def test_scheduling_a_key_again_replaces_it(chat: Chat) -> None:
    await chat.say("remind")
    await chat.say("sooner")
    assert texts(await chat.advance(timedelta(minutes=10))) == ["Reminder: the bus (1 so far)."]
    assert await chat.advance(timedelta(hours=2)) == [], "the hour's timer was replaced"


async def test_a_cancelled_timer_never_fires(chat: Chat) -> None:
    assert texts(await chat.say("forget it")) == ["Nothing to cancel."]
    await chat.say("remind")
    assert texts(await chat.say("forget it")) == ["Cancelled."]
    assert await chat.advance(timedelta(days=1)) == []


async def test_a_time_already_past_fires_at_once(chat: Chat) -> None:
    assert texts(await chat.say("now")) == ["Reminder: then (1 so far)."]


async def test_a_handler_that_raises_schedules_nothing(chat: Chat) -> None:
    await chat.say("and fail")
    assert await chat.advance(timedelta(minutes=2)) == []
    stored = await chat.client.app[STORE].load(KEY)
    assert stored is not None
    assert stored.timers == {}


async def test_bad_arguments_raise_in_the_handler_naming_them(chat: Chat) -> None:
    said = texts(await chat.say("bad"))
    assert len(said) == 8, said
    negative, far, naive, far_at, data, neither, empty, reserved = said
    assert negative.startswith("after must not be negative")
    assert far.startswith("after must be at most 365 days")
    assert naive.startswith("at must be an aware datetime")
    assert far_at.startswith("at must be at most 365 days ahead")
    assert data.startswith("data must be JSON-serialisable")
    assert "one of after= (a timedelta) or at= (a datetime)" in neither
    assert empty.startswith("key must be 1 to 200 printable characters")
    assert reserved.startswith("key must not start with 'botkit.timeout:'")
    assert await chat.advance(timedelta(days=400)) == [], "none was scheduled"


# --- state timeouts ------------------------------------------------------------------------------


class Checkout(Bot):
    states = ("browsing", "address", "paid", "abandoned")
    transitions = (
        ("checkout", "browsing", "address"),
        ("pay", "address", "paid"),
        ("abandon", "address", "abandoned"),
    )
    timeouts: ClassVar[dict[str, Timeout]] = {
        "address": Timeout(minutes=30, trigger="abandon", rearm=True)
    }

    @on.text("checkout", state="browsing", then="checkout")
    async def checkout(self, ctx: Context[Any]) -> None:
        await ctx.reply("Where shall we deliver?")

    @on.text("pay", state="address", then="pay")
    async def pay(self, ctx: Context[Any]) -> None:
        await ctx.reply("Paid, thank you.")

    @on.text(state="address")
    async def typing(self, ctx: Context[Any]) -> None:
        await ctx.reply("Go on.")

    @on.enter("abandoned")
    async def abandoned(self, ctx: Context[Any]) -> None:
        await ctx.reply("Your basket is saved for later.")


@pytest.fixture
async def checkout(aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn) -> Chat:
    return await chat_with(aiohttp_client, settings_for, provider, Checkout())


async def test_a_state_timeout_fires_its_trigger(checkout: Chat) -> None:
    await checkout.say("checkout")
    assert await checkout.advance(timedelta(minutes=29)) == []
    (saved,) = await checkout.advance(timedelta(minutes=1))
    assert saved.text == "Your basket is saved for later."
    stored = await checkout.client.app[STORE].load(KEY)
    assert stored is not None
    assert stored.state == "abandoned"
    assert stored.timers == {}


async def test_leaving_the_state_disarms_its_timeout(checkout: Chat) -> None:
    await checkout.say("checkout")
    assert texts(await checkout.say("pay")) == ["Paid, thank you."]
    assert await checkout.advance(timedelta(hours=2)) == []


async def test_a_message_rearms_a_timeout_that_says_so(checkout: Chat) -> None:
    await checkout.say("checkout")
    await checkout.advance(timedelta(minutes=20))
    assert texts(await checkout.say("12 High Street")) == ["Go on."]
    assert await checkout.advance(timedelta(minutes=20)) == [], "re-armed 20 minutes ago"
    assert texts(await checkout.advance(timedelta(minutes=10))) == [
        "Your basket is saved for later."
    ]


def define(timeouts: dict[str, Timeout]) -> type[Bot[Any]]:
    """A bot class with states a and b, one trigger go from a to b, and ``timeouts``."""
    body = {"states": ("a", "b"), "transitions": (("go", "a", "b"),), "timeouts": timeouts}
    return type("Timed", (Bot,), body)


def test_a_timeout_naming_what_the_class_lacks_fails_when_it_is_created() -> None:
    with pytest.raises(BotDefinitionError, match=r"test_timers\.py:\d+\).*'nowhere' is not one"):
        define({"nowhere": Timeout(minutes=1, trigger="go")})
    with pytest.raises(BotDefinitionError, match=r"trigger='leave' is not a trigger"):
        define({"a": Timeout(minutes=1, trigger="leave")})
    with pytest.raises(BotDefinitionError, match=r"trigger='go' is not valid from state 'b'"):
        define({"b": Timeout(minutes=1, trigger="go")})
    with pytest.raises(BotDefinitionError, match=r"from 1 second to 365 days"):
        define({"a": Timeout(trigger="go")})
    with pytest.raises(BotDefinitionError, match=r"must map to a botkit.Timeout"):
        define({"a": 30})  # type: ignore[dict-item]
    assert define({"a": Timeout(hours=2, trigger="go")}).timeouts["a"].duration.seconds == 7200
