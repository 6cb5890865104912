"""Failover: a message that goes out again on another channel when it is not delivered or read
in time ("WhatsApp, then SMS if not read within 10 minutes").

A bot gives a reply a policy, a list of :class:`Fallback` steps::

    await ctx.reply(
        "Your appointment is tomorrow at 10.",
        failover=[Fallback(Channel.SMS, when="read", within=timedelta(minutes=10))],
    )

Each :class:`Fallback` says when to move on to it: when the step before it (the first being the
message itself) has not reached the status ``when`` (``"delivered"`` or ``"read"``) within
``within``, or was refused (``rejected``, ``undeliverable``, a refused send). The last step
ends the message when it is delivered. The class setting ``fallbacks`` gives a policy per
channel to every reply that passes none (``failover=[]`` turns it off for one reply).

The policy becomes :class:`Step` values (:func:`steps_of`): each step's message as written, the
condition that ends the message well at that step, and how long the step waits for it. How the
steps are carried out is separate: locally (:func:`arm`, :func:`advance`: a pending failover is
a timer of the user's conversation, committed with the reply and moved on by status events and
by the timer falling due, all through the conversation's lease and atomic commit), or by the
provider (a Dispatch workflow built from the same steps).

Either way, when the message ends an event of kind ``WORKFLOW`` whose content is a
:class:`~botkit.events.FailoverOutcome` reaches the conversation's ``@on.failover`` handlers:
which channel succeeded (None when all failed) and each step's status, error and reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, replace
from datetime import timedelta
from typing import Final, Literal, get_args

from pydantic import BaseModel, ConfigDict

from botkit.channels.addresses import normalise
from botkit.channels.capabilities import AddressKind, capability
from botkit.channels.errors import ChannelRuleError
from botkit.channels.rules import Facts, Plan, apply_rules
from botkit.conversation import Conversation, OutboxEntry, PendingTimer
from botkit.events import (
    Channel,
    DeliveryStatus,
    Event,
    EventKind,
    FailoverOutcome,
    FailoverStep,
    ProviderError,
    Text,
    Timer,
)
from botkit.outbound import Outbound, OutboundContent
from botkit.records import FAILOVER_PREFIX as FAILOVER_RECORD
from botkit.settings import sender_variable
from botkit.timers import FAILOVER_PREFIX, MAX_DELAY, new_timer

__all__ = [
    "LAST_STEP_WAIT",
    "LOCAL_WITHIN",
    "PROVIDER_WITHIN",
    "Advance",
    "Condition",
    "FailoverRecord",
    "Fallback",
    "Step",
    "advance",
    "arm",
    "home_key",
    "home_of",
    "record_id",
    "steps_of",
]

Condition = Literal["delivered", "read"]
"""The status a step must reach in time for the message to end there."""

LOCAL_WITHIN: Final = (timedelta(seconds=1), MAX_DELAY)
"""The ``within`` botkit's own failover accepts (from a second, for tests, to a year)."""
PROVIDER_WITHIN: Final = (timedelta(seconds=15), timedelta(days=1))
"""The ``within`` the provider's Dispatch API accepts (its ``expiry_time``: 15 to 86,400 s)."""
LAST_STEP_WAIT: Final = 24 * 3600.0
"""Seconds the last step waits for its delivery report before the message ends without one."""

_REACHED: Final = {
    "delivered": (DeliveryStatus.DELIVERED, DeliveryStatus.READ),
    "read": (DeliveryStatus.READ,),
}
_FAILED: Final = (DeliveryStatus.REJECTED, DeliveryStatus.UNDELIVERABLE)
_LETTERS: Final = {
    Channel.WHATSAPP: "w",
    Channel.MESSENGER: "f",
    Channel.VIBER: "v",
    Channel.SMS: "s",
    Channel.MMS: "m",
}
_ROUTE: Final = "bkf:"
"""``client_ref`` prefix of a fallback step's messages: it names the conversation the message
belongs to, so its statuses reach that conversation whatever channel they come on."""


