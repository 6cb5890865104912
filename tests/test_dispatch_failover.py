"""Failover the provider carries out (``BOTKIT_FAILOVER=provider``), end to end: ``botkit dev``'s
sandbox and the bot on loopback, conversations in a real Redis. A reply with a failover policy
goes as one Dispatch workflow, valid against the shipped spec; the sandbox plays it; the final
report reaches the user's own conversation as the outcome ``@on.failover`` handlers get; a
workflow the provider refuses is a refused send; the provider's limits are checked when the
reply is made."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import jsonschema
import pytest

from botkit import Bot, Channel, Context, Fallback, on
from botkit.channels.facts import Facts
from botkit.devserver import BOT_ADDRESSES, DevServer
from botkit.dispatch import workflow_message
from botkit.events import DeliveryStatus, FailoverOutcome, Text
from botkit.failover import FailoverRecord, read_failovers, steps_of
from botkit.outbound import Outbound
from botkit.sandbox.journal import JournalEvent
from botkit.vonage.openapi import load_spec, to_json_schema
from tests.conftest import RedisServer, dev_server

USER = "447700900123"
BOT_NUMBER = BOT_ADDRESSES[Channel.WHATSAPP]
TEN_MINUTES = timedelta(minutes=10)


class ReminderBot(Bot):
    """Reminds on WhatsApp, by SMS when the reminder stays unread; says how it went."""

    @on.message()
    async def remind(self, ctx: Context) -> None:
        await ctx.reply(
            "Your appointment is tomorrow at 10:00",
            failover=[Fallback(Channel.SMS, when="read", within=TEN_MINUTES)],
        )

    @on.failover()
    async def tell(self, ctx: Context) -> None:
        outcome = ctx.event.content
        assert isinstance(outcome, FailoverOutcome)
        reached = outcome.channel.value if outcome.channel else "nobody"
        steps = ", ".join(
            f"{s.channel.value}={s.status.value if s.status else '-'}" for s in outcome.steps
        )
        await ctx.reply(f"outcome: {reached} ({steps}) for {outcome.id}")


@pytest.fixture
async def dev(redis_server: RedisServer, redis_prefix: str) -> AsyncIterator[DevServer]:
    server = dev_server(
        "tests.test_dispatch_failover:ReminderBot",
        BOTKIT_FAILOVER="provider",
        REDIS_URL=redis_server.url,
        BOTKIT_REDIS_PREFIX=redis_prefix,
        VONAGE_SMS_FROM=BOT_ADDRESSES[Channel.SMS],
        VONAGE_VIBER_SERVICE_ID="not-our-service",
    )
    await server.start(watch=False)
    yield server
    await server.stop()


async def control(dev: DevServer, path: str, body: dict[str, Any]) -> Any:
    async with (
        aiohttp.ClientSession(headers=dev.auth_headers) as session,
        session.post(f"{dev.sandbox_url}{path}", json=body) as response,
    ):
        assert response.status in (200, 201), await response.text()
        return await response.json()


async def seen(
    dev: DevServer, wanted: Callable[[JournalEvent], bool], timeout: float = 20.0
) -> JournalEvent:
    """The first event of the sandbox's log ``wanted`` accepts, once it is there."""
    journal = dev._journal
    assert journal is not None

    async def first() -> JournalEvent:
        async for event in journal.follow(since=0):
            if event is not None and wanted(event):
                return event
        raise AssertionError("the sandbox's log closed")

    return await asyncio.wait_for(first(), timeout)


def outbound_text(channel: str, starting: str) -> Callable[[JournalEvent], bool]:
    def match(event: JournalEvent) -> bool:
        text = event.fields.get("message", {}).get("text", "")
        return (
            event.kind == "outbound"
            and event.channel is not None
            and event.channel.value == channel
            and text.startswith(starting)
        )

    return match


def workflow(action: str) -> Callable[[JournalEvent], bool]:
    return lambda event: event.kind == "workflow" and event.fields.get("action") == action


