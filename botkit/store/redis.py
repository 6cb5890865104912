"""The Redis store: conversations shared by any number of processes through one Redis.

Keys (``P`` is the prefix, ``{k}`` the conversation key as a hash tag, so a conversation lives in
one cluster slot and each operation is one Lua script)::

    P:{k}:r   HASH    s=state d=data v=version r=revision w=last_inbound_at m=meta f=fence;
                      idle TTL
    P:{k}:i   LIST    inbox, oldest first
    P:{k}:o   LIST    outbox, oldest first
    P:{k}:s   ZSET    dedup keys scored by their expiry (ms); key TTL = the dedup window
    P:{k}:l   STRING  lease, "owner:fence", with PX
    P:{k}:m   HASH    message records, provider message id -> JSON; TTL messages_seconds
    P:due     ZSET    conversation keys scored by when the sweep should look at them (ms)

Scripts read the server's clock (``TIME``), so processes with skewed clocks agree on leases
and dedup. An idle conversation leaves only its record once its dedup window is over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import unquote

from redis import exceptions as rx
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection, parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript

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

# --- scripts ---------------------------------------------------------------------------------
# Conversation scripts get KEYS = record, inbox, outbox, lease (and seen for accept).

_PRELUDE: Final = """
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

local function work(out, token, fence)
  out[#out + 1] = token
  out[#out + 1] = fence
  local rec = redis.call('HMGET', KEYS[1], 's', 'd', 'v', 'r', 'w', 'm')
  for i = 1, 6 do out[#out + 1] = rec[i] end
  out[#out + 1] = redis.call('LINDEX', KEYS[2], 0)
  local outbox = redis.call('LRANGE', KEYS[3], 0, -1)
  for i = 1, #outbox do out[#out + 1] = outbox[i] end
  return out
end
"""

_ACCEPT: Final = (
    _PRELUDE
    + """
-- ARGV: dedup_key, event, owner, lease_ms, dedup_ms, idle_ms
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
local dup = 0
if redis.call('ZSCORE', KEYS[5], ARGV[1]) then
  dup = 1
else
  redis.call('ZADD', KEYS[5], now + tonumber(ARGV[5]), ARGV[1])
  redis.call('PEXPIRE', KEYS[5], ARGV[5])
  redis.call('RPUSH', KEYS[2], ARGV[2])
end
if redis.call('EXISTS', KEYS[4]) == 1 or not has_work() then
  return {dup, 0}
end
local token, fence = take(ARGV[3], ARGV[4], ARGV[6])
return work({dup, 1}, token, fence)
"""
)

_CLAIM: Final = (
    _PRELUDE
    + """
-- ARGV: owner, lease_ms, idle_ms. Reply {0} idle, {1, pttl} leased, {2, work...} claimed.
local pttl = redis.call('PTTL', KEYS[4])
if pttl ~= -2 then
  return {1, pttl}
end
if not has_work() then
  return {0}
end
local token, fence = take(ARGV[1], ARGV[2], ARGV[3])
return work({2}, token, fence)
"""
)

_COMMIT: Final = (
    _PRELUDE
    + """
-- KEYS: record, inbox, outbox, lease, messages.
-- ARGV: token, lease_ms, idle_ms, present (flags for s, d, w, m), s, d, v, r, w, m,
--       messages_ms, message count n, n (id, json) pairs, then the replies.
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
for i = 13 + 2 * count, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[3], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('PEXPIRE', KEYS[4], ARGV[2])
return 1
"""
)

_ACK: Final = (
    _PRELUDE
    + """
-- KEYS: record, inbox, outbox, lease, messages.
-- ARGV: token, fence, sent, lease_ms, messages_ms, then (id, json) pairs.
-- Reply {0} lost, {1} released, {2, work...} next.
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
write_messages(KEYS[5], ARGV[5], ARGV, 6, (#ARGV - 5) / 2)
if not has_work() then
  redis.call('DEL', KEYS[4])
  return {1}
end
redis.call('PEXPIRE', KEYS[4], ARGV[4])
return work({2}, ARGV[1], tonumber(ARGV[2]))
"""
)

_EXTEND: Final = """
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

_DUE_READ: Final = """
-- KEYS: due. ARGV: limit. Members whose time has come, with their scores.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, ARGV[1])
"""

_DUE_SET: Final = """
-- KEYS: due. ARGV: triples (op, member, number): 't' = due number ms from now;
-- 'f' = forget, only if the score is still the number the sweep read (an accept since then
-- changed it, and that accept must not be forgotten).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #ARGV, 3 do
  if ARGV[i] == 't' then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[i + 2]), ARGV[i + 1])
  elseif tonumber(redis.call('ZSCORE', KEYS[1], ARGV[i + 1])) == tonumber(ARGV[i + 2]) then
    redis.call('ZREM', KEYS[1], ARGV[i + 1])
  end
end
return 0
"""

# --- errors ------------------------------------------------------------------------------------

_UNREACHABLE: Final = (rx.ConnectionError, rx.TimeoutError, OSError)
"""Errors that mean the server cannot be reached (BusyLoadingError is a ConnectionError)."""

_REFUSALS: Final = frozenset(
    {"OOM", "READONLY", "MASTERDOWN", "LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS"}
)
"""Error codes of a server that is up but cannot serve writes now (full, failing over...)."""


def _refusal(exc: rx.ResponseError) -> bool:
    return str(exc).split(" ", 1)[0] in _REFUSALS or isinstance(exc, rx.ReadOnlyError)


# --- keys ----------------------------------------------------------------------------------------


def _tag(key: str) -> str:
    """``key`` made safe inside ``{...}``: braces would end or empty the hash tag."""
    if not key:
        return "%"  # "%" alone never results from escaping, so it cannot collide
    if "{" in key or "}" in key or "%" in key:
        return key.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")
    return key


def _untag(tag: str) -> str:
    if tag == "%":
        return ""
    return unquote(tag) if "%" in tag else tag


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


@dataclass
class Traffic:
    """Round trips to Redis and commands sent, since creation or :meth:`reset`."""

    round_trips: int = 0
    commands: int = 0

    def reset(self) -> None:
        self.round_trips = self.commands = 0


_Call = tuple[AsyncScript, Sequence[str], Sequence[object]]


class RedisStore(Store):
    """Conversations in Redis: each operation is one Lua script on one conversation's keys.

    Atomicity: :meth:`accept`, :meth:`claim`, :meth:`commit`, :meth:`ack` and :meth:`extend`
    each run as one script, so they are all-or-nothing and never interleave on a conversation.
    Commands are never re-sent automatically: when a reply is lost (timeout, dropped
    connection) the operation raises :class:`StoreUnavailable` and may or may not have been
    applied. For :meth:`accept` that is harmless (a retried delivery is a duplicate); after a
    failed :meth:`commit` or :meth:`ack` the holder should stop working the conversation and
    let the lease expire, so the sweep resumes it from what was committed.

    Build it with :meth:`from_url`; ``traffic`` counts round trips and commands.
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "bk",
        lease_seconds: float = 30.0,
        dedup_seconds: float = 48 * 3600.0,
        idle_seconds: float = 30 * 24 * 3600.0,
        grace_seconds: float = 1.0,
        messages_seconds: float = 7 * 24 * 3600.0,
    ) -> None:
        """Use ``client`` (which must decode responses to ``str``); :meth:`close` closes its
        pool. See :meth:`from_url` for the other arguments."""
        if "{" in prefix or "}" in prefix:
            raise ValueError("the key prefix must not contain { or }: they make hash tags")
        pool = client.connection_pool
        if not pool.connection_kwargs.get("decode_responses"):
            raise ValueError("the Redis client must be created with decode_responses=True")
        self.lease_seconds = lease_seconds
        self.dedup_seconds = dedup_seconds
        self.idle_seconds = idle_seconds
        self.grace_seconds = grace_seconds
        self.prefix = prefix
        self.traffic = Traffic()
        self._client = client
        self._execute: Callable[..., Awaitable[Any]] = client.execute_command
        self._pending: list[tuple[Sequence[_Call], asyncio.Future[list[Any]]]] = []
        self._flushing: set[asyncio.Task[None]] = set()
        self._pool = pool
        self._where = _describe(pool)
        self._lease_ms = _ms(lease_seconds)
        self._dedup_ms = _ms(dedup_seconds)
        self._idle_ms = _ms(idle_seconds)
        self._grace_ms = _ms(grace_seconds) if grace_seconds > 0 else 0
        self.messages_seconds = messages_seconds
        self._messages_ms = _ms(messages_seconds)
        self._due = f"{prefix}:due"
        self._accept = client.register_script(_ACCEPT)
        self._claim = client.register_script(_CLAIM)
        self._commit = client.register_script(_COMMIT)
        self._ack = client.register_script(_ACK)
        self._extend = client.register_script(_EXTEND)
        self._due_read = client.register_script(_DUE_READ)
        self._due_set = client.register_script(_DUE_SET)
        self._scripts = (
            self._accept,
            self._claim,
            self._commit,
            self._ack,
            self._extend,
            self._due_read,
            self._due_set,
        )

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = "bk",
        lease_seconds: float = 30.0,
        dedup_seconds: float = 48 * 3600.0,
        idle_seconds: float = 30 * 24 * 3600.0,
        grace_seconds: float = 1.0,
        messages_seconds: float = 7 * 24 * 3600.0,
        ssl_cert_reqs: Literal["required", "none"] = "required",
        max_connections: int = 20,
        pool_timeout: float = 5.0,
        socket_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        health_check_interval: int = 30,
    ) -> RedisStore:
        """A store on the Redis at ``url`` (``redis://``, ``rediss://`` for TLS, or ``unix://``).

        ``prefix`` starts every key; ``lease_seconds`` is the lease length; ``dedup_seconds``
        how long a dedup key is remembered; ``idle_seconds`` how long a record lives after its
        last write; ``grace_seconds`` how long after a lease would have expired the sweep looks
        at a conversation; ``messages_seconds`` how long message records live after their
        last write.

        TLS certificates are checked (``ssl_cert_reqs="required"``) unless you pass
        ``ssl_cert_reqs="none"``, which Heroku Redis needs: its ``rediss://`` URLs present
        self-signed certificates. TLS options in the URL's query string raise ValueError, so
        checking is never turned off there; its other options (``db``...) apply unless an
        argument here sets the same one.

        One :class:`~redis.asyncio.BlockingConnectionPool` of ``max_connections`` serves all
        calls: when every connection is busy a call waits up to ``pool_timeout`` seconds for
        one, then raises :class:`StoreUnavailable`. ``socket_timeout`` bounds each reply,
        ``connect_timeout`` each connection attempt; nothing is re-sent after a failure.
        """
        if ssl_cert_reqs not in ("required", "none"):
            raise ValueError(f"ssl_cert_reqs must be 'required' or 'none', not {ssl_cert_reqs!r}")
        options: dict[str, Any] = dict(parse_url(url))
        in_url = sorted(name for name in options if name.startswith("ssl_"))
        if in_url:
            raise ValueError(f"set TLS options as arguments, not in the Redis URL: {in_url}")
        if options.get("connection_class") is SSLConnection:
            options["ssl_cert_reqs"] = ssl_cert_reqs
            options["ssl_check_hostname"] = ssl_cert_reqs == "required"
        options.update(
            max_connections=max_connections,
            timeout=pool_timeout,
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            health_check_interval=health_check_interval,
            retry=Retry(NoBackoff(), 0),  # a lost reply must never make a script run twice
            decode_responses=True,
        )
        pool = BlockingConnectionPool(**options)
        return cls(
            Redis(connection_pool=pool),
            prefix=prefix,
            lease_seconds=lease_seconds,
            dedup_seconds=dedup_seconds,
            idle_seconds=idle_seconds,
            grace_seconds=grace_seconds,
            messages_seconds=messages_seconds,
        )

    # --- plumbing ------------------------------------------------------------------------------

    def _keys(self, key: str) -> list[str]:
        base = f"{self.prefix}:{{{_tag(key)}}}:"
        return [base + "r", base + "i", base + "o", base + "l"]

    def _with_messages(self, key: str) -> list[str]:
        return [*self._keys(key), f"{self.prefix}:{{{_tag(key)}}}:m"]

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        if isinstance(exc, rx.ConnectionError) and isinstance(exc.__cause__, TimeoutError):
            limit = getattr(self._pool, "timeout", None)
            size = self._pool.max_connections
            text = f"no connection of {size} became free within {limit} s"
        elif isinstance(exc, rx.BusyLoadingError):
            text = f"is loading its data set: {exc}"
        elif isinstance(exc, rx.TimeoutError | TimeoutError):
            text = f"did not answer in time: {exc}"
        elif isinstance(exc, rx.ResponseError):
            text = f"refused the command: {exc}"
        else:
            text = f"is unreachable: {exc}"
        message = f"Redis at {self._where} {text}"
        password = self._pool.connection_kwargs.get("password")
        if password:
            message = message.replace(str(password), "***")
        return StoreUnavailable(message)

    async def _eval(self, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run one script, batched with whatever else this process sends in the same tick."""
        (result,) = await self._run([(script, keys, args)])
        return result

    async def _run(self, calls: Sequence[_Call]) -> list[Any]:
        """Run scripts and return their results in order, raising the first error.

        Calls made in the same event-loop tick, from any conversation, leave together in one
        pipelined round trip (not a transaction: they may live in different slots), so under
        load many turns share each round trip. A script the server did not know is loaded and
        only it re-runs.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((calls, future))
        results = await future
        for result in results:
            if isinstance(result, Exception):
                if isinstance(result, rx.ResponseError) and _refusal(result):
                    raise self._unavailable(result) from result
                raise result
        return results

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.get_running_loop().create_task(self._send_batch(batch))
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _send_batch(
        self, batch: list[tuple[Sequence[_Call], asyncio.Future[list[Any]]]]
    ) -> None:
        calls = [call for part, _ in batch for call in part]
        try:
            results = await self._send(calls)
            missing = [
                i for i, result in enumerate(results) if isinstance(result, rx.NoScriptError)
            ]
            if missing:
                await self._load()
                again = await self._send([calls[i] for i in missing])
                for i, result in zip(missing, again, strict=True):
                    results[i] = result
        except BaseException as exc:
            failure = self._unavailable(exc) if isinstance(exc, _UNREACHABLE) else exc
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            if not isinstance(exc, Exception):
                raise
            return
        at = 0
        for part, future in batch:
            if not future.done():
                future.set_result(results[at : at + len(part)])
            at += len(part)

    async def _send(self, calls: Sequence[_Call]) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        buffer: Callable[..., object] = pipe.execute_command
        for script, keys, args in calls:
            buffer("EVALSHA", script.sha, len(keys), *keys, *args)
        self.traffic.round_trips += 1
        self.traffic.commands += len(calls)
        return list(await pipe.execute(raise_on_error=False))

    async def _load(self) -> None:
        """Load every script in one round trip: a server that lost one (restart, failover,
        SCRIPT FLUSH) lost them all."""
        pipe = self._client.pipeline(transaction=False)
        buffer: Callable[..., object] = pipe.execute_command
        for script in self._scripts:
            buffer("SCRIPT", "LOAD", script.script)
        self.traffic.round_trips += 1
        self.traffic.commands += len(self._scripts)
        await pipe.execute()

    async def _plain(self, *command: Any) -> Any:
        try:
            self.traffic.round_trips += 1
            self.traffic.commands += 1
            return await self._execute(*command)
        except _UNREACHABLE as exc:
            raise self._unavailable(exc) from exc

    @staticmethod
    def _work(key: str, reply: Sequence[Any], at: int) -> Claim:
        token, fence, state, data, version, revision, inbound, meta, event = reply[at : at + 9]
        record = Record(
            state=state,
            data=data,
            version=int(version or 0),
            revision=int(revision or 0),
            last_inbound_at=float(inbound) if inbound is not None else None,
            meta=meta,
        )
        return Claim(Lease(key, token, int(fence)), record, event, tuple(reply[at + 9 :]))

    # --- the contract ------------------------------------------------------------------------

    async def accept(self, key: str, dedup_key: str, event: str, *, owner: str) -> Accepted:
        """One round trip: the accept script (dedup, append, try the lease) and the due mark,
        pipelined. A duplicate adds nothing, but may still take a free lease over work that
        is waiting. On :class:`StoreUnavailable` the event may or may not have been recorded;
        a retried delivery is then deduplicated."""
        keys = [*self._keys(key), f"{self.prefix}:{{{_tag(key)}}}:s"]
        args = [dedup_key, event, owner, self._lease_ms, self._dedup_ms, self._idle_ms]
        due = ["t", _tag(key), self._lease_ms + self._grace_ms]
        reply, _ = await self._run([(self._accept, keys, args), (self._due_set, [self._due], due)])
        claim = self._work(key, reply, 2) if reply[1] else None
        return Accepted(duplicate=bool(reply[0]), claim=claim)

    async def claim(self, key: str, *, owner: str) -> Claim | None:
        """Take the lease if it is free and there is work; else None (nothing changes)."""
        reply = await self._eval(
            self._claim, self._keys(key), [owner, self._lease_ms, self._idle_ms]
        )
        return self._work(key, reply, 1) if reply[0] == 2 else None

    async def extend(self, lease: Lease) -> bool:
        """Move the lease's expiry ``lease_seconds`` from now; take it back if it expired with
        nobody taking it since; False if another holder has it."""
        record_key, _, _, lease_key = self._keys(lease.key)
        args = [lease.token, self._lease_ms, lease.fence]
        return bool(await self._eval(self._extend, [lease_key, record_key], args))

    async def commit(self, lease: Lease, turn: Turn) -> None:
        """One script: check the lease, write the record, pop the oldest event, append the
        replies, extend the lease and the record's idle expiry. Raises :class:`LeaseLost`
        (nothing written) when the lease is not held."""
        record = turn.record
        present = "".join(
            "0" if value is None else "1"
            for value in (record.state, record.data, record.last_inbound_at, record.meta)
        )
        args: list[str | int] = [
            lease.token,
            self._lease_ms,
            self._idle_ms,
            present,
            record.state or "",
            record.data or "",
            record.version,
            record.revision,
            repr(record.last_inbound_at) if record.last_inbound_at is not None else "",
            record.meta or "",
            self._messages_ms,
            len(turn.messages),
            *_pairs(turn.messages),
            *turn.replies,
        ]
        if not await self._eval(self._commit, self._with_messages(lease.key), args):
            raise LeaseLost(f"the lease {lease.token} on {lease.key} is no longer held")

    async def ack(
        self, lease: Lease, sent: int, messages: Mapping[str, str] | None = None
    ) -> Claim | None:
        """One script: check the lease (or take it back if it expired and nobody took it
        since), drop ``sent`` outbox entries, write ``messages``, then release the lease and
        return None when nothing is left, else extend it and return what is next. Raises
        :class:`LeaseLost` (nothing written) when another holder came in between."""
        args = [
            lease.token,
            lease.fence,
            max(sent, 0),
            self._lease_ms,
            self._messages_ms,
            *_pairs(messages or {}),
        ]
        reply = await self._eval(self._ack, self._with_messages(lease.key), args)
        if reply[0] == 0:
            raise LeaseLost(f"the lease {lease.token} on {lease.key} is no longer held")
        return self._work(lease.key, reply, 1) if reply[0] == 2 else None

    async def sweep(
        self, *, owner: str, limit: int = 100, skip: Collection[str] = ()
    ) -> list[Claim]:
        """Read up to ``limit`` due conversations, try to claim each (but those in ``skip``),
        then in one script on the due index: make claimed, skipped and still-leased ones due
        again after a lease, and forget idle ones unless an accept has marked them since they
        were read.

        Three round trips when something is due, one otherwise. If the last one fails, the
        claims taken are not returned; their leases expire and a later sweep retakes them.
        """
        found = await self._eval(self._due_read, [self._due], [limit])
        members, scores = found[0::2], found[1::2]
        later = [m for m in members if _untag(m) in skip]
        if later:
            kept = [(m, sc) for m, sc in zip(members, scores, strict=True) if m not in later]
            members, scores = [m for m, _ in kept], [sc for _, sc in kept]
            again = [x for m in later for x in ("t", m, self._lease_ms + self._grace_ms)]
            await self._eval(self._due_set, [self._due], again)
        if not members:
            return []
        args = [owner, self._lease_ms, self._idle_ms]
        replies = await self._run(
            [(self._claim, self._keys(_untag(member)), args) for member in members]
        )
        claims: list[Claim] = []
        due: list[str | int] = []
        for member, score, reply in zip(members, scores, replies, strict=True):
            if reply[0] == 2:
                claims.append(self._work(_untag(member), reply, 1))
                due += ["t", member, self._lease_ms + self._grace_ms]
            elif reply[0] == 1:
                due += ["t", member, max(int(reply[1]), 0) + self._grace_ms]
            else:
                due += ["f", member, score]
        await self._eval(self._due_set, [self._due], due)
        return claims

    async def load(self, key: str) -> Record | None:
        """The committed record, None when there is none or it expired."""
        state, data, version, revision, inbound = await self._plain(
            "HMGET", self._keys(key)[0], "s", "d", "v", "r", "w"
        )
        if revision is None:
            return None
        return Record(
            state=state,
            data=data,
            version=int(version or 0),
            revision=int(revision),
            last_inbound_at=float(inbound) if inbound is not None else None,
        )

    async def messages(self, key: str) -> dict[str, str]:
        """The conversation's message records (one HGETALL), {} when none are kept."""
        found = await self._plain("HGETALL", f"{self.prefix}:{{{_tag(key)}}}:m")
        return dict(found) if isinstance(found, dict) else {}

    async def keys(self, limit: int = 1000) -> list[str]:
        """Keys of conversations with a committed record, in no particular order, at most
        ``limit``. Walks the keyspace with SCAN: meant for the inspector, not hot paths."""
        head = f"{self.prefix}:{{"
        pattern = _glob_escape(head) + "*}:r"
        found: list[str] = []
        cursor = 0
        while len(found) < limit:
            cursor, batch = await self._plain("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            if batch:
                pipe = self._client.pipeline(transaction=False)
                for name in batch:
                    pipe.hexists(name, "r")
                try:
                    self.traffic.round_trips += 1
                    self.traffic.commands += len(batch)
                    committed = await pipe.execute()
                except _UNREACHABLE as exc:
                    raise self._unavailable(exc) from exc
                found += [
                    _untag(name[len(head) : -len("}:r")])
                    for name, yes in zip(batch, committed, strict=True)
                    if yes
                ]
            if int(cursor) == 0:
                break
        return found[:limit]

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless Redis answers PING."""
        await self._plain("PING")

    async def close(self) -> None:
        """Close the client and every connection of its pool."""
        await self._client.aclose()
        await self._pool.aclose()


def _pairs(messages: Mapping[str, str]) -> list[str]:
    return [item for pair in messages.items() for item in pair]


def _describe(pool: Any) -> str:
    """Where the pool connects, for messages: never the password."""
    kwargs = pool.connection_kwargs
    if pool.connection_class is UnixDomainSocketConnection or issubclass(
        pool.connection_class, UnixDomainSocketConnection
    ):
        return f"unix://{kwargs.get('path', '')}"
    scheme = "rediss" if issubclass(pool.connection_class, SSLConnection) else "redis"
    return f"{scheme}://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
