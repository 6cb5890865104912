"""The text forms: what Redis holds reads back as the same values, including older records."""

from __future__ import annotations

from dataclasses import replace

from botkit.conversation import Conversation, PendingTimer
from botkit.outbound import Button
from botkit.store import codec
from tests.store.values import KEY, entries, event


def test_a_conversation_round_trips_through_its_text_form() -> None:
    first, second = entries("a", "b")
    conversation = Conversation(
        KEY,
        state="asked",
        data='{"n":1}',
        version=2,
        revision=7,
        last_inbound_at=1700000000.125,
        choices=(Button(id="small", title="Small"),),
        outbox=(replace(first, attempts=2, not_before=1700000060.5), second),
        timers={
            "remind": PendingTimer("remind", 1700003600.25, "a1", '{"n":1}'),
            "botkit.timeout:size": PendingTimer("botkit.timeout:size", 1700000900.0, "b2"),
        },
    )
    record = codec.encode_record(conversation)
    outbox = [codec.encode_entry(entry) for entry in conversation.outbox]
    assert codec.decode_conversation(KEY, record, outbox) == conversation
    assert codec.decode_event(codec.encode_event(event("m1", "hi"))) == event("m1", "hi")


def test_records_and_outboxes_written_before_the_typed_conversation_still_read() -> None:
    """A fresh outbox entry is its message's JSON, as replies always were; the choices field's
    older ``{"choices": ...}`` form (positions to ids) reads as choices titled with their ids."""
    (entry,) = entries("hello")
    assert codec.encode_entry(entry) == entry.message.model_dump_json()
    assert codec.decode_entry(entry.message.model_dump_json()) == entry
    old = ("s", "{}", "1", "3", "1.5", '{"choices":{"1":"yes","2":"no"}}')
    assert codec.decode_conversation(KEY, old).choices == (
        Button(id="yes", title="yes"),
        Button(id="no", title="no"),
    )
    assert codec.decode_conversation(KEY, (*old[:5], "not json")).choices == ()
    empty = Conversation(KEY, revision=1)
    assert codec.encode_record(empty) == (None, None, "0", "1", None, None, None)
