"""The parts buffer: where the parts of one message wait for each other, durably.

A long SMS arrives as parts, one webhook each, in any order, possibly more than once and at
different processes. A :class:`PartsBuffer` holds them in the store until the set is complete,
and hands what arrived to delivery once the wait is over, so a part answered 200 is never lost.
The buffer never interprets a part: each is an opaque ``body`` string with the few facts the
buffer needs (its set, sender, number, the set's total, and an id that tells a redelivery from
a new part).

A set's life::

    waiting ──(last part)──▶ complete ──(done: the caller accepted the message)──▶ done
       │                        │                                                 (tombstone
       └──(wait over, bound, ───┴──▶ due ──(claim_due)──▶ claimed ──(delivered)──▶ forgotten
           ref reused)                                        │
                                                              └──(claim window over)──▶ due

Bounds: at most ``per_sender`` parts of one sender and ``total`` parts overall are held
(waiting or complete). A part that would pass a bound is still stored: the sender's oldest set
(or, for the total, the oldest set) is handed to delivery at once with what arrived of it, so
nothing is refused and nothing is lost; only that message reaches the bot early, incomplete.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

DEFAULT_WAIT = 24 * 60 * 60.0
"""Seconds a set waits for its missing parts by default: the provider's retry span."""


@dataclass(frozen=True)
class PartsLimits:
    """How long sets wait and how much the buffer holds.

    ``wait_seconds``: how long a set waits for its missing parts after its first part
    arrived; ``per_sender``: parts held for one sender at most; ``total``: parts held at most
    (on Redis split evenly across the buckets, see
    :class:`~botkit.store.redis.parts.RedisPartsBuffer`); ``claim_seconds``: how long a set
    claimed for delivery stays reserved for its claimer before another process may claim it.
    """

    wait_seconds: float = DEFAULT_WAIT
    per_sender: int = 1000
    total: int = 100_000
    claim_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.wait_seconds <= 0:
            raise ValueError(f"wait_seconds must be positive, got {self.wait_seconds!r}")
        if self.claim_seconds <= 0:
            raise ValueError(f"claim_seconds must be positive, got {self.claim_seconds!r}")
        if not 1 <= self.per_sender <= self.total:
            raise ValueError(
                f"per_sender must be from 1 to total ({self.total}), got {self.per_sender}"
            )


@dataclass(frozen=True)
class Part:
    """One part to hold: ``body`` is opaque to the buffer."""

    key: str
    """The set it belongs to (all parts of one message share it)."""
    sender: str
    """Who sent it: the per-sender bound counts parts by this."""
    number: int
    """1 to ``total``."""
    total: int
    part_id: str
    """The provider's id of this part: the same number with another id means the set's key
    was reused for a new message."""
    body: str


@dataclass(frozen=True)
class Added:
    """What :meth:`PartsBuffer.add` did with a part."""

    outcome: Literal["held", "complete", "duplicate"]
    """``held``: stored, the set still waits; ``complete``: the set is complete (now or
    before: a redelivery of a part of a complete set says so again until :meth:`done`);
    ``duplicate``: a redelivery of a part of a set already marked done."""
    bodies: tuple[str, ...] = ()
    """When complete: every part's body, in number order."""


@dataclass(frozen=True)
class DueParts:
    """A set handed to delivery: claimed by this caller until ``claim_seconds`` pass."""

    claim: str
    """What to give :meth:`PartsBuffer.delivered`."""
    bodies: tuple[str, ...]
    """The parts that arrived, in number order (at least one)."""
    complete: bool
    """True when every part arrived (a complete set nobody confirmed with :meth:`done`)."""


