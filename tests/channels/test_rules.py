"""The channel rules: for each, what passes, what is rewritten and what is refused (with the
exact words a bot author reads)."""

from __future__ import annotations

from typing import Any

import pytest

from botkit.channels import (
    RULES,
    ChannelRuleError,
    CountryNotSupported,
    Facts,
    InvalidAddress,
    Plan,
    RecipientNotAllowed,
    TooLong,
    UnsupportedOnChannel,
    WindowClosed,
    apply_rules,
    resolve_numbered_reply,
)
from botkit.channels.rules import Stage
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
    Custom,
    MessengerOptions,
    Outbound,
    OutboundContent,
    SmsOptions,
    Template,
    ViberAction,
    ViberOptions,
    WhatsAppOptions,
    as_buttons,
)

NOW = 1_700_000_000.0
HOUR = 3600.0
PSID = "3214567890123456"
PAGE = "107083064136738"

ADDRESSES = {
    Channel.WHATSAPP: ("447700900000", "447700900001"),
    Channel.MESSENGER: (PSID, PAGE),
    Channel.VIBER: ("447700900000", "botkitshop"),
    Channel.SMS: ("447700900000", "BotKit"),
    Channel.MMS: ("12015550123", "12345"),
}


def message(
    channel: Channel = Channel.WHATSAPP, content: OutboundContent | str = "Hello", **fields: Any
) -> Outbound:
    to, sender = ADDRESSES[channel]
    fields.setdefault("to", to)
    fields.setdefault("sender", sender)
    fields.setdefault("id", "m1")
    if isinstance(content, str):
        content = Text(text=content)
    return Outbound(channel=channel, content=content, **fields)


def facts(**fields: Any) -> Facts:
    """Facts of a conversation whose user wrote an hour ago."""
    fields.setdefault("now", NOW)
    fields.setdefault("last_inbound_at", NOW - HOUR)
    return Facts(**fields)


def only(plan: Plan) -> Outbound:
    assert len(plan.messages) == 1, plan
    return plan.messages[0]


def refused(error: type[ChannelRuleError], outbound: Outbound, given: Facts) -> str:
    with pytest.raises(error) as caught:
        apply_rules(outbound, given)
    assert caught.value.channel is outbound.channel
    return str(caught.value)


def test_a_message_that_fits_passes_unchanged() -> None:
    outbound = message()

    plan = apply_rules(outbound, facts())

    assert plan == Plan((outbound,), (), {}, None)


def test_a_message_no_step_changes_makes_no_stage() -> None:
    outbound = message()

    assert [step([outbound], facts()) for step in RULES] == [None] * len(RULES)
    assert only(apply_rules(outbound, facts())) is outbound


def test_the_steps_run_in_the_documented_order() -> None:
    assert [step.__name__ for step in RULES] == [
        "normalise_addresses",
        "check_countries",
        "check_recipient_wrote_first",
        "check_first_promotion",
        "check_window",
        "check_message_tag",
        "degrade_content",
        "check_media_urls",
        "fit_captions",
        "offer_choices",
        "check_client_ref",
        "check_ttl",
        "check_video_details",
        "check_webhook_url",
        "check_file_name",
        "check_action_button",
        "check_list_label",
        "split_long_texts",
    ]


def test_custom_steps_can_be_given() -> None:
    def drop_all(messages: list[Outbound], given: Facts) -> Stage:
        return Stage([], ("dropped",))

    assert apply_rules(message(), facts(), rules=[drop_all]) == Plan((), ("dropped",), {}, None)


# --- 1. addresses --------------------------------------------------------------------------------


def test_numbers_are_written_as_e164_digits() -> None:
    plan = apply_rules(message(to="+44 7700-900000", sender="0044 7700 900001"), facts())

    assert (only(plan).to, only(plan).sender) == ("447700900000", "447700900001")
    assert plan.notes == (
        "WhatsApp addresses written as the API expects: to 44********00, from 447700900001",
    )


def test_ids_are_left_as_ids() -> None:
    outbound = message(Channel.MESSENGER)

    assert only(apply_rules(outbound, facts())) == outbound


def test_an_invalid_number_is_refused_masked() -> None:
    text = refused(InvalidAddress, message(to="07700 900000"), facts())

    assert text == (
        "'07********00' is not a WhatsApp recipient: WhatsApp addresses users by a phone number "
        "in international form, country code first (E.164, such as 447700900000)."
    )


