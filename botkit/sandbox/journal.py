"""The sandbox's log of everything that happened, and its live feed.

Every event gets the next ``seq`` (1, 2, 3, ... across the whole sandbox), the sandbox clock's
time, and the conversation it belongs to (``channel`` and ``user``; both None for the clock).
Its JSON (:meth:`JournalEvent.as_json`) is what ``GET /_sandbox/conversations/...`` lists and
what ``GET /_sandbox/events`` streams::

    {"seq": 7, "kind": "status", "at": "2024-05-01T10:00:00.123Z", "time": 1714557600.123,
     "channel": "whatsapp", "user": "447700900001", ...fields of the kind...}

Subscribers get every event recorded after they subscribed, in ``seq`` order; one that falls
more than :data:`SUBSCRIBER_BACKLOG` events behind is dropped (its feed ends).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from botkit.clock import Clock
from botkit.events import Channel

EventKind = Literal[
    "inbound", "outbound", "status", "rejected", "fault", "clock", "webhook", "reload", "workflow"
]
"""``reload``: ``botkit dev`` reloaded the bot (``ok``), or kept the last good version (``error``)
because the new one did not load. ``workflow``: a Dispatch workflow was ``accepted``, went to
its ``next step`` (with the ``reason``), or ``ended`` (with its ``status`` and final ``report``)."""

SUBSCRIBER_BACKLOG = 10_000


def iso_time(seconds: float) -> str:
    """``seconds`` as the provider writes times: ISO 8601 UTC with milliseconds and ``Z``."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class JournalEvent:
    """One thing that happened; ``fields`` are the kind's own keys."""

    seq: int
    kind: EventKind
    time: float
    channel: Channel | None
    user: str | None
    fields: Mapping[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "at": iso_time(self.time),
            "time": self.time,
            "channel": self.channel.value if self.channel is not None else None,
            "user": self.user,
            **self.fields,
        }


class _Subscriber:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[JournalEvent | None] = asyncio.Queue(SUBSCRIBER_BACKLOG)


class Journal:
    """Events in order, by conversation, and fanned out to live subscribers."""

    def __init__(self, clock: Clock, max_events: int) -> None:
        self._clock = clock
        self._max = max_events
        self._events: deque[JournalEvent] = deque(maxlen=max_events)
        self._by_conversation: dict[tuple[Channel, str], deque[JournalEvent]] = {}
        self._subscribers: set[_Subscriber] = set()
        self._seq = 0
        self._closed = False

    @property
    def last_seq(self) -> int:
        """The ``seq`` of the latest event (0 before any)."""
        return self._seq

    def record(
        self, kind: EventKind, channel: Channel | None, user: str | None, **fields: Any
    ) -> JournalEvent:
        """Append an event and hand it to every subscriber."""
        self._seq += 1
        event = JournalEvent(self._seq, kind, self._clock.now(), channel, user, fields)
        self._events.append(event)
        if channel is not None and user is not None:
            key = (channel, user)
            if key not in self._by_conversation:
                self._by_conversation[key] = deque(maxlen=self._max)
            self._by_conversation[key].append(event)
        for subscriber in list(self._subscribers):
            try:
                subscriber.queue.put_nowait(event)
            except asyncio.QueueFull:
                self._subscribers.discard(subscriber)
        return event

    def events(
        self, *, since: int = 0, channel: Channel | None = None, user: str | None = None
    ) -> list[JournalEvent]:
        """Kept events after ``since``, of one conversation when ``channel`` and ``user`` are
        given (of one channel when only ``channel`` is)."""
        if channel is not None and user is not None:
            source: Any = self._by_conversation.get((channel, user), ())
        else:
            source = self._events
        return [e for e in source if e.seq > since and (channel is None or e.channel is channel)]

    def conversations(self) -> list[tuple[Channel, str]]:
        """Every conversation with at least one event, oldest first."""
        return list(self._by_conversation)

    async def follow(
        self, *, since: int | None = None, heartbeat: float | None = None
    ) -> AsyncIterator[JournalEvent | None]:
        """Kept events after ``since`` (none when None), then each new event as it is recorded;
        None after every ``heartbeat`` seconds without one.

        Ends when the journal closes or this follower falls too far behind.
        """
        subscriber = _Subscriber()
        self._subscribers.add(subscriber)
        try:
            last = self._seq if since is None else since
            for event in self.events(since=last):
                last = event.seq
                yield event
            while not self._closed:
                try:
                    queued = await asyncio.wait_for(subscriber.queue.get(), heartbeat)
                except TimeoutError:
                    yield None
                    continue
                if queued is None:
                    return
                if queued.seq > last:
                    last = queued.seq
                    yield queued
                if subscriber not in self._subscribers and subscriber.queue.empty():
                    return
        finally:
            self._subscribers.discard(subscriber)

    def close(self) -> None:
        """End every live feed."""
        self._closed = True
        for subscriber in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                subscriber.queue.put_nowait(None)
        self._subscribers.clear()