class PartsBuffer(Protocol):
    """Parts held in the store until their set is complete or its wait is over.

    Contract for every implementation (each call is atomic; any number of callers, in any
    number of processes sharing the store, may call at once):

    - :meth:`add` returns only once the part is stored (or recognised as a redelivery); a
      store failure raises :class:`~botkit.store.base.StoreUnavailable` and nothing is held.
    - The add that stores a set's last part gets ``complete`` with every body; so does a
      redelivered part of that set, until :meth:`done` marks it accepted. After that a
      redelivered part is a ``duplicate`` until the wait is over.
    - A part that does not fit its set (another ``total``, or a held number with another
      ``part_id``), or that arrives after the set's wait is over, hands the held set to delivery
      and starts a new set.
    - Sets whose wait is over, and sets pushed out by a bound, become due. :meth:`claim_due`
      claims due sets for ``claim_seconds``: two callers never hold the same set. A set is
      forgotten when its claimer reports it :meth:`delivered`; a claim not reported in time is
      claimable again (the caller's delivery must therefore tolerate a repeat).
    - At most ``per_sender`` parts per sender and ``total`` parts overall are held (waiting
      or complete); storing a part past a bound first hands the oldest sets to delivery.
    """

    limits: PartsLimits

    async def add(self, part: Part) -> Added:
        """Store ``part`` (see the contract)."""
        ...

    async def done(self, part: Part) -> None:
        """Mark the complete set holding ``part`` (same key and part id, so a newer set under
        the same key is left alone) accepted: its parts are dropped, their ids kept until the
        wait is over so that redeliveries are recognised. Anything else: nothing happens."""
        ...

    async def claim_due(self, limit: int = 100) -> list[DueParts]:
        """Claim sets that are due, oldest first (at most ``limit`` per bucket of the store)."""
        ...

    async def delivered(self, claims: Sequence[str]) -> None:
        """Forget claimed sets whose delivery succeeded."""
        ...

    async def held(self, sender: str | None = None) -> int:
        """How many parts are held (waiting or complete), for ``sender`` or in all."""
        ...


# --- memory -----------------------------------------------------------------------------------


@dataclass(eq=False)
class _Set:
    sender: str
    total: int
    deadline: float
    ids: dict[int, str] = field(default_factory=dict)
    bodies: dict[int, str] = field(default_factory=dict)
    state: Literal["waiting", "complete", "done"] = "waiting"


@dataclass(eq=False)
class MemoryParts:
    """The held sets of one :class:`~botkit.store.memory.MemoryStore`, shared by every buffer
    it hands out (as processes share one Redis)."""

    sets: dict[str, _Set] = field(default_factory=dict)
    """Waiting and complete sets in creation order, which is deadline order (every set waits
    as long)."""
    done: dict[str, _Set] = field(default_factory=dict)
    """Sets marked done (their ids only) until their deadline, in deadline order."""
    by_sender: dict[str, dict[str, None]] = field(default_factory=dict)
    """Keys of each sender's waiting and complete sets, oldest first."""
    counts: dict[str, int] = field(default_factory=dict)
    held: int = 0
    due: dict[str, tuple[float, DueParts]] = field(default_factory=dict)
    """Claim -> (claimable from, the set), in the order the sets became due."""
    serial: int = 0


