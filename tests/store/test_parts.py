"""The parts buffer's contract, on the memory store and on Redis (real Redis).

Part of the store contract suite: the same ``backend`` fixture builds the stores, and time is
moved on the memory store and waited out on Redis, whose scripts read the server's clock.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from botkit.store.base import Store, StoreUnavailable
from botkit.store.parts import Added, Part, PartsBuffer, PartsLimits
from botkit.store.redis import RedisStore
from tests.conftest import _free_port
from tests.store.test_store_contract import Backend, backend  # noqa: F401  (the fixture)

WAIT = 0.3
CLAIM = 0.3
SENDER = "447700900001"


def limits(**overrides: float) -> PartsLimits:
    values: dict[str, float] = {"wait_seconds": WAIT, "claim_seconds": CLAIM}
    values.update(overrides)
    return PartsLimits(**values)  # type: ignore[arg-type]


def part(
    number: int,
    total: int = 3,
    *,
    key: str = "m1",
    sender: str = SENDER,
    part_id: str | None = None,
) -> Part:
    return Part(
        key=key,
        sender=sender,
        number=number,
        total=total,
        part_id=part_id or f"{key}-{number}",
        body=f"{key}:{number}/{total}",
    )


def bodies(key: str, numbers: range | list[int], total: int = 3) -> tuple[str, ...]:
    return tuple(f"{key}:{n}/{total}" for n in numbers)


@pytest.fixture
def store(backend: Backend) -> Store:  # noqa: F811
    return backend.make()


@pytest.fixture
def buffer(store: Store) -> PartsBuffer:
    return store.parts_buffer(limits())


async def drain(buffer: PartsBuffer) -> list[tuple[str, ...]]:
    """Claim whatever is due and report it delivered; the bodies of each set."""
    due = await buffer.claim_due()
    await buffer.delivered([d.claim for d in due])
    return [d.bodies for d in due]


# --- joining ----------------------------------------------------------------------------------


async def test_parts_in_any_order_complete_once_all_arrived(buffer: PartsBuffer) -> None:
    assert await buffer.add(part(3)) == Added("held")
    assert await buffer.add(part(1)) == Added("held")
    assert await buffer.held(SENDER) == 2

    assert await buffer.add(part(2)) == Added("complete", bodies("m1", [1, 2, 3]))


async def test_a_single_part_is_complete_at_once(buffer: PartsBuffer) -> None:
    assert await buffer.add(part(1, 1)) == Added("complete", ("m1:1/1",))


async def test_redeliveries_repeat_the_set_until_done_then_are_duplicates(
    buffer: PartsBuffer,
) -> None:
    assert await buffer.add(part(1, 2)) == Added("held")
    assert await buffer.add(part(1, 2)) == Added("held")
    complete = await buffer.add(part(2, 2))
    assert complete == Added("complete", bodies("m1", [1, 2], 2))
    assert await buffer.add(part(1, 2)) == complete

    await buffer.done(part(1, 2))

    assert await buffer.held() == 0
    assert await buffer.add(part(2, 2)) == Added("duplicate")
    assert await buffer.held() == 0


async def test_done_for_another_message_under_the_same_key_changes_nothing(
    buffer: PartsBuffer,
) -> None:
    await buffer.add(part(1, 2))
    await buffer.add(part(2, 2))

    await buffer.done(part(1, 2, part_id="someone-else"))

    assert await buffer.held() == 2
    assert await buffer.add(part(1, 2)) == Added("complete", bodies("m1", [1, 2], 2))


async def test_senders_and_keys_never_mix(buffer: PartsBuffer) -> None:
    other = "447700900002"
    await buffer.add(part(1, 2, key="a"))
    await buffer.add(part(1, 2, key="b", sender=other))

    assert await buffer.add(part(2, 2, key="b", sender=other)) == Added(
        "complete", bodies("b", [1, 2], 2)
    )
    assert await buffer.held(SENDER) == 1
    assert await buffer.held(other) == 2


async def test_parts_join_across_processes(backend: Backend, store: Store) -> None:  # noqa: F811
    here = store.parts_buffer(limits())
    there = backend.another(store).parts_buffer(limits())

    assert await here.add(part(2)) == Added("held")
    assert await there.add(part(3)) == Added("held")
    assert await there.add(part(1)) == Added("complete", bodies("m1", [1, 2, 3]))


async def test_parts_outlive_a_restart(backend: Backend, store: Store) -> None:  # noqa: F811
    if backend.shared:
        pytest.skip("the memory store lives and dies with its process")
    await store.parts_buffer(limits()).add(part(1))
    await store.close()

    reborn = backend.make().parts_buffer(limits())

    await reborn.add(part(2))
    assert await reborn.add(part(3)) == Added("complete", bodies("m1", [1, 2, 3]))


async def test_concurrent_adds_from_two_processes_complete_with_one_set(
    backend: Backend,  # noqa: F811
    store: Store,
) -> None:
    buffers = [store.parts_buffer(limits()), backend.another(store).parts_buffer(limits())]
    arrivals = [part(n, 20) for n in range(1, 21)] * 2
    random.Random(20).shuffle(arrivals)

    results = await asyncio.gather(
        *(buffers[i % 2].add(p) for i, p in enumerate(arrivals)), return_exceptions=False
    )

    complete = [r for r in results if r.outcome == "complete"]
    assert complete
    assert set(complete) == {Added("complete", bodies("m1", range(1, 21), 20))}


async def test_a_reused_key_hands_the_held_parts_to_delivery(buffer: PartsBuffer) -> None:
    await buffer.add(part(1, 3))
    await buffer.add(part(2, 2))  # another total: a new message under the same key
    await buffer.add(part(1, 2, part_id="new-1"))  # fits the new set, which it completes
    await buffer.add(part(2, 3, key="k"))
    await buffer.add(part(2, 3, key="k", part_id="other"))  # same number, another id

    due = await buffer.claim_due()

    assert sorted((d.bodies, d.complete) for d in due) == [
        (("k:2/3",), False),
        (("m1:1/3",), False),
    ]
    assert await buffer.held() == 3  # m1's new set (2 parts) and k's new one


# --- the wait ---------------------------------------------------------------------------------


async def test_after_the_wait_what_arrived_is_due_once(
    backend: Backend,  # noqa: F811
    buffer: PartsBuffer,
) -> None:
    await buffer.add(part(3))
    await buffer.add(part(1))
    assert await buffer.claim_due() == []

    await backend.advance(WAIT)
    due = await buffer.claim_due()

    assert [(d.bodies, d.complete) for d in due] == [(bodies("m1", [1, 3]), False)]
    assert await buffer.claim_due() == []  # claimed: nobody else gets it
    assert await buffer.held() == 0
    await buffer.delivered([due[0].claim])
    await backend.advance(CLAIM)
    assert await buffer.claim_due() == []


async def test_a_claim_not_reported_delivered_comes_back(
    backend: Backend,  # noqa: F811
    buffer: PartsBuffer,
) -> None:
    await buffer.add(part(1))
    await backend.advance(WAIT)
    (first,) = await buffer.claim_due()

    await backend.advance(CLAIM)
    (again,) = await buffer.claim_due()

    assert again == first


async def test_a_part_after_the_wait_starts_a_new_set(
    backend: Backend,  # noqa: F811
    buffer: PartsBuffer,
) -> None:
    await buffer.add(part(1))
    await backend.advance(WAIT)

    assert await buffer.add(part(2)) == Added("held")

    assert await drain(buffer) == [bodies("m1", [1])]
    assert await buffer.held() == 1


async def test_a_complete_set_never_done_is_delivered_whole(
    backend: Backend,  # noqa: F811
    buffer: PartsBuffer,
) -> None:
    await buffer.add(part(1, 1))
    await backend.advance(WAIT)

    due = await buffer.claim_due()

    assert [(d.bodies, d.complete) for d in due] == [(("m1:1/1",), True)]


async def test_done_sets_are_forgotten_after_the_wait(
    backend: Backend,  # noqa: F811
    buffer: PartsBuffer,
) -> None:
    await buffer.add(part(1, 1))
    await buffer.done(part(1, 1))
    await backend.advance(WAIT)

    assert await buffer.claim_due() == []
    assert await buffer.add(part(1, 1)) == Added("complete", ("m1:1/1",))


async def test_two_processes_claiming_at_once_never_share_a_set(
    backend: Backend,  # noqa: F811
    store: Store,
) -> None:
    here = store.parts_buffer(limits())
    there = backend.another(store).parts_buffer(limits())
    for n in range(60):
        await here.add(part(1, 2, key=f"m{n}", sender=f"4477009{n:05d}"))
    await backend.advance(WAIT)

    mine, theirs = await asyncio.gather(here.claim_due(), there.claim_due())

    got = [d.bodies for d in mine] + [d.bodies for d in theirs]
    assert sorted(got) == sorted((f"m{n}:1/2",) for n in range(60))


# --- bounds -----------------------------------------------------------------------------------


async def test_a_sender_past_the_bound_has_its_oldest_set_delivered_early(
    store: Store,
) -> None:
    buffer = store.parts_buffer(limits(per_sender=3, total=64))
    other = "447700900002"
    await buffer.add(part(1, 2, key="other", sender=other))
    for n in range(4):
        await buffer.add(part(1, 2, key=f"m{n}"))

    assert await buffer.held(SENDER) == 3
    assert await drain(buffer) == [("m0:1/2",)]
    assert await buffer.held(other) == 1
    assert await buffer.add(part(2, 2, key="m3")) == Added("complete", ("m3:1/2", "m3:2/2"))


async def test_sets_marked_done_count_toward_no_bound(store: Store) -> None:
    buffer = store.parts_buffer(limits(per_sender=3, total=64))
    for n in range(5):
        await buffer.add(part(1, 1, key=f"d{n}"))
        await buffer.done(part(1, 1, key=f"d{n}"))
    for n in range(3):
        await buffer.add(part(1, 2, key=f"w{n}"))

    assert await buffer.held(SENDER) == 3
    assert await buffer.claim_due() == []
    assert await buffer.add(part(1, 1, key="d0")) == Added("duplicate")


async def test_a_set_larger_than_the_sender_bound_is_delivered_and_restarted(
    store: Store,
) -> None:
    buffer = store.parts_buffer(limits(per_sender=2, total=64))
    for n in (1, 2, 3):
        await buffer.add(part(n, 5))

    assert await buffer.held(SENDER) == 1
    assert await drain(buffer) == [bodies("m1", [1, 2], 5)]


async def test_the_total_bound_holds_and_every_part_is_delivered_once(
    backend: Backend,  # noqa: F811
    store: Store,
) -> None:
    bound = 32
    buffer = store.parts_buffer(limits(per_sender=bound, total=bound))
    delivered: list[tuple[str, ...]] = []
    for n in range(200):
        await buffer.add(part(1, 2, key=f"m{n}", sender=f"4477{n % 50:08d}"))
        assert await buffer.held() <= bound
        delivered += await drain(buffer)

    await backend.advance(WAIT)
    delivered += await drain(buffer)

    assert sorted(delivered) == sorted((f"m{n}:1/2",) for n in range(200))
    assert await buffer.held() == 0


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="per_sender"):
        PartsLimits(per_sender=10, total=5)
    with pytest.raises(ValueError, match="claim_seconds"):
        PartsLimits(claim_seconds=0)


# --- failures ---------------------------------------------------------------------------------


async def test_an_unreachable_store_refuses_parts(backend: Backend, store: Store) -> None:  # noqa: F811
    if backend.name != "memory":
        nobody = RedisStore.from_url(f"redis://127.0.0.1:{_free_port()}/0", connect_timeout=1.0)
        backend.stores.append(nobody)
        buffer = nobody.parts_buffer(limits())
    else:
        buffer = store.parts_buffer(limits())
        await store.close()

    with pytest.raises(StoreUnavailable):
        await buffer.add(part(1))
    with pytest.raises(StoreUnavailable):
        await buffer.claim_due()
