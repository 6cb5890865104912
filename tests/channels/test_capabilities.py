"""The capability table: one entry per channel, with the provider's figures."""

from __future__ import annotations

import typing
from types import MappingProxyType

import pytest

from botkit.channels import CAPABILITIES, AddressKind, capability
from botkit.events import Channel
from botkit.outbound import OutboundContent
from botkit.vonage.outbound import messages_v0, messages_v1

CONTENT_TYPES = {
    typing.get_args(model.model_fields["type"].annotation)[0]
    for model in typing.get_args(typing.get_args(OutboundContent)[0])
}


def test_every_channel_has_a_capability() -> None:
    assert set(CAPABILITIES) == set(Channel)
    assert all(capability(channel).channel is channel for channel in Channel)


def test_the_table_cannot_be_changed() -> None:
    assert isinstance(CAPABILITIES, MappingProxyType)
    with pytest.raises(AttributeError):
        capability(Channel.SMS).text_limit = 2000  # type: ignore[misc]


@pytest.mark.parametrize(
    ("channel", "limit"),
    [
        (Channel.SMS, 1000),
        (Channel.WHATSAPP, 4096),
        (Channel.MESSENGER, 640),
        (Channel.VIBER, 1000),
        (Channel.MMS, None),
    ],
)
def test_text_limits_are_the_specifications(channel: Channel, limit: int | None) -> None:
    assert capability(channel).text_limit == limit


def test_content_types_are_botkits_outbound_types() -> None:
    for cap in CAPABILITIES.values():
        assert cap.content <= CONTENT_TYPES, cap.channel
        assert cap.content_v0_1 <= CONTENT_TYPES, cap.channel
        assert set(cap.caption_limits) <= cap.content, cap.channel
        assert cap.captions_v0_1 <= cap.content_v0_1, cap.channel
        assert set(cap.extensions) <= cap.content, cap.channel


@pytest.mark.parametrize(
    ("api_version", "fields"),
    [("v1", messages_v1.CONTENT_FIELDS), ("v0.1", messages_v0.CONTENT_FIELDS)],
)
def test_the_content_carried_is_what_the_body_builders_send(
    api_version: typing.Literal["v1", "v0.1"], fields: typing.Any
) -> None:
    for channel, cap in CAPABILITIES.items():
        carried = {kind for kind in CONTENT_TYPES if cap.carries(kind, api_version)}
        assert carried == set(fields[channel]), channel
        with_caption = {
            kind for kind in carried if cap.caption_limit(kind, api_version) is not None
        }
        assert with_caption == {k for k, f in fields[channel].items() if "caption" in f}, channel


def test_whatsapp() -> None:
    cap = capability(Channel.WHATSAPP)

    assert {"text", "image", "location", "sticker", "reaction", "template", "custom"} <= cap.content
    assert "contact" not in cap.content
    assert cap.caption_limits["image"] == 3000
    assert cap.extensions["image"] == frozenset({".jpg", ".jpeg", ".png"})
    assert cap.extensions["audio"] == frozenset({".aac", ".m4a", ".amr", ".mp3", ".opus"})
    assert cap.extensions["file"] is None
    assert (cap.choices.buttons, cap.choices.list_rows) == (3, 10)
    assert cap.window is not None
    assert (cap.window.seconds, cap.window.outside) == (24 * 3600, "template")
    assert cap.recipient is cap.sender is AddressKind.NUMBER
    assert cap.unavailable_in == {"CU", "IR", "KP", "SY", "UA-43"}
    assert cap.read_status


def test_messenger() -> None:
    cap = capability(Channel.MESSENGER)

    assert cap.content == {"text", "image", "audio", "video", "file"}
    assert cap.caption_limits == {}
    assert cap.extensions["audio"] == frozenset({".mp3"})
    assert not cap.choices.any
    assert cap.window is not None
    assert (cap.window.seconds, cap.window.outside) == (24 * 3600, "message_tag")
    assert cap.recipient is cap.sender is AddressKind.ID
    assert cap.user_writes_first
    assert cap.read_status


def test_viber() -> None:
    cap = capability(Channel.VIBER)

    assert cap.content == {"text", "image", "video", "file"}
    assert cap.content_v0_1 == {"text", "image", "template"}
    assert cap.video_details
    assert not cap.first_message_promotional
    assert cap.choices.link_button
    assert (cap.choices.buttons, cap.choices.list_rows) == (0, 0)
    assert cap.choices.link_button_title == 30
    assert cap.ttl_range == (30, 259200)
    assert cap.file_name_limit == 25
    assert ".docx" in (cap.extensions["file"] or ())
    assert (cap.recipient, cap.sender) == (AddressKind.NUMBER, AddressKind.ID)
    assert cap.window is None
    assert cap.read_status


def test_sms_and_mms() -> None:
    sms, mms = capability(Channel.SMS), capability(Channel.MMS)

    assert sms.content == sms.content_v0_1 == {"text"}
    assert (sms.recipient, sms.sender) == (AddressKind.NUMBER, AddressKind.SENDER_ID)
    assert not sms.read_status
    assert not mms.read_status
    assert sms.window is None
    assert mms.window is None
    assert mms.caption_limits["image"] == 2000
    assert mms.extensions["contact"] == frozenset({".vcf"})
    assert mms.content_v0_1 == {"image", "contact"}
    assert mms.only_in == {"US"}
    assert mms.ttl_range == (300, 259200)


def test_caption_limits_depend_on_the_api_version() -> None:
    whatsapp = capability(Channel.WHATSAPP)

    assert whatsapp.caption_limit("video", "v1") == 3000
    assert whatsapp.caption_limit("video", "v0.1") is None
    assert whatsapp.caption_limit("audio", "v1") is None
    assert whatsapp.carries("location", "v1")
    assert not whatsapp.carries("location", "v0.1")
