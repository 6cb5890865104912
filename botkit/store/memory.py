"""The embedded store: every conversation in this process's memory.

It keeps the same rules as :class:`~botkit.store.redis.RedisStore` (dedup window, lease expiry
and fencing, idle expiry of records, the due index the sweep reads), so a bot behaves the same
on both; only durability differs: everything is gone when the process ends, and two processes
never share conversations.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from botkit.store.base import (
    Accepted,
    Claim,
    Lease,
    LeaseLost,
    Record,
    Store,
    StoreUnavailable,
    Turn,
)

_PURGE_EVERY = 60.0
"""Seconds (store clock) between passes that drop conversations with nothing left in them."""


@dataclass(eq=False)
class _Conversation:
    """One conversation, laid out like its Redis keys: each part expires on its own."""

    record: Record | None = None
    fence: int = 0
    record_expires: float = 0.0
    """When ``record`` and ``fence`` vanish together (the Redis record hash's idle expiry)."""
    inbox: deque[str] = field(default_factory=deque)
    outbox: deque[str] = field(default_factory=deque)
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
        self._conversations: dict[str, _Conversation] = {}
        self._due: dict[str, float] = {}
        self._next_purge = 0.0
        self._closed = False

    # --- helpers -----------------------------------------------------------------------------

    def _now(self) -> float:
        if self._closed:
            raise StoreUnavailable("the memory store is closed")
        return self._clock()

    def _get(self, key: str, now: float) -> _Conversation:
        conversation = self._conversations.get(key)
        if conversation is None:
            conversation = self._conversations[key] = _Conversation()
        conversation.settle(now)
        return conversation

    def _peek(self, key: str, now: float) -> _Conversation | None:
        conversation = self._conversations.get(key)
        if conversation is not None:
            conversation.settle(now)
        return conversation

    def _tidy(self, key: str, conversation: _Conversation) -> None:
        if conversation.is_empty():
            self._conversations.pop(key, None)

    def _take(self, key: str, conversation: _Conversation, owner: str, now: float) -> Claim:
        conversation.fence += 1
        conversation.record_expires = now + self.idle_seconds
        conversation.token = f"{owner}:{conversation.fence}"
        conversation.lease_expires = now + self.lease_seconds
        return self._work(Lease(key, conversation.token, conversation.fence), conversation)

    @staticmethod
    def _work(lease: Lease, conversation: _Conversation) -> Claim:
        return Claim(
            lease=lease,
            record=conversation.record or Record(),
            event=conversation.inbox[0] if conversation.inbox else None,
            outbox=tuple(conversation.outbox),
        )

    def _held(self, lease: Lease, now: float) -> _Conversation:
        conversation = self._peek(lease.key, now)
        if conversation is None or conversation.token != lease.token:
            raise LeaseLost(f"the lease {lease.token} on {lease.key} is no longer held")
        return conversation

    def _held_or_unmoved(self, lease: Lease, now: float) -> _Conversation:
        """The conversation when ``lease`` is held, or expired with nobody taking it since
        (the fence has not moved): then the lease is taken back."""
        conversation = self._peek(lease.key, now)
        if (
            conversation is not None
            and conversation.token is None
            and conversation.fence == lease.fence
        ):
            conversation.token = lease.token
            conversation.lease_expires = now + self.lease_seconds
        return self._held(lease, now)

    # --- the contract ------------------------------------------------------------------------

    async def accept(self, key: str, dedup_key: str, event: str, *, owner: str) -> Accepted:
        """Dedup, append to the inbox, mark the conversation due and try to take the lease,
        all at once. A duplicate adds nothing, but may still take a free lease over work that
        is waiting."""
        now = self._now()
        conversation = self._get(key, now)
        duplicate = dedup_key in conversation.seen
        if not duplicate:
            conversation.seen[dedup_key] = now + self.dedup_seconds
            conversation.inbox.append(event)
        self._due[key] = now + self.lease_seconds + self.grace_seconds
        claim = None
        if conversation.token is None and conversation.has_work():
            claim = self._take(key, conversation, owner, now)
        self._tidy(key, conversation)
        return Accepted(duplicate=duplicate, claim=claim)

    async def claim(self, key: str, *, owner: str) -> Claim | None:
        """Take the lease if it is free and there is work; else None (nothing changes)."""
        now = self._now()
        conversation = self._peek(key, now)
        if conversation is None or conversation.token is not None:
            return None
        if not conversation.has_work():
            self._tidy(key, conversation)
            return None
        return self._take(key, conversation, owner, now)

    async def extend(self, lease: Lease) -> bool:
        """Move the lease's expiry ``lease_seconds`` from now; take it back if it expired with
        nobody taking it since; False if another holder has it."""
        now = self._now()
        try:
            conversation = self._held_or_unmoved(lease, now)
        except LeaseLost:
            return False
        conversation.lease_expires = now + self.lease_seconds
        return True

    async def commit(self, lease: Lease, turn: Turn) -> None:
        """Check the lease, write the record, pop the oldest event, append the replies and
        extend the lease and the record's idle expiry. Raises :class:`LeaseLost` and changes
        nothing when the lease is not held."""
        now = self._now()
        conversation = self._held(lease, now)
        conversation.record = turn.record
        conversation.record_expires = now + self.idle_seconds
        if conversation.inbox:
            conversation.inbox.popleft()
        conversation.outbox.extend(turn.replies)
        conversation.write_messages(turn.messages, now + self.messages_seconds)
        conversation.lease_expires = now + self.lease_seconds

    async def ack(
        self, lease: Lease, sent: int, messages: Mapping[str, str] | None = None
    ) -> Claim | None:
        """Drop ``sent`` outbox entries and write ``messages``; release the lease and return
        None when nothing is left, else extend it and return what is next. A lease that expired
        without anyone taking it since is taken back (what was sent must not be sent again).
        Raises :class:`LeaseLost` (nothing written) when another holder came in between."""
        now = self._now()
        conversation = self._held_or_unmoved(lease, now)
        for _ in range(min(max(sent, 0), len(conversation.outbox))):
            conversation.outbox.popleft()
        conversation.write_messages(messages or {}, now + self.messages_seconds)
        if not conversation.has_work():
            conversation.token = None
            self._tidy(lease.key, conversation)
            return None
        conversation.lease_expires = now + self.lease_seconds
        return self._work(lease, conversation)

    async def sweep(
        self, *, owner: str, limit: int = 100, skip: Collection[str] = ()
    ) -> list[Claim]:
        """Claim due conversations with work and a free lease, look again later at leased
        ones (due ``grace_seconds`` after their lease expires) and forget idle ones."""
        now = self._now()
        due = sorted((deadline, key) for key, deadline in self._due.items() if deadline <= now)
        claims: list[Claim] = []
        for _, key in due[:limit]:
            conversation = self._peek(key, now)
            if key in skip:
                self._due[key] = now + self.lease_seconds + self.grace_seconds
            elif conversation is not None and conversation.token is not None:
                self._due[key] = conversation.lease_expires + self.grace_seconds
            elif conversation is not None and conversation.has_work():
                claims.append(self._take(key, conversation, owner, now))
                self._due[key] = now + self.lease_seconds + self.grace_seconds
            else:
                del self._due[key]
        if now >= self._next_purge:
            self._purge(now)
        return claims

    def _purge(self, now: float) -> None:
        self._next_purge = now + _PURGE_EVERY
        for key, conversation in list(self._conversations.items()):
            conversation.settle(now)
            self._tidy(key, conversation)

    async def load(self, key: str) -> Record | None:
        """The committed record, None when there is none or it expired."""
        conversation = self._peek(key, self._now())
        return conversation.record if conversation is not None else None

    async def messages(self, key: str) -> dict[str, str]:
        """The conversation's message records, {} when none are kept."""
        conversation = self._peek(key, self._now())
        return dict(conversation.messages) if conversation is not None else {}

    async def keys(self, limit: int = 1000) -> list[str]:
        """Keys of conversations with a live committed record, oldest first, at most ``limit``."""
        now = self._now()
        found: list[str] = []
        for key, conversation in self._conversations.items():
            if len(found) >= limit:
                break
            conversation.settle(now)
            if conversation.record is not None:
                found.append(key)
        return found

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` once the store is closed."""
        self._now()

    async def close(self) -> None:
        """Drop everything; later calls raise :class:`StoreUnavailable`."""
        self._closed = True
        self._conversations.clear()
        self._due.clear()
