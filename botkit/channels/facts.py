"""What the channel rules know, what each step returns, and how steps are built.

A step is a plain function ``(messages, facts) -> Stage``; :func:`each_message` builds one from
a function of a single message. Messages derived from one message (parts of a long text, a
caption sent after its media, numbered options sent after media) get ids derived from its id,
``<id>-<part>``, so a retry of the same message yields the same ids (:func:`derive`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from botkit.channels.capabilities import ApiVersion
from botkit.conversation import Conversation
from botkit.events import Audio, Channel, Contact, Event, EventKind, File, Image, Video
from botkit.outbound import Outbound, Template

Media = Image | Audio | Video | File | Contact
"""Content sent from a URL, with an optional caption."""

CLIENT_REF_LIMITS: Mapping[str, int] = {"v1": 100, "v0.1": 40}
"""Longest ``client_ref`` per Messages API version."""


@dataclass(frozen=True)
class Facts:
    """What the rules know about the conversation and the bot when a message is sent.

    - ``now``: the current Unix time, from the app's :class:`~botkit.clock.Clock`.
    - ``last_inbound_at``: Unix time of the user's last message on this conversation, or None.
    - ``user_has_written``: the user wrote on this conversation at some time; also taken as
      true whenever ``last_inbound_at`` is set.
    - ``templates``: the bot's approved WhatsApp templates, keyed by the text of the message
      each stands in for outside the 24-hour window; see :mod:`botkit.channels.templates`.
    - ``degrade``: what to do with content a channel cannot carry: rewrite it into something
      it carries (``"degrade"``) or raise (``"refuse"``).
    - ``api_version``: the Messages API version messages are sent with; sets the ``client_ref``
      limit (100 on v1, 40 on v0.1) and, where v0.1 carries less, the content allowed.
    - ``senders``: the bot's own address (or addresses) per channel. When a channel has some, a
      message's ``sender`` must be one of them.
    - ``bot_has_written``: the bot has already sent this user a message in this turn (a
      handler's earlier reply), so the next is not its first.
    - ``failover``: who carries out a reply's failover policy, botkit (``"local"``) or the
      provider (``"provider"``, ``BOTKIT_FAILOVER``).
    """

    now: float
    last_inbound_at: float | None = None
    user_has_written: bool = False
    templates: Mapping[str, Template] = field(default_factory=dict)
    degrade: Literal["degrade", "refuse"] = "degrade"
    api_version: ApiVersion = "v1"
    senders: Mapping[Channel, str | Sequence[str]] = field(default_factory=dict)
    bot_has_written: bool = False
    failover: Literal["local", "provider"] = "local"

    @property
    def wrote(self) -> bool:
        """True when the user has written on this conversation."""
        return self.user_has_written or self.last_inbound_at is not None

    def senders_on(self, channel: Channel) -> tuple[str, ...]:
        """The bot's own addresses on ``channel``, as configured (empty when none are)."""
        configured = self.senders.get(channel, ())
        return (configured,) if isinstance(configured, str) else tuple(configured)

    @property
    def client_ref_limit(self) -> int:
        """The longest ``client_ref`` the API version accepts."""
        return CLIENT_REF_LIMITS[self.api_version]


@dataclass(frozen=True)
class ChannelSetup:
    """What the rules know that is the same for every conversation of one bot: its templates,
    its degrade policy, the Messages API version, its own addresses (``senders``, merged
    once from the bot class and the settings, the settings winning) and who carries out
    failover."""

    templates: Mapping[str, Template] = field(default_factory=dict)
    degrade: Literal["degrade", "refuse"] = "degrade"
    api_version: ApiVersion = "v1"
    senders: Mapping[Channel, str | Sequence[str]] = field(default_factory=dict)
    failover: Literal["local", "provider"] = "local"

    def facts(self, conversation: Conversation, event: Event | None, now: float) -> Facts:
        """The facts while ``event`` is handled on ``conversation`` at Unix time ``now`` (or,
        without an event, while its outbox is sent): the user's last message is this event
        when it is a message."""
        last = conversation.last_inbound_at
        if event is not None and event.kind is EventKind.MESSAGE:
            at = event.timestamp.timestamp()
            last = at if last is None else max(last, at)
        return Facts(
            now=now,
            last_inbound_at=last,
            user_has_written=last is not None,
            templates=self.templates,
            degrade=self.degrade,
            api_version=self.api_version,
            senders=self.senders,
            failover=self.failover,
        )


@dataclass(frozen=True)
class Stage:
    """What one step passes on: the messages, what it changed, and numbered choices it made."""

    messages: list[Outbound]
    notes: tuple[str, ...] = ()
    numbered_choices: Mapping[str, str] = field(default_factory=dict)


Step = Callable[[list[Outbound], Facts], Stage | None]
"""One rule: the messages so far and the facts in, the messages to pass on out (or raise);
None when it passes them on unchanged (most messages on most steps: nothing is built then)."""

MessageRule = Callable[[Outbound, Facts], Stage | None]


def each_message(rule: MessageRule) -> Step:
    """A step that applies ``rule`` to every message and passes on what it returns, in order
    (None: the messages unchanged)."""

    @functools.wraps(rule)
    def step(messages: list[Outbound], facts: Facts) -> Stage | None:
        if len(messages) == 1:
            return rule(messages[0], facts)
        stages = [rule(message, facts) for message in messages]
        if all(stage is None for stage in stages):
            return None
        passed: list[Outbound] = []
        notes: list[str] = []
        choices: dict[str, str] = {}
        for message, stage in zip(messages, stages, strict=True):
            if stage is None:
                passed.append(message)
                continue
            passed.extend(stage.messages)
            notes.extend(stage.notes)
            choices.update(stage.numbered_choices)
        return Stage(passed, tuple(notes), choices)

    return step


def derive(message: Outbound, part: str, facts: Facts, **update: Any) -> Outbound:
    """A message derived from ``message``, with the id ``<id>-<part>`` and ``update`` applied."""
    limit = facts.client_ref_limit
    new_id = f"{message.id}-{part}"
    ref = message.client_ref
    if ref is not None:
        suffixed = f"{ref}-{part}"
        ref = suffixed if len(suffixed) <= limit else ref
    elif len(new_id) > limit:
        # The id would be sent as client_ref: keep the original one, which fits.
        ref = message.id
    return message.model_copy(update={"id": new_id, "client_ref": ref, **update})
