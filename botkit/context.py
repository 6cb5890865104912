"""The context a handler receives: the event, the conversation, and the means to answer.

Nothing a handler does through its context leaves the process while the handler runs: replies
are collected, state changes and data edits are made on a copy. When the handler returns, the
runtime commits all of it in one atomic step with the "event consumed" mark, then sends the
replies. If the handler raises, none of it happened.

Timers are the same: ``await ctx.schedule(key, after=timedelta(hours=1))`` and
``await ctx.cancel(key)`` change the conversation's pending timers, committed with the turn (see
:mod:`botkit.timers`).

Every ``reply``, ``send``, ``trigger``, ``schedule`` and ``cancel`` must be awaited. One that
is not is caught when the handler returns: the turn fails with :class:`NotAwaited`, naming the
line, instead of a reply silently going missing (type checkers catch it earlier with mypy's
``unused-awaitable`` code).
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from botkit.channels.rules import Facts, Plan, apply_rules
from botkit.conversation import Conversation, PendingTimer
from botkit.dispatch import workflow_message
from botkit.errors import BotkitError
from botkit.events import Channel, Event, Text
from botkit.failover import Fallback, Step, arm, steps_of
from botkit.handlers import Match
from botkit.machine import BotMachine, TurnModel
from botkit.outbound import (
    Button,
    Choices,
    ChoiceStyle,
    MessengerOptions,
    MmsOptions,
    Outbound,
    OutboundContent,
    SmsOptions,
    ViberOptions,
    WhatsAppOptions,
    as_buttons,
)
from botkit.settings import sender_variable
from botkit.timers import check_key, due_at, encode_data, new_timer

DataT = TypeVar("DataT")
_T = TypeVar("_T")

Load = Callable[[str], Awaitable[Conversation | None]]
"""Reads a conversation by its key from the store (the runtime's ``store.load``)."""


class NotAwaited(BotkitError):
    """A ``ctx`` call that returns an awaitable was never awaited."""


class User:
    """A person on one channel: ``address`` is their number or page-scoped id."""

    __slots__ = ("address", "channel")

    def __init__(self, channel: Channel, address: str) -> None:
        self.channel = channel
        self.address = address

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, User)
            and other.channel == self.channel
            and other.address == self.address
        )

    def __hash__(self) -> int:
        return hash((self.channel, self.address))

    def __repr__(self) -> str:
        return f"User({self.channel.value!r}, {self.address!r})"


class _Tracked(Awaitable[_T]):
    """An awaitable that remembers where it was made and whether it was awaited."""

    __slots__ = ("_coro", "awaited", "what", "where")

    def __init__(self, coro: Coroutine[Any, Any, _T], what: str) -> None:
        self._coro = coro
        self.what = what
        # 0 is here, 1 Context._track, 2 the ctx method, 3 the handler that called it.
        frame = sys._getframe(3)
        self.where = f"{frame.f_code.co_filename}:{frame.f_lineno}"
        self.awaited = False

    def __await__(self) -> Generator[Any, None, _T]:
        self.awaited = True
        return self._coro.__await__()

    def discard(self) -> None:
        self._coro.close()


