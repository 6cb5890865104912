"""The embedded store: every conversation in this process's memory.

It keeps the same rules as :class:`~botkit.store.redis.RedisStore` (dedup window, lease expiry
and fencing, idle expiry of records, the due index the sweep reads), so a bot behaves the same
on both; only durability differs: everything is gone when the process ends, and two processes
never share conversations.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from botkit.conversation import Conversation, OutboxEntry
from botkit.events import Channel, Event
from botkit.ratelimit import ChannelLimiter, RateLimiter
from botkit.store.base import (
    Accepted,
    Claim,
    Commit,
    Lease,
    LeaseLost,
    Store,
    StoreUnavailable,
)
from botkit.store.parts import MemoryParts, MemoryPartsBuffer, PartsBuffer, PartsLimits

_PURGE_EVERY = 60.0
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

    def has_work(self) -> bool:
        return bool(self.inbox or self.outbox)

    def is_empty(self) -> bool:
        return self.record is None and not (
            self.fence or self.inbox or self.outbox or self.seen or self.token or self.messages
        )

    def write_messages(self, messages: Mapping[str, str], until: float) -> None:
        if messages:
            self.messages.update(messages)
            self.messages_expire = until


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
        self._due: dict[str, float] = {}
        self._next_purge = 0.0
        self._parts = MemoryParts()
        self._closed = False

    # --- helpers -----------------------------------------------------------------------------

    def _now(self) -> float:
        if self._closed:
            raise StoreUnavailable("the memory store is closed")
        return self._clock()

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
        slot.record_expires = now + self.idle_seconds
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

    async def accept(self, key: str, event: Event, *, owner: str | None) -> Accepted:
        """Dedup, append to the inbox, mark the conversation due and try to take the lease,
        all at once. A duplicate adds nothing, but may still take a free lease over work that
        is waiting. Without an ``owner`` no lease is taken and the conversation is due now."""
        now = self._now()
        slot = self._get(key, now)
        dedup_key = event.dedup_key
        duplicate = dedup_key in slot.seen
        if not duplicate:
            slot.seen[dedup_key] = now + self.dedup_seconds
            slot.inbox.append(event)
        due = now + self.lease_seconds + self.grace_seconds if owner is not None else now
        self._due[key] = min(due, self._due.get(key, due))
        claim = None
        if owner is not None and slot.token is None and slot.has_work():
            claim = self._take(key, slot, owner, now)
        self._tidy(key, slot)
        return Accepted(duplicate=duplicate, claim=claim)

    async def claim(self, key: str, *, owner: str, reclaim: bool = False) -> Claim | None:
        """Take the lease if it is free (or, with ``reclaim``, names ``owner``) and there is
        work; else None."""
        now = self._now()
        slot = self._peek(key, now)
        if slot is None or (slot.token is not None and not self._own(slot, owner, reclaim)):
            return None
        if not slot.has_work():
            slot.token = None
            self._tidy(key, slot)
            return None
        return self._take(key, slot, owner, now)

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

    async def commit(self, lease: Lease, commit: Commit) -> None:
        """Check the lease, write the conversation (its outbox in place of the stored one), pop
        the oldest event, write the message records and extend the lease and the record's idle
        expiry. Raises :class:`LeaseLost` and changes nothing when the lease is not held."""
        now = self._now()
        slot = self._held(lease, now)
        conversation = commit.conversation
        slot.record = replace(conversation, key=lease.key, outbox=())
        slot.record_expires = now + self.idle_seconds
        if slot.inbox:
            slot.inbox.popleft()
        slot.outbox = deque(conversation.outbox)
        slot.write_messages(commit.messages, now + self.messages_seconds)
        slot.lease_expires = now + self.lease_seconds

    async def ack(
        self,
        lease: Lease,
        sent: int,
        messages: Mapping[str, str] | None = None,
        *,
        retry: OutboxEntry | None = None,
        events: Sequence[Event] = (),
        wait: float | None = None,
    ) -> Claim | None:
        """Drop ``sent`` outbox entries, put ``retry`` at the head, append ``events`` and write
        ``messages``; release the lease and return None when nothing is left (or only a
        waiting outbox: then it is due in ``wait`` seconds), else extend it and return what is
        next. A lease that expired without anyone taking it since is taken back (what was sent
        must not be sent again). Raises :class:`LeaseLost` (nothing written) when another
        holder came in between."""
        now = self._now()
        slot = self._held_or_unmoved(lease, now)
        for _ in range(min(max(sent, 0), len(slot.outbox))):
            slot.outbox.popleft()
        if retry is not None and slot.outbox:
            slot.outbox[0] = retry
        slot.inbox.extend(events)
        slot.write_messages(messages or {}, now + self.messages_seconds)
        if not slot.has_work():
            slot.token = None
            self._tidy(lease.key, slot)
            return None
        if wait is not None and not slot.inbox:
            slot.token = None
            self._due[lease.key] = now + max(wait, 0.0)
            return None
        slot.lease_expires = now + self.lease_seconds
        return self._work(lease, slot)

    async def release(self, lease: Lease) -> None:
        """Drop the lease if this holder has it; the conversation is due now."""
        now = self._now()
        slot = self._peek(lease.key, now)
        if slot is not None and slot.token == lease.token:
            slot.token = None
        self._due[lease.key] = now

    async def sweep(
        self, *, owner: str, limit: int = 100, skip: Collection[str] = ()
    ) -> list[Claim]:
        """Claim due conversations with work and a free lease (or one of ``owner``'s, not in
        ``skip``), look again later at leased ones (due ``grace_seconds`` after their lease
        expires) and forget idle ones."""
        now = self._now()
        due = sorted((deadline, key) for key, deadline in self._due.items() if deadline <= now)
        claims: list[Claim] = []
        for _, key in due[:limit]:
            slot = self._peek(key, now)
            if key in skip:
                self._due[key] = now + self.lease_seconds + self.grace_seconds
            elif slot is None:
                del self._due[key]
            elif slot.token is not None and not self._own(slot, owner, True):
                self._due[key] = slot.lease_expires + self.grace_seconds
            elif slot.has_work():
                claims.append(self._take(key, slot, owner, now))
                self._due[key] = now + self.lease_seconds + self.grace_seconds
            else:
                slot.token = None  # a lease of the caller's own that nobody works
                self._tidy(key, slot)
                del self._due[key]
        if now >= self._next_purge:
            self._purge(now)
        return claims

    def _purge(self, now: float) -> None:
        self._next_purge = now + _PURGE_EVERY
        for key, slot in list(self._slots.items()):
            slot.settle(now)
            self._tidy(key, slot)

    async def load(self, key: str) -> Conversation | None:
        """The committed conversation with its outbox, None when there is none or it expired."""
        slot = self._peek(key, self._now())
        if slot is None or slot.record is None:
            return None
        return replace(slot.record, outbox=tuple(slot.outbox))

    async def messages(self, key: str) -> dict[str, str]:
        """The conversation's message records, {} when none are kept."""
        slot = self._peek(key, self._now())
        return dict(slot.messages) if slot is not None else {}

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
