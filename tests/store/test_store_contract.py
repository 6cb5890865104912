"""One contract, two stores: every test runs on MemoryStore and on RedisStore (real Redis).

Time is moved, not waited for, on the memory store (its clock is injected); on Redis, whose
scripts read the server's clock, leases and windows are short and the tests wait until the
server's clock is past them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from redis.asyncio import Redis

from botkit.conversation import Conversation, PendingTimer
from botkit.events import Event
from botkit.outbound import Button
from botkit.store.base import Backlog, Claim, Commit, Lease, LeaseLost, Store
from botkit.store.memory import MemoryStore
from botkit.store.redis import RedisStore
from botkit.timers import new_timer
from tests.conftest import until_redis_time
from tests.store.values import KEY, entries, event, said, said_all, turn

LEASE = 0.3
GRACE = 0.05
SLACK = 0.1
"""Added to every wait for an expiry, so Redis's millisecond clock is surely past it."""


@dataclass
class Backend:
    """Builds stores sharing one backend (as processes share one Redis) and moves time."""

    name: str
    build: Callable[..., Store]
    move: Callable[[float], Awaitable[None]]
    due_members: Callable[[Store], Awaitable[set[str]]]
    shared: bool = False
    """True when a second process is the same object (the memory store lives in one)."""
    stores: list[Store] = field(default_factory=list)
    options: dict[int, dict[str, Any]] = field(default_factory=dict)

    def make(self, **overrides: Any) -> Store:
        options: dict[str, Any] = {
            "lease_seconds": LEASE,
            "grace_seconds": GRACE,
            "dedup_seconds": 3600.0,
            "idle_seconds": 3600.0,
        }
        options.update(overrides)
        store = self.build(**options)
        self.stores.append(store)
        self.options[id(store)] = options
        return store

    def another(self, store: Store) -> Store:
        """The same store as seen from a second process."""
        if self.shared:
            return store
        twin = self.build(**self.options[id(store)])
        self.stores.append(twin)
        return twin

    async def advance(self, seconds: float) -> None:
        await self.move(seconds + SLACK)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis", pytest.param("cluster", marks=pytest.mark.slow)])