def test_an_invalid_sender_is_refused() -> None:
    text = refused(InvalidAddress, message(Channel.SMS, sender="Our Great Shop"), facts())

    assert text == (
        "'Our Great Shop' is not a SMS sender: SMS sends from a number, a short code or an "
        "alphanumeric sender id of up to 11 letters and digits."
    )


def test_the_sender_must_be_one_of_the_bots_own() -> None:
    own = facts(senders={Channel.WHATSAPP: ["+44 7700 900001", "447700900009"]})

    assert only(apply_rules(message(sender="447700900009"), own)).sender == "447700900009"
    text = refused(InvalidAddress, message(sender="447700900002"), own)
    assert text == (
        "'447700900002' is not one of the bot's WhatsApp senders (447700900001, 447700900009). "
        "Send from one of them, or add it to the bot's senders for WhatsApp."
    )


def test_a_single_sender_can_be_given_as_a_string() -> None:
    own = facts(senders={Channel.SMS: "BotKit"})

    assert only(apply_rules(message(Channel.SMS), own)).sender == "BotKit"
    assert "(BotKit)" in refused(InvalidAddress, message(Channel.SMS, sender="Other"), own)


def test_senders_of_other_channels_do_not_apply() -> None:
    own = facts(senders={Channel.SMS: ["BotKit"]})

    assert apply_rules(message(), own).messages == (message(),)


# --- 2. countries --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "place"),
    [
        ("+98 912 123 4567", "Iran"),
        ("+53 5123 4567", "Cuba"),
        ("+850 2 123 4567", "North Korea"),
        ("+963 944 567 890", "Syria"),
        ("+7 978 123 45 67", "Crimea"),
        ("+380 65 123 4567", "Crimea"),
    ],
)
def test_whatsapp_is_refused_where_it_is_not_available(number: str, place: str) -> None:
    text = refused(CountryNotSupported, message(to=number), facts())

    assert text.startswith(f"WhatsApp is not available in {place}, where the recipient ")
    assert text.endswith(" is. Reach this user on another channel, such as SMS.")


def test_the_refusal_masks_the_number() -> None:
    text = refused(CountryNotSupported, message(to="989121234567"), facts())

    assert "98********67" in text
    assert "989121234567" not in text


def test_whatsapp_from_a_number_where_it_is_not_available_is_refused() -> None:
    text = refused(CountryNotSupported, message(sender="963944567890"), facts())

    assert text == (
        "WhatsApp is not available in Syria, where the bot's number 963944567890 is. Send from "
        "a number of another country."
    )


def test_other_numbers_of_russia_and_ukraine_pass() -> None:
    for number in ("74951234567", "380441234567"):
        assert only(apply_rules(message(to=number), facts())).to == number


def test_sms_reaches_those_countries() -> None:
    assert only(apply_rules(message(Channel.SMS, to="989121234567"), facts())).to == "989121234567"


# --- 3. Messenger recipients ---------------------------------------------------------------------


def test_messenger_reaches_a_user_who_wrote() -> None:
    wrote_long_ago = facts(last_inbound_at=None, user_has_written=True)
    tagged = message(
        Channel.MESSENGER, messenger=MessengerOptions(category="message_tag", tag="ACCOUNT_UPDATE")
    )

    assert apply_rules(message(Channel.MESSENGER), facts()).messages == (
        message(Channel.MESSENGER),
    )
    assert apply_rules(tagged, wrote_long_ago).messages == (tagged,)


def test_messenger_refuses_a_phone_number() -> None:
    text = refused(RecipientNotAllowed, message(Channel.MESSENGER, to="+44 7700 900000"), facts())

    assert text == (
        "Messenger addresses users by their page-scoped id (PSID), not by phone number, and "
        "'+4***********00' looks like a phone number. Reply to the id of the user's Messenger "
        "message, or reach a phone number on SMS or WhatsApp."
    )


def test_messenger_refuses_a_user_who_never_wrote() -> None:
    never = Facts(now=NOW)

    text = refused(RecipientNotAllowed, message(Channel.MESSENGER), never)

    assert text == (
        "Messenger lets a page message only users who wrote to it first, and user "
        "'32************56' has not written to this page. Wait for the user's first message, "
        "or reach them on another channel."
    )


# --- 4. the window -------------------------------------------------------------------------------

TEMPLATES = {
    "Are you still there?": Template(name="still_there"),
    "Your order {order} ships {day}.": Template(
        name="order_shipped", parameters=("{order}", "{day}"), locale="en_GB"
    ),
}


