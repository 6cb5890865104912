"""The store: where conversations, their inboxes and their outboxes live.

One small abstract base, two implementations (:class:`~botkit.store.memory.MemoryStore`, the
embedded default, and :class:`~botkit.store.redis.RedisStore`), one contract test suite for both.

A conversation (one person on one channel talking to one bot address) owns:

- its **record**: state, data, schema version, revision, last inbound time, the numbered
  choices last offered, fence counter;
- its **inbox**: accepted events not yet handled, in arrival order;
- its **outbox**: replies whose turn was committed but that are not yet sent, in order;
- its **timers**: pending timers by key, each due at a time (part of the record, committed
  with the turn that scheduled them);
- its **seen set**: dedup keys of accepted events, kept for the dedup window;
- its **lease**: who may handle it now, with a fencing token;
- its **message records**: what was sent and the statuses since, kept for a while.

Beside conversations, the store links a provider workflow (a failover the provider carries out)
to the conversation that sent it, for a while, so the workflow's final report, which names no
user, reaches that conversation.

Every multi-key operation touches one conversation only, so on Redis every key of a
conversation carries the same hash tag and each operation is one atomic script in one slot.

The life of an event, and the round trips it costs::

    accept   dedup + append to inbox + try to take the lease  -> Claim or None   (1)
    handler  runs in memory, without the store
    commit   check lease; write the conversation (record and outbox); pop the event (1)
    (send the replies)
    ack      check lease; drop sent replies; release when idle, else next Claim  (1)

Pending work -- inbox events, an outbox waiting to be retried, timers -- is one machinery: the
conversation's mark in the **due index** is the earliest time something must happen on it, a
sweep claims conversations whose mark has come, and the lease holder does the outbox first,
then the inbox's events, then the due timers (one turn each, as events of kind ``TIMER``).

Two clocks meet here. Leases and dedup windows run on the store's own clock (Redis ``TIME``),
so processes with skewed clocks agree on who holds what. Timers and the due index run on the
bot's clock, passed in as ``now`` (Unix seconds) by the caller (the runtime passes its
:class:`~botkit.clock.Clock`'s time; a caller that passes none gets the machine's time, or the
memory store's injected clock): a timer is due when the bot's clock says so, so the sandbox
and tests that move that clock make timers fall due, and a sweep asked at a later ``now``
claims them. Marks that stand for "a lease from now" are written as ``now`` plus the lease.

The store takes and gives typed values (:class:`~botkit.events.Event`,
:class:`~botkit.conversation.Conversation`); a store that holds text writes them with
:mod:`botkit.store.codec`. Beyond the lease and the outbox's length it never looks inside.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from botkit.conversation import Conversation, OutboxEntry
from botkit.errors import BotkitError
from botkit.events import Channel, Event
from botkit.ratelimit import RateLimiter
from botkit.store.parts import PartsBuffer, PartsLimits


def timers_beyond(conversation: Conversation, now: float) -> float:
    """Seconds from ``now`` to the conversation's last timer (0 when none is later): a record
    must outlive its idle time by that much, or the timer would vanish with it."""
    last = max((timer.at for timer in conversation.timers.values()), default=now)
    return max(0.0, last - now)


class StoreUnavailable(BotkitError):
    """The store cannot be reached (Redis down, timed out): the caller should answer 503."""


class LeaseLost(BotkitError):
    """The lease was taken over or expired: the holder's work is refused, not committed."""


@dataclass(frozen=True)
class Lease:
    """The right to handle one conversation until ``expires_at`` (store clock, seconds).

    ``fence`` grows with every new lease on the conversation; ``token`` identifies this holder
    and is what the store compares on commit.
    """

    key: str
    token: str
    fence: int


@dataclass(frozen=True)
class Claim:
    """What a lease holder must do next, in this order: send ``conversation.outbox``, then
    handle ``event``, then (with no event left) the conversation's due timers, earliest
    first."""

    lease: Lease
    conversation: Conversation
    """The conversation as last committed, with the replies not sent yet."""
    event: Event | None
    """The oldest unhandled event of the inbox, or None."""


@dataclass(frozen=True)
class Accepted:
    """The answer to :meth:`Store.accept`."""

    duplicate: bool
    """True when the dedup key was seen within the window: nothing was added."""
    claim: Claim | None = None
    """Set when the caller took the lease and should now work on the conversation."""


