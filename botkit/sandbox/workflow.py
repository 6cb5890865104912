"""A Dispatch API failover workflow as the sandbox plays it: its steps, where it stands, and its
final report.

A workflow sends its steps one at a time. A step with a ``failover`` condition waits for its
message to reach ``condition_status`` (``delivered``, which ``read`` also satisfies, or
``read``) within ``expiry_time`` seconds of the sandbox clock: reached, the workflow ends
``completed``; ``rejected`` or ``undeliverable`` first, or the time running out, sends the next
step at once. The last step has no condition: ``delivered`` (or ``read``) ends the workflow
``completed``, ``rejected`` or ``undeliverable`` ends it ``error``. Then one final report goes
to the status webhook. :class:`~botkit.sandbox.state.Sandbox` runs the life; this module holds
what the life works with.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

from botkit.events import Channel
from botkit.sandbox.journal import iso_time
from botkit.sandbox.submissions import V0_WIRE, Submission
from botkit.sandbox.webhooks import SMS_PRICE

Condition = Literal["delivered", "read"]
StepOutcome = Literal["met", "failed", "expired"]
WorkflowStatus = Literal["running", "completed", "error"]

FAILED_STATUSES = frozenset({"rejected", "undeliverable"})
_REACHED: dict[Condition, frozenset[str]] = {
    "delivered": frozenset({"delivered", "read"}),
    "read": frozenset({"read"}),
}
_PRICED = frozenset({"sms", "mms"})


@dataclass(frozen=True)
class Step:
    """One message of a workflow and, on every step but the last, its failover condition."""

    submission: Submission
    condition: Condition | None = None
    expiry_seconds: int | None = None

    def outcome(self, status: str | None, *, expired: bool) -> StepOutcome | None:
        """What the step's message status (and the time) say: the condition was ``met``, the
        message ``failed``, the time ``expired``, or None while it may still go either way.
        The last step's condition is delivery, and it never expires."""
        if status in _REACHED[self.condition or "delivered"]:
            return "met"
        if status in FAILED_STATUSES:
            return "failed"
        if expired and self.expiry_seconds is not None:
            return "expired"
        return None

    def why_next(self, outcome: StepOutcome, status: str | None) -> str:
        """Why the next step goes, in words for the journal."""
        if outcome == "expired":
            return f"not {self.condition} within {self.expiry_seconds} s (status: {status})"
        return f"the message was {status}"


@dataclass(eq=False)
class Workflow:
    """One accepted workflow: its steps, the message of each step sent so far, its status."""

    dispatch_uuid: str
    steps: tuple[Step, ...]
    application_id: str | None
    accepted_at: float
    message_uuids: list[str] = field(default_factory=list)
    status: WorkflowStatus = "running"
    changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    """Set when one of its messages changes status or the clock moves: time to look again."""

    def view(self) -> dict[str, Any]:
        """The workflow as the control API shows it."""
        return {
            "dispatch_uuid": self.dispatch_uuid,
            "status": self.status,
            "accepted_at": iso_time(self.accepted_at),
            "steps": [
                {
                    "channel": step.submission.channel.value,
                    "to": step.submission.to,
                    "condition_status": step.condition,
                    "expiry_time": step.expiry_seconds,
                    "message_uuid": (
                        self.message_uuids[i] if i < len(self.message_uuids) else None
                    ),
                }
                for i, step in enumerate(self.steps)
            ],
        }


@dataclass(frozen=True)
class SentStep:
    """A step's message as the final report lists it."""

    message_uuid: str
    channel: Channel
    status: str | None


def final_report(
    workflow: Workflow, sent: list[SentStep], status: Literal["completed", "error"], at: float
) -> dict[str, Any]:
    """The ``final-report`` callback: ``{dispatch_uuid, template, status, timestamp, usage,
    _links.messages[]}``, each message with its channel (v0.1's name), latest status and, for
    a delivered SMS, its price; ``usage`` is the total."""
    messages = []
    total = 0.0
    for step in sent:
        wire = V0_WIRE[step.channel]
        entry: dict[str, Any] = {
            "message_uuid": step.message_uuid,
            "href": f"/v0.1/messages/{step.message_uuid}",
            "channel": wire,
        }
        if wire in _PRICED and step.status in ("delivered", "read"):
            entry["usage"] = {"currency": "EUR", "price": SMS_PRICE}
            total += float(SMS_PRICE)
        if step.status is not None:
            entry["status"] = step.status
        messages.append(entry)
    return {
        "dispatch_uuid": workflow.dispatch_uuid,
        "template": "failover",
        "status": status,
        "timestamp": iso_time(at),
        "usage": {"price": f"{total:.4f}", "currency": "EUR"},
        "_links": {"messages": messages},
    }


def workflow_links(dispatch_uuid: str) -> dict[str, Any]:
    """``_links`` of a status of a workflow's message."""
    return {"workflow": {"dispatch_uuid": dispatch_uuid, "href": f"/workflows/{dispatch_uuid}"}}
