"""Sending a conversation's outbox: in order, under its lease, never dropping a reply that can
still go.

:meth:`Delivery.send` sends the outbox's entries oldest first and says what became of them
(:class:`Delivered`), for the runtime to acknowledge in one atomic step:

- accepted by the provider: a :class:`~botkit.records.DeliveryRecord` is written; a reply sent
  as a provider workflow (failover the provider carries out) is linked to its conversation
  at once, so the workflow's final report finds it;
- refused for good (the provider's 4xx such as 422/1340 or 402, a channel rule at send time, or
  a reply that kept failing for :attr:`RetryPolicy.give_up_seconds`): a record with the code is
  written, the entry is dropped, and a ``rejected`` status event reaches the bot, in order with
  the user's events, so ``@on.status("rejected")`` handlers see it (a refused provider
  workflow also ends its failover: its outcome follows, for ``@on.failover`` handlers);
- failed for a reason worth retrying (no answer, 429, 5xx, after the transport's own short
  retries): the entry stays at the outbox's head with one more attempt and a not-before time
  (:class:`RetryPolicy`), keeping its ``client_ref``; the entries behind it wait, in order.

Before each send the lease must be comfortably alive (``lease_ok``); when it is not, nothing
more is sent and the runtime stops working the conversation.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from botkit.channels.errors import ChannelRuleError
from botkit.channels.facts import ChannelSetup
from botkit.channels.reach import check_window
from botkit.conversation import Conversation, OutboxEntry
from botkit.dispatch import ended_record, link_of, link_seconds, refused_outcome, sent_record
from botkit.events import (
    DeliveryStatus,
    Event,
    EventKind,
    FailoverOutcome,
    ProviderError,
    StatusInfo,
    WebhookFormat,
)
from botkit.failover import home_of, record_id
from botkit.log import get_logger
from botkit.metrics import SENDS, child
from botkit.outbound import Outbound
from botkit.records import DeliveryRecord
from botkit.store.base import StoreUnavailable
from botkit.vonage.errors import ProviderError as ProviderRefusal
from botkit.vonage.errors import SendError
from botkit.vonage.transport import Transport

log = get_logger("botkit.delivery")

WorkflowLinker = Callable[[str, str, float], Awaitable[None]]
"""Keeps a provider workflow's link: ``(workflow id, link text, seconds)``."""


@dataclass(frozen=True)
class RetryPolicy:
    """When a reply that failed for a retryable reason is tried again.

    The n-th retry waits ``first_seconds * 2 ** (n - 1)``, at most ``max_seconds`` (or longer
    when the provider asked for a longer pause); once the waits add up to ``give_up_seconds``
    the reply is given up and reported to the bot as refused.
    """

    first_seconds: float = 1.0
    max_seconds: float = 900.0
    give_up_seconds: float = 24 * 3600.0

    def delay(self, attempts: int) -> float:
        """The pause after the ``attempts``-th failed attempt."""
        return float(min(self.max_seconds, self.first_seconds * 2 ** min(attempts - 1, 60)))

    def gives_up(self, attempts: int) -> bool:
        """True when ``attempts`` failed attempts have waited ``give_up_seconds`` in all."""
        waited = 0.0
        for attempt in range(1, attempts):
            waited += self.delay(attempt)
            if waited >= self.give_up_seconds:
                return True
        return False


@dataclass
class Delivered:
    """What became of an outbox, for :meth:`~botkit.store.base.Store.ack`."""

    sent: int = 0
    """Entries done with, from the head: sent, or refused for good."""
    records: dict[str, str] = field(default_factory=dict)
    retry: OutboxEntry | None = None
    """The head's next attempt, when it failed and will be tried again."""
    events: list[Event] = field(default_factory=list)
    """Status events of the refused entries, for the bot."""
    wait: float | None = None
    """Seconds until the head may go, when it has to wait."""
    stopped: bool = False
    """True when the lease was in doubt and the rest was not sent."""
    filed: dict[str, dict[str, str]] = field(default_factory=dict)
    """Records of messages to other users (``ctx.send``), by the key of the recipient's
    conversation: they are kept there, where that user's statuses arrive."""

    def record(self, message: Outbound, record: DeliveryRecord, key: str) -> None:
        """Keep ``record`` of ``message``, sent from the conversation ``key``: with it, or
        with the recipient's conversation when the message went to another user (a fallback
        step's message belongs with the reply it falls back from, see
        :func:`~botkit.failover.home_of`)."""
        home = home_of(message)
        kept = self.records if home == key else self.filed.setdefault(home, {})
        kept.update(record.keys(home))


