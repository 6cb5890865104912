"""The appointments bot on a clock the tests move: the booking comes through the events API,
the reminder a day before, the timeout 12 hours after it; nothing waits for real time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from botkit import Channel, OffsetClock, create_app
from botkit.testing import Chat, ProviderStandIn
from bots.appointments import AppointmentsBot

PATIENT = "447700900001"


class Clinic:
    """The patient's chat with the bot, and the bot's clock."""

    def __init__(self, chat: Chat, clock: OffsetClock) -> None:
        self.chat = chat
        self.clock = clock

    def in_days(self, days: float) -> datetime:
        """A time ``days`` from now on the bot's clock, to the minute."""
        moment = datetime.fromtimestamp(self.clock.now(), UTC) + timedelta(days=days)
        return moment.replace(second=0, microsecond=0)


@pytest.fixture
async def clinic(aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn) -> Clinic:
    settings = settings_for(
        VONAGE_API_URL=provider.url,
        VONAGE_WHATSAPP_NUMBER="447700900000",
        BOTKIT_API_TOKEN="the-clinic-systems-token",
    )
    clock = OffsetClock()
    app = create_app(settings, AppointmentsBot(), clock=clock)
    chat = Chat(await aiohttp_client(app), provider, channel=Channel.WHATSAPP, user=PATIENT)
    return Clinic(chat, clock)


async def book(chat: Chat, at: datetime) -> list[Any]:
    data = {"id": "appt-7", "at": at.isoformat(), "who": "Dr Patel"}
    return await chat.notify("appointment_booked", data, key="appt-7")


async def test_booked_reminded_a_day_before_and_confirmed(clinic: Clinic) -> None:
    chat, at = clinic.chat, clinic.in_days(3)
    (booked,) = await book(chat, at)
    # The patient never wrote: WhatsApp takes only templates.
    assert booked.body["template"]["name"] == "appointment_booked"
    assert booked.body["template"]["parameters"] == ["Dr Patel", at.strftime("%a %d %b at %H:%M")]
    assert await chat.advance(timedelta(days=1, hours=23)) == [], "not before a day before"
    (reminder,) = await chat.advance(timedelta(hours=1))
    assert reminder.body["template"]["name"] == "appointment_reminder"
    (thanks,) = await chat.say("yes")
    assert thanks.text.startswith("Thank you, see you on")
    assert await chat.advance(timedelta(days=2)) == [], "the timeout was disarmed"


async def test_no_answer_to_the_reminder_times_out(clinic: Clinic) -> None:
    chat = clinic.chat
    await book(chat, clinic.in_days(2))
    assert len(await chat.advance(timedelta(days=1))) == 1, "the reminder"
    assert await chat.advance(timedelta(hours=11, minutes=59)) == []
    (unconfirmed,) = await chat.advance(timedelta(minutes=1))
    assert unconfirmed.body["template"] == {
        "name": "appointment_unconfirmed",
        "parameters": ["Dr Patel"],
    }
    (late,) = await chat.say("yes")
    assert late.text == "Reply YES to confirm your appointment or CANCEL to cancel it.", (
        "past the timeout the answer no longer confirms"
    )


async def test_cancelling_cancels_the_reminder(clinic: Clinic) -> None:
    chat = clinic.chat
    await book(chat, clinic.in_days(3))
    (cancelled,) = await chat.say("cancel")
    assert cancelled.text.startswith("Your appointment is cancelled")
    assert await chat.advance(timedelta(days=4)) == []


async def test_the_booking_system_retrying_books_once(clinic: Clinic) -> None:
    chat, at = clinic.chat, clinic.in_days(3)
    assert len(await book(chat, at)) == 1
    assert await book(chat, at) == [], "the same key reaches the bot once"
    assert len(await chat.advance(timedelta(days=2))) == 1, "one reminder"
