"""Message options as botkit builds them, sent to the sandbox: it takes what the provider takes
(Viber video with its details, MMS between American numbers with a ttl, a per-message status
URL) and refuses what the provider refuses, naming the parameter."""

from __future__ import annotations

from typing import Any

import pytest

from botkit.events import Channel, Image, Text, Video
from botkit.outbound import (
    Button,
    ButtonTemplate,
    ContactCard,
    Contacts,
    GenericElement,
    GenericTemplate,
    MmsOptions,
    Outbound,
    OutboundContent,
    ViberOptions,
)
from botkit.vonage.outbound import messages_v0
from botkit.vonage.outbound.messages_v1 import body
from tests.sandbox.harness import (
    MMS_BOT,
    PAGE,
    PSID,
    US_USER,
    VIBER_SERVICE,
    WA_BOT,
    WA_USER,
    Harness,
)

VIDEO = Video(
    url="https://example.com/tour.mp4", thumb_url="https://example.com/tour.jpg", caption="Tour"
)


def sent(channel: Channel, content: OutboundContent, **fields: Any) -> dict[str, Any]:
    senders = {Channel.VIBER: VIBER_SERVICE, Channel.MMS: MMS_BOT, Channel.WHATSAPP: WA_BOT}
    fields.setdefault("to", US_USER if channel is Channel.MMS else WA_USER)
    fields.setdefault("sender", senders[channel])
    return body(Outbound(channel=channel, content=content, **fields))


async def refused(harness: Harness, request: dict[str, Any]) -> tuple[str, list[str]]:
    status, answer, _ = await harness.send(request)
    assert status == 422, answer
    names = [p["name"] for p in answer.get("invalid_parameters", [])]
    return answer["title"], names


async def test_a_viber_video_with_its_details_is_delivered(harness: Harness) -> None:
    details = ViberOptions(duration=42, file_size=3)

    message_uuid = await harness.accepted(sent(Channel.VIBER, VIDEO, viber=details))

    statuses = await harness.statuses(message_uuid, 3)
    assert [s.json["status"] for s in statuses] == ["submitted", "delivered", "read"]
    assert harness.sandbox.messages[message_uuid].content["thumb_url"] == VIDEO.thumb_url


async def test_a_viber_promotion_is_refused_until_the_account_wrote_to_the_user(
    harness: Harness,
) -> None:
    promotion = sent(Channel.VIBER, Text(text="50% off"), viber=ViberOptions(category="promotion"))

    title, names = await refused(harness, promotion)
    assert (title, names) == ("Invalid channel parameters", ["viber_service.category"])

    first = sent(Channel.VIBER, Text(text="Your order"), viber=ViberOptions(category="transaction"))
    await harness.accepted(first)
    await harness.accepted(promotion)


async def test_mms_between_american_numbers_with_a_ttl_is_delivered(harness: Harness) -> None:
    image = Image(url="https://example.com/cat.jpg", caption="A cat")

    message_uuid = await harness.accepted(sent(Channel.MMS, image, mms=MmsOptions(ttl=600)))

    statuses = await harness.statuses(message_uuid, 2)
    assert [s.json["status"] for s in statuses] == ["submitted", "delivered"]


@pytest.mark.parametrize(
    ("fields", "title"),
    [
        ({"to": WA_USER}, "Invalid recipient"),
        ({"sender": WA_BOT}, "Invalid sender"),
        ({"to": "14165550123"}, "Invalid recipient"),
    ],
)
async def test_mms_outside_the_united_states_is_refused(
    harness: Harness, fields: dict[str, Any], title: str
) -> None:
    request = sent(Channel.MMS, Image(url="https://example.com/cat.jpg"), **fields)

    status, answer, _ = await harness.send(request)

    assert (status, answer["title"]) == (422, title)
    assert "United States" in answer["detail"]


async def test_an_mms_ttl_out_of_range_is_refused_naming_it(harness: Harness) -> None:
    request = {**sent(Channel.MMS, Image(url="https://example.com/cat.jpg")), "ttl": 120}

    _, names = await refused(harness, request)

    assert names == ["ttl"]