async def failover_records(dev: DevServer) -> list[FailoverRecord]:
    """The failover records of the user's WhatsApp conversation, as the store keeps them."""
    assert dev._store is not None
    return read_failovers(await dev._store.messages(f"whatsapp:{BOT_NUMBER}:{USER}"))


def create_workflow() -> Any:
    spec = load_spec("dispatch")
    schema = to_json_schema(spec, {"$ref": "#/components/schemas/createWorkflow"})
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.slow
async def test_an_unread_whatsapp_reminder_goes_by_sms_and_the_outcome_reaches_the_user(
    dev: DevServer,
) -> None:
    await control(dev, "/_sandbox/faults", {"kind": "offline", "channel": "whatsapp", "user": USER})
    await control(dev, f"/_sandbox/users/whatsapp/{USER}/messages", {"text": "remind me"})

    accepted = await seen(dev, workflow("accepted"))
    request = accepted.fields["request"]
    create_workflow().validate(request)
    first, last = request["workflow"]
    assert first["failover"] == {"condition_status": "read", "expiry_time": 600}
    assert (first["to"]["type"], last["to"]["type"]) == ("whatsapp", "sms")
    assert last["message"]["content"]["text"] == "Your appointment is tomorrow at 10:00"

    await control(dev, "/_sandbox/clock", {"advance_seconds": 600})

    sms = await seen(dev, outbound_text("sms", "Your appointment"))
    assert sms.user == USER
    told = await seen(dev, outbound_text("whatsapp", "outcome:"))
    assert told.user == USER, "the outcome reached the user's own conversation"
    assert told.fields["message"]["text"].startswith("outcome: sms (whatsapp=submitted, sms=")
    ended = await seen(dev, workflow("ended"))
    assert ended.fields["status"] == "completed"

    (record,) = await failover_records(dev)
    assert record.channel is Channel.SMS
    assert record.ended_at is not None
    assert [(s.channel, s.status, s.reason) for s in record.steps] == [
        (Channel.WHATSAPP, DeliveryStatus.SUBMITTED, "not read within 600 s"),
        (Channel.SMS, DeliveryStatus.DELIVERED, "delivered in time"),
    ]


@pytest.mark.slow
async def test_a_reminder_read_in_time_ends_on_whatsapp_without_an_sms(dev: DevServer) -> None:
    await control(dev, f"/_sandbox/users/whatsapp/{USER}/messages", {"text": "remind me"})

    told = await seen(dev, outbound_text("whatsapp", "outcome:"))

    assert told.fields["message"]["text"].startswith("outcome: whatsapp (whatsapp=read, sms=-)")
    journal = dev._journal
    assert journal is not None
    assert not [e for e in journal.events() if outbound_text("sms", "")(e)]


class ViberFirstBot(Bot):
    """Falls back to Viber, from a service id the account does not have: the provider refuses
    the workflow."""

    @on.message()
    async def remind(self, ctx: Context) -> None:
        await ctx.reply(
            "Your appointment is tomorrow at 10:00",
            failover=[Fallback(Channel.VIBER, when="delivered", within=timedelta(seconds=30))],
        )

    @on.status("rejected")
    async def refused(self, ctx: Context) -> None:
        error = ctx.event.status.error if ctx.event.status else None
        await ctx.reply(f"refused: {error.title if error else '?'}")

    @on.failover(succeeded=False)
    async def failed(self, ctx: Context) -> None:
        outcome = ctx.event.content
        assert isinstance(outcome, FailoverOutcome)
        await ctx.reply("outcome: " + "; ".join(s.reason for s in outcome.steps))


