"""Bot classes: handler selection, triggers, callbacks, data, and checks at class creation."""

from __future__ import annotations

import gc
import re
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
import structlog
from pydantic import BaseModel

from botkit import (
    Bot,
    ButtonReply,
    Channel,
    Context,
    DeliveryStatus,
    Event,
    EventKind,
    Image,
    Location,
    Text,
    User,
    WebhookFormat,
    on,
)
from botkit.conversation import Conversation
from botkit.events import ProviderError, StatusInfo
from botkit.outbound import Template


def message(content: Any, *, user: str = "447700900001") -> Event:
    return Event(
        kind=EventKind.MESSAGE,
        channel=Channel.WHATSAPP,
        user=user,
        bot="447700900000",
        message_id="m-1",
        timestamp=datetime.now(UTC),
        format=WebhookFormat.V1,
        raw={},
        content=content,
    )


def text(value: str) -> Event:
    return message(Text(text=value))


def status(value: str, code: int | None = None) -> Event:
    return Event(
        kind=EventKind.STATUS,
        channel=Channel.WHATSAPP,
        user="447700900001",
        bot="447700900000",
        message_id="out-1",
        timestamp=datetime.now(UTC),
        format=WebhookFormat.V1,
        raw={},
        status=StatusInfo(
            status=DeliveryStatus(value),
            original=value,
            error=ProviderError(code=code, title=str(code)) if code else None,
        ),
    )


class Ticket(BaseModel):
    count: int = 0
    topic: str | None = None


class Desk(Bot[Ticket]):
    states = ("idle", "asking", "closed")
    transitions = (
        ["open", "idle", "asking"],
        ["close", "asking", "closed"],
        ["reopen", "closed", "idle"],
    )
    apology = "Sorry, that broke."

    @on.text(re.compile(r"^help (?P<topic>\w+)$"), state="idle", then="open")
    async def help_with(self, ctx: Context[Ticket]) -> None:
        assert ctx.match is not None
        assert ctx.match.regex is not None
        ctx.data.topic = ctx.match.regex["topic"]
        await ctx.reply(f"help with {ctx.data.topic}")

    @on.text("Hello")
    async def hello(self, ctx: Context[Ticket]) -> None:
        ctx.data.count += 1
        await ctx.reply(f"hello #{ctx.data.count}")

    @on.text("close", state="asking", then="close")
    async def close(self, ctx: Context[Ticket]) -> None:
        await ctx.reply("closing")

    @on.text("jump")
    async def jump(self, ctx: Context[Ticket]) -> None:
        await ctx.reply("this reply is dropped")
        await ctx.trigger("close")

    @on.content(Image, Location)
    async def media(self, ctx: Context[Ticket]) -> None:
        assert ctx.event.content is not None
        await ctx.reply(f"got {ctx.event.content.type}")

    @on.button("yes", "no")
    async def answer(self, ctx: Context[Ticket]) -> None:
        await ctx.reply(f"button {ctx.text}")

    @on.status("rejected", code=1340)
    async def outside_window(self, ctx: Context[Ticket]) -> None:
        await ctx.reply(Template(name="come_back", parameters=("Ann",)))

    @on.text("boom")
    async def boom(self, ctx: Context[Ticket]) -> None:
        await ctx.reply("never sent")
        raise RuntimeError("handler bug")

    @on.text("forget")
    async def forget(self, ctx: Context[Ticket]) -> None:
        ctx.reply("not awaited")

    async def on_enter_asking(self, ctx: Context[Ticket]) -> None:
        await ctx.reply("entered asking")

    @on.exit("asking")
    async def leaving(self, ctx: Context[Ticket]) -> None:
        await ctx.reply("left asking")

    @on.fallback(state="asking")
    async def asking_fallback(self, ctx: Context[Ticket]) -> None:
        await ctx.reply(f"asking fallback: {ctx.reason}")

    @on.fallback()
    async def everywhere_fallback(self, ctx: Context[Ticket]) -> None:
        await ctx.reply(f"fallback: {ctx.reason}")


async def turn(
    bot: Bot[Any], event: Event, state: str | None = None, data: str | None = None
) -> Any:
    conversation = Conversation("test", state=state, data=data, version=bot.version)
    return await bot.take_turn(event, conversation)


def texts(outcome: Any) -> list[str]:
    return [getattr(r.content, "text", None) or r.content.type for r in outcome.replies]


async def test_regex_groups_then_trigger_and_enter_callback_in_order() -> None:
    outcome = await turn(Desk(), text("help billing"))
    assert outcome.state == "asking"
    assert texts(outcome) == ["help with billing", "entered asking"]
    assert Ticket.model_validate_json(outcome.data).topic == "billing"


async def test_a_turn_leaves_no_reference_cycle_for_the_garbage_collector() -> None:
    bot = Desk()
    await turn(bot, text("help billing"))  # first use fills the caches
    gc.collect()
    gc.disable()
    try:
        for _ in range(5):
            outcome = await turn(bot, text("help billing"))
            assert texts(outcome) == ["help with billing", "entered asking"]
        assert gc.collect() == 0
    finally:
        gc.enable()


async def test_exact_text_ignores_case_and_blanks_and_keeps_data() -> None:
    bot = Desk()
    first = await turn(bot, text("  hELLo "))
    second = await turn(bot, text("hello"), first.state, first.data)
    assert texts(second) == ["hello #2"]


async def test_exit_callbacks_run_before_the_handler_returns() -> None:
    outcome = await turn(Desk(), text("close"), "asking")
    assert outcome.state == "closed"
    assert texts(outcome) == ["closing", "left asking"]


