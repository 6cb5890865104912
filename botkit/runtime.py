"""Where accepted events wait for, and reach, the bot: inbox, dedup, lease, worker loop.

A webhook waits only for :meth:`Runtime.accept`, which records the event durably in the store
(deduplicated on the provider's id) and returns. The bot's handler runs afterwards, in a worker
task of whichever process holds the conversation's lease, so a slow handler never slows the
webhook's answer. One event goes one way, each value typed from end to end::

    verify -> parse (the server) -> accept -> claim: the Conversation and the Event
    -> Bot.take_turn -> commit (the Conversation after it + "consumed", atomic)
    -> send its outbox -> ack (release the lease when nothing is left, else the next claim)

A claim whose conversation still has an outbox (a previous holder died before sending it) is
sent and acked before its next event is handled. With the inbox empty, the conversation's due
timers come next, each as an event of kind ``TIMER`` through the same turn, commit, send and
ack (the commit drops the timer, so it fires once).

Timers and the store's due index run on the runtime's clock (:attr:`Runtime.clock`): every
store call passes its time as ``now``. Moving the clock (an
:class:`~botkit.clock.OffsetClock`'s ``advance``, as the sandbox and tests do) wakes the sweep
(:meth:`Runtime.wake`), so timers that fell due meanwhile fire at once; a caller that moved
it and waits for the outcome awaits :meth:`Runtime.clock_moved`.

A heartbeat extends the lease while the worker runs; if the lease is lost (the process stalled
past it and another took over), the worker is cancelled and its late commit is refused by the
store. The sweep takes over conversations whose holder died and fires what falls due: it claims
a batch at a time, again at once while more is due (with a bound on what is in hand), else
sleeps until the earliest mark of the store's due index or the next look.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import replace
from typing import Any, Literal

from botkit.bot import Bot, TurnOutcome
from botkit.clock import Clock, OffsetClock, SystemClock
from botkit.conversation import Conversation
from botkit.delivery import Delivered, Delivery, RetryPolicy
from botkit.dispatch import WorkflowLink, ended_record, home_of, outcome_event
from botkit.events import Channel, Event, EventKind, FailoverOutcome
from botkit.failover import FailoverRecord, home_key, record_id
from botkit.log import get_logger, keep_private
from botkit.metrics import (
    EVENTS_ACCEPTED,
    STORE_SECONDS,
    TAKEOVERS,
    TURN_SECONDS,
    TURNS,
    child,
    count_leases_of,
)
from botkit.records import DeliveryRecord, TurnRecord, find_record, pack_record, turn_id
from botkit.store.base import Claim, Commit, Lease, LeaseLost, Store, StoreUnavailable
from botkit.timers import timer_event
from botkit.vonage.transport import SendError, Transport

log = get_logger("botkit.runtime")


class _Outage:
    """Logs one line when the store becomes unreachable and one when it is back."""

    def __init__(self) -> None:
        self.since: float | None = None

    def failed(self, exc: StoreUnavailable) -> None:
        if self.since is None:
            self.since = time.monotonic()
            log.error(
                "store unreachable: webhooks answer 503 (the provider retries) until it is back",
                error=str(exc),
            )

    def ok(self) -> None:
        if self.since is not None:
            log.warning(
                "store reachable again", outage_seconds=round(time.monotonic() - self.since, 1)
            )
            self.since = None


class _Heartbeat:
    """Extends a lease every third of its length while its worker runs; cancels the worker
    when the lease is lost. Timer-driven, so a short turn costs no extra task.

    ``fresh_at`` is when (local monotonic clock) the lease was last taken or extended, read
    before the store was asked, so it never flatters the lease: a process that stalled (GC,
    SIGSTOP, an overloaded host) sees its lease as old as it may really be."""

    def __init__(
        self, runtime: Runtime, lease: Lease, worker: asyncio.Task[None], fresh_at: float
    ) -> None:
        self._runtime = runtime
        self.lease = lease
        self._worker = worker
        self._length = runtime.store.lease_seconds
        self.fresh_at = fresh_at
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task[None] | None = None
        self._timer = self._loop.call_later(self._length / 3, self._beat)

    def _beat(self) -> None:
        self._task = self._loop.create_task(self._extend())

    async def _extend(self) -> None:
        asked = time.monotonic()
        try:
            held = await self._runtime.store.extend(self.lease)
        except StoreUnavailable as exc:
            self._runtime.outage.failed(exc)
            held = True  # the commit will tell; keep trying while the store is away
        else:
            if held:
                self.fresh_at = max(self.fresh_at, asked)
        if not held:
            log.warning("lease lost while the handler ran: stopping it", key=self.lease.key)
            self._worker.cancel()
            return
        self._timer = self._loop.call_later(self._length / 3, self._beat)

    def refreshed(self, asked: float) -> None:
        """The store extended the lease in an answer to a call made at ``asked``."""
        self.fresh_at = max(self.fresh_at, asked)

    async def comfortable(self) -> bool:
        """True when more than a third of the lease is surely left, extending it first when
        less may be; False when it cannot be extended now (lost, or the store is away)."""
        if time.monotonic() - self.fresh_at < self._length * 2 / 3:
            return True
        asked = time.monotonic()
        try:
            held = await self._runtime.store.extend(self.lease)
        except StoreUnavailable:
            return False
        if held:
            self.refreshed(asked)
        return held

    def stop(self) -> None:
        self._timer.cancel()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()


class _Busy(Collection[str]):
    """The conversations this process works on or is accepting an event for, as a live view:
    the store reads it when it decides what to reclaim."""

    def __init__(self, *parts: Mapping[str, object]) -> None:
        self._parts = parts

    def __contains__(self, key: object) -> bool:
        return any(key in part for part in self._parts)

    def __iter__(self) -> Iterator[str]:
        return iter({key for part in self._parts for key in part})

    def __len__(self) -> int:
        return len({key for part in self._parts for key in part})


class _LeaseInDoubt(Exception):
    """The lease could not be confirmed before a send: the worker stops without sending."""


class Runtime:
    """Accepts events into the store and works the conversations this process leases."""

    def __init__(
        self,
        bot: Bot[Any],
        store: Store,
        transport: Transport,
        *,
        owner: str | None = None,
        sweep_interval: float = 0.5,
        handler_timeout: float = 30.0,
        clock: Clock | None = None,
        api_version: Literal["v1", "v0.1"] = "v1",
        senders: Mapping[Channel, str] | None = None,
        failover: Literal["local", "provider"] = "local",
        trace_turns: bool = False,
        retry: RetryPolicy | None = None,
        sweep_batch: int = 1000,
        sweep_concurrency: int = 200,
    ) -> None:
        """``senders`` are the bot's own addresses from the settings; they override the bot
        class's ``senders`` channel by channel; ``failover`` says who carries out replies'
        failover policies (``BOTKIT_FAILOVER``). With ``trace_turns``, every turn that was not
        an ignored status leaves a :class:`~botkit.records.TurnRecord` with its commit, for
        the inspector. ``retry`` says when replies that failed for a retryable reason are
        tried again. A sweep looks at up to ``sweep_batch`` due conversations at a time
        (claiming those with work nobody does) and sweeps again at once while more are due,
        with at most ``sweep_concurrency`` conversations it claimed in hand; else it sleeps
        until the earliest mark of the due index, looking again every ``sweep_interval``
        seconds at most, for marks other processes write."""
        self.trace_turns = trace_turns
        self.bot = bot
        self.store = store
        self.transport = transport
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.sweep_interval = sweep_interval
        self.sweep_batch = sweep_batch
        self.sweep_concurrency = sweep_concurrency
        self._woken = asyncio.Event()
        self._freed = asyncio.Event()
        """Set when a worker finishes: a sweep waiting for room may claim again."""
        self._saturated = False
        """The last sweep claimed as many as there was room for: more work may be due."""
        self.handler_timeout = handler_timeout
        self.clock = clock or SystemClock()
        if isinstance(self.clock, OffsetClock):
            self.clock.on_advance(self.wake)
        self.channels = bot.channel_setup(
            api_version=api_version, senders=senders, failover=failover
        )
        self.delivery = Delivery(
            transport, self.channels, retry, self.clock.now, link=self._link_workflow
        )
        self.outage = _Outage()
        self._workers: set[asyncio.Task[None]] = set()
        self._swept: set[asyncio.Task[None]] = set()
        """The workers of conversations the sweep claimed."""
        self._in_hand: dict[str, int] = {}
        """Conversations this process's workers hold, with how many workers (one, normally)."""
        self._accepting: dict[str, int] = {}
        """Conversations with an accept of this process in flight, with how many."""
        self._busy = _Busy(self._in_hand, self._accepting)
        self._orphans: dict[str, float] = {}
        """Conversations whose lease may name this process with no worker holding it (a reply
        lost in an outage, a worker an outage stopped), until when (monotonic) to reclaim
        them; after that the lease has expired and the sweep finds them anyway."""
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = False
        self._observers: list[Callable[[Event, TurnOutcome], None]] = []
        count_leases_of(self)

    def observe(self, observer: Callable[[Event, TurnOutcome], None]) -> None:
        """Call ``observer`` with each event this process's bot took a turn on and the turn's
        outcome, before the outcome is committed (test kits and dev tools watch turns so)."""
        self._observers.append(observer)

    # --- accepting ---------------------------------------------------------------------------

    async def accept(self, event: Event) -> bool:
        """Record ``event`` durably; return False when it was a duplicate delivery.

        When this returns, the event counts as received: its effect will happen once, in this
        process or, if this one dies, in another. Raises :class:`StoreUnavailable` when the
        store cannot be reached, or this process is draining (the webhook should answer 503 so
        the provider retries).
        """
        if self._closed:
            raise StoreUnavailable("this process is shutting down")
        key = home_key(event) or event.conversation_key
        if key is None and event.kind is EventKind.WORKFLOW:
            event, key = await self._linked_home(event)
        key = key or f"workflow:{event.message_id}"
        asked = time.monotonic()
        self._accepting[key] = self._accepting.get(key, 0) + 1
        try:
            with child(STORE_SECONDS, "accept").time():
                accepted = await self.store.accept(
                    key, event, owner=self.owner, now=self.clock.now()
                )
        except StoreUnavailable as exc:
            self.outage.failed(exc)
            self._orphaned(key)  # the lost reply may have given this process the lease
            raise
        else:
            self.outage.ok()
            if accepted.claim is not None:
                self._spawn(accepted.claim, asked)
        finally:
            _drop(self._accepting, key)
        if not accepted.duplicate:
            child(EVENTS_ACCEPTED, event.kind.value).inc()
        return not accepted.duplicate

    # --- working -----------------------------------------------------------------------------

    def _spawn(self, claim: Claim, asked: float, *, swept: bool = False) -> None:
        key = claim.lease.key
        self._orphans.pop(key, None)
        task = asyncio.create_task(self._work(claim, asked), name=f"botkit:{key}")
        self._workers.add(task)
        self._in_hand[key] = self._in_hand.get(key, 0) + 1
        task.add_done_callback(self._workers.discard)
        task.add_done_callback(lambda _: _drop(self._in_hand, key))
        if swept:
            self._swept.add(task)
            task.add_done_callback(self._swept.discard)
            task.add_done_callback(lambda _: self._freed.set())

    def _orphaned(self, key: str) -> None:
        self._orphans[key] = time.monotonic() + self.store.lease_seconds

    async def _work(self, claim: Claim, asked: float) -> None:
        lease = claim.lease
        worker = asyncio.current_task()
        assert worker is not None
        heartbeat = _Heartbeat(self, lease, worker, asked)
        current: Claim | None = claim
        try:
            while current is not None:
                if self._closed:
                    await self.store.release(lease, now=self.clock.now())
                    log.info("handed over: another process takes it at once", key=lease.key)
                    break
                conversation = current.conversation
                head = conversation.outbox[0] if conversation.outbox else None
                ready = head is not None and (head.not_before or 0.0) <= time.time()
                timer = conversation.due_timer(self.clock.now())
                if ready or (current.event is None and timer is None):
                    current = await self._deliver(heartbeat, conversation)
                elif current.event is not None:
                    current = await self._turn(heartbeat, conversation, current.event)
                else:
                    assert timer is not None
                    rest = {k: t for k, t in conversation.timers.items() if k != timer.key}
                    current = await self._turn(
                        heartbeat,
                        replace(conversation, timers=rest),
                        timer_event(lease.key, timer),
                        from_inbox=False,
                    )
        except LeaseLost:
            log.warning("lease lost: another worker took this conversation over", key=lease.key)
        except _LeaseInDoubt:
            self._orphaned(lease.key)
        except StoreUnavailable as exc:
            self.outage.failed(exc)
            self._orphaned(lease.key)
        except asyncio.CancelledError:
            if not self._closed:
                log.warning("worker stopped: its lease could not be kept", key=lease.key)
            else:
                raise
        finally:
            heartbeat.stop()

    async def _turn(
        self,
        heartbeat: _Heartbeat,
        conversation: Conversation,
        event: Event,
        *,
        from_inbox: bool = True,
    ) -> Claim | None:
        """Handle ``event`` (the inbox's oldest, or with ``from_inbox`` False a timer that
        ``conversation`` no longer holds), commit, then send."""
        keep_private(event.private_texts())
        ended: Mapping[str, str] = {}
        if event.kind is EventKind.WORKFLOW and event.content is None and event.user is not None:
            event, ended = await self._workflow_outcome(heartbeat.lease.key, event)
        record = await self._record_of(heartbeat.lease.key, event)
        if record is not None and event.client_ref is None and record.client_ref:
            # A status that does not echo the client_ref (some APIs drop it): the record knows.
            event = event.model_copy(update={"client_ref": record.client_ref})
        began = self.clock.now()
        facts = self.channels.facts(conversation, event, began)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.handler_timeout):
                outcome = await self.bot.take_turn(event, conversation, facts, load=self.store.load)
        except TimeoutError:
            error = TimeoutError(f"the handler ran longer than {self.handler_timeout} s")
            outcome = self.bot.failed_turn(event, conversation, error, facts)
        seconds = time.perf_counter() - started
        child(TURNS, outcome.outcome).inc()
        TURN_SECONDS.observe(seconds)
        if outcome.outcome == "failed":
            log.error(
                "handler failed; the event is consumed and the conversation kept as it was",
                handler=outcome.handler,
                message_id=event.message_id,
                channel=event.channel.value,
                exc_info=outcome.error,
            )
        for observer in self._observers:
            observer(event, outcome)
        lease = heartbeat.lease
        messages = {**outcome.records, **ended, **_status_update(record, event, lease.key)}
        if self.trace_turns and (outcome.outcome != "ignored" or event.kind is EventKind.MESSAGE):
            before = conversation.state or type(self.bot).machine.initial
            trace = TurnRecord.of(outcome, event, before, began, seconds)
            messages = {**messages, turn_id(trace.revision): trace.model_dump_json()}
        commit = Commit(outcome.conversation, messages, from_inbox)
        with child(STORE_SECONDS, "commit").time():
            await self.store.commit(lease, commit, now=self.clock.now())
        if self.bot.read_receipts:
            await self._mark_read(event)
        return await self._deliver(heartbeat, outcome.conversation)

    async def _mark_read(self, event: Event) -> None:
        """Mark the user's WhatsApp message read at the provider; a failure is logged only:
        the turn is committed, and a missing blue tick is no reason to fail it."""
        if event.kind is not EventKind.MESSAGE or event.channel is not Channel.WHATSAPP:
            return
        try:
            await self.transport.mark_read(event.channel, event.message_id)
        except SendError as exc:
            log.warning(
                "could not mark the user's message read",
                error=str(exc),
                message_id=event.message_id,
                to=event.user,
            )

    async def _deliver(self, heartbeat: _Heartbeat, conversation: Conversation) -> Claim | None:
        """Send the outbox (what may go now), then acknowledge what became of it."""
        done = await self.delivery.send(conversation, heartbeat.comfortable)
        claim = await self._ack(heartbeat, done)
        if done.stopped:
            raise _LeaseInDoubt
        return claim

    async def _ack(self, heartbeat: _Heartbeat, done: Delivered) -> Claim | None:
        """Acknowledge ``done``. Messages that left must not leave again, so while the store
        is away this keeps trying (bounded) instead of letting another worker resend them; the
        store takes the lease back if nobody took it in the meantime."""
        lease = heartbeat.lease
        deadline = time.monotonic() + 4 * self.store.lease_seconds
        delay = 0.05
        while True:
            asked = time.monotonic()
            try:
                for key, records in done.filed.items():
                    await self.store.file_messages(key, records)
                with child(STORE_SECONDS, "ack").time():
                    claim = await self.store.ack(
                        lease,
                        done.sent,
                        done.records,
                        retry=done.retry,
                        events=done.events,
                        wait=done.wait,
                        now=self.clock.now(),
                    )
            except StoreUnavailable as exc:
                self.outage.failed(exc)
                if time.monotonic() + delay > deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.25)
                continue
            self.outage.ok()
            if claim is not None:
                heartbeat.refreshed(asked)
            return claim

    async def _link_workflow(self, workflow_id: str, link: str, seconds: float) -> None:
        await self.store.link_workflow(workflow_id, link, seconds=seconds)

    async def _linked_home(self, event: Event) -> tuple[Event, str | None]:
        """A provider workflow's final report (which names no user) as an event of the
        conversation that sent the workflow, with its key; unchanged, with None, when this
        bot keeps no link for it."""
        found = await self.store.workflow_link(event.message_id)
        if found is None:
            log.warning(
                "final report of a workflow this bot keeps no link for: filed on its own",
                workflow_id=event.message_id,
            )
            return event, None
        link = WorkflowLink.model_validate_json(found)
        return home_of(event, link), link.key

    async def _workflow_outcome(self, key: str, event: Event) -> tuple[Event, dict[str, str]]:
        """A final report filed under its conversation, as the failover's outcome event, and
        the failover record it completes."""
        found = await self.store.workflow_link(event.message_id)
        if found is None:
            return event, {}
        link = WorkflowLink.model_validate_json(found)
        records = await self.store.messages(key)
        ended = outcome_event(event, link, records)
        stored = records.get(record_id(link.message_id))
        if stored is None or not isinstance(ended.content, FailoverOutcome):
            return ended, {}
        record = FailoverRecord.model_validate_json(stored)
        done = ended_record(record, ended.content, self.clock.now())
        return ended, {record_id(link.message_id): done.model_dump_json()}

    async def _record_of(self, key: str, event: Event) -> DeliveryRecord | None:
        """The record of the message a status event is about (None for any other event; a
        record made up for a message botkit has none of)."""
        if event.kind is not EventKind.STATUS or event.status is None:
            return None
        found = find_record(await self.store.messages(key), event.message_id, key)
        return found if found is not None else DeliveryRecord.unknown(event)

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until this process has no conversation in hand (for tests and shutdown)."""
        async with asyncio.timeout(timeout):
            while self._workers:
                await asyncio.wait(set(self._workers))

    async def clock_moved(self, timeout: float = 10.0) -> None:
        """The app's clock was moved forward (a test or the sandbox jumped in time): do what
        became due, then return once this process has nothing in hand. It sweeps, works what it
        claimed and sweeps again until nothing is due and nothing is in hand, so timers that
        fell due have fired when this returns. While the store is unreachable it only waits
        for the workers. Channel windows need nothing here: they are judged by the clock at
        each turn."""
        async with asyncio.timeout(timeout):
            while True:
                await self.wait_idle(timeout)
                try:
                    claimed = await self._sweep_once(self.sweep_concurrency)
                    if claimed or self._workers:
                        continue
                    due = await self.store.next_due()
                except StoreUnavailable as exc:
                    self.outage.failed(exc)
                    return  # nothing can be claimed now; the sweeper resumes it later
                if due is None or due > self.clock.now():
                    return

    # --- background --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the sweep that takes over conversations whose holder died and fires what
        falls due."""
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="botkit:sweeper")

    def wake(self) -> None:
        """Sweep now rather than at the next look: the clock moved (timers may have fallen
        due), or work is known to be waiting."""
        self._woken.set()

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self._reclaim_orphans()
                pause = await self._sweep_round()
            except StoreUnavailable as exc:
                self.outage.failed(exc)
                pause = self.sweep_interval
            else:
                self.outage.ok()
            if pause is None:
                # Busy: claim more once half the room is free, or at the next look (a worker
                # that finishes sets _freed; between the check and the wait none can finish).
                until = time.monotonic() + self.sweep_interval
                while self._room() < self.sweep_concurrency // 2 and time.monotonic() < until:
                    self._freed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._freed.wait(), until - time.monotonic())
            elif pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._woken.wait(), pause)
                self._woken.clear()
            else:
                await asyncio.sleep(0)  # a store that answers at once must not starve workers

    def _room(self) -> int:
        """How many more conversations the sweep may claim now (those an accept took do not
        count: the traffic bounds them, and a busy process must still take over)."""
        return self.sweep_concurrency - len(self._swept)

    async def _sweep_round(self) -> float | None:
        """Claim what is due, as far as there is room; how long to wait before the next round:
        0 when more is due now, None when more is due than there is room for (wait for
        workers to finish)."""
        room = self._room()
        if room <= 0:
            return None
        # Full of work last time: look at no more than can be claimed, or most of a batch
        # would be claimed and put back. Else a whole batch, most of it marks to clear.
        claimed = await self._sweep_once(room, room if self._saturated else self.sweep_batch)
        self._saturated = claimed >= room
        due = await self.store.next_due()
        # Other processes write marks too (accepts, hand-overs): look again within the interval.
        look = self.sweep_interval * random.uniform(0.8, 1.2)
        if due is None:
            return look
        wait = min(max(0.0, due - self.clock.now()), look)
        return None if wait == 0 and self._saturated else wait

    async def _sweep_once(self, most: int, limit: int | None = None) -> int:
        """Look at a batch of due conversations (``limit``, default a whole batch), claim up to
        ``most`` with work and start working them; how many were claimed."""
        asked = time.monotonic()
        claims = await self.store.sweep(
            owner=self.owner,
            limit=limit or self.sweep_batch,
            skip=self._busy,
            now=self.clock.now(),
            most=most,
        )
        for claim in claims:
            log.info("took over a conversation", key=claim.lease.key)
            TAKEOVERS.labels(reason="expired").inc()
            self._spawn(claim, asked, swept=True)
        return len(claims)

    async def _reclaim_orphans(self) -> None:
        """Take back, at once, conversations whose lease may name this process while no
        worker of it holds them, instead of letting them wait for the lease to expire."""
        now = time.monotonic()
        for key, until in list(self._orphans.items())[:100]:
            if until < now or key in self._busy:
                self._orphans.pop(key, None)
                continue
            asked = time.monotonic()
            claim = await self.store.claim(
                key, owner=self.owner, reclaim=True, now=self.clock.now()
            )
            if claim is not None:
                log.info("took back a conversation an outage left", key=key)
                TAKEOVERS.labels(reason="reclaimed").inc()
                self._spawn(claim, asked)

    @property
    def leases_held(self) -> int:
        """Conversations this process's workers hold now."""
        return len(self._in_hand)

    @property
    def draining(self) -> bool:
        """True once :meth:`close` began: this process accepts no new events."""
        return self._closed

    async def close(self, timeout: float = 10.0) -> None:
        """Drain: accept nothing more (webhooks answer 503), let each worker finish the step
        it is in for up to ``timeout`` seconds, then hand its conversation over: the lease is
        released and the conversation due at once, so another process takes it over without
        waiting for the lease to expire.

        Workers still running after ``timeout`` are cancelled: their leases expire and another
        process takes their conversations over, from the last committed turn.
        """
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._workers:
            _, pending = await asyncio.wait(set(self._workers), timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


def _status_update(record: DeliveryRecord | None, event: Event, key: str) -> dict[str, str]:
    """The message record a status event changes, to commit with its turn."""
    if record is None:
        return {}
    after = record.with_status(event)
    return {} if after is record else {record.message_id: pack_record(after, key)}


def _drop(counts: dict[str, int], key: str) -> None:
    """One fewer of ``key`` in ``counts``."""
    left = counts.pop(key, 1) - 1
    if left > 0:
        counts[key] = left
