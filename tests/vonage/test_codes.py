"""The provider's code tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import botkit.vonage
from botkit.vonage.codes import (
    MESSAGES_ERRORS,
    SMS_DLR_ERRORS,
    SMS_SEND_STATUS,
    CodeTable,
    ProviderCode,
)

OPENAPI = Path(botkit.vonage.__file__).parent / "openapi"


def spec_error_codes(name: str) -> set[int]:
    spec: dict[str, Any] = yaml.safe_load((OPENAPI / name).read_text(encoding="utf-8"))
    return {int(code) for code in spec["x-errors"]}


def test_messages_errors_are_the_specs() -> None:
    assert {entry.code for entry in MESSAGES_ERRORS} == spec_error_codes("messages-olympus.yml")


def test_sms_send_statuses_are_the_specs_plus_success_and_101() -> None:
    codes = {entry.code for entry in SMS_SEND_STATUS}

    assert codes == spec_error_codes("sms.yml") | {0, 101}


def test_dlr_error_codes_run_from_0_to_99() -> None:
    codes = {entry.code for entry in SMS_DLR_ERRORS}

    assert codes == set(range(16)) | {50, 51, 52, 53, 54, 99}


@pytest.mark.parametrize(
    ("table", "code", "title"),
    [
        (MESSAGES_ERRORS, 1000, "Throttled"),
        (MESSAGES_ERRORS, 1340, "Outside of the allowed window"),
        (MESSAGES_ERRORS, 1450, "Invalid client reference"),
        (SMS_SEND_STATUS, 0, "Success"),
        (SMS_SEND_STATUS, 14, "Invalid signature"),
        (SMS_SEND_STATUS, 101, "Invalid account for campaign"),
        (SMS_DLR_ERRORS, 0, "Delivered"),
        (SMS_DLR_ERRORS, 2, "Absent subscriber, temporary"),
        (SMS_DLR_ERRORS, 99, "General error"),
    ],
)
def test_titles_are_looked_up_by_number(table: CodeTable, code: int, title: str) -> None:
    assert table.title(code) == title
    assert table.get(code) == ProviderCode(code, title, table.is_retryable(code))


def test_codes_can_be_given_as_decimal_strings() -> None:
    assert MESSAGES_ERRORS.title("1340") == "Outside of the allowed window"
    assert SMS_DLR_ERRORS.title(" 7 ") == "Handset busy"
    assert "1000" in MESSAGES_ERRORS
    assert 1000 in MESSAGES_ERRORS


@pytest.mark.parametrize("code", [1001, -1, "", "abc", "1e3", "١٠٠٠", "99999999999", True])
def test_unknown_codes_have_no_title_and_are_not_retryable(code: Any) -> None:
    assert MESSAGES_ERRORS.title(code) is None
    assert MESSAGES_ERRORS.get(code) is None
    assert not MESSAGES_ERRORS.is_retryable(code)
    assert code not in MESSAGES_ERRORS


def test_the_retryable_messages_errors() -> None:
    retryable = {entry.code for entry in MESSAGES_ERRORS if entry.retryable}

    assert retryable == {1000, 1100, 1180, 1220, 1230, 1241, 1331}
    assert MESSAGES_ERRORS.is_retryable(1000)
    assert not MESSAGES_ERRORS.is_retryable(1340)


def test_the_retryable_sms_codes() -> None:
    assert {e.code for e in SMS_SEND_STATUS if e.retryable} == {1, 5, 10}
    assert {e.code for e in SMS_DLR_ERRORS if e.retryable} == {2, 7, 8}


def test_tables_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        MESSAGES_ERRORS.codes[1000] = ProviderCode(1000, "x")  # type: ignore[index]
    assert len(MESSAGES_ERRORS) == 50