class Context(Generic[DataT]):
    """What a handler gets. See the module docstring for when its effects happen."""

    def __init__(
        self,
        event: Event,
        *,
        state: str,
        data: DataT,
        machine: BotMachine,
        bot: Any,
        facts: Facts,
        timers: Mapping[str, PendingTimer] | None = None,
        load: Load | None = None,
        key: str | None = None,
    ) -> None:
        self.event = event
        self.data: DataT = data
        """The conversation's data: edit it in place; it is saved with the turn."""
        self.match: Match | None = None
        """Why the running handler matched (the regular expression's groups, for one)."""
        self.reason: str | None = None
        """For a fallback handler: why it runs, in words."""
        self.replies: list[Outbound] = []
        self.plans: list[Plan] = []
        """What the channel rules made of each message, in order (notes say what changed)."""
        self.triggers: list[str] = []
        """The triggers this handler fired, in order."""
        self.facts = facts
        """What the channel rules know of this conversation (window, whether the user wrote)."""
        self.offered: tuple[Button, ...] | None = None
        """The choices this turn's last reply with choices offered (None: no reply offered
        any); the next message picks from them."""
        self.timers: dict[str, PendingTimer] = dict(timers or {})
        self._key = key or event.conversation_key
        """The conversation this turn runs on (a status of a fallback's SMS runs on the
        conversation whose reply it falls back from, not on its own channel's)."""
        """The conversation's pending timers by key, as this turn leaves them so far (the one
        that fell due, if this turn handles a timer, is no longer among them)."""
        self._machine = machine
        self._bot = bot
        self._load = load
        self._tracked: list[_Tracked[Any]] = []
        self._turn = TurnModel(state, bot, self)

    # --- who and where ---------------------------------------------------------------------

    @property
    def user(self) -> User:
        """The person this conversation is with."""
        if self.event.user is None:
            raise LookupError("this event names no user")
        return User(self.event.channel, self.event.user)

    @property
    def state(self) -> str:
        """The conversation's current state (it changes as triggers fire)."""
        return self._turn.state

    @property
    def text(self) -> str:
        """The text the user sent (a button's title for a button reply), else ``""``."""
        return self.event.text or ""

    # --- effects -----------------------------------------------------------------------------

    def reply(
        self,
        content: str | OutboundContent,
        *,
        buttons: Choices | None = None,
        style: ChoiceStyle = "buttons",
        list_title: str | None = None,
        reply_to: str | None = None,
        client_ref: str | None = None,
        webhook_url: str | None = None,
        whatsapp: WhatsAppOptions | None = None,
        messenger: MessengerOptions | None = None,
        viber: ViberOptions | None = None,
        sms: SmsOptions | None = None,
        mms: MmsOptions | None = None,
        failover: Sequence[Fallback] | None = None,
    ) -> Awaitable[Plan]:
        """Answer the user on their channel, from the address they wrote to.

        ``buttons`` offers choices (plain titles, ``(id, title)`` pairs or :class:`Button`),
        shown as ``style`` where the channel can, as numbered options where it cannot. On
        every channel the user may tap a choice, type its title or type its position ("2"):
        each arrives as the same :class:`~botkit.ButtonReply`. So a choice whose id or title is
        a whole number naming another choice's position (ids "2", "4", "6") is refused here
        with a ``ValueError``: "2" could mean either. The
        channel's rules apply at once: the await raises a
        :class:`~botkit.channels.errors.ChannelRuleError` (such as ``WindowClosed``) for a
        message the channel would refuse, and otherwise returns the :class:`Plan` -- what will
        be sent, and in words what was changed to fit the channel. Nothing is sent before the
        turn commits. ``webhook_url`` sends this message's statuses there instead of to the
        application's status URL (a pydantic ``ValidationError`` naming it, at once, for what
        is no ``http(s)://`` URL; a ``ValueError`` with ``failover``, which needs the
        statuses); the options (``whatsapp``, ``messenger``, ``viber``, ``sms``, ``mms``)
        apply on their own channel only.

        ``failover`` sends the message again on other channels when it is not delivered or
        read in time (a list of :class:`~botkit.failover.Fallback`; None takes the bot class's
        ``fallbacks`` for the channel, ``[]`` none): see :mod:`botkit.failover`. Every step is
        checked here: a step on a channel where the bot has no address raises LookupError, a
        user the step's channel cannot reach without an explicit ``to`` ValueError, content the
        step's channel refuses its :class:`~botkit.channels.errors.ChannelRuleError`, each
        naming the step and what to set. With ``BOTKIT_FAILOVER=provider`` the message and its
        fallbacks go as one Dispatch API workflow, and ValueError names the argument for what
        only the provider limits (see :func:`botkit.dispatch.workflow_message`).
        """
        if self.event.user is None or self.event.bot is None:
            raise LookupError("this event names no user to reply to")
        message = _outbound(
            self.event.channel,
            self.event.user,
            self.event.bot,
            content,
            buttons=buttons,
            style=style,
            list_title=list_title,
            reply_to=reply_to,
            client_ref=client_ref,
            webhook_url=webhook_url,
            whatsapp=whatsapp,
            messenger=messenger,
            viber=viber,
            sms=sms,
            mms=mms,
        )
        offered = tuple(b for b in message.buttons if not b.is_link)
        _check_positions(offered)
        if failover is None:
            failover = self._bot.fallbacks.get(message.channel, ())
        if failover and webhook_url is not None:
            raise ValueError(
                "webhook_url sends this message's statuses away from the bot, and failover "
                "needs them to know whether it was delivered or read: give one or the other"
            )
        if failover:
            home = self._key
            assert home is not None
            steps = steps_of(message, failover, self.facts, home)
            self.offered = offered or self.offered
            if self.facts.failover == "provider":
                first, plan = workflow_message(steps, self.facts, home)
                return self._track(self._queue_planned(first, plan), "ctx.reply(..., failover=...)")
            return self._track(self._queue_failover(steps), "ctx.reply(..., failover=...)")
        self.offered = offered or self.offered
        return self._track(self._reply(message), "ctx.reply(...)")

    def send(
        self,
        to: User,
        content: str | OutboundContent,
        *,
        buttons: Choices | None = None,
        style: ChoiceStyle = "buttons",
        client_ref: str | None = None,
        webhook_url: str | None = None,
        whatsapp: WhatsAppOptions | None = None,
        messenger: MessengerOptions | None = None,
        viber: ViberOptions | None = None,
        sms: SmsOptions | None = None,
        mms: MmsOptions | None = None,
    ) -> Awaitable[Plan]:
        """Send to another user, from the bot's address on their channel (the address this
        event came to when the channel is the same). The channel's rules judge it by that
        user's own conversation: their window and whether they have written (a user who never
        wrote gets only what may go first, such as a template on WhatsApp; see the bot's
        ``templates``). Sent after the turn commits, like a reply; its message record is kept
        with that user's conversation, where their statuses update it."""
        if to == self.user:
            return self.reply(
                content,
                buttons=buttons,
                style=style,
                client_ref=client_ref,
                webhook_url=webhook_url,
                whatsapp=whatsapp,
                messenger=messenger,
                viber=viber,
                sms=sms,
                mms=mms,
            )
        own = self.facts.senders_on(to.channel)
        sender = (
            self.event.bot
            if to.channel == self.event.channel and self.event.bot
            else own[0]
            if own
            else None
        )
        if sender is None:
            raise LookupError(
                f"no bot address is configured for {to.channel.value}, so it cannot send there: "
                f'set the bot class\'s senders ({{Channel.{to.channel.name}: "<address>"}}) or '
                f"the {sender_variable(to.channel.value)} setting"
            )
        message = _outbound(
            to.channel,
            to.address,
            sender,
            content,
            buttons=buttons,
            style=style,
            client_ref=client_ref,
            webhook_url=webhook_url,
            whatsapp=whatsapp,
            messenger=messenger,
            viber=viber,
            sms=sms,
            mms=mms,
        )
        return self._track(self._queue_to(message), "ctx.send(...)")

    def trigger(self, name: str, **kwargs: Any) -> Awaitable[None]:
        """Fire transition ``name``: exit and enter callbacks run, in order, before the await
        returns. A trigger not valid in the current state raises
        :class:`~botkit.machine.InvalidTrigger`, which sends the event to the fallback handler
        with the reason (the handler's effects are dropped)."""
        self.triggers.append(name)
        return self._track(self._machine.fire(self._turn, name, **kwargs), f"ctx.trigger({name!r})")

    def schedule(
        self,
        key: str,
        *,
        after: timedelta | float | None = None,
        at: datetime | None = None,
        data: Any = None,
    ) -> Awaitable[None]:
        """Make a timer ``key`` fall due ``after`` from now (a :class:`~datetime.timedelta`, or
        seconds) or ``at`` a time (an aware :class:`~datetime.datetime`), with ``data`` (any
        JSON value) for its handler. It reaches ``@on.timer(key)`` handlers as an event of its
        own kind, with ``ctx.event.content.key`` and ``ctx.event.content.data``.

        A key already pending is replaced. Committed with the turn: if the handler raises,
        nothing is scheduled. A time already past falls due at once. Raises (in the handler)
        TypeError unless exactly one of ``after``/``at`` is given or when ``data`` cannot be
        written as JSON, and ValueError for a negative ``after``, a naive ``at``, either more
        than a year ahead, a bad ``key`` or ``data`` over 16 KiB, each naming the argument.
        """
        check_key(key)
        when = due_at(self.facts.now, after, at)
        timer = new_timer(key, when, encode_data(data))
        return self._track(self._set_timer(timer), f"ctx.schedule({key!r}, ...)")

    def cancel(self, key: str) -> Awaitable[bool]:
        """Cancel the pending timer ``key``; True when there was one. Committed with the turn,
        like :meth:`schedule`."""
        check_key(key)
        return self._track(self._drop_timer(key), f"ctx.cancel({key!r})")

    async def _set_timer(self, timer: PendingTimer) -> None:
        self.timers[timer.key] = timer

    async def _drop_timer(self, key: str) -> bool:
        return self.timers.pop(key, None) is not None

    async def _queue_failover(self, steps: Sequence[Step]) -> Plan:
        plan = await self._reply(steps[0].message)
        timer = arm(steps, plan, self.facts.now)
        self.timers[timer.key] = timer
        return plan

    async def _queue_to(self, message: Outbound) -> Plan:
        """Queue ``message`` to another user with the facts of that user's conversation."""
        known = await self._load(message.conversation_key) if self._load is not None else None
        last = known.last_inbound_at if known is not None else None
        facts = replace(
            self.facts,
            last_inbound_at=last,
            user_has_written=last is not None,
            bot_has_written=False,
        )
        return await self._queue(message, facts)

    async def _reply(self, message: Outbound) -> Plan:
        plan = await self._queue(message, self.facts)
        if plan.messages and not self.facts.bot_has_written:
            self.facts = replace(self.facts, bot_has_written=True)
        return plan

    async def _queue_planned(self, message: Outbound, plan: Plan) -> Plan:
        self.replies.append(message)
        self.plans.append(plan)
        if not self.facts.bot_has_written:
            self.facts = replace(self.facts, bot_has_written=True)
        return plan

    async def _queue(self, message: Outbound, facts: Facts) -> Plan:
        plan = apply_rules(message, facts)
        self.replies.extend(plan.messages)
        self.plans.append(plan)
        return plan

    def _track(self, coro: Coroutine[Any, Any, _T], what: str) -> Awaitable[_T]:
        tracked = _Tracked(coro, what)
        self._tracked.append(tracked)
        return tracked

    def check_awaited_quietly(self) -> None:
        """Close effects never awaited, without complaint (the turn failed anyway)."""
        for tracked in self._tracked:
            if not tracked.awaited:
                tracked.discard()

    def check_awaited(self) -> None:
        """Raise :class:`NotAwaited` for the first effect that was never awaited."""
        missed = [t for t in self._tracked if not t.awaited]
        for tracked in missed:
            tracked.discard()
        if missed:
            first = missed[0]
            raise NotAwaited(
                f"{first.what} at {first.where} was never awaited, so it did nothing; "
                f"write 'await {first.what}'"
            )


