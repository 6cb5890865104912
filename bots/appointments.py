"""A clinic's appointments, told and confirmed on WhatsApp: a proactive booking, a reminder
timer, a state timeout.

- The clinic's booking system sends the proactive event ``appointment_booked`` (through the
  events API, ``botkit notify`` or a :class:`botkit.Notifier`) with the appointment's ``id``,
  its time ``at`` (ISO 8601 with an offset) and ``who`` the patient will see. The bot tells
  the patient and schedules the ``reminder`` timer a day before.
- The reminder asks the patient to confirm; the state ``reminded`` times out after 12 hours
  without an answer (``timeouts``), and the bot says it will call instead.
- "cancel" cancels the reminder with the appointment.

The patient may never have written: outside WhatsApp's window each message goes as its
approved template (``templates``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import BaseModel

from botkit import Bot, Context, Notification, Template, Timeout, on

REMIND_BEFORE = timedelta(days=1)


class Appointment(BaseModel):
    id: str | None = None
    at: datetime | None = None
    who: str | None = None

    @property
    def when(self) -> str:
        return self.at.strftime("%a %d %b at %H:%M") if self.at else "a time to be set"


class AppointmentsBot(Bot[Appointment]):
    states = ("idle", "booked", "reminded", "confirmed", "unconfirmed", "cancelled")
    transitions = (
        ("book", "*", "booked"),
        ("remind", "booked", "reminded"),
        ("confirm", ("booked", "reminded"), "confirmed"),
        ("cancel", ("booked", "reminded", "confirmed"), "cancelled"),
        ("no_answer", "reminded", "unconfirmed"),
    )
    timeouts: ClassVar[dict[str, Timeout]] = {
        "reminded": Timeout(hours=12, trigger="no_answer"),
    }
    templates: ClassVar[dict[str, Template]] = {
        "Your appointment with {who} is booked for {when}. Reply CANCEL to cancel.": Template(
            name="appointment_booked", parameters=("{who}", "{when}")
        ),
        "Reminder: you see {who} on {when}. Reply YES to confirm or CANCEL to cancel.": Template(
            name="appointment_reminder", parameters=("{who}", "{when}")
        ),
        "We did not hear from you: we will call to confirm your appointment with {who}.": Template(
            name="appointment_unconfirmed", parameters=("{who}",)
        ),
    }

    @on.event("appointment_booked", then="book")
    async def booked(self, ctx: Context[Appointment]) -> None:
        assert isinstance(ctx.event.content, Notification)
        ctx.data = Appointment.model_validate(ctx.event.content.data)
        assert ctx.data.at is not None
        await ctx.schedule("reminder", at=ctx.data.at - REMIND_BEFORE, data={"id": ctx.data.id})
        await ctx.reply(
            f"Your appointment with {ctx.data.who} is booked for {ctx.data.when}. "
            "Reply CANCEL to cancel."
        )

    @on.timer("reminder", state="booked", then="remind")
    async def remind(self, ctx: Context[Appointment]) -> None:
        await ctx.reply(
            f"Reminder: you see {ctx.data.who} on {ctx.data.when}. "
            "Reply YES to confirm or CANCEL to cancel."
        )

    @on.text("yes", state=("booked", "reminded"), then="confirm")
    async def confirm(self, ctx: Context[Appointment]) -> None:
        await ctx.cancel("reminder")
        await ctx.reply(f"Thank you, see you on {ctx.data.when}.")

    @on.text("cancel", state=("booked", "reminded", "confirmed"), then="cancel")
    async def cancel(self, ctx: Context[Appointment]) -> None:
        await ctx.cancel("reminder")
        await ctx.reply("Your appointment is cancelled. Call us to book another.")

    async def on_enter_unconfirmed(self, ctx: Context[Appointment]) -> None:
        await ctx.reply(
            f"We did not hear from you: we will call to confirm your appointment with "
            f"{ctx.data.who}."
        )

    @on.fallback()
    async def not_understood(self, ctx: Context[Appointment]) -> None:
        await ctx.reply("Reply YES to confirm your appointment or CANCEL to cancel it.")
