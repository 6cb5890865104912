"""Property tests: whatever strings arrive, SMS API parsing fails only with InvalidPayload."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botkit.errors import InvalidPayload
from botkit.events import Event
from botkit.store.parts import MemoryPartsBuffer
from botkit.vonage.inbound.concat import SmsConcat
from botkit.vonage.inbound.sms_api import (
    SmsPart,
    parse_sms_delivery_receipt,
    parse_sms_inbound,
    parse_sms_webhook,
)

PARSERS: list[Callable[[dict[str, str]], Event | SmsPart]] = [
    parse_sms_webhook,
    parse_sms_inbound,
    parse_sms_delivery_receipt,
]

KNOWN_NAMES = [
    "api-key",
    "msisdn",
    "to",
    "messageId",
    "text",
    "type",
    "keyword",
    "message-timestamp",
    "timestamp",
    "nonce",
    "sig",
    "concat",
    "concat-ref",
    "concat-total",
    "concat-part",
    "data",
    "udh",
    "network-code",
    "price",
    "status",
    "scts",
    "err-code",
    "client-ref",
]

TRICKY_VALUES = [
    "",
    " ",
    "0",
    "1",
    "2",
    "255",
    "256",
    "-1",
    "1.5",
    "true",
    "TRUE",
    "false",
    "text",
    "unicode",
    "binary",
    "delivered",
    "EXPIRED",
    "2020-01-01 12:00:00",
    "2020-02-30 12:00:00",
    "0000-00-00 00:00:00",
    "9999-12-31 23:59:59",
    "99999999999",
    "999999999999999999999",
    "0A",
    "0G",
    "１",
    "²",
    "٣",
    "\x00",
    "\ud800",
]

# Lone surrogates included: a JSON body can carry them.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
names = st.sampled_from(KNOWN_NAMES) | any_text
values = st.sampled_from(TRICKY_VALUES) | st.from_regex(r"\A[0-9]{0,14}\Z") | any_text

INBOUND = {
    "api-key": "abcd1234",
    "msisdn": "447700900001",
    "to": "447700900000",
    "messageId": "0A0000000123ABCD1",
    "text": "Hello world",
    "type": "text",
    "keyword": "HELLO",
    "message-timestamp": "2020-01-01 12:00:00",
}
VALID = [
    INBOUND,
    INBOUND | {"concat": "true", "concat-ref": "9", "concat-total": "3", "concat-part": "2"},
    INBOUND | {"type": "binary", "data": "48656c6c6f", "udh": "050003CC0201"},
    {
        "msisdn": "447700900001",
        "to": "AcmeInc",
        "network-code": "12345",
        "messageId": "0A0000001234567B",
        "price": "0.03330000",
        "status": "delivered",
        "scts": "2001011400",
        "err-code": "0",
        "client-ref": "order-17",
        "message-timestamp": "2020-01-01 12:00:00",
    },
]

mutation = st.one_of(
    st.tuples(st.just("drop"), st.sampled_from(KNOWN_NAMES), st.just("")),
    st.tuples(st.just("set"), names, values),
)


def outcome(
    parse: Callable[[dict[str, str]], Event | SmsPart], params: dict[str, str]
) -> Event | SmsPart | InvalidPayload:
    try:
        return parse(params)
    except InvalidPayload as exc:
        return exc


def check_outcome(
    parse: Callable[[dict[str, str]], Event | SmsPart], params: dict[str, str]
) -> None:
    result = outcome(parse, params)
    if isinstance(result, InvalidPayload):
        assert result.problems
        assert all(isinstance(p.field, str) and p.expected for p in result.problems)
        assert str(result).startswith("invalid payload (sms-api webhook): ")
    elif isinstance(result, SmsPart):
        assert result.raw == params
        assert SmsPart.from_json(result.to_json()) == result
        with contextlib.suppress(InvalidPayload):
            asyncio.run(SmsConcat(MemoryPartsBuffer()).add(result))
    else:
        assert result.raw == params
        Event.model_validate_json(result.model_dump_json())


@settings(max_examples=300, deadline=None)
@given(params=st.dictionaries(names, values, max_size=12), which=st.sampled_from(PARSERS))
def test_arbitrary_params_fail_only_with_invalid_payload(
    params: dict[str, str], which: Callable[[dict[str, str]], Event | SmsPart]
) -> None:
    check_outcome(which, params)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(VALID),
    mutations=st.lists(mutation, min_size=1, max_size=4),
    which=st.sampled_from(PARSERS),
)
def test_mutated_valid_params_fail_only_with_invalid_payload(
    base: dict[str, str],
    mutations: list[tuple[str, str, str]],
    which: Callable[[dict[str, str]], Event | SmsPart],
) -> None:
    params = dict(base)
    for action, name, value in mutations:
        if action == "drop":
            params.pop(name, None)
        else:
            params[name] = value

    check_outcome(which, params)


@settings(max_examples=200, deadline=None)
@given(
    total=st.integers(min_value=2, max_value=12),
    data=st.data(),
)
def test_parts_in_any_order_with_repeats_assemble_once_in_order(
    total: int, data: st.DataObject
) -> None:
    numbers = list(range(1, total + 1))
    arrivals = data.draw(st.permutations(numbers + data.draw(st.lists(st.sampled_from(numbers)))))
    texts = {n: data.draw(st.text(max_size=5), label=f"text {n}") for n in numbers}

    def part(number: int) -> SmsPart:
        parsed = parse_sms_inbound(
            INBOUND
            | {
                "messageId": f"id-{number}",
                "text": texts[number],
                "concat-ref": "1",
                "concat-total": str(total),
                "concat-part": str(number),
            }
        )
        assert isinstance(parsed, SmsPart)
        return parsed

    async def run() -> list[Event | None]:
        buffer = SmsConcat(MemoryPartsBuffer())
        return [await buffer.add(part(n)) for n in arrivals]

    results = asyncio.run(run())

    complete_at = max(arrivals.index(n) for n in numbers)
    assert all(r is None for r in results[:complete_at])
    events = results[complete_at:]
    assert all(e is not None and e == events[0] for e in events)
    first = events[0]
    assert first is not None
    assert first.text == "".join(texts[n] for n in numbers)
    assert first.message_id == "id-1"
