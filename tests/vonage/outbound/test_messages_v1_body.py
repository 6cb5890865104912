"""The Messages API v1 body: exact shapes per content, options, choices, and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from botkit.errors import BotkitError
from botkit.events import (
    Audio,
    Channel,
    Contact,
    File,
    Image,
    Location,
    Reaction,
    Sticker,
    Text,
    Video,
)
from botkit.outbound import (
    Button,
    Custom,
    MessengerOptions,
    MmsOptions,
    Outbound,
    SmsOptions,
    Template,
    ViberAction,
    ViberOptions,
    WhatsAppOptions,
    as_buttons,
)
from botkit.vonage.outbound import UnsupportedContent
from botkit.vonage.outbound.messages_v1 import body

UUID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"


def message(channel: Channel, content: Any, **extra: Any) -> Outbound:
    extra.setdefault("id", "m1")
    return Outbound(
        channel=channel, to="447700900000", sender="447700900001", content=content, **extra
    )


def whatsapp(content: Any, **extra: Any) -> Outbound:
    return message(Channel.WHATSAPP, content, **extra)


# --- content -------------------------------------------------------------------------------------


def test_text_is_a_flat_body_with_the_message_id_as_client_ref() -> None:
    assert body(whatsapp(Text(text="Hi"))) == {
        "message_type": "text",
        "channel": "whatsapp",
        "to": "447700900000",
        "from": "447700900001",
        "text": "Hi",
        "client_ref": "m1",
    }


def test_the_bots_client_ref_wins_over_the_message_id() -> None:
    assert body(whatsapp(Text(text="Hi"), client_ref="order-7"))["client_ref"] == "order-7"


def test_viber_is_viber_service_on_the_wire() -> None:
    assert body(message(Channel.VIBER, Text(text="Hi")))["channel"] == "viber_service"


@pytest.mark.parametrize(
    ("channel", "content", "expected"),
    [
        (
            Channel.WHATSAPP,
            Image(url="https://x.test/a.jpg", caption="A"),
            {"image": {"url": "https://x.test/a.jpg", "caption": "A"}},
        ),
        (
            Channel.MESSENGER,
            Image(url="https://x.test/a.jpg", caption="A"),
            {"image": {"url": "https://x.test/a.jpg"}},
        ),
        (
            Channel.WHATSAPP,
            Audio(url="https://x.test/a.mp3", caption="A"),
            {"audio": {"url": "https://x.test/a.mp3"}},
        ),
        (
            Channel.MMS,
            Audio(url="https://x.test/a.mp3", caption="A"),
            {"audio": {"url": "https://x.test/a.mp3", "caption": "A"}},
        ),
        (
            Channel.WHATSAPP,
            Video(url="https://x.test/a.mp4", caption="A", thumb_url="https://x.test/t.jpg"),
            {"video": {"url": "https://x.test/a.mp4", "caption": "A"}},
        ),
        (
            Channel.WHATSAPP,
            File(url="https://x.test/a.pdf", caption="A", name="a.pdf"),
            {"file": {"url": "https://x.test/a.pdf", "caption": "A", "name": "a.pdf"}},
        ),
        (
            Channel.VIBER,
            File(url="https://x.test/a.pdf", caption="A", name="a.pdf"),
            {"file": {"url": "https://x.test/a.pdf", "name": "a.pdf"}},
        ),
        (
            Channel.MMS,
            Contact(url="https://x.test/a.vcf", caption="Ann"),
            {"vcard": {"url": "https://x.test/a.vcf", "caption": "Ann"}},
        ),
        (
            Channel.WHATSAPP,
            Location(lat=1.5, long=-2.25, name="Office", address="Main St", url="https://x.test"),
            {"location": {"lat": 1.5, "long": -2.25, "name": "Office", "address": "Main St"}},
        ),
        (
            Channel.WHATSAPP,
            Location(lat=1.5, long=-2.25),
            {"location": {"lat": 1.5, "long": -2.25}},
        ),
        (
            Channel.WHATSAPP,
            Sticker(url="https://x.test/s.webp"),
            {"sticker": {"url": "https://x.test/s.webp"}},
        ),
        (Channel.WHATSAPP, Sticker(id="st-1"), {"sticker": {"id": "st-1"}}),
        (
            Channel.WHATSAPP,
            Custom(payload={"type": "contacts", "contacts": []}),
            {"custom": {"type": "contacts", "contacts": []}},
        ),
        (Channel.MMS, Text(text="Hi"), {"text": "Hi"}),
    ],
    ids=lambda v: v.value if isinstance(v, Channel) else None,
)
def test_content_object_holds_the_fields_the_channel_takes(
    channel: Channel, content: Any, expected: dict[str, Any]
) -> None:
    sent = body(message(channel, content))

    wire_type = next(iter(expected))
    assert sent["message_type"] == wire_type
    assert {key: sent[key] for key in expected} == expected
    assert set(sent) == {"message_type", "channel", "to", "from", "client_ref", wire_type}


def test_template_carries_whatsapp_policy_and_locale() -> None:
    sent = body(whatsapp(Template(name="acme:verify", parameters=("Ann", "42"))))

    assert sent["message_type"] == "template"
    assert sent["template"] == {"name": "acme:verify", "parameters": ["Ann", "42"]}
    assert sent["whatsapp"] == {"policy": "deterministic", "locale": "en_US"}


def test_template_without_parameters_sends_none() -> None:
    assert body(whatsapp(Template(name="hello")))["template"] == {"name": "hello"}


def test_whatsapp_options_override_the_templates_locale() -> None:
    content = Template(name="hello", locale="en_GB")
    sent = body(whatsapp(content, whatsapp=WhatsAppOptions(locale="de_DE")))

    assert sent["whatsapp"] == {"policy": "deterministic", "locale": "de_DE"}


def test_reaction_goes_with_the_context_of_the_message_it_reacts_to() -> None:
    sent = body(whatsapp(Reaction(action="react", emoji="👍"), reply_to=UUID))

    assert sent["message_type"] == "reaction"
    assert sent["reaction"] == {"action": "react", "emoji": "👍"}
    assert sent["context"] == {"message_uuid": UUID}


def test_unreact_needs_no_emoji() -> None:
    sent = body(whatsapp(Reaction(action="unreact"), reply_to=UUID))

    assert sent["reaction"] == {"action": "unreact"}


@pytest.mark.parametrize(
    ("content", "extra", "words"),
    [
        (Reaction(action="react", emoji="👍"), {}, "reply_to"),
        (Reaction(action="react"), {"reply_to": UUID}, "emoji"),
        (Sticker(), {}, "exactly one of url and id"),
        (Sticker(url="https://x.test/s.webp", id="st-1"), {}, "exactly one of url and id"),
    ],
    ids=["reaction-without-reply-to", "react-without-emoji", "sticker-empty", "sticker-both"],
)
def test_malformed_whatsapp_content_is_a_value_error(
    content: Any, extra: dict[str, Any], words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        body(whatsapp(content, **extra))


def test_reply_to_quotes_on_whatsapp_only() -> None:
    assert body(whatsapp(Text(text="Hi"), reply_to=UUID))["context"] == {"message_uuid": UUID}
    assert "context" not in body(message(Channel.MESSENGER, Text(text="Hi"), reply_to=UUID))


def test_client_ref_over_100_characters_is_refused() -> None:
    assert body(whatsapp(Text(text="Hi"), client_ref="r" * 100))["client_ref"] == "r" * 100
    with pytest.raises(ValueError, match=r"client_ref .* limited to 100"):
        body(whatsapp(Text(text="Hi"), client_ref="r" * 101))


# --- channel options -----------------------------------------------------------------------------


def test_messenger_options() -> None:
    options = MessengerOptions(category="message_tag", tag="ACCOUNT_UPDATE")
    sent = body(message(Channel.MESSENGER, Text(text="Hi"), messenger=options))

    assert sent["messenger"] == {"category": "message_tag", "tag": "ACCOUNT_UPDATE"}


def test_messenger_message_tag_needs_a_tag() -> None:
    options = MessengerOptions(category="message_tag")
    with pytest.raises(ValueError, match="needs a tag"):
        body(message(Channel.MESSENGER, Text(text="Hi"), messenger=options))


def test_viber_options_with_an_action_button() -> None:
    options = ViberOptions(
        category="promotion", ttl=600, action=ViberAction(url="https://x.test", text="Open")
    )
    sent = body(message(Channel.VIBER, Text(text="Offer"), viber=options))

    assert sent["viber_service"] == {
        "category": "promotion",
        "ttl": 600,
        "action": {"url": "https://x.test", "text": "Open"},
    }


def test_viber_action_on_a_file_is_unsupported() -> None:
    options = ViberOptions(action=ViberAction(url="https://x.test", text="Open"))
    content = File(url="https://x.test/a.pdf", name="a.pdf")

    with pytest.raises(UnsupportedContent, match="action button with file to viber"):
        body(message(Channel.VIBER, content, viber=options))


@pytest.mark.parametrize(
    ("content", "options", "words"),
    [
        (
            Image(url="https://x.test/a.jpg"),
            ViberOptions(action=ViberAction(url="https://x.test", text="Open")),
            "needs a caption",
        ),
        (
            Text(text="Hi"),
            ViberOptions(action=ViberAction(url="https://x.test", text="x" * 31)),
            "limited to 30",
        ),
        (Text(text="Hi"), ViberOptions(ttl=29), "between 30 and 259200"),
        (Text(text="Hi"), ViberOptions(ttl=259201), "between 30 and 259200"),
    ],
    ids=["image-action-without-caption", "long-action-text", "ttl-too-short", "ttl-too-long"],
)
def test_viber_options_the_api_refuses(content: Any, options: ViberOptions, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        body(message(Channel.VIBER, content, viber=options))


def test_sms_options_and_ttl() -> None:
    options = SmsOptions(encoding="unicode", ttl=900, entity_id="e1", content_id="c1")
    sent = body(message(Channel.SMS, Text(text="Hi"), sms=options))

    assert sent["sms"] == {"encoding_type": "unicode", "content_id": "c1", "entity_id": "e1"}
    assert sent["ttl"] == 900


def test_sms_ttl_alone_sends_no_sms_object() -> None:
    sent = body(message(Channel.SMS, Text(text="Hi"), sms=SmsOptions(ttl=60)))

    assert "sms" not in sent
    assert sent["ttl"] == 60


def test_sms_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1 second"):
        body(message(Channel.SMS, Text(text="Hi"), sms=SmsOptions(ttl=0)))


def test_options_of_other_channels_are_ignored() -> None:
    sent = body(
        whatsapp(
            Text(text="Hi"),
            messenger=MessengerOptions(category="update"),
            viber=ViberOptions(ttl=60),
            sms=SmsOptions(ttl=60),
        )
    )

    assert not {"messenger", "viber_service", "sms", "ttl", "whatsapp"} & set(sent)


def test_empty_options_send_no_object() -> None:
    sent = body(message(Channel.MESSENGER, Text(text="Hi"), messenger=MessengerOptions()))

    assert "messenger" not in sent


# --- choices -------------------------------------------------------------------------------------


def test_up_to_three_choices_are_whatsapp_reply_buttons() -> None:
    sent = body(whatsapp(Text(text="Pick"), buttons=as_buttons([("y", "Yes"), ("n", "No")])))

    assert sent["message_type"] == "custom"
    assert sent["custom"] == {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Pick"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "y", "title": "Yes"}},
                    {"type": "reply", "reply": {"id": "n", "title": "No"}},
                ]
            },
        },
    }
    assert "text" not in sent


def test_quick_replies_are_reply_buttons_on_whatsapp() -> None:
    sent = body(
        whatsapp(Text(text="Pick"), buttons=as_buttons(["A"]), choice_style="quick_replies")
    )

    assert sent["custom"]["interactive"]["type"] == "button"


@pytest.mark.parametrize(
    ("content", "header"),
    [
        (
            Image(url="https://x.test/a.jpg", caption="Size?"),
            {"type": "image", "image": {"link": "https://x.test/a.jpg"}},
        ),
        (
            Video(url="https://x.test/a.mp4", caption="Size?"),
            {"type": "video", "video": {"link": "https://x.test/a.mp4"}},
        ),
        (
            File(url="https://x.test/a.pdf", caption="Size?", name="sizes.pdf"),
            {
                "type": "document",
                "document": {"link": "https://x.test/a.pdf", "filename": "sizes.pdf"},
            },
        ),
    ],
    ids=["image", "video", "document"],
)
def test_media_with_buttons_becomes_the_header_and_its_caption_the_body(
    content: Any, header: dict[str, Any]
) -> None:
    interactive = body(whatsapp(content, buttons=as_buttons(["S", "M"])))["custom"]["interactive"]

    assert interactive["header"] == header
    assert interactive["body"] == {"text": "Size?"}


def test_more_than_three_choices_are_a_list() -> None:
    buttons = (
        Button(id="1", title="One", description="The first"),
        Button(id="2", title="Two"),
        Button(id="3", title="Three"),
        Button(id="4", title="Four"),
    )
    interactive = body(whatsapp(Text(text="Pick"), buttons=buttons))["custom"]["interactive"]

    assert interactive == {
        "type": "list",
        "body": {"text": "Pick"},
        "action": {
            "button": "Choose",
            "sections": [
                {
                    "rows": [
                        {"id": "1", "title": "One", "description": "The first"},
                        {"id": "2", "title": "Two"},
                        {"id": "3", "title": "Three"},
                        {"id": "4", "title": "Four"},
                    ]
                }
            ],
        },
    }


def test_list_style_uses_the_list_title_as_its_button() -> None:
    sent = body(
        whatsapp(
            Text(text="Pick"), buttons=as_buttons(["A"]), choice_style="list", list_title="Sizes"
        )
    )

    assert sent["custom"]["interactive"]["type"] == "list"
    assert sent["custom"]["interactive"]["action"]["button"] == "Sizes"


def test_buttons_keep_the_reply_context() -> None:
    sent = body(whatsapp(Text(text="Pick"), buttons=as_buttons(["A"]), reply_to=UUID))

    assert sent["context"] == {"message_uuid": UUID}


@pytest.mark.parametrize(
    ("content", "extra", "words"),
    [
        (Text(text="Pick"), {"buttons": as_buttons(["x" * 21])}, "button title is limited to 20"),
        (Text(text="Pick"), {"buttons": as_buttons(["x" * 20])}, None),
        (
            Text(text="Pick"),
            {"buttons": (Button(id="i" * 257, title="A"),)},
            "button id is limited to 256",
        ),
        (
            Text(text="Pick"),
            {"buttons": as_buttons(["y" * 25]), "choice_style": "list"},
            "row title is limited to 24",
        ),
        (
            Text(text="Pick"),
            {"buttons": (Button(id="a", title="A", description="d" * 73),), "choice_style": "list"},
            "description is limited to 72",
        ),
        (
            Text(text="Pick"),
            {"buttons": (Button(id="r" * 201, title="A"),), "choice_style": "list"},
            "row id is limited to 200",
        ),
        (
            Text(text="Pick"),
            {"buttons": as_buttons([str(n) for n in range(11)])},
            "limited to 10 rows",
        ),
        (
            Text(text="Pick"),
            {"buttons": as_buttons(["A"]), "choice_style": "list", "list_title": "L" * 21},
            "list_title",
        ),
        (Text(text="Pick"), {"buttons": as_buttons([("a", "A"), ("a", "B")])}, "distinct ids"),
        (Text(text="Pick"), {"buttons": as_buttons([("a", "A"), ("b", "A")])}, "distinct titles"),
        (Text(text="Pick"), {"buttons": (Button(id="a", title=""),)}, "needs a title"),
        (Text(text="x" * 1025), {"buttons": as_buttons(["A"])}, "limited to 1024"),
        (Text(text=""), {"buttons": as_buttons(["A"])}, "needs body text"),
        (Image(url="https://x.test/a.jpg"), {"buttons": as_buttons(["A"])}, "a caption"),
    ],
    ids=[
        "button-title-21",
        "button-title-20-fits",
        "button-id-257",
        "row-title-25",
        "row-description-73",
        "row-id-201",
        "eleven-rows",
        "list-title-21",
        "repeated-id",
        "repeated-title",
        "empty-title",
        "body-1025",
        "empty-body",
        "image-without-caption",
    ],
)
def test_whatsapp_choice_limits(content: Any, extra: dict[str, Any], words: str | None) -> None:
    if words is None:
        body(whatsapp(content, **extra))
        return
    with pytest.raises(ValueError, match=words):
        body(whatsapp(content, **extra))


@pytest.mark.parametrize(
    ("content", "extra", "words"),
    [
        (
            Image(url="https://x.test/a.jpg", caption="Pick"),
            {"buttons": as_buttons(["A"]), "choice_style": "list"},
            "list of choices with image to whatsapp",
        ),
        (Location(lat=1, long=2), {"buttons": as_buttons(["A"])}, "buttons with location"),
        (Template(name="hello"), {"buttons": as_buttons(["A"])}, "buttons with template"),
    ],
    ids=["image-list", "location", "template"],
)
def test_content_that_cannot_carry_choices_is_unsupported(
    content: Any, extra: dict[str, Any], words: str
) -> None:
    with pytest.raises(UnsupportedContent, match=words):
        body(whatsapp(content, **extra))


# --- refusals ------------------------------------------------------------------------------------


def test_unsupported_content_is_a_botkit_error_naming_api_channel_and_content() -> None:
    with pytest.raises(UnsupportedContent) as refused:
        body(message(Channel.MESSENGER, Location(lat=1, long=2)))

    error = refused.value
    assert isinstance(error, BotkitError)
    assert (error.api, error.channel, error.what) == (
        "Messages API v1",
        Channel.MESSENGER,
        "location",
    )
    assert str(error) == (
        "the Messages API v1 cannot send location to messenger: "
        "messenger carries text, image, audio, video, file"
    )


def test_viber_template_points_to_v0_1() -> None:
    with pytest.raises(UnsupportedContent, match=r"template to viber: .*v0\.1"):
        body(message(Channel.VIBER, Template(name="hello")))


def test_viber_video_names_the_options_it_lacks() -> None:
    video = Video(url="https://x.test/a.mp4", thumb_url="https://x.test/a.jpg")
    with pytest.raises(ValueError, match=r"needs thumb_url, viber.duration and viber.file_size"):
        body(message(Channel.VIBER, video))
    with pytest.raises(ValueError, match=r"thumb_url=None"):
        body(
            message(
                Channel.VIBER,
                Video(url="https://x.test/a.mp4"),
                viber=ViberOptions(duration=5, file_size=1),
            )
        )
    with pytest.raises(ValueError, match=r"duration \(seconds\) must be between 1 and 600"):
        body(message(Channel.VIBER, video, viber=ViberOptions(duration=601, file_size=1)))


def test_viber_video_sends_its_details_as_strings() -> None:
    video = Video(url="https://x.test/a.mp4", thumb_url="https://x.test/a.jpg", caption="Tour")
    sent = body(
        message(Channel.VIBER, video, viber=ViberOptions(duration=42, file_size=3, ttl=600))
    )

    assert sent["video"] == {
        "url": "https://x.test/a.mp4",
        "caption": "Tour",
        "thumb_url": "https://x.test/a.jpg",
    }
    assert sent["viber_service"] == {"ttl": 600, "duration": "42", "file_size": "3"}


def test_webhook_url_and_mms_ttl_go_top_level() -> None:
    image = Image(url="https://x.test/a.jpg")
    sent = body(
        message(
            Channel.MMS, image, webhook_url="https://bot.test/status/1", mms=MmsOptions(ttl=600)
        )
    )

    assert (sent["webhook_url"], sent["ttl"]) == ("https://bot.test/status/1", 600)
    with pytest.raises(ValueError, match=r"an MMS ttl \(seconds\) must be between 300 and 259200"):
        body(message(Channel.MMS, image, mms=MmsOptions(ttl=60)))


def test_buttons_to_sms_are_unsupported() -> None:
    with pytest.raises(UnsupportedContent, match="buttons to sms"):
        body(message(Channel.SMS, Text(text="Pick"), buttons=as_buttons(["A"])))