def test_whatsapp_free_form_passes_within_24_hours() -> None:
    outbound = message()

    assert only(apply_rules(outbound, facts(last_inbound_at=NOW - 24 * HOUR + 1))) == outbound


def test_outside_the_window_the_bots_template_replaces_the_message() -> None:
    closed = facts(last_inbound_at=NOW - 25 * HOUR, templates=TEMPLATES)
    outbound = message(
        content="Your order 1234 ships Monday.", client_ref="ref-7", buttons=as_buttons(["OK"])
    )

    plan = apply_rules(outbound, closed)

    sent = only(plan)
    assert sent.content == Template(
        name="order_shipped", parameters=("1234", "Monday"), locale="en_GB"
    )
    assert (sent.id, sent.client_ref, sent.buttons) == ("m1", "ref-7", ())
    assert sent.whatsapp == WhatsAppOptions(locale="en_GB", policy="deterministic")
    assert plan.notes == (
        "WhatsApp window closed (last: 25 h ago): sent the template 'order_shipped' in place of "
        "a text; its choices were dropped, the template carries its own buttons",
    )


def test_outside_the_window_without_a_template_whatsapp_refuses() -> None:
    closed = facts(last_inbound_at=NOW - 25 * HOUR, templates=TEMPLATES)

    text = refused(WindowClosed, message(content="Anything else?"), closed)

    assert text == (
        "WhatsApp allows free-form messages only within 24 h of the user's last message "
        "(last: 25 h ago). Send a template: map this message to an approved template in the "
        "bot's `templates`, or reply while the window is open."
    )


def test_whatsapp_to_a_user_who_never_wrote_needs_a_template() -> None:
    text = refused(WindowClosed, message(), Facts(now=NOW))

    assert "(the user has not written)" in text
    plan = apply_rules(message(content="Are you still there?"), Facts(now=NOW, templates=TEMPLATES))
    assert only(plan).content == Template(name="still_there")


def test_a_caption_can_be_mapped_too() -> None:
    closed = facts(last_inbound_at=NOW - 30 * HOUR, templates=TEMPLATES)
    photo = Image(url="https://example.com/a.jpg", caption="Are you still there?")

    assert only(apply_rules(message(content=photo), closed)).content == Template(name="still_there")


def test_templates_pass_at_any_time() -> None:
    closed = facts(last_inbound_at=NOW - 100 * HOUR)
    template = message(content=Template(name="still_there"))
    custom = message(content=Custom(payload={"type": "template", "template": {"name": "x"}}))

    assert apply_rules(template, closed).messages == (template,)
    assert apply_rules(custom, closed).messages == (custom,)
    with pytest.raises(WindowClosed):
        apply_rules(message(content=Custom(payload={"type": "interactive"})), closed)


def test_messenger_outside_the_window_needs_a_message_tag() -> None:
    closed = facts(last_inbound_at=NOW - 24.5 * HOUR)
    tagged = message(
        Channel.MESSENGER,
        messenger=MessengerOptions(category="message_tag", tag="POST_PURCHASE_UPDATE"),
    )

    assert apply_rules(tagged, closed).messages == (tagged,)
    text = refused(WindowClosed, message(Channel.MESSENGER), closed)
    assert text == (
        "Messenger allows messages only within 24 h of the user's last message (last: 24.5 h "
        'ago). Outside it, send with messenger options category="message_tag" and a tag that '
        "fits the message (such as CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE, ACCOUNT_UPDATE "
        "or HUMAN_AGENT)."
    )


def test_a_message_tag_needs_a_tag() -> None:
    untagged = message(Channel.MESSENGER, messenger=MessengerOptions(category="message_tag"))

    text = refused(UnsupportedOnChannel, untagged, facts())

    assert text == (
        'Messenger needs a tag with category="message_tag": set messenger options tag (such as '
        "CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE, ACCOUNT_UPDATE or HUMAN_AGENT), or use "
        'category="response" within the window.'
    )


def test_sms_viber_and_mms_have_no_window() -> None:
    never = Facts(now=NOW)
    for channel in (Channel.SMS, Channel.VIBER, Channel.MMS):
        assert apply_rules(message(channel), never).messages == (message(channel),)


# --- 5. content ----------------------------------------------------------------------------------


def test_content_the_channel_carries_passes() -> None:
    photo = message(Channel.MESSENGER, Image(url="https://example.com/cat.gif"))
    song = message(Channel.MESSENGER, Audio(url="https://example.com/song.mp3"))

    assert apply_rules(photo, facts()).messages == (photo,)
    assert apply_rules(song, facts()).messages == (song,)


