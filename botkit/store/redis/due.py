"""The due index in Redis: one small sorted set per cluster slot, found through a set of hints.

Keys (``P`` is the prefix; ``{S}`` is a hash tag chosen to fall in cluster slot ``s``, so a
conversation's bucket lives in its own slot)::

    P:due:{S}      ZSET    tags of slot s's conversations scored by when the sweep should look
                           at them (the bot's clock, ms): the earliest of their pending work
    {P:due}:hints  ZSET    "s:n" (n random) scored no later than the earliest mark of bucket s

Why buckets: one sorted set for every conversation is a hot key (every turn writes it, on one
cluster node), and past 128 members Redis keeps a sorted set as a skip list costing ~130 bytes
a member. 16,384 buckets keep each under that up to about a million marked conversations,
where a member costs its tag and score (~45 bytes).

Why hints: a sweep must find the due buckets without reading all 16,384. Every bucket with
marks has a hint scored at or before its earliest mark. A write that makes a bucket's earliest
mark earlier adds a hint of its own (a random name, so no other write or sweep can remove it by
mistake); a sweep reads the due hints, works their buckets, adds each bucket's new
earliest mark as a hint, then removes the hints it read. Extra hints only cost a look. A writer
that dies between its mark and its hint leaves a mark no hint points at: each sweep also looks
at a few buckets in turn (:data:`ROUNDS`), so such a mark waits one round at most.

``{P:due}:hints`` hashes like ``P:due``, the single index of earlier versions, so one script
reads both: a sweep moves marks left there into their buckets.
"""

from __future__ import annotations

import binascii
import functools
import os
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from redis.commands.core import AsyncScript

from botkit.store.redis.batcher import Call

SLOTS: Final = 16384
"""Cluster slots, and so buckets."""

ROUNDS: Final = 64
"""Buckets a sweep looks at in turn besides the hinted ones: one process covers every bucket
within 256 sweeps."""


def slot(tag: str) -> int:
    """The cluster slot of keys whose hash tag is ``tag`` (CRC16 of it, as Redis computes)."""
    return binascii.crc_hqx(tag.encode(), 0) % SLOTS


@functools.cache
def slot_tags() -> tuple[str, ...]:
    """For each slot, the shortest hash tag (of digits and letters) that falls in it."""
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    found: list[str | None] = [None] * SLOTS
    left = SLOTS
    words = list(alphabet)
    while left:
        for word in words:
            at = slot(word)
            if found[at] is None:
                found[at] = word
                left -= 1
        words = [w + c for w in words for c in alphabet] if left else []
    return tuple(t for t in found if t is not None)


SCRIPT_FIRST: Final = """
local function first()
  local f = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if f[2] then return tonumber(f[2]) end
  return nil
end
"""

SET: Final = (
    SCRIPT_FIRST
    + """
-- KEYS: bucket. ARGV: sweep ('1' from a sweep), then quadruples (op, member, a, b),
-- times on the bot's clock in ms: 't' = due at a; 'l' = due at a, unless it is due earlier
-- already (such a mark only moves earlier); 'f' = forget, only if the score is still a, the one
-- the sweep read (an accept since then changed it, and that accept must not be forgotten);
-- 'm' = due at b, only if the score is still a. b is '' when unused.
-- Reply {first}: add a hint scored first (the bucket's earliest mark), asked when the earliest
-- mark moved earlier, and always from a sweep; {} when no hint is needed.
local before = first()
for i = 2, #ARGV, 4 do
  local op, member = ARGV[i], ARGV[i + 1]
  if op == 't' then
    redis.call('ZADD', KEYS[1], ARGV[i + 2], member)
  elseif op == 'l' then
    redis.call('ZADD', KEYS[1], 'LT', ARGV[i + 2], member)
  elseif tonumber(redis.call('ZSCORE', KEYS[1], member)) == tonumber(ARGV[i + 2]) then
    if op == 'f' then
      redis.call('ZREM', KEYS[1], member)
    else
      redis.call('ZADD', KEYS[1], ARGV[i + 3], member)
    end
  end
end
local after = first()
if after and (ARGV[1] == '1' or not before or after < before) then
  return {after}
end
return {}
"""
)