@dataclass(frozen=True)
class Fallback:
    """One step of a failover policy: send the message on ``channel`` when the step before it
    has not reached ``when`` (``"delivered"`` or ``"read"``) within ``within`` (a
    :class:`~datetime.timedelta`), or was refused.

    ``content`` is this step's own content (text or any outbound content, such as a plain
    SMS after a WhatsApp template); None sends the reply's content and choices again, as the
    channel's rules make it fit. ``to`` is the user's address on ``channel``; None uses the
    address the reply goes to (the same number), which a Messenger id is not.

    Raises ValueError naming the argument for a ``when`` other than delivered/read or a
    ``within`` outside 1 second to 365 days (the provider's own failover accepts 15 s to
    1 day), TypeError for a ``channel`` that is not a :class:`~botkit.Channel`.
    """

    channel: Channel
    _: KW_ONLY
    when: Condition
    within: timedelta
    content: str | OutboundContent | None = None
    to: str | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "channel", Channel(self.channel))
        except ValueError:
            names = ", ".join(f"Channel.{c.name}" for c in Channel)
            raise TypeError(
                f"Fallback channel must be one of {names}, got {self.channel!r}"
            ) from None
        if self.when not in get_args(Condition):
            raise ValueError(f'Fallback when must be "delivered" or "read", got {self.when!r}')
        within = self.within
        if isinstance(within, bool) or not isinstance(within, timedelta | int | float):
            raise TypeError(f"Fallback within must be a timedelta, got {type(within).__name__}")
        if not isinstance(within, timedelta):
            object.__setattr__(self, "within", timedelta(seconds=within))
        low, high = LOCAL_WITHIN
        if not low <= self.within <= high:
            raise ValueError(
                f"Fallback within must be from 1 second to {high.days} days, got {self.within}"
            )
        if self.to is not None and (not isinstance(self.to, str) or not self.to.strip()):
            raise ValueError(f"Fallback to must be the user's address on the channel: {self.to!r}")


@dataclass(frozen=True)
class Step:
    """One step of a message with a failover policy, whoever carries it out.

    ``message`` is what this step sends, as the bot wrote it (the channel's rules apply when
    it is sent); ``when`` the status that ends the message well at this step and ``within``
    (seconds) how long the step waits for it before the next step goes. The last step has
    neither: it ends the message when it is delivered."""

    message: Outbound
    when: Condition | None = None
    within: float | None = None

    @property
    def channel(self) -> Channel:
        return self.message.channel


def steps_of(
    message: Outbound, fallbacks: Sequence[Fallback], facts: Facts, home: str
) -> tuple[Step, ...]:
    """The steps of ``message`` (a reply on the conversation ``home``) under ``fallbacks``,
    each checked as far as it can be before anything is sent: the bot has an address on the
    step's channel, the user has one there, and the channel's rules take the step's content.

    Raises LookupError naming the setting when the bot has no address on a step's channel,
    ValueError naming the argument for a step on the channel it falls back from or an
    address that cannot reach the user there, and the channel rules' error
    (:class:`~botkit.channels.errors.ChannelRuleError`), saying which step, for content the
    step's channel refuses.
    """
    if not isinstance(fallbacks, Sequence) or not all(isinstance(f, Fallback) for f in fallbacks):
        raise TypeError(f"failover must be a list of Fallback, got {fallbacks!r}")
    steps = [Step(message)]
    for position, fallback in enumerate(fallbacks, 1):
        before = steps[-1]
        steps[-1] = replace(before, when=fallback.when, within=fallback.within.total_seconds())
        if fallback.channel is before.channel:
            raise ValueError(
                f"failover step {position} falls back from {before.channel.value} to "
                f"{fallback.channel.value}: give each Fallback another channel than the step "
                "before it"
            )
        step = Step(_step_message(message, fallback, facts, home, position))
        _check_step(step, position, facts, home)
        steps.append(step)
    return tuple(steps)


def _step_message(
    message: Outbound, fallback: Fallback, facts: Facts, home: str, position: int
) -> Outbound:
    channel = fallback.channel
    cap = capability(channel)
    own = facts.senders_on(channel)
    if not own:
        raise LookupError(
            f"failover step {position} goes on {channel.value}, where the bot has no address: "
            f'set the bot class\'s senders ({{Channel.{channel.name}: "<address>"}}) or the '
            f"{sender_variable(channel.value)} setting"
        )
    to = fallback.to or message.to
    if fallback.to is None and normalise(cap.recipient, to) is None:
        form = "phone number" if cap.recipient is AddressKind.NUMBER else "id"
        raise ValueError(
            f"failover step {position} goes on {channel.value}, which reaches users by "
            f"{form}, and this user's {message.channel.value} address is none: give it, "
            f'Fallback(Channel.{channel.name}, to="<the user\'s {form}>", ...)'
        )
    content = fallback.content if fallback.content is not None else message.content
    # The reply's options for the step's channel, where Outbound has a field (MMS has none).
    field = channel.value
    options = {field: getattr(message, field)} if field in Outbound.model_fields else {}
    step_id = f"{message.id}.{position}"
    return Outbound(
        id=step_id,
        channel=channel,
        to=to,
        sender=own[0],
        content=Text(text=content) if isinstance(content, str) else content,
        buttons=message.buttons if fallback.content is None else (),
        choice_style=message.choice_style,
        list_title=message.list_title if fallback.content is None else None,
        client_ref=_route_ref(home, message.id, position, to),
        **options,
    )