@pytest.mark.slow
async def test_a_workflow_the_provider_refuses_is_a_refused_send_and_an_outcome(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    dev = dev_server(
        "tests.test_dispatch_failover:ViberFirstBot",
        BOTKIT_FAILOVER="provider",
        REDIS_URL=redis_server.url,
        BOTKIT_REDIS_PREFIX=redis_prefix,
        VONAGE_VIBER_SERVICE_ID="not-our-service",
    )
    await dev.start(watch=False)
    try:
        await control(dev, f"/_sandbox/users/whatsapp/{USER}/messages", {"text": "remind me"})

        rejected = await seen(dev, lambda e: e.kind == "rejected")
        assert rejected.fields["http_status"] == 400
        assert "workflow[1].from.id" in rejected.fields["problem"]["detail"]
        refused = await seen(dev, outbound_text("whatsapp", "refused:"))
        told = await seen(dev, outbound_text("whatsapp", "outcome:"))
        assert refused.seq < told.seq, "the refusal first, then the outcome"
        assert told.fields["message"]["text"] == (
            "outcome: the provider refused the workflow; not sent: the workflow was refused"
        )
        assert not [e for e in dev._journal.events() if workflow("accepted")(e)]  # type: ignore[union-attr]
        (record,) = await failover_records(dev)
        assert record.channel is None
        assert [(s.channel, s.status) for s in record.steps] == [
            (Channel.WHATSAPP, DeliveryStatus.REJECTED),
            (Channel.VIBER, None),
        ]
    finally:
        await dev.stop()


# --- checked when the reply is made ------------------------------------------------------------

HOME = f"whatsapp:{BOT_NUMBER}:{USER}"


def provider_facts(**senders: str) -> Facts:
    return Facts(
        now=1_700_000_000.0,
        last_inbound_at=1_700_000_000.0,
        user_has_written=True,
        failover="provider",
        senders={Channel.WHATSAPP: BOT_NUMBER, Channel.SMS: BOT_NUMBER, **senders},  # type: ignore[dict-item]
    )


def reply(text: str = "Your appointment is tomorrow at 10:00") -> Outbound:
    return Outbound(channel=Channel.WHATSAPP, to=USER, sender=BOT_NUMBER, content=Text(text=text))


@pytest.mark.parametrize(
    ("within", "problem"),
    [
        (timedelta(seconds=5), "failover[0].within must be from 15 s to 1 day"),
        (timedelta(days=2), "failover[0].within must be from 15 s to 1 day"),
        (timedelta(seconds=20.5), "failover[0].within must be from 15 s to 1 day"),
    ],
)
def test_an_expiry_the_provider_refuses_names_the_argument(within: timedelta, problem: str) -> None:
    facts = provider_facts()
    steps = steps_of(reply(), [Fallback(Channel.SMS, when="read", within=within)], facts, HOME)

    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        workflow_message(steps, facts, HOME)


def test_a_channel_the_provider_does_not_fail_over_to_names_the_argument() -> None:
    facts = provider_facts(mms="14155550100")
    fallbacks = [
        Fallback(Channel.MMS, when="delivered", within=timedelta(minutes=1), to="14155550123")
    ]
    steps = steps_of(reply(), fallbacks, facts, HOME)

    with pytest.raises(ValueError, match=r"failover\[0\] goes on mms"):
        workflow_message(steps, facts, HOME)


def test_a_step_its_rules_split_in_two_names_the_fix() -> None:
    facts = provider_facts()
    fallbacks = [Fallback(Channel.SMS, when="read", within=TEN_MINUTES)]
    steps = steps_of(reply("x" * 4000), fallbacks, facts, HOME)

    with pytest.raises(ValueError, match=r"failover\[0\] becomes"):
        workflow_message(steps, facts, HOME)


def test_the_workflow_message_carries_each_step_as_its_channel_takes_it() -> None:
    facts = provider_facts()
    fallbacks = [Fallback(Channel.SMS, when="read", within=TEN_MINUTES, content="SMS: 10:00")]
    steps = steps_of(reply(), fallbacks, facts, HOME)

    first, plan = workflow_message(steps, facts, HOME)

    assert plan.messages == (first.model_copy(update={"workflow": ()}),)
    (step,) = first.workflow
    assert (step.when, step.within) == ("read", 600)
    assert step.message.channel is Channel.SMS
    assert step.message.content == Text(text="SMS: 10:00")
    assert len(step.message.effective_client_ref) <= 40, "v0.1's client_ref limit"
