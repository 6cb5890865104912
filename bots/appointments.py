"""A clinic's appointments, told and confirmed on WhatsApp: a proactive booking, a reminder
timer with an SMS failover, a state timeout.

- The clinic's booking system sends the proactive event ``appointment_booked`` (through the
  events API, ``botkit notify`` or a :class:`botkit.Notifier`) with the appointment's ``id``,
  its time ``at`` (ISO 8601 with an offset) and ``who`` the patient will see. The bot tells
  the patient and schedules the ``reminder`` timer a day before.
- The reminder asks the patient to confirm. Not read on WhatsApp within 10 minutes (or not
  delivered at all), it goes again as an SMS to the same number (``failover``); the bot notes
  where the reminder reached the patient (``reached_on``). The state ``reminded`` times out
  after 12 hours without an answer (``timeouts``), and the bot says it will call instead.
- "cancel" cancels the reminder with the appointment.

The bot needs its own address on WhatsApp and on SMS (``VONAGE_WHATSAPP_NUMBER``,
``VONAGE_SMS_FROM``).

The patient may never have written: outside WhatsApp's window each message goes as its
approved template (``templates``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import BaseModel

from botkit import (
    Bot,
    Channel,
    Context,
    FailoverOutcome,
    Fallback,
    Notification,
    Template,
    Timeout,
    on,
)

REMIND_BEFORE = timedelta(days=1)
UNREAD_FOR = timedelta(minutes=10)


class Appointment(BaseModel):
    id: str | None = None
    at: datetime | None = None
    who: str | None = None
    reached_on: Channel | None = None
    """Where the reminder reached the patient (None before it did, or if it never did)."""

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
        # An answer by SMS would reach another conversation: the SMS asks for a call instead.
        by_sms = (
            f"Reminder: you see {ctx.data.who} on {ctx.data.when}. Call us to confirm or "
            "cancel, or answer on WhatsApp."
        )
        await ctx.reply(
            f"Reminder: you see {ctx.data.who} on {ctx.data.when}. "
            "Reply YES to confirm or CANCEL to cancel.",
            failover=[Fallback(Channel.SMS, when="read", within=UNREAD_FOR, content=by_sms)],
        )

    @on.failover()
    async def reminder_ended(self, ctx: Context[Appointment]) -> None:
        assert isinstance(ctx.event.content, FailoverOutcome)
        ctx.data.reached_on = ctx.event.content.channel

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
