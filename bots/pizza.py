"""A pizza order, on any channel: size, toppings, address (typed or shared), confirmation.

Read it top to bottom: each state's handlers follow the conversation's order.
"""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import BaseModel

from botkit import Bot, ButtonReply, Context, Location, Template, on


class Order(BaseModel):
    size: str | None = None
    toppings: list[str] = []
    address: str | None = None
    feedback_asked: bool = False


SIZES = ("small", "medium", "large")
TOPPINGS = ("cheese", "mushrooms", "ham", "olives", "peppers")
DONE = "no more"


def _choice(ctx: Context[Order], options: tuple[str, ...]) -> str | None:
    """What the user picked: a button id, or typed text naming an option (or its number)."""
    if isinstance(ctx.event.content, ButtonReply):
        picked = ctx.event.content.id
    else:
        picked = ctx.text.strip().lower()
        if picked.isdigit() and 1 <= int(picked) <= len(options):
            picked = options[int(picked) - 1]
    return picked if picked in options else None


class PizzaBot(Bot[Order]):
    """Takes a pizza order."""

    states = ("greeting", "size", "toppings", "address", "confirm", "done")
    transitions = (
        ["start_order", "greeting", "size"],
        ["pick_size", "size", "toppings"],
        ["toppings_chosen", "toppings", "address"],
        ["give_address", "address", "confirm"],
        ["confirm", "confirm", "done"],
        ["change", "confirm", "size"],
        ["restart", "*", "greeting"],
    )
    apology = "Sorry, something went wrong on our side. Please send your last message again."
    templates: ClassVar[dict[str, Template]] = {
        # Outside WhatsApp's 24 h window a free-form message cannot go: this approved template
        # stands in for the feedback question, its {size} filled from the text.
        "How was your {size} pizza? Reply with a mark from 1 to 5.": Template(
            name="pizza_feedback", parameters=("{size}",)
        ),
    }

    # --- any state -----------------------------------------------------------------------------

    @on.text(re.compile(r"^\s*(cancel|restart|start over)\s*$", re.IGNORECASE))
    async def cancel(self, ctx: Context[Order]) -> None:
        ctx.data = Order()
        await ctx.reply("Order cancelled. Say hi whenever you want a pizza.")
        await ctx.trigger("restart")

    # --- greeting ------------------------------------------------------------------------------

    @on.message(state="greeting", then="start_order")
    async def greet(self, ctx: Context[Order]) -> None:
        await ctx.reply("Welcome to Botkit Pizza!")

    async def on_enter_size(self, ctx: Context[Order]) -> None:
        await ctx.reply("What size would you like?", buttons=[(s, s.title()) for s in SIZES])

    # --- size ----------------------------------------------------------------------------------

    @on.message(state="size")
    async def size(self, ctx: Context[Order]) -> None:
        size = _choice(ctx, SIZES)
        if size is None:
            await ctx.reply("Please pick a size: small, medium or large.")
            return
        ctx.data.size = size
        ctx.data.toppings = []
        await ctx.trigger("pick_size")

    async def on_enter_toppings(self, ctx: Context[Order]) -> None:
        await ctx.reply(
            f"A {ctx.data.size} pizza. Which toppings? Pick one at a time, then '{DONE}'.",
            buttons=[(t, t.title()) for t in TOPPINGS] + [(DONE, "No more")],
        )

    # --- toppings ------------------------------------------------------------------------------

    @on.message(state="toppings")
    async def topping(self, ctx: Context[Order]) -> None:
        picked = _choice(ctx, (*TOPPINGS, DONE))
        if picked == DONE:
            await ctx.trigger("toppings_chosen")
        elif picked is None:
            await ctx.reply(f"We have {', '.join(TOPPINGS)}. Or say '{DONE}'.")
        elif picked in ctx.data.toppings:
            await ctx.reply(f"You already have {picked}. Another, or '{DONE}'?")
        else:
            ctx.data.toppings.append(picked)
            await ctx.reply(f"Added {picked}. Another, or '{DONE}'?")

    async def on_enter_address(self, ctx: Context[Order]) -> None:
        await ctx.reply("Where should we deliver? Type the address or share your location.")

    # --- address -------------------------------------------------------------------------------

    @on.content(Location, state="address", then="give_address")
    async def shared_location(self, ctx: Context[Order]) -> None:
        assert isinstance(ctx.event.content, Location)
        where = ctx.event.content
        ctx.data.address = where.address or where.name or f"{where.lat:.5f}, {where.long:.5f}"

    @on.text(state="address", then="give_address")
    async def typed_address(self, ctx: Context[Order]) -> None:
        ctx.data.address = ctx.text.strip()

    async def on_enter_confirm(self, ctx: Context[Order]) -> None:
        order = ctx.data
        toppings = ", ".join(order.toppings) if order.toppings else "no toppings"
        await ctx.reply(
            f"A {order.size} pizza with {toppings}, to {order.address}. Shall we bake it?",
            buttons=[("yes", "Yes, bake it"), ("change", "Change it")],
        )

    # --- confirm -------------------------------------------------------------------------------

    @on.button("yes", state="confirm", then="confirm")
    @on.text("yes", state="confirm", then="confirm")
    async def confirmed(self, ctx: Context[Order]) -> None:
        await ctx.reply("Thank you! Your pizza is in the oven and will be with you in 30 minutes.")

    @on.button("change", state="confirm", then="change")
    @on.text("change", state="confirm", then="change")
    async def change(self, ctx: Context[Order]) -> None:
        await ctx.reply("No problem, let's start with the size again.")

    @on.fallback(state="confirm")
    async def confirm_unclear(self, ctx: Context[Order]) -> None:
        await ctx.reply("Shall we bake it? Answer yes, or change.")

    # --- done ----------------------------------------------------------------------------------

    @on.status("read", state="done")
    async def ask_for_feedback(self, ctx: Context[Order]) -> None:
        if ctx.data.feedback_asked:
            return
        ctx.data.feedback_asked = True
        await ctx.reply(f"How was your {ctx.data.size} pizza? Reply with a mark from 1 to 5.")

    @on.message(state="done")
    async def after_order(self, ctx: Context[Order]) -> None:
        await ctx.reply("Your pizza is on its way! Say 'start over' to order another.")

    # --- anything else -------------------------------------------------------------------------

    @on.fallback()
    async def not_understood(self, ctx: Context[Order]) -> None:
        await ctx.reply("Sorry, I did not get that. Say 'cancel' to start over.")
