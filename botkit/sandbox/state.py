"""The sandbox's world: its messages, users, faults and clock, and what happens to each send.

:class:`Sandbox` is what the HTTP handlers act on. An accepted send becomes an outbound
:class:`SandboxMessage` whose life runs in a background task, one status at a time:

    accepted -> (delays.submitted) -> submitted -> (delays.delivered) -> delivered
             -> (delays.read, when auto_read, on WhatsApp/Messenger/Viber) -> read

unless a channel rule refuses it (``rejected`` with the rule's error, instead of
``submitted``) or a fault intervenes (``offline``: held after ``submitted``; ``undeliverable``:
``undeliverable`` instead of ``delivered``; ``unread``: never ``read``). Each status is
recorded, then posted to the bot before the next one starts, so the bot sees them in order. A
user reading (:meth:`Sandbox.user_reads`) turns ``delivered`` messages ``read``.

A Dispatch workflow (:meth:`Sandbox.start_workflow`) sends its steps through the same life, one
after the other, as :mod:`~botkit.sandbox.workflow` describes; their statuses are v0.1 statuses
with ``_links.workflow``, and a final report closes the workflow.

A user's message (:meth:`Sandbox.user_writes`) is recorded, opens the channel's 24-hour window
and is posted to the ``inbound_url`` of the application its bot address is linked to; one
conversation's messages are posted in the order they were written.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from aiohttp import web

from botkit.clock import OffsetClock
from botkit.events import Channel
from botkit.sandbox.applications import Application, ApplicationBook
from botkit.sandbox.auth import authenticate_messages
from botkit.sandbox.config import SandboxConfig, WebhookVersion
from botkit.sandbox.faults import DELAYING, REFUSING, Fault, FaultBook
from botkit.sandbox.gateway import Gateway
from botkit.sandbox.journal import Journal, iso_time
from botkit.sandbox.numbers import NumberBook
from botkit.sandbox.problems import ProblemAnswer, internal_error, throttled
from botkit.sandbox.rules import (
    READ_RECEIPT_CHANNELS,
    WINDOW_CHANNELS,
    WINDOW_SECONDS,
    ProviderCode,
    delivery_refusal,
    provider_code,
)
from botkit.sandbox.submissions import Submission, SubmissionApi
from botkit.sandbox.users import UserMessage, check_user
from botkit.sandbox.webhooks import (
    WebhookSender,
    inbound_payload,
    sms_dlr_params,
    status_payload,
)
from botkit.sandbox.workflow import SentStep, Step, StepOutcome, Workflow, final_report
from botkit.sandbox.workflow import workflow_links as _workflow_links

Direction = Literal["inbound", "outbound"]

_DLR: dict[str, tuple[str, str]] = {
    "delivered": ("delivered", "0"),
    "undeliverable": ("failed", "99"),
}
"""SMS API delivery receipt ``status`` and ``err-code`` per Messages status (no receipt for
``submitted``)."""

_DLR_ERR_CODES = {
    1180: "2",
    1190: "3",
    1200: "5",
    1210: "6",
    1220: "7",
    1230: "8",
    1240: "9",
    1250: "11",
    1260: "12",
    1270: "13",
    1280: "14",
    1290: "15",
}
"""SMS delivery-receipt ``err-code`` for the Messages API codes that have one."""


@dataclass(eq=False)
class SandboxMessage:
    """One message of a conversation, either way, as the emulated provider holds it, and where
    it stands (the bot's own record of what it sent is :class:`~botkit.records.DeliveryRecord`).

    ``api`` is how an outbound message was sent (``v1``, ``v0.1`` or ``sms`` for the SMS API).
    ``statuses`` lists every status reported, in order.
    """

    message_uuid: str
    direction: Direction
    channel: Channel
    user: str
    bot: str
    time: float
    content: dict[str, Any]
    api: SubmissionApi | None = None
    client_ref: str | None = None
    webhook_url: str | None = None
    webhook_version: WebhookVersion | None = None
    application_id: str | None = None
    sms_message_ids: tuple[str, ...] = ()
    workflow_id: str | None = None
    status: str | None = None
    statuses: list[dict[str, Any]] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def view(self) -> dict[str, Any]:
        """The message as the conversation log shows it."""
        return {
            "message_uuid": self.message_uuid,
            "direction": self.direction,
            "channel": self.channel.value,
            "user": self.user,
            "bot": self.bot,
            "at": iso_time(self.time),
            "time": self.time,
            "message": self.content,
            "api": self.api,
            "client_ref": self.client_ref,
            "workflow_id": self.workflow_id,
            "status": self.status,
            "statuses": list(self.statuses),
        }


def error_json(error: ProviderCode | None) -> dict[str, Any] | None:
    """A provider error as the journal shows it."""
    if error is None:
        return None
    return {"code": error.code, "title": error.title, "detail": error.description}


class Sandbox:
    """The simulated provider: state plus the behaviour of sends, users, faults and clock."""

    def __init__(self, config: SandboxConfig, clock: OffsetClock) -> None:
        self.config = config
        self.clock = clock
        self.journal = Journal(clock, config.max_events)
        self.gateway = Gateway(clock, self.journal)
        self.faults = FaultBook()
        self.applications = ApplicationBook(config)
        self.numbers = NumberBook(config, self.applications)
        self.messages: dict[str, SandboxMessage] = {}
        self.workflows: dict[str, Workflow] = {}
        self._workflow_tasks: dict[str, asyncio.Task[Any]] = {}
        self._conversations: dict[tuple[Channel, str], list[SandboxMessage]] = {}
        self._last_inbound: dict[tuple[Channel, str], float] = {}
        self._offline: dict[str, asyncio.Event] = {}
        self._parked: set[asyncio.Task[Any]] = set()
        self._inbound_order: dict[tuple[Channel, str], asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sender: WebhookSender | None = None
        clock.on_advance(self._clock_moved)

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self, session: aiohttp.ClientSession) -> None:
        """Begin posting webhooks with ``session``."""
        self._sender = WebhookSender(
            session,
            self.journal,
            signature_secret=self.config.signature_secret,
            api_key=self.config.api_key,
            retry_delays=self.config.webhook_retry_delays,
            sms_signature_method=self.config.sms_signature_method,
        )

    async def stop(self) -> None:
        """End the live feeds and cancel every pending delivery."""
        self.journal.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def settle(self) -> None:
        """Wait until every pending status, read and webhook has been handled (messages held
        by an ``offline`` fault excepted)."""
        while pending := [task for task in self._tasks if task not in self._parked]:
            # A task may park while waited on, so look again often rather than gather them.
            await asyncio.wait(pending, timeout=0.01, return_when=asyncio.FIRST_COMPLETED)

    @property
    def _webhooks(self) -> WebhookSender:
        if self._sender is None:
            raise RuntimeError("the sandbox has not been started")
        return self._sender

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- sends ---------------------------------------------------------------------------------

    def caller(self, authorization: str | None) -> str | None:
        """Check the ``Authorization`` of a Messages or Dispatch API request; the application
        id of a JWT, None for the account's Basic credentials (else
        :class:`~botkit.sandbox.problems.ProblemError` 401, see
        :func:`~botkit.sandbox.auth.authenticate_messages`)."""
        return authenticate_messages(
            authorization,
            api_key=self.config.api_key,
            api_secret=self.config.api_secret,
            applications=self.applications,
        )

    def refusing_answer(self, channel: Channel, user: str) -> tuple[ProblemAnswer, Fault] | None:
        """The answer of the ``throttle`` (429) or ``error`` (5xx) fault a Messages or Dispatch
        API send to ``user`` meets now, with the fault (using it up), if any."""
        fault = self.refusing_fault(channel, user)
        if fault is None:
            return None
        if fault.kind == "throttle":
            return throttled(fault.retry_after), fault
        return internal_error(fault.status), fault

    def refusing_fault(self, channel: Channel, user: str) -> Fault | None:
        """The ``throttle`` or ``error`` fault a send to ``user`` meets now, if any (using it
        up)."""
        fault, used_up = self.faults.take(channel, user, REFUSING)
        if fault is not None and used_up:
            self.journal.record("fault", channel, user, action="used up", fault=fault.as_json())
        return fault

    def record_rejection(
        self,
        api: SubmissionApi | Literal["dispatch"],
        answer: ProblemAnswer,
        request_body: object,
        *,
        channel: Channel | None,
        user: str | None,
        fault: Fault | None = None,
    ) -> None:
        """Log a send the provider refused at once."""
        self.journal.record(
            "rejected",
            channel,
            user,
            api=api,
            http_status=answer.status,
            problem=answer.body,
            request=request_body,
            fault_id=fault.id if fault is not None else None,
        )

    def accept(
        self,
        submission: Submission,
        *,
        application_id: str | None = None,
        sms_message_ids: tuple[str, ...] = (),
        workflow_id: str | None = None,
    ) -> SandboxMessage:
        """Take a send that passed every synchronous check; its statuses follow in the
        background. ``application_id`` is the application of the JWT it came with (None for
        Basic credentials); ``workflow_id`` the Dispatch workflow it is a step of."""
        now = self.clock.now()
        record = SandboxMessage(
            message_uuid=sms_message_ids[0] if sms_message_ids else str(uuid.uuid4()),
            direction="outbound",
            channel=submission.channel,
            user=submission.to,
            bot=submission.sender,
            time=now,
            content=submission.content,
            api=submission.api,
            client_ref=submission.client_ref,
            webhook_url=submission.webhook_url,
            webhook_version=submission.webhook_version,
            application_id=application_id,
            sms_message_ids=sms_message_ids,
            workflow_id=workflow_id,
        )
        self._remember(record)
        self.journal.record(
            "outbound",
            record.channel,
            record.user,
            message_uuid=record.message_uuid,
            bot=record.bot,
            api=record.api,
            message=record.content,
            client_ref=record.client_ref,
            workflow_id=workflow_id,
            request=_without_secrets(submission.body),
        )
        refusal = delivery_refusal(
            submission, self._last_inbound.get((submission.channel, submission.to)), now
        )
        fault, used_up = None, False
        if refusal is None:
            fault, used_up = self.faults.take(submission.channel, submission.to, DELAYING)
            if fault is not None and fault.kind == "offline" and not used_up:
                self._offline.setdefault(fault.id, asyncio.Event())
            if fault is not None:
                self.journal.record(
                    "fault",
                    record.channel,
                    record.user,
                    action="used up" if used_up else "applied",
                    fault=fault.as_json(),
                    message_uuid=record.message_uuid,
                )
        self._spawn(self._outbound_life(record, refusal, fault, used_up))
        return record

    async def _outbound_life(
        self,
        record: SandboxMessage,
        refusal: ProviderCode | None,
        fault: Fault | None,
        fault_used_up: bool,
    ) -> None:
        await asyncio.sleep(self.config.delays.submitted)
        if refusal is not None:
            await self._set_status(record, "rejected", refusal)
            return
        await self._set_status(record, "submitted")
        if fault is not None and fault.kind == "offline":
            cleared = self._offline.get(fault.id)
            if fault_used_up or cleared is None:
                return
            await self._park(cleared)
        await asyncio.sleep(self.config.delays.delivered)
        if fault is not None and fault.kind == "undeliverable":
            await self._set_status(record, "undeliverable", provider_code(fault.code))
            return
        await self._delivered(record)

    async def _delivered(self, record: SandboxMessage) -> None:
        await self._set_status(record, "delivered", after=frozenset({"submitted"}))
        if self._reads(record.channel, record.user) and self.config.auto_read:
            await asyncio.sleep(self.config.delays.read)
            await self._set_status(record, "read", after=frozenset({"delivered"}))

    async def _park(self, cleared: asyncio.Event, timeout: float | None = None) -> None:
        """Wait for ``cleared`` (an ``offline`` fault cleared, a workflow woken), at most
        ``timeout`` seconds, without holding up :meth:`settle`."""
        task = asyncio.current_task()
        if task is not None:
            self._parked.add(task)
        try:
            async with asyncio.timeout(timeout):
                await cleared.wait()
        except TimeoutError:
            pass
        finally:
            if task is not None:
                self._parked.discard(task)

    async def _set_status(
        self,
        record: SandboxMessage,
        status: str,
        error: ProviderCode | None = None,
        *,
        after: frozenset[str] | None = None,
    ) -> bool:
        """Move ``record`` to ``status`` (only from one of ``after`` when given), log it and
        post it to the bot; False when the record was not in a state to move."""
        async with record.lock:
            if after is not None and record.status not in after:
                return False
            now = self._record_status(record, status, error)
            if record.api == "sms":
                await self._post_receipt(record, status, error, now)
            else:
                await self._post_status(record, status, error, now)
            workflow = self.workflows.get(record.workflow_id or "")
            if workflow is not None:
                self._wake(workflow)  # after the status went out, so the bot sees it first
            return True

    async def _post_status(
        self, record: SandboxMessage, status: str, error: ProviderCode | None, now: float
    ) -> None:
        application = self._application_of(record)
        messages = application.messages
        version = record.webhook_version or (messages.version if messages else "v1")
        if record.workflow_id is not None:
            version = "v0.1"  # Dispatch statuses are v0.1's, whatever the application says
        url = record.webhook_url or (messages.status_url if messages else None)
        payload = status_payload(
            version,
            message_uuid=record.message_uuid,
            channel=record.channel,
            user=record.user,
            bot=record.bot,
            status=status,
            timestamp=now,
            client_ref=record.client_ref,
            error=error,
        )
        if record.workflow_id is not None:
            payload["_links"] = _workflow_links(record.workflow_id)
        await self._webhooks.post_messages_webhook(
            "status",
            url,
            payload,
            application_id=application.id,
            channel=record.channel,
            user=record.user,
            message_uuid=record.message_uuid,
        )

    async def _post_receipt(
        self, record: SandboxMessage, status: str, error: ProviderCode | None, now: float
    ) -> None:
        if status not in _DLR or record.webhook_url is None:
            return
        dlr_status, err_code = _DLR[status]
        if error is not None:
            err_code = _DLR_ERR_CODES.get(error.code, err_code)
        for message_id in record.sms_message_ids:
            params = sms_dlr_params(
                message_id=message_id,
                user=record.user,
                sender=record.bot,
                status=dlr_status,
                err_code=err_code,
                api_key=self.config.api_key,
                client_ref=record.client_ref,
                timestamp=now,
            )
            await self._webhooks.post_sms_receipt(
                record.webhook_url, params, user=record.user, message_uuid=record.message_uuid
            )

    def _application_of(self, record: SandboxMessage) -> Application:
        if record.application_id is not None:
            application = self.applications.get(record.application_id)
            if application is not None:
                return application
        return self.applications.linked_to(record.bot)

    def has_written(self, channel: Channel, user: str) -> bool:
        """True when the account already sent ``user`` a message on ``channel``."""
        found = self._conversations.get((channel, user), ())
        return any(message.direction == "outbound" for message in found)

    def _remember(self, record: SandboxMessage) -> None:
        self.messages[record.message_uuid] = record
        self._conversations.setdefault((record.channel, record.user), []).append(record)

    # --- Dispatch workflows ----------------------------------------------------------------------

    def start_workflow(
        self,
        steps: tuple[Step, ...],
        *,
        application_id: str | None,
        request: dict[str, Any] | None = None,
    ) -> Workflow:
        """Take a Dispatch workflow that passed every synchronous check (``request`` is its
        body, for the log): its first step goes out now, the others as
        :mod:`~botkit.sandbox.workflow` says, then its final report."""
        workflow = Workflow(str(uuid.uuid4()), steps, application_id, self.clock.now())
        self.workflows[workflow.dispatch_uuid] = workflow
        first = steps[0].submission
        self.journal.record(
            "workflow",
            first.channel,
            first.to,
            dispatch_uuid=workflow.dispatch_uuid,
            action="accepted",
            workflow=workflow.view(),
            request=request,
        )
        task = self._spawn(self._workflow_life(workflow))
        self._workflow_tasks[workflow.dispatch_uuid] = task
        task.add_done_callback(lambda _: self._workflow_tasks.pop(workflow.dispatch_uuid, None))
        return workflow

    async def _workflow_life(self, workflow: Workflow) -> None:
        sent: list[SandboxMessage] = []
        for index, step in enumerate(workflow.steps):
            record = self.accept(
                step.submission,
                application_id=workflow.application_id,
                workflow_id=workflow.dispatch_uuid,
            )
            workflow.message_uuids.append(record.message_uuid)
            sent.append(record)
            outcome = await self._step_outcome(workflow, step, record)
            last = index == len(workflow.steps) - 1
            if outcome == "met" or last:
                workflow.status = "completed" if outcome == "met" else "error"
                break
            self.journal.record(
                "workflow",
                record.channel,
                record.user,
                dispatch_uuid=workflow.dispatch_uuid,
                action="next step",
                step=index + 1,
                message_uuid=record.message_uuid,
                reason=step.why_next(outcome, record.status),
            )
        await self._post_final_report(workflow, sent)

    async def _step_outcome(
        self, workflow: Workflow, step: Step, record: SandboxMessage
    ) -> StepOutcome:
        """Wait (parked, on the sandbox clock) until the step's message meets its condition,
        fails, or runs out of time."""
        deadline = None if step.expiry_seconds is None else self.clock.now() + step.expiry_seconds
        while True:
            workflow.changed.clear()
            now = self.clock.now()
            expired = deadline is not None and now >= deadline
            outcome = step.outcome(record.status, expired=expired)
            if outcome is not None:
                return outcome
            await self._park(workflow.changed, None if deadline is None else deadline - now)

    async def _post_final_report(self, workflow: Workflow, sent: list[SandboxMessage]) -> None:
        last = sent[-1]
        status: Literal["completed", "error"] = (
            "completed" if workflow.status == "completed" else "error"
        )
        payload = final_report(
            workflow,
            [SentStep(r.message_uuid, r.channel, r.status) for r in sent],
            status,
            self.clock.now(),
        )
        self.journal.record(
            "workflow",
            last.channel,
            last.user,
            dispatch_uuid=workflow.dispatch_uuid,
            action="ended",
            status=status,
            report=payload,
        )
        application = self._application_of(last)
        messages = application.messages
        await self._webhooks.post_messages_webhook(
            "final-report",
            messages.status_url if messages else None,
            payload,
            application_id=application.id,
            channel=last.channel,
            user=last.user,
            message_uuid=workflow.dispatch_uuid,
        )

    def _wake(self, workflow: Workflow) -> None:
        """Let ``workflow`` look at its step again; it counts as busy for :meth:`settle` at
        once, so a settle that follows waits for what the workflow does next."""
        workflow.changed.set()
        task = self._workflow_tasks.get(workflow.dispatch_uuid)
        if task is not None:
            self._parked.discard(task)

    def _clock_moved(self) -> None:
        for workflow in self.workflows.values():
            if workflow.status == "running":
                self._wake(workflow)

    # --- users ---------------------------------------------------------------------------------

    def user_writes(self, channel: Channel, user: str, message: UserMessage) -> SandboxMessage:
        """A simulated user sends ``message``: record it, open the window, post the webhook.

        Raises :class:`~botkit.sandbox.users.UserMessageError` for an address that is not a
        user of ``channel``.
        """
        check_user(channel, user)
        now = self.clock.now()
        record = SandboxMessage(
            message_uuid=str(uuid.uuid4()),
            direction="inbound",
            channel=channel,
            user=user,
            bot=self.config.bot_address(channel),
            time=now,
            content=message.content,
        )
        self._remember(record)
        self._last_inbound[(channel, user)] = now
        self.journal.record(
            "inbound",
            channel,
            user,
            message_uuid=record.message_uuid,
            bot=record.bot,
            message=record.content,
            profile_name=message.profile_name,
            context=message.context,
        )
        lock = self._inbound_order.setdefault((channel, user), asyncio.Lock())
        self._spawn(self._post_inbound(record, message, lock))
        return record

    async def _post_inbound(
        self, record: SandboxMessage, message: UserMessage, lock: asyncio.Lock
    ) -> None:
        async with lock:
            application = self.applications.linked_to(record.bot)
            messages = application.messages
            payload = inbound_payload(
                messages.version if messages else "v1",
                message,
                message_uuid=record.message_uuid,
                channel=record.channel,
                user=record.user,
                bot=record.bot,
                timestamp=record.time,
            )
            await self._webhooks.post_messages_webhook(
                "inbound",
                messages.inbound_url if messages else None,
                payload,
                application_id=application.id,
                channel=record.channel,
                user=record.user,
                message_uuid=record.message_uuid,
            )

    def mark_read(self, record: SandboxMessage) -> None:
        """The bot marks the user's inbound message read (WhatsApp's blue ticks): the message's
        status becomes ``read`` and the log records it."""
        self._record_status(record, "read", None)

    def _record_status(
        self, record: SandboxMessage, status: str, error: ProviderCode | None
    ) -> float:
        """Set ``record``'s status now and log it; returns the time it was set."""
        now = self.clock.now()
        record.status = status
        record.statuses.append(
            {"status": status, "at": iso_time(now), "time": now, "error": error_json(error)}
        )
        self.journal.record(
            "status",
            record.channel,
            record.user,
            message_uuid=record.message_uuid,
            bot=record.bot,
            status=status,
            error=error_json(error),
        )
        return now

    def user_reads(self, channel: Channel, user: str) -> list[str]:
        """The user reads the conversation: every ``delivered`` message to them turns
        ``read`` (on channels with read receipts, unless an ``unread`` fault says the user
        leaves them unread). Returns the uuids of those messages."""
        if not self._reads(channel, user):
            return []
        delivered = [
            record
            for record in self._conversations.get((channel, user), [])
            if record.direction == "outbound" and record.status == "delivered"
        ]
        for record in delivered:
            self._spawn(self._set_status(record, "read", after=frozenset({"delivered"})))
        return [record.message_uuid for record in delivered]

    def _reads(self, channel: Channel, user: str) -> bool:
        """Whether the user's messages on ``channel`` can turn ``read``."""
        return channel in READ_RECEIPT_CHANNELS and not self.faults.holds(channel, user, "unread")

    # --- faults and clock ------------------------------------------------------------------------

    def add_fault(self, **spec: Any) -> Fault:
        """Set a fault (the keyword arguments of :meth:`FaultBook.add`)."""
        fault = self.faults.add(**spec)
        self.journal.record("fault", fault.channel, fault.user, action="set", fault=fault.as_json())
        return fault

    def clear_fault(self, fault_id: str) -> Fault | None:
        """Remove a fault; an ``offline`` one delivers the messages it held."""
        fault = self.faults.remove(fault_id)
        if fault is None:
            return None
        self.journal.record(
            "fault", fault.channel, fault.user, action="cleared", fault=fault.as_json()
        )
        cleared = self._offline.pop(fault_id, None)
        if cleared is not None:
            cleared.set()
        return fault

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox clock forward by ``seconds`` (positive)."""
        self.clock.advance(seconds)
        self.journal.record(
            "clock", None, None, advanced_seconds=seconds, offset_seconds=self.clock.offset
        )

    def clock_json(self) -> dict[str, Any]:
        now = self.clock.now()
        return {"now": iso_time(now), "time": now, "offset_seconds": self.clock.offset}

    # --- views ---------------------------------------------------------------------------------

    def window(self, channel: Channel, user: str) -> dict[str, Any] | None:
        """Whether the 24-hour window is open, on the channels that have one."""
        if channel not in WINDOW_CHANNELS:
            return None
        last = self._last_inbound.get((channel, user))
        closes = None if last is None else last + WINDOW_SECONDS
        return {
            "open": closes is not None and self.clock.now() < closes,
            "last_inbound_at": None if last is None else iso_time(last),
            "closes_at": None if closes is None else iso_time(closes),
        }

    def conversation(self, channel: Channel, user: str) -> dict[str, Any]:
        """One conversation: its messages with their statuses, and every event of it."""
        return {
            "channel": channel.value,
            "user": user,
            "bot": self.config.bot_address(channel),
            "window": self.window(channel, user),
            "messages": [r.view() for r in self._conversations.get((channel, user), [])],
            "events": [e.as_json() for e in self.journal.events(channel=channel, user=user)],
            "last_seq": self.journal.last_seq,
        }

    def conversations(self) -> list[dict[str, Any]]:
        """A summary of every conversation, oldest first."""
        keys = list(self._conversations)
        keys += [key for key in self.journal.conversations() if key not in self._conversations]
        out = []
        for channel, user in keys:
            records = self._conversations.get((channel, user), [])
            events = self.journal.events(channel=channel, user=user)
            out.append(
                {
                    "channel": channel.value,
                    "user": user,
                    "bot": self.config.bot_address(channel),
                    "window": self.window(channel, user),
                    "messages": len(records),
                    "last_message": records[-1].view() if records else None,
                    "last_seq": events[-1].seq if events else None,
                }
            )
        return out


_SECRET_FIELDS = frozenset({"api_secret", "sig"})


def _without_secrets(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in _SECRET_FIELDS}


SANDBOX = web.AppKey("sandbox", Sandbox)
"""The app's :class:`Sandbox`."""
