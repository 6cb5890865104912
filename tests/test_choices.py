"""One meaning for a choice on every channel: tapped, typed as its title, id or position."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import BaseModel

from botkit import Bot, BotDefinitionError, ButtonReply, Channel, Context, Image, Location, on
from botkit.testing import BotChats

CHANNELS = [Channel.WHATSAPP, Channel.MESSENGER, Channel.VIBER, Channel.SMS]


class Booking(Bot):
    states = ("day", "booked")
    transitions = (["book", "day", "booked"],)

    @on.text("hi", state="day")
    async def ask(self, ctx: Context) -> None:
        await ctx.reply("Which day?", buttons=[("d1", "Today"), ("d2", "Tomorrow")])

    @on.button("d1", "d2", state="day", then="book")
    async def picked(self, ctx: Context, choice: ButtonReply) -> None:
        await ctx.reply(f"{choice.id}: {ctx.text} ({choice.source})")

    @on.text("party", state="day")
    async def party(self, ctx: Context) -> None:
        await ctx.reply("How many?", buttons=[("2", "2 people"), ("4", "4 people")])

    @on.text("ordered", state="day")
    async def ordered(self, ctx: Context) -> None:
        await ctx.reply("How many?", buttons=[("1", "One"), ("2", "Two"), ("7", "Seven")])

    @on.fallback()
    async def unclear(self, ctx: Context) -> None:
        await ctx.reply(f"unclear: {ctx.text}")


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.value)
@pytest.mark.parametrize(
    ("typed", "source"),
    [("2", "numbered_option"), (" tomorrow ", "typed_title"), ("D2", "typed_title")],
)
async def test_a_typed_position_title_or_id_is_the_choice_on_every_channel(
    bot_chat: BotChats, channel: Channel, typed: str, source: str
) -> None:
    chat = await bot_chat(Booking, channel=channel)
    await chat.say("hi")
    assert [r.text for r in await chat.say(typed)] == [f"d2: Tomorrow ({source})"]
    assert chat.state == "booked"


async def test_a_number_past_the_choices_or_a_new_word_stays_a_text(bot_chat: BotChats) -> None:
    chat = await bot_chat(Booking, channel="sms")
    await chat.say("hi")
    assert [r.text for r in await chat.say("3")] == ["unclear: 3"]
    assert [r.text for r in await chat.say("Thursday")] == ["unclear: Thursday"]
    assert [r.text for r in await chat.tap("Today")] == ["d1: Today (numbered_option)"]


async def test_numeric_ids_that_are_other_choices_positions_are_refused(
    bot_chat: BotChats,
) -> None:
    chat = await bot_chat(Booking, channel="sms")
    with pytest.raises(
        ValueError, match=r"choice 1 has the id '2', but a user typing 2 picks choice 2"
    ):
        await chat.say("party")  # "2" would book the 4 people
    assert chat.sent == [], "nothing went out"
    (question,) = await chat.say("ordered")  # each number is its own position: no doubt
    assert "1. One\n2. Two\n3. Seven" in question.text


class Delivery(Bot):
    @on.message()
    async def where(self, ctx: Context, place: Location) -> None:
        await ctx.reply(f"to {place.lat}, {place.long}")

    @on.message()
    async def picture(self, ctx: Context, media: Image | Location) -> None:
        await ctx.reply("a picture")

    @on.fallback()
    async def other(self, ctx: Context) -> None:
        await ctx.reply("something else")


async def test_a_handler_typed_with_a_content_class_gets_only_that_content(
    bot_chat: BotChats,
) -> None:
    chat = await bot_chat(Delivery)
    assert [r.text for r in await chat.share_location(51.5, -0.1)] == ["to 51.5, -0.1"]
    assert [r.text for r in await chat.say("hello")] == ["something else"]


def test_a_content_argument_must_be_typed_with_a_content_class() -> None:
    with pytest.raises(TypeError, match=r"'where' must be typed with a content class"):

        class Wrong(Bot):
            @on.message()
            async def handle(self, ctx: Context, where: str) -> None: ...

    with pytest.raises(TypeError, match=r"only a message handler takes a third argument"):

        class Fallback(Bot):
            @on.fallback()
            async def handle(self, ctx: Context, where: Location) -> None: ...


class Drinks(BaseModel):
    size: str = ""
    drinks: list[str] = []

    @property
    def listed(self) -> str:
        return ", ".join(self.drinks) or "nothing"


class Bar(Bot[Drinks]):
    """A question and its answer in one declaration; ``then`` naming states, not triggers."""

    states = ("start", "size", "drink", "paid")
    unclear_replies: ClassVar = {"size": "Small or large?", "*": "Say hi."}

    @on.text("hi", state="start", then="size")
    async def hello(self, ctx: Context[Drinks]) -> None:
        await ctx.reply("Hello.")

    @on.choice("size", "Which size?", [("s", "Small"), ("l", "Large")], then="drink")
    async def size(self, ctx: Context[Drinks], picked: ButtonReply) -> None:
        ctx.data.size = picked.id

    @on.button("pay", state="drink", then="paid")
    async def pay(self, ctx: Context[Drinks]) -> None:
        await ctx.reply(f"Paid for {ctx.data.listed}.")

    @on.choice("drink", "Size {size}: which drink, {listed} so far?", ["Tea", "Milk", "pay"])
    async def drink(self, ctx: Context[Drinks], picked: ButtonReply) -> None:
        ctx.data.drinks.append(picked.id)
        await ctx.reply(f"Added {ctx.text}.")

    @on.fallback(state="drink")
    async def what(self, ctx: Context[Drinks]) -> None:
        await ctx.reply("Tea, milk or pay.")


@pytest.mark.parametrize("channel", [Channel.WHATSAPP, Channel.SMS], ids=lambda c: c.value)
async def test_a_choice_asks_on_entering_and_takes_a_pick_however_made(
    bot_chat: BotChats, channel: Channel
) -> None:
    chat = await bot_chat(Bar, channel=channel)
    hello, question = await chat.say("hi")
    assert (hello.text, chat.state) == ("Hello.", "size")
    assert question.text.startswith("Which size?")
    if channel is Channel.WHATSAPP:
        assert question.buttons == ["Small", "Large"]
    (drinks,) = await chat.say("large")
    assert drinks.text.startswith("Size l: which drink, nothing so far?")
    assert (chat.state, chat.data.size) == ("drink", "l")
    assert [r.text for r in await chat.say("2")] == ["Added Milk."]
    assert [r.text for r in await chat.say("tea")] == ["Added Tea."]
    # An earlier handler for one of the choices takes it; then="paid" names a state.
    assert [r.text for r in await chat.say("pay")] == ["Paid for Milk, Tea."]
    assert chat.state == "paid"


async def test_unclear_replies_answer_what_no_handler_takes(bot_chat: BotChats) -> None:
    chat = await bot_chat(Bar, channel="messenger")
    assert [r.text for r in await chat.say("hello?")] == ["Say hi."]  # "*": any other state
    await chat.say("hi")
    assert [r.text for r in await chat.say("medium")] == ["Small or large?"]
    await chat.say("small")
    assert [r.text for r in await chat.say("coffee")] == ["Tea, milk or pay."]  # its handler


def test_a_choice_or_then_naming_what_the_class_lacks_fails_at_class_creation() -> None:
    with pytest.raises(BotDefinitionError, match=r"\{colour\} in 'Which \{colour\}\?' is not a"):

        class Colour(Bot[Drinks]):
            states = ("start", "size")

            @on.choice("size", "Which {colour}?", ["Red"])
            async def pick(self, ctx: Context[Drinks]) -> None: ...

    with pytest.raises(BotDefinitionError, match="then='gone' is neither a trigger nor a state"):

        class Gone(Bot):
            states = ("start", "size")

            @on.text(then="gone")
            async def go(self, ctx: Context) -> None: ...

    with pytest.raises(BotDefinitionError, match=r"Later.unclear_replies .*'later' is not one of"):

        class Later(Bot):
            states = ("start",)
            unclear_replies: ClassVar = {"later": "Not now."}


def test_a_shared_place_reads_as_its_address_else_its_name_else_where_it_is() -> None:
    assert Location(lat=1, long=2, name="Office", address="1 Main St").place == "1 Main St"
    assert Location(lat=1, long=2, name="Office").place == "Office"
    assert Location(lat=51.5, long=-0.12).place == "51.50000, -0.12000"
