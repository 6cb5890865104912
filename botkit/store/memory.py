"""The embedded store: every conversation in this process's memory.

It keeps the same rules as :class:`~botkit.store.redis.RedisStore` (dedup window, lease expiry
and fencing, idle expiry of records, the due index the sweep reads), so a bot behaves the same
on both; only durability differs: everything is gone when the process ends, and two processes
never share conversations.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from botkit.conversation import Conversation, OutboxEntry
from botkit.events import Channel, Event
from botkit.ratelimit import ChannelLimiter, RateLimiter
from botkit.store.base import (
    Accepted,
    Backlog,
    Claim,
    Commit,
    Lease,
    LeaseLost,
    Store,
    StoreUnavailable,
    timers_beyond,
)
from botkit.store.parts import MemoryParts, MemoryPartsBuffer, PartsBuffer, PartsLimits

_PURGE_EVERY = 60.0
_WORKFLOWS_TIDY_AT = 10_000
"""Workflow links kept before the expired ones are dropped."""
"""Seconds (store clock) between passes that drop conversations with nothing left in them."""


@dataclass(eq=False)
class _Slot:
    """One conversation, laid out like its Redis keys: each part expires on its own. Values
    are kept as the typed objects they are (they are immutable), never as text."""

    record: Conversation | None = None
    """The committed conversation, its outbox left out (that is ``outbox``)."""
    fence: int = 0
    record_expires: float = 0.0
    """When ``record`` and ``fence`` vanish together (the Redis record hash's idle expiry)."""
    inbox: deque[Event] = field(default_factory=deque)
    outbox: deque[OutboxEntry] = field(default_factory=deque)
    seen: dict[str, float] = field(default_factory=dict)
    """Dedup key -> expiry, in insertion order (so expiries are ascending)."""
    token: str | None = None
    lease_expires: float = 0.0
    messages: dict[str, str] = field(default_factory=dict)
    messages_expire: float = 0.0

    def settle(self, now: float) -> None:
        """Apply the expiries that are due, as Redis would have."""
        if self.record_expires <= now:
            self.record, self.fence = None, 0
        if self.messages and self.messages_expire <= now:
            self.messages = {}
        if self.token is not None and self.lease_expires <= now:
            self.token = None
        seen = self.seen
        while seen:
            oldest = next(iter(seen))
            if seen[oldest] > now:
                break
            del seen[oldest]

    def has_work(self, now: float) -> bool:
        """Events or replies waiting, or a timer due at ``now`` (the bot's clock)."""
        if self.inbox or self.outbox:
            return True
        return self.record is not None and self.record.due_timer(now) is not None

    def next_timer_at(self) -> float | None:
        timer = self.record.next_timer if self.record is not None else None
        return timer.at if timer is not None else None

    def is_empty(self) -> bool:
        return self.record is None and not (
            self.fence or self.inbox or self.outbox or self.seen or self.token or self.messages
        )

    def write_messages(self, messages: Mapping[str, str], until: float) -> None:
        if messages:
            self.messages.update(messages)
            self.messages_expire = until


class _DueIndex:
    """Conversation keys by when the sweep should look at them: a heap with lazy deletion,
    so finding what is due costs what is due, not what is pending."""

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []

    def set(self, key: str, at: float) -> None:
        if self.marks.get(key) == at:
            return
        self.marks[key] = at
        heapq.heappush(self._heap, (at, key))
        if len(self._heap) > 2 * len(self.marks) + 64:
            self._heap = [(at, key) for key, at in self.marks.items()]
            heapq.heapify(self._heap)

    def lower(self, key: str, at: float) -> None:
        """Mark ``key`` due at ``at`` unless it is due earlier already."""
        current = self.marks.get(key)
        if current is None or at < current:
            self.set(key, at)

    def forget(self, key: str) -> None:
        self.marks.pop(key, None)

    def due(self, now: float, limit: int) -> list[str]:
        """Up to ``limit`` keys due at ``now``, earliest first; they stay marked."""
        found: list[str] = []
        kept: list[tuple[float, str]] = []
        heap = self._heap
        while heap and len(found) < limit and heap[0][0] <= now:
            at, key = heapq.heappop(heap)
            if self.marks.get(key) == at and key not in found:
                found.append(key)
                kept.append((at, key))
        for item in kept:
            heapq.heappush(heap, item)
        return found

    def earliest(self) -> float | None:
        """The earliest mark, None when there is none."""
        heap = self._heap
        while heap and self.marks.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)  # a mark moved or forgotten since it was pushed
        return heap[0][0] if heap else None

    def clear(self) -> None:
        self.marks.clear()
        self._heap.clear()