def _check_step(step: Step, position: int, facts: Facts, home: str) -> None:
    try:
        apply_rules(step.message, _facts_on(step.channel, facts, home))
    except ChannelRuleError as exc:
        problem = str(exc)
        raise type(exc)(
            f"failover step {position} ({step.channel.value}): {problem} Give the step "
            f"content the channel takes: Fallback(Channel.{step.channel.name}, content=...).",
            channel=exc.channel,
        ) from None


def _facts_on(channel: Channel, facts: Facts, home: str) -> Facts:
    """What the rules know on ``channel`` from the conversation ``home``: its own facts on its
    own channel; elsewhere nothing of the user's window or first message (as for a stranger)."""
    if home.startswith(channel.value + ":"):
        return facts
    return replace(facts, last_inbound_at=None, user_has_written=False)


# --- routing statuses home ----------------------------------------------------------------------


def _route_ref(home: str, message_id: str, position: int, to: str) -> str:
    channel, sender, user = home.split(":", 2)
    letter = _LETTERS[Channel(channel)]
    return f"{_ROUTE}{letter}:{sender}:{'' if user == to else user}:{message_id[:12]}.{position}"


def home_key(event: Event) -> str | None:
    """The conversation a status of a fallback step's message belongs to (the conversation
    whose reply it falls back from), read from its ``client_ref``; None for any other event."""
    if event.kind is not EventKind.STATUS:
        return None
    return _home(event.client_ref, event.user)


def home_of(message: Outbound) -> str:
    """The conversation ``message`` belongs to: for a fallback step's message, the one whose
    reply it falls back from (its record is kept there, where its statuses arrive); for any
    other, its own."""
    return _home(message.client_ref, message.to) or message.conversation_key


def _home(ref: str | None, user: str | None) -> str | None:
    if ref is None or not ref.startswith(_ROUTE):
        return None
    parts = ref[len(_ROUTE) :].split(":")
    channel = next((c for c, letter in _LETTERS.items() if parts[0] == letter), None)
    if len(parts) != 4 or channel is None or not parts[1]:
        return None
    user = parts[2] or user
    return f"{channel.value}:{parts[1]}:{user}" if user else None


# --- carried out locally ------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StepRecord(_Model):
    """A step as the local failover keeps it: the step, and what became of it so far."""

    message: Outbound
    when: Condition | None = None
    within: float | None = None
    ref: str | None = None
    """The ``client_ref`` of the step's first message, once it was handed over for sending."""
    sent_at: float | None = None
    status: DeliveryStatus | None = None
    error: ProviderError | None = None
    reason: str = ""

    @property
    def channel(self) -> Channel:
        return self.message.channel

    def outcome(self) -> FailoverStep:
        return FailoverStep(
            channel=self.channel, status=self.status, error=self.error, reason=self.reason
        )


class FailoverRecord(_Model):
    """One message with a failover policy, as kept with its conversation: every step, the one
    in progress (``current``), and once it ended (``ended_at``) the channel that succeeded.
    Stored as the pending failover timer's data while it runs, and among the conversation's
    message records under :func:`record_id` for the inspector."""

    id: str
    started_at: float
    current: int = 0
    steps: tuple[StepRecord, ...]
    ended_at: float | None = None
    channel: Channel | None = None

    def outcome(self) -> FailoverOutcome:
        return FailoverOutcome(
            id=self.id, channel=self.channel, steps=tuple(s.outcome() for s in self.steps)
        )


def record_id(message_id: str) -> str:
    """The message record id of the failover of the message ``message_id``."""
    return FAILOVER_RECORD + message_id


def timer_key(message_id: str) -> str:
    return FAILOVER_PREFIX + message_id


def arm(steps: Sequence[Step], plan: Plan, now: float) -> PendingTimer:
    """The pending failover of a reply whose steps are ``steps`` and whose first step the
    channel rules made into ``plan``, committed with the reply at ``now``: the timer of the
    first step's expiry."""
    first = steps[0]
    records = [
        StepRecord(message=step.message, when=step.when, within=step.within) for step in steps
    ]
    records[0] = records[0].model_copy(
        update={
            "ref": plan.messages[0].effective_client_ref,
            "sent_at": now,
            "status": DeliveryStatus.SUBMITTED,
        }
    )
    record = FailoverRecord(id=first.message.id, started_at=now, steps=tuple(records))
    return _timer(record, now + (first.within or LAST_STEP_WAIT))


