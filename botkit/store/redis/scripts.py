"""The Redis store's Lua scripts: each is one atomic step on one conversation or on the due index.

Conversation scripts get ``KEYS`` = record, inbox, outbox, lease (then seen for accept,
messages for commit and ack). A claim's reply is laid out by ``work()``: token, fence, the six
record fields (``codec.RECORD_FIELDS`` order), the oldest event, then the outbox.
"""

from __future__ import annotations

from typing import Final

PRELUDE: Final = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function has_work()
  return redis.call('LLEN', KEYS[2]) > 0 or redis.call('LLEN', KEYS[3]) > 0
end

local function take(owner, lease_ms, idle_ms)
  local fence = redis.call('HINCRBY', KEYS[1], 'f', 1)
  redis.call('PEXPIRE', KEYS[1], idle_ms)
  local token = owner .. ':' .. fence
  redis.call('SET', KEYS[4], token, 'PX', lease_ms)
  return token, fence
end

local function write_messages(key, ttl_ms, args, from, count)
  if count > 0 then
    redis.call('HSET', key, unpack(args, from, from + 2 * count - 1))
    redis.call('PEXPIRE', key, ttl_ms)
  end
end

-- head: the oldest event, or false when the caller has it already
local function work(out, token, fence, head)
  out[#out + 1] = token
  out[#out + 1] = fence
  local rec = redis.call('HMGET', KEYS[1], 's', 'd', 'v', 'r', 'w', 'm')
  for i = 1, 6 do out[#out + 1] = rec[i] end
  out[#out + 1] = head
  local outbox = redis.call('LRANGE', KEYS[3], 0, -1)
  for i = 1, #outbox do out[#out + 1] = outbox[i] end
  return out
end
"""

ACCEPT: Final = (
    PRELUDE
    + """
-- ARGV: dedup_key, event, owner ('' to take no lease), lease_ms, dedup_ms, idle_ms.
-- Reply {dup, 0} or {dup, 1, fresh, work...}; fresh = 1 when the oldest event is the one
-- just accepted (its text is then left out of the reply: the caller has it).
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
local dup = 0
local length = -1
if redis.call('ZSCORE', KEYS[5], ARGV[1]) then
  dup = 1
else
  redis.call('ZADD', KEYS[5], now + tonumber(ARGV[5]), ARGV[1])
  redis.call('PEXPIRE', KEYS[5], ARGV[5])
  length = redis.call('RPUSH', KEYS[2], ARGV[2])
end
if ARGV[3] == '' or redis.call('EXISTS', KEYS[4]) == 1 or not has_work() then
  return {dup, 0}
end
local token, fence = take(ARGV[3], ARGV[4], ARGV[6])
if length == 1 then
  return work({dup, 1, 1}, token, fence, false)
end
return work({dup, 1, 0}, token, fence, redis.call('LINDEX', KEYS[2], 0))
"""
)

CLAIM: Final = (
    PRELUDE
    + """
-- ARGV: owner, lease_ms, idle_ms, reclaim. Reply {0} idle, {1, pttl} leased, {2, work...}
-- claimed. With reclaim = '1' a lease naming owner counts as free: the caller knows none of
-- its workers holds it (a lost reply, a worker stopped by an outage).
local holder = redis.call('GET', KEYS[4])
local own = holder and ARGV[4] == '1' and string.sub(holder, 1, #ARGV[1] + 1) == ARGV[1] .. ':'
if holder and not own then
  return {1, redis.call('PTTL', KEYS[4])}
end
if not has_work() then
  if holder then
    redis.call('DEL', KEYS[4])
  end
  return {0}
end
local token, fence = take(ARGV[1], ARGV[2], ARGV[3])
return work({2}, token, fence, redis.call('LINDEX', KEYS[2], 0))
"""
)

COMMIT: Final = (
    PRELUDE
    + """
-- KEYS: record, inbox, outbox, lease, messages.
-- ARGV: token, lease_ms, idle_ms, present (flags for s, d, w, m), s, d, v, r, w, m,
--       messages_ms, message count n, n (id, json) pairs, then the outbox entries.
if redis.call('GET', KEYS[4]) ~= ARGV[1] then
  return 0
end
local set = {'v', ARGV[7], 'r', ARGV[8]}
local names, values = {'s', 'd', 'w', 'm'}, {ARGV[5], ARGV[6], ARGV[9], ARGV[10]}
for i = 1, 4 do
  if string.sub(ARGV[4], i, i) == '1' then
    set[#set + 1] = names[i]
    set[#set + 1] = values[i]
  else
    redis.call('HDEL', KEYS[1], names[i])
  end
end
redis.call('HSET', KEYS[1], unpack(set))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('LPOP', KEYS[2])
local count = tonumber(ARGV[12])
write_messages(KEYS[5], ARGV[11], ARGV, 13, count)
redis.call('DEL', KEYS[3])
for i = 13 + 2 * count, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[3], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('PEXPIRE', KEYS[4], ARGV[2])
return 1
"""
)

ACK: Final = (
    PRELUDE
    + """
-- KEYS: record, inbox, outbox, lease, messages.
-- ARGV: token, fence, sent, lease_ms, messages_ms, retry (the outbox's new head, or ''),
--       waits ('1' when the head must wait), n, n events to append to the inbox, then
--       (id, json) pairs.
-- Reply {0} lost, {1} released idle, {3} released with a waiting outbox, {2, work...} next.
-- A lease that expired with nobody taking it since (the fence has not moved) is taken back:
-- what was sent must be marked sent, or it would go again.
local holder = redis.call('GET', KEYS[4])
if not holder and redis.call('HGET', KEYS[1], 'f') == ARGV[2] then
  redis.call('SET', KEYS[4], ARGV[1], 'PX', ARGV[4])
  holder = ARGV[1]
end
if holder ~= ARGV[1] then
  return {0}
end
local sent = tonumber(ARGV[3])
if sent > 0 then
  redis.call('LTRIM', KEYS[3], sent, -1)
end
if ARGV[6] ~= '' and redis.call('LLEN', KEYS[3]) > 0 then
  redis.call('LSET', KEYS[3], 0, ARGV[6])
end
local events = tonumber(ARGV[8])
if events > 0 then
  redis.call('RPUSH', KEYS[2], unpack(ARGV, 9, 8 + events))
end
write_messages(KEYS[5], ARGV[5], ARGV, 9 + events, (#ARGV - 8 - events) / 2)
if not has_work() then
  redis.call('DEL', KEYS[4])
  return {1}
end
if ARGV[7] == '1' and redis.call('LLEN', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[4])
  return {3}
end
redis.call('PEXPIRE', KEYS[4], ARGV[4])
return work({2}, ARGV[1], tonumber(ARGV[2]), redis.call('LINDEX', KEYS[2], 0))
"""
)

EXTEND: Final = """
-- KEYS: lease, record. ARGV: token, lease_ms, fence. A lease that expired with nobody taking
-- it since (the fence has not moved: the store was away, not a rival) is taken back.
local holder = redis.call('GET', KEYS[1])
if not holder and redis.call('HGET', KEYS[2], 'f') == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder ~= ARGV[1] then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

RELEASE: Final = """
-- KEYS: lease. ARGV: token. Give the lease up if this holder still has it.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

LOAD: Final = """
-- KEYS: record, outbox. Reply: the six record fields, then the outbox; {} without a record.
local rec = redis.call('HMGET', KEYS[1], 's', 'd', 'v', 'r', 'w', 'm')
if not rec[4] then
  return {}
end
local outbox = redis.call('LRANGE', KEYS[2], 0, -1)
for i = 1, #outbox do rec[#rec + 1] = outbox[i] end
return rec
"""

DUE_READ: Final = """
-- KEYS: due. ARGV: limit. Members whose time has come, with their scores.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, ARGV[1])
"""

DUE_SET: Final = """
-- KEYS: due. ARGV: triples (op, member, number): 't' = due number ms from now;
-- 'l' = the same, unless it is due earlier already (a due time only moves earlier);
-- 'f' = forget, only if the score is still the number the sweep read (an accept since then
-- changed it, and that accept must not be forgotten).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #ARGV, 3 do
  if ARGV[i] == 't' then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[i + 2]), ARGV[i + 1])
  elseif ARGV[i] == 'l' then
    redis.call('ZADD', KEYS[1], 'LT', now + tonumber(ARGV[i + 2]), ARGV[i + 1])
  elseif tonumber(redis.call('ZSCORE', KEYS[1], ARGV[i + 1])) == tonumber(ARGV[i + 2]) then
    redis.call('ZREM', KEYS[1], ARGV[i + 1])
  end
end
return 0
"""
