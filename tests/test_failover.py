"""Local failover, end to end: a real app on loopback, the memory store, statuses posted as the
provider posts them and a clock the test moves (never a sleep)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import pytest
from pydantic import BaseModel

from botkit import (
    Bot,
    BotDefinitionError,
    Channel,
    Context,
    EventKind,
    FailoverOutcome,
    Fallback,
    OffsetClock,
    Template,
    UnsupportedOnChannel,
    create_app,
    on,
)
from botkit.failover import read_failovers, record_id
from botkit.server import CLOCK, STORE
from botkit.testing import BotChats, Chat, ProviderStandIn, Sent
from tests.test_readme import readme_bot

USER = "447700900001"
KEY = f"whatsapp:447700900000:{USER}"
TEN_MINUTES = timedelta(minutes=10)
UNREAD = [Fallback(Channel.SMS, when="read", within=TEN_MINUTES)]


class Log(BaseModel):
    outcomes: list[str] = []


def told(outcome: FailoverOutcome) -> str:
    steps = " ".join(
        f"{s.channel.value}={s.status.value if s.status else '-'}" for s in outcome.steps
    )
    return f"{outcome.channel.value if outcome.channel else 'none'}: {steps}"


class Reminder(Bot[Log]):
    """Sends a reminder with a failover policy picked by the text, and notes each outcome."""

    senders: ClassVar[dict[Channel, str]] = {
        Channel.WHATSAPP: "447700900000",
        Channel.SMS: "447700900000",
        Channel.VIBER: "botkit-viber",
    }

    @on.text("remind")
    async def remind(self, ctx: Context[Log]) -> None:
        await ctx.reply("Your appointment is tomorrow at 10.", failover=UNREAD)

    @on.text("three steps")
    async def three(self, ctx: Context[Log]) -> None:
        await ctx.reply(
            "Your parcel comes today.",
            failover=[
                Fallback(Channel.VIBER, when="read", within=TEN_MINUTES),
                Fallback(Channel.SMS, when="delivered", within=timedelta(seconds=10)),
            ],
        )

    @on.text("template")
    async def template(self, ctx: Context[Log]) -> None:
        await ctx.reply(
            Template(name="appointment_reminder", parameters=("Dr Who", "Tue 10:00")),
            failover=[
                Fallback(
                    Channel.SMS,
                    when="read",
                    within=TEN_MINUTES,
                    content="Reminder: Dr Who on Tue 10:00. Reply YES to confirm.",
                )
            ],
        )

    @on.text("and fail")
    async def and_fail(self, ctx: Context[Log]) -> None:
        await ctx.reply("This never leaves.", failover=UNREAD)
        raise RuntimeError("the handler fails after its reply")

    @on.failover()
    async def ended(self, ctx: Context[Log]) -> None:
        assert ctx.event.kind is EventKind.WORKFLOW
        assert isinstance(ctx.event.content, FailoverOutcome)
        ctx.data.outcomes.append(told(ctx.event.content))


@pytest.fixture
async def chat(aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn) -> Chat:
    app = create_app(settings_for(VONAGE_API_URL=provider.url), Reminder(), clock=OffsetClock())
    return Chat(await aiohttp_client(app), provider, channel=Channel.WHATSAPP, user=USER)


async def outcomes(chat: Chat) -> list[str]:
    stored = await chat.client.app[STORE].load(KEY)
    assert stored is not None
    assert stored.data is not None
    return Log.model_validate_json(stored.data).outcomes


def where(sent: list[Sent]) -> list[tuple[str, str]]:
    return [(str(s.body["channel"]), s.text) for s in sent]


async def test_a_message_read_in_time_sends_no_fallback(chat: Chat) -> None:
    (reminder,) = await chat.say("remind")
    assert where([reminder]) == [("whatsapp", "Your appointment is tomorrow at 10.")]
    assert await chat.status(reminder, "delivered") == []
    assert await outcomes(chat) == [], "delivered is not read: the fallback still waits"
    await chat.status(reminder, "read")
    assert await outcomes(chat) == ["whatsapp: whatsapp=read sms=-"]
    assert await chat.advance(timedelta(hours=1)) == []


async def test_an_unread_message_goes_as_sms_when_its_time_is_up(chat: Chat) -> None:
    (_reminder,) = await chat.say("remind")
    assert await chat.advance(TEN_MINUTES - timedelta(seconds=1)) == []
    (sms,) = await chat.advance(timedelta(seconds=1))
    assert where([sms]) == [("sms", "Your appointment is tomorrow at 10.")]
    assert sms.to == USER
    assert sms.body["from"] == "447700900000"
    assert await outcomes(chat) == [], "the message ends when the SMS is delivered"
    await chat.status(sms, "delivered")
    assert await outcomes(chat) == ["sms: whatsapp=submitted sms=delivered"]


async def test_a_rejected_message_falls_back_at_once(chat: Chat) -> None:
    (reminder,) = await chat.say("remind")
    (sms,) = await chat.status(reminder, "rejected")
    assert where([sms]) == [("sms", "Your appointment is tomorrow at 10.")]
    await chat.status(sms, "undeliverable")
    assert await outcomes(chat) == ["none: whatsapp=rejected sms=undeliverable"]
    assert await chat.advance(timedelta(hours=1)) == []


async def test_a_send_the_provider_refuses_falls_back_at_once(
    chat: Chat, provider: ProviderStandIn
) -> None:
    provider.refuse("appointment", status=422, code=1340)
    sent = await chat.say("remind")
    assert where(sent) == [], "WhatsApp refused it; the SMS is refused by the same word"
    assert [f.body["channel"] for f in provider.failed] == ["whatsapp", "sms"]
    assert await outcomes(chat) == ["none: whatsapp=rejected sms=rejected"]
    stored = await chat.client.app[STORE].messages(KEY)
    (failover,) = read_failovers(stored)
    assert [s.reason for s in failover.steps] == [
        "rejected 1340 (Refused)",
        "rejected 1340 (Refused)",
    ]


async def test_a_late_read_after_the_fallback_left_sends_nothing_more(chat: Chat) -> None:
    (reminder,) = await chat.say("remind")
    (sms,) = await chat.advance(TEN_MINUTES)
    assert await chat.status(reminder, "read") == []
    assert await chat.status(sms, "delivered") == []
    assert await outcomes(chat) == ["sms: whatsapp=read sms=delivered"]
    stored = await chat.client.app[STORE].messages(KEY)
    (failover,) = read_failovers(stored)
    assert failover.steps[0].reason == (
        "not read within 10 min; read came after the message had moved on"
    )
    assert failover.channel is Channel.SMS


async def test_duplicate_statuses_end_the_message_once(chat: Chat) -> None:
    (reminder,) = await chat.say("remind")
    for _ in range(3):
        await chat.status(reminder, "read")
    await chat.status(reminder, "delivered")
    assert await outcomes(chat) == ["whatsapp: whatsapp=read sms=-"]
    assert await chat.advance(timedelta(hours=1)) == []


async def test_each_step_goes_through_its_own_channels_rules(chat: Chat) -> None:
    (template,) = await chat.say("template")
    assert template.template is not None
    assert template.template.name == "appointment_reminder"
    (sms,) = await chat.advance(TEN_MINUTES)
    assert where([sms]) == [("sms", "Reminder: Dr Who on Tue 10:00. Reply YES to confirm.")]


async def test_several_steps_each_wait_their_own_time(chat: Chat) -> None:
    (_first,) = await chat.say("three steps")
    (viber,) = await chat.advance(TEN_MINUTES)
    assert where([viber]) == [("viber_service", "Your parcel comes today.")]
    assert await chat.advance(timedelta(seconds=9)) == []
    (sms,) = await chat.advance(timedelta(seconds=1))
    assert where([sms]) == [("sms", "Your parcel comes today.")]
    await chat.status(viber, "delivered")  # too late, and not the condition anyway
    await chat.status(sms, "delivered")
    assert await outcomes(chat) == ["sms: whatsapp=submitted viber=delivered sms=delivered"]


async def test_a_handler_that_raises_arms_no_failover(chat: Chat) -> None:
    assert await chat.say("and fail") == []
    stored = await chat.client.app[STORE].load(KEY)
    assert stored is not None
    assert dict(stored.timers) == {}
    assert await chat.advance(timedelta(hours=1)) == []


async def test_the_pending_failover_is_a_timer_of_the_conversation(chat: Chat) -> None:
    (reminder,) = await chat.say("remind")
    stored = await chat.client.app[STORE].load(KEY)
    assert stored is not None
    (timer,) = stored.timers.values()
    assert timer.key.startswith("botkit.failover:")
    assert timer.at == pytest.approx(chat.client.app[CLOCK].now() + 600, abs=5)
    await chat.status(reminder, "read")
    await chat.advance(timedelta(seconds=1))
    stored = await chat.client.app[STORE].load(KEY)
    assert stored is not None
    assert dict(stored.timers) == {}
    messages = await chat.client.app[STORE].messages(KEY)
    assert record_id(reminder.body["client_ref"]) in messages


# --- a bot-wide policy per channel ---------------------------------------------------------------


class Defaults(Bot[Log]):
    senders: ClassVar[dict[Channel, str]] = {
        Channel.WHATSAPP: "447700900000",
        Channel.SMS: "447700900000",
    }
    fallbacks: ClassVar[dict[Channel, list[Fallback]]] = {Channel.WHATSAPP: UNREAD}

    @on.text("plain")
    async def plain(self, ctx: Context[Log]) -> None:
        await ctx.reply("Every WhatsApp reply falls back.")

    @on.text("none")
    async def none(self, ctx: Context[Log]) -> None:
        await ctx.reply("Not this one.", failover=[])


async def test_the_bots_default_policy_applies_unless_a_reply_says_otherwise(
    bot_chat: BotChats,
) -> None:
    chat = await bot_chat(Defaults)
    await chat.say("plain")
    (sms,) = await chat.advance(minutes=10)
    assert sms.body["channel"] == "sms"
    assert sms.text == "Every WhatsApp reply falls back."
    await chat.say("none")
    assert await chat.advance(minutes=10) == []


# --- refused when the reply is made -------------------------------------------------------------


class Careless(Bot[Log]):
    """Replies with policies that cannot work; says what each raised."""

    senders: ClassVar[dict[Channel, str]] = {Channel.WHATSAPP: "447700900000"}

    @on.text("no sms number")
    async def no_sms(self, ctx: Context[Log]) -> None:
        await ctx.reply("Hello", failover=UNREAD)

    @on.text("template on viber")
    async def template_on_viber(self, ctx: Context[Log]) -> None:
        await ctx.reply(
            Template(name="reminder"),
            failover=[Fallback(Channel.VIBER, when="read", within=TEN_MINUTES, to="447700900001")],
        )


class Messengers(Bot[Log]):
    senders: ClassVar[dict[Channel, str]] = {
        Channel.MESSENGER: "botkit-page",
        Channel.SMS: "447700900000",
    }

    @on.text("without number")
    async def without(self, ctx: Context[Log]) -> None:
        await ctx.reply("Hello", failover=UNREAD)

    @on.text("with number")
    async def with_number(self, ctx: Context[Log]) -> None:
        await ctx.reply(
            "Hello",
            failover=[
                Fallback(
                    Channel.SMS, when="read", within=timedelta(seconds=60), to="+44 7700 900001"
                )
            ],
        )


async def test_a_step_on_a_channel_without_a_bot_address_names_the_setting(
    bot_chat: BotChats,
) -> None:
    chat = await bot_chat(Careless)
    with pytest.raises(LookupError) as refused:
        await chat.say("no sms number")
    assert str(refused.value) == (
        "failover step 1 goes on sms, where the bot has no address: set the bot class's "
        'senders ({Channel.SMS: "<address>"}) or the VONAGE_SMS_FROM setting'
    )


async def test_content_the_steps_channel_refuses_names_the_step(bot_chat: BotChats) -> None:
    chat = await bot_chat(Careless, settings={"VONAGE_VIBER_SERVICE_ID": "botkit-viber"})
    with pytest.raises(UnsupportedOnChannel) as refused:
        await chat.say("template on viber")
    message = str(refused.value)
    assert message.startswith("failover step 1 (viber): Viber carries a template on the")
    assert message.endswith("Fallback(Channel.VIBER, content=...).")
    assert chat.sent == [], "nothing was sent, not even the first step"


async def test_a_messenger_user_falls_back_to_sms_only_with_a_number(bot_chat: BotChats) -> None:
    chat = await bot_chat(Messengers, channel="messenger", user="1234567890123456")
    with pytest.raises(ValueError, match=r"^failover step 1 goes on sms") as refused:
        await chat.say("without number")
    assert str(refused.value) == (
        "failover step 1 goes on sms, which reaches users by phone number, and this user's "
        "messenger address is none: give it, Fallback(Channel.SMS, to=\"<the user's phone "
        'number>", ...)'
    )
    (_hello,) = await chat.say("with number")
    phone = await bot_chat(Messengers, channel="sms", user="447700900001")
    await chat.advance(minutes=1)
    (sms,) = phone.sent
    assert sms.body["channel"] == "sms"
    assert sms.text == "Hello"


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (
            {"when": "seen", "within": 60},
            'Fallback when must be "delivered" or "read", got \'seen\'',
        ),
        (
            {"when": "read", "within": timedelta(milliseconds=500)},
            "Fallback within must be from 1 second to 365 days, got 0:00:00.500000",
        ),
        (
            {"when": "read", "within": timedelta(days=400)},
            "Fallback within must be from 1 second to 365 days, got 400 days, 0:00:00",
        ),
        (
            {"when": "read", "within": timedelta(seconds=60), "to": ""},
            "Fallback to must be the user's address",
        ),
    ],
)
def test_a_bad_fallback_names_the_argument(arguments: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=r"^Fallback ") as refused:
        Fallback(Channel.SMS, **arguments)
    assert str(refused.value).startswith(problem)


def test_within_may_be_a_second_locally() -> None:
    assert Fallback(Channel.SMS, when="delivered", within=timedelta(seconds=1)).within == timedelta(
        seconds=1
    )


def test_a_bot_wide_policy_is_checked_when_the_class_is_created() -> None:
    with pytest.raises(BotDefinitionError) as same:

        class Loop(Bot):
            fallbacks: ClassVar[dict[Channel, list[Fallback]]] = {
                Channel.SMS: [Fallback(Channel.SMS, when="delivered", within=timedelta(seconds=60))]
            }

    assert "Loop.fallbacks (" in str(same.value)
    assert "'sms': a step falls back from sms to sms" in str(same.value)
    with pytest.raises(BotDefinitionError) as single:

        class Single(Bot):
            fallbacks: ClassVar[Any] = {Channel.WHATSAPP: UNREAD[0]}

    assert "must map to a list of botkit.Fallback" in str(single.value)


async def test_the_readme_failover_bot_works_as_written(bot_chat: BotChats) -> None:
    bot = readme_bot("failover=[")
    chat = await bot_chat(bot)
    (reminder,) = await chat.say("remind me")
    assert reminder.body["channel"] == "whatsapp"
    (sms,) = await chat.advance(minutes=10)
    assert sms.body["channel"] == "sms"
    await chat.status(sms, "delivered")
    assert chat.data == {"reached_on": "sms"}


# --- the inspector --------------------------------------------------------------------------------

TOKEN = "inspector-token-0123456789"


async def test_the_inspector_shows_one_message_with_its_attempts_per_channel(
    aiohttp_client: Any, settings_for: Any, provider: ProviderStandIn
) -> None:
    settings = settings_for(VONAGE_API_URL=provider.url, BOTKIT_INSPECTOR_TOKEN=TOKEN)
    app = create_app(settings, Reminder(), clock=OffsetClock())
    client = await aiohttp_client(app, headers={"Authorization": f"Bearer {TOKEN}"})
    chat = Chat(client, provider, channel=Channel.WHATSAPP, user=USER)
    path = "/_botkit/conversations/" + quote(KEY, safe="")

    await chat.say("remind")
    detail = await (await client.get(path)).json()
    (pending,) = detail["failovers"]
    assert pending["ended_at"] is None
    assert [(s["channel"], s["status"]) for s in pending["steps"]] == [
        ("whatsapp", "submitted"),
        ("sms", None),
    ]
    (timer,) = detail["timers"]
    assert timer["name"] == "failover of 'Your appointment is tomorrow at 10.'"

    (sms,) = await chat.advance(TEN_MINUTES)
    await chat.status(sms, "delivered")
    detail = await (await client.get(path)).json()
    (ended,) = detail["failovers"]
    assert ended["channel"] == "sms"
    assert [(s["channel"], s["status"], s["reason"]) for s in ended["steps"]] == [
        ("whatsapp", "submitted", "not read within 10 min"),
        ("sms", "delivered", "delivered in time"),
    ]
    assert [(m["channel"], m["status"], m["summary"]) for m in detail["messages"]] == [
        ("whatsapp", "submitted", "Your appointment is tomorrow at 10."),
        ("sms", "delivered", "Your appointment is tomorrow at 10."),
    ], "the SMS, its record and its status are the conversation's, where the reply was made"
    assert detail["timers"] == []