async def backend(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[Backend]:
    closers: list[Callable[[], Awaitable[None]]] = []
    if request.param == "memory":
        clock = FakeClock()

        async def move(seconds: float) -> None:
            clock.now += seconds

        async def memory_due(store: Store) -> set[str]:
            assert isinstance(store, MemoryStore)
            return set(store._due.marks)

        def memory(**options: Any) -> Store:
            return MemoryStore(clock=clock, **options)

        built = Backend("memory", memory, move, memory_due, shared=True)
    else:
        if request.param == "redis":
            url = request.getfixturevalue("redis_server").url
        else:
            url = request.getfixturevalue("redis_cluster").url

        async def redis_due(store: Store) -> set[str]:
            assert isinstance(store, RedisStore)
            client = store._client
            members: set[str] = set()
            async for name in client.scan_iter(match=f"{redis_prefix}:due:*"):
                members.update(str(member) for member in await client.zrange(name, 0, -1))
            return members

        def redis(**options: Any) -> Store:
            return RedisStore.from_url(url, prefix=redis_prefix, **options)

        clock_of = Redis.from_url(url)  # one node's clock: the cluster's run on one machine
        closers.append(clock_of.aclose)

        async def wait(seconds: float) -> None:
            await until_redis_time(clock_of, seconds)

        built = Backend(request.param, redis, wait, redis_due)
    yield built
    for store in built.stores:
        await store.close()
    for close in closers:
        await close()


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.make()


async def handle(
    store: Store, claim: Claim, *, replies: tuple[str, ...] = (), state: str = "done"
) -> Claim | None:
    """Do what a worker does with one claim; return what the store hands out next."""
    outbox = claim.conversation.outbox
    if claim.event is None:
        return await store.ack(claim.lease, len(outbox))
    after = replace(
        claim.conversation,
        state=state,
        data=said(claim.event),
        revision=claim.conversation.revision + 1,
        outbox=outbox + entries(*replies),
    )
    await store.commit(claim.lease, Commit(after))
    return await store.ack(claim.lease, len(after.outbox))


async def drain(store: Store, claim: Claim | None) -> list[str]:
    """Work a conversation until its lease is released; return the events handled, in order."""
    handled: list[str] = []
    while claim is not None:
        if claim.event is not None:
            handled.append(said(claim.event) or "")
        claim = await handle(store, claim)
    return handled


# --- accept and dedup ----------------------------------------------------------------------------


async def test_first_accept_takes_the_lease(store: Store) -> None:
    accepted = await store.accept(KEY, event("m1", "e1"), owner="a")
    assert not accepted.duplicate
    claim = accepted.claim
    assert claim is not None
    assert claim.lease.key == KEY
    assert claim.lease.fence >= 1
    assert claim.lease.token == f"a:{claim.lease.fence}"
    assert said(claim.event) == "e1"
    assert said_all(claim.conversation.outbox) == ()
    assert claim.conversation == Conversation(KEY)


async def test_a_duplicate_adds_nothing(store: Store) -> None:
    first = await store.accept(KEY, event("m1", "e1"), owner="a")
    again = await store.accept(KEY, event("m1", "e1 again"), owner="b")
    assert again.duplicate
    assert again.claim is None
    assert await drain(store, first.claim) == ["e1"]
    late = await store.accept(KEY, event("m1", "e1 late"), owner="b")
    assert late.duplicate
    assert late.claim is None
    assert await store.claim(KEY, owner="b") is None


async def test_dedup_keys_are_forgotten_after_the_window(backend: Backend) -> None:
    store = backend.make(dedup_seconds=0.3)
    first = await store.accept(KEY, event("m1", "e1"), owner="a")
    assert await drain(store, first.claim) == ["e1"]
    assert (await store.accept(KEY, event("m1", "e1"), owner="a")).duplicate
    await backend.advance(0.3)
    again = await store.accept(KEY, event("m1", "e1 redelivered"), owner="a")
    assert not again.duplicate
    assert await drain(store, again.claim) == ["e1 redelivered"]


async def test_dedup_is_per_conversation(store: Store) -> None:
    assert not (await store.accept("k1", event("m1", "e"), owner="a")).duplicate
    assert not (await store.accept("k2", event("m1", "e"), owner="a")).duplicate


async def test_a_duplicate_may_take_over_stranded_work(backend: Backend) -> None:
    store = backend.make()
    first = await store.accept(KEY, event("m1", "e1"), owner="a")
    assert first.claim is not None
    await backend.advance(LEASE)  # "a" died holding the lease
    again = await store.accept(KEY, event("m1", "e1"), owner="b")
    assert again.duplicate
    assert again.claim is not None
    assert said(again.claim.event) == "e1"
    assert again.claim.lease.fence > first.claim.lease.fence


# --- order and lease -----------------------------------------------------------------------------


async def test_events_are_handled_in_accept_order(store: Store) -> None:
    first = await store.accept(KEY, event("m0", "e0"), owner="a")
    for i in range(1, 6):
        accepted = await store.accept(KEY, event(f"m{i}", f"e{i}"), owner="b")
        assert not accepted.duplicate
        assert accepted.claim is None
    assert await drain(store, first.claim) == [f"e{i}" for i in range(6)]


async def test_one_holder_at_a_time(store: Store) -> None:
    assert await store.claim(KEY, owner="a") is None  # nothing there at all
    first = await store.accept(KEY, event("m1", "e1"), owner="a")
    assert first.claim is not None
    second = await store.accept(KEY, event("m2", "e2"), owner="b")
    assert not second.duplicate
    assert second.claim is None
    assert await store.claim(KEY, owner="b") is None
    assert await drain(store, first.claim) == ["e1", "e2"]
    assert await store.claim(KEY, owner="b") is None  # idle


async def test_claim_takes_an_expired_lease_with_work(backend: Backend) -> None:
    store = backend.make()
    first = await store.accept(KEY, event("m1", "e1"), owner="a")
    assert first.claim is not None
    await backend.advance(LEASE)
    claim = await store.claim(KEY, owner="b")
    assert claim is not None
    assert claim.lease.token.startswith("b:")
    assert claim.lease.fence > first.claim.lease.fence
    assert said(claim.event) == "e1"


async def test_extend_keeps_the_lease_past_its_first_expiry(backend: Backend) -> None:
    store = backend.make()
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    for _ in range(3):
        await backend.move(LEASE * 0.6)
        assert await store.extend(claim.lease)
    assert (await store.accept(KEY, event("m2", "e2"), owner="b")).claim is None
    assert await store.claim(KEY, owner="b") is None
    assert await drain(store, claim) == ["e1", "e2"]


async def test_extend_fails_once_another_holder_took_the_lease(backend: Backend) -> None:
    store = backend.make()
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    await backend.advance(LEASE)
    assert await backend.another(store).claim(KEY, owner="b") is not None
    assert not await store.extend(claim.lease)


async def test_an_expired_lease_nobody_took_is_taken_back(backend: Backend) -> None:
    """The store was away (or the holder slow) past the lease, and no one else came: the holder
    keeps its turn, so what it already sent is marked sent instead of going again."""
    store = backend.make()
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    await store.commit(claim.lease, turn(Conversation(KEY, state="s", revision=1), ("reply",)))
    await backend.advance(LEASE)
    assert await store.extend(claim.lease)
    await backend.advance(LEASE)
    assert await store.ack(claim.lease, 1, {"uuid-1": "{}"}) is None
    assert await store.messages(KEY) == {"uuid-1": "{}"}
    assert await backend.another(store).claim(KEY, owner="b") is None, "nothing left to resend"


# --- commit and ack ------------------------------------------------------------------------------


async def test_commit_writes_pops_and_appends(store: Store) -> None:
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    await store.accept(KEY, event("m2", "e2"), owner="a")
    record = Conversation(
        KEY, state="asked", data='{"n": 1}', version=3, revision=1, last_inbound_at=1700000000.25
    )
    commit = turn(record, ("r1", "r2"))
    await store.commit(claim.lease, commit)
    assert await store.load(KEY) == commit.conversation
    nxt = await store.ack(claim.lease, 0)
    assert nxt is not None
    assert said_all(nxt.conversation.outbox) == ("r1", "r2")
    assert said(nxt.event) == "e2"
    assert nxt.conversation == commit.conversation
    assert nxt.lease == claim.lease
    nxt = await store.ack(claim.lease, 1)
    assert nxt is not None
    assert said_all(nxt.conversation.outbox) == ("r2",)


async def test_commit_stores_absent_fields_as_absent(store: Store) -> None:
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    await store.accept(KEY, event("m2", "e2"), owner="a")
    full = Conversation(KEY, state="s", data="{}", version=1, revision=1, last_inbound_at=5.5)
    await store.commit(claim.lease, turn(full))
    bare = Conversation(KEY, state=None, data=None, version=1, revision=2, last_inbound_at=None)
    await store.commit(claim.lease, turn(bare))
    assert await store.load(KEY) == bare
    empty = Conversation(KEY, state="", data="", version=0, revision=3, last_inbound_at=0.0)
    await store.accept(KEY, event("m3", "e3"), owner="a")
    await store.commit(claim.lease, turn(empty))
    assert await store.load(KEY) == empty


async def test_ack_releases_when_nothing_is_left(store: Store) -> None:
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    await store.commit(claim.lease, turn(Conversation(KEY, state="s", revision=1), ("r1",)))
    assert await store.ack(claim.lease, 1) is None
    assert await store.claim(KEY, owner="b") is None
    follow = await store.accept(KEY, event("m2", "e2"), owner="b")
    assert follow.claim is not None
    assert follow.claim.lease.token.startswith("b:")
    assert follow.claim.conversation.revision == 1


async def test_ack_of_a_lost_lease_drops_nothing(backend: Backend) -> None:
    store = backend.make()
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    await store.commit(claim.lease, turn(Conversation(KEY, state="s", revision=1), ("r1", "r2")))
    await backend.advance(LEASE)
    taken = await backend.another(store).claim(KEY, owner="b")
    assert taken is not None
    with pytest.raises(LeaseLost):
        await store.ack(claim.lease, 2)
    assert said_all(taken.conversation.outbox) == ("r1", "r2")
    assert taken.event is None


async def test_a_stale_holder_cannot_overwrite_newer_state(backend: Backend) -> None:
    a_store = backend.make()
    b_store = backend.another(a_store)
    a = (await a_store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert a is not None
    await backend.advance(LEASE)  # "a" stalls past its lease
    b = (await b_store.accept(KEY, event("m2", "e2"), owner="b")).claim
    assert b is not None
    assert b.lease.fence > a.lease.fence
    assert said(b.event) == "e1"
    b_commit = turn(Conversation(KEY, state="by b", revision=1), ("from b",))
    await b_store.commit(b.lease, b_commit)
    with pytest.raises(LeaseLost):
        await a_store.commit(
            a.lease, turn(Conversation(KEY, state="by a", revision=1), ("from a",))
        )
    with pytest.raises(LeaseLost):
        await a_store.ack(a.lease, 1)
    assert not await a_store.extend(a.lease)
    assert await b_store.load(KEY) == b_commit.conversation
    nxt = await b_store.ack(b.lease, 0)
    assert nxt is not None
    assert said_all(nxt.conversation.outbox) == ("from b",)
    assert said(nxt.event) == "e2"


async def test_a_forged_lease_writes_nothing(store: Store) -> None:
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    forged = Lease(KEY, f"a:{claim.lease.fence + 1}", claim.lease.fence + 1)
    with pytest.raises(LeaseLost):
        await store.commit(forged, turn(Conversation(KEY, state="forged", revision=1), ("x",)))
    assert await store.load(KEY) is None
    nxt = await store.ack(claim.lease, 0)
    assert nxt is not None
    assert said(nxt.event) == "e1"
    assert said_all(nxt.conversation.outbox) == ()


# --- sweep ---------------------------------------------------------------------------------------


async def test_sweep_takes_over_a_dead_holders_work_in_order(backend: Backend) -> None:
    a_store = backend.make()
    b_store = backend.another(a_store)
    first = await a_store.accept(KEY, event("m1", "e1"), owner="a")
    assert first.claim is not None
    await a_store.accept(KEY, event("m2", "e2"), owner="a")
    await a_store.accept(KEY, event("m3", "e3"), owner="a")
    assert await b_store.sweep(owner="b") == []  # not due yet: "a" may be alive
    await backend.advance(LEASE + GRACE)
    claims = await b_store.sweep(owner="b")
    assert len(claims) == 1
    assert claims[0].lease.token.startswith("b:")
    assert claims[0].lease.fence > first.claim.lease.fence
    assert await drain(b_store, claims[0]) == ["e1", "e2", "e3"]


async def test_sweep_resumes_from_the_last_commit(backend: Backend) -> None:
    store = backend.make()
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    await store.accept(KEY, event("m2", "e2"), owner="a")
    await store.commit(claim.lease, turn(Conversation(KEY, state="one", revision=1), ("r1",)))
    await backend.advance(LEASE + GRACE)  # "a" died before sending r1
    (taken,) = await store.sweep(owner="b")
    assert said_all(taken.conversation.outbox) == ("r1",)
    assert said(taken.event) == "e2"
    assert taken.conversation.state == "one"


async def test_sweep_leaves_a_live_lease_alone(backend: Backend) -> None:
    store = backend.make()
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    for _ in range(4):
        await backend.move(LEASE * 0.5)
        assert await store.extend(claim.lease)
        assert await store.sweep(owner="b") == []
    assert KEY in await backend.due_members(store)
    assert await drain(store, claim) == ["e1"]


async def test_sweep_forgets_idle_conversations(backend: Backend) -> None:
    store = backend.make()
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert await drain(store, claim) == ["e1"]
    assert await backend.due_members(store) == {KEY}
    await backend.advance(LEASE + GRACE)
    assert await store.sweep(owner="b") == []
    assert await backend.due_members(store) == set()


async def test_sweep_claims_at_most_limit(backend: Backend) -> None:
    store = backend.make()
    keys = ["k0", "k{1}", ""]
    for key in keys:
        assert (await store.accept(key, event("m", "e"), owner="a")).claim is not None
    await backend.advance(LEASE + GRACE)
    first = await store.sweep(owner="b", limit=2)
    second = await store.sweep(owner="b", limit=2)
    assert len(first) == 2
    assert len(second) == 1
    assert sorted(c.lease.key for c in first + second) == sorted(keys)


async def test_next_due_is_the_earliest_mark(backend: Backend) -> None:
    store = backend.make()
    assert await store.next_due() is None
    await with_timers(store, pending("later", T0 + 600))
    assert await store.next_due() == T0 + LEASE + GRACE, "the accept's mark, in case it died"
    assert await store.sweep(owner="b", now=T0 + LEASE + GRACE) == []
    assert await store.next_due() == T0 + 600
    await store.accept("k2", event("m2", "e2"), owner=None, now=T0 + 5)
    assert await store.next_due() == T0 + 5, "a mark written since counts at once"
    (taken,) = await store.sweep(owner="b", now=T0 + 5)
    assert await drain(store, taken) == ["e2"]
    await store.sweep(owner="b", now=T0 + LEASE + GRACE + 6)  # forgets the idle "k2"
    assert await store.next_due() == T0 + 600
    await fire(store, (await store.sweep(owner="b", now=T0 + 600))[0], T0 + 600)
    assert await store.sweep(owner="b", now=T0 + 601) == []
    assert await store.next_due() is None, "nothing pending: nothing marked"


# --- records -------------------------------------------------------------------------------------


async def test_records_expire_when_idle(backend: Backend) -> None:
    store = backend.make(idle_seconds=0.3)
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert await drain(store, claim) == ["e1"]
    assert await store.load(KEY) is not None
    assert await store.keys() == [KEY]
    await backend.advance(0.3)
    assert await store.load(KEY) is None
    assert await store.keys() == []


async def test_load_and_keys(store: Store) -> None:
    assert await store.load("nobody") is None
    odd = "a{b}c%7B%"
    for key in ("k1", "k2", odd, ""):
        claim = (await store.accept(key, event("m", "e"), owner="a")).claim
        assert await drain(store, claim) == ["e"]
    await store.accept("waiting", event("m", "e"), owner="a")  # claimed, never committed
    assert await store.load("waiting") is None
    assert await store.load(odd) == Conversation(odd, state="done", data="e", revision=1)
    assert sorted(await store.keys()) == sorted(["k1", "k2", odd, ""])
    assert len(await store.keys(limit=2)) == 2


# --- runtime metadata and message records --------------------------------------------------------


async def test_choices_are_committed_with_the_record_and_handed_back(store: Store) -> None:
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    assert claim.conversation.choices == ()
    choices = (Button(id="small", title="Small"), Button(id="large", title="Large"))
    await store.commit(claim.lease, turn(Conversation(KEY, state="s", revision=1, choices=choices)))
    assert await store.ack(claim.lease, 0) is None
    next_claim = (await store.accept(KEY, event("m2", "e2"), owner="a")).claim
    assert next_claim is not None
    assert next_claim.conversation.choices == choices
    await store.commit(next_claim.lease, turn(Conversation(KEY, state="s", revision=2)))
    loaded = await store.load(KEY)
    assert loaded is not None
    assert loaded.choices == (), "a record written without choices drops the old choices"


# --- the typed values: events, the outbox ---------------------------------------------------------


async def test_the_accepted_event_is_handed_back_as_itself_or_as_equal(store: Store) -> None:
    first, second = event("m1", "e1"), event("m2", "e2")
    claim = (await store.accept(KEY, first, owner="a")).claim
    assert claim is not None
    assert claim.event is first, "the accepting worker gets the object it gave"
    await store.accept(KEY, second, owner="a")
    await store.commit(claim.lease, turn(Conversation(KEY, state="s", revision=1)))
    nxt = await store.ack(claim.lease, 0)
    assert nxt is not None
    assert nxt.event == second
    assert nxt.event.raw == {"text": "e2"}


async def test_commit_replaces_the_outbox_with_the_conversations(store: Store) -> None:
    """Entries keep their message (id and client_ref), attempts and not-before time."""
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    first, second = entries("first", "second")
    waiting = replace(first, attempts=3, not_before=1700000123.5)
    referenced = replace(
        second, message=second.message.model_copy(update={"client_ref": "order-17"})
    )
    after = Conversation(KEY, state="s", revision=1, outbox=(waiting, referenced))
    await store.commit(claim.lease, Commit(after))
    assert await store.load(KEY) == after
    nxt = await store.ack(claim.lease, 0)
    assert nxt is not None
    assert nxt.conversation.outbox == (waiting, referenced)
    await store.accept(KEY, event("m2", "e2"), owner="a")
    nxt = await store.ack(claim.lease, 1)
    assert nxt is not None
    assert nxt.conversation.outbox == (referenced,)
    assert said(nxt.event) == "e2"
    again = replace(nxt.conversation, revision=2, outbox=(*nxt.conversation.outbox, *entries("x")))
    await store.commit(claim.lease, Commit(again))
    assert await store.load(KEY) == again
    emptied = replace(again, revision=3, outbox=())
    await store.accept(KEY, event("m3", "e3"), owner="a")
    await store.commit(claim.lease, Commit(emptied))
    assert await store.load(KEY) == emptied
    assert said(await _next_event(store, claim)) is None


async def _next_event(store: Store, claim: Claim) -> Event | None:
    nxt = await store.ack(claim.lease, 0)
    return None if nxt is None else nxt.event


async def test_message_records_are_written_by_ack_and_commit(store: Store) -> None:
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    await store.commit(claim.lease, turn(Conversation(KEY, state="s", revision=1), ("reply",)))
    await store.ack(claim.lease, 1, {"uuid-1": '{"status":"submitted"}'})
    assert await store.messages(KEY) == {"uuid-1": '{"status":"submitted"}'}
    status = (await store.accept(KEY, event("m2", "status event"), owner="a")).claim
    assert status is not None
    await store.commit(
        status.lease,
        turn(Conversation(KEY, state="s", revision=2), messages={"uuid-1": '{"status":"read"}'}),
    )
    await store.ack(status.lease, 0)
    assert await store.messages(KEY) == {"uuid-1": '{"status":"read"}'}
    assert await store.messages("whatsapp:nobody:447700900000") == {}


async def test_a_stale_lease_writes_no_message_record(store: Store) -> None:
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    stale = Lease(claim.lease.key, claim.lease.token + "x", claim.lease.fence)
    with pytest.raises(LeaseLost):
        await store.ack(stale, 0, {"uuid-9": "{}"})
    assert await store.messages(KEY) == {}


async def test_message_records_expire(backend: Backend) -> None:
    store = backend.make(messages_seconds=LEASE)
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    await store.commit(claim.lease, turn(Conversation(KEY, state="s", revision=1)))
    await store.ack(claim.lease, 0, {"uuid-1": "{}"})
    await backend.advance(LEASE)
    assert await store.messages(KEY) == {}


async def test_records_filed_with_another_conversation_need_no_lease_and_expire(
    backend: Backend,
) -> None:
    store = backend.make(messages_seconds=LEASE)
    other = "whatsapp:447700900000:447700900777"
    await store.file_messages(other, {"uuid-1": '{"status":"submitted"}'})
    await store.file_messages(other, {"uuid-2": "{}", "uuid-1": '{"status":"read"}'})
    assert await store.messages(other) == {"uuid-1": '{"status":"read"}', "uuid-2": "{}"}
    assert await store.messages(KEY) == {}
    await backend.advance(LEASE)
    assert await store.messages(other) == {}


async def test_the_backlog_counts_what_waits_for_a_worker(store: Store) -> None:
    now = time.time()
    assert await store.backlog(now=now) == Backlog(0, 0)
    for message_id in ("m1", "m2"):  # a notifier's: no lease is taken, the conversation is due
        await store.accept(KEY, event(message_id, "e"), owner=None, now=now)
    assert await store.backlog(now=now) == Backlog(2, 0)
    claim = await store.claim(KEY, owner="a", now=now)
    assert claim is not None
    assert await store.backlog(now=now) == Backlog(0, 0), "a worker holds it"
    second = await handle(store, claim)  # the first event; the second comes next
    assert second is not None
    timers = {"t": new_timer("t", now - 1, None), "later": new_timer("later", now + 60, None)}
    done = Conversation(KEY, state="s", revision=2, timers=timers)
    await store.commit(second.lease, turn(done), now=now)
    await store.release(second.lease, now=now)  # a process leaving: its due timer waits
    assert await store.backlog(now=now) == Backlog(0, 1)


async def test_a_workflow_link_is_kept_for_its_time_and_shared(backend: Backend) -> None:
    store = backend.make()
    assert await store.workflow_link("wf-1") is None

    await store.link_workflow("wf-1", '{"key": "whatsapp:bot:user"}', seconds=LEASE)
    await store.link_workflow("wf-{2}", "second", seconds=3600.0)

    twin = backend.another(store)
    assert await twin.workflow_link("wf-1") == '{"key": "whatsapp:bot:user"}'
    assert await twin.workflow_link("wf-{2}") == "second"
    await backend.advance(LEASE)
    assert await store.workflow_link("wf-1") is None, "expired"
    assert await store.workflow_link("wf-{2}") == "second"


# --- pending work: a waiting outbox, refusals, hand-over, orphaned leases -------------------------


async def test_a_waiting_head_releases_the_lease_until_its_time(backend: Backend) -> None:
    store = backend.make()
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    first, second = entries("r1", "r2")
    await store.commit(claim.lease, turn(Conversation(KEY, state="s", revision=1)))
    after = Conversation(KEY, state="s", revision=1, outbox=(first, second))
    await store.accept(KEY, event("m2", "e2"), owner="a")
    await store.commit(claim.lease, Commit(after))
    retry = replace(first, attempts=1, not_before=1700000000.0)
    assert await store.ack(claim.lease, 0, retry=retry, wait=LEASE) is None, "released"
    assert await backend.another(store).sweep(owner="b") == [], "not due before its time"
    await backend.advance(LEASE)
    (resumed,) = await backend.another(store).sweep(owner="b")
    assert resumed.conversation.outbox == (retry, second), "order and attempts kept"
    assert resumed.event is None


async def test_a_waiting_head_does_not_hold_events_back(store: Store) -> None:
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    (entry,) = entries("r1")
    await store.commit(claim.lease, Commit(Conversation(KEY, revision=1, outbox=(entry,))))
    await store.accept(KEY, event("m2", "e2"), owner="b")
    retry = replace(entry, attempts=1, not_before=1.0)
    nxt = await store.ack(claim.lease, 0, retry=retry, wait=60.0)
    assert nxt is not None, "an event waits: the holder keeps the lease to handle it"
    assert said(nxt.event) == "e2"
    assert nxt.conversation.outbox == (retry,)


async def test_ack_appends_events_behind_the_users(store: Store) -> None:
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    await store.commit(claim.lease, turn(Conversation(KEY, revision=1), ("refused", "r2")))
    await store.accept(KEY, event("m2", "e2"), owner="b")
    nxt = await store.ack(claim.lease, 2, events=[event("s1", "refusal")])
    assert await drain(store, nxt) == ["e2", "refusal"]


async def test_release_hands_the_conversation_over_at_once(backend: Backend) -> None:
    store = backend.make(lease_seconds=60.0)
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    await store.accept(KEY, event("m2", "e2"), owner="a")
    await store.release(claim.lease)
    (taken,) = await backend.another(store).sweep(owner="b")
    assert taken.lease.fence > claim.lease.fence
    assert said(taken.event) == "e1"
    with pytest.raises(LeaseLost):
        await store.commit(claim.lease, turn(Conversation(KEY, revision=1)))
    await store.release(claim.lease)  # no longer held: changes nothing
    assert await drain(backend.another(store), taken) == ["e1", "e2"]


async def test_reclaim_takes_an_orphaned_lease_of_the_callers_own(backend: Backend) -> None:
    store = backend.make()
    orphan = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert orphan is not None  # say the reply was lost: no worker of "a" holds it
    assert await store.claim(KEY, owner="b", reclaim=True) is None, "not b's"
    assert await store.claim(KEY, owner="a") is None, "only when asked"
    taken = await store.claim(KEY, owner="a", reclaim=True)
    assert taken is not None
    assert taken.lease.fence > orphan.lease.fence
    assert said(taken.event) == "e1"
    assert await drain(store, taken) == ["e1"]


async def test_the_sweep_reclaims_its_own_orphans_but_not_those_in_hand(
    backend: Backend,
) -> None:
    store = backend.make(lease_seconds=10 * LEASE)
    held = (await store.accept("held", event("m1", "e1"), owner="a")).claim
    orphan = (await store.accept("orphan", event("m1", "e1"), owner="a")).claim
    assert held is not None
    assert orphan is not None
    await store.release(orphan.lease)  # due now; then "a" takes it again and loses the reply
    assert await store.claim("orphan", owner="a") is not None
    await store.release(held.lease)
    assert await store.claim("held", owner="a") is not None
    claims = await store.sweep(owner="a", skip={"held"})
    assert [c.lease.key for c in claims] == ["orphan"]
    assert await backend.another(store).sweep(owner="b") == []


async def test_new_events_never_make_a_takeover_later(backend: Backend) -> None:
    store = backend.make()
    dead = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert dead is not None  # "a" dies holding the lease
    for i in range(2, 5):
        await backend.move(LEASE / 4)
        assert (await store.accept(KEY, event(f"m{i}", f"e{i}"), owner="b")).claim is None
    await backend.advance(LEASE / 4 + GRACE)  # one lease and a grace after the first accept
    (taken,) = await store.sweep(owner="b")
    assert await drain(store, taken) == [f"e{i}" for i in range(1, 5)]


async def test_an_accept_without_an_owner_takes_no_lease_and_is_due_at_once(
    backend: Backend,
) -> None:
    """What a process that runs no bot (a Notifier) records, any serving process's next sweep
    takes, without waiting a lease."""
    store = backend.make()
    peer = backend.another(store)
    first = await store.accept(KEY, event("m1", "e1"), owner=None)
    assert (first.duplicate, first.claim) == (False, None)
    again = await store.accept(KEY, event("m1", "e1"), owner=None)
    assert (again.duplicate, again.claim) == (True, None)
    (taken,) = await peer.sweep(owner="b")
    assert await drain(peer, taken) == ["e1"]


async def test_an_accept_without_an_owner_joins_the_holders_queue(backend: Backend) -> None:
    store = backend.make()
    claim = (await store.accept(KEY, event("m1", "e1"), owner="a")).claim
    assert claim is not None
    assert (await store.accept(KEY, event("m2", "e2"), owner=None)).claim is None
    assert await store.sweep(owner="b") == []  # "a" holds it, and goes on to e2
    assert await drain(store, claim) == ["e1", "e2"]


# --- timers: pending work of their own, on the bot's clock ---------------------------------------

T0 = 2_000_000_000.0
"""The bot's clock in these tests: passed as ``now``, never read from a machine, so time
travel (the sandbox's, a test clock's) is exactly what they exercise."""


def pending(key: str, at: float, data: str | None = None) -> PendingTimer:
    return PendingTimer(key, at, f"{key}@{at}", data)


async def with_timers(store: Store, *timers: PendingTimer, now: float = T0) -> Conversation:
    """Handle one event whose turn leaves ``timers`` pending; the lease is released."""
    claim = (await store.accept(KEY, event(f"m{now}", "e"), owner="a", now=now)).claim
    assert claim is not None
    after = replace(
        claim.conversation,
        revision=claim.conversation.revision + 1,
        timers={timer.key: timer for timer in timers},
    )
    await store.commit(claim.lease, Commit(after), now=now)
    assert await store.ack(claim.lease, 0, now=now) is None
    return after


async def fire(store: Store, claim: Claim, now: float) -> PendingTimer:
    """Handle a claim's due timer as the runtime does: commit without it, not from the inbox."""
    assert claim.event is None
    timer = claim.conversation.due_timer(now)
    assert timer is not None
    rest = {k: t for k, t in claim.conversation.timers.items() if k != timer.key}
    after = replace(claim.conversation, revision=claim.conversation.revision + 1, timers=rest)
    await store.commit(claim.lease, Commit(after, from_inbox=False), now=now)
    assert await store.ack(claim.lease, 0, now=now) is None
    return timer


async def test_a_timer_fires_once_when_due(backend: Backend) -> None:
    store = backend.make()
    await with_timers(store, pending("remind", T0 + 60, '{"n":1}'))
    assert (await store.load(KEY)) is not None
    assert await store.sweep(owner="b", now=T0 + 59) == [], "not before its time"
    assert await store.claim(KEY, owner="b", now=T0 + 59) is None
    (claim,) = await backend.another(store).sweep(owner="b", now=T0 + 60)
    timer = await fire(store, claim, T0 + 60)
    assert (timer.key, timer.data) == ("remind", '{"n":1}')
    assert await store.sweep(owner="c", now=T0 + 3600) == []
    assert await backend.due_members(store) == set()
    loaded = await store.load(KEY)
    assert loaded is not None
    assert loaded.timers == {}


async def test_cancelling_and_replacing_are_commits(backend: Backend) -> None:
    store = backend.make()
    await with_timers(store, pending("a", T0 + 10), pending("b", T0 + 20))
    await with_timers(store, pending("b", T0 + 30), now=T0 + 1)  # a cancelled, b replaced
    assert await store.sweep(owner="x", now=T0 + 25) == [], "neither a nor the old b fires"
    (claim,) = await store.sweep(owner="x", now=T0 + 30)
    assert (await fire(store, claim, T0 + 30)).id == f"b@{T0 + 30}"


async def test_timers_fall_due_in_order_and_the_inbox_goes_first(store: Store) -> None:
    await with_timers(store, pending("late", T0 + 20), pending("early", T0 + 10))
    first = (await store.accept(KEY, event("m9", "e9"), owner="a", now=T0 + 30)).claim
    assert first is not None
    assert said(first.event) == "e9", "an event already in the inbox is handled first"
    await store.commit(first.lease, turn(first.conversation), now=T0 + 30)
    nxt = await store.ack(first.lease, 0, now=T0 + 30)
    assert nxt is not None, "due timers are work: the lease is kept"
    assert nxt.event is None
    assert nxt.conversation.due_timer(T0 + 30) == pending("early", T0 + 10)


async def test_a_timer_survives_a_restart(backend: Backend) -> None:
    if backend.shared:
        pytest.skip("the memory store lives and dies with its process")
    store = backend.make()
    await with_timers(store, pending("remind", T0 + 60))
    await store.close()
    backend.stores.remove(store)
    again = backend.make()
    (claim,) = await again.sweep(owner="b", now=T0 + 61)
    assert (await fire(again, claim, T0 + 61)).key == "remind"


async def test_a_due_timer_is_taken_over_after_its_holder_dies(backend: Backend) -> None:
    store = backend.make()
    await with_timers(store, pending("remind", T0 + 60))
    (dead,) = await store.sweep(owner="a", now=T0 + 60)  # "a" dies holding it
    assert await backend.another(store).sweep(owner="b", now=T0 + 60) == []
    await backend.advance(LEASE + GRACE)
    later = T0 + 60 + LEASE + GRACE + SLACK
    (taken,) = await backend.another(store).sweep(owner="b", now=later)
    assert taken.lease.fence > dead.lease.fence
    with pytest.raises(LeaseLost):
        await store.commit(dead.lease, Commit(taken.conversation, from_inbox=False), now=later)
    await fire(backend.another(store), taken, later)
    assert await store.sweep(owner="c", now=later + 3600) == [], "fired once"


async def test_a_leased_conversation_is_looked_at_again_by_its_first_timer(
    backend: Backend,
) -> None:
    store = backend.make(lease_seconds=60.0)
    await with_timers(store, pending("soon", T0 + 5))
    held = (await store.accept(KEY, event("m2", "e2"), owner="a", now=T0 + 1)).claim
    assert held is not None
    assert await store.sweep(owner="b", now=T0 + 5) == [], "leased"
    await store.commit(held.lease, turn(held.conversation), now=T0 + 5)
    await store.release(held.lease, now=T0 + 5)
    (claim,) = await store.sweep(owner="b", now=T0 + 6)
    assert (await fire(store, claim, T0 + 6)).key == "soon"


async def test_a_record_lives_past_its_idle_time_until_its_last_timer(backend: Backend) -> None:
    store = backend.make(idle_seconds=0.2)
    await with_timers(store, pending("far", T0 + 3600), now=T0)
    await backend.advance(0.2)
    loaded = await store.load(KEY)
    assert loaded is not None
    assert set(loaded.timers) == {"far"}
