"""The parts buffer in Redis: shared by every process, one Lua script per call.

Senders are spread over ``buckets`` buckets (CRC32 of the sender); everything about a bucket
lives under one hash tag, so every script touches one cluster slot and runs on Redis Cluster.
Keys of bucket ``b`` (``P`` is the prefix)::

    P:{sms-parts:b}:sets    HASH  set key -> JSON {t total, d deadline ms, st w|c|d, u sender,
                                   q serial, ids {number: part id}}
    P:{sms-parts:b}:bodies  HASH  "set key\\nnumber" -> part body
    P:{sms-parts:b}:wait    ZSET  waiting and complete sets scored by their deadline (ms):
                                   finds expired sets, and the oldest, without scanning
    P:{sms-parts:b}:senders ZSET  "len(sender) sender serial set key", all scored 0: each
                                   sender's sets oldest first, by lexical range
    P:{sms-parts:b}:counts  HASH  sender -> parts held, "*" -> parts held in the bucket,
                                   "#" -> the last serial
    P:{sms-parts:b}:due     ZSET  claim -> when it may be claimed (ms)
    P:{sms-parts:b}:out     HASH  claim -> JSON {c complete 0|1, p [bodies]}
    P:{sms-parts:b}:tombs   ZSET  sets marked done (their ids only, to recognise
                                   redeliveries) scored by their deadline (ms)

Scripts read the server's clock (``TIME``), so processes with skewed clocks agree on deadlines
and claims. The total bound is enforced per bucket, at ``ceil(total / buckets)`` parts each.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Callable, Sequence
from typing import Final

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from botkit.store.base import StoreUnavailable
from botkit.store.parts import Added, DueParts, Part, PartsLimits
from botkit.store.redis.batcher import Batcher
from botkit.store.redis.store import _ms

BUCKETS: Final = 16

_PRELUDE: Final = """
-- KEYS: sets, bodies, wait, senders, counts, due, out, tombs
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function meta_of(key)
  local raw = redis.call('HGET', KEYS[1], key)
  if raw then return cjson.decode(raw) end
  return nil
end

