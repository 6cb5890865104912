"""The Redis store's Lua scripts: each is one atomic step on one conversation (the due index's
are in :mod:`~botkit.store.redis.due`).

Conversation scripts get ``KEYS`` = record, inbox, outbox, lease (then seen for accept,
messages for commit and ack). A claim's reply is laid out by ``work()``: token, fence, the seven
record fields (``codec.RECORD_FIELDS`` order), the oldest event, then the outbox.

Two clocks: leases and dedup read the server's (``TIME``); timers and the due index use the
bot's, passed in as an argument in milliseconds (``at``). The record's field ``n`` is its first
timer's time (bot clock, ms), so a script tells whether a timer is due without reading them.
"""

from __future__ import annotations

from typing import Final

PRELUDE: Final = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- at: the bot's clock, ms
local function timer_due(at)
  local first = redis.call('HGET', KEYS[1], 'n')
  return first ~= false and tonumber(first) <= tonumber(at)
end

local function has_work(at)
  return redis.call('LLEN', KEYS[2]) > 0 or redis.call('LLEN', KEYS[3]) > 0 or timer_due(at)
end

local function take(owner, lease_ms, idle_ms)
  local fence = redis.call('HINCRBY', KEYS[1], 'f', 1)
  -- never shorter: a record with a timer far ahead lives past it
  if redis.call('PTTL', KEYS[1]) < tonumber(idle_ms) then
    redis.call('PEXPIRE', KEYS[1], idle_ms)
  end
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
  local rec = redis.call('HMGET', KEYS[1], 's', 'd', 'v', 'r', 'w', 'm', 't')
  for i = 1, 7 do out[#out + 1] = rec[i] end
  out[#out + 1] = head
  local outbox = redis.call('LRANGE', KEYS[3], 0, -1)
  for i = 1, #outbox do out[#out + 1] = outbox[i] end
  return out
end
"""

ACCEPT: Final = (
    PRELUDE
    + """
-- ARGV: dedup_key, event, owner ('' to take no lease), lease_ms, dedup_ms, idle_ms, at.
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
if ARGV[3] == '' or redis.call('EXISTS', KEYS[4]) == 1 or not has_work(ARGV[7]) then
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
-- ARGV: owner, lease_ms, idle_ms, reclaim, at. Reply {0, first} idle, {1, pttl, first}
-- leased, {2, work...} claimed; first is the first timer's time (bot clock, ms) or nil. With
-- reclaim = '1' a lease naming owner counts as free: the caller knows none of its workers
-- holds it (a lost reply, a worker stopped by an outage).
local holder = redis.call('GET', KEYS[4])
local own = holder and ARGV[4] == '1' and string.sub(holder, 1, #ARGV[1] + 1) == ARGV[1] .. ':'
if holder and not own then
  return {1, redis.call('PTTL', KEYS[4]), redis.call('HGET', KEYS[1], 'n')}
end
if not has_work(ARGV[5]) then
  if holder then
    redis.call('DEL', KEYS[4])
  end
  return {0, redis.call('HGET', KEYS[1], 'n')}
end
local token, fence = take(ARGV[1], ARGV[2], ARGV[3])
return work({2}, token, fence, redis.call('LINDEX', KEYS[2], 0))
"""
)

COMMIT: Final = (
    PRELUDE
    + """
-- KEYS: record, inbox, outbox, lease, messages.
-- ARGV: token, lease_ms, record_ms, present (flags for s, d, w, m, t), s, d, v, r, w, m, t,
--       first timer (ms, '' for none), pop ('1': drop the inbox's oldest event), messages_ms,
--       message count n, n (id, json) pairs, then the outbox entries.
if redis.call('GET', KEYS[4]) ~= ARGV[1] then
  return 0
end
local set = {'v', ARGV[7], 'r', ARGV[8]}
local names, values = {'s', 'd', 'w', 'm', 't'}, {ARGV[5], ARGV[6], ARGV[9], ARGV[10], ARGV[11]}
for i = 1, 5 do
  if string.sub(ARGV[4], i, i) == '1' then
    set[#set + 1] = names[i]
    set[#set + 1] = values[i]
  else
    redis.call('HDEL', KEYS[1], names[i])
  end
end
if ARGV[12] ~= '' then
  set[#set + 1] = 'n'
  set[#set + 1] = ARGV[12]
else
  redis.call('HDEL', KEYS[1], 'n')
end
redis.call('HSET', KEYS[1], unpack(set))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if ARGV[13] == '1' then
  redis.call('LPOP', KEYS[2])
end
local count = tonumber(ARGV[15])
write_messages(KEYS[5], ARGV[14], ARGV, 16, count)
redis.call('DEL', KEYS[3])
for i = 16 + 2 * count, #ARGV, 1000 do
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
--       waits ('1' when the head must wait), at, n, n events to append to the inbox, then
--       (id, json) pairs.
-- Reply {0} lost, {1, first} released idle, {3, first} released with a waiting outbox,
-- {2, work...} next; first is the first timer's time (bot clock, ms) or nil.
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
local events = tonumber(ARGV[9])
if events > 0 then
  redis.call('RPUSH', KEYS[2], unpack(ARGV, 10, 9 + events))
end
write_messages(KEYS[5], ARGV[5], ARGV, 10 + events, (#ARGV - 9 - events) / 2)
if not has_work(ARGV[8]) then
  redis.call('DEL', KEYS[4])
  return {1, redis.call('HGET', KEYS[1], 'n')}
end
if ARGV[7] == '1' and redis.call('LLEN', KEYS[2]) == 0 and not timer_due(ARGV[8]) then
  redis.call('DEL', KEYS[4])
  return {3, redis.call('HGET', KEYS[1], 'n')}
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
-- KEYS: record, outbox. Reply: the seven record fields, then the outbox; {} without a record.
local rec = redis.call('HMGET', KEYS[1], 's', 'd', 'v', 'r', 'w', 'm', 't')
if not rec[4] then
  return {}
end
local outbox = redis.call('LRANGE', KEYS[2], 0, -1)
for i = 1, #outbox do rec[#rec + 1] = outbox[i] end
return rec
"""

FILE_MESSAGES: Final = (
    PRELUDE
    + """
-- KEYS: messages. ARGV: messages_ms, message count n, n (id, json) pairs.
write_messages(KEYS[1], ARGV[1], ARGV, 3, tonumber(ARGV[2]))
return 1
"""
)
