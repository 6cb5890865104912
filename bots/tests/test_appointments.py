"""The appointments bot on a clock the tests move: the booking comes through the events API,
the reminder a day before, its SMS 10 minutes after it when unread, the timeout 12 hours after
it; nothing waits for real time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from botkit import Channel, OffsetClock, create_app
from botkit.testing import BotChat, BotChats, Chat, ProviderStandIn, Sent
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
        VONAGE_SMS_FROM="447700900000",
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
    await chat.status(reminder, "read")
    (thanks,) = await chat.say("yes")
    assert thanks.text.startswith("Thank you, see you on")
    assert await chat.advance(timedelta(days=2)) == [], "the timeout was disarmed"


async def test_no_answer_to_the_reminder_times_out(clinic: Clinic) -> None:
    chat = clinic.chat
    await book(chat, clinic.in_days(2))
    assert len(await chat.advance(timedelta(days=1))) == 1, "the reminder"
    (sms,) = await chat.advance(timedelta(hours=11, minutes=59))
    assert sms.body["channel"] == "sms", "the reminder stayed unread: it went by SMS too"
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


# --- the reminder's SMS failover, with the bot_chat fixture -------------------------------------

SETTINGS = {
    "VONAGE_WHATSAPP_NUMBER": "447700900000",
    "VONAGE_SMS_FROM": "447700900000",
    "BOTKIT_API_TOKEN": "the-clinic-systems-token",
}


async def reminded(bot_chat: BotChats) -> tuple[BotChat, Sent]:
    """A patient booked in two days, with the clock moved to their reminder."""
    chat = await bot_chat(AppointmentsBot, channel="whatsapp", user=PATIENT, settings=SETTINGS)
    at = datetime.now(UTC) + timedelta(days=2)
    data = {"id": "appt-9", "at": at.isoformat(), "who": "Dr Okafor"}
    await chat.notify("appointment_booked", data, key="appt-9")
    (reminder,) = await chat.advance(days=1, minutes=1)
    assert reminder.body["template"]["name"] == "appointment_reminder"
    return chat, reminder


async def test_a_reminder_left_unread_goes_by_sms_ten_minutes_later(bot_chat: BotChats) -> None:
    chat, _ = await reminded(bot_chat)
    assert await chat.advance(minutes=9) == []
    (sms,) = await chat.advance(minutes=1)
    assert sms.body["channel"] == "sms"
    assert sms.text.startswith("Reminder: you see Dr Okafor on ")
    assert sms.text.endswith("Call us to confirm or cancel, or answer on WhatsApp.")
    assert chat.data.reached_on is None, "not yet: the SMS has not reported delivered"
    await chat.status(sms, "delivered")
    assert chat.data.reached_on is Channel.SMS


async def test_a_reminder_read_in_time_goes_nowhere_else(bot_chat: BotChats) -> None:
    chat, reminder = await reminded(bot_chat)
    await chat.status(reminder, "delivered")
    await chat.status(reminder, "read")
    assert chat.data.reached_on is Channel.WHATSAPP
    assert await chat.advance(hours=1) == []


async def test_a_reminder_whatsapp_refuses_goes_by_sms_at_once(bot_chat: BotChats) -> None:
    chat, reminder = await reminded(bot_chat)
    (sms,) = await chat.status(reminder, "rejected")
    assert sms.body["channel"] == "sms"
