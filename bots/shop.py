"""A shop's assistant that writes first: it tells customers when their order has shipped.

The shop's own systems send the proactive event ``order_shipped`` for the customer, through
the events API (``POST /api/v1/events``), ``botkit notify`` or a :class:`botkit.Notifier`,
with the order's number and carrier as its data. The bot answers it in the customer's own
conversation: as free text within WhatsApp's 24 h window, as the approved template outside it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from botkit import Bot, Context, Notification, Template, on


class Orders(BaseModel):
    shipped: list[str] = []


class ShopBot(Bot[Orders]):
    templates: ClassVar[dict[str, Template]] = {
        "Good news: order {order} has shipped with {carrier}.": Template(
            name="order_shipped", parameters=("{order}", "{carrier}")
        ),
    }

    @on.event("order_shipped")
    async def shipped(self, ctx: Context[Orders]) -> None:
        assert isinstance(ctx.event.content, Notification)
        data = ctx.event.content.data
        order, carrier = str(data["order"]), str(data.get("carrier", "our courier"))
        ctx.data.shipped.append(order)
        await ctx.reply(f"Good news: order {order} has shipped with {carrier}.")

    @on.text()
    async def where_is_my_order(self, ctx: Context[Orders]) -> None:
        if ctx.data.shipped:
            await ctx.reply(f"Your order {ctx.data.shipped[-1]} is on its way.")
        else:
            await ctx.reply("Nothing has shipped yet: we will write as soon as it does.")
