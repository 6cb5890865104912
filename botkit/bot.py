"""Bots are Python classes that read top to bottom like the conversation they hold.

A bot declares its states and transitions on the class (the ``transitions`` format) and its
handlers as async methods decorated with :data:`~botkit.on`::

    class Order(BaseModel):
        size: str | None = None

    class PizzaBot(Bot[Order]):
        states = ["start", "size", "done"]
        transitions = [["begin", "start", "size"], ["pick", "size", "done"]]

        @on.text(state="start", then="begin")
        async def greet(self, ctx: Context[Order]) -> None:
            await ctx.reply("Which size?", buttons=["S", "M", "L"])

        @on.button("S", "M", "L", state="size", then="pick")
        async def size(self, ctx: Context[Order]) -> None:
            ctx.data.size = ctx.event.content.id

The class is checked when Python creates it (:mod:`botkit.definition`): a handler bound to a
state the class does not have, a ``then`` naming a trigger that does not exist, an
``on_enter_<state>`` for an unknown state, a class setting of the wrong kind (a ``templates``
value that is not a :class:`~botkit.Template`, say) all raise :class:`BotDefinitionError`
naming the file and line to fix.

A bot may also act later: handlers schedule timers (``await ctx.schedule(...)``, handled by
``@on.timer``), and the class's ``timeouts`` make a state fire a trigger by itself when the
conversation stays in it too long (:class:`~botkit.timers.Timeout`).

One turn (what happens to one event) is :meth:`Bot.take_turn`; the runtime saves its outcome.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from botkit.channels.capabilities import ApiVersion
from botkit.channels.errors import ChannelRuleError
from botkit.channels.facts import ChannelSetup
from botkit.channels.rules import Facts, apply_rules, resolve_numbered_reply
from botkit.context import Context, Load
from botkit.conversation import Conversation, OutboxEntry, PendingTimer
from botkit.definition import ClassSite, class_site, define
from botkit.events import ButtonReply, Channel, Event, EventKind, Text, Timer
from botkit.failover import Fallback, advance
from botkit.handlers import HandlerSpec
from botkit.log import get_logger
from botkit.machine import BotMachine, InvalidTrigger, TransitionSpec
from botkit.outbound import Button, Outbound, Template
from botkit.store.base import StoreUnavailable
from botkit.timers import TIMEOUT_PREFIX, Timeout, new_timer, timeout_key

__all__ = ["Bot", "TurnOutcome"]

log = get_logger("botkit.bot")

DataT = TypeVar("DataT")


Outcome = Literal["handled", "fallback", "ignored", "failed"]


@dataclass
class TurnOutcome:
    """What one event did: the conversation to commit and the replies this turn added to it.

    ``conversation`` is the conversation after the event: its state and data, the current
    ``version``, one more ``revision``, the user's last message, the choices a title or number
    typed next picks from, and its outbox with ``replies`` appended. ``outcome`` is
    ``handled``, ``fallback`` (no handler, or an invalid trigger), ``ignored`` (nothing to run)
    or ``failed`` (the handler raised: state and data are the ones before it, and ``replies``
    holds only the bot's apology, if it has one). ``triggers`` are the transitions the handler
    fired, ``notes`` what the channel rules changed in its replies (and, for a fallback, why
    it ran).
    """

    conversation: Conversation
    replies: list[Outbound] = field(default_factory=list)
    outcome: Outcome = "handled"
    handler: str | None = None
    error: BaseException | None = None
    triggers: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    records: Mapping[str, str] = field(default_factory=dict)
    """Message records to write with the turn (a failover's, when the event moved one on)."""

    @property
    def state(self) -> str:
        """The state after the event."""
        return self.conversation.state or ""

    @property
    def data(self) -> str:
        """The data after the event, JSON text."""
        return self.conversation.data or ""


@dataclass(frozen=True)
class _Attempt:
    """One event being handled on a conversation, with what the channel rules know."""

    event: Event
    facts: Facts
    before: Conversation
    version: int
    load: Load | None = None

    def outcome(
        self,
        state: str,
        data: str,
        replies: Sequence[Outbound] = (),
        outcome: Outcome = "handled",
        handler: str | None = None,
        error: BaseException | None = None,
        choices: tuple[Button, ...] | None = None,
        timers: Mapping[str, PendingTimer] | None = None,
    ) -> TurnOutcome:
        """The outcome, with the conversation after it (``choices`` and ``timers`` None keep
        the stored)."""
        before = self.before
        after = replace(
            before,
            state=state,
            data=data,
            version=self.version,
            revision=before.revision + 1,
            last_inbound_at=self.facts.last_inbound_at,
            choices=before.choices if choices is None else choices,
            outbox=before.outbox + tuple(OutboxEntry(message) for message in replies),
            timers=before.timers if timers is None else timers,
        )
        return TurnOutcome(after, list(replies), outcome, handler, error)


def _done(
    turn: _Attempt,
    ctx: Context[Any],
    data: str,
    outcome: Outcome,
    handler: str,
    before: str,
    timeouts: Mapping[str, Timeout],
) -> TurnOutcome:
    """A finished turn that began in state ``before``. The choices its replies offered are what
    the user picks from next; a turn that offered none keeps the previous ones, unless it
    changed the state. The state timeouts are armed and disarmed as the state it leaves the
    conversation in asks."""
    choices = ctx.offered
    if choices is None and ctx.state != before:
        choices = ()
    timers = _with_timeouts(ctx.timers, timeouts, before, ctx.state, turn)
    done = turn.outcome(
        ctx.state, data, ctx.replies, outcome, handler, choices=choices, timers=timers
    )
    notes = [note for plan in ctx.plans for note in plan.notes]
    if ctx.reason is not None:
        notes.insert(0, f"fallback: {ctx.reason}")
    return replace(done, triggers=tuple(ctx.triggers), notes=tuple(notes))


def _with_timeouts(
    timers: dict[str, PendingTimer],
    timeouts: Mapping[str, Timeout],
    before: str,
    after: str,
    turn: _Attempt,
) -> dict[str, PendingTimer]:
    """``timers`` with the state timeouts a turn from ``before`` to ``after`` arms or disarms:
    leaving a state disarms its timeout; entering one arms it (so does being in it without
    one armed, as a conversation that starts there is); a message from the user re-arms it
    when its :attr:`~botkit.timers.Timeout.rearm` says so."""
    if not timeouts:
        return timers
    if before != after:
        timers.pop(timeout_key(before), None)
    timeout = timeouts.get(after)
    if timeout is not None:
        key = timeout_key(after)
        message = turn.event.kind is EventKind.MESSAGE
        if before != after or key not in timers or (timeout.rearm and message):
            at = turn.facts.now + timeout.duration.total_seconds()
            timers[key] = new_timer(key, at, None)
    return timers


def _picked_choice(event: Event, offered: Sequence[Button]) -> Event:
    """``event`` as the choice it picks when it is a text naming one of the choices ``offered``
    last: its title or its id (ignoring case and surrounding blanks), or its position
    (``"2"``, ``"#2"``, ``"2."``). The reply's title is the choice's."""
    if not offered or event.kind is not EventKind.MESSAGE or not isinstance(event.content, Text):
        return event
    typed = event.content.text.strip().casefold()
    picked = next((c for c in offered if c.title.strip().casefold() == typed), None) or next(
        (c for c in offered if c.id.strip().casefold() == typed), None
    )
    source: Literal["typed_title", "numbered_option"] = "typed_title"
    if picked is None:
        positions = {str(n): str(n) for n in range(1, len(offered) + 1)}
        position = resolve_numbered_reply(event.content.text, positions)
        if position is None:
            return event
        picked, source = offered[int(position) - 1], "numbered_option"
    button = ButtonReply(id=picked.id, title=picked.title, source=source)
    return event.model_copy(update={"content": button})


@dataclass(frozen=True)
class _Loaded:
    state: str
    data: Any
    notes: tuple[str, ...] = ()


class Bot(Generic[DataT]):
    """Base class of every bot.

    Class attributes a bot may set:

    - ``states`` (default ``["start"]``), ``transitions`` (``transitions``' list format, as
      lists ``[trigger, source, dest]`` or dicts), ``initial`` (default: the first state);
    - ``version``: bump it when states or the data model change incompatibly; records written
      by an older version go through ``renamed_states`` and :meth:`migrate_data`;
    - ``renamed_states``: ``{"old name": "new name"}`` for states that were renamed; a stored
      state the class no longer has and that is not mapped restarts at ``initial`` (logged);
    - ``apology``: sent to the user when a handler raises (None sends nothing);
    - ``senders``: the bot's own address per channel, for :meth:`Context.send` to a channel
      other than the event's; a setting (``VONAGE_WHATSAPP_NUMBER``...) overrides it for its
      channel, and a message from an address that is not the bot's own is refused;
    - ``templates``: approved WhatsApp templates, keyed by the text of the reply each stands
      in for: outside the 24 h window that reply goes as its template, and a reply with no
      template raises ``WindowClosed``;
    - ``unsupported``: ``"degrade"`` (default) turns content a channel cannot carry into what it
      can (an image into caption and link on SMS, buttons into numbered options...);
      ``"refuse"`` raises ``UnsupportedOnChannel`` instead;
    - ``timeouts``: ``{"state": Timeout(minutes=30, trigger="abandon")}``: how long a
      conversation may stay in a state before the trigger fires by itself (see
      :class:`~botkit.timers.Timeout`);
    - ``fallbacks``: ``{Channel.WHATSAPP: [Fallback(Channel.SMS, when="read", within=...)]}``:
      the failover policy of every reply on that channel that passes no ``failover=`` (see
      :mod:`botkit.failover`);
    - ``unclear_replies``: ``{"state": "text", "*": "text"}``: what the bot says to a message
      no handler takes, per state (``"*"``: in every state not listed). A fallback handler for
      the state comes first; ``unclear_replies[state]`` comes before a fallback handler of
      every state, and ``unclear_replies["*"]`` after it;
    - ``read_receipts``: ``True`` marks every WhatsApp message the bot is given read (the
      user sees blue ticks) once its turn is committed, before the replies go; off by
      default. A mark that fails is logged and never fails the turn.

    The data model is the type argument: ``Bot[Order]`` with a pydantic model ``Order`` (data
    validated on load and on save), or plain ``Bot`` for a JSON ``dict``.
    """

    states: ClassVar[Sequence[str]] = ("start",)
    transitions: ClassVar[Sequence[TransitionSpec]] = ()
    initial: ClassVar[str | None] = None
    version: ClassVar[int] = 1
    renamed_states: ClassVar[dict[str, str]] = {}
    apology: ClassVar[str | None] = None
    senders: ClassVar[dict[Channel, str]] = {}
    templates: ClassVar[Mapping[str, Template]] = {}
    unsupported: ClassVar[Literal["degrade", "refuse"]] = "degrade"
    timeouts: ClassVar[Mapping[str, Timeout]] = {}
    fallbacks: ClassVar[Mapping[Channel, Sequence[Fallback]]] = {}
    unclear_replies: ClassVar[Mapping[str, str]] = {}
    read_receipts: ClassVar[bool] = False

    data_model: ClassVar[type[BaseModel] | None] = None
    machine: ClassVar[BotMachine]
    _specs: ClassVar[tuple[HandlerSpec, ...]] = ()
    _defined_at: ClassVar[ClassSite | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._defined_at = class_site()
        definition = define(cls, Bot, cls._defined_at)
        cls.data_model = definition.data_model
        cls._specs = definition.specs
        cls.machine = definition.machine

    # --- loading and saving the conversation's data ----------------------------------------

    def new_data(self) -> Any:
        """Fresh data for a new conversation."""
        return self.data_model() if self.data_model is not None else {}

    def migrate_data(self, data: dict[str, Any], from_version: int) -> dict[str, Any]:
        """Turn data saved by an older ``version`` into the current shape (default: as is)."""
        return data

    def dump_data(self, data: Any) -> str:
        if self.data_model is not None:
            if not isinstance(data, self.data_model):
                raise TypeError(
                    f"{type(self).__name__} data must stay a {self.data_model.__name__}, "
                    f"got {type(data).__name__}"
                )
            return self.data_model.model_validate(data.model_dump()).model_dump_json()
        return json.dumps(data, separators=(",", ":"))

    def _load(self, state: str | None, data: str | None, version: int) -> _Loaded:
        machine = type(self).machine
        notes: list[str] = []
        if state is None:
            return _Loaded(machine.initial, self.new_data())
        if state not in machine.states:
            renamed = self.renamed_states.get(state)
            if renamed in machine.states:
                assert renamed is not None
                state = renamed
            else:
                notes.append(
                    f"stored state {state!r} no longer exists and is not in renamed_states; "
                    f"restarted at {machine.initial!r}"
                )
                state = machine.initial
        try:
            raw = json.loads(data) if data else {}
            if version != self.version and isinstance(raw, dict):
                raw = self.migrate_data(raw, version)
            loaded = self.data_model.model_validate(raw) if self.data_model else raw
            if self.data_model is None and not isinstance(loaded, dict):
                raise ValueError("data is not a JSON object")
        except (ValueError, ValidationError) as exc:
            notes.append(f"stored data no longer validates ({_short(exc)}); started afresh")
            return _Loaded(machine.initial, self.new_data(), tuple(notes))
        return _Loaded(state, loaded, tuple(notes))

    # --- one turn ----------------------------------------------------------------------------

    async def take_turn(
        self,
        event: Event,
        conversation: Conversation,
        facts: Facts | None = None,
        *,
        load: Load | None = None,
    ) -> TurnOutcome:
        """Run the handler ``event`` calls for on ``conversation`` (its stored state and data).

        A text that names one of the choices the user was last offered, by its title, its id
        or its position (``"2"``), arrives as that choice's :class:`~botkit.ButtonReply` on
        every channel, as if tapped: ``ctx.text`` is the choice's title. ``facts`` is what the
        channel rules know (by default: :meth:`channel_setup`'s, at the current time).
        ``load`` reads another conversation from the store, for ``ctx.send`` to judge what
        may go to that user (their window); without it, nothing is known of other users.
        Nothing is saved or sent here: the caller commits the outcome's conversation
        atomically with the "event consumed" mark, then sends its outbox.

        A status of a message with a failover policy, or its failover's timer, moves the
        failover on first (:func:`botkit.failover.advance`), whatever the handlers do after;
        a failover that ended reaches ``@on.failover`` handlers as its outcome event.
        """
        turn = self._attempt(event, conversation, facts, load)
        moved = advance(event, conversation, turn.facts)
        if moved is None:
            return await self._turn(event, conversation, turn.facts, load)
        if moved.event is not None:
            outcome = await self._turn(moved.event, moved.conversation, turn.facts, load)
        else:
            turn = replace(turn, before=moved.conversation)
            loaded, saved = self._stored(moved.conversation)
            outcome = turn.outcome(loaded.state, saved, handler="failover")
        notes = (*moved.notes, *outcome.notes)
        return replace(outcome, records={**moved.records, **outcome.records}, notes=notes)

    def _stored(self, conversation: Conversation) -> tuple[_Loaded, str]:
        """The conversation's state and data as loaded, and its data as it would be saved."""
        state, data, version = conversation.state, conversation.data, conversation.version
        loaded = self._load(state, data, version)
        for note in loaded.notes:
            log.warning("conversation reset", bot=type(self).__name__, detail=note)
        unchanged = data is not None and not loaded.notes and version == self.version
        return loaded, data if unchanged and data is not None else self.dump_data(loaded.data)

    async def _turn(
        self, event: Event, conversation: Conversation, facts: Facts, load: Load | None
    ) -> TurnOutcome:
        event = _picked_choice(event, conversation.choices)
        turn = self._attempt(event, conversation, facts, load)
        loaded, saved_before = self._stored(conversation)
        before = loaded.state

        if _is_timeout(event):
            return await self._time_out(turn, event, before, loaded.data, saved_before)
        spec, match = self._select(event, before)
        if spec is None:
            unhandled = _UNHANDLED.get(event.kind)
            if unhandled is not None:
                message, field = unhandled
                log.warning(
                    message,
                    bot=type(self).__name__,
                    state=before,
                    **{field: getattr(event.content, field, None)},
                )
            if event.kind is not EventKind.MESSAGE:
                return turn.outcome(before, saved_before, outcome="ignored")
            return await self._fallback(
                turn, before, saved_before, f"no handler in state {before!r} for {_describe(event)}"
            )
        ctx = self._context(turn, before, loaded.data)
        ctx.match = match
        try:
            await spec.run(self, ctx)
            if spec.then is not None:
                await ctx.trigger(spec.then)
            ctx.check_awaited()
        except InvalidTrigger as exc:
            ctx.check_awaited_quietly()
            return await self._fallback(turn, before, saved_before, str(exc))
        except StoreUnavailable:
            ctx.check_awaited_quietly()
            raise  # not the handler's fault: the event stays, to be handled once it is back
        except Exception as exc:
            ctx.check_awaited_quietly()
            return self._failed(turn, before, saved_before, spec.name, exc)
        return _done(
            turn, ctx, self.dump_data(ctx.data), "handled", spec.name, before, self.timeouts
        )

    async def _time_out(
        self, turn: _Attempt, event: Event, before: str, data: Any, saved: str
    ) -> TurnOutcome:
        """A state's timeout fell due: fire its trigger if the conversation is still in that
        state (a timeout left behind by a state since left is ignored)."""
        assert isinstance(event.content, Timer)
        state = event.content.key[len(TIMEOUT_PREFIX) :]
        timeout = self.timeouts.get(state)
        if state != before or timeout is None:
            return turn.outcome(before, saved, outcome="ignored")
        ctx = self._context(turn, before, data)
        name = f"timeout of {state!r}"
        act = partial(ctx.trigger, timeout.trigger)
        return await self._run(turn, ctx, act, "handled", name, before, saved)

    def channel_setup(
        self,
        *,
        api_version: ApiVersion = "v1",
        senders: Mapping[Channel, str] | None = None,
        failover: Literal["local", "provider"] = "local",
    ) -> ChannelSetup:
        """What the channel rules know of this bot: its templates and degrade policy, its
        own addresses, the class's ``senders`` overridden channel by channel by ``senders``
        (the settings'), and who carries out failover (``BOTKIT_FAILOVER``)."""
        return ChannelSetup(
            templates=dict(self.templates),
            degrade=self.unsupported,
            api_version=api_version,
            senders={**self.senders, **(senders or {})},
            failover=failover,
        )

    def _attempt(
        self,
        event: Event,
        conversation: Conversation,
        facts: Facts | None,
        load: Load | None = None,
    ) -> _Attempt:
        if facts is None:
            facts = self.channel_setup().facts(conversation, event, time.time())
        return _Attempt(event, facts, conversation, self.version, load)

    def _select(self, event: Event, state: str) -> tuple[HandlerSpec | None, Any]:
        for spec in self._specs:
            if spec.role == "event":
                match = spec.accepts(event, state)
                if match is not None:
                    return spec, match
        return None, None

    async def _fallback(self, turn: _Attempt, state: str, saved: str, reason: str) -> TurnOutcome:
        fallbacks = [s for s in self._specs if s.role == "fallback"]
        found: HandlerSpec | str | None = (
            next((s for s in fallbacks if s.states and state in s.states), None)
            or self.unclear_replies.get(state)
            or next((s for s in fallbacks if s.states is None), None)
            or self.unclear_replies.get("*")
        )
        if found is None:
            log.info("no handler and no fallback", bot=type(self).__name__, reason=reason)
            return turn.outcome(state, saved, outcome="ignored")
        ctx = self._context(turn, state, self._load(state, saved, self.version).data)
        ctx.reason = reason
        act: Callable[[], Awaitable[object]]
        if isinstance(found, str):
            act, name = partial(ctx.reply, found), "unclear_replies"
        else:
            act, name = partial(found.run, self, ctx), found.name
        return await self._run(turn, ctx, act, "fallback", name, state, saved)

    async def _run(
        self,
        turn: _Attempt,
        ctx: Context[Any],
        act: Callable[[], Awaitable[object]],
        outcome: Outcome,
        name: str,
        state: str,
        saved: str,
    ) -> TurnOutcome:
        """Run ``act`` (what ``name`` does in ``ctx``); the turn's ``outcome``, or the
        failed one when it raised or left an effect unawaited."""
        try:
            await act()
            ctx.check_awaited()
        except Exception as exc:
            ctx.check_awaited_quietly()
            return self._failed(turn, state, saved, name, exc)
        return _done(turn, ctx, self.dump_data(ctx.data), outcome, name, state, self.timeouts)

    def _failed(
        self, turn: _Attempt, state: str, saved: str, handler: str | None, exc: BaseException
    ) -> TurnOutcome:
        """The outcome of a turn that failed: nothing changes, the apology (if any) is sent
        where the channel's rules let it go."""
        event = turn.event
        replies: list[Outbound] = []
        if self.apology and event.kind is EventKind.MESSAGE and event.user and event.bot:
            apology = Outbound(
                channel=event.channel,
                to=event.user,
                sender=event.bot,
                content=Text(text=self.apology),
            )
            try:
                replies.extend(apply_rules(apology, turn.facts).messages)
            except ChannelRuleError as refused:
                log.warning("apology not sent", reason=str(refused))
        return turn.outcome(state, saved, replies, "failed", handler, exc)

    def _context(self, turn: _Attempt, state: str, data: Any) -> Context[Any]:
        # Each attempt gets data loaded afresh from the stored text, so a dropped attempt
        # leaves no trace.
        return Context(
            turn.event,
            state=state,
            data=data,
            machine=type(self).machine,
            bot=self,
            facts=turn.facts,
            timers=turn.before.timers,
            load=turn.load,
            key=turn.before.key,
        )

    def failed_turn(
        self,
        event: Event,
        conversation: Conversation,
        error: BaseException,
        facts: Facts | None = None,
    ) -> TurnOutcome:
        """The outcome for a turn that could not finish (it timed out, say): the stored state
        and data stay, and the user gets the apology. A failover the event concerns still
        moves on."""
        turn = self._attempt(event, conversation, facts)
        moved = advance(event, conversation, turn.facts)
        if moved is not None:
            conversation = moved.conversation
            turn = replace(turn, before=conversation)
        loaded = self._load(conversation.state, conversation.data, conversation.version)
        failed = self._failed(turn, loaded.state, self.dump_data(loaded.data), None, error)
        return replace(failed, records=moved.records) if moved is not None else failed

    @classmethod
    def mermaid(cls, current: str | None = None) -> str:
        """The bot's state machine as a Mermaid ``stateDiagram-v2``."""
        return cls.machine.mermaid(title=cls.__name__, current=current)


_UNHANDLED = {
    EventKind.NOTIFICATION: (
        "no handler takes this proactive event: add @on.event(name) for it",
        "name",
    ),
    EventKind.TIMER: ("no handler takes this timer: add @on.timer(key) for it", "key"),
}
"""Events of the bot's own making that no handler took: what to log, and the content's field
that names them."""


def _is_timeout(event: Event) -> bool:
    return isinstance(event.content, Timer) and event.content.key.startswith(TIMEOUT_PREFIX)


def _describe(event: Event) -> str:
    if event.content is None:
        return event.kind.value
    if event.text is not None:
        return f"{event.content.type} {event.text[:40]!r}"
    return event.content.type


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()
    return text[0][:200] if text else type(exc).__name__
