"""Faults the sandbox injects into sends, per user or per whole channel.

- ``offline``: the user's phone is off. A message is accepted, reported ``submitted`` and then
  held. Clearing the fault (``DELETE``) delivers the messages it held; a fault that ran out of
  ``count`` holds its messages for good (they stay ``submitted``).
- ``undeliverable``: the message is accepted, reported ``submitted`` and then
  ``undeliverable`` with error ``code`` (default 1260 "Destination unreachable").
- ``unread``: the user leaves their messages unread: each is delivered and stays
  ``delivered`` (never ``read``, even when the web chat shows it) until the fault is cleared.
- ``throttle``: the send is refused with 429 ``Rate Limit Hit`` and ``Retry-After:
  retry_after`` (SMS API: status 1, "Throttled").
- ``error``: the send is refused with a 5xx ``Internal error`` (``status``, default 500; SMS
  API: status 5, "Internal Error").

A fault with a ``count`` applies to that many sends and then disappears; without one it lasts
until cleared. A user's own fault wins over a fault of the whole channel.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from botkit.events import Channel

FaultKind = Literal["offline", "undeliverable", "unread", "throttle", "error"]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)

REFUSING: frozenset[FaultKind] = frozenset({"throttle", "error"})
"""Faults answered synchronously, instead of a 202."""
DELAYING: frozenset[FaultKind] = frozenset({"offline", "undeliverable"})
"""Faults that let the send through and change what happens to the message."""


@dataclass
class Fault:
    """One injected fault. ``user`` None covers every user of ``channel``; ``remaining`` None
    lasts until cleared."""

    id: str
    kind: FaultKind
    channel: Channel
    user: str | None
    remaining: int | None
    retry_after: int = 1
    status: int = 500
    code: int = 1260

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "channel": self.channel.value,
            "user": self.user,
            "remaining": self.remaining,
            "retry_after": self.retry_after,
            "status": self.status,
            "code": self.code,
        }


class FaultSpecError(ValueError):
    """A fault request that makes no sense; the message says why."""


def parse_fault_spec(data: Mapping[str, Any], channel: Channel) -> dict[str, Any]:
    """Check the JSON of a new fault (``kind``, optional ``user``, ``count``, ``retry_after``,
    ``status``, ``code``) and return the keyword arguments of :meth:`FaultBook.add`."""
    kind = data.get("kind")
    if kind not in FAULT_KINDS:
        raise FaultSpecError(f"kind must be one of {', '.join(FAULT_KINDS)}")
    user = data.get("user")
    if user is not None and (not isinstance(user, str) or not user):
        raise FaultSpecError("user must be a non-empty string, or absent for the whole channel")
    count = data.get("count")
    if count is not None and (not _is_int(count) or count < 1):
        raise FaultSpecError("count must be a positive integer, or absent for until cleared")
    retry_after = data.get("retry_after", 1)
    if not _is_int(retry_after) or retry_after < 0:
        raise FaultSpecError("retry_after must be a whole number of seconds")
    status = data.get("status", 500)
    if not _is_int(status) or not 500 <= status <= 599:
        raise FaultSpecError("status must be an HTTP status from 500 to 599")
    code = data.get("code", 1260)
    if not _is_int(code) or not 1000 <= code <= 1999:
        raise FaultSpecError("code must be a Messages API error code (1000-1999)")
    return {
        "kind": kind,
        "channel": channel,
        "user": user,
        "count": count,
        "retry_after": retry_after,
        "status": status,
        "code": code,
    }


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class FaultBook:
    """The faults in force, in the order they were set."""

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}
        self._ids = itertools.count(1)

    def add(
        self,
        *,
        kind: FaultKind,
        channel: Channel,
        user: str | None = None,
        count: int | None = None,
        retry_after: int = 1,
        status: int = 500,
        code: int = 1260,
    ) -> Fault:
        fault = Fault(
            id=f"f{next(self._ids)}",
            kind=kind,
            channel=channel,
            user=user,
            remaining=count,
            retry_after=retry_after,
            status=status,
            code=code,
        )
        self._faults[fault.id] = fault
        return fault

    def get(self, fault_id: str) -> Fault | None:
        return self._faults.get(fault_id)

    def remove(self, fault_id: str) -> Fault | None:
        return self._faults.pop(fault_id, None)

    def all(self) -> list[Fault]:
        return list(self._faults.values())

    def holds(self, channel: Channel, user: str, kind: FaultKind) -> bool:
        """True when a fault of ``kind`` applies to ``user`` on ``channel`` now (their own, or
        the whole channel's), without using it up."""
        return any(
            f.channel is channel and f.kind == kind and f.user in (user, None)
            for f in self._faults.values()
        )

    def take(
        self, channel: Channel, user: str, kinds: Collection[FaultKind]
    ) -> tuple[Fault | None, bool]:
        """The fault of one of ``kinds`` that applies to a send to ``user`` on ``channel``.

        Uses up one of its ``count``; returns the fault and whether that was its last use (it
        is then gone from the book). ``(None, False)`` when none applies.
        """
        candidates = [f for f in self._faults.values() if f.channel is channel and f.kind in kinds]
        mine = [f for f in candidates if f.user == user]
        everyone = [f for f in candidates if f.user is None]
        if not mine and not everyone:
            return None, False
        chosen = (mine or everyone)[0]
        if chosen.remaining is not None:
            chosen.remaining -= 1
            if chosen.remaining <= 0:
                del self._faults[chosen.id]
                return chosen, True
        return chosen, False