@pytest.mark.parametrize(
    ("content", "text"),
    [
        (Image(url="https://example.com/a.jpg", caption="Our menu"), "Our menu\nhttps://example.com/a.jpg"),
        (Video(url="https://example.com/a.mp4"), "https://example.com/a.mp4"),
        (Audio(url="https://example.com/a.mp3", caption="Listen"), "Listen\nhttps://example.com/a.mp3"),
        (File(url="https://example.com/m.pdf", name="menu.pdf"), "menu.pdf\nhttps://example.com/m.pdf"),
        (Contact(url="https://example.com/shop.vcf"), "https://example.com/shop.vcf"),
        (
            Location(lat=51.5074, long=-0.1278, name="Shop", address="1 High St"),
            "Shop\n1 High St\nhttps://maps.google.com/?q=51.5074,-0.1278",
        ),
    ],
)  # fmt: skip
def test_sms_gets_media_as_caption_and_link(content: OutboundContent, text: str) -> None:
    plan = apply_rules(message(Channel.SMS, content), facts())

    assert only(plan).content == Text(text=text)
    assert plan.notes[0].startswith(
        f"SMS cannot carry {'an' if content.type in 'image audio' else 'a'} "
    )


def test_a_location_off_whatsapp_becomes_a_map_link() -> None:
    plan = apply_rules(message(Channel.MESSENGER, Location(lat=48.8584, long=2.2945)), facts())

    assert only(plan).content == Text(text="https://maps.google.com/?q=48.8584,2.2945")
    assert plan.notes == ("Messenger cannot carry a location: sent a text with a map link instead",)


def test_a_contact_on_whatsapp_becomes_a_link() -> None:
    plan = apply_rules(
        message(content=Contact(url="https://example.com/a.vcf", caption="Us")), facts()
    )

    assert only(plan).content == Text(text="Us\nhttps://example.com/a.vcf")


def test_refusing_to_degrade_names_what_and_where() -> None:
    text = refused(
        UnsupportedOnChannel,
        message(Channel.SMS, Image(url="https://example.com/a.jpg")),
        facts(degrade="refuse"),
    )

    assert text == (
        "SMS cannot carry an image (it carries text only). Send something it carries, or "
        'declare degrade="degrade" to send the caption and a link as text instead.'
    )


def test_stickers_and_reactions_off_whatsapp_are_dropped_with_a_note() -> None:
    sticker = message(Channel.VIBER, Sticker(url="https://example.com/s.webp"))
    reaction = message(Channel.SMS, Reaction(action="react", emoji="👍"), reply_to="abc")

    assert apply_rules(sticker, facts()) == Plan(
        (), ("Viber cannot carry a sticker: it was not sent",), {}, None
    )
    assert apply_rules(reaction, facts()).messages == ()
    text = refused(UnsupportedOnChannel, sticker, facts(degrade="refuse"))
    assert text == (
        "Viber cannot carry a sticker (it carries text, image, video and file on the Messages API "
        "v1). "
        'Send something it carries, or declare degrade="degrade" to send nothing (drop it) '
        "instead."
    )


def test_a_dropped_sticker_keeps_its_choices() -> None:
    plan = apply_rules(
        message(Channel.SMS, Sticker(id="s1"), buttons=as_buttons(["Yes", "No"])), facts()
    )

    assert only(plan).content == Text(text="1. Yes\n2. No")


def test_templates_and_custom_objects_are_whatsapps_only() -> None:
    template = refused(UnsupportedOnChannel, message(Channel.SMS, Template(name="t")), facts())
    custom = refused(UnsupportedOnChannel, message(Channel.MESSENGER, Custom(payload={})), facts())

    assert template == (
        "SMS cannot carry a template: approved templates are WhatsApp's. Send something it carries."
    )
    assert custom == (
        "Messenger cannot carry a custom object: custom objects go to WhatsApp only. Send "
        "something it carries."
    )


def test_content_carried_by_the_other_api_version_says_so() -> None:
    v0 = facts(api_version="v0.1")

    location = message(content=Location(lat=1.5, long=2))
    assert only(apply_rules(location, v0)).content == Text(text="https://maps.google.com/?q=1.5,2")
    text = refused(UnsupportedOnChannel, location, facts(api_version="v0.1", degrade="refuse"))
    assert text.startswith(
        "WhatsApp carries a location on the Messages API v1 only, and messages are sent with v0.1."
    )
    assert refused(UnsupportedOnChannel, message(Channel.MMS, "Hi"), v0) == (
        "MMS carries a text on the Messages API v1 only, and messages are sent with v0.1. Send "
        "something it carries."
    )
    viber_template = message(Channel.VIBER, Template(name="t"))
    assert apply_rules(viber_template, v0).messages == (viber_template,)