def _timer(record: FailoverRecord, at: float) -> PendingTimer:
    return new_timer(timer_key(record.id), at, record.model_dump_json(exclude_none=True))


@dataclass(frozen=True)
class Advance:
    """What a failover made of an event, before the bot's handlers see it: the conversation
    with its failover timers and outbox moved on, the records to write, what happened in
    words, and the event the bot gets next (None when the event was the failover's own and
    nothing is left for the bot)."""

    conversation: Conversation
    records: Mapping[str, str]
    notes: tuple[str, ...]
    event: Event | None


def advance(event: Event, conversation: Conversation, facts: Facts) -> Advance | None:
    """Move the conversation's failovers on by ``event``; None when it concerns none.

    - A status of a step's message that meets the step's condition ends the message there
      (the fallback pending for it is cancelled); ``rejected``/``undeliverable`` sends the
      next step at once. A status of a step already left behind (a late ``read``) is
      recorded, nothing more.
    - A pending failover's timer falling due sends the next step (the one in progress still
      waiting in the outbox waits its time again, from now).
    - A failover that ended comes back, from a timer due at once, as the ``WORKFLOW`` event
      with its :class:`~botkit.events.FailoverOutcome` for the bot's handlers.
    """
    content = event.content
    if event.kind is EventKind.TIMER and isinstance(content, Timer):
        if not content.key.startswith(FAILOVER_PREFIX):
            return None
        record = FailoverRecord.model_validate(content.data)
        if record.ended_at is not None:
            return Advance(conversation, {}, (), _outcome_event(record, event))
        return _expired(record, conversation, facts)
    if event.kind is EventKind.STATUS and event.status is not None and event.client_ref:
        return _status(event, conversation, facts)
    return None


def _status(event: Event, conversation: Conversation, facts: Facts) -> Advance | None:
    assert event.status is not None
    for key, timer in conversation.timers.items():
        if not key.startswith(FAILOVER_PREFIX) or timer.data is None:
            continue
        if (
            event.client_ref is None or event.client_ref not in timer.data
        ):  # cheap: most statuses concern no failover
            continue
        record = FailoverRecord.model_validate_json(timer.data)
        index = next((i for i, s in enumerate(record.steps) if s.ref == event.client_ref), None)
        if index is None:
            continue
        return _on_status(record, index, event, conversation, facts)
    return None


def _on_status(
    record: FailoverRecord, index: int, event: Event, conversation: Conversation, facts: Facts
) -> Advance:
    assert event.status is not None
    status, error = event.status.status, event.status.error
    step = record.steps[index]
    known = step.status
    forward = known is None or status.rank > known.rank or status in _FAILED
    updated = step.model_copy(
        update={"status": status if forward else known, "error": error or step.error}
    )
    now = facts.now
    name = step.channel.value
    if index < record.current or record.ended_at is not None:
        late = f"{status.value} came after the message had moved on"
        if late not in updated.reason:
            updated = updated.model_copy(update={"reason": f"{updated.reason}; {late}"})
        return _kept(
            _with_step(record, index, updated), conversation, (f"failover: {name} {late}",)
        )
    wanted = _REACHED[step.when or "delivered"]
    if status in wanted:
        updated = updated.model_copy(update={"reason": f"{status.value} in time"})
        done = _with_step(record, index, updated)
        note = f"failover: {name} {status.value}; the message ends there"
        return _ended(done, step.channel, conversation, now, (note,))
    if status in _FAILED:
        updated = updated.model_copy(update={"reason": _refusal(status, error)})
        moved = _with_step(record, index, updated)
        return _next(moved, index, conversation, facts, f"failover: {name} {updated.reason}")
    return _kept(_with_step(record, index, updated), conversation, ())


def _expired(record: FailoverRecord, conversation: Conversation, facts: Facts) -> Advance:
    index = record.current
    step = record.steps[index]
    now = facts.now
    if any(entry.message.effective_client_ref == step.ref for entry in conversation.outbox):
        # Not handed to the provider yet (a send being retried): its time counts from now.
        waited = replace(
            conversation,
            timers={**conversation.timers, timer_key(record.id): _timer(record, now + _wait(step))},
        )
        return Advance(waited, {}, (f"failover: {step.channel.value} not sent yet; waiting",), None)
    if step.when is None:
        updated = step.model_copy(update={"reason": "no delivery report in time"})
        done = _with_step(record, index, updated)
        note = f"failover: {step.channel.value} never reported delivered; the message ends"
        return _ended(done, None, conversation, now, (note,))
    reason = f"not {step.when} within {_duration(step.within or 0.0)}"
    moved = _with_step(record, index, step.model_copy(update={"reason": reason}))
    return _next(moved, index, conversation, facts, f"failover: {step.channel.value} {reason}")


