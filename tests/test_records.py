"""Message records: statuses in any order never move a message backwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from botkit import Channel, DeliveryStatus, Event, EventKind, Text, WebhookFormat
from botkit.events import ProviderError, StatusInfo
from botkit.notifications import notification_event
from botkit.outbound import Button, Outbound, Template
from botkit.records import DeliveryRecord, describe, summarise

T0 = datetime(2026, 1, 1, tzinfo=UTC)


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