@dataclass(frozen=True)
class Commit:
    """A handled event's effects, committed together or not at all: the conversation after the
    event (its outbox and timers included) and the message records to write."""

    conversation: Conversation
    messages: Mapping[str, str] = field(default_factory=dict)
    """Message records to write (provider message id -> JSON text), such as a new status."""
    from_inbox: bool = True
    """True when the handled event is the inbox's oldest (it is removed); False for a timer,
    which ``conversation.timers`` no longer holds."""


@dataclass(frozen=True)
class Backlog:
    """Work waiting for a worker (see :meth:`Store.backlog`)."""

    events: int
    """Events in the inboxes, not handled yet."""
    timers_due: int
    """Timers past their time, not fired yet."""


@dataclass(frozen=True)
class StoreStats:
    """Counters a store keeps about itself (for benchmarks and the inspector)."""

    conversations: int
    extra: dict[str, int | float] = field(default_factory=dict)


class Store(abc.ABC):
    """Conversations, inboxes, outboxes, dedup and leases, with atomic operations.

    ``owner`` strings name a worker process; a lease token is ``owner:fence``. Times are the
    store's own clock (Redis ``TIME`` on Redis), so processes with skewed clocks agree.
    """

    lease_seconds: float
    """How long a lease lasts without :meth:`extend`."""
    messages_seconds: float = 7 * 24 * 3600.0
    """How long message records are kept after their last write."""

    @abc.abstractmethod
    async def accept(
        self, key: str, event: Event, *, owner: str | None, now: float | None = None
    ) -> Accepted:
        """Record ``event`` in ``key``'s inbox unless its ``dedup_key`` was seen within the
        dedup window; then, if the conversation has work and no lease, take the lease for
        ``owner``. ``now`` is the bot's clock (see the module's docstring), as for every
        method that takes it. When the claim's event is the one just accepted, it is
        ``event`` itself.

        With ``owner`` None (a process that runs no bot, such as a
        :class:`~botkit.notifications.Notifier`) no lease is taken: the conversation is made
        due now instead, so the next sweep of any serving process takes it.

        When this returns, the event is durably recorded (or was already): the webhook may be
        answered. Raises :class:`StoreUnavailable` when the store cannot be reached.
        """

    @abc.abstractmethod
    async def claim(
        self, key: str, *, owner: str, reclaim: bool = False, now: float | None = None
    ) -> Claim | None:
        """Take the lease of ``key`` for ``owner`` if it is free and the conversation has work
        (inbox or outbox not empty, or a timer due at ``now``); else None. With ``reclaim``, a
        lease that names ``owner`` counts as free (the caller knows none of its workers holds
        it: a reply lost in an outage, a worker the outage stopped); it is dropped when there
        is no work."""

    @abc.abstractmethod
    async def extend(self, lease: Lease) -> bool:
        """Push the lease's expiry ``lease_seconds`` ahead; False when another holder has it.
        A lease that expired with nobody taking it since is taken back, as :meth:`ack` does."""

    @abc.abstractmethod
    async def commit(self, lease: Lease, commit: Commit, *, now: float | None = None) -> None:
        """Atomically: check ``lease`` is still held, write ``commit.conversation`` (its record
        as given, its outbox and timers in place of the stored ones), remove the inbox's oldest
        event (when ``commit.from_inbox``), write ``commit.messages``, extend the lease and the
        conversation's idle expiry (past its last timer). The conversation's due mark moves to
        its first timer if that is earlier. Raises :class:`LeaseLost` (nothing written) when
        the lease is no longer held."""

    @abc.abstractmethod
    async def ack(
        self,
        lease: Lease,
        sent: int,
        messages: Mapping[str, str] | None = None,
        *,
        retry: OutboxEntry | None = None,
        events: Sequence[Event] = (),
        wait: float | None = None,
        now: float | None = None,
    ) -> Claim | None:
        """Drop the ``sent`` oldest outbox entries (sent, or refused for good), write
        ``messages`` (records by provider message id), put ``retry`` in place of the outbox's
        new head (the same message, one more attempt and its not-before time) and append
        ``events`` to the inbox (a refused message's status event, in order with the user's).

        Then: with inbox and outbox empty and no timer due, release the lease and return None.
        With an empty inbox, no timer due and ``wait`` set (seconds until the outbox's head may
        go), release it too and make the conversation due in ``wait`` seconds, so any process
        resumes it then; return None. A released conversation with timers is due at its first
        timer at the latest. Else extend the lease and return what is next.

        What was sent must be marked sent even when the store was away long enough for the
        lease to expire: a lease that expired with nobody taking it since (its fence unchanged)
        is taken back. Raises :class:`LeaseLost` (nothing written) when another holder took
        the conversation in between."""

    @abc.abstractmethod
    async def release(self, lease: Lease, *, now: float | None = None) -> None:
        """Give the lease up if it is still held and make the conversation due at once, so
        another process takes it over without waiting for the lease to expire (a process that
        is shutting down)."""

    @abc.abstractmethod
    async def backlog(self, *, limit: int = 500, now: float | None = None) -> Backlog:
        """Work waiting for a worker: the events and the due timers (at ``now``) of the
        conversations that are due and that no worker holds, up to ``limit`` of them, earliest
        first. A conversation a worker holds counts again once its lease is given back or runs
        out. For metrics: it reads at most ``limit`` conversations."""

    @abc.abstractmethod
    async def file_messages(self, key: str, messages: Mapping[str, str]) -> None:
        """Write ``messages`` (records by provider message id) with the conversation ``key``,
        kept ``messages_seconds`` like its own: the records of messages another conversation's
        turn sent to this one's user, where that user's statuses arrive. No lease is needed:
        records are only ever replaced by newer ones of the same message."""

    @abc.abstractmethod
    async def messages(self, key: str) -> dict[str, str]:
        """The conversation's message records (provider message id -> JSON text). Records are
        kept ``messages_seconds`` after their last write."""

    @abc.abstractmethod
    async def link_workflow(self, workflow_id: str, link: str, *, seconds: float) -> None:
        """Remember ``link`` (text the caller chose: the conversation a provider workflow was
        sent from, and what its final report needs) under the provider's ``workflow_id`` for
        ``seconds``, the store's own clock; a second link replaces the first."""

    @abc.abstractmethod
    async def workflow_link(self, workflow_id: str) -> str | None:
        """The text :meth:`link_workflow` kept under ``workflow_id``; None when there is none
        (never linked, or expired)."""

    @abc.abstractmethod
    async def sweep(
        self,
        *,
        owner: str,
        limit: int = 100,
        skip: Collection[str] = (),
        now: float | None = None,
        most: int | None = None,
    ) -> list[Claim]:
        """Find conversations whose work nobody is doing (their holder died, or a hand-over
        was missed) and take their leases for ``owner``: look at up to ``limit`` due
        conversations and claim at most ``most`` of them (default ``limit``); those with
        work beyond that stay due now, for the caller's next sweep (a caller with few workers
        free still clears many marks a sweep). Conversations in
        ``skip`` (the caller is still working on them, say through a store outage that let
        their lease expire, or an accept of the caller's is in flight) are left alone and
        looked at again a lease later. ``skip`` is read when each claim is made, so a live
        view of the caller's state keeps a lease the caller is taking right now from being
        reclaimed.

        Every accepted event marks its conversation as due a little after a lease would have
        expired, never later than it was due already; a sweep claims due conversations that
        have work and no lease (or a lease naming ``owner`` while not in ``skip``: no worker of
        the caller holds it), makes those that are idle due at their first timer (or forgets
        them when they have none), and looks again later at those still leased (no later than
        their first timer).

        The cost of a sweep grows with ``limit``, never with the number of conversations or
        timers pending: the due index is read from its earliest mark (and, on a store shared
        by processes, partly from its most recently due end, so a holder that just died is
        not kept waiting behind a backlog).
        """

    @abc.abstractmethod
    async def next_due(self) -> float | None:
        """The earliest mark in the due index (the bot's clock, Unix seconds), None when
        nothing is marked: a sweep before then finds nothing. Marks are written by other
        processes too (their accepts, releases, timers), so a caller that sleeps until then
        should look again now and then. Costs the same however many marks there are."""

    @abc.abstractmethod
    async def load(self, key: str) -> Conversation | None:
        """The committed conversation of ``key`` with its outbox, None when there is none
        (never committed, or expired)."""

    @abc.abstractmethod
    async def keys(self, limit: int = 1000) -> list[str]:
        """Conversation keys that have a record (for the inspector), at most ``limit``."""

    @abc.abstractmethod
    def parts_buffer(self, limits: PartsLimits) -> PartsBuffer:
        """A :class:`~botkit.store.parts.PartsBuffer` held in this store under ``limits``:
        buffers of every store sharing the backend (processes sharing one Redis) share parts."""

    @abc.abstractmethod
    def rate_limiter(self, rates: Mapping[Channel, float]) -> RateLimiter:
        """A :class:`~botkit.ratelimit.RateLimiter` with ``rates`` (sends a second per
        channel) whose buckets live where this store's conversations do: the limiters of every
        store sharing the backend (processes sharing one Redis) share their buckets."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the store answers."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections. The store is unusable afterwards."""
