"""Timers: what a conversation must do later, kept in the store with its other pending work.

A handler schedules a timer with ``await ctx.schedule(key, after=...)`` (or ``at=...``) and
cancels it with ``await ctx.cancel(key)``; both are part of the turn's atomic commit, so a
handler that raises schedules and cancels nothing. A conversation holds at most one timer per
key: scheduling a key again replaces it.

When its time comes the timer reaches the bot as an :class:`~botkit.events.Event` of kind
``TIMER`` whose content is a :class:`~botkit.events.Timer`: ``ctx.event.content.key`` and
``ctx.event.content.data`` (the JSON value given to ``schedule``). It goes through the same
lease, turn and commit as a webhook's event, after the events already in the conversation's
inbox; the commit that handles it removes it, so it fires once.

A state's timeout (:class:`Timeout`, in the bot class's ``timeouts``) is a timer the bot arms
itself under a reserved key (:func:`timeout_key`) when the conversation enters the state.

Times are the bot's clock (:class:`~botkit.clock.Clock`), the one channel windows use, so the
sandbox and tests that move it make timers fall due.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from botkit.conversation import PendingTimer
from botkit.events import Channel, Event, EventKind, Timer, WebhookFormat

MAX_DELAY: Final = timedelta(days=365)
"""The furthest ahead a timer may be scheduled."""
MAX_KEY: Final = 200
MAX_DATA: Final = 16 * 1024
"""The most bytes a timer's data may take as JSON."""
TIMEOUT_PREFIX: Final = "botkit.timeout:"
"""Keys that start with this are the bot's own state timeouts; handlers cannot use them."""
FAILOVER_PREFIX: Final = "botkit.failover:"
"""Keys that start with this are the bot's own pending failovers (:mod:`botkit.failover`);
handlers cannot use them either."""
_RESERVED: Final = (TIMEOUT_PREFIX, FAILOVER_PREFIX)


@dataclass(frozen=True)
class Timeout:
    """How long a conversation may stay in a state before ``trigger`` fires by itself.

    Set in a bot class's ``timeouts``, keyed by state::

        timeouts = {"address": Timeout(minutes=30, trigger="abandon")}

    Entering the state arms it, leaving it disarms it; with ``rearm``, every message from the
    user while in the state arms it again from that moment. When it falls due in that state,
    ``trigger`` fires as if a handler had called ``ctx.trigger``: the state's exit and the next
    state's enter callbacks run and may reply. The class is refused when it is created if the
    state or the trigger does not exist, or the trigger is not valid from that state.
    """

    trigger: str
    seconds: float = 0.0
    minutes: float = 0.0
    hours: float = 0.0
    days: float = 0.0
    rearm: bool = False

    @property
    def duration(self) -> timedelta:
        return timedelta(
            days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds
        )


def timeout_key(state: str) -> str:
    """The reserved timer key of ``state``'s timeout."""
    return TIMEOUT_PREFIX + state


def due_at(now: float, after: timedelta | float | None, at: datetime | None) -> float:
    """When a timer scheduled at ``now`` with ``after`` (a delay) or ``at`` (a time) falls due.

    A time already past falls due at once. Raises TypeError unless exactly one of them is
    given, and ValueError naming the argument for a negative delay, a naive datetime, or a
    time more than :data:`MAX_DELAY` ahead.
    """
    if (after is None) == (at is None):
        raise TypeError("schedule() takes one of after= (a timedelta) or at= (a datetime)")
    if after is not None:
        if isinstance(after, bool) or not isinstance(after, timedelta | int | float):
            raise TypeError(f"after must be a timedelta, got {type(after).__name__}")
        delay = after if isinstance(after, timedelta) else timedelta(seconds=after)
        if delay < timedelta(0):
            raise ValueError(f"after must not be negative, got {delay}")
        if delay > MAX_DELAY:
            raise ValueError(f"after must be at most {MAX_DELAY.days} days, got {delay}")
        return now + delay.total_seconds()
    assert at is not None
    if not isinstance(at, datetime):
        raise TypeError(f"at must be a datetime, got {type(at).__name__}")
    if at.tzinfo is None:
        raise ValueError("at must be an aware datetime (with a tzinfo, such as UTC)")
    when = at.timestamp()
    if when - now > MAX_DELAY.total_seconds():
        raise ValueError(f"at must be at most {MAX_DELAY.days} days ahead, got {at.isoformat()}")
    return max(when, now)


def check_key(key: object, *, own: bool = False) -> str:
    """``key`` if it is a usable timer key; ``own`` allows the bot's reserved keys."""
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY or not key.isprintable():
        raise ValueError(f"key must be 1 to {MAX_KEY} printable characters, got {key!r}")
    if key.startswith(_RESERVED) and not own:
        prefix = next(p for p in _RESERVED if key.startswith(p))
        raise ValueError(f"key must not start with {prefix!r}: botkit's own timers use it")
    return key


def encode_data(data: Any) -> str | None:
    """``data`` as JSON text (None stays None); raises TypeError naming ``data`` when it
    cannot be written as JSON, ValueError when it is larger than :data:`MAX_DATA`."""
    if data is None:
        return None
    try:
        text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError(f"data must be JSON-serialisable: {exc}") from None
    if len(text.encode()) > MAX_DATA:
        raise ValueError(f"data must take at most {MAX_DATA} bytes as JSON")
    return text


def new_timer(key: str, at: float, data: str | None) -> PendingTimer:
    return PendingTimer(key, at, uuid.uuid4().hex[:16], data)


def timer_event(conversation_key: str, timer: PendingTimer) -> Event:
    """The event ``timer`` becomes when it falls due on the conversation ``conversation_key``
    (``channel:bot:user``)."""
    channel, bot, user = conversation_key.split(":", 2)
    return Event(
        kind=EventKind.TIMER,
        channel=Channel(channel),
        user=user,
        bot=bot,
        message_id=timer.id,
        timestamp=datetime.fromtimestamp(timer.at, UTC),
        format=WebhookFormat.API,
        raw={"key": timer.key},
        content=Timer(
            key=timer.key,
            data=json.loads(timer.data) if timer.data is not None else None,
        ),
    )