class MemoryPartsBuffer:
    """A :class:`PartsBuffer` in this process's memory (see the contract there).

    Every method runs without awaiting, so each is atomic for the tasks of one event loop.
    ``now`` gives the store's time in seconds and raises
    :class:`~botkit.store.base.StoreUnavailable` once the store is closed.
    """

    def __init__(
        self,
        limits: PartsLimits | None = None,
        *,
        now: Callable[[], float] = time.monotonic,
        shelf: MemoryParts | None = None,
    ) -> None:
        self.limits = limits or PartsLimits()
        self._now = now
        self._shelf = shelf if shelf is not None else MemoryParts()

    async def add(self, part: Part) -> Added:
        """See :meth:`PartsBuffer.add`."""
        now = self._now()
        shelf = self._shelf
        tomb = shelf.done.get(part.key)
        if tomb is not None:
            if (
                tomb.deadline > now
                and tomb.total == part.total
                and tomb.ids.get(part.number) == part.part_id
            ):
                return Added("duplicate")
            del shelf.done[part.key]  # over, or the key was reused: a new set starts
        held = shelf.sets.get(part.key)
        if held is not None:
            known = held.ids.get(part.number)
            reused = held.total != part.total or known not in (None, part.part_id)
            if reused or held.deadline <= now:
                self._displace(part.key, now)
                held = None
            elif known is not None:
                return self._answer(held)
        held = self._make_room(part, held, now)
        if held is None:
            held = shelf.sets[part.key] = _Set(
                part.sender, part.total, now + self.limits.wait_seconds
            )
            shelf.by_sender.setdefault(part.sender, {})[part.key] = None
        held.ids[part.number] = part.part_id
        held.bodies[part.number] = part.body
        shelf.counts[part.sender] = shelf.counts.get(part.sender, 0) + 1
        shelf.held += 1
        if len(held.ids) == held.total:
            held.state = "complete"
        return self._answer(held)

    async def done(self, part: Part) -> None:
        """See :meth:`PartsBuffer.done`."""
        self._now()
        held = self._shelf.sets.get(part.key)
        if held is None or held.state != "complete" or part.part_id not in held.ids.values():
            return
        self._unhold(part.key, held)
        del self._shelf.sets[part.key]
        held.bodies.clear()
        held.state = "done"
        self._shelf.done[part.key] = held

    async def claim_due(self, limit: int = 100) -> list[DueParts]:
        """See :meth:`PartsBuffer.claim_due`."""
        now = self._now()
        shelf = self._shelf
        for key, tomb in list(shelf.done.items()):
            if tomb.deadline > now:
                break
            del shelf.done[key]
        for key, held in list(shelf.sets.items()):
            if held.deadline > now:
                break
            self._displace(key, now)
        claimed: list[DueParts] = []
        for claim, (start, due) in list(shelf.due.items()):
            if len(claimed) >= limit:
                break
            if start <= now:
                del shelf.due[claim]  # re-inserted last: the claim moves to the back of the line
                shelf.due[claim] = (now + self.limits.claim_seconds, due)
                claimed.append(due)
        return claimed

    async def delivered(self, claims: Sequence[str]) -> None:
        """See :meth:`PartsBuffer.delivered`."""
        self._now()
        for claim in claims:
            self._shelf.due.pop(claim, None)

    async def held(self, sender: str | None = None) -> int:
        """See :meth:`PartsBuffer.held`."""
        self._now()
        if sender is None:
            return self._shelf.held
        return self._shelf.counts.get(sender, 0)

    # --- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _answer(held: _Set) -> Added:
        if held.state == "waiting":
            return Added("held")
        return Added("complete", tuple(held.bodies[n] for n in sorted(held.bodies)))

    def _make_room(self, part: Part, held: _Set | None, now: float) -> _Set | None:
        """Hand the oldest sets to delivery until ``part`` fits both bounds; the part's own
        set goes last, and only when nothing else is left to push out."""
        shelf = self._shelf
        while shelf.counts.get(part.sender, 0) + 1 > self.limits.per_sender:
            mine = shelf.by_sender.get(part.sender, {})
            victim = next((k for k in mine if k != part.key), part.key)
            self._displace(victim, now)
            if victim == part.key:
                held = None
        while shelf.held + 1 > self.limits.total:
            victim = next((k for k in shelf.sets if k != part.key), part.key)
            self._displace(victim, now)
            if victim == part.key:
                held = None
        return held

    def _unhold(self, key: str, held: _Set) -> None:
        shelf = self._shelf
        count = len(held.bodies)
        left = shelf.counts.get(held.sender, 0) - count
        if left > 0:
            shelf.counts[held.sender] = left
        else:
            shelf.counts.pop(held.sender, None)
        shelf.held -= count
        mine = shelf.by_sender.get(held.sender)
        if mine is not None:
            mine.pop(key, None)
            if not mine:
                del shelf.by_sender[held.sender]

    def _displace(self, key: str, now: float) -> None:
        """Remove the waiting or complete set ``key``; make what arrived of it due now."""
        shelf = self._shelf
        held = shelf.sets.pop(key)
        bodies = tuple(held.bodies[n] for n in sorted(held.bodies))
        self._unhold(key, held)
        shelf.serial += 1
        claim = str(shelf.serial)
        shelf.due[claim] = (now, DueParts(claim, bodies, held.state == "complete"))
