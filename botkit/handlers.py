"""Handler decorators: what arrived, in which state, and what happens next.

Each decorator marks an ``async def handler(self, ctx)`` method of a :class:`~botkit.Bot` with a
:class:`HandlerSpec`. A message handler may take the message's content as a third argument,
typed with its class (``where: Location``, or ``media: Image | Video``): the handler then
accepts only that content, and gets it typed, with no ``isinstance`` check to write.

The bot class collects the specs when it is created and checks them against its states and
transitions, so a typo in a state or trigger name fails at import, naming the line.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from botkit.events import (
    ButtonReply,
    Content,
    DeliveryStatus,
    Event,
    EventKind,
    FailoverOutcome,
    Notification,
    Text,
    Timer,
)
from botkit.outbound import Button, Choices, as_buttons
from botkit.timers import check_key

HandlerFunc = Callable[..., Awaitable[None]]
"""``async def handler(self, ctx: Context) -> None``, or with a third argument typed with a
content class: ``async def handler(self, ctx: Context, where: Location) -> None``"""
_F = TypeVar("_F", bound=HandlerFunc)

Role = Literal["event", "fallback", "enter", "exit"]


@dataclass(frozen=True)
class Match:
    """Why a handler accepted an event: for a regular expression, its match (groups)."""

    regex: re.Match[str] | None = None


@dataclass(frozen=True)
class Ask:
    """A question the bot asks on entering a state: ``text`` (``{field}`` names a field of the
    conversation's data) and the ``choices`` it offers."""

    text: str
    choices: tuple[Button, ...]

    def render(self, data: Any) -> str:
        """The text with the data's fields (attributes, or keys of a ``dict``) filled in."""
        return self.text.format_map(_Fields(data))


class _Fields(dict[str, Any]):
    def __init__(self, data: Any) -> None:
        super().__init__()
        self.data = data

    def __missing__(self, name: str) -> Any:
        if isinstance(self.data, dict):
            return self.data[name]
        return getattr(self.data, name)


@dataclass(frozen=True)
class HandlerSpec:
    """A handler as the bot class sees it."""

    name: str
    role: Role
    states: frozenset[str] | None
    """States the handler is bound to; None means any state."""
    matcher: Callable[[Event], Match | None]
    describes: str
    """What it answers, in words ("text 'yes'")."""
    then: str | None = None
    """A trigger fired after the handler returned."""
    where: str = "?"
    """``file:line`` of the handler, for error messages."""
    content: tuple[type, ...] = ()
    """The content classes of the handler's third argument; empty when it takes none."""
    ask: Ask | None = None
    """For the entering half of :meth:`On.choice`: the question asked instead of calling the
    handler."""

    def accepts(self, event: Event, state: str) -> Match | None:
        if self.states is not None and state not in self.states:
            return None
        if self.content and not isinstance(event.content, self.content):
            return None
        return self.matcher(event)

    def run(self, bot: Any, ctx: Any) -> Awaitable[None]:
        """Call the handler on ``bot``, with the event's content when it takes it."""
        method = getattr(bot, self.name)
        if self.content:
            return method(ctx, ctx.event.content)  # type: ignore[no-any-return]
        return method(ctx)  # type: ignore[no-any-return]


SPEC_ATTRIBUTE = "__botkit_handlers__"


def specs_of(func: object) -> tuple[HandlerSpec, ...]:
    """The specs a method was decorated with (a method may carry several)."""
    specs: tuple[HandlerSpec, ...] = getattr(func, SPEC_ATTRIBUTE, ())
    return specs


def _where(func: Any) -> str:
    try:
        file = inspect.getsourcefile(func) or "?"
        line = inspect.getsourcelines(func)[1]
    except (OSError, TypeError):
        return getattr(func, "__qualname__", "?")
    return f"{file}:{line}"


def _states(state: str | Iterable[str] | None) -> frozenset[str] | None:
    if state is None:
        return None
    if isinstance(state, str):
        return frozenset((state,))
    return frozenset(state)


def _decorator(
    role: Role,
    matcher: Callable[[Event], Match | None],
    describes: str,
    state: str | Iterable[str] | None,
    then: str | None = None,
    ask: Ask | None = None,
) -> Callable[[_F], _F]:
    def decorate(func: _F) -> _F:
        is_async = inspect.iscoroutinefunction(func)
        if not is_async:
            raise TypeError(
                f"{func.__qualname__} ({_where(func)}) must be 'async def': botkit awaits handlers"
            )
        content = _content_argument(func, role) if ask is None else ()
        spec = HandlerSpec(
            name=func.__name__,
            role=role,
            states=_states(state),
            matcher=matcher,
            describes=describes
            + (f" ({'/'.join(c.__name__ for c in content)})" if content else ""),
            then=then,
            where=_where(func),
            content=content,
            ask=ask,
        )
        setattr(func, SPEC_ATTRIBUTE, (*specs_of(func), spec))
        return func

    return decorate


_CONTENT: tuple[type, ...] = typing.get_args(typing.get_args(Content)[0])
"""Every content class (the members of the ``Content`` union)."""


def _content_argument(func: Any, role: Role) -> tuple[type, ...]:
    """The content classes a handler's third argument is typed with (none without one)."""
    parameters = list(inspect.signature(func).parameters.values())[2:]
    if not parameters:
        return ()
    problem = None
    if role != "event":
        problem = "only a message handler takes a third argument (the message's content)"
    elif len(parameters) > 1:
        problem = "a handler takes (self, ctx) and at most the content, typed with its class"
    if problem is not None:
        raise TypeError(f"{func.__qualname__} ({_where(func)}): {problem}")
    annotation = parameters[0].annotation
    try:
        if isinstance(annotation, str):
            annotation = eval(annotation, func.__globals__)  # the module's own names
    except Exception as exc:
        raise TypeError(
            f"{func.__qualname__} ({_where(func)}): cannot read the type of "
            f"{parameters[0].name!r} ({exc}); import the content class at the top of the module"
        ) from None
    is_union = typing.get_origin(annotation) in (types.UnionType, typing.Union)
    classes = typing.get_args(annotation) if is_union else (annotation,)
    if not classes or not all(isinstance(c, type) and issubclass(c, _CONTENT) for c in classes):
        raise TypeError(
            f"{func.__qualname__} ({_where(func)}): {parameters[0].name!r} must be typed with a "
            f"content class (such as Location, or Image | Video), not {annotation!r}"
        )
    return tuple(classes)


_MATCHED = Match()


def _text_matcher(pattern: str | re.Pattern[str], case: bool) -> Callable[[str], Match | None]:
    if isinstance(pattern, re.Pattern):
        regex = pattern

        def by_regex(text: str) -> Match | None:
            found = regex.search(text)
            return Match(found) if found else None

        return by_regex
    wanted = pattern.strip() if case else pattern.strip().casefold()

    def by_string(text: str) -> Match | None:
        got = text.strip() if case else text.strip().casefold()
        return _MATCHED if got == wanted else None

    return by_string


def _message(event: Event) -> bool:
    return event.kind is EventKind.MESSAGE


class On:
    """The handler decorators. Use the module-level instance :data:`on`.

    ``state`` binds a handler to one state or several (default: any state). For each event the
    first handler, in the order the class writes them, whose state and matcher accept it runs;
    a subclass's handlers come before its base class's.
    ``then`` names a trigger fired after the handler returned, as if it ended with
    ``await ctx.trigger(then)``.
    """

    def message(
        self, *, state: str | Iterable[str] | None = None, then: str | None = None
    ) -> Callable[[_F], _F]:
        """Any message from the user."""
        return _decorator(
            "event", lambda e: _MATCHED if _message(e) else None, "any message", state, then
        )

    def text(
        self,
        *patterns: str | re.Pattern[str],
        case: bool = False,
        state: str | Iterable[str] | None = None,
        then: str | None = None,
    ) -> Callable[[_F], _F]:
        """A text message: any text, or one matching one of ``patterns``.

        - a string: that text, ignoring surrounding blanks and (unless ``case=True``) case;
        - a compiled regular expression: searched in the text; its groups are in ``ctx.match``.

        A text naming one of the choices the user was last offered arrives as that choice's
        :class:`~botkit.ButtonReply` (see :meth:`button`), not as a text.
        """
        matchers = [_text_matcher(p, case) for p in patterns]

        def by_text(event: Event) -> Match | None:
            if not _message(event) or not isinstance(event.content, Text):
                return None
            if not matchers:
                return _MATCHED
            return next((m for m in (f(event.content.text) for f in matchers) if m), None)

        described = " or ".join(
            f"text /{p.pattern}/" if isinstance(p, re.Pattern) else f"text {p.strip()!r}"
            for p in patterns
        )
        return _decorator("event", by_text, described or "any text", state, then)

    def content(
        self,
        *types: type[Content] | str,
        state: str | Iterable[str] | None = None,
        then: str | None = None,
    ) -> Callable[[_F], _F]:
        """A message whose content is one of ``types`` (classes such as ``Image`` or
        ``Location``, or their type names such as ``"image"``)."""
        names = frozenset(
            t if isinstance(t, str) else t.model_fields["type"].default for t in types
        )

        def by_type(event: Event) -> Match | None:
            if _message(event) and event.content is not None and event.content.type in names:
                return _MATCHED
            return None

        return _decorator("event", by_type, "content " + "/".join(sorted(names)), state, then)

    def button(
        self,
        *ids: str,
        state: str | Iterable[str] | None = None,
        then: str | None = None,
    ) -> Callable[[_F], _F]:
        """The user picked a choice: one of ``ids``, or any. A choice is picked by tapping its
        button, list row or quick reply, or by typing its title, its id or its position among
        the choices last offered ("2"): the same :class:`~botkit.ButtonReply` arrives on
        every channel, and ``ctx.text`` is the choice's title."""
        wanted = frozenset(ids)

        def by_button(event: Event) -> Match | None:
            if not _message(event) or not isinstance(event.content, ButtonReply):
                return None
            return _MATCHED if not wanted or event.content.id in wanted else None

        described = "button " + ("/".join(sorted(wanted)) if wanted else "(any)")
        return _decorator("event", by_button, described, state, then)

    def choice(
        self, state: str, ask: str, choices: Choices, *, then: str | None = None
    ) -> Callable[[_F], _F]:
        """A question and its answer in one declaration: on entering ``state`` the bot asks
        ``ask`` offering ``choices`` (plain titles, ``(id, title)`` pairs or
        :class:`~botkit.Button`, as ``ctx.reply(buttons=...)`` takes them); a pick of one of
        them in ``state`` (tapped, or typed as its title, id or number) runs the handler, which
        may take the :class:`~botkit.ButtonReply` as its third argument.

        ``{name}`` in ``ask`` is filled in from the conversation's data as it is on entering:
        a field or property of its model (a key of a ``dict``). An earlier handler of the class
        for one of the choices (``@on.button("change", state=...)``) takes that pick instead.
        """
        if not isinstance(state, str) or not state:
            raise TypeError(f"on.choice() takes the state it asks in as text, got {state!r}")
        buttons = as_buttons(choices)
        if not buttons:
            raise TypeError("on.choice() needs the choices it offers")
        question = Ask(ask, buttons)
        answer = self.button(*(b.id for b in buttons), state=state, then=then)
        entering = _decorator(
            "enter", lambda e: _MATCHED, f"asks on entering {state}", state, ask=question
        )

        def decorate(func: _F) -> _F:
            return entering(answer(func))

        return decorate

    def status(
        self,
        *statuses: DeliveryStatus | str,
        code: int | None = None,
        state: str | Iterable[str] | None = None,
        then: str | None = None,
    ) -> Callable[[_F], _F]:
        """A status of one of the bot's own messages: any, or one of ``statuses``; with
        ``code``, only those carrying that provider error code (e.g. ``rejected``, 1340)."""
        wanted = frozenset(DeliveryStatus(s) for s in statuses)

        def by_status(event: Event) -> Match | None:
            if event.kind is not EventKind.STATUS or event.status is None:
                return None
            if wanted and event.status.status not in wanted:
                return None
            if code is not None and (event.status.error is None or event.status.error.code != code):
                return None
            return _MATCHED

        described = "status " + ("/".join(sorted(wanted)) if wanted else "(any)")
        if code is not None:
            described += f" with error {code}"
        return _decorator("event", by_status, described, state, then)

    def event(
        self,
        *names: str,
        state: str | Iterable[str] | None = None,
        then: str | None = None,
    ) -> Callable[[_F], _F]:
        """A proactive event from the team's own systems (the events API, ``botkit notify`` or
        :class:`~botkit.Notifier`) named one of ``names``, or any. Its data is
        ``ctx.event.content.data`` (a :class:`~botkit.Notification`)."""
        for name in names:
            if not isinstance(name, str) or not name:
                raise TypeError(f"on.event() takes event names as text, got {name!r}")
        wanted = frozenset(names)

        def by_name(event: Event) -> Match | None:
            if event.kind is not EventKind.NOTIFICATION:
                return None
            content = event.content
            if not isinstance(content, Notification):
                return None
            return _MATCHED if not wanted or content.name in wanted else None

        described = "event " + ("/".join(sorted(wanted)) if wanted else "(any)")
        return _decorator("event", by_name, described, state, then)

    def timer(
        self,
        *keys: str,
        state: str | Iterable[str] | None = None,
        then: str | None = None,
    ) -> Callable[[_F], _F]:
        """A timer the bot scheduled (``await ctx.schedule(key, after=...)``) fell due: one
        scheduled under one of ``keys``, or any. Its key and data are ``ctx.event.content.key``
        and ``ctx.event.content.data`` (a :class:`~botkit.Timer`). State timeouts (the class's
        ``timeouts``) fire their trigger by themselves and never reach these handlers."""
        for key in keys:
            try:
                check_key(key)
            except ValueError as exc:
                raise TypeError(f"on.timer() takes timer keys: {exc}") from None
        wanted = frozenset(keys)

        def by_key(event: Event) -> Match | None:
            if event.kind is not EventKind.TIMER or not isinstance(event.content, Timer):
                return None
            return _MATCHED if not wanted or event.content.key in wanted else None

        described = "timer " + ("/".join(sorted(wanted)) if wanted else "(any)")
        return _decorator("event", by_key, described, state, then)

    def failover(
        self,
        *,
        succeeded: bool | None = None,
        state: str | Iterable[str] | None = None,
        then: str | None = None,
    ) -> Callable[[_F], _F]:
        """A message sent with a failover policy (``ctx.reply(..., failover=[...])``) ended:
        once per message, when a step met its condition or every step failed. Its outcome is
        ``ctx.event.content``, a :class:`~botkit.FailoverOutcome`: ``channel`` (the channel
        that succeeded, None when none did) and each step's status, error and reason. With
        ``succeeded``, only the messages that did (True) or did not (False)."""

        def by_outcome(event: Event) -> Match | None:
            content = event.content
            if event.kind is not EventKind.WORKFLOW or not isinstance(content, FailoverOutcome):
                return None
            return _MATCHED if succeeded is None or content.succeeded is succeeded else None

        described = "failover" + ("" if succeeded is None else f" (succeeded={succeeded})")
        return _decorator("event", by_outcome, described, state, then)

    def fallback(self, *, state: str | Iterable[str] | None = None) -> Callable[[_F], _F]:
        """What runs when no handler matched, or a trigger was invalid in the current state;
        ``ctx.reason`` says which. Per state, or (without ``state``) for the whole bot."""
        return _decorator("fallback", lambda e: _MATCHED, "fallback", state)

    def enter(self, *states: str) -> Callable[[_F], _F]:
        """Runs on entering one of ``states`` (like a method named ``on_enter_<state>``)."""
        return _decorator("enter", lambda e: _MATCHED, "on enter", states)

    def exit(self, *states: str) -> Callable[[_F], _F]:
        """Runs on leaving one of ``states`` (like a method named ``on_exit_<state>``)."""
        return _decorator("exit", lambda e: _MATCHED, "on exit", states)


on = On()
