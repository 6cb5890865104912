"""One conversation as the runtime, the bot and the store see it: a typed, immutable value.

A conversation is one person on one channel talking to one bot address. The store hands a
:class:`Conversation` out with a lease (:class:`~botkit.store.base.Claim`), the bot's turn
returns the next one (:class:`~botkit.bot.TurnOutcome`), and the store commits it whole. How it
is written as text lives in one module, :mod:`botkit.store.codec`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from botkit.outbound import Button, Outbound


@dataclass(frozen=True)
class OutboxEntry:
    """A reply whose turn was committed and that has not left yet.

    ``message`` keeps its ``id`` and ``client_ref``, so every attempt to send it carries the
    same ``client_ref``. ``attempts`` counts the sends tried so far that failed for a reason
    worth retrying; ``not_before`` (Unix time) is when the next attempt may go, None for at
    once.
    """

    message: Outbound
    attempts: int = 0
    not_before: float | None = None


@dataclass(frozen=True)
class PendingTimer:
    """A timer waiting on a conversation (see :mod:`botkit.timers`).

    ``at`` is when it falls due (Unix time, the bot's clock); ``id`` is fresh for every
    scheduling, so the firing of a timer that was replaced meanwhile is told apart; ``data`` is
    the JSON text of the value given to ``ctx.schedule`` (None for none).
    """

    key: str
    at: float
    id: str
    data: str | None = None


@dataclass(frozen=True)
class Conversation:
    """A conversation's committed value.

    - ``state``, ``data``: the bot's state and its data as JSON text; None before the first
      committed turn.
    - ``version``: the bot class's schema version when it was written; ``revision``: the
      committed turns so far.
    - ``last_inbound_at``: Unix time of the user's last message, for channel windows such as
      WhatsApp's 24 hours; None when the user never wrote.
    - ``choices``: the choices the user was last offered, in order, on every channel: a text
      that is one's title, or its position (``"2"``), picks it as a tap would (see
      :meth:`~botkit.Bot.take_turn`). A turn whose replies offer choices replaces them, a turn
      that changes state without offering any clears them, any other turn keeps them.
    - ``outbox``: committed replies not sent yet, oldest first.
    - ``timers``: the timers pending on it, by key.
    """

    key: str
    state: str | None = None
    data: str | None = None
    version: int = 0
    revision: int = 0
    last_inbound_at: float | None = None
    choices: tuple[Button, ...] = ()
    outbox: tuple[OutboxEntry, ...] = ()
    timers: Mapping[str, PendingTimer] = field(default_factory=dict)

    @property
    def user_has_written(self) -> bool:
        """True when the user wrote on this conversation at some time."""
        return self.last_inbound_at is not None

    @property
    def next_timer(self) -> PendingTimer | None:
        """The pending timer that falls due first (the oldest scheduled among equals)."""
        if not self.timers:
            return None
        return min(self.timers.values(), key=lambda timer: timer.at)

    def due_timer(self, now: float) -> PendingTimer | None:
        """The pending timer that falls due first, if it is due at ``now`` (the bot's clock)."""
        timer = self.next_timer
        return timer if timer is not None and timer.at <= now else None