async def test_statuses_go_to_the_messages_own_webhook_url(harness: Harness) -> None:
    await harness.user_says("whatsapp", WA_USER, {"text": "hi"})
    own = harness.bot.url("/webhooks/order-17")

    message_uuid = await harness.accepted(
        sent(Channel.WHATSAPP, Text(text="On its way"), webhook_url=own)
    )

    await harness.sandbox.settle()
    arrived = await harness.bot.wait_for("/webhooks/order-17", 3)
    assert [r.json["status"] for r in arrived] == ["submitted", "delivered", "read"]
    assert {r.json["message_uuid"] for r in arrived} == {message_uuid}
    assert not [
        r for r in harness.bot.at("/webhooks/status") if r.json.get("message_uuid") == message_uuid
    ]


# --- contact cards and Messenger templates ----------------------------------------------------

CARDS = Contacts(cards=(ContactCard(name="Ann Lee", phones=("+44 20 7946 0000",)),))
CAROUSEL = GenericTemplate(
    elements=(
        GenericElement(
            title="Margherita",
            buttons=(Button(id="order-1", title="Order"), Button(id="https://e.com", title="Menu")),
        ),
    )
)
ASK = ButtonTemplate(text="What next?", buttons=(Button(id="track", title="Track my order"),))


async def first_status(harness: Harness, message_uuid: str) -> dict[str, Any]:
    received = await harness.statuses(message_uuid, 1)
    status: dict[str, Any] = received[0].json
    return status


async def test_contact_cards_reach_a_whatsapp_user(harness: Harness) -> None:
    await harness.user_says("whatsapp", WA_USER, {"text": "who do I call?"})

    message_uuid = await harness.accepted(sent(Channel.WHATSAPP, CARDS))

    assert (await first_status(harness, message_uuid))["status"] == "submitted"
    custom = harness.sandbox.messages[message_uuid].content["custom"]
    assert custom["contacts"][0]["name"] == {"formatted_name": "Ann Lee", "first_name": "Ann Lee"}


@pytest.mark.parametrize("template", [CAROUSEL, ASK])
async def test_messenger_templates_reach_a_user_over_v0_1(
    harness: Harness, template: GenericTemplate | ButtonTemplate
) -> None:
    await harness.user_says("messenger", PSID, {"text": "menu?"})
    outbound = Outbound(channel=Channel.MESSENGER, to=PSID, sender=PAGE, content=template)

    message_uuid = await harness.accepted(messages_v0.body(outbound), api="v0.1")

    assert (await first_status(harness, message_uuid))["status"] == "submitted"


@pytest.mark.parametrize(
    ("channel", "user", "custom"),
    [
        ("whatsapp", WA_USER, {"type": "contacts", "contacts": [{"name": {"first_name": "A"}}]}),
        ("whatsapp", WA_USER, {"type": "contacts", "contacts": []}),
        (
            "messenger",
            PSID,
            {
                "attachment": {
                    "type": "template",
                    "payload": {"template_type": "button", "text": "Pick", "buttons": []},
                }
            },
        ),
        (
            "messenger",
            PSID,
            {
                "attachment": {
                    "type": "template",
                    "payload": {"template_type": "generic", "elements": [{"title": "x" * 81}]},
                }
            },
        ),
    ],
)
async def test_custom_objects_the_platform_refuses_are_rejected(
    harness: Harness, channel: str, user: str, custom: dict[str, Any]
) -> None:
    await harness.user_says(channel, user, {"text": "hi"})
    sides = {
        "whatsapp": ({"type": "whatsapp", "number": user}, {"type": "whatsapp", "number": WA_BOT}),
        "messenger": ({"type": "messenger", "id": user}, {"type": "messenger", "id": PAGE}),
    }
    to, sender = sides[channel]
    request = {
        "to": to,
        "from": sender,
        "message": {"content": {"type": "custom", "custom": custom}},
    }

    message_uuid = await harness.accepted(request, api="v0.1")

    status = await first_status(harness, message_uuid)
    assert status["status"] == "rejected"
    assert status["error"]["type"].endswith("#1020")