READ: Final = """
-- KEYS: bucket. ARGV: limit, at (the bot's clock, ms). Members due at that time, earliest
-- first, with their scores.
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'WITHSCORES', 'LIMIT', 0, ARGV[1])
"""

HINTS: Final = """
-- KEYS: hints, the single index of earlier versions. ARGV: at, limit, newest (optional).
-- Reply {hints due at that time with their scores, earliest first, then the newest most
-- recently due (a holder that just died is not kept behind a backlog); up to limit old marks}.
local hints = redis.call(
  'ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[2])
if tonumber(ARGV[3] or '0') > 0 then
  local recent = redis.call(
    'ZREVRANGEBYSCORE', KEYS[1], ARGV[1], '-inf', 'WITHSCORES', 'LIMIT', 0, ARGV[3])
  for i = 1, #recent do hints[#hints + 1] = recent[i] end
end
return {hints, redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[2]) - 1, 'WITHSCORES')}
"""

HINT: Final = """
-- KEYS: hints, the single index of earlier versions. ARGV: n, n (score, hint) pairs to add,
-- m, m hints to remove (unless just added), then (member, score) pairs to remove from the old
-- index if their score is still that one.
local n = tonumber(ARGV[1])
local added = {}
for i = 2, 2 * n, 2 do
  redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1])
  added[ARGV[i + 1]] = true
end
local at = 2 * n + 2
local m = tonumber(ARGV[at])
for i = at + 1, at + m do
  if not added[ARGV[i]] then redis.call('ZREM', KEYS[1], ARGV[i]) end
end
for i = at + m + 1, #ARGV, 2 do
  if tonumber(redis.call('ZSCORE', KEYS[2], ARGV[i])) == tonumber(ARGV[i + 1]) then
    redis.call('ZREM', KEYS[2], ARGV[i])
  end
end
return 0
"""

Run = Callable[[Sequence[Call]], Awaitable[list[Any]]]
"""How scripts are run: the store's batcher."""


@dataclass
class Found:
    """What a sweep read: the due marks of each bucket it looked at (tag, score), the hints it
    read, and marks of the old single index to move."""

    marks: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    hinted: set[int] = field(default_factory=set)
    hints: list[str] = field(default_factory=list)
    old: list[tuple[str, int]] = field(default_factory=list)

    def due(self) -> list[tuple[str, int]]:
        """Every mark read, earliest first."""
        return sorted((m for marks in self.marks.values() for m in marks), key=lambda m: m[1])


