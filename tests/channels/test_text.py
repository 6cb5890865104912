"""Splitting texts at word boundaries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botkit.channels.text import split_text


def gaps(text: str, parts: list[str]) -> list[str]:
    """What lies between the parts in ``text``, asserting the parts appear in it in order with
    only whitespace around them."""
    found, position = [], 0
    for part in parts:
        start = position
        while not text.startswith(part, position):
            assert text[position].isspace(), (text, parts)
            position += 1
        found.append(text[start:position])
        position += len(part)
    assert not text[position:].strip(), (text, parts)
    return found[1:]


def test_a_text_within_the_limit_is_kept_whole() -> None:
    assert split_text("Hello there  ", 13) == ["Hello there  "]
    assert split_text("", 5) == [""]


def test_cuts_fall_at_the_last_whitespace_that_fits() -> None:
    assert split_text("one two three four", 9) == ["one two", "three", "four"]


def test_a_line_break_in_the_second_half_is_preferred() -> None:
    text = "Your order:\nTwo pizzas and a drink"

    assert split_text(text, 20) == ["Your order:", "Two pizzas and a", "drink"]


def test_a_url_is_kept_whole_when_it_fits() -> None:
    url = "https://example.com/orders/12345/receipt"
    text = f"Your receipt is at {url} thanks"

    parts = split_text(text, len(url) + 2)

    assert url in parts
    assert parts == ["Your receipt is at", url, "thanks"]


def test_a_word_longer_than_the_limit_is_cut_at_the_limit() -> None:
    assert split_text("abcdefghij xy", 4) == ["abcd", "efgh", "ij", "xy"]


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        split_text("text", 0)


texts = st.text(
    alphabet=st.sampled_from("ab c\n\t.é😀/:"),
    max_size=400,
) | st.lists(st.sampled_from(["word", "https://example.com/a/b", " ", "\n", "longerword"])).map(
    "".join
)


@given(text=texts, limit=st.integers(min_value=1, max_value=60))
def test_split_keeps_the_text_in_order_within_the_limit(text: str, limit: int) -> None:
    parts = split_text(text, limit)

    assert parts
    assert all(len(part) <= limit for part in parts)
    assert all(part for part in parts) or parts == [""]
    between = gaps(text, parts)
    assert all(not gap.strip() for gap in between)
    for part, gap in zip(parts, between, strict=False):
        if gap == "":
            # Cut inside a word: only where a single word (after any leading blanks) fills the
            # whole part, because it is longer than the limit.
            assert len(part) == limit
            assert not any(char.isspace() for char in part.lstrip())


@given(text=texts, limit=st.integers(min_value=1, max_value=60))
def test_split_is_deterministic(text: str, limit: int) -> None:
    assert split_text(text, limit) == split_text(text, limit)
