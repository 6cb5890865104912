"""The Redis store: conversations shared by any number of processes through one Redis.

Keys (``P`` is the prefix, ``{k}`` the conversation key as a hash tag, so a conversation lives in
one cluster slot and each operation is one Lua script)::

    P:{k}:r   HASH    s=state d=data v=version r=revision w=last_inbound_at m=choices
                      t=timers n=first timer (bot clock, ms) f=fence; idle TTL (past the
                      last timer)
    P:{k}:i   LIST    inbox, oldest first
    P:{k}:o   LIST    outbox, oldest first
    P:{k}:s   ZSET    dedup keys scored by their expiry (ms); key TTL = the dedup window
    P:{k}:l   STRING  lease, "owner:fence", with PX
    P:{k}:m   HASH    message records, provider message id -> JSON; TTL messages_seconds
    P:w:<id>  STRING  the link of a provider workflow to its conversation; PX as asked

and the due index (:mod:`~botkit.store.redis.due`): each conversation's mark, scored by when the
sweep should look at it (the earliest of its pending work), in a small sorted set of its own
cluster slot.

Scripts (:mod:`~botkit.store.redis.scripts`) read the server's clock (``TIME``) for leases and
dedup, so processes with skewed clocks agree on who holds what; timers and the due index are on
the bot's clock, passed in (see :mod:`botkit.store.base`). A pending timer costs a few dozen
bytes in its conversation's record besides its conversation's one mark in the due index,
which stands for all of its pending work, so firing a timer costs the same with a million
pending; the :class:`~botkit.store.redis.batcher.Batcher`
sends those of one event-loop tick together; values are written as text by
:mod:`botkit.store.codec`. An idle conversation leaves only its record once its dedup window is
over.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any, Final, Literal, TypedDict, Unpack
from urllib.parse import unquote

from redis import exceptions as rx
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import (
    Connection,
    SSLConnection,
    UnixDomainSocketConnection,
    parse_url,
)
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from botkit.conversation import Conversation, OutboxEntry
from botkit.events import Channel, Event
from botkit.ratelimit import RateLimiter
from botkit.store import codec
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
from botkit.store.parts import PartsBuffer, PartsLimits
from botkit.store.redis import scripts
from botkit.store.redis.batcher import UNREACHABLE, Batcher, Traffic
from botkit.store.redis.cluster import ClusterMode, cluster_client, is_cluster
from botkit.store.redis.due import DueIndex, slot
from botkit.store.redis.packing import hiredis_packing

_NEWEST_SHARE: Final = 10
"""A sweep reads this share of its batch (1/n) from the most recently due end of the index,
the rest from the earliest: a holder that just died is taken over within about a lease
whatever backlog is waiting, and the backlog still drains oldest first."""

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


def _at(now: float | None) -> int:
    """The bot's clock in ms: ``now`` when given, else the machine's time."""
    return round((time.time() if now is None else now) * 1000)


def _first_ms(conversation: Conversation) -> str:
    timer = conversation.next_timer
    return str(round(timer.at * 1000)) if timer is not None else ""


class StoreOptions(TypedDict, total=False):
    """A :class:`RedisStore`'s settings besides its client; see :meth:`RedisStore.from_url`."""

    prefix: str
    lease_seconds: float
    dedup_seconds: float
    idle_seconds: float
    grace_seconds: float
    messages_seconds: float
    wait_replicas: int


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
        client: Redis | RedisCluster,
        *,
        prefix: str = "bk",
        lease_seconds: float = 30.0,
        dedup_seconds: float = 48 * 3600.0,
        idle_seconds: float = 30 * 24 * 3600.0,
        grace_seconds: float = 1.0,
        messages_seconds: float = 7 * 24 * 3600.0,
        wait_replicas: int = 0,
    ) -> None:
        """Use ``client``, a lone Redis's or a cluster's (which must decode responses to
        ``str``); :meth:`close` closes it and its connections. See :meth:`from_url` for the
        other arguments."""
        if "{" in prefix or "}" in prefix:
            raise ValueError("the key prefix must not contain { or }: they make hash tags")
        if not client.get_connection_kwargs().get("decode_responses"):
            raise ValueError("the Redis client must be created with decode_responses=True")
        self.lease_seconds = lease_seconds
        self.dedup_seconds = dedup_seconds
        self.idle_seconds = idle_seconds
        self.grace_seconds = grace_seconds
        self.prefix = prefix
        self._client = client
        self._execute: Callable[..., Awaitable[Any]] = client.execute_command
        self._pool: Any = getattr(client, "connection_pool", None)  # None on a cluster
        self._where = _describe(client)
        self._lease_ms = _ms(lease_seconds)
        self._dedup_ms = _ms(dedup_seconds)
        self._idle_ms = _ms(idle_seconds)
        self._grace_ms = _ms(grace_seconds) if grace_seconds > 0 else 0
        self.messages_seconds = messages_seconds
        self._messages_ms = _ms(messages_seconds)
        register = client.register_script
        self._index = DueIndex(prefix, register)
        self._accept = register(scripts.ACCEPT)
        self._claim = register(scripts.CLAIM)
        self._commit = register(scripts.COMMIT)
        self._ack = register(scripts.ACK)
        self._extend = register(scripts.EXTEND)
        self._release = register(scripts.RELEASE)
        self._load = register(scripts.LOAD)
        self._file = register(scripts.FILE_MESSAGES)
        self._batcher = Batcher(
            client,
            [self._accept, self._claim, self._commit, self._ack, self._extend, self._release,
             self._load, self._file, *self._index.scripts],
            self._unavailable,
            replicas=wait_replicas,
        )  # fmt: skip
        self._eval = self._batcher.eval
        self._run = self._batcher.run

    @property
    def traffic(self) -> Traffic:
        """Round trips and commands sent to Redis."""
        return self._batcher.traffic

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        ssl_cert_reqs: Literal["required", "none"] = "required",
        cluster: ClusterMode = "auto",
        max_connections: int = 20,
        pool_timeout: float = 5.0,
        socket_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        health_check_interval: int = 30,
        **options: Unpack[StoreOptions],
    ) -> RedisStore:
        """A store on the Redis at ``url`` (``redis://``, ``rediss://`` for TLS, or ``unix://``).

        ``prefix`` starts every key; ``lease_seconds`` is the lease length; ``dedup_seconds``
        how long a dedup key is remembered; ``idle_seconds`` how long a record lives after its
        last write; ``grace_seconds`` how long after a lease would have expired the sweep looks
        at a conversation; ``messages_seconds`` how long message records live after their
        last write; with ``wait_replicas``, an accept returns only once that many replicas
        have the event (else it raises :class:`StoreUnavailable` after a second), so a
        primary that dies right after acknowledging it cannot take it along.

        TLS certificates are checked (``ssl_cert_reqs="required"``) unless you pass
        ``ssl_cert_reqs="none"``, which Heroku Redis needs: its ``rediss://`` URLs present
        self-signed certificates. TLS options in the URL's query string raise ValueError, so
        checking is never turned off there; its other options (``db``...) apply unless an
        argument here sets the same one.

        ``cluster="auto"`` asks the server at start (``INFO cluster``) whether it is a Redis
        Cluster node, and then speaks to the whole cluster through it; ``"true"`` or
        ``"false"`` skip the question (see :func:`~botkit.store.redis.cluster.is_cluster`).

        One :class:`~redis.asyncio.BlockingConnectionPool` of ``max_connections`` serves all
        calls: when every connection is busy a call waits up to ``pool_timeout`` seconds for
        one, then raises :class:`StoreUnavailable` (on a cluster, ``max_connections`` per node,
        and a call raises at once). ``socket_timeout`` bounds each reply, ``connect_timeout``
        each connection attempt; nothing is re-sent after a failure.
        """
        if ssl_cert_reqs not in ("required", "none"):
            raise ValueError(f"ssl_cert_reqs must be 'required' or 'none', not {ssl_cert_reqs!r}")
        connection: dict[str, Any] = dict(parse_url(url))
        in_url = sorted(name for name in connection if name.startswith("ssl_"))
        if in_url:
            raise ValueError(f"set TLS options as arguments, not in the Redis URL: {in_url}")
        if connection.get("connection_class") is SSLConnection:
            connection["ssl_cert_reqs"] = ssl_cert_reqs
            connection["ssl_check_hostname"] = ssl_cert_reqs == "required"
        connection.update(
            max_connections=max_connections,
            timeout=pool_timeout,
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            health_check_interval=health_check_interval,
            retry=Retry(NoBackoff(), 0),  # a lost reply must never make a script run twice
            decode_responses=True,
        )
        if is_cluster(url, cluster, connection):
            return cls(cluster_client(connection), **options)
        connection["connection_class"] = hiredis_packing(
            connection.get("connection_class", Connection)
        )
        pool = BlockingConnectionPool(**connection)
        return cls(Redis(connection_pool=pool), **options)

    # --- plumbing ------------------------------------------------------------------------------

    def _keys(self, key: str) -> list[str]:
        base = f"{self.prefix}:{{{_tag(key)}}}:"
        return [base + "r", base + "i", base + "o", base + "l"]

    def _with_messages(self, key: str) -> list[str]:
        return [*self._keys(key), self._messages(key)]

    def _messages(self, key: str) -> str:
        return f"{self.prefix}:{{{_tag(key)}}}:m"

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        pool = self._pool
        if isinstance(exc, rx.MaxConnectionsError):
            text = f"has no free connection: {exc}"
        elif (
            pool is not None
            and isinstance(exc, rx.ConnectionError)
            and isinstance(exc.__cause__, TimeoutError)
        ):
            limit = getattr(pool, "timeout", None)
            text = f"no connection of {pool.max_connections} became free within {limit} s"
        elif isinstance(exc, rx.BusyLoadingError):
            text = f"is loading its data set: {exc}"
        elif isinstance(exc, rx.TimeoutError | TimeoutError):
            text = f"did not answer in time: {exc}"
        elif isinstance(exc, rx.ClusterError | rx.RedisClusterException | rx.AskError):
            text = f"could not route the command in the cluster now: {exc}"
        elif isinstance(exc, rx.ResponseError):
            text = f"refused the command: {exc}"
        else:
            text = f"is unreachable: {exc}"
        message = f"Redis at {self._where} {text}"
        password = self._client.get_connection_kwargs().get("password")
        if password:
            message = message.replace(str(password), "***")
        return StoreUnavailable(message)

    async def _plain(self, *command: Any) -> Any:
        try:
            self.traffic.round_trips += 1
            self.traffic.commands += 1
            return await self._execute(*command)
        except UNREACHABLE as exc:
            await self._batcher.discard_idle()
            raise self._unavailable(exc) from exc

    @staticmethod
    def _work(key: str, reply: Sequence[Any], at: int, head: Event | None = None) -> Claim:
        """The claim laid out by the scripts' ``work()`` from ``reply[at]`` on; ``head`` is the
        oldest event when the reply left it out (the caller has it)."""
        token, fence = reply[at : at + 2]
        conversation = codec.decode_conversation(key, reply[at + 2 : at + 9], reply[at + 10 :])
        text = reply[at + 9]
        event = head if head is not None else None if text is None else codec.decode_event(text)
        return Claim(Lease(key, token, int(fence)), conversation, event)

    # --- the contract ------------------------------------------------------------------------

    async def accept(
        self, key: str, event: Event, *, owner: str | None, now: float | None = None
    ) -> Accepted:
        """One round trip: the accept script (dedup, append, try the lease) and the due mark,
        pipelined. The event is written as text once, here; a claim whose oldest event is this
        one hands ``event`` itself back. A duplicate adds nothing, but may still take a free
        lease over work that is waiting. Without an ``owner`` no lease is taken and the
        conversation is due now. On :class:`StoreUnavailable` the event may or may not have
        been recorded; a retried delivery is then deduplicated."""
        keys = [*self._keys(key), f"{self.prefix}:{{{_tag(key)}}}:s"]
        text = codec.encode_event(event)
        at = _at(now)
        args = [
            event.dedup_key, text, owner or "", self._lease_ms, self._dedup_ms, self._idle_ms, at
        ]  # fmt: skip
        tag = _tag(key)
        due = self._index.mark(tag, "l", at + (self._lease_ms + self._grace_ms if owner else 0))
        reply, mark = await self._run([(self._accept, keys, args), due], replicated=True)
        await self._index.publish(self._run, [(slot(tag), mark)])
        claim = self._work(key, reply, 3, event if reply[2] else None) if reply[1] else None
        return Accepted(duplicate=bool(reply[0]), claim=claim)

    async def claim(
        self, key: str, *, owner: str, reclaim: bool = False, now: float | None = None
    ) -> Claim | None:
        """Take the lease if it is free (or, with ``reclaim``, names ``owner``) and there is
        work; else None."""
        args = [owner, self._lease_ms, self._idle_ms, "1" if reclaim else "0", _at(now)]
        reply = await self._eval(self._claim, self._keys(key), args)
        return self._work(key, reply, 1) if reply[0] == 2 else None

    async def extend(self, lease: Lease) -> bool:
        """Move the lease's expiry ``lease_seconds`` from now; take it back if it expired with
        nobody taking it since; False if another holder has it."""
        record_key, _, _, lease_key = self._keys(lease.key)
        args = [lease.token, self._lease_ms, lease.fence]
        return bool(await self._eval(self._extend, [lease_key, record_key], args))

    async def commit(self, lease: Lease, commit: Commit, *, now: float | None = None) -> None:
        """One script: check the lease, write the record (timers included), pop the oldest
        event (unless a timer was handled), write the outbox in place of the stored one and
        the message records, extend the lease and the record's idle expiry (past its last
        timer). With timers, the due mark moves to the first one if that is earlier, in the
        same round trip. Raises :class:`LeaseLost` (nothing written) when the lease is not
        held."""
        conversation = commit.conversation
        record = codec.encode_record(conversation)
        state, data, version, revision, inbound, choices, timers = record
        present = "".join(
            "0" if v is None else "1" for v in (state, data, inbound, choices, timers)
        )
        at = _at(now)
        args: list[str | int] = [
            lease.token,
            self._lease_ms,
            self._idle_ms + _ms(timers_beyond(conversation, at / 1000)),
            present,
            state or "",
            data or "",
            version or "0",
            revision or "0",
            inbound or "",
            choices or "",
            timers or "",
            _first_ms(conversation),
            "1" if commit.from_inbox else "0",
            self._messages_ms,
            len(commit.messages),
            *_pairs(commit.messages),
            *(codec.encode_entry(entry) for entry in conversation.outbox),
        ]
        call = (self._commit, self._with_messages(lease.key), args)
        first = _first_ms(conversation)
        if first:
            tag = _tag(lease.key)
            done, mark = await self._run([call, self._index.mark(tag, "l", int(first))])
            await self._index.publish(self._run, [(slot(tag), mark)])
        else:
            done = await self._eval(*call)
        if not done:
            raise LeaseLost(f"the lease {lease.token} on {lease.key} is no longer held")

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
        """One script: check the lease (or take it back if it expired and nobody took it
        since), drop ``sent`` outbox entries, put ``retry`` at the head, append ``events``,
        write ``messages``; then release the lease and return None when nothing is left (or
        only a waiting outbox), else extend it and return what is next. A released
        conversation with a waiting outbox or timers is made due (the head's time, or the first
        timer's if earlier) in a second round trip. Raises :class:`LeaseLost` (nothing
        written) when another holder came in between."""
        at = _at(now)
        args = [
            lease.token,
            lease.fence,
            max(sent, 0),
            self._lease_ms,
            self._messages_ms,
            codec.encode_entry(retry) if retry is not None else "",
            "1" if wait is not None else "0",
            at,
            len(events),
            *(codec.encode_event(event) for event in events),
            *_pairs(messages or {}),
        ]
        reply = await self._eval(self._ack, self._with_messages(lease.key), args)
        if reply[0] == 0:
            raise LeaseLost(f"the lease {lease.token} on {lease.key} is no longer held")
        if reply[0] in (1, 3):
            first = int(reply[1]) if reply[1] is not None else None
            if reply[0] == 3:
                assert wait is not None
                op, when = "t", min(at + max(0, round(wait * 1000)), first or at + 2**52)
            elif first is not None:
                op, when = "l", first
            else:
                return None
            await self._index.write(self._run, [(op, _tag(lease.key), when)])
            return None
        return self._work(lease.key, reply, 1)

    async def release(self, lease: Lease, *, now: float | None = None) -> None:
        """One round trip: drop the lease if this holder has it, and mark the conversation
        due now (a sweep forgets it if it has no work)."""
        lease_key = self._keys(lease.key)[3]
        tag = _tag(lease.key)
        _, mark = await self._run(
            [(self._release, [lease_key], [lease.token]), self._index.mark(tag, "t", _at(now))]
        )
        await self._index.publish(self._run, [(slot(tag), mark)])

    async def sweep(
        self,
        *,
        owner: str,
        limit: int = 100,
        skip: Collection[str] = (),
        now: float | None = None,
        most: int | None = None,
    ) -> list[Claim]:
        """Read up to ``limit`` due conversations (a tenth of them from the most recently due
        end, the rest from the earliest), try to claim each (but those in ``skip``),
        then on the due index: make claimed, skipped and still-leased ones due again after a
        lease (still-leased ones no later than their first timer), make idle ones due at their
        first timer, and forget idle ones without timers, unless an accept has marked them
        since they were read. Claims beyond ``most`` are not handed out: they stay due now
        under ``owner``'s lease, which ``owner``'s next sweep takes back at once (and anyone's
        once it expires).

        Five round trips when something is due (the hints, the buckets they name, the claims,
        the buckets' new marks, the hints again), two otherwise, whatever ``limit``: each step
        goes in one pipeline. If a later one fails, the claims taken are not returned; their
        leases expire and a later sweep retakes them, and the hints read stay to be read again.
        """
        at = _at(now)
        newest = max(1, limit // _NEWEST_SHARE) if limit > 1 else 0
        found = await self._index.read(self._run, at, limit, newest)
        due = found.due()
        recent = due[len(due) - newest :][::-1] if newest else []
        marks = recent + [m for m in due[: limit - len(recent)] if m not in recent]
        after_lease = at + self._lease_ms + self._grace_ms
        # ``skip`` is read here, in the same step as the claims are queued: nothing the
        # caller starts in between can be missed.
        later = [m for m, _ in marks if _untag(m) in skip]
        ops: list[tuple[str, str, int, int | str]] = [("t", m, after_lease, "") for m in later]
        kept = [(m, score) for m, score in marks if m not in later]
        args = [owner, self._lease_ms, self._idle_ms, "1", at]
        calls = [(self._claim, self._keys(_untag(member)), args) for member, _ in kept]
        replies = await self._run(calls) if calls else []
        claims: list[Claim] = []
        for (member, score), reply in zip(kept, replies, strict=True):
            if reply[0] == 2 and (most is None or len(claims) < most):
                claims.append(self._work(_untag(member), reply, 1))
                ops.append(("t", member, after_lease, ""))
            elif reply[0] == 2:
                ops.append(("t", member, at, ""))
            elif reply[0] == 1:
                again = at + max(int(reply[1]), 0) + self._grace_ms
                if reply[2] is not None and int(reply[2]) > at:
                    again = min(again, int(reply[2]))
                ops.append(("t", member, again, ""))
            elif reply[1] is not None:
                ops.append(("m", member, score, int(reply[1])))
            else:
                ops.append(("f", member, score, ""))
        await self._index.settle(self._run, found, ops)
        return claims

    async def next_due(self) -> float | None:
        """No later than the earliest mark of the due index (its earliest hint: one script),
        None when nothing is marked."""
        first = await self._index.first(self._run)
        return first / 1000 if first is not None else None

    async def mark_due(self, marks: Mapping[str, float]) -> None:
        """Make each conversation of ``marks`` due at its time (the bot's clock, Unix seconds)
        unless it is due earlier already, as a commit with a timer does: one pipeline of a
        script per due-index bucket, then the hints they need. For tools that write many
        conversations at once (benchmarks, imports); turns never need it."""
        await self._index.write(self._run, [("l", _tag(k), _at(t)) for k, t in marks.items()])

    async def load(self, key: str) -> Conversation | None:
        """The committed conversation with its outbox (one script), None when there is none
        or it expired."""
        record_key, _, outbox_key, _ = self._keys(key)
        found = await self._eval(self._load, [record_key, outbox_key], [])
        if not found:
            return None
        return codec.decode_conversation(key, found[:7], found[7:])

    async def backlog(self, *, limit: int = 500, now: float | None = None) -> Backlog:
        """The due index's conversations due at ``now`` (the buckets its hints name: two round
        trips), then their records and outboxes (scripts batched together) and inbox lengths
        (one pipeline)."""
        at = _at(now)
        found = await self._index.read(self._run, at, limit)
        keys = [_untag(member) for member, _ in found.due()[:limit]]
        if not keys:
            return Backlog(0, 0)
        conversations = await asyncio.gather(*(self.load(key) for key in keys))
        pipe = self._client.pipeline(transaction=False)
        for key in keys:
            pipe.llen(self._keys(key)[1])
            pipe.exists(self._keys(key)[3])
        try:
            self.traffic.round_trips += 1
            self.traffic.commands += 2 * len(keys)
            counts = await pipe.execute()
        except UNREACHABLE as exc:
            raise self._unavailable(exc) from exc
        events = timers = 0
        for conversation, length, held in zip(
            conversations, counts[0::2], counts[1::2], strict=True
        ):
            if held:
                continue
            events += int(length)
            if conversation is not None:
                timers += sum(1 for t in conversation.timers.values() if t.at * 1000 <= at)
        return Backlog(events, timers)

    async def file_messages(self, key: str, messages: Mapping[str, str]) -> None:
        """One script: HSET the records and renew the hash's expiry."""
        if messages:
            pairs = [part for item in messages.items() for part in item]
            args = [self._messages_ms, len(messages), *pairs]
            await self._eval(self._file, [self._messages(key)], args)

    async def messages(self, key: str) -> dict[str, str]:
        """The conversation's message records (one HGETALL), {} when none are kept."""
        found = await self._plain("HGETALL", self._messages(key))
        return dict(found) if isinstance(found, dict) else {}

    async def link_workflow(self, workflow_id: str, link: str, *, seconds: float) -> None:
        await self._plain("SET", self._workflow(workflow_id), link, "PX", _ms(seconds))

    async def workflow_link(self, workflow_id: str) -> str | None:
        found = await self._plain("GET", self._workflow(workflow_id))
        return found if isinstance(found, str) else None

    def _workflow(self, workflow_id: str) -> str:
        return f"{self.prefix}:w:{_tag(workflow_id)}"

    async def keys(self, limit: int = 1000) -> list[str]:
        """Keys of conversations with a committed record, in no particular order, at most
        ``limit``. Walks the keyspace with SCAN: meant for the inspector, not hot paths."""
        head = f"{self.prefix}:{{"
        pattern = _glob_escape(head) + "*}:r"
        found: list[str] = []
        try:
            batch: list[str] = []
            self.traffic.round_trips += 1
            async for name in self._client.scan_iter(match=pattern, count=1000):
                batch.append(name)
                if len(batch) >= 1000:
                    found += await self._committed(head, batch)
                    batch = []
                    if len(found) >= limit:
                        break
            if batch and len(found) < limit:
                found += await self._committed(head, batch)
        except UNREACHABLE as exc:
            raise self._unavailable(exc) from exc
        return found[:limit]

    async def _committed(self, head: str, names: list[str]) -> list[str]:
        """The conversation keys of the record ``names`` that hold a committed record."""
        pipe = self._client.pipeline(transaction=False)
        for name in names:
            pipe.hexists(name, "r")
        self.traffic.round_trips += 1
        self.traffic.commands += len(names)
        committed = await pipe.execute()
        return [
            _untag(name[len(head) : -len("}:r")])
            for name, yes in zip(names, committed, strict=True)
            if yes
        ]

    def parts_buffer(self, limits: PartsLimits) -> PartsBuffer:
        """A :class:`~botkit.store.redis.parts.RedisPartsBuffer` under this store's prefix, on
        its connection pool: shared by every process on this Redis."""
        from botkit.store.redis.parts import RedisPartsBuffer

        return RedisPartsBuffer(
            self._client, limits, prefix=self.prefix, unavailable=self._unavailable
        )

    def rate_limiter(self, rates: Mapping[Channel, float]) -> RateLimiter:
        """A :class:`~botkit.store.redis.limiter.RedisLimiter` under this store's prefix, on its
        connection pool: its buckets are shared by every process on this Redis."""
        from botkit.store.redis.limiter import RedisLimiter

        return RedisLimiter(self._client, prefix=self.prefix, rates=rates)

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless Redis answers PING."""
        await self._plain("PING")

    async def close(self) -> None:
        """Close the client and every connection of its pool (or pools, on a cluster)."""
        await self._client.aclose()
        if self._pool is not None:
            await self._pool.aclose()


def _pairs(messages: Mapping[str, str]) -> list[str]:
    return [item for pair in messages.items() for item in pair]


def _describe(client: Redis | RedisCluster) -> str:
    """Where the client connects, for messages: never the password."""
    if isinstance(client, RedisCluster):
        names = list(client.nodes_manager.startup_nodes)
        return f"the Redis Cluster of {names[0] if names else '?'}"
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    if pool.connection_class is UnixDomainSocketConnection or issubclass(
        pool.connection_class, UnixDomainSocketConnection
    ):
        return f"unix://{kwargs.get('path', '')}"
    scheme = "rediss" if issubclass(pool.connection_class, SSLConnection) else "redis"
    return f"{scheme}://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
