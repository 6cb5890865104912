"""The JSON body of ``POST /v0.1/dispatch``: a message and its fallbacks as one failover workflow.

``{"template": "failover", "workflow": [step, ...]}``, each step the Messages API v0.1 body of
its message (:func:`botkit.vonage.outbound.messages_v0.body`), template parameters in the
``[{"default": ...}]`` form the Dispatch API takes, and every step but the last carrying
``failover: {condition_status, expiry_time}``: the status its message must reach, and the
seconds it has to, before the next step goes.
"""

from __future__ import annotations

from typing import Any, Final

from botkit.outbound import Outbound
from botkit.vonage.outbound import check_range, messages_v0

EXPIRY_MIN: Final = 15
EXPIRY_MAX: Final = 86_400
"""Seconds a step may wait for its condition (the spec's ``expiry_time`` range)."""


def body(message: Outbound) -> dict[str, Any]:
    """The ``POST /v0.1/dispatch`` JSON body that sends ``message`` and then, as the provider
    decides, each message of its :attr:`~botkit.outbound.Outbound.workflow`.

    Each step's ``client_ref`` is its message's own, so statuses find their way back and a
    repeated request carries the same references. Raises what
    :func:`~botkit.vonage.outbound.messages_v0.body` raises for a step, and
    :class:`ValueError` for a ``within`` outside :data:`EXPIRY_MIN`..:data:`EXPIRY_MAX`
    seconds.
    """
    first = message.model_copy(update={"workflow": ()})
    steps = [first, *(step.message for step in message.workflow)]
    workflow = [_step(step) for step in steps]
    for position, (wire, step) in enumerate(zip(workflow, message.workflow, strict=False), 1):
        check_range(step.within, EXPIRY_MIN, EXPIRY_MAX, f"failover step {position}'s within (s)")
        wire["failover"] = {"condition_status": step.when, "expiry_time": step.within}
    return {"template": "failover", "workflow": workflow}


def _step(message: Outbound) -> dict[str, Any]:
    wire = messages_v0.body(message)
    content = wire["message"]["content"]
    template = content.get("template")
    if template is not None and "parameters" in template:
        template["parameters"] = [{"default": value} for value in template["parameters"]]
    return wire
