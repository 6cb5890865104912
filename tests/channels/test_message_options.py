"""The channel rules for message options: Viber video details and first messages, MMS's
American numbers, time to live and per-message status URLs."""

from __future__ import annotations

from typing import Any

import pytest

from botkit.channels import (
    CountryNotSupported,
    Facts,
    RecipientNotAllowed,
    TooLong,
    UnsupportedOnChannel,
    apply_rules,
)
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

NOW = 1_700_000_000.0
US_USER, US_SHORT_CODE, US_NUMBER = "12015550123", "12345", "14155550100"
VIDEO = Video(url="https://example.com/tour.mp4", thumb_url="https://example.com/tour.jpg")
DETAILS = ViberOptions(duration=42, file_size=3)


def message(channel: Channel, content: OutboundContent | str = "Hello", **fields: Any) -> Outbound:
    addresses = {
        Channel.VIBER: ("447700900000", "botkitshop"),
        Channel.MMS: (US_USER, US_SHORT_CODE),
        Channel.WHATSAPP: ("447700900000", "447700900001"),
    }
    to, sender = addresses[channel]
    fields.setdefault("to", to)
    fields.setdefault("sender", sender)
    if isinstance(content, str):
        content = Text(text=content)
    return Outbound(channel=channel, content=content, **fields)


def wrote(**fields: Any) -> Facts:
    return Facts(now=NOW, last_inbound_at=NOW - 60, **fields)


def refusal(error: type[Exception], outbound: Outbound, facts: Facts) -> str:
    with pytest.raises(error) as caught:
        apply_rules(outbound, facts)
    return str(caught.value)


# --- Viber video -------------------------------------------------------------------------------


def test_a_viber_video_with_its_details_passes() -> None:
    video = message(Channel.VIBER, VIDEO, viber=DETAILS)

    assert apply_rules(video, wrote()).messages == (video,)


@pytest.mark.parametrize(
    ("content", "options", "named"),
    [
        (VIDEO, None, "viber.duration, viber.file_size"),
        (VIDEO, ViberOptions(duration=42), "viber.file_size"),
        (Video(url="https://example.com/tour.mp4"), DETAILS, "thumb_url"),
    ],
)
def test_a_viber_video_without_its_details_is_refused_naming_them(
    content: Video, options: ViberOptions | None, named: str
) -> None:
    text = refusal(UnsupportedOnChannel, message(Channel.VIBER, content, viber=options), wrote())

    assert f"set {named} (" in text


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (ViberOptions(duration=601, file_size=3), "viber.duration=601"),
        (ViberOptions(duration=0, file_size=3), "viber.duration=0"),
        (ViberOptions(duration=42, file_size=201), "viber.file_size=201"),
    ],
)
def test_a_viber_video_out_of_range_is_too_long(options: ViberOptions, named: str) -> None:
    text = refusal(TooLong, message(Channel.VIBER, VIDEO, viber=options), wrote())

    assert named in text


def test_a_viber_video_on_v0_1_degrades_to_its_link() -> None:
    plan = apply_rules(message(Channel.VIBER, VIDEO, viber=DETAILS), wrote(api_version="v0.1"))

    assert [m.content for m in plan.messages] == [Text(text="https://example.com/tour.mp4")]


# --- Viber: the first message is not promotional ------------------------------------------------


PROMOTION = ViberOptions(category="promotion")


def test_a_promotion_to_a_user_who_never_wrote_is_refused() -> None:
    text = refusal(
        RecipientNotAllowed, message(Channel.VIBER, "50% off", viber=PROMOTION), Facts(now=NOW)
    )

    assert "first message to a user be personal and informative, not promotional" in text
    assert 'category="transaction" first' in text


def test_a_promotion_passes_once_the_user_wrote_or_the_bot_sent_another_message() -> None:
    promotion = message(Channel.VIBER, "50% off", viber=PROMOTION)

    assert apply_rules(promotion, wrote()).messages == (promotion,)
    assert apply_rules(promotion, Facts(now=NOW, bot_has_written=True)).messages == (promotion,)
    transaction = message(Channel.VIBER, "Your order", viber=ViberOptions(category="transaction"))
    assert apply_rules(transaction, Facts(now=NOW)).messages == (transaction,)


# --- MMS: American numbers only ------------------------------------------------------------------


@pytest.mark.parametrize("sender", [US_SHORT_CODE, US_NUMBER, "18005550100"])
def test_mms_between_american_numbers_passes(sender: str) -> None:
    mms = message(Channel.MMS, Image(url="https://example.com/a.jpg"), sender=sender)

    assert apply_rules(mms, wrote()).messages == (mms,)


def test_mms_to_a_number_outside_the_united_states_is_refused() -> None:
    mms = message(Channel.MMS, Image(url="https://example.com/a.jpg"), to="447700900123")

    text = refusal(CountryNotSupported, mms, wrote())

    assert text == (
        "MMS reaches numbers in the United States only, and the recipient 44********23 is not "
        "one. Reach this user on SMS or WhatsApp."
    )


@pytest.mark.parametrize("sender", ["14165550123", "447700900000", "BotKit"])
def test_mms_from_a_sender_outside_the_united_states_is_refused(sender: str) -> None:
    mms = message(Channel.MMS, Image(url="https://example.com/a.jpg"), sender=sender)

    text = refusal(CountryNotSupported, mms, wrote())

    assert f"the bot's sender {sender} is not one" in text


