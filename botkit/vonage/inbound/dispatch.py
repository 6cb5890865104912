"""Dispatch API webhooks: per-message statuses and the workflow's final report.

A Dispatch status is a Messages API v0.1 status plus ``_links.workflow {dispatch_uuid, href}``.
The final report closes a failover workflow: ``{dispatch_uuid, template, status, timestamp,
usage, _links.messages[]}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from botkit.errors import InvalidPayload, Problem
from botkit.events import (
    Channel,
    Event,
    EventKind,
    WebhookFormat,
    WorkflowInfo,
    WorkflowMessage,
)
from botkit.vonage.inbound import messages_v0
from botkit.vonage.inbound.channels import channel_field
from botkit.vonage.inbound.envelope import Webhook
from botkit.vonage.inbound.problems import make_event, require_object, validate
from botkit.vonage.inbound.values import MessageId, Timestamp, one_of
from botkit.vonage.inbound.wire import WireModel, WireUsage

STATUS = Webhook("dispatch message status", WebhookFormat.DISPATCH, EventKind.STATUS)
FINAL_REPORT = Webhook("dispatch final report", WebhookFormat.DISPATCH, EventKind.WORKFLOW)

_SPEC_CHANNELS = ("messenger", "viber_service_msg", "sms", "whatsapp", "mms")


class _Workflow(WireModel):
    dispatch_uuid: MessageId
    href: str | None = None


class _StatusLinks(WireModel):
    workflow: _Workflow


class _Status(WireModel):
    links: _StatusLinks = Field(alias="_links")


class _LinkedMessage(WireModel):
    message_uuid: MessageId
    href: str | None = None
    # The published enum spells Viber ``viber_sevice_msg``; accepted should it reach the wire.
    channel: (
        Annotated[Channel, channel_field(_SPEC_CHANNELS, {"viber_sevice_msg": Channel.VIBER})]
        | None
    ) = None
    usage: WireUsage | None = None
    status: str | None = None


class _ReportLinks(WireModel):
    messages: list[_LinkedMessage]


class _FinalReport(WireModel):
    dispatch_uuid: MessageId
    template: str | None = None
    status: Annotated[str, one_of("completed", "error")]
    timestamp: Timestamp
    usage: WireUsage | None = None
    links: _ReportLinks = Field(alias="_links")


def parse_status(payload: object, *, now: datetime) -> Event:
    """A Dispatch message-status webhook as a ``STATUS`` event.

    Parsed as a v0.1 status (see :func:`botkit.vonage.inbound.messages_v0.parse_status`), with
    ``format`` ``DISPATCH`` and ``workflow`` naming ``_links.workflow.dispatch_uuid``. ``now``
    is the time the webhook was read. Raises :class:`~botkit.errors.InvalidPayload` (and
    nothing else) for an impossible payload.
    """
    data = require_object(payload, STATUS.name)
    links = validate(_Status, data, "", STATUS.name).links
    workflow = WorkflowInfo(workflow_id=links.workflow.dispatch_uuid)
    return messages_v0.status_event(data, STATUS, now=now, workflow=workflow)


def parse_final_report(payload: object, *, now: datetime) -> Event:
    """A Dispatch final report as a ``WORKFLOW`` event.

    ``message_id`` is ``dispatch_uuid``; ``user`` and ``bot`` are None. ``channel`` is the
    channel of the last message in ``_links.messages`` that names one (the message the workflow
    ended on); ``workflow`` carries ``status`` as ``outcome`` and every linked message. Viber may
    be spelled ``viber_service_msg``, ``viber_service`` or (as in the published enum)
    ``viber_sevice_msg``. ``now`` is the time the webhook was read. Raises
    :class:`~botkit.errors.InvalidPayload` (and nothing else) for an impossible payload,
    including one whose messages name no channel.
    """
    data = require_object(payload, FINAL_REPORT.name)
    wire = validate(_FinalReport, data, "", FINAL_REPORT.name, now=now)
    channels = [message.channel for message in wire.links.messages if message.channel]
    if not channels:
        raise InvalidPayload(
            Problem("_links.messages", "an array of the workflow's messages, naming their channel"),
            format_name=FINAL_REPORT.name,
        )
    messages = tuple(
        WorkflowMessage(message_id=m.message_uuid, channel=m.channel, status=m.status)
        for m in wire.links.messages
    )
    return make_event(
        FINAL_REPORT.name,
        kind=FINAL_REPORT.kind,
        format=FINAL_REPORT.format,
        channel=channels[-1],
        user=None,
        bot=None,
        message_id=wire.dispatch_uuid,
        timestamp=wire.timestamp,
        raw=data,
        usage=wire.usage.event_usage() if wire.usage else None,
        workflow=WorkflowInfo(
            workflow_id=wire.dispatch_uuid,
            outcome="completed" if wire.status == "completed" else "error",
            messages=messages,
        ),
    )