async def test_invalid_trigger_goes_to_the_fallback_with_the_reason_and_drops_effects() -> None:
    outcome = await turn(Desk(), text("jump"), "idle")
    assert outcome.outcome == "fallback"
    assert outcome.state == "idle"
    (reply,) = texts(outcome)
    assert reply.startswith("fallback: trigger 'close' is not valid in state 'idle'")
    assert "valid there: open" in reply


async def test_unmatched_message_uses_the_state_fallback_before_the_global_one() -> None:
    assert texts(await turn(Desk(), text("banana"), "asking")) == [
        "asking fallback: no handler in state 'asking' for text 'banana'"
    ]
    assert texts(await turn(Desk(), text("banana"), "idle"))[0].startswith("fallback: no handler")


async def test_content_buttons_and_status_matchers() -> None:
    bot = Desk()
    assert texts(await turn(bot, message(Image(url="https://x.test/a.jpg")))) == ["got image"]
    assert texts(await turn(bot, message(Location(lat=1, long=2)))) == ["got location"]
    assert texts(await turn(bot, message(ButtonReply(id="yes", title="Yes!")))) == ["button Yes!"]
    assert texts(await turn(bot, status("rejected", 1340))) == ["template"]
    ignored = await turn(bot, status("rejected", 1000))
    assert ignored.outcome == "ignored"
    assert ignored.replies == []


async def test_a_handler_that_raises_keeps_the_state_and_sends_the_apology() -> None:
    outcome = await turn(Desk(), text("boom"), "asking", Ticket(count=5).model_dump_json())
    assert outcome.outcome == "failed"
    assert isinstance(outcome.error, RuntimeError)
    assert outcome.state == "asking"
    assert Ticket.model_validate_json(outcome.data).count == 5
    assert texts(outcome) == ["Sorry, that broke."]


async def test_a_forgotten_await_fails_the_turn_naming_the_line() -> None:
    outcome = await turn(Desk(), text("forget"))
    assert outcome.outcome == "failed"
    assert "ctx.reply(...)" in str(outcome.error)
    assert "test_bot.py:" in str(outcome.error)
    assert "write 'await ctx.reply(...)'" in str(outcome.error)


async def test_stored_data_that_no_longer_validates_restarts_with_a_warning() -> None:
    with structlog.testing.capture_logs() as logs:
        outcome = await turn(Desk(), text("hello"), "asking", '{"count": "many"}')
    assert texts(outcome) == ["hello #1"]
    assert outcome.state == "idle"
    assert any(line["event"] == "conversation reset" for line in logs)


async def test_renamed_and_removed_states() -> None:
    class Renamed(Desk):
        renamed_states: ClassVar[dict[str, str]] = {"waiting": "asking"}

    outcome = await turn(Renamed(), text("banana"), "waiting")
    assert texts(outcome)[0].startswith("asking fallback")
    with structlog.testing.capture_logs() as logs:
        gone = await turn(Renamed(), text("banana"), "vanished")
    assert gone.state == "idle"
    assert "no longer exists" in logs[0]["detail"]


async def test_no_model_stays_attached_to_the_class_machine() -> None:
    bot = Desk()
    for _ in range(50):
        await turn(bot, text("help me"))
    machine = Desk.machine._machine
    assert machine.models == []
    assert machine._transition_queue_dict == {}


class Shop(Bot):
    senders: ClassVar[dict[Channel, str]] = {Channel.SMS: "Shop", Channel.VIBER: "shop-viber"}

    @on.text("tell sms")
    async def tell(self, ctx: Context[dict[str, Any]]) -> None:
        await ctx.send(User(Channel.SMS, "447700900002"), "hello")


async def test_the_bots_own_addresses_merge_once_and_the_settings_win() -> None:
    bot = Shop()
    setup = bot.channel_setup(senders={Channel.SMS: "447700900009"})
    assert setup.senders == {Channel.SMS: "447700900009", Channel.VIBER: "shop-viber"}
    conversation = Conversation("whatsapp:447700900000:447700900001")
    event = text("tell sms")
    outcome = await bot.take_turn(event, conversation, setup.facts(conversation, event, 0.0))
    assert [r.sender for r in outcome.replies] == ["447700900009"]
    unset = bot.channel_setup()
    outcome = await bot.take_turn(event, conversation, unset.facts(conversation, event, 0.0))
    assert [r.sender for r in outcome.replies] == ["Shop"]


async def test_a_turn_gives_the_conversation_to_commit() -> None:
    before = Conversation("k", state="asking", data='{"count": 1}', version=1, revision=4)
    close = text("close")
    outcome = await Desk().take_turn(close, before)
    after = outcome.conversation
    assert (after.key, after.state, after.version, after.revision) == ("k", "closed", 1, 5)
    assert after.last_inbound_at == close.timestamp.timestamp()
    assert [entry.message for entry in after.outbox] == outcome.replies
    assert all(entry.attempts == 0 for entry in after.outbox)


def test_handlers_must_be_async() -> None:
    with pytest.raises(TypeError, match="must be 'async def'"):

        class Broken(Bot):
            @on.text()  # type: ignore[type-var]
            def greet(self, ctx: Context[dict[str, Any]]) -> None: ...


def test_mermaid_marks_the_current_state() -> None:
    diagram = Desk.mermaid(current="asking")
    assert "stateDiagram-v2" in diagram
    assert "idle --> asking: open" in diagram
    assert "class asking s_active" in diagram
    assert "Class " not in diagram