class Delivery:
    """Sends outboxes through ``transport``."""

    def __init__(
        self,
        transport: Transport,
        channels: ChannelSetup,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        link: WorkflowLinker | None = None,
    ) -> None:
        """``clock`` (Unix time) dates records, refusals and the channel window check; retries
        are scheduled on the system's own time, which every process shares. ``link`` keeps a
        provider workflow's link to its conversation (``(workflow id, link, seconds)``, as
        :meth:`~botkit.store.base.Store.link_workflow`); without it final reports find none."""
        self.transport = transport
        self.channels = channels
        self.retry = retry or RetryPolicy()
        self._clock = clock
        self._link = link

    async def send(
        self, conversation: Conversation, lease_ok: Callable[[], Awaitable[bool]]
    ) -> Delivered:
        """Send ``conversation``'s outbox in order, up to the first entry that must wait."""
        done = Delivered()
        for entry in conversation.outbox:
            now = time.time()
            if entry.not_before is not None and entry.not_before > now:
                done.wait = entry.not_before - now
                break
            if not await lease_ok():
                log.warning("lease in doubt: not sending", key=conversation.key)
                done.stopped = True
                break
            try:
                message = self._recheck(entry, conversation)
                receipt = await self.transport.send(message)
            except ChannelRuleError as exc:
                self._refuse(done, entry, exc, None, type(exc).__name__, conversation.key)
                continue
            except SendError as exc:
                attempts = entry.attempts + 1
                if exc.retryable and not self.retry.gives_up(attempts):
                    pause = max(self.retry.delay(attempts), _asked_pause(exc))
                    done.retry = replace(entry, attempts=attempts, not_before=now + pause)
                    done.wait = pause
                    child(SENDS, entry.message.channel.value, "retrying").inc()
                    log.warning(
                        "reply not sent yet: it waits at the head of the outbox",
                        error=str(exc),
                        channel=entry.message.channel.value,
                        to=entry.message.to,
                        attempts=attempts,
                        retry_in=round(pause, 1),
                    )
                    break
                self._refuse(done, entry, exc, _code(exc), _title(exc), conversation.key)
                continue
            if receipt.workflow_id is not None:
                await self._link_workflow(receipt.workflow_id, conversation.key, message)
                failover = sent_record(message, self._clock())
                done.records[record_id(message.id)] = failover.model_dump_json()
            record = DeliveryRecord.sent(
                message, receipt.message_id, self._clock(), receipt.message_ids
            )
            done.record(message, record, conversation.key)
            done.sent += 1
            child(SENDS, message.channel.value, "sent").inc()
            log.info(
                "reply sent",
                message_id=receipt.message_id,
                channel=message.channel.value,
                to=message.to,
            )
        return done

    async def _link_workflow(self, workflow_id: str, key: str, message: Outbound) -> None:
        if self._link is None:
            return
        link = link_of(key, message)
        try:
            await self._link(workflow_id, link.model_dump_json(), link_seconds(message))
        except StoreUnavailable as exc:
            # The workflow left and must not leave again: only its final report goes astray.
            log.error(
                "provider workflow sent but not linked: its final report will not reach the "
                "conversation",
                workflow_id=workflow_id,
                error=str(exc),
            )

    def _recheck(self, entry: OutboxEntry, conversation: Conversation) -> Outbound:
        """The message to send: an entry that waited is checked against the channel's window
        again (it may have closed meanwhile; a template may stand in)."""
        message = entry.message
        if not entry.attempts or conversation.key != message.conversation_key:
            return message
        facts = self.channels.facts(conversation, None, self._clock())
        stage = check_window([message], facts)
        if stage is None:
            return message
        (checked,) = stage.messages
        return checked

    def _refuse(
        self,
        done: Delivered,
        entry: OutboxEntry,
        error: Exception,
        code: int | None,
        title: str,
        key: str,
    ) -> None:
        message = entry.message
        now = self._clock()
        refusal = ProviderError(code=code, title=title, detail=str(error))
        done.record(message, DeliveryRecord.refused(message, refusal, now), key)
        done.events.append(_rejected(message, refusal, now))
        if message.workflow:
            ended = refused_outcome(_rejected(message, refusal, now), message)
            done.events.append(ended)
            assert isinstance(ended.content, FailoverOutcome)
            failover = ended_record(sent_record(message, now), ended.content, now)
            done.records[record_id(message.id)] = failover.model_dump_json()
        done.sent += 1
        child(SENDS, message.channel.value, "refused").inc()
        log.error(
            "reply refused: the bot gets a rejected status",
            error=str(error),
            code=code,
            channel=message.channel.value,
            to=message.to,
            attempts=entry.attempts + 1,
        )


def _code(exc: SendError) -> int | None:
    code = getattr(exc, "code", None)
    return code if isinstance(code, int) else exc.status


def _title(exc: SendError) -> str:
    title = getattr(exc, "title", None)
    return title if isinstance(title, str) and title else type(exc).__name__


def _asked_pause(exc: SendError) -> float:
    pause = exc.retry_after if isinstance(exc, ProviderRefusal) else None
    return pause if pause is not None else 0.0


def _rejected(message: Outbound, error: ProviderError, at: float) -> Event:
    """The status event a refused message gives the bot, as the provider's would."""
    return Event(
        kind=EventKind.STATUS,
        channel=message.channel,
        user=message.to,
        bot=message.sender,
        message_id=message.id,
        timestamp=datetime.fromtimestamp(at, UTC),
        format=WebhookFormat.V1,
        raw={"refused_before_delivery": True},
        client_ref=message.effective_client_ref,
        status=StatusInfo(status=DeliveryStatus.REJECTED, original="rejected", error=error),
    )