# --- time to live and per-message status URLs ---------------------------------------------------


@pytest.mark.parametrize(
    ("ttl", "fits"), [(299, False), (300, True), (259200, True), (259201, False)]
)
def test_an_mms_ttl_must_be_within_300_to_259200_seconds(ttl: int, fits: bool) -> None:
    mms = message(Channel.MMS, Image(url="https://example.com/a.jpg"), mms=MmsOptions(ttl=ttl))

    if fits:
        assert apply_rules(mms, wrote()).messages == (mms,)
    else:
        assert f"ttl={ttl} is outside that range. Set mms.ttl" in refusal(TooLong, mms, wrote())


def test_a_webhook_url_goes_on_v1_and_is_refused_on_v0_1() -> None:
    tracked = message(Channel.WHATSAPP, "Hi", webhook_url="https://bot.example.com/status")

    assert apply_rules(tracked, wrote()).messages == (tracked,)
    text = refusal(UnsupportedOnChannel, tracked, wrote(api_version="v0.1"))
    assert "The Messages API v0.1 takes no per-message webhook_url" in text


@pytest.mark.parametrize("url", ["ftp://bot.example.com/status", "/webhooks/status", "https://a b"])
def test_a_webhook_url_that_is_no_web_address_is_refused_naming_it(url: str) -> None:
    with pytest.raises(ValueError, match="webhook_url"):
        message(Channel.WHATSAPP, "Hi", webhook_url=url)


# --- contact cards and Messenger templates ----------------------------------------------------

CARDS = Contacts(
    cards=(
        ContactCard(name="Ann Lee", phones=("+44 20 7946 0000",), emails=("ann@example.com",)),
        ContactCard(name="Front desk", company="Acme", phones=("+44 20 7946 0001",)),
    )
)
BUTTONS = ButtonTemplate(
    text="What next?",
    buttons=(
        Button(id="track", title="Track my order"),
        Button(id="https://example.com/help", title="Help"),
        Button(id="cancel", title="Cancel"),
    ),
)
CAROUSEL = GenericTemplate(
    elements=(
        GenericElement(
            title="Margherita",
            subtitle="Tomato and basil",
            buttons=(Button(id="order-1", title="Order"),),
        ),
        GenericElement(title="Diavola", url="https://example.com/diavola"),
    )
)
MESSENGER = ("3214567890123456", "107083064136738")


def messenger(content: OutboundContent) -> Outbound:
    to, sender = MESSENGER
    return Outbound(channel=Channel.MESSENGER, to=to, sender=sender, content=content)


def test_contact_cards_go_as_they_are_on_whatsapp_and_as_text_elsewhere() -> None:
    cards = message(Channel.WHATSAPP, CARDS)
    assert apply_rules(cards, wrote()).messages == (cards,)

    plan = apply_rules(message(Channel.VIBER, CARDS), wrote())

    assert [m.content for m in plan.messages] == [
        Text(
            text="Ann Lee\n+44 20 7946 0000\nann@example.com\n\nFront desk\nAcme\n+44 20 7946 0001"
        )
    ]
    assert plan.notes == ("Viber cannot carry contact cards: sent the cards as text instead",)
    text = refusal(UnsupportedOnChannel, message(Channel.VIBER, CARDS), wrote(degrade="refuse"))
    assert text.startswith("Viber cannot carry contact cards")


def test_messenger_templates_go_as_they_are_on_v0_1() -> None:
    for template in (BUTTONS, CAROUSEL):
        sent = messenger(template)
        assert apply_rules(sent, wrote(api_version="v0.1")).messages == (sent,)


def test_a_button_template_on_v1_is_its_text_with_links_and_numbered_choices() -> None:
    plan = apply_rules(messenger(BUTTONS), wrote())

    (sent,) = plan.messages
    assert sent.content == Text(
        text="What next?\nHelp: https://example.com/help\n\n1. Track my order\n2. Cancel"
    )
    assert plan.numbered_choices == {"1": "track", "2": "cancel"}
    assert plan.notes[0] == (
        "Messenger cannot carry a button template: sent its text, its links in the text and its "
        "other buttons as choices instead"
    )


def test_a_generic_template_on_whatsapp_is_text_with_reply_buttons() -> None:
    (sent,) = apply_rules(message(Channel.WHATSAPP, CAROUSEL), wrote()).messages

    assert sent.content == Text(
        text="Margherita\nTomato and basil\n\nDiavola\nhttps://example.com/diavola"
    )
    assert [b.id for b in sent.buttons] == ["order-1"]


def test_choices_beside_cards_or_templates_are_refused() -> None:
    for content in (CARDS, BUTTONS):
        outbound = message(Channel.WHATSAPP, content, buttons=(Button(id="a", title="A"),))
        assert "cannot add choices to" in refusal(UnsupportedOnChannel, outbound, wrote())


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (lambda: Contacts(cards=()), "cards"),
        (lambda: ContactCard(name=""), "name"),
        (lambda: ContactCard(name="Ann", birthday="1 April"), "birthday"),
        (lambda: GenericTemplate(elements=()), "elements"),
        (lambda: GenericElement(title="x" * 81), "title"),
        (lambda: ButtonTemplate(text="Pick", buttons=()), "buttons"),
    ],
)
def test_malformed_cards_and_templates_are_refused_naming_the_field(build: Any, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        build()
