"""One mask for a user's address, wherever botkit writes one down."""

from __future__ import annotations

from botkit.masking import mask, mask_numbers


def test_mask_keeps_only_the_ends() -> None:
    assert mask("447700900000") == "44********00"
    assert mask("1234") == "****"
    assert mask("") == ""


def test_numbers_in_free_text_are_masked_the_same_way() -> None:
    assert mask_numbers("to 447700900001, psid 4711000222333444") == (
        "to 44********01, psid 47************44"
    )
    assert mask_numbers("port 8080, 12345678") == "port 8080, 12345678"
