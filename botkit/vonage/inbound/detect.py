"""One entry point for every JSON webhook of the Messages and Dispatch APIs.

The provider posts Messages API v1, v0.1 and Dispatch webhooks in whichever format the
application (or the message) asked for, so a single route takes them all and tells them apart
by shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from botkit.errors import InvalidPayload, Problem
from botkit.events import Event, EventKind, WebhookFormat
from botkit.vonage.inbound import dispatch, messages_v0, messages_v1
from botkit.vonage.inbound.problems import require_object

__all__ = ["detect", "parse_messages_webhook"]

_FORMAT_NAME = "Messages API"


class _Parser(Protocol):
    def __call__(self, payload: object, *, now: datetime) -> Event: ...


_PARSERS: Mapping[tuple[WebhookFormat, EventKind], _Parser] = {
    (WebhookFormat.V1, EventKind.MESSAGE): messages_v1.parse_inbound,
    (WebhookFormat.V1, EventKind.STATUS): messages_v1.parse_status,
    (WebhookFormat.V0_1, EventKind.MESSAGE): messages_v0.parse_inbound,
    (WebhookFormat.V0_1, EventKind.STATUS): messages_v0.parse_status,
    (WebhookFormat.DISPATCH, EventKind.STATUS): dispatch.parse_status,
    (WebhookFormat.DISPATCH, EventKind.WORKFLOW): dispatch.parse_final_report,
}


def detect(payload: Mapping[str, Any]) -> tuple[WebhookFormat, EventKind]:
    """Which format and which kind of event a webhook payload is, judged by its shape alone.

    In order: ``dispatch_uuid`` with ``template`` is a Dispatch final report (``WORKFLOW``);
    ``_links.workflow`` is a Dispatch status; a top-level string ``channel`` is v1; ``to`` or
    ``from`` objects, or a ``message`` object with ``content``, are v0.1. A v1 or v0.1 payload
    with a ``status`` field is a ``STATUS``, otherwise a ``MESSAGE``. Raises
    :class:`~botkit.errors.InvalidPayload` when the payload has none of these shapes.
    """
    if "dispatch_uuid" in payload and "template" in payload:
        return WebhookFormat.DISPATCH, EventKind.WORKFLOW
    links = payload.get("_links")
    if isinstance(links, Mapping) and "workflow" in links:
        return WebhookFormat.DISPATCH, EventKind.STATUS
    kind = EventKind.STATUS if "status" in payload else EventKind.MESSAGE
    if isinstance(payload.get("channel"), str):
        return WebhookFormat.V1, kind
    message = payload.get("message")
    if (
        isinstance(payload.get("to"), Mapping)
        or isinstance(payload.get("from"), Mapping)
        or (isinstance(message, Mapping) and "content" in message)
    ):
        return WebhookFormat.V0_1, kind
    raise InvalidPayload(
        Problem(
            "channel",
            "a string naming the channel (Messages API v1), or `to` and `from` objects (v0.1)",
        ),
        format_name=_FORMAT_NAME,
    )


def parse_messages_webhook(payload: object, *, now: datetime) -> Event:
    """The :class:`~botkit.events.Event` of any Messages API (v1 or v0.1) or Dispatch webhook.

    ``payload`` is the decoded JSON body and ``now`` the time it was read, by the app's clock
    (timestamps more than a day after it are refused, so a sandbox whose clock was moved
    forward is judged by its own time). The format and kind come from :func:`detect`; the
    matching parser of :mod:`messages_v1`, :mod:`messages_v0` or :mod:`dispatch` does the rest.
    Whatever ``payload`` is, the only exception raised is :class:`~botkit.errors.InvalidPayload`.
    """
    data = require_object(payload, _FORMAT_NAME)
    return _PARSERS[detect(data)](data, now=now)
