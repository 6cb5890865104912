"""Proactive events: the team's own systems (a shop, a CRM) tell the bot something about a user.

Three ways in, one event. The events API (``POST /api/v1/events`` on the server), the
``botkit notify`` command and :class:`Notifier` all build the same
:class:`~botkit.events.Event` with :func:`notification_event` -- kind ``NOTIFICATION``, its
:class:`~botkit.events.Notification` content carrying the name and the data -- and accept it
into the recipient's conversation (the one a message from that user to the bot's address on
that channel opens, created if new) through the store's accept, as a webhook's event is:
deduplicated on the caller's key, in order with the user's other events, committed with the
turn that handles it.

The server's route accepts it through its runtime, which takes the conversation at once when
nobody holds it. A :class:`Notifier` runs no bot: it takes no lease and marks the conversation
due now, so the next sweep of a serving process (every second) takes it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final

from botkit.bot import Bot
from botkit.channels.addresses import normalise
from botkit.channels.capabilities import capability
from botkit.channels.words import ADDRESS_FORMS
from botkit.clock import Clock, SystemClock
from botkit.errors import ConfigError, InvalidPayload, Problem
from botkit.events import Channel, Event, EventKind, Notification, WebhookFormat
from botkit.settings import Settings, load_settings
from botkit.store import open_store
from botkit.store.base import Store
from botkit.vonage.inbound.json_body import value_problems

MAX_NAME: Final = 100
MAX_KEY: Final = 200
FIELDS: Final = ("channel", "user", "name", "data", "key")
"""The fields of an events API body."""

_NAME = re.compile(r"[A-Za-z0-9_.:-]+")
_CHANNELS = ", ".join(c.value for c in Channel)
_SETTING = {
    Channel.WHATSAPP: "VONAGE_WHATSAPP_NUMBER",
    Channel.SMS: "VONAGE_SMS_FROM",
    Channel.MMS: "VONAGE_MMS_NUMBER",
    Channel.MESSENGER: "VONAGE_MESSENGER_PAGE_ID",
    Channel.VIBER: "VONAGE_VIBER_SERVICE_ID",
}

Senders = Mapping[Channel, str | Sequence[str]]
"""The bot's own address (or addresses: the first is used) per channel."""


def notification_event(
    channel: object,
    user: object,
    name: object,
    data: object = None,
    key: object = None,
    *,
    senders: Senders,
    now: float,
) -> Event:
    """The event a proactive ``name`` for ``user`` on ``channel`` becomes.

    ``user`` is normalised as the channel's rules write recipients (E.164 digits for numbers),
    and the event's ``bot`` is the bot's own address there (from ``senders``), so the event
    lands in the conversation a message from that user would. ``data`` (default ``{}``) must
    be a JSON object within the bounds of a webhook body; ``key`` (default: a fresh id, so
    never a duplicate) is the dedup key. Raises :class:`InvalidPayload` listing every field
    that is wrong.
    """
    problems: list[Problem] = []
    chosen = _channel(channel, problems)
    address = bot = None
    if chosen is not None:
        address = _recipient(chosen, user, problems)
        bot = _bot_address(chosen, senders, problems)
    elif not isinstance(user, str):
        problems.append(Problem("user", "the user's address on the channel, as text"))
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME or not _NAME.fullmatch(name):
        problems.append(
            Problem("name", f"an event name: 1 to {MAX_NAME} letters, digits, or _ . : -")
        )
    payload = _data(data, problems)
    if key is None:
        key = uuid.uuid4().hex
    elif not isinstance(key, str) or not 0 < len(key) <= MAX_KEY or not key.isprintable():
        problems.append(Problem("key", f"a dedup key: 1 to {MAX_KEY} printable characters"))
    if problems or chosen is None or address is None or bot is None:
        raise InvalidPayload(problems)
    return Event(
        kind=EventKind.NOTIFICATION,
        channel=chosen,
        user=address,
        bot=bot,
        message_id=str(key),
        timestamp=datetime.fromtimestamp(now, UTC),
        format=WebhookFormat.API,
        raw={"channel": chosen.value, "user": address, "name": str(name), "key": str(key)},
        content=Notification(name=str(name), data=payload),
    )


def read_notification(payload: Any, *, senders: Senders, now: float) -> Event:
    """:func:`notification_event` from an events API body (decoded JSON): an object with
    ``channel``, ``user`` and ``name``, and optionally ``data`` and ``key``; any other field
    is refused, naming it."""
    if not isinstance(payload, dict):
        raise InvalidPayload(Problem("body", "a JSON object with channel, user, name"))
    problems = [
        Problem(str(field), f"not a field of an event; the fields are {', '.join(FIELDS)}")
        for field in payload
        if field not in FIELDS
    ]
    problems += [
        Problem(field, "required") for field in ("channel", "user", "name") if field not in payload
    ]
    if problems:
        raise InvalidPayload(problems)
    return notification_event(
        payload["channel"],
        payload["user"],
        payload["name"],
        payload.get("data"),
        payload.get("key"),
        senders=senders,
        now=now,
    )