def test_a_whatsapp_reaction_names_the_message_it_reacts_to() -> None:
    reaction = Reaction(action="react", emoji="👍")

    assert only(apply_rules(message(content=reaction, reply_to="wamid.1"), facts()))
    text = refused(UnsupportedOnChannel, message(content=reaction), facts())
    assert text == (
        "A WhatsApp reaction must name the message it reacts to: set reply_to to the provider "
        "id of the user's message."
    )


# --- 5. media URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a.JPG",
        "https://example.com/a.png?size=large#top",
        "https://example.com/images/42",
    ],
)
def test_accepted_or_unknown_extensions_pass(url: str) -> None:
    outbound = message(content=Image(url=url))

    assert apply_rules(outbound, facts()).messages == (outbound,)


def test_an_extension_the_channel_does_not_accept_is_refused() -> None:
    text = refused(
        UnsupportedOnChannel, message(content=Image(url="https://example.com/a.gif")), facts()
    )

    assert text == (
        "WhatsApp does not accept .gif for an image (it accepts .jpeg, .jpg, .png): "
        "https://example.com/a.gif. Convert the file to one of these."
    )


def test_a_files_name_gives_its_extension() -> None:
    ok = message(Channel.VIBER, File(url="https://example.com/f/1", name="menu.pdf"))
    bad = message(Channel.VIBER, File(url="https://example.com/f/1.pdf", name="tool.exe"))

    assert apply_rules(ok, facts()).messages == (ok,)
    assert refused(UnsupportedOnChannel, bad, facts()).startswith(
        "Viber does not accept .exe for a file (it accepts .csv, .doc, "
    )


def test_media_sent_to_sms_becomes_a_link_whatever_its_extension() -> None:
    plan = apply_rules(message(Channel.SMS, Image(url="https://example.com/a.tiff")), facts())

    assert only(plan).content == Text(text="https://example.com/a.tiff")


# --- 5. captions ---------------------------------------------------------------------------------


def test_a_caption_within_the_limit_stays() -> None:
    outbound = message(content=Image(url="https://example.com/a.jpg", caption="x" * 3000))

    assert apply_rules(outbound, facts()).messages == (outbound,)


def test_a_caption_the_channel_does_not_show_follows_as_text() -> None:
    outbound = message(
        Channel.MESSENGER, Image(url="https://example.com/a.jpg", caption="Today's special")
    )

    plan = apply_rules(outbound, facts())

    photo, caption = plan.messages
    assert photo.content == Image(url="https://example.com/a.jpg")
    assert photo.id == "m1"
    assert (caption.id, caption.content) == ("m1-c", Text(text="Today's special"))
    assert plan.notes == (
        "Messenger shows no caption on an image: the caption was sent as a text after it",
    )
    text = refused(UnsupportedOnChannel, outbound, facts(degrade="refuse"))
    assert text == (
        "Messenger shows no caption with an image. Send the caption as a text of its own, or "
        'declare degrade="degrade" to have it sent as a text after the image.'
    )


def test_a_caption_over_the_limit_follows_as_text_or_is_too_long() -> None:
    outbound = message(content=Image(url="https://example.com/a.jpg", caption="y" * 3001))

    photo, caption = apply_rules(outbound, facts()).messages
    assert photo.content == Image(url="https://example.com/a.jpg")
    assert caption.content == Text(text="y" * 3001)
    text = refused(TooLong, outbound, facts(degrade="refuse"))
    assert text == (
        "WhatsApp allows captions of up to 3000 characters on an image; this one has 3001. "
        'Shorten it, or declare degrade="degrade" to have it sent as a text after the image.'
    )


def test_a_caption_that_cannot_follow_is_refused() -> None:
    card = message(Channel.MMS, Contact(url="https://example.com/a.vcf", caption="Us"))

    text = refused(UnsupportedOnChannel, card, facts(api_version="v0.1"))

    assert (
        text == "MMS shows no caption with a contact card. Send the caption as a text of its own."
    )


# --- 5. choices ----------------------------------------------------------------------------------

SIZES = as_buttons([("small", "Small"), ("medium", "Medium"), ("large", "Large")])
NUMBERED_SIZES = {"1": "small", "2": "medium", "3": "large"}