class MemoryStore(Store):
    """Conversations in a dict of this process: the default when no Redis is configured.

    Every method runs without awaiting anything, so each is atomic with respect to the other
    tasks of the event loop; the store is not meant to be shared across threads. Time comes from
    ``clock`` (seconds), injectable so tests can move it instead of sleeping.
    """

    def __init__(
        self,
        *,
        lease_seconds: float = 30.0,
        dedup_seconds: float = 48 * 3600.0,
        idle_seconds: float = 30 * 24 * 3600.0,
        grace_seconds: float = 1.0,
        messages_seconds: float = 7 * 24 * 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``lease_seconds``: lease length; ``dedup_seconds``: how long a dedup key is
        remembered; ``idle_seconds``: a record's life after its last write; ``grace_seconds``:
        how long after a lease would have expired an accepted conversation becomes due."""
        self.lease_seconds = lease_seconds
        self.dedup_seconds = dedup_seconds
        self.idle_seconds = idle_seconds
        self.grace_seconds = grace_seconds
        self.messages_seconds = messages_seconds
        self._clock = clock
        self._slots: dict[str, _Slot] = {}
        self._workflows: dict[str, tuple[str, float]] = {}
        """Workflow id -> (link, until when, the store's clock)."""
        self._due = _DueIndex()
        self._next_purge = 0.0
        self._parts = MemoryParts()
        self._closed = False

    # --- helpers -----------------------------------------------------------------------------

    def _now(self) -> float:
        if self._closed:
            raise StoreUnavailable("the memory store is closed")
        return self._clock()

    def _bot(self, now: float | None) -> float:
        """The bot's clock: ``now`` when the caller gave it, else the store's."""
        return self._now() if now is None else now

    def _get(self, key: str, now: float) -> _Slot:
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
        slot.settle(now)
        return slot

    def _peek(self, key: str, now: float) -> _Slot | None:
        slot = self._slots.get(key)
        if slot is not None:
            slot.settle(now)
        return slot

    def _tidy(self, key: str, slot: _Slot) -> None:
        if slot.is_empty():
            self._slots.pop(key, None)

    def _take(self, key: str, slot: _Slot, owner: str, now: float) -> Claim:
        slot.fence += 1
        slot.record_expires = max(slot.record_expires, now + self.idle_seconds)
        slot.token = f"{owner}:{slot.fence}"
        slot.lease_expires = now + self.lease_seconds
        return self._work(Lease(key, slot.token, slot.fence), slot)

    @staticmethod
    def _work(lease: Lease, slot: _Slot) -> Claim:
        return Claim(
            lease=lease,
            conversation=replace(slot.record or Conversation(lease.key), outbox=tuple(slot.outbox)),
            event=slot.inbox[0] if slot.inbox else None,
        )

    def _held(self, lease: Lease, now: float) -> _Slot:
        slot = self._peek(lease.key, now)
        if slot is None or slot.token != lease.token:
            raise LeaseLost(f"the lease {lease.token} on {lease.key} is no longer held")
        return slot

    def _held_or_unmoved(self, lease: Lease, now: float) -> _Slot:
        """The conversation when ``lease`` is held, or expired with nobody taking it since
        (the fence has not moved): then the lease is taken back."""
        slot = self._peek(lease.key, now)
        if slot is not None and slot.token is None and slot.fence == lease.fence:
            slot.token = lease.token
            slot.lease_expires = now + self.lease_seconds
        return self._held(lease, now)

    # --- the contract ------------------------------------------------------------------------

    async def accept(
        self, key: str, event: Event, *, owner: str | None, now: float | None = None
    ) -> Accepted:
        """Dedup, append to the inbox, mark the conversation due and try to take the lease,
        all at once. A duplicate adds nothing, but may still take a free lease over work that
        is waiting. Without an ``owner`` no lease is taken and the conversation is due now."""
        clock = self._now()
        bot_now = self._bot(now)
        slot = self._get(key, clock)
        dedup_key = event.dedup_key
        duplicate = dedup_key in slot.seen
        if not duplicate:
            slot.seen[dedup_key] = clock + self.dedup_seconds
            slot.inbox.append(event)
        later = self.lease_seconds + self.grace_seconds if owner is not None else 0.0
        self._due.lower(key, bot_now + later)
        claim = None
        if owner is not None and slot.token is None and slot.has_work(bot_now):
            claim = self._take(key, slot, owner, clock)
        self._tidy(key, slot)
        return Accepted(duplicate=duplicate, claim=claim)

    async def claim(
        self, key: str, *, owner: str, reclaim: bool = False, now: float | None = None
    ) -> Claim | None:
        """Take the lease if it is free (or, with ``reclaim``, names ``owner``) and there is
        work; else None."""
        clock = self._now()
        slot = self._peek(key, clock)
        if slot is None or (slot.token is not None and not self._own(slot, owner, reclaim)):
            return None
        if not slot.has_work(self._bot(now)):
            slot.token = None
            self._tidy(key, slot)
            return None
        return self._take(key, slot, owner, clock)

    @staticmethod
    def _own(slot: _Slot, owner: str, reclaim: bool) -> bool:
        """True when ``slot``'s lease names ``owner`` and may be reclaimed."""
        return reclaim and slot.token is not None and slot.token.startswith(owner + ":")

    async def extend(self, lease: Lease) -> bool:
        """Move the lease's expiry ``lease_seconds`` from now; take it back if it expired with
        nobody taking it since; False if another holder has it."""
        now = self._now()
        try:
            slot = self._held_or_unmoved(lease, now)
        except LeaseLost:
            return False
        slot.lease_expires = now + self.lease_seconds
        return True

    async def commit(self, lease: Lease, commit: Commit, *, now: float | None = None) -> None:
        """Check the lease, write the conversation (its outbox and timers in place of the
        stored ones), pop the oldest event (unless a timer was handled), write the message
        records, extend the lease and the record's idle expiry (past its last timer), and mark
        the conversation due at its first timer if that is earlier. Raises :class:`LeaseLost`
        and changes nothing when the lease is not held."""
        clock = self._now()
        slot = self._held(lease, clock)
        conversation = commit.conversation
        slot.record = replace(conversation, key=lease.key, outbox=())
        slot.record_expires = (
            clock + self.idle_seconds + timers_beyond(conversation, self._bot(now))
        )
        if commit.from_inbox and slot.inbox:
            slot.inbox.popleft()
        slot.outbox = deque(conversation.outbox)
        slot.write_messages(commit.messages, clock + self.messages_seconds)
        slot.lease_expires = clock + self.lease_seconds
        first = slot.next_timer_at()
        if first is not None:
            self._due.lower(lease.key, first)

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
        """Drop ``sent`` outbox entries, put ``retry`` at the head, append ``events`` and write
        ``messages``; release the lease and return None when nothing is left (or only a
        waiting outbox: then it is due in ``wait`` seconds), else extend it and return what is
        next. A released conversation with timers is due at its first timer at the latest. A
        lease that expired without anyone taking it since is taken back (what was sent must not
        be sent again). Raises :class:`LeaseLost` (nothing written) when another holder came in
        between."""
        clock = self._now()
        bot_now = self._bot(now)
        slot = self._held_or_unmoved(lease, clock)
        for _ in range(min(max(sent, 0), len(slot.outbox))):
            slot.outbox.popleft()
        if retry is not None and slot.outbox:
            slot.outbox[0] = retry
        slot.inbox.extend(events)
        slot.write_messages(messages or {}, clock + self.messages_seconds)
        first = slot.next_timer_at()
        if not slot.has_work(bot_now):
            slot.token = None
            if first is not None:
                self._due.lower(lease.key, first)
            self._tidy(lease.key, slot)
            return None
        if wait is not None and not slot.inbox and (first is None or first > bot_now):
            slot.token = None
            self._due.set(lease.key, min(bot_now + max(wait, 0.0), first or float("inf")))
            return None
        slot.lease_expires = clock + self.lease_seconds
        return self._work(lease, slot)

    async def release(self, lease: Lease, *, now: float | None = None) -> None:
        """Drop the lease if this holder has it; the conversation is due now."""
        clock = self._now()
        slot = self._peek(lease.key, clock)
        if slot is not None and slot.token == lease.token:
            slot.token = None
        self._due.set(lease.key, self._bot(now))

    async def sweep(
        self,
        *,
        owner: str,
        limit: int = 100,
        skip: Collection[str] = (),
        now: float | None = None,
        most: int | None = None,
    ) -> list[Claim]:
        """Claim due conversations with work and a free lease (or one of ``owner``'s, not in
        ``skip``), at most ``most`` (the others stay due), look again later at leased ones (due
        ``grace_seconds`` after their lease expires, or at their first timer if earlier), make
        idle ones due at their first timer and forget idle ones without timers."""
        clock = self._now()
        bot_now = self._bot(now)
        after_lease = bot_now + self.lease_seconds + self.grace_seconds
        claims: list[Claim] = []
        for key in self._due.due(bot_now, limit):
            slot = self._peek(key, clock)
            if key in skip:
                self._due.set(key, after_lease)
                continue
            if slot is None:
                self._due.forget(key)
                continue
            first = slot.next_timer_at()
            if slot.token is not None and not self._own(slot, owner, True):
                again = bot_now + slot.lease_expires - clock + self.grace_seconds
                if first is not None and first > bot_now:
                    again = min(again, first)
                self._due.set(key, again)
            elif slot.has_work(bot_now):
                if most is not None and len(claims) >= most:
                    continue  # stays due: the caller's next sweep
                claims.append(self._take(key, slot, owner, clock))
                self._due.set(key, after_lease)
            else:
                slot.token = None  # a lease of the caller's own that nobody works
                if first is not None:
                    self._due.set(key, first)
                else:
                    self._due.forget(key)
                self._tidy(key, slot)
        if clock >= self._next_purge:
            self._purge(clock)
        return claims

    def _purge(self, now: float) -> None:
        # Runs once a minute at most: the sweep's own cost stays with what is due.
        self._next_purge = now + _PURGE_EVERY
        for key, slot in list(self._slots.items()):
            slot.settle(now)
            self._tidy(key, slot)

    async def next_due(self) -> float | None:
        """The earliest mark in the due index, None when nothing is marked."""
        self._now()
        return self._due.earliest()

    async def load(self, key: str) -> Conversation | None:
        """The committed conversation with its outbox, None when there is none or it expired."""
        slot = self._peek(key, self._now())
        if slot is None or slot.record is None:
            return None
        return replace(slot.record, outbox=tuple(slot.outbox))

    async def backlog(self, *, limit: int = 500, now: float | None = None) -> Backlog:
        clock, at = self._now(), self._bot(now)
        events = timers = 0
        for key in self._due.due(at, limit):
            slot = self._peek(key, clock)
            if slot is None or slot.token is not None:
                continue
            events += len(slot.inbox)
            record = slot.record
            timers += sum(1 for t in record.timers.values() if t.at <= at) if record else 0
        return Backlog(events, timers)

    async def file_messages(self, key: str, messages: Mapping[str, str]) -> None:
        clock = self._now()
        self._get(key, clock).write_messages(messages, clock + self.messages_seconds)

    async def messages(self, key: str) -> dict[str, str]:
        """The conversation's message records, {} when none are kept."""
        slot = self._peek(key, self._now())
        return dict(slot.messages) if slot is not None else {}

    async def link_workflow(self, workflow_id: str, link: str, *, seconds: float) -> None:
        now = self._now()
        if len(self._workflows) >= _WORKFLOWS_TIDY_AT:
            self._workflows = {k: v for k, v in self._workflows.items() if v[1] > now}
        self._workflows[workflow_id] = (link, now + seconds)

    async def workflow_link(self, workflow_id: str) -> str | None:
        found = self._workflows.get(workflow_id)
        if found is None or found[1] <= self._now():
            return None
        return found[0]

    async def keys(self, limit: int = 1000) -> list[str]:
        """Keys of conversations with a live committed record, oldest first, at most ``limit``."""
        now = self._now()
        found: list[str] = []
        for key, slot in self._slots.items():
            if len(found) >= limit:
                break
            slot.settle(now)
            if slot.record is not None:
                found.append(key)
        return found

    def parts_buffer(self, limits: PartsLimits) -> PartsBuffer:
        """A buffer on this store's parts (every buffer of this store shares them), on the
        store's clock."""
        return MemoryPartsBuffer(limits, now=self._now, shelf=self._parts)

    def rate_limiter(self, rates: Mapping[Channel, float]) -> RateLimiter:
        """A :class:`~botkit.ratelimit.ChannelLimiter`: buckets in this process, which is the
        only one a memory store serves."""
        return ChannelLimiter(rates)

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` once the store is closed."""
        self._now()

    async def close(self) -> None:
        """Drop everything; later calls raise :class:`StoreUnavailable`."""
        self._closed = True
        self._slots.clear()
        self._due.clear()
        self._parts = MemoryParts()
