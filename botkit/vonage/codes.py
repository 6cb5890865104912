"""The provider's numeric codes, as data.

Three tables, each a :class:`CodeTable`:

- :data:`MESSAGES_ERRORS`: Messages API error codes 1000-1450, found in the ``title`` of a status
  webhook's ``error`` (v1) or in its ``code`` (v0.1).
- :data:`SMS_SEND_STATUS`: ``messages[].status`` of a legacy SMS API send response (0 is success).
- :data:`SMS_DLR_ERRORS`: ``err-code`` of a legacy SMS delivery receipt (0 is delivered).

``retryable`` marks the codes for which sending the same message again later can succeed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class ProviderCode:
    """One code of one table: the number, a short title, and whether a later retry can succeed."""

    code: int
    title: str
    retryable: bool = False


@dataclass(frozen=True)
class CodeTable:
    """A read-only table of codes, looked up by number (an ``int`` or its decimal string)."""

    name: str
    codes: Mapping[int, ProviderCode] = field(repr=False)

    def get(self, code: int | str) -> ProviderCode | None:
        """The entry for ``code``, or None when the table does not list it (or ``code`` is not a
        decimal number)."""
        number = _as_int(code)
        return None if number is None else self.codes.get(number)

    def title(self, code: int | str) -> str | None:
        """The short title of ``code``, or None when the table does not list it."""
        entry = self.get(code)
        return None if entry is None else entry.title

    def is_retryable(self, code: int | str) -> bool:
        """True when the table lists ``code`` as one a later retry can get past; False for every
        other code, listed or not."""
        entry = self.get(code)
        return entry is not None and entry.retryable

    def __contains__(self, code: object) -> bool:
        return isinstance(code, int | str) and self.get(code) is not None

    def __iter__(self) -> Iterator[ProviderCode]:
        return iter(self.codes.values())

    def __len__(self) -> int:
        return len(self.codes)


def _as_int(code: int | str) -> int | None:
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    text = code.strip()
    # str.isdigit() also accepts non-ASCII digits, which int() would then read.
    if not text or len(text) > 9 or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def _table(name: str, rows: list[tuple[int, str]], retryable: set[int]) -> CodeTable:
    codes = {code: ProviderCode(code, title, code in retryable) for code, title in rows}
    return CodeTable(name, MappingProxyType(codes))


MESSAGES_ERRORS = _table(
    "Messages API error",
    [
        (1000, "Throttled"),
        (1010, "Missing params"),
        (1020, "Invalid params"),
        (1021, "Invalid tag"),
        (1022, "Invalid template"),
        (1030, "Internal error"),
        (1040, "Invalid message"),
        (1050, "Number barred"),
        (1060, "Partner account barred"),
        (1070, "Partner quota exceeded"),
        (1080, "Account not enabled for REST"),
        (1090, "Message too long"),
        (1100, "Communication failed"),
        (1120, "Illegal sender address"),
        (1130, "Invalid TTL"),
        (1140, "Facility not allowed"),
        (1150, "Invalid message class"),
        (1160, "Non white-listed destination"),
        (1170, "Invalid or missing msisdn"),
        (1180, "Absent subscriber temporary"),
        (1190, "Absent subscriber permanent"),
        (1200, "Portability error"),
        (1210, "Anti-spam rejection"),
        (1220, "Handset busy"),
        (1230, "Network error"),
        (1240, "Illegal number (the user opted out)"),
        (1241, "Too many send requests"),
        (1250, "Unroutable"),
        (1260, "Destination unreachable"),
        (1270, "Subscriber age restriction"),
        (1280, "Number blocked by carrier"),
        (1290, "Pre-paid insufficient funds"),
        (1300, "Not part of the provider network"),
        (1310, "Not suitable device"),
        (1320, "Message already sent"),
        (1330, "Unknown"),
        (1331, "Provider error"),
        (1340, "Outside of the allowed window"),
        (1350, "Phone matching fee not paid"),
        (1360, "TTL was activated"),
        (1370, "Expired access token"),
        (1380, "Invalid resource URL"),
        (1381, "Resource size is too large"),
        (1382, "Resource type is invalid"),
        (1400, "Unsupported channel"),
        (1410, "Invalid channel parameters"),
        (1420, "Invalid sender"),
        (1430, "Invalid recipient"),
        (1440, "Invalid message type"),
        (1450, "Invalid client reference"),
    ],
    retryable={1000, 1100, 1180, 1220, 1230, 1241, 1331},
)
"""Messages API error codes (1000-1450)."""

SMS_SEND_STATUS = _table(
    "SMS API send status",
    [
        (0, "Success"),
        (1, "Throttled"),
        (2, "Missing parameters"),
        (3, "Invalid parameters"),
        (4, "Invalid credentials"),
        (5, "Internal error"),
        (6, "Invalid message"),
        (7, "Number barred"),
        (8, "Partner account barred"),
        (9, "Partner quota violation"),
        (10, "Too many existing binds"),
        (11, "Account not enabled for HTTP"),
        (12, "Message too long"),
        (14, "Invalid signature"),
        (15, "Invalid sender address"),
        (22, "Invalid network code"),
        (23, "Invalid callback URL"),
        (29, "Non-whitelisted destination"),
        (32, "Signature and API secret disallowed"),
        (33, "Number de-activated"),
        (101, "Invalid account for campaign"),
    ],
    # The provider's advice for these is to wait and send again; the others need a change first.
    retryable={1, 5, 10},
)
"""Legacy SMS API send statuses (``messages[].status``; 0 is success)."""

SMS_DLR_ERRORS = _table(
    "SMS delivery receipt error",
    [
        (0, "Delivered"),
        (1, "Unknown"),
        (2, "Absent subscriber, temporary"),
        (3, "Absent subscriber, permanent"),
        (4, "Call barred by user"),
        (5, "Portability error"),
        (6, "Anti-spam rejection"),
        (7, "Handset busy"),
        (8, "Network error"),
        (9, "Illegal number (the user opted out)"),
        (10, "Illegal message"),
        (11, "Unroutable"),
        (12, "Destination unreachable"),
        (13, "Subscriber age restriction"),
        (14, "Number blocked by carrier"),
        (15, "Prepaid insufficient funds"),
        (50, "Entity filter"),
        (51, "Header filter"),
        (52, "Content filter"),
        (53, "Consent filter"),
        (54, "Regulation error"),
        (99, "General error"),
    ],
    retryable={2, 7, 8},
)
"""Legacy SMS delivery receipt ``err-code`` values (0 is delivered)."""