def _check_positions(choices: tuple[Button, ...]) -> None:
    """Refuse choices where a typed number could mean a position or an id/title."""
    for position, choice in enumerate(choices, 1):
        for what, value in (("id", choice.id), ("title", choice.title)):
            number = value.strip()
            if number.isdigit() and 1 <= int(number) <= len(choices) and int(number) != position:
                raise ValueError(
                    f"choice {position} has the {what} {value!r}, but a user typing {number} "
                    f"picks choice {number} ({choices[int(number) - 1].title!r}): give ids "
                    f"that are not numbers (such as 'n{number}'), or order the choices so "
                    "that each number is its own position"
                )


def _outbound(
    channel: Channel,
    to: str,
    sender: str,
    content: str | OutboundContent,
    *,
    buttons: Choices | None,
    style: ChoiceStyle,
    list_title: str | None = None,
    reply_to: str | None = None,
    client_ref: str | None,
    webhook_url: str | None,
    whatsapp: WhatsAppOptions | None,
    messenger: MessengerOptions | None,
    viber: ViberOptions | None,
    sms: SmsOptions | None,
    mms: MmsOptions | None,
) -> Outbound:
    return Outbound(
        channel=channel,
        to=to,
        sender=sender,
        content=Text(text=content) if isinstance(content, str) else content,
        buttons=as_buttons(buttons),
        choice_style=style,
        list_title=list_title,
        reply_to=reply_to,
        client_ref=client_ref,
        webhook_url=webhook_url,
        whatsapp=whatsapp,
        messenger=messenger,
        viber=viber,
        sms=sms,
        mms=mms,
    )