def _next(
    record: FailoverRecord, index: int, conversation: Conversation, facts: Facts, note: str
) -> Advance:
    """Send the first step after ``index`` the channel's rules let go; end the message when
    none is left."""
    notes = [note]
    now = facts.now
    for later in range(index + 1, len(record.steps)):
        step = record.steps[later]
        try:
            plan = apply_rules(step.message, _facts_on(step.channel, facts, conversation.key))
        except ChannelRuleError as exc:
            error = ProviderError(title=type(exc).__name__, detail=str(exc))
            refused = step.model_copy(
                update={
                    "status": DeliveryStatus.REJECTED,
                    "error": error,
                    "reason": f"refused by the channel rules: {exc}",
                    "sent_at": now,
                }
            )
            record = _with_step(record, later, refused)
            notes.append(f"failover: {step.channel.value} refused by its rules ({error.title})")
            continue
        sent = step.model_copy(
            update={
                "ref": plan.messages[0].effective_client_ref,
                "sent_at": now,
                "status": DeliveryStatus.SUBMITTED,
            }
        )
        record = _with_step(record, later, sent).model_copy(update={"current": later})
        outbox = conversation.outbox + tuple(OutboxEntry(m) for m in plan.messages)
        timers = {**conversation.timers, timer_key(record.id): _timer(record, now + _wait(sent))}
        moved = replace(conversation, outbox=outbox, timers=timers)
        notes.append(f"failover: sending on {step.channel.value}")
        return Advance(moved, {record_id(record.id): record.model_dump_json()}, tuple(notes), None)
    return _ended(record, None, conversation, now, (*notes, "failover: every step failed"))


def _ended(
    record: FailoverRecord,
    channel: Channel | None,
    conversation: Conversation,
    now: float,
    notes: tuple[str, ...],
) -> Advance:
    """The message ended: its pending timer becomes one due at once, which brings the outcome
    to the bot in a turn of its own (committed with this one, so it comes exactly once)."""
    steps = tuple(
        s.model_copy(update={"reason": "not needed"}) if s.sent_at is None and not s.reason else s
        for s in record.steps
    )
    done = record.model_copy(update={"ended_at": now, "channel": channel, "steps": steps})
    timers = {**conversation.timers, timer_key(done.id): _timer(done, now)}
    ended = replace(conversation, timers=timers)
    return Advance(ended, {record_id(done.id): done.model_dump_json()}, notes, None)


def _kept(record: FailoverRecord, conversation: Conversation, notes: tuple[str, ...]) -> Advance:
    """The failover keeps waiting as it was, with what it learnt recorded."""
    key = timer_key(record.id)
    timer = conversation.timers[key]
    timers = {**conversation.timers, key: replace(timer, data=record.model_dump_json())}
    kept = replace(conversation, timers=timers)
    return Advance(kept, {record_id(record.id): record.model_dump_json()}, notes, None)


def _outcome_event(record: FailoverRecord, timer: Event) -> Event:
    """The outcome event of ``record``, from the event of the timer that brought it."""
    update = {"kind": EventKind.WORKFLOW, "raw": {"failover": record.id}}
    return timer.model_copy(update={**update, "content": record.outcome()})


def _with_step(record: FailoverRecord, index: int, step: StepRecord) -> FailoverRecord:
    steps = list(record.steps)
    steps[index] = step
    return record.model_copy(update={"steps": tuple(steps)})


def _wait(step: StepRecord) -> float:
    return step.within if step.when is not None and step.within is not None else LAST_STEP_WAIT


def _refusal(status: DeliveryStatus, error: ProviderError | None) -> str:
    if error is None:
        return status.value
    code = f" {error.code}" if error.code is not None else ""
    return f"{status.value}{code} ({error.title})"


def _duration(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def read_failovers(stored: Mapping[str, str]) -> list[FailoverRecord]:
    """The failover records among a conversation's stored records, oldest first."""
    found = [
        FailoverRecord.model_validate_json(text)
        for key, text in stored.items()
        if key.startswith(FAILOVER_RECORD)
    ]
    return sorted(found, key=lambda r: r.started_at)


def data_of(timer: PendingTimer) -> FailoverRecord | None:
    """The failover a pending timer stands for; None for any other timer."""
    if not timer.key.startswith(FAILOVER_PREFIX) or timer.data is None:
        return None
    return FailoverRecord.model_validate(json.loads(timer.data))
