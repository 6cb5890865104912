"""Channel rules, applied to each outbound message before it is sent.

:func:`apply_rules` runs :data:`RULES`, a list of plain steps, in order. Each step takes the
messages so far and the :class:`Facts` of the conversation and returns a
:class:`~botkit.channels.facts.Stage`: the messages it passes on (rewritten, split into
several, or none) and, in words, what it changed; or None when it passes them on unchanged,
so that a message no rule touches costs no new object. A step that cannot make a message fit
its channel raises a :class:`~botkit.channels.errors.ChannelRuleError` saying what was wrong and
what to do. The steps live in :mod:`~botkit.channels.reach` (steps 1-4: addresses, countries,
recipients and first messages, the customer-care window), :mod:`~botkit.channels.content`
(step 5: content, media, captions, choices) and :mod:`~botkit.channels.limits` (step 6:
lengths and ranges).

Every figure a step uses comes from :mod:`botkit.channels.capabilities`. Where a channel cannot
carry something, ``Facts.degrade`` decides: ``"degrade"`` rewrites it into something the channel
carries (a link, a map link, numbered options, a follow-up text) and notes that; ``"refuse"``
raises :class:`~botkit.channels.errors.UnsupportedOnChannel` (or
:class:`~botkit.channels.errors.TooLong`) instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from botkit.channels.content import (
    check_media_urls,
    degrade_content,
    fit_captions,
    offer_choices,
    resolve_numbered_reply,
)
from botkit.channels.errors import ChannelRuleError
from botkit.channels.facts import Facts, Stage, Step
from botkit.channels.limits import (
    check_action_button,
    check_client_ref,
    check_file_name,
    check_list_label,
    check_ttl,
    check_video_details,
    check_webhook_url,
    split_long_texts,
)
from botkit.channels.reach import (
    check_countries,
    check_first_promotion,
    check_message_tag,
    check_recipient_wrote_first,
    check_window,
    normalise_addresses,
)
from botkit.channels.words import plural
from botkit.events import Channel, Text
from botkit.metrics import REFUSALS
from botkit.outbound import Outbound
from botkit.vonage.outbound.sms_api import is_gsm7, sms_segments

__all__ = ["RULES", "Facts", "Plan", "Stage", "Step", "apply_rules", "resolve_numbered_reply"]


@dataclass(frozen=True)
class Plan:
    """The messages to send, in order, for one message the bot wrote, and what was changed.

    - ``notes``: each change in words, for logs and for the bot.
    - ``numbered_choices``: when choices became numbered options, the number (``"1"``) to the
      choice's id, for :func:`resolve_numbered_reply`; empty otherwise.
    - ``sms_segments``: the SMS segments (billed parts) of all SMS messages; None if none.
    """

    messages: tuple[Outbound, ...]
    notes: tuple[str, ...] = ()
    numbered_choices: Mapping[str, str] = field(default_factory=dict)
    sms_segments: int | None = None


RULES: tuple[Step, ...] = (
    normalise_addresses,
    check_countries,
    check_recipient_wrote_first,
    check_first_promotion,
    check_window,
    check_message_tag,
    degrade_content,
    check_media_urls,
    fit_captions,
    offer_choices,
    check_client_ref,
    check_ttl,
    check_video_details,
    check_webhook_url,
    check_file_name,
    check_action_button,
    check_list_label,
    split_long_texts,
)
"""The steps :func:`apply_rules` runs, in this order."""


def apply_rules(message: Outbound, facts: Facts, rules: Sequence[Step] = RULES) -> Plan:
    """The plan for sending ``message``: ``rules`` applied in order, then the SMS cost counted.

    Raises the first :class:`~botkit.channels.errors.ChannelRuleError` a step raises.
    """
    messages = [message]
    notes: list[str] = []
    numbered: dict[str, str] = {}
    try:
        for rule in rules:
            stage = rule(messages, facts)
            if stage is None:
                continue
            messages = stage.messages
            notes.extend(stage.notes)
            numbered.update(stage.numbered_choices)
    except ChannelRuleError as refused:
        REFUSALS.labels(rule=type(refused).__name__).inc()
        raise
    segments, cost_notes = _sms_cost(messages)
    return Plan(tuple(messages), (*notes, *cost_notes), numbered, segments)


def _sms_cost(messages: list[Outbound]) -> tuple[int | None, list[str]]:
    """The SMS segments of the SMS texts among ``messages``, and a note for each text."""
    total: int | None = None
    notes = []
    for message in messages:
        if message.channel is not Channel.SMS or not isinstance(message.content, Text):
            continue
        text = message.content.text
        encoding = message.sms.encoding if message.sms is not None else None
        if encoding == "text" and not is_gsm7(text):
            notes.append('SMS encoding "text": characters outside GSM-7 will not show as written')
            text = "".join(char if is_gsm7(char) else "?" for char in text)
        info = sms_segments(text, "unicode" if encoding == "unicode" else None)
        total = (total or 0) + info.segments
        name = "GSM-7" if info.encoding == "text" else "UCS-2"
        each = f" of up to {info.chars_per_segment} characters" if info.segments > 1 else ""
        notes.append(
            f"SMS of {len(text)} characters in {name}: {plural(info.segments, 'segment')}{each}"
        )
    return total, notes
