"""Legacy SMS API webhooks: inbound messages and delivery receipts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from botkit.errors import InvalidPayload, Problem
from botkit.events import (
    Channel,
    DeliveryStatus,
    Event,
    EventKind,
    ProviderError,
    SmsInfo,
    Text,
    Unsupported,
    Usage,
    WebhookFormat,
)
from botkit.vonage.inbound.sms_api import (
    SmsPart,
    parse_sms_delivery_receipt,
    parse_sms_inbound,
    parse_sms_webhook,
)

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

RECEIPT = {
    "msisdn": "447700900001",
    "to": "AcmeInc",
    "network-code": "12345",
    "messageId": "0A0000001234567B",
    "price": "0.03330000",
    "status": "delivered",
    "scts": "2001011400",
    "err-code": "0",
    "api-key": "abcd1234",
    "client-ref": "order-17",
    "message-timestamp": "2020-01-01 12:00:00",
}


def problems_of(params: dict[str, str], *, receipt: bool = False) -> list[Problem]:
    parse = parse_sms_delivery_receipt if receipt else parse_sms_inbound
    with pytest.raises(InvalidPayload) as caught:
        parse(params)
    assert caught.value.format_name == "sms-api"
    return caught.value.problems


def fields_of(params: dict[str, str], *, receipt: bool = False) -> set[str]:
    return {p.field for p in problems_of(params, receipt=receipt)}


def message(params: dict[str, str]) -> Event:
    event = parse_sms_inbound(params)
    assert isinstance(event, Event)
    return event


def without(params: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in params.items() if k not in names}


# --- inbound -----------------------------------------------------------------------------------


def test_a_text_message_becomes_a_message_event() -> None:
    event = message(INBOUND)

    assert event.kind is EventKind.MESSAGE
    assert event.channel is Channel.SMS
    assert event.format is WebhookFormat.SMS_API
    assert (event.user, event.bot) == ("447700900001", "447700900000")
    assert event.message_id == "0A0000000123ABCD1"
    assert event.timestamp == datetime(2020, 1, 1, 12, 0, tzinfo=UTC)
    assert event.content == Text(text="Hello world")
    assert event.sms == SmsInfo(keyword="HELLO", num_messages=1, encoding="text")
    assert event.raw == INBOUND
    assert event.conversation_key == "sms:447700900000:447700900001"
    assert event.dedup_key == "message:0A0000000123ABCD1"


def test_a_unicode_message_keeps_its_text_and_encoding() -> None:
    event = message(INBOUND | {"type": "unicode", "text": "Привет 👋"})

    assert event.text == "Привет 👋"
    assert isinstance(event.sms, SmsInfo)
    assert event.sms.encoding == "unicode"


def test_type_defaults_to_text_and_an_empty_keyword_is_none() -> None:
    event = message(without(INBOUND, "type") | {"keyword": ""})

    assert event.sms == SmsInfo(keyword=None, num_messages=1, encoding="text")


def test_an_empty_text_is_a_message() -> None:
    assert message(INBOUND | {"text": ""}).text == ""


def test_the_time_falls_back_to_unix_seconds() -> None:
    event = message(without(INBOUND, "message-timestamp") | {"timestamp": "1578787200"})

    assert event.timestamp == datetime(2020, 1, 12, tzinfo=UTC)


def test_message_timestamp_wins_over_timestamp() -> None:
    event = message(INBOUND | {"timestamp": "1"})

    assert event.timestamp == datetime(2020, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "name", ["msisdn", "to", "messageId", "text"], ids=lambda name: f"without {name}"
)
def test_a_missing_required_param_is_named(name: str) -> None:
    (problem,) = problems_of(without(INBOUND, name))

    assert problem.field == name
    assert problem.expected.startswith("required, ")


def test_a_missing_message_id_says_what_it_is() -> None:
    assert problems_of(without(INBOUND, "messageId")) == [
        Problem("messageId", "required, the provider's message id")
    ]


def test_blank_ids_count_as_missing() -> None:
    assert fields_of(INBOUND | {"msisdn": " ", "messageId": ""}) == {"msisdn", "messageId"}


def test_every_problem_is_reported_at_once() -> None:
    params = without(INBOUND, "msisdn", "to") | {"type": "fax", "message-timestamp": "yesterday"}

    assert fields_of(params) == {"msisdn", "to", "type", "message-timestamp"}


def test_an_unknown_type_names_the_allowed_ones() -> None:
    (problem,) = problems_of(INBOUND | {"type": "wappush"})

    assert problem.field == "type"
    assert "text, unicode, binary" in problem.expected
    assert "'wappush'" in problem.expected


@pytest.mark.parametrize(
    "value",
    ["2020-02-30 12:00:00", "2020-1-1 12:00:00", "2020-01-01", "１２３４-01-01 00:00:00", "now"],
)
def test_a_malformed_message_timestamp_is_refused(value: str) -> None:
    assert fields_of(INBOUND | {"message-timestamp": value, "timestamp": "1578787200"}) == {
        "message-timestamp"
    }


@pytest.mark.parametrize("value", ["-5", "1.5", "1e9", "999999999999999"])
def test_a_malformed_unix_timestamp_is_refused(value: str) -> None:
    assert fields_of(without(INBOUND, "message-timestamp") | {"timestamp": value}) == {"timestamp"}


def test_a_message_without_any_time_is_refused() -> None:
    (problem,) = problems_of(without(INBOUND, "message-timestamp"))

    assert problem.field == "message-timestamp"
    assert "timestamp in unix seconds" in problem.expected


def test_a_binary_message_is_unsupported_content_with_its_hex() -> None:
    params = without(INBOUND, "text") | {
        "type": "binary",
        "data": "48656c6c6f",
        "udh": "050003CC0201",
    }

    event = message(params)

    assert event.content == Unsupported(
        declared_type="binary", raw={"data": "48656c6c6f", "udh": "050003CC0201"}
    )
    assert isinstance(event.sms, SmsInfo)
    assert event.sms.encoding == "binary"


def test_binary_parts_are_never_buffered() -> None:
    params = without(INBOUND, "text") | {"type": "binary", "data": "00", "concat": "true"}

    assert isinstance(parse_sms_inbound(params), Event)


@pytest.mark.parametrize(
    ("change", "field"),
    [({"data": "xyz"}, "data"), ({"data": "abc"}, "data"), ({"udh": "0G"}, "udh")],
)
def test_binary_hex_is_checked(change: dict[str, str], field: str) -> None:
    params = INBOUND | {"type": "binary", "data": "00"} | change

    assert fields_of(params) == {field}


def test_a_binary_message_needs_data() -> None:
    assert fields_of(INBOUND | {"type": "binary"}) == {"data"}


def test_non_unicode_text_is_refused() -> None:
    assert fields_of(INBOUND | {"text": "broken \ud800"}) == {"text"}
    assert fields_of(INBOUND | {"\udfff": "x"}) == {"'\\udfff'"}


# --- inbound parts ---------------------------------------------------------------------------

PART = INBOUND | {"concat": "true", "concat-ref": "7", "concat-total": "3", "concat-part": "2"}


def test_a_part_of_a_long_message_becomes_an_sms_part() -> None:
    part = parse_sms_inbound(PART)

    assert isinstance(part, SmsPart)
    assert (part.user, part.bot) == ("447700900001", "447700900000")
    assert (part.concat_ref, part.part, part.total) == ("7", 2, 3)
    assert part.text == "Hello world"
    assert part.message_id == "0A0000000123ABCD1"
    assert part.timestamp == datetime(2020, 1, 1, 12, 0, tzinfo=UTC)
    assert part.keyword == "HELLO"
    assert part.encoding == "text"
    assert part.raw == PART
    assert part.conversation_key == "sms:447700900000:447700900001"
    assert part.buffer_key == "sms:447700900000:447700900001:7"


def test_concat_fields_without_the_flag_still_make_a_part() -> None:
    assert isinstance(parse_sms_inbound(without(PART, "concat")), SmsPart)


@pytest.mark.parametrize("change", [{"concat": "false"}, {"concat-total": "1", "concat-part": "1"}])
def test_a_message_in_one_part_is_whole(change: dict[str, str]) -> None:
    event = message(PART | change)

    assert event.text == "Hello world"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"concat": "yes"}, "concat"),
        ({"concat-ref": ""}, "concat-ref"),
        ({"concat-total": "0"}, "concat-total"),
        ({"concat-total": "256"}, "concat-total"),
        ({"concat-total": "three"}, "concat-total"),
        ({"concat-part": "0"}, "concat-part"),
        ({"concat-part": "4"}, "concat-part"),
        ({"concat-part": "-1"}, "concat-part"),
        ({"concat-part": "²"}, "concat-part"),
    ],
)
def test_absurd_concat_params_are_refused(change: dict[str, str], field: str) -> None:
    assert fields_of(PART | change) == {field}


def test_a_part_needs_all_three_concat_params() -> None:
    params = without(PART, "concat-ref", "concat-total", "concat-part")

    assert fields_of(params) == {"concat-ref", "concat-total", "concat-part"}


def test_255_parts_are_allowed() -> None:
    part = parse_sms_inbound(PART | {"concat-total": "255", "concat-part": "255"})

    assert isinstance(part, SmsPart)
    assert part.total == 255


def test_a_part_survives_a_round_trip_through_a_string() -> None:
    part = parse_sms_inbound(PART | {"text": 'ünïcode & = "quotes"'})
    assert isinstance(part, SmsPart)

    stored = part.to_json()

    assert stored.isascii()
    assert SmsPart.from_json(stored) == part


@pytest.mark.parametrize(
    "stored", ["", "not json", "[]", '{"msisdn": 1}', '{"msisdn": "1"}', "[" * 100_000]
)
def test_a_stored_part_that_is_not_one_is_refused(stored: str) -> None:
    with pytest.raises(InvalidPayload):
        SmsPart.from_json(stored)


def test_a_whole_message_is_not_a_stored_part() -> None:
    with pytest.raises(InvalidPayload):
        SmsPart.from_json(json.dumps(INBOUND))


# --- delivery receipts -----------------------------------------------------------------------


def test_a_delivery_receipt_becomes_a_status_event() -> None:
    event = parse_sms_delivery_receipt(RECEIPT)

    assert event.kind is EventKind.STATUS
    assert event.channel is Channel.SMS
    assert event.format is WebhookFormat.SMS_API
    assert (event.user, event.bot) == ("447700900001", "AcmeInc")
    assert event.message_id == "0A0000001234567B"
    assert event.timestamp == datetime(2020, 1, 1, 12, 0, tzinfo=UTC)
    assert event.status is not None
    assert event.status.status is DeliveryStatus.DELIVERED
    assert event.status.original == "delivered"
    assert event.status.error is None
    assert event.usage == Usage(price="0.03330000", currency=None)
    assert event.client_ref == "order-17"
    assert event.content is None
    assert event.raw == RECEIPT
    assert event.dedup_key == "status:0A0000001234567B:delivered"


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("delivered", DeliveryStatus.DELIVERED),
        ("expired", DeliveryStatus.UNDELIVERABLE),
        ("failed", DeliveryStatus.UNDELIVERABLE),
        ("rejected", DeliveryStatus.REJECTED),
        ("accepted", DeliveryStatus.SUBMITTED),
        ("buffered", DeliveryStatus.SUBMITTED),
        ("unknown", DeliveryStatus.SUBMITTED),
    ],
)
def test_each_receipt_status_maps_onto_the_one_scale(word: str, status: DeliveryStatus) -> None:
    event = parse_sms_delivery_receipt(RECEIPT | {"status": word})

    assert event.status is not None
    assert (event.status.status, event.status.original) == (status, word)


def test_the_status_word_is_read_without_regard_to_case_and_kept_as_sent() -> None:
    event = parse_sms_delivery_receipt(RECEIPT | {"status": "Expired"})

    assert event.status is not None
    assert (event.status.status, event.status.original) == (
        DeliveryStatus.UNDELIVERABLE,
        "Expired",
    )


def test_an_unknown_status_names_the_allowed_ones() -> None:
    (problem,) = problems_of(RECEIPT | {"status": "sent"}, receipt=True)

    assert problem.field == "status"
    for word in ("delivered", "expired", "failed", "rejected", "accepted", "buffered", "unknown"):
        assert word in problem.expected


def test_an_error_code_becomes_a_provider_error() -> None:
    event = parse_sms_delivery_receipt(RECEIPT | {"status": "failed", "err-code": "6"})

    assert event.status is not None
    assert event.status.error == ProviderError(code=6, title="Anti-spam rejection")


def test_an_undocumented_error_code_is_kept() -> None:
    event = parse_sms_delivery_receipt(RECEIPT | {"status": "failed", "err-code": "42"})

    assert event.status is not None
    assert event.status.error == ProviderError(code=42, title="Undocumented err-code 42")


def test_empty_optional_receipt_params_count_as_absent() -> None:
    event = parse_sms_delivery_receipt(
        RECEIPT | {"status": "failed", "err-code": "", "price": "", "client-ref": ""}
    )

    assert event.status is not None
    assert event.status.error is None
    assert event.usage is None
    assert event.client_ref is None


def test_a_receipt_without_optional_params_is_fine() -> None:
    params = without(RECEIPT, "err-code", "price", "client-ref", "scts", "network-code", "api-key")

    event = parse_sms_delivery_receipt(params)

    assert event.usage is None
    assert event.client_ref is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"err-code": "x1"}, "err-code"),
        ({"err-code": "-1"}, "err-code"),
        ({"price": "free"}, "price"),
        ({"message-timestamp": "2020-13-01 00:00:00"}, "message-timestamp"),
    ],
)
def test_malformed_receipt_params_are_refused(change: dict[str, str], field: str) -> None:
    assert fields_of(RECEIPT | change, receipt=True) == {field}


@pytest.mark.parametrize("name", ["msisdn", "to", "messageId", "status"])
def test_a_receipt_needs_its_ids_and_status(name: str) -> None:
    (problem,) = problems_of(without(RECEIPT, name), receipt=True)

    assert problem.field == name
    assert problem.expected.startswith("required, ")


def test_the_receipt_time_falls_back_to_unix_seconds() -> None:
    params = without(RECEIPT, "message-timestamp") | {"timestamp": "1582650446"}

    assert parse_sms_delivery_receipt(params).timestamp == datetime(
        2020, 2, 25, 17, 7, 26, tzinfo=UTC
    )


# --- either ----------------------------------------------------------------------------------


def test_the_webhook_kind_is_told_from_the_params() -> None:
    inbound = parse_sms_webhook(INBOUND)
    receipt = parse_sms_webhook(RECEIPT)

    assert not isinstance(inbound, SmsPart)
    assert inbound.kind is EventKind.MESSAGE
    assert not isinstance(receipt, SmsPart)
    assert receipt.kind is EventKind.STATUS
    assert isinstance(parse_sms_webhook(PART), SmsPart)


def test_an_empty_webhook_lists_what_an_inbound_message_needs() -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_sms_webhook({})

    assert {p.field for p in caught.value.problems} == {
        "msisdn",
        "to",
        "messageId",
        "text",
        "message-timestamp",
    }
