"""A pizza order on any channel: size, toppings, address (typed or shared), confirmation."""

from typing import ClassVar

from pydantic import BaseModel

from botkit import Bot, ButtonReply, Context, Location, Template, Text, on

SIZES = [(s, s.title()) for s in ("small", "medium", "large")]
TOPPINGS = [(t, t.title()) for t in ("cheese", "mushrooms", "ham", "olives", "peppers")]
WHICH = "A {size} pizza. Which toppings? Pick one at a time, then 'no more'."
SUMMARY = "A {size} pizza with {topped}, to {address}. Shall we bake it?"
FEEDBACK = "How was your {size} pizza? Reply with a mark from 1 to 5."


class Order(BaseModel):
    size: str | None = None
    toppings: list[str] = []
    address: str | None = None

    @property
    def topped(self) -> str:
        return ", ".join(self.toppings) or "no toppings"


class PizzaBot(Bot[Order]):
    """Takes a pizza order. A choice may be tapped, or typed as its title, id or number."""

    states = ("greeting", "size", "toppings", "address", "confirm", "done")
    apology = "Sorry, something went wrong on our side. Please send your last message again."
    templates: ClassVar = {FEEDBACK: Template(name="pizza_feedback", parameters=("{size}",))}
    unclear_replies: ClassVar = {  # what the bot says, per state, to a message no handler takes
        "size": "Please pick a size: small, medium or large.",
        "toppings": f"We have {', '.join(t for t, _ in TOPPINGS)}. Or say 'no more'.",
        "confirm": "Shall we bake it? Answer yes, or change.",
        "done": "Your pizza is on its way! Say 'start over' to order another.",
        "*": "Sorry, I did not get that. Say 'cancel' to start over.",
    }

    @on.text("cancel", "restart", "start over", then="greeting")
    async def cancel(self, ctx: Context[Order]) -> None:
        ctx.data = Order()
        await ctx.reply("Order cancelled. Say hi whenever you want a pizza.")

    @on.message(state="greeting", then="size")
    async def greet(self, ctx: Context[Order]) -> None:
        await ctx.reply("Welcome to Botkit Pizza!")

    @on.choice("size", "What size would you like?", SIZES, then="toppings")
    async def size(self, ctx: Context[Order], picked: ButtonReply) -> None:
        ctx.data.size, ctx.data.toppings = picked.id, []

    @on.button("no more", state="toppings", then="address")
    async def toppings_chosen(self, ctx: Context[Order]) -> None:
        await ctx.reply("Where should we deliver? Type the address or share your location.")

    @on.choice("toppings", WHICH, [*TOPPINGS, ("no more", "No more")])
    async def topping(self, ctx: Context[Order], picked: ButtonReply) -> None:
        had = picked.id in ctx.data.toppings
        ctx.data.toppings += [] if had else [picked.id]
        said = "You already have" if had else "Added"
        await ctx.reply(f"{said} {picked.id}. Another, or 'no more'?")

    @on.message(state="address", then="confirm")
    async def address(self, ctx: Context[Order], where: Location | Text) -> None:
        ctx.data.address = where.place if isinstance(where, Location) else where.text.strip()

    @on.button("change", state="confirm", then="size")
    async def change(self, ctx: Context[Order]) -> None:
        await ctx.reply("No problem, let's start with the size again.")

    @on.choice("confirm", SUMMARY, [("yes", "Yes, bake it"), ("change", "Change it")], then="done")
    async def confirmed(self, ctx: Context[Order]) -> None:
        await ctx.reply("Thank you! Your pizza is in the oven and will be with you in 30 minutes.")
        await ctx.schedule("feedback", after=60 * 60)

    @on.timer("feedback", state="done")
    async def ask_for_feedback(self, ctx: Context[Order]) -> None:
        await ctx.reply(FEEDBACK.format(size=ctx.data.size))