def test_whatsapp_shows_up_to_three_buttons() -> None:
    outbound = message(content="Which size?", buttons=SIZES)

    assert apply_rules(outbound, facts()) == Plan((outbound,), (), {}, None)


def test_more_than_three_become_a_whatsapp_list() -> None:
    outbound = message(content="Which topping?", buttons=as_buttons([f"T{n}" for n in range(5)]))

    plan = apply_rules(outbound, facts())

    assert only(plan).choice_style == "list"
    assert plan.notes[0].startswith("5 choices offered as WhatsApp list instead of buttons: ")


def test_long_titles_become_a_list_and_quick_replies_become_buttons() -> None:
    long_title = message(content="Pick", buttons=as_buttons(["A title of 22 letters."]))
    quick = message(content="Pick", buttons=SIZES, choice_style="quick_replies")

    assert only(apply_rules(long_title, facts())).choice_style == "list"
    assert only(apply_rules(quick, facts())).choice_style == "buttons"


def test_sms_gets_numbered_options() -> None:
    plan = apply_rules(message(Channel.SMS, "Which size?", buttons=SIZES), facts())

    assert only(plan).content == Text(text="Which size?\n\n1. Small\n2. Medium\n3. Large")
    assert only(plan).buttons == ()
    assert plan.numbered_choices == NUMBERED_SIZES
    assert "3 choices offered as numbered options: SMS has no buttons or lists" in plan.notes


def test_more_than_ten_whatsapp_choices_become_numbered() -> None:
    buttons = as_buttons([f"Option {n}" for n in range(1, 12)])

    plan = apply_rules(message(content="Pick", buttons=buttons), facts())

    assert only(plan).content == Text(
        text="Pick\n\n" + "\n".join(f"{n}. Option {n}" for n in range(1, 12))
    )
    assert plan.numbered_choices["11"] == "Option 11"


def test_refusing_numbered_options_says_what_the_channel_shows() -> None:
    buttons = as_buttons([f"Option {n}" for n in range(1, 12)])

    whatsapp = refused(
        UnsupportedOnChannel, message(content="Pick", buttons=buttons), facts(degrade="refuse")
    )
    messenger = refused(
        UnsupportedOnChannel,
        message(Channel.MESSENGER, "Pick", buttons=SIZES),
        facts(degrade="refuse"),
    )

    assert whatsapp == (
        "WhatsApp cannot show these 11 choices: WhatsApp shows at most 3 buttons with titles of "
        "up to 20 characters, on text, image, video and file; or a list of at most 10 rows with "
        "titles of up to 24 characters, on text only. Offer fewer or shorter choices, or declare "
        'degrade="degrade" to offer them as numbered options in the text.'
    )
    assert messenger == (
        "Messenger cannot show these 3 choices: Messenger has no buttons or lists. Ask in plain "
        'text, or declare degrade="degrade" to offer them as numbered options in the text.'
    )


def test_media_without_a_caption_gets_its_options_in_a_text_after_it() -> None:
    outbound = message(content=Image(url="https://example.com/a.jpg"), buttons=SIZES)

    plan = apply_rules(outbound, facts())

    photo, options = plan.messages
    assert (photo.buttons, photo.content) == ((), Image(url="https://example.com/a.jpg"))
    assert (options.id, options.content) == ("m1-o", Text(text="1. Small\n2. Medium\n3. Large"))
    assert plan.numbered_choices == NUMBERED_SIZES


def test_messenger_caption_and_options_follow_the_image_in_one_text() -> None:
    outbound = message(
        Channel.MESSENGER, Image(url="https://example.com/a.jpg", caption="Size?"), buttons=SIZES
    )

    photo, text = apply_rules(outbound, facts()).messages

    assert photo.buttons == ()
    assert text.content == Text(text="Size?\n\n1. Small\n2. Medium\n3. Large")


def test_viber_shows_one_link_choice_as_its_action_button() -> None:
    outbound = message(
        Channel.VIBER, "Our menu", buttons=as_buttons([("https://example.com/menu", "Open menu")])
    )

    plan = apply_rules(outbound, facts())

    assert only(plan).buttons == ()
    assert only(plan).viber == ViberOptions(
        action=ViberAction(url="https://example.com/menu", text="Open menu")
    )
    assert plan.notes == ("the choice 'Open menu' sent as a Viber action button",)


