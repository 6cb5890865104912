"""Failover the provider carries out (``BOTKIT_FAILOVER=provider``): a reply and its fallbacks as
one Dispatch API workflow, and the workflow's final report as the failover's outcome.

At reply time :func:`workflow_message` turns the steps of a failover policy
(:func:`botkit.failover.steps_of`) into one message carrying the others as its
:attr:`~botkit.outbound.Outbound.workflow`, each step shaped by its own channel's rules, and
checks what only the provider limits: each ``within`` from 15 s to 1 day (its ``expiry_time``),
channels it carries (SMS, WhatsApp, Messenger, Viber), one message per step.

The conversation's records keep the same failover record a local failover keeps
(:class:`~botkit.failover.FailoverRecord`, under :func:`~botkit.failover.record_id`): written
when the provider takes the workflow (:func:`sent_record`), completed when its final report
comes (:func:`ended_record`) or when the provider refuses it.

When the provider takes the workflow, the store links its id to the conversation
(:class:`WorkflowLink`, kept :func:`link_seconds`); the final report, which names no user, is
filed under that conversation and becomes, in the turn that handles it, the same outcome event
a local failover gives (:func:`outcome_event`): kind ``WORKFLOW`` with a
:class:`~botkit.events.FailoverOutcome`, for ``@on.failover`` handlers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Final

from pydantic import BaseModel, ConfigDict

from botkit.channels.rules import Facts, Plan, apply_rules
from botkit.events import (
    Channel,
    DeliveryStatus,
    Event,
    EventKind,
    FailoverOutcome,
    FailoverStep,
)
from botkit.failover import PROVIDER_WITHIN, Condition, FailoverRecord, Step, StepRecord
from botkit.outbound import Outbound, WorkflowStep
from botkit.records import find_record

DISPATCH_CHANNELS: Final = frozenset(
    {Channel.SMS, Channel.WHATSAPP, Channel.MESSENGER, Channel.VIBER}
)
"""The channels a Dispatch workflow's steps may go on."""
REPORT_MARGIN: Final = 7 * 24 * 3600.0
"""Seconds a workflow's link outlives its steps' expiries: its last step's delivery report, and
then the final report, may come that late."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LinkedStep(_Model):
    channel: Channel
    when: Condition | None = None
    within: float | None = None


class WorkflowLink(_Model):
    """What the store keeps under a workflow's id: the conversation it was sent from (``key``),
    botkit's id of its first message and each step's channel and condition."""

    key: str
    message_id: str
    steps: tuple[LinkedStep, ...]


def workflow_message(steps: Sequence[Step], facts: Facts, home: str) -> tuple[Outbound, Plan]:
    """The first step's message, carrying every later step as its workflow, and the plan the
    handler gets for it (the first step as its channel's rules made it).

    Each step goes through its own channel's rules (the conversation's facts on its own
    channel, a stranger's elsewhere), as the Messages API v0.1 takes it, which is what a
    Dispatch step is. Raises ValueError naming the argument (``failover[i].within``,
    ``failover[i]``) for a ``within`` outside 15 s to 1 day, a channel the Dispatch API does
    not carry, or a step its rules turn into more than one message; and the rules' own errors.
    """
    for position, step in enumerate(steps):
        argument = f"failover[{position - 1}]"
        if step.channel not in DISPATCH_CHANNELS:
            raise ValueError(
                f"{argument} goes on {step.channel.value}, which the provider's failover "
                "(BOTKIT_FAILOVER=provider) does not carry: it takes "
                + ", ".join(sorted(c.value for c in DISPATCH_CHANNELS))
                + "; use another channel or BOTKIT_FAILOVER=local"
            )
        if step.within is not None and not _in_range(step.within):
            low, high = PROVIDER_WITHIN
            raise ValueError(
                f"failover[{position}].within must be from {_shown(low)} to {_shown(high)} "
                f"when the provider carries out failover (BOTKIT_FAILOVER=provider: the "
                f"Dispatch API's expiry_time), got {_shown(timedelta(seconds=step.within))}; "
                "BOTKIT_FAILOVER=local takes from 1 second"
            )
    plans = [_plan(step, facts, home, position) for position, step in enumerate(steps)]
    first = plans[0].messages[0]
    workflow = tuple(
        WorkflowStep(when=before.when, within=int(before.within), message=plan.messages[0])
        for before, plan in zip(steps, plans[1:], strict=False)
        if before.when is not None and before.within is not None
    )
    return first.model_copy(update={"workflow": workflow}), plans[0]


def _in_range(seconds: float) -> bool:
    low, high = PROVIDER_WITHIN
    return low.total_seconds() <= seconds <= high.total_seconds() and seconds == int(seconds)


def _shown(duration: timedelta) -> str:
    seconds = duration.total_seconds()
    if seconds >= 86_400 and seconds % 86_400 == 0:
        return f"{seconds / 86_400:g} day" + ("s" if seconds != 86_400 else "")
    return f"{seconds:g} s"


def _plan(step: Step, facts: Facts, home: str, position: int) -> Plan:
    own = home.startswith(step.channel.value + ":")
    step_facts = replace(
        facts,
        api_version="v0.1",
        last_inbound_at=facts.last_inbound_at if own else None,
        user_has_written=facts.user_has_written if own else False,
    )
    plan = apply_rules(step.message, step_facts)
    if len(plan.messages) != 1:
        where = "the message" if position == 0 else f"failover[{position - 1}]"
        raise ValueError(
            f"{where} becomes {len(plan.messages)} messages on {step.channel.value} "
            f"({'; '.join(plan.notes) or 'the channel rules split it'}), and each step of the "
            "provider's failover is one message: shorten it, give the step content of its own "
            "(Fallback(..., content=...)), or use BOTKIT_FAILOVER=local"
        )
    return plan


def link_of(key: str, message: Outbound) -> WorkflowLink:
    """The link of the workflow ``message`` (with its :attr:`~botkit.outbound.Outbound.workflow`)
    sent from the conversation ``key``."""
    steps = [LinkedStep(channel=message.channel)]
    for step in message.workflow:
        steps[-1] = steps[-1].model_copy(update={"when": step.when, "within": step.within})
        steps.append(LinkedStep(channel=step.message.channel))
    return WorkflowLink(key=key, message_id=message.id, steps=tuple(steps))


def link_seconds(message: Outbound) -> float:
    """How long the link of ``message``'s workflow is kept: every step's expiry, then
    :data:`REPORT_MARGIN`."""
    return sum(step.within for step in message.workflow) + REPORT_MARGIN


def home_of(event: Event, link: WorkflowLink) -> Event:
    """The final report ``event`` as an event of the linked conversation: its channel, user and
    bot (a final report names none), so it is filed, and answered, there."""
    channel, bot, user = link.key.split(":", 2)
    return event.model_copy(update={"channel": Channel(channel), "bot": bot, "user": user})


def outcome_event(event: Event, link: WorkflowLink, records: Mapping[str, str]) -> Event:
    """The final report ``event`` (already :func:`home_of` its conversation) as the failover's
    outcome: content a :class:`~botkit.events.FailoverOutcome` built from the report's messages,
    the link's steps, and the conversation's message ``records`` (which hold each step's error
    from its status webhooks)."""
    info = event.workflow
    assert info is not None
    reported = info.messages
    completed = info.outcome == "completed"
    steps: list[FailoverStep] = []
    for index, linked in enumerate(link.steps):
        if index >= len(reported):
            steps.append(FailoverStep(channel=linked.channel, reason="not needed"))
            continue
        sent = reported[index]
        status = _status(sent.status)
        record = find_record(records, sent.message_id, link.key)
        error = record.error if record is not None else None
        last = index == len(reported) - 1
        if last and completed:
            reason = f"{status.value if status else 'delivered'} in time"
        elif status in (DeliveryStatus.REJECTED, DeliveryStatus.UNDELIVERABLE):
            code = f" {error.code}" if error is not None and error.code is not None else ""
            reason = f"{status.value}{code}"
        elif last:
            reason = "the provider ended the workflow in error"
        else:
            reason = f"not {linked.when} within {linked.within:g} s"
        steps.append(
            FailoverStep(
                channel=sent.channel or linked.channel, status=status, error=error, reason=reason
            )
        )
    channel = (
        (reported[-1].channel or link.steps[len(reported) - 1].channel)
        if completed and reported
        else None
    )
    outcome = FailoverOutcome(id=link.message_id, channel=channel, steps=tuple(steps))
    return event.model_copy(update={"kind": EventKind.WORKFLOW, "content": outcome})


def _status(word: str | None) -> DeliveryStatus | None:
    try:
        return DeliveryStatus(word) if word else None
    except ValueError:
        return None


def refused_outcome(rejected: Event, message: Outbound) -> Event:
    """The outcome of a workflow the provider refused as a whole (a 4xx, or given up after
    retries): every step failed, none was sent. ``rejected`` is the refused first message's
    ``rejected`` status event; the outcome is the same event as kind ``WORKFLOW``."""
    assert rejected.status is not None
    error = rejected.status.error
    steps = [
        FailoverStep(
            channel=message.channel,
            status=DeliveryStatus.REJECTED,
            error=error,
            reason="the provider refused the workflow",
        )
    ]
    steps += [
        FailoverStep(channel=step.message.channel, reason="not sent: the workflow was refused")
        for step in message.workflow
    ]
    outcome = FailoverOutcome(id=message.id, steps=tuple(steps))
    return rejected.model_copy(
        update={
            "kind": EventKind.WORKFLOW,
            "message_id": f"refused:{message.id}",
            "status": None,
            "content": outcome,
        }
    )


def sent_record(message: Outbound, at: float) -> FailoverRecord:
    """The failover record (:func:`~botkit.failover.record_id`) of a reply the provider took as
    a workflow at ``at``: every step, the first submitted, the others still to come."""
    steps = [
        StepRecord(
            message=message.model_copy(update={"workflow": ()}),
            ref=message.effective_client_ref,
            sent_at=at,
            status=DeliveryStatus.SUBMITTED,
        )
    ]
    for step in message.workflow:
        steps[-1] = steps[-1].model_copy(update={"when": step.when, "within": step.within})
        steps.append(StepRecord(message=step.message, ref=step.message.effective_client_ref))
    return FailoverRecord(id=message.id, started_at=at, steps=tuple(steps))


def ended_record(record: FailoverRecord, outcome: FailoverOutcome, at: float) -> FailoverRecord:
    """``record`` once the provider's workflow ended at ``at`` as ``outcome`` says: each step's
    status, error and reason, and the channel that succeeded."""
    steps = tuple(
        step.model_copy(
            update={
                "status": ended.status,
                "error": ended.error,
                "reason": ended.reason,
                "sent_at": step.sent_at if step.sent_at or ended.status is None else at,
            }
        )
        for step, ended in zip(record.steps, outcome.steps, strict=False)
    )
    sent = [index for index, step in enumerate(steps) if step.status is not None]
    return record.model_copy(
        update={
            "steps": steps,
            "current": sent[-1] if sent else 0,
            "ended_at": at,
            "channel": outcome.channel,
        }
    )
