"""Joining the parts of concatenated inbound SMS."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import random

import pytest

from botkit.errors import InvalidPayload
from botkit.events import Channel, Event, EventKind, SmsInfo, Text, WebhookFormat
from botkit.store.parts import MemoryPartsBuffer, PartsLimits
from botkit.vonage.inbound.concat import DEFAULT_TTL, SmsConcat, assemble_parts
from botkit.vonage.inbound.sms_api import SmsPart, parse_sms_inbound

USER = "447700900001"
OTHER_USER = "447700900002"
BOT = "447700900000"


class Clock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sms_part(
    number: int,
    total: int = 3,
    *,
    text: str | None = None,
    ref: str = "7",
    user: str = USER,
    bot: str = BOT,
    message_id: str | None = None,
    encoding: str = "text",
) -> SmsPart:
    params = {
        "msisdn": user,
        "to": bot,
        "messageId": message_id or f"{user}-{ref}-{number}",
        "text": f"<{number}/{total}>" if text is None else text,
        "type": encoding,
        "keyword": f"KW{number}",
        "message-timestamp": f"2020-01-01 12:00:0{number % 10}",
        "concat": "true",
        "concat-ref": ref,
        "concat-total": str(total),
        "concat-part": str(number),
    }
    part = parse_sms_inbound(params)
    assert isinstance(part, SmsPart)
    return part


def joiner(clock: Clock | None = None, ttl: float = DEFAULT_TTL) -> SmsConcat:
    """Long SMS joined in a memory buffer on ``clock``."""
    return SmsConcat(MemoryPartsBuffer(PartsLimits(wait_seconds=ttl), now=clock or Clock()))


async def add_all(buffer: SmsConcat, parts: list[SmsPart]) -> list[Event | None]:
    return [await buffer.add(part) for part in parts]


async def due_parts(buffer: SmsConcat) -> list[tuple[SmsPart, ...]]:
    """Claim what is due; the parts of each, in order (delivered at once)."""
    due = await buffer.claim_due()
    await buffer.delivered([d.claim for d in due])
    found = []
    for d in due:
        assert d.event is not None
        found.append(tuple(SmsPart.from_json(json.dumps(p)) for p in d.event.raw["parts"]))
    return found


async def test_parts_in_order_make_one_message() -> None:
    buffer = joiner()

    results = await add_all(buffer, [sms_part(1), sms_part(2), sms_part(3)])

    assert results[:2] == [None, None]
    event = results[2]
    assert event is not None
    assert event.kind is EventKind.MESSAGE
    assert event.channel is Channel.SMS
    assert event.format is WebhookFormat.SMS_API
    assert (event.user, event.bot) == (USER, BOT)
    assert event.content == Text(text="<1/3><2/3><3/3>")
    assert event.message_id == f"{USER}-7-1"
    assert event.sms == SmsInfo(keyword="KW1", num_messages=3, encoding="text")
    assert event.timestamp == sms_part(1).timestamp
    assert event.raw == {"parts": [dict(sms_part(n).raw) for n in (1, 2, 3)]}


@pytest.mark.parametrize("order", list(itertools.permutations([1, 2, 3])))
async def test_any_arrival_order_gives_the_same_message(order: tuple[int, ...]) -> None:
    buffer = joiner()

    results = await add_all(buffer, [sms_part(n) for n in order])

    assert results[:2] == [None, None]
    assert results[2] == assemble_parts([sms_part(1), sms_part(2), sms_part(3)])
    assert results[2] is not None
    assert results[2].text == "<1/3><2/3><3/3>"


async def test_a_repeated_part_is_ignored_until_the_message_is_complete() -> None:
    buffer = joiner()

    results = await add_all(buffer, [sms_part(2), sms_part(2), sms_part(1), sms_part(1)])

    assert results == [None, None, None, None]
    event = await buffer.add(sms_part(3))
    assert event is not None
    assert event.text == "<1/3><2/3><3/3>"


async def test_a_part_redelivered_after_completion_yields_the_same_event() -> None:
    buffer = joiner()
    *_, first = await add_all(buffer, [sms_part(1), sms_part(2), sms_part(3)])

    again = [await buffer.add(sms_part(n)) for n in (3, 1, 2)]

    assert again == [first, first, first]
    assert await buffer.buffer.held() == 3


async def test_messages_of_two_users_interleave_without_mixing() -> None:
    buffer = joiner()
    mine = [sms_part(n, text=f"a{n}") for n in (1, 2, 3)]
    theirs = [sms_part(n, text=f"b{n}", user=OTHER_USER) for n in (1, 2, 3)]

    results = await add_all(buffer, [mine[2], theirs[0], mine[0], theirs[2], theirs[1], mine[1]])

    assert results[:4] == [None, None, None, None]
    done = [r for r in results if r is not None]
    assert [(e.user, e.text) for e in done] == [(OTHER_USER, "b1b2b3"), (USER, "a1a2a3")]


async def test_the_same_ref_to_two_bot_numbers_is_two_messages() -> None:
    buffer = joiner()

    results = await add_all(
        buffer, [sms_part(1, 2), sms_part(1, 2, bot="447700900009"), sms_part(2, 2)]
    )

    assert results[:2] == [None, None]
    assert results[2] is not None
    assert results[2].bot == BOT
    assert await buffer.buffer.held() == 3


async def test_a_reused_ref_after_completion_starts_a_new_message() -> None:
    buffer = joiner()
    await add_all(buffer, [sms_part(1, 2), sms_part(2, 2)])

    new = [sms_part(n, 2, text=f"new{n}", message_id=f"new-{n}") for n in (1, 2)]
    results = await add_all(buffer, new)

    assert results[0] is None
    assert results[1] is not None
    assert (results[1].text, results[1].message_id) == ("new1new2", "new-1")


async def test_a_part_with_another_total_starts_a_new_message() -> None:
    buffer = joiner()
    await buffer.add(sms_part(1, 3))

    results = await add_all(buffer, [sms_part(2, 2), sms_part(1, 2)])

    assert results[0] is None
    assert results[1] is not None
    assert results[1].text == "<1/2><2/2>"


async def test_unicode_in_any_part_makes_the_message_unicode() -> None:
    buffer = joiner()

    *_, event = await add_all(buffer, [sms_part(1, 2), sms_part(2, 2, encoding="unicode")])

    assert event is not None
    assert event.sms is not None
    assert event.sms.encoding == "unicode"


@pytest.mark.parametrize(("number", "total"), [(1, 256), (0, 3), (4, 3), (-1, 3), (1, 0)])
async def test_parts_out_of_bounds_are_refused(number: int, total: int) -> None:
    buffer = joiner()
    part = dataclasses.replace(sms_part(1), part=number, total=total)

    with pytest.raises(InvalidPayload) as caught:
        await buffer.add(part)

    assert caught.value.problems[0].field in {"concat-total", "concat-part"}
    assert await buffer.buffer.held() == 0


async def test_255_parts_in_any_order_make_one_message() -> None:
    buffer = joiner()
    order = list(range(1, 256))
    random.Random(255).shuffle(order)

    results = await add_all(buffer, [sms_part(n, 255, text=f"{n}.") for n in order])

    assert results[:-1] == [None] * 254
    event = results[-1]
    assert event is not None
    assert event.text == "".join(f"{n}." for n in range(1, 256))
    assert event.sms is not None
    assert event.sms.num_messages == 255


async def test_concurrent_adds_assemble_exactly_once() -> None:
    buffer = joiner()
    parts = [sms_part(n, 20) for n in range(1, 21)] * 2
    random.Random(20).shuffle(parts)

    results = await asyncio.gather(*(buffer.add(part) for part in parts))

    events = [r for r in results if r is not None]
    assert events
    assert all(e == events[0] for e in events)
    assert events[0].text == "".join(f"<{n}/20>" for n in range(1, 21))


# --- expiry ----------------------------------------------------------------------------------


async def test_parts_are_kept_for_24_hours_by_default() -> None:
    clock = Clock()
    buffer = joiner(clock)
    await buffer.add(sms_part(1))

    clock.now += DEFAULT_TTL - 1
    assert await due_parts(buffer) == []
    assert await add_all(buffer, [sms_part(2)]) == [None]
    assert await buffer.add(sms_part(3)) is not None


async def test_incomplete_messages_expire_and_are_listed_in_part_order() -> None:
    clock = Clock()
    buffer = joiner(clock, ttl=60)
    await add_all(buffer, [sms_part(3), sms_part(1)])
    clock.now += 30
    await buffer.add(sms_part(2, user=OTHER_USER))

    clock.now += 30
    expired = await due_parts(buffer)

    assert expired == [(sms_part(1), sms_part(3))]
    assert await buffer.buffer.held() == 1
    clock.now += 30
    assert await due_parts(buffer) == [(sms_part(2, user=OTHER_USER),)]
    assert await buffer.buffer.held() == 0


async def test_complete_messages_marked_done_expire_without_being_listed() -> None:
    clock = Clock()
    buffer = joiner(clock, ttl=60)
    *_, event = await add_all(buffer, [sms_part(1, 2), sms_part(2, 2)])
    assert event is not None
    await buffer.done(sms_part(2, 2))
    assert await buffer.buffer.held() == 0
    assert await buffer.add(sms_part(1, 2)) is None  # a redelivery, recognised

    clock.now += 60

    assert await due_parts(buffer) == []
    assert await buffer.buffer.held() == 0


async def test_a_complete_message_never_marked_done_is_delivered_whole_at_expiry() -> None:
    clock = Clock()
    buffer = joiner(clock, ttl=60)
    *_, event = await add_all(buffer, [sms_part(1, 2), sms_part(2, 2)])

    clock.now += 60
    due = await buffer.claim_due()

    assert [d.event for d in due] == [event]
    assert event is not None
    assert event.sms is not None
    assert event.sms.missing_parts == ()


async def test_a_part_after_expiry_starts_afresh() -> None:
    clock = Clock()
    buffer = joiner(clock, ttl=60)
    await add_all(buffer, [sms_part(1), sms_part(2)])

    clock.now += 60

    assert await buffer.add(sms_part(3)) is None
    assert await due_parts(buffer) == [(sms_part(1), sms_part(2))]
    clock.now += 59
    assert await due_parts(buffer) == []
    clock.now += 1
    assert await due_parts(buffer) == [(sms_part(3),)]


def test_the_wait_must_be_positive() -> None:
    with pytest.raises(ValueError, match="wait_seconds"):
        PartsLimits(wait_seconds=0)


# --- assembly and storage ---------------------------------------------------------------------


def test_assembly_refuses_an_incomplete_set() -> None:
    with pytest.raises(ValueError, match=r"not parts 1\.\.3"):
        assemble_parts([sms_part(1), sms_part(3)])
    with pytest.raises(ValueError, match="no parts"):
        assemble_parts([])


def test_assembly_refuses_parts_of_different_messages() -> None:
    with pytest.raises(ValueError, match="of one message"):
        assemble_parts([sms_part(1, 2), sms_part(2, 2, user=OTHER_USER)])


async def test_parts_stored_as_strings_assemble_to_the_same_message() -> None:
    parts = [sms_part(n, text=f"ü&={n}") for n in (2, 3, 1)]
    stored = {str(p.part): p.to_json() for p in parts}

    restored = [SmsPart.from_json(text) for text in stored.values()]

    assert assemble_parts(restored) == assemble_parts(parts)
    assert all(isinstance(text, str) for text in stored.values())