def test_viber_numbers_other_choices() -> None:
    one_reply = message(Channel.VIBER, "OK?", buttons=as_buttons(["Yes"]))
    two = message(
        Channel.VIBER, "OK?", buttons=as_buttons(["https://a.example", "https://b.example"])
    )
    link_on_v0 = message(Channel.VIBER, "Menu", buttons=as_buttons(["https://a.example"]))

    assert only(apply_rules(one_reply, facts())).content == Text(text="OK?\n\n1. Yes")
    assert only(apply_rules(two, facts())).viber is None
    assert only(apply_rules(link_on_v0, facts(api_version="v0.1"))).viber is None


def test_templates_and_custom_objects_take_no_choices() -> None:
    template = message(content=Template(name="t"), buttons=SIZES)

    text = refused(UnsupportedOnChannel, template, facts())

    assert text == (
        "WhatsApp cannot add choices to a template: an approved template carries its own buttons."
    )


@pytest.mark.parametrize(
    ("reply", "picked"),
    [
        ("2", "medium"),
        (" 2. ", "medium"),
        ("#3", "large"),
        ("1)", "small"),
        ("٢", "medium"),
        ("02", "medium"),
    ],
)
def test_a_numbered_reply_maps_back_to_the_choice(reply: str, picked: str) -> None:
    assert resolve_numbered_reply(reply, NUMBERED_SIZES) == picked


@pytest.mark.parametrize("reply", ["4", "0", "two", "2 please", "", "1.5", "-1"])
def test_other_replies_pick_nothing(reply: str) -> None:
    assert resolve_numbered_reply(reply, NUMBERED_SIZES) is None


# --- 6. lengths and limits -----------------------------------------------------------------------


def test_client_ref_limits_follow_the_api_version() -> None:
    v1_ok = message(client_ref="r" * 100)
    v1_long = message(client_ref="r" * 101)

    assert apply_rules(v1_ok, facts()).messages == (v1_ok,)
    assert refused(TooLong, v1_long, facts()) == (
        "The client_ref 'rrrrrrrrrrrrrrrrrrrrrrrr...' has 101 characters; the Messages API v1 "
        "allows up to 100. Set a client_ref of at most 100."
    )
    assert "allows up to 40" in refused(
        TooLong, message(client_ref="r" * 41), facts(api_version="v0.1")
    )


def test_a_long_id_sent_as_client_ref_is_named() -> None:
    text = refused(TooLong, message(id="i" * 41), facts(api_version="v0.1"))

    assert text.startswith("The message id (sent as client_ref) 'iiii")


def test_viber_ttl_must_be_in_range() -> None:
    for ttl in (30, 259200):
        outbound = message(Channel.VIBER, viber=ViberOptions(ttl=ttl))
        assert apply_rules(outbound, facts()).messages == (outbound,)

    text = refused(TooLong, message(Channel.VIBER, viber=ViberOptions(ttl=29)), facts())
    assert text == (
        "Viber keeps a message for 30 to 259200 seconds (72 h); ttl=29 is outside that range. "
        "Set viber.ttl within it."
    )
    assert "ttl=259201" in refused(
        TooLong, message(Channel.VIBER, viber=ViberOptions(ttl=259201)), facts()
    )


def test_viber_file_names_are_limited() -> None:
    name = "a-very-long-file-name-1.pdf"

    text = refused(
        TooLong, message(Channel.VIBER, File(url="https://example.com/f.pdf", name=name)), facts()
    )

    assert text == (
        "Viber allows file names of up to 25 characters, extension included; "
        "'a-very-long-file-name-1.pdf' has 27. Use a shorter name."
    )


def test_an_action_button_set_by_the_bot_is_checked() -> None:
    def with_action(text: str, content: OutboundContent | str = "Menu") -> Outbound:
        action = ViberAction(url="https://example.com", text=text)
        return message(Channel.VIBER, content, viber=ViberOptions(action=action))

    assert only(apply_rules(with_action("Open"), facts()))
    assert refused(TooLong, with_action("x" * 31), facts()) == (
        "Viber action buttons show up to 30 characters; '" + "x" * 31 + "' has 31. Shorten the "
        "button text."
    )
    no_caption = with_action("Open", Image(url="https://example.com/a.jpg"))
    assert refused(UnsupportedOnChannel, no_caption, facts()).startswith(
        "Viber cannot show an action button with an image here: it shows one button that "
        "opens a URL"
    )
    with pytest.raises(UnsupportedOnChannel):
        apply_rules(with_action("Open"), facts(api_version="v0.1"))


def test_a_list_label_is_limited() -> None:
    outbound = message(content="Pick", buttons=SIZES, choice_style="list", list_title="x" * 21)

    text = refused(TooLong, outbound, facts())

    assert text == (
        "WhatsApp shows a list button label of up to 20 characters; list_title "
        "'xxxxxxxxxxxxxxxxxxxxx' has 21. Shorten it."
    )


