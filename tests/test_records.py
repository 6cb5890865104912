"""Message records: statuses in any order never move a message backwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from botkit import Channel, DeliveryStatus, Event, EventKind, Text, WebhookFormat
from botkit.events import ProviderError, StatusInfo
from botkit.notifications import notification_event
from botkit.outbound import Button, Outbound, Template
from botkit.records import (
    DeliveryRecord,
    describe,
    find_record,
    pack_record,
    read_records,
    summarise,
    unpack_record,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
KEY = "whatsapp:447700900000:447700900001"


def status(value: str, minutes: int, code: int | None = None) -> Event:
    return Event(
        kind=EventKind.STATUS,
        channel=Channel.WHATSAPP,
        user="447700900001",
        bot="447700900000",
        message_id="uuid-1",
        timestamp=T0 + timedelta(minutes=minutes),
        format=WebhookFormat.V1,
        raw={},
        status=StatusInfo(
            status=DeliveryStatus(value),
            original=value,
            error=ProviderError(code=code, title=str(code)) if code else None,
        ),
    )


def sent() -> DeliveryRecord:
    message = Outbound(
        channel=Channel.WHATSAPP, to="447700900001", sender="447700900000", content=Text(text="hi")
    )
    return DeliveryRecord.sent(message, "uuid-1", T0.timestamp())


@pytest.mark.parametrize(
    ("order", "final"),
    [
        (["submitted", "delivered", "read"], "read"),
        (["read", "delivered", "submitted"], "read"),
        (["delivered", "submitted"], "delivered"),
        (["submitted", "rejected", "delivered"], "rejected"),
        (["undeliverable", "read"], "undeliverable"),
    ],
)
def test_status_never_regresses(order: list[str], final: str) -> None:
    record = sent()
    for minute, value in enumerate(order):
        record = record.with_status(status(value, minute))
    assert record.status == DeliveryStatus(final)
    assert [h.original for h in record.history] == order


def test_a_repeated_status_is_kept_once() -> None:
    record = sent().with_status(status("delivered", 1))
    assert record.with_status(status("delivered", 1)) is record


def test_a_rejection_keeps_its_error() -> None:
    record = sent().with_status(status("rejected", 1, code=1340))
    assert record.error is not None
    assert record.error.code == 1340


def test_unknown_messages_get_a_record() -> None:
    record = DeliveryRecord.unknown(status("delivered", 3)).with_status(status("delivered", 3))
    assert record.message_id == "uuid-1"
    assert record.status is DeliveryStatus.DELIVERED


def test_summaries_are_one_short_line() -> None:
    base = {"channel": Channel.WHATSAPP, "to": "1", "sender": "2"}
    assert summarise(Outbound(**base, content=Text(text="a\nb   c"))) == "a b c"
    assert (
        summarise(Outbound(**base, content=Template(name="reminder", parameters=("Ann", "3pm"))))
        == "template reminder(Ann, 3pm)"
    )
    with_buttons = Outbound(
        **base, content=Text(text="Size?"), buttons=(Button(id="s", title="Small"),)
    )
    assert summarise(with_buttons) == "Size? [Small]"
    assert len(summarise(Outbound(**base, content=Text(text="x" * 500)))) == 80


def test_an_event_is_described_by_its_name() -> None:
    event = notification_event(
        "whatsapp",
        "447700900001",
        "order_shipped",
        {"order": "A-1"},
        senders={Channel.WHATSAPP: "447700900000"},
        now=T0.timestamp(),
    )
    assert describe(event) == "event order_shipped"


# --- a long SMS: one record, a status per part -------------------------------------------------


PARTS = ("P1", "P2", "P3")


def part_status(part: str, value: str, minute: int) -> Event:
    event = status(value, minute)
    return event.model_copy(update={"message_id": part, "channel": Channel.SMS})


def sent_in_parts() -> DeliveryRecord:
    message = Outbound(
        channel=Channel.SMS, to="447700900001", sender="Acme", content=Text(text="x" * 400)
    )
    return DeliveryRecord.sent(message, PARTS[0], T0.timestamp(), PARTS)


def test_a_long_sms_is_stored_once_and_found_by_every_part() -> None:
    record = sent_in_parts()

    stored = record.keys(KEY)

    assert record.parts == PARTS
    assert set(stored) == {"P1", "part:P2", "part:P3"}
    for part in PARTS:
        assert find_record(stored, part, KEY) == record
    assert find_record(stored, "P9", KEY) is None
    assert read_records(stored, KEY) == ([record], [])


def test_a_long_sms_is_delivered_once_every_part_is() -> None:
    record = sent_in_parts()
    for minute, part in enumerate(("P2", "P1")):
        record = record.with_status(part_status(part, "delivered", minute))
        assert record.status is DeliveryStatus.SUBMITTED

    record = record.with_status(part_status("P3", "delivered", 5))

    assert record.status is DeliveryStatus.DELIVERED
    assert [(h.part, h.original) for h in record.history] == [
        ("P2", "delivered"),
        ("P1", "delivered"),
        ("P3", "delivered"),
    ]


def test_a_long_sms_fails_when_one_part_fails() -> None:
    record = sent_in_parts().with_status(part_status("P1", "delivered", 1))
    failed = part_status("P2", "undeliverable", 2)
    failed = failed.model_copy(
        update={
            "status": StatusInfo(
                status=DeliveryStatus.UNDELIVERABLE,
                original="failed",
                error=ProviderError(code=1190, title="Absent Subscriber"),
            )
        }
    )

    record = record.with_status(failed).with_status(part_status("P3", "delivered", 3))

    assert record.status is DeliveryStatus.UNDELIVERABLE
    assert record.error is not None
    assert record.error.code == 1190


def test_a_message_in_one_part_keeps_no_parts() -> None:
    message = Outbound(
        channel=Channel.SMS, to="447700900001", sender="Acme", content=Text(text="hi")
    )

    record = DeliveryRecord.sent(message, "P1", T0.timestamp(), ("P1",))

    assert record.parts == ()
    assert record.keys(KEY) == {"P1": pack_record(record, KEY)}


def test_a_reply_is_stored_with_only_what_its_conversation_does_not_say() -> None:
    record = sent()

    packed = pack_record(record, KEY)

    assert packed == f'["{record.id}",{T0.timestamp()},"hi"]'
    assert unpack_record("uuid-1", packed, KEY) == record


def test_every_field_comes_back_from_the_stored_form() -> None:
    record = sent().with_status(status("delivered", 1)).with_status(status("rejected", 2, 1340))
    record = record.model_copy(update={"client_ref": "order-7", "to": "447700900002"})
    for key in (KEY, "messenger:page:psid", "workflow:abc"):
        assert unpack_record("uuid-1", pack_record(record, key), key) == record


def test_records_written_whole_are_still_read() -> None:
    record = sent().with_status(status("read", 1))

    assert unpack_record("uuid-1", record.model_dump_json(), KEY) == record
    assert read_records({"uuid-1": record.model_dump_json()}, KEY) == ([record], [])


def test_failover_records_are_left_to_their_own_reader() -> None:
    record = sent()
    stored = {"uuid-1": pack_record(record, KEY), "failover:uuid-1": '{"id": "uuid-1"}'}

    assert read_records(stored, KEY) == ([record], [])