local function sender_prefix(sender)
  return string.format('%04d', #sender) .. sender
end

local function sender_member(m, key)
  return sender_prefix(m.u) .. string.format('%016d', m.q) .. key
end

local function count(name)
  return tonumber(redis.call('HGET', KEYS[5], name) or '0')
end

local function numbers(m)
  local found = {}
  for n, _ in pairs(m.ids) do found[#found + 1] = tonumber(n) end
  table.sort(found)
  return found
end

local function fields(key, list)
  local out = {}
  for i, n in ipairs(list) do out[i] = key .. '\\n' .. n end
  return out
end

-- Drop the held parts of a waiting or complete set from the counts and the sender index.
local function unhold(key, m)
  local held = fields(key, numbers(m))
  if #held > 0 then redis.call('HDEL', KEYS[2], unpack(held)) end
  if redis.call('HINCRBY', KEYS[5], m.u, -#held) <= 0 then redis.call('HDEL', KEYS[5], m.u) end
  redis.call('HINCRBY', KEYS[5], '*', -#held)
  redis.call('ZREM', KEYS[4], sender_member(m, key))
end

-- Remove set key; unless it was done, make what arrived of it due now.
local function displace(key, m, now)
  redis.call('HDEL', KEYS[1], key)
  redis.call('ZREM', KEYS[3], key)
  redis.call('ZREM', KEYS[8], key)
  if m.st == 'd' then return end
  local bodies = {}
  local held = fields(key, numbers(m))
  if #held > 0 then
    for _, body in ipairs(redis.call('HMGET', KEYS[2], unpack(held))) do
      if body then bodies[#bodies + 1] = body end
    end
  end
  unhold(key, m)
  local claim = tostring(redis.call('HINCRBY', KEYS[5], '#', 1))
  local complete = 0
  if m.st == 'c' then complete = 1 end
  redis.call('HSET', KEYS[7], claim, cjson.encode({c = complete, p = bodies}))
  redis.call('ZADD', KEYS[6], now, claim)
end

local function answer(key, m)
  if m.st == 'w' then return {0} end
  local reply = {1}
  for _, body in ipairs(redis.call('HMGET', KEYS[2], unpack(fields(key, numbers(m))))) do
    reply[#reply + 1] = body
  end
  return reply
end
"""

_ADD: Final = (
    _PRELUDE
    + """
-- ARGV: key, sender, number, total, part id, body, wait ms, per sender, per bucket.
-- Reply {0} held, {1, bodies...} complete, {2} duplicate.
local key, sender, n, total, pid = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local now = now_ms()
local m = meta_of(key)
if m then
  local known = m.ids[n]
  if m.d <= now or m.t ~= total or (known and known ~= pid) then
    displace(key, m, now)
    m = nil
  elseif m.st == 'd' then
    return {2}
  elseif known then
    return answer(key, m)
  end
end
local function push_out(victim)
  if victim == key then
    displace(key, m, now)
    m = nil
  else
    displace(victim, meta_of(victim), now)
  end
end
local prefix = sender_prefix(sender)
while count(sender) + 1 > tonumber(ARGV[8]) do
  local victim = nil
  local members = redis.call('ZRANGEBYLEX', KEYS[4], '[' .. prefix, '(' .. prefix .. '\\255',
    'LIMIT', 0, 2)
  for _, member in ipairs(members) do
    local vkey = string.sub(member, #prefix + 17)
    if vkey ~= key or victim == nil then victim = vkey end
    if vkey ~= key then break end
  end
  if victim == nil then break end
  push_out(victim)
end
while count('*') + 1 > tonumber(ARGV[9]) do
  local victim = nil
  for _, vkey in ipairs(redis.call('ZRANGE', KEYS[3], 0, 1)) do
    if vkey ~= key then
      victim = vkey
      break
    end
  end
  if victim == nil and m then victim = key end
  if victim == nil then break end
  push_out(victim)
end
if not m then
  m = {t = total, d = now + tonumber(ARGV[7]), st = 'w', u = sender,
       q = redis.call('HINCRBY', KEYS[5], '#', 1), ids = {}}
  redis.call('ZADD', KEYS[3], m.d, key)
  redis.call('ZADD', KEYS[4], 0, sender_member(m, key))
end
m.ids[n] = pid
redis.call('HSET', KEYS[2], key .. '\\n' .. n, ARGV[6])
redis.call('HINCRBY', KEYS[5], sender, 1)
redis.call('HINCRBY', KEYS[5], '*', 1)
if #numbers(m) == m.t then m.st = 'c' end
redis.call('HSET', KEYS[1], key, cjson.encode(m))
return answer(key, m)
"""
)

_DONE: Final = (
    _PRELUDE
    + """
-- ARGV: key, part id. A complete set holding that part id becomes a tombstone until its
-- deadline, when claim_due removes it.
local m = meta_of(ARGV[1])
if not m or m.st ~= 'c' then return 0 end
local mine = false
for _, pid in pairs(m.ids) do if pid == ARGV[2] then mine = true end end
if not mine then return 0 end
unhold(ARGV[1], m)
m.st = 'd'
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(m))
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[8], m.d, ARGV[1])
return 1
"""
)

_CLAIM: Final = (
    _PRELUDE
    + """
-- ARGV: limit, claim ms. Expired sets become due; then due sets are claimed.
-- Reply: claim, JSON, claim, JSON...
local now = now_ms()
local limit = tonumber(ARGV[1])
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[8], '-inf', now, 'LIMIT', 0, limit)) do
  local m = meta_of(key)
  if m and m.st == 'd' then redis.call('HDEL', KEYS[1], key) end
  redis.call('ZREM', KEYS[8], key)
end
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, limit)) do
  local m = meta_of(key)
  if m then displace(key, m, now) else redis.call('ZREM', KEYS[3], key) end
end
local reply = {}
for _, claim in ipairs(redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', now, 'LIMIT', 0, limit)) do
  local data = redis.call('HGET', KEYS[7], claim)
  if data then
    redis.call('ZADD', KEYS[6], now + tonumber(ARGV[2]), claim)
    reply[#reply + 1] = claim
    reply[#reply + 1] = data
  else
    redis.call('ZREM', KEYS[6], claim)
  end
end
return reply
"""
)

_HELD: Final = """
-- KEYS: counts. ARGV: sender, or "*" for the bucket.
return tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
"""

_DELIVERED: Final = """
-- KEYS: due, out. ARGV: claims.
redis.call('ZREM', KEYS[1], unpack(ARGV))
redis.call('HDEL', KEYS[2], unpack(ARGV))
return 0
"""


class RedisPartsBuffer:
    """A :class:`~botkit.store.parts.PartsBuffer` in Redis (see the contract there).

    Build it with :meth:`botkit.store.redis.store.RedisStore.parts_buffer`. ``unavailable`` turns a
    Redis error into the store's :class:`StoreUnavailable`. :meth:`add`, :meth:`done` and
    :meth:`delivered` are one script each; :meth:`claim_due` is one script per bucket, all in
    one round trip (calls made in the same event-loop tick share one, through a
    :class:`~botkit.store.redis.batcher.Batcher`).
    """

    def __init__(
        self,
        client: Redis | RedisCluster,
        limits: PartsLimits,
        *,
        prefix: str,
        unavailable: Callable[[BaseException], StoreUnavailable],
        buckets: int = BUCKETS,
    ) -> None:
        if buckets < 1:
            raise ValueError(f"buckets must be at least 1, got {buckets}")
        self.limits = limits
        self.buckets = buckets
        self._prefix = prefix
        self._per_bucket = math.ceil(limits.total / buckets)
        self._wait_ms = _ms(limits.wait_seconds)
        self._claim_ms = _ms(limits.claim_seconds)
        self._add = client.register_script(_ADD)
        self._done = client.register_script(_DONE)
        self._claim = client.register_script(_CLAIM)
        self._delivered = client.register_script(_DELIVERED)
        self._held = client.register_script(_HELD)
        self._batcher = Batcher(
            client,
            [self._add, self._done, self._claim, self._delivered, self._held],
            unavailable,
        )

    def bucket(self, sender: str) -> int:
        """The bucket that holds ``sender``'s sets."""
        return zlib.crc32(sender.encode("utf-8", "surrogatepass")) % self.buckets

    def _keys(self, bucket: int) -> list[str]:
        base = f"{self._prefix}:{{sms-parts:{bucket}}}:"
        names = ("sets", "bodies", "wait", "senders", "counts", "due", "out", "tombs")
        return [base + name for name in names]

    async def add(self, part: Part) -> Added:
        """See :meth:`~botkit.store.parts.PartsBuffer.add`."""
        args = [
            part.key,
            part.sender,
            part.number,
            part.total,
            part.part_id,
            part.body,
            self._wait_ms,
            self.limits.per_sender,
            self._per_bucket,
        ]
        reply = await self._batcher.eval(self._add, self._keys(self.bucket(part.sender)), args)
        if reply[0] == 1:
            return Added("complete", tuple(reply[1:]))
        return Added("duplicate" if reply[0] == 2 else "held")

    async def done(self, part: Part) -> None:
        """See :meth:`~botkit.store.parts.PartsBuffer.done`."""
        keys = self._keys(self.bucket(part.sender))
        await self._batcher.eval(self._done, keys, [part.key, part.part_id])

    async def claim_due(self, limit: int = 100) -> list[DueParts]:
        """See :meth:`~botkit.store.parts.PartsBuffer.claim_due`."""
        args = [limit, self._claim_ms]
        replies = await self._batcher.run(
            [(self._claim, self._keys(bucket), args) for bucket in range(self.buckets)]
        )
        found: list[DueParts] = []
        for bucket, reply in enumerate(replies):
            for claim, data in zip(reply[0::2], reply[1::2], strict=True):
                loaded = json.loads(data)
                bodies = loaded["p"] if isinstance(loaded["p"], list) else []
                found.append(DueParts(f"{bucket}:{claim}", tuple(bodies), loaded["c"] == 1))
        return found

    async def delivered(self, claims: Sequence[str]) -> None:
        """See :meth:`~botkit.store.parts.PartsBuffer.delivered`."""
        by_bucket: dict[int, list[str]] = {}
        for claim in claims:
            where, _, serial = claim.partition(":")
            by_bucket.setdefault(int(where), []).append(serial)
        for bucket, serials in by_bucket.items():
            keys = self._keys(bucket)
            await self._batcher.eval(self._delivered, [keys[5], keys[6]], serials)

    async def held(self, sender: str | None = None) -> int:
        """See :meth:`~botkit.store.parts.PartsBuffer.held`."""
        if sender is not None:
            keys = [self._keys(self.bucket(sender))[4]]
            return int(await self._batcher.eval(self._held, keys, [sender]))
        counts = [(self._held, [self._keys(b)[4]], ["*"]) for b in range(self.buckets)]
        return sum(int(n) for n in await self._batcher.run(counts))
