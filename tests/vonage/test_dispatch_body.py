"""The Dispatch API body: a message and its fallbacks as one failover workflow, valid against the
shipped Dispatch spec."""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema
import pytest

from botkit.events import Channel, Image, Text
from botkit.outbound import Outbound, Template, WorkflowStep
from botkit.vonage.openapi import load_spec, to_json_schema
from botkit.vonage.outbound import UnsupportedContent
from botkit.vonage.outbound.dispatch import body

USER = "447700900001"
BOT = "447700900000"
VIBER_SERVICE = "16273"


@cache
def create_workflow() -> Any:
    spec = load_spec("dispatch")
    schema = to_json_schema(spec, {"$ref": "#/components/schemas/createWorkflow"})
    return jsonschema.Draft202012Validator(schema)


def message(channel: Channel, content: Any, **extra: Any) -> Outbound:
    sender = VIBER_SERVICE if channel is Channel.VIBER else BOT
    return Outbound(channel=channel, to=USER, sender=sender, content=content, **extra)


def reminder() -> Outbound:
    template = Template(name="appointment_reminder", parameters=("Ada", "10:00"), locale="en_GB")
    first = message(Channel.WHATSAPP, template, client_ref="first-ref")
    sms = message(Channel.SMS, Text(text="Reminder: 10:00 tomorrow"), client_ref="sms-ref")
    return first.model_copy(
        update={"workflow": (WorkflowStep(when="read", within=600, message=sms),)}
    )


def test_a_whatsapp_template_then_sms_is_a_valid_failover_workflow() -> None:
    wire = body(reminder())

    create_workflow().validate(wire)
    assert wire["template"] == "failover"
    first, last = wire["workflow"]
    assert first["failover"] == {"condition_status": "read", "expiry_time": 600}
    assert "failover" not in last
    assert first["message"]["content"]["template"] == {
        "name": "appointment_reminder",
        "parameters": [{"default": "Ada"}, {"default": "10:00"}],
    }
    assert first["message"]["whatsapp"] == {"policy": "deterministic", "locale": "en_GB"}
    assert first["to"] == {"type": "whatsapp", "number": USER}
    assert last["to"] == {"type": "sms", "number": USER}
    assert last["message"]["content"] == {"type": "text", "text": "Reminder: 10:00 tomorrow"}
    assert [step["client_ref"] for step in wire["workflow"]] == ["first-ref", "sms-ref"]


def test_three_steps_carry_a_condition_on_each_but_the_last() -> None:
    viber = message(Channel.VIBER, Image(url="https://example.com/a.png"))
    sms = message(Channel.SMS, Text(text="see the picture"))
    whatsapp = message(Channel.WHATSAPP, Text(text="a picture for you"))
    steps = (
        WorkflowStep(when="delivered", within=15, message=viber),
        WorkflowStep(when="delivered", within=86_400, message=sms),
    )

    wire = body(whatsapp.model_copy(update={"workflow": steps}))

    create_workflow().validate(wire)
    assert [step.get("failover") for step in wire["workflow"]] == [
        {"condition_status": "delivered", "expiry_time": 15},
        {"condition_status": "delivered", "expiry_time": 86_400},
        None,
    ]
    assert wire["workflow"][1]["from"] == {"type": "viber_service_msg", "id": VIBER_SERVICE}


@pytest.mark.parametrize("within", [14, 86_401])
def test_an_expiry_outside_the_provider_range_is_refused_naming_the_step(within: int) -> None:
    first = reminder()
    step = first.workflow[0].model_copy(update={"within": within})

    with pytest.raises(ValueError, match="failover step 1's within"):
        body(first.model_copy(update={"workflow": (step,)}))


def test_a_step_v0_1_cannot_carry_is_refused() -> None:
    picture = message(Channel.SMS, Image(url="https://example.com/a.png"))
    first = reminder()
    step = first.workflow[0].model_copy(update={"message": picture})

    with pytest.raises(UnsupportedContent):
        body(first.model_copy(update={"workflow": (step,)}))