def test_a_long_text_is_split_into_ordered_messages() -> None:
    words = " ".join(f"word{n}" for n in range(300))  # 2289 characters
    outbound = message(Channel.MESSENGER, words, client_ref="order-9", reply_to="mid.1")

    plan = apply_rules(outbound, facts())

    assert [m.id for m in plan.messages] == ["m1-1", "m1-2", "m1-3", "m1-4"]
    assert [m.client_ref for m in plan.messages] == [f"order-9-{n}" for n in range(1, 5)]
    assert [m.reply_to for m in plan.messages] == ["mid.1", None, None, None]
    texts = [m.content.text for m in plan.messages if isinstance(m.content, Text)]
    assert all(len(text) <= 640 for text in texts)
    assert " ".join(texts) == words
    assert plan.notes == (
        "a text of 2289 characters split into 4 messages (Messenger allows 640 characters)",
    )


def test_splitting_is_deterministic_so_retries_dedupe() -> None:
    outbound = message(Channel.SMS, "x " * 900)

    assert apply_rules(outbound, facts()) == apply_rules(outbound, facts())


def test_a_client_ref_without_room_for_a_suffix_is_kept() -> None:
    outbound = message(Channel.SMS, "x " * 600, client_ref="r" * 39)

    plan = apply_rules(outbound, facts(api_version="v0.1"))

    assert [m.client_ref for m in plan.messages] == ["r" * 39, "r" * 39]


def test_a_derived_id_too_long_to_be_the_client_ref_keeps_the_original() -> None:
    outbound = message(Channel.SMS, "x " * 600, id="i" * 39)

    plan = apply_rules(outbound, facts(api_version="v0.1"))

    assert [m.id for m in plan.messages] == ["i" * 39 + "-1", "i" * 39 + "-2"]
    assert [m.effective_client_ref for m in plan.messages] == ["i" * 39, "i" * 39]


def test_whatsapp_choices_ride_on_the_last_part_within_1024() -> None:
    text = "Please choose. " * 100  # 1500 characters

    plan = apply_rules(message(content=text.strip(), buttons=SIZES), facts())

    first, last = plan.messages
    assert (first.buttons, last.buttons) == ((), SIZES)
    assert isinstance(last.content, Text)
    assert len(last.content.text) <= 1024
    assert plan.notes == (
        "a text of 1499 characters split into 2 messages (WhatsApp allows 4096 characters, 1024 "
        "with choices)",
    )


# --- 6. SMS cost ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "segments", "note"),
    [
        ("a" * 160, 1, "SMS of 160 characters in GSM-7: 1 segment"),
        ("a" * 161, 2, "SMS of 161 characters in GSM-7: 2 segments of up to 153 characters"),
        ("€" * 80, 1, "SMS of 80 characters in GSM-7: 1 segment"),
        ("ł" * 70, 1, "SMS of 70 characters in UCS-2: 1 segment"),
        ("ł" * 71, 2, "SMS of 71 characters in UCS-2: 2 segments of up to 67 characters"),
    ],
)
def test_the_sms_cost_is_in_the_plan(text: str, segments: int, note: str) -> None:
    plan = apply_rules(message(Channel.SMS, text), facts())

    assert plan.sms_segments == segments
    assert plan.notes == (note,)


def test_the_cost_of_split_sms_adds_up() -> None:
    plan = apply_rules(message(Channel.SMS, "word " * 300), facts())

    assert len(plan.messages) == 2
    assert plan.sms_segments == 7 + 4
    assert plan.notes[-2:] == (
        "SMS of 999 characters in GSM-7: 7 segments of up to 153 characters",
        "SMS of 500 characters in GSM-7: 4 segments of up to 153 characters",
    )


def test_sms_encoding_options_change_the_cost() -> None:
    unicode = message(Channel.SMS, "a" * 100, sms=SmsOptions(encoding="unicode"))
    text = message(Channel.SMS, "ł" * 100, sms=SmsOptions(encoding="text"))

    assert apply_rules(unicode, facts()).sms_segments == 2
    plan = apply_rules(text, facts())
    assert plan.sms_segments == 1
    assert plan.notes[0] == 'SMS encoding "text": characters outside GSM-7 will not show as written'


def test_other_channels_have_no_sms_cost() -> None:
    assert apply_rules(message(Channel.MMS, "Hi"), facts()).sms_segments is None