def _channel(value: object, problems: list[Problem]) -> Channel | None:
    if isinstance(value, str) and value in Channel._value2member_map_:
        return Channel(value)
    problems.append(Problem("channel", f"one of {_CHANNELS}"))
    return None


def _recipient(channel: Channel, value: object, problems: list[Problem]) -> str | None:
    cap = capability(channel)
    address = normalise(cap.recipient, value) if isinstance(value, str) else None
    if address is None:
        expected = f"a {cap.name} recipient: {ADDRESS_FORMS[cap.recipient]}"
        problems.append(Problem("user", expected))
    return address


def _bot_address(channel: Channel, senders: Senders, problems: list[Problem]) -> str | None:
    configured = senders.get(channel) or ()
    first = configured if isinstance(configured, str) else next(iter(configured), None)
    if not first:
        problems.append(
            Problem(
                "channel",
                f"a channel the bot has an address on: set {_SETTING[channel]} (or the bot "
                f"class's senders) for {channel.value}",
            )
        )
        return None
    return normalise(capability(channel).sender, first) or first


def _data(value: object, problems: list[Problem]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(Problem("data", "a JSON object"))
        return {}
    try:
        copied: dict[str, Any] = json.loads(json.dumps(value, allow_nan=True))
    except (TypeError, ValueError, RecursionError) as exc:
        problems.append(Problem("data", f"a JSON object; {_short(exc)}"))
        return {}
    found = value_problems({"data": copied})
    problems.extend(found)
    return {} if found else copied


def _short(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "it nests too deep"
    return str(exc).split("\n")[0][:200]


# --- the Python API ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notified:
    """What :meth:`Notifier.notify` did."""

    duplicate: bool
    """True when the key was seen before (within the dedup window): nothing was added."""
    key: str
    """The dedup key: the caller's, or the fresh id given to the event."""
    conversation: str
    """The conversation the event went to (``channel:bot:user``)."""


class Notifier:
    """Sends proactive events into the store that serving processes work from.

    Usable from any process that shares the store (a shop's worker, a cron job): build it
    with :meth:`from_settings` (the same settings as the server: ``REDIS_URL`` and the bot's
    addresses) and ``await notifier.notify(...)``. It runs no bot and takes no lease: a serving
    process's sweep takes the conversation within about a second. Close it when done (or use
    ``async with``).
    """

    def __init__(
        self,
        store: Store,
        senders: Senders,
        *,
        clock: Clock | None = None,
        owns_store: bool = False,
    ) -> None:
        """Notify into ``store`` (a store the app's runtime works from, or one sharing its
        Redis), with the bot's own addresses ``senders``. With ``owns_store``, :meth:`close`
        closes the store."""
        self.store = store
        self.senders = dict(senders)
        self.clock = clock or SystemClock()
        self._owns_store = owns_store

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, bot: type[Bot[Any]] | None = None
    ) -> Notifier:
        """A notifier on the store ``settings`` name (default: the environment's, as
        ``botkit serve`` reads them), with the bot's addresses from the settings
        (``VONAGE_WHATSAPP_NUMBER``...), over ``bot``'s class ``senders`` when given.

        Raises :class:`ConfigError` without ``REDIS_URL``: the embedded memory store lives
        inside the server's process, so nothing written from another would reach it.
        """
        settings = settings or load_settings()
        if not settings.redis_url:
            raise ConfigError(
                "REDIS_URL is not set: the embedded memory store lives inside the server's own "
                "process, so a notifier elsewhere cannot reach it. Set REDIS_URL to the "
                "server's Redis, or post to the server's events API (POST /api/v1/events with "
                "BOTKIT_API_TOKEN; botkit notify --url does)"
            )
        senders: dict[Channel, str] = dict(bot.senders) if bot is not None else {}
        senders.update({Channel(name): address for name, address in settings.senders.items()})
        return cls(open_store(settings), senders, owns_store=True)

    async def notify(
        self,
        channel: Channel | str,
        user: str,
        name: str,
        *,
        data: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> Notified:
        """Record the proactive event ``name`` for ``user`` on ``channel`` in their
        conversation (created if new), for the bot's ``@on.event(name)`` handler.

        ``data`` (a JSON-serialisable mapping) reaches the handler as
        ``ctx.event.content.data``; ``key`` deduplicates: a key this conversation has seen
        within the dedup window adds nothing and returns ``duplicate=True``. When this returns
        the event is durably recorded. Raises :class:`InvalidPayload` naming each bad argument
        (``channel``, ``user``, ``name``, ``data``, ``key``) and
        :class:`~botkit.store.base.StoreUnavailable` when the store cannot be reached.
        """
        event = notification_event(
            channel,
            user,
            name,
            dict(data) if isinstance(data, Mapping) else data,
            key,
            senders=self.senders,
            now=self.clock.now(),
        )
        conversation = event.conversation_key
        assert conversation is not None
        accepted = await self.store.accept(conversation, event, owner=None, now=self.clock.now())
        return Notified(accepted.duplicate, event.message_id, conversation)

    async def close(self) -> None:
        """Close the store if this notifier opened it."""
        if self._owns_store:
            await self.store.close()

    async def __aenter__(self) -> Notifier:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
