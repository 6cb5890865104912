"""Webhook JSON bodies decoded within bounds: each thing no later step could hold is refused,
naming the field and never repeating its value."""

from __future__ import annotations

import json
from typing import Any

import pytest

from botkit.errors import InvalidPayload, Problem
from botkit.vonage.inbound.json_body import MAX_DEPTH, MAX_INTEGER, MAX_PROBLEMS, read_json


def problems(body: bytes | str) -> list[Problem]:
    with pytest.raises(InvalidPayload) as caught:
        read_json(body.encode() if isinstance(body, str) else body, format_name="test")
    assert caught.value.format_name == "test"
    return caught.value.problems


def fields(body: bytes | str) -> list[str]:
    return [p.field for p in problems(body)]


def nested(depth: int) -> str:
    return '{"a":' * (depth - 1) + "[]" + "}" * (depth - 1)


def test_ordinary_json_is_decoded_as_is() -> None:
    value: Any = {"a": [1, -2.5, "é 👋", None, True], "b": {"c": MAX_INTEGER, "d": -MAX_INTEGER}}

    assert read_json(json.dumps(value).encode()) == value


def test_nesting_is_accepted_to_the_limit_and_refused_past_it() -> None:
    assert read_json(nested(MAX_DEPTH).encode()) == json.loads(nested(MAX_DEPTH))

    [problem] = problems(nested(MAX_DEPTH + 1))
    assert problem.field == ".".join(["a"] * MAX_DEPTH)
    assert str(MAX_DEPTH) in problem.expected


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_nesting_deeper_than_the_stack_is_refused_as_the_body(opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    assert fields(opener * 100_000 + "0" + closer * 100_000) == ["body"]


def test_lone_surrogates_are_refused_in_values_and_keys() -> None:
    body = '{"text": "hi \\ud800", "ok": "\\ud83d\\udc4b", "list": ["\\udfff"], "\\udbff": 1}'

    assert problems(body) == [
        Problem("text", "text that is valid Unicode (no lone surrogates)"),
        Problem("list.0", "text that is valid Unicode (no lone surrogates)"),
        Problem("'\\udbff'", "a key that is valid Unicode"),
    ]


@pytest.mark.parametrize(
    "number", [str(MAX_INTEGER + 1), str(-MAX_INTEGER - 1), "9" * 400, "-" + "9" * 5000]
)
def test_integers_beyond_64_bits_are_refused_without_being_repeated(number: str) -> None:
    [problem] = problems(f'{{"order": {{"price": {number}}}}}')

    assert problem.field == "order.price"
    assert number[-10:] not in str(problem)


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity"])
def test_numbers_that_are_not_finite_are_refused(number: str) -> None:
    assert problems(f"[0, {number}]") == [Problem("1", "a finite number")]


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe\x00", b"", b'{"a": 1} x'])
def test_what_is_not_json_is_refused_as_the_body(body: bytes) -> None:
    assert fields(body) == ["body"]


def test_problems_are_capped_and_long_keys_shortened() -> None:
    body = json.dumps({"k" * 500: ["\ud800"] * 50}, ensure_ascii=True)

    found = problems(body)

    assert len(found) == MAX_PROBLEMS
    assert all(len(p.field) < 60 for p in found)