class DueIndex:
    """The due index under ``prefix``; scripts go through ``run`` (the store's batcher)."""

    def __init__(self, prefix: str, register: Callable[[str], AsyncScript]) -> None:
        self._prefix = prefix
        self._tags = slot_tags()
        self.hints_key = f"{{{prefix}:due}}:hints"
        self.old_key = f"{prefix}:due"
        self._set = register(SET)
        self._read = register(READ)
        self._hints = register(HINTS)
        self._hint = register(HINT)
        self._next_round = random.randrange(SLOTS)

    @property
    def scripts(self) -> tuple[AsyncScript, ...]:
        return self._set, self._read, self._hints, self._hint

    def bucket(self, at: int) -> list[str]:
        """The key of slot ``at``'s bucket, as a script's keys."""
        return [f"{self._prefix}:due:{{{self._tags[at]}}}"]

    def mark(self, tag: str, op: str, at: int) -> Call:
        """The script call writing one conversation's mark (``op`` as in :data:`SET`)."""
        return self._set, self.bucket(slot(tag)), ["0", op, tag, at, ""]

    async def publish(self, run: Run, replies: Iterable[tuple[int, Sequence[Any]]]) -> None:
        """Add the hints that mark replies (slot, reply of :data:`SET`) ask for."""
        pairs = [x for s, reply in replies if reply for x in (reply[0], _hint(s))]
        if pairs:
            await run([(self._hint, [self.hints_key, self.old_key], [len(pairs) // 2, *pairs, 0])])

    async def write(self, run: Run, ops: Iterable[tuple[str, str, int]]) -> None:
        """Write marks (op, tag, at), one script per bucket, then the hints they need."""
        by_slot: dict[int, list[object]] = defaultdict(list)
        for op, tag, at in ops:
            by_slot[slot(tag)] += [op, tag, at, ""]
        slots = list(by_slot)
        replies = await run([(self._set, self.bucket(s), ["0", *by_slot[s]]) for s in slots])
        await self.publish(run, zip(slots, replies, strict=True))

    async def read(self, run: Run, at: int, limit: int, newest: int = 0) -> Found:
        """The marks due at ``at`` (bot clock, ms) in the buckets of the due hints and the next
        :data:`ROUNDS` buckets in turn: about ``limit`` in all, at least 8 per bucket; the
        buckets of the ``newest`` most recently due hints too."""
        found = Found()
        keys = [self.hints_key, self.old_key]
        ((hints, old),) = await run([(self._hints, keys, [at, limit, newest])])
        found.hints = hints[0::2]
        found.old = [(m, int(float(s))) for m, s in zip(old[0::2], old[1::2], strict=True)]
        found.hinted = {int(h.split(":", 1)[0]) for h in found.hints}
        start = self._next_round
        self._next_round = (start + ROUNDS) % SLOTS
        slots = sorted(found.hinted | {(start + i) % SLOTS for i in range(ROUNDS)})
        each = min(limit, max(8, -(-2 * limit // max(1, len(found.hinted)))))
        calls = [(self._read, self.bucket(s), [each, at]) for s in slots]
        for s, marks in zip(slots, await run(calls), strict=True):
            if marks:
                found.marks[s] = [
                    (m, int(float(sc))) for m, sc in zip(marks[0::2], marks[1::2], strict=True)
                ]
        return found

    async def settle(
        self, run: Run, found: Found, ops: Sequence[tuple[str, str, int, int | str]]
    ) -> None:
        """Write a sweep's ``ops``, move the old index's marks read into their buckets, hint
        each bucket looked at by its new earliest mark and drop the hints read."""
        moved = [("l", tag, score, "") for tag, score in found.old]
        touched = found.hinted | set(found.marks) | {slot(tag) for _, tag, _, _ in [*ops, *moved]}
        by_slot: dict[int, list[object]] = {s: [] for s in touched}
        for op, tag, a, b in [*ops, *moved]:
            by_slot[slot(tag)] += [op, tag, a, b]
        slots = list(by_slot)
        calls = [(self._set, self.bucket(s), ["1", *by_slot[s]]) for s in slots]
        replies = await run(calls) if calls else []
        pairs = [
            x for s, reply in zip(slots, replies, strict=True) if reply
            for x in (reply[0], _hint(s))
        ]  # fmt: skip
        forget = [x for tag, score in found.old for x in (tag, score)]
        if pairs or found.hints or forget:
            args = [len(pairs) // 2, *pairs, len(found.hints), *found.hints, *forget]
            await run([(self._hint, [self.hints_key, self.old_key], args)])

    async def first(self, run: Run) -> int | None:
        """No later than the earliest mark (bot clock, ms), None when nothing is marked."""
        ((hints, old),) = await run([(self._hints, [self.hints_key, self.old_key], ["+inf", 1])])
        scores = [int(float(s)) for s in (*hints[1:2], *old[1:2])]
        return min(scores) if scores else None


def _hint(at: int) -> str:
    """A new hint's name for slot ``at``'s bucket: 48 random bits make it its own."""
    return f"{at}:{os.urandom(6).hex()}"
