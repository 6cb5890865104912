"""The Messages API v0.1 body: addresses, nested content, options, and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from botkit.events import Channel, Contact, File, Image, Text, Video
from botkit.outbound import (
    MessengerOptions,
    Outbound,
    SmsOptions,
    Template,
    ViberAction,
    ViberOptions,
    WhatsAppOptions,
    as_buttons,
)
from botkit.vonage.outbound import UnsupportedContent
from botkit.vonage.outbound.messages_v0 import body


def message(channel: Channel, content: Any, **extra: Any) -> Outbound:
    extra.setdefault("id", "m1")
    return Outbound(
        channel=channel, to="447700900000", sender="447700900001", content=content, **extra
    )


def test_whatsapp_text() -> None:
    assert body(message(Channel.WHATSAPP, Text(text="Hi"))) == {
        "to": {"type": "whatsapp", "number": "447700900000"},
        "from": {"type": "whatsapp", "number": "447700900001"},
        "message": {"content": {"type": "text", "text": "Hi"}},
        "client_ref": "m1",
    }


@pytest.mark.parametrize(
    ("channel", "to", "sender"),
    [
        (
            Channel.SMS,
            {"type": "sms", "number": "447700900000"},
            {"type": "sms", "number": "447700900001"},
        ),
        (
            Channel.MMS,
            {"type": "mms", "number": "447700900000"},
            {"type": "mms", "number": "447700900001"},
        ),
        (
            Channel.MESSENGER,
            {"type": "messenger", "id": "447700900000"},
            {"type": "messenger", "id": "447700900001"},
        ),
        (
            Channel.VIBER,
            {"type": "viber_service_msg", "number": "447700900000"},
            {"type": "viber_service_msg", "id": "447700900001"},
        ),
    ],
    ids=lambda v: v.value if isinstance(v, Channel) else None,
)
def test_addresses_per_channel(
    channel: Channel, to: dict[str, str], sender: dict[str, str]
) -> None:
    content = Image(url="https://x.test/a.jpg") if channel is Channel.MMS else Text(text="Hi")
    sent = body(message(channel, content))

    assert (sent["to"], sent["from"]) == (to, sender)


@pytest.mark.parametrize(
    ("channel", "content", "expected"),
    [
        (
            Channel.WHATSAPP,
            Image(url="https://x.test/a.jpg", caption="A"),
            {"type": "image", "image": {"url": "https://x.test/a.jpg", "caption": "A"}},
        ),
        (
            Channel.WHATSAPP,
            Video(url="https://x.test/a.mp4", caption="A"),
            {"type": "video", "video": {"url": "https://x.test/a.mp4"}},
        ),
        (
            Channel.WHATSAPP,
            File(url="https://x.test/a.pdf", caption="A", name="a.pdf"),
            {"type": "file", "file": {"url": "https://x.test/a.pdf", "caption": "A"}},
        ),
        (
            Channel.VIBER,
            Image(url="https://x.test/a.jpg", caption="A"),
            {"type": "image", "image": {"url": "https://x.test/a.jpg"}},
        ),
        (
            Channel.MMS,
            Contact(url="https://x.test/a.vcf", caption="Ann"),
            {"type": "vcard", "vcard": {"url": "https://x.test/a.vcf"}},
        ),
    ],
    ids=["whatsapp-image", "whatsapp-video", "whatsapp-file", "viber-image", "mms-vcard"],
)
def test_content_holds_the_fields_the_channel_takes(
    channel: Channel, content: Any, expected: dict[str, Any]
) -> None:
    assert body(message(channel, content))["message"]["content"] == expected


def test_whatsapp_template_has_string_parameters_and_whatsapp_options() -> None:
    content = Template(name="acme:verify", parameters=("Ann", "42"), locale="en_GB")
    sent = body(message(Channel.WHATSAPP, content))

    assert sent["message"] == {
        "content": {
            "type": "template",
            "template": {"name": "acme:verify", "parameters": ["Ann", "42"]},
        },
        "whatsapp": {"locale": "en_GB", "policy": "deterministic"},
    }


def test_whatsapp_options_override_the_templates_locale() -> None:
    sent = body(
        message(Channel.WHATSAPP, Template(name="hi"), whatsapp=WhatsAppOptions(locale="fr_FR"))
    )

    assert sent["message"]["whatsapp"] == {"locale": "fr_FR", "policy": "deterministic"}


def test_viber_template_has_no_whatsapp_options() -> None:
    sent = body(message(Channel.VIBER, Template(name="promo", parameters=("A",))))

    assert sent["message"] == {
        "content": {"type": "template", "template": {"name": "promo", "parameters": ["A"]}}
    }


def test_channel_options_sit_inside_message() -> None:
    messenger = body(
        message(
            Channel.MESSENGER,
            Text(text="Hi"),
            messenger=MessengerOptions(category="message_tag", tag="ACCOUNT_UPDATE"),
        )
    )
    viber = body(
        message(Channel.VIBER, Text(text="Hi"), viber=ViberOptions(category="promotion", ttl=60))
    )

    assert messenger["message"]["messenger"] == {"category": "message_tag", "tag": "ACCOUNT_UPDATE"}
    assert viber["message"]["viber_service_msg"] == {"category": "promotion", "ttl": 60}
    assert "messenger" not in messenger
    assert "viber_service_msg" not in viber


def test_viber_ttl_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="between 30 and 259200"):
        body(message(Channel.VIBER, Text(text="Hi"), viber=ViberOptions(ttl=10)))


def test_messenger_message_tag_needs_a_tag() -> None:
    options = MessengerOptions(category="message_tag")
    with pytest.raises(ValueError, match="needs a tag"):
        body(message(Channel.MESSENGER, Text(text="Hi"), messenger=options))


def test_reply_to_has_no_place_in_v0_1() -> None:
    sent = body(message(Channel.WHATSAPP, Text(text="Hi"), reply_to="uuid-1"))

    assert "context" not in sent
    assert "context" not in sent["message"]


def test_client_ref_is_limited_to_40_characters() -> None:
    assert (
        body(message(Channel.SMS, Text(text="Hi"), client_ref="r" * 40))["client_ref"] == "r" * 40
    )
    with pytest.raises(ValueError, match="limited to 40 characters"):
        body(message(Channel.SMS, Text(text="Hi"), client_ref="r" * 41))


def test_a_uuid_message_id_fits_as_client_ref() -> None:
    sent = body(
        Outbound(channel=Channel.SMS, to="447700900000", sender="B", content=Text(text="Hi"))
    )

    assert len(sent["client_ref"]) == 32


def test_whatsapp_buttons_are_custom_interactive_content() -> None:
    sent = body(message(Channel.WHATSAPP, Text(text="Pick"), buttons=as_buttons(["Yes", "No"])))

    content = sent["message"]["content"]
    assert content["type"] == "custom"
    assert content["custom"]["type"] == "interactive"
    assert content["custom"]["interactive"]["type"] == "button"
    assert content["custom"]["interactive"]["body"] == {"text": "Pick"}


def test_viber_action_button_is_unsupported() -> None:
    options = ViberOptions(action=ViberAction(url="https://x.test", text="Open"))

    with pytest.raises(
        UnsupportedContent, match=r"Messages API v0\.1 cannot send an action button"
    ):
        body(message(Channel.VIBER, Text(text="Offer"), viber=options))


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (SmsOptions(ttl=600), "ttl"),
        (SmsOptions(entity_id="e", content_id="c"), "entity_id, content_id"),
        (SmsOptions(encoding="unicode"), "encoding"),
    ],
    ids=["ttl", "regulatory-ids", "encoding"],
)
def test_sms_options_are_unsupported_with_their_names(options: SmsOptions, named: str) -> None:
    with pytest.raises(UnsupportedContent, match=rf"sms options \({named}\) to sms"):
        body(message(Channel.SMS, Text(text="Hi"), sms=options))


def test_automatic_sms_encoding_needs_no_field() -> None:
    sent = body(message(Channel.SMS, Text(text="Hi"), sms=SmsOptions(encoding="auto")))

    assert sent["message"] == {"content": {"type": "text", "text": "Hi"}}


@pytest.mark.parametrize(
    ("channel", "content", "words"),
    [
        (Channel.VIBER, File(url="https://x.test/a.pdf"), "file to viber: .*Messages API v1"),
        (Channel.MMS, Text(text="Hi"), "text to mms: mms carries image, contact"),
    ],
    ids=["viber-file", "mms-text"],
)
def test_content_v0_1_cannot_carry_is_unsupported(
    channel: Channel, content: Any, words: str
) -> None:
    with pytest.raises(UnsupportedContent, match=words):
        body(message(channel, content))


def test_buttons_off_whatsapp_are_unsupported() -> None:
    with pytest.raises(UnsupportedContent, match="buttons to messenger"):
        body(message(Channel.MESSENGER, Text(text="Pick"), buttons=as_buttons(["A"])))
