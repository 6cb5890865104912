"""Handler decorators: what arrived, in which state, and what happens next.

Each decorator marks an ``async def handler(self, ctx)`` method of a :class:`~botkit.Bot` with a
:class:`HandlerSpec`. The bot class collects them when it is created and checks them against its
states and transitions, so a typo in a state or trigger name fails at import, naming the line.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from botkit.events import (
    ButtonReply,
    Content,
    DeliveryStatus,
    Event,
    EventKind,
    Notification,
    Text,
)

HandlerFunc = Callable[[Any, Any], Awaitable[None]]
"""``async def handler(self, ctx: Context) -> None``"""
_F = TypeVar("_F", bound=HandlerFunc)

Role = Literal["event", "fallback", "enter", "exit"]


@dataclass(frozen=True)
class Match:
    """Why a handler accepted an event: for a regular expression, its match (groups)."""

    regex: re.Match[str] | None = None


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

    def accepts(self, event: Event, state: str) -> Match | None:
        if self.states is not None and state not in self.states:
            return None
        return self.matcher(event)


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
) -> Callable[[_F], _F]:
    def decorate(func: _F) -> _F:
        is_async = inspect.iscoroutinefunction(func)
        if not is_async:
            raise TypeError(
                f"{func.__qualname__} ({_where(func)}) must be 'async def': botkit awaits handlers"
            )
        spec = HandlerSpec(
            name=func.__name__,
            role=role,
            states=_states(state),
            matcher=matcher,
            describes=describes,
            then=then,
            where=_where(func),
        )
        setattr(func, SPEC_ATTRIBUTE, (*specs_of(func), spec))
        return func

    return decorate


_MATCHED = Match()


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
        pattern: str | re.Pattern[str] | None = None,
        *,
        case: bool = False,
        state: str | Iterable[str] | None = None,
        then: str | None = None,
    ) -> Callable[[_F], _F]:
        """A text message.

        - no ``pattern``: any text;
        - a string: that text, ignoring surrounding blanks and (unless ``case=True``) case;
        - a compiled regular expression: searched in the text; its groups are in ``ctx.match``.
        """
        if isinstance(pattern, re.Pattern):
            regex = pattern

            def by_regex(event: Event) -> Match | None:
                if not _message(event) or not isinstance(event.content, Text):
                    return None
                found = regex.search(event.content.text)
                return Match(found) if found else None

            return _decorator("event", by_regex, f"text /{regex.pattern}/", state, then)

        wanted = None if pattern is None else pattern.strip()

        def by_text(event: Event) -> Match | None:
            if not _message(event) or not isinstance(event.content, Text):
                return None
            if wanted is None:
                return _MATCHED
            got = event.content.text.strip()
            same = got == wanted if case else got.casefold() == wanted.casefold()
            return _MATCHED if same else None

        described = "any text" if wanted is None else f"text {wanted!r}"
        return _decorator("event", by_text, described, state, then)

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
        """The user picked a button, list row or quick reply: one of ``ids``, or any."""
        wanted = frozenset(ids)

        def by_button(event: Event) -> Match | None:
            if not _message(event) or not isinstance(event.content, ButtonReply):
                return None
            return _MATCHED if not wanted or event.content.id in wanted else None

        described = "button " + ("/".join(sorted(wanted)) if wanted else "(any)")
        return _decorator("event", by_button, described, state, then)

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
