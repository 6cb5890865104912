"""A pizza order on any channel: size, toppings, address (typed or shared), confirmation."""

from datetime import timedelta
from typing import ClassVar

from pydantic import BaseModel

from botkit import Bot, ButtonReply, Context, Location, Template, on

SIZES = ("small", "medium", "large")
TOPPINGS = ("cheese", "mushrooms", "ham", "olives", "peppers")
FEEDBACK = "How was your {size} pizza? Reply with a mark from 1 to 5."
UNCLEAR = {  # what the bot says to an answer it does not understand, per state
    "size": "Please pick a size: small, medium or large.",
    "toppings": f"We have {', '.join(TOPPINGS)}. Or say 'no more'.",
    "confirm": "Shall we bake it? Answer yes, or change.",
    "done": "Your pizza is on its way! Say 'start over' to order another.",
}


class Order(BaseModel):
    size: str | None = None
    toppings: list[str] = []
    address: str | None = None


class PizzaBot(Bot[Order]):
    """Takes a pizza order. A choice may be tapped, or typed as its title, id or number."""

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
    # Outside WhatsApp's 24 h window this approved template stands in for the feedback question.
    templates: ClassVar = {FEEDBACK: Template(name="pizza_feedback", parameters=("{size}",))}

    @on.text("cancel", "restart", "start over", then="restart")
    async def cancel(self, ctx: Context[Order]) -> None:
        ctx.data = Order()
        await ctx.reply("Order cancelled. Say hi whenever you want a pizza.")

    @on.message(state="greeting", then="start_order")
    async def greet(self, ctx: Context[Order]) -> None:
        await ctx.reply("Welcome to Botkit Pizza!")

    async def on_enter_size(self, ctx: Context[Order]) -> None:
        await ctx.reply("What size would you like?", buttons=[(s, s.title()) for s in SIZES])

    @on.button(*SIZES, state="size", then="pick_size")
    async def size(self, ctx: Context[Order], picked: ButtonReply) -> None:
        ctx.data.size, ctx.data.toppings = picked.id, []
        question = f"A {picked.id} pizza. Which toppings? Pick one at a time, then 'no more'."
        choices = [(t, t.title()) for t in TOPPINGS] + [("no more", "No more")]
        await ctx.reply(question, buttons=choices)

    @on.button(*TOPPINGS, state="toppings")
    async def topping(self, ctx: Context[Order], picked: ButtonReply) -> None:
        had = picked.id in ctx.data.toppings
        ctx.data.toppings += [] if had else [picked.id]
        said = "You already have" if had else "Added"
        await ctx.reply(f"{said} {picked.id}. Another, or 'no more'?")

    @on.button("no more", state="toppings", then="toppings_chosen")
    async def toppings_chosen(self, ctx: Context[Order]) -> None:
        await ctx.reply("Where should we deliver? Type the address or share your location.")

    @on.message(state="address", then="give_address")
    async def shared_location(self, ctx: Context[Order], where: Location) -> None:
        ctx.data.address = where.address or where.name or f"{where.lat:.5f}, {where.long:.5f}"

    @on.text(state="address", then="give_address")
    async def typed_address(self, ctx: Context[Order]) -> None:
        ctx.data.address = ctx.text.strip()

    async def on_enter_confirm(self, ctx: Context[Order]) -> None:
        toppings = ", ".join(ctx.data.toppings) or "no toppings"
        await ctx.reply(
            f"A {ctx.data.size} pizza with {toppings}, to {ctx.data.address}. Shall we bake it?",
            buttons=[("yes", "Yes, bake it"), ("change", "Change it")],
        )

    @on.button("yes", state="confirm", then="confirm")
    async def confirmed(self, ctx: Context[Order]) -> None:
        await ctx.reply("Thank you! Your pizza is in the oven and will be with you in 30 minutes.")
        await ctx.schedule("feedback", after=timedelta(hours=1))

    @on.button("change", state="confirm", then="change")
    async def change(self, ctx: Context[Order]) -> None:
        await ctx.reply("No problem, let's start with the size again.")

    @on.timer("feedback", state="done")
    async def ask_for_feedback(self, ctx: Context[Order]) -> None:
        await ctx.reply(FEEDBACK.format(size=ctx.data.size))

    @on.fallback()
    async def unclear(self, ctx: Context[Order]) -> None:
        await ctx.reply(
            UNCLEAR.get(ctx.state, "Sorry, I did not get that. Say 'cancel' to start over.")
        )
