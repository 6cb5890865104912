"""Steps 1-4: whom a message may reach, and when.

Addresses are normalised and checked, countries a channel does not serve are refused, Messenger
recipients must have written first, and the customer-care window is enforced (WhatsApp messages
are replaced by the bot's templates outside it).
"""

from __future__ import annotations

from botkit.channels.addresses import (
    TERRITORY_NAMES,
    looks_like_number,
    normalise,
    territory_of,
)
from botkit.channels.capabilities import AddressKind, Capability, capability
from botkit.channels.errors import (
    CountryNotSupported,
    InvalidAddress,
    RecipientNotAllowed,
    UnsupportedOnChannel,
    WindowClosed,
)
from botkit.channels.facts import Facts, Media, Stage, each_message
from botkit.channels.templates import match_template
from botkit.channels.words import ADDRESS_FORMS, NOUNS, hours
from botkit.events import Text
from botkit.masking import mask
from botkit.outbound import Custom, Outbound, Template, WhatsAppOptions

# --- 1. addresses --------------------------------------------------------------------------------


@each_message
def normalise_addresses(message: Outbound, facts: Facts) -> Stage | None:
    """Writes ``to`` and ``sender`` as the channel's addresses: numbers as E.164 digits without
    ``+``, ``00``, spaces or dashes; ids as given. Raises ``InvalidAddress`` for an address that
    is none, and for a ``sender`` that is not one of the bot's own (``Facts.senders``)."""
    cap = capability(message.channel)
    to = normalise(cap.recipient, message.to)
    if to is None:
        raise InvalidAddress(
            f"'{mask(message.to)}' is not a {cap.name} recipient: {cap.name} addresses users by "
            f"{ADDRESS_FORMS[cap.recipient]}.",
            channel=cap.channel,
        )
    sender = normalise(cap.sender, message.sender)
    if sender is None:
        raise InvalidAddress(
            f"'{message.sender}' is not a {cap.name} sender: {cap.name} sends from "
            f"{ADDRESS_FORMS[cap.sender]}.",
            channel=cap.channel,
        )
    own = [normalise(cap.sender, address) or address for address in facts.senders_on(cap.channel)]
    if own and sender not in own:
        raise InvalidAddress(
            f"'{sender}' is not one of the bot's {cap.name} senders ({', '.join(own)}). Send "
            f"from one of them, or add it to the bot's senders for {cap.name}.",
            channel=cap.channel,
        )
    if (to, sender) == (message.to, message.sender):
        return None
    return Stage(
        [message.model_copy(update={"to": to, "sender": sender})],
        (f"{cap.name} addresses written as the API expects: to {mask(to)}, from {sender}",),
    )


# --- 2. countries --------------------------------------------------------------------------------


@each_message
def check_countries(message: Outbound, facts: Facts) -> Stage | None:
    """Raises ``CountryNotSupported`` when the recipient's or the sender's number belongs to a
    territory the channel does not serve (WhatsApp: Crimea, Cuba, Iran, North Korea, Syria),
    or, on a channel that serves some territories only (MMS: the United States), to none of
    them (a short code counts as its country code's: 5 digits after a 1 are American)."""
    cap = capability(message.channel)
    if cap.only_in:
        _check_only_in(message, cap)
    if not cap.unavailable_in:
        return None
    if cap.recipient is AddressKind.NUMBER:
        where = territory_of(message.to)
        if where in cap.unavailable_in:
            raise CountryNotSupported(
                f"{cap.name} is not available in {TERRITORY_NAMES[where]}, where the recipient "
                f"{mask(message.to)} is. Reach this user on another channel, such as SMS.",
                channel=cap.channel,
            )
    if cap.sender is AddressKind.NUMBER:
        where = territory_of(message.sender)
        if where in cap.unavailable_in:
            raise CountryNotSupported(
                f"{cap.name} is not available in {TERRITORY_NAMES[where]}, where the bot's "
                f"number {message.sender} is. Send from a number of another country.",
                channel=cap.channel,
            )
    return None


def _check_only_in(message: Outbound, cap: Capability) -> None:
    served = " or ".join(sorted(TERRITORY_NAMES.get(t, t) for t in cap.only_in))
    where = territory_of(message.to)
    if where not in cap.only_in:
        raise CountryNotSupported(
            f"{cap.name} reaches numbers in {served} only, and the recipient {mask(message.to)} "
            f"is not one. Reach this user on SMS or WhatsApp.",
            channel=cap.channel,
        )
    if territory_of(message.sender) not in cap.only_in:
        raise CountryNotSupported(
            f"{cap.name} is sent from numbers in {served} only, and the bot's sender "
            f"{message.sender} is not one. Send from a number or short code of {served}.",
            channel=cap.channel,
        )


# --- 3. recipients who wrote first ---------------------------------------------------------------


@each_message
def check_recipient_wrote_first(message: Outbound, facts: Facts) -> Stage | None:
    """On channels where users write first (Messenger), raises ``RecipientNotAllowed`` for a
    recipient written as a phone number, and for one who has not written (``Facts.wrote``)."""
    cap = capability(message.channel)
    if not cap.user_writes_first:
        return None
    if looks_like_number(message.to):
        raise RecipientNotAllowed(
            f"{cap.name} addresses users by their page-scoped id (PSID), not by phone number, "
            f"and '{mask(message.to)}' looks like a phone number. Reply to the id of the user's "
            f"{cap.name} message, or reach a phone number on SMS or WhatsApp.",
            channel=cap.channel,
        )
    if not facts.wrote:
        raise RecipientNotAllowed(
            f"{cap.name} lets a page message only users who wrote to it first, and user "
            f"'{mask(message.to)}' has not written to this page. Wait for the user's first "
            "message, or reach them on another channel.",
            channel=cap.channel,
        )
    return None


@each_message
def check_first_promotion(message: Outbound, facts: Facts) -> Stage | None:
    """On channels where a business's first message to a user may not be promotional (Viber),
    raises ``RecipientNotAllowed`` for a message with category ``promotion`` before the user
    has written on this conversation (``Facts.wrote``) or the bot has sent them another
    message (``Facts.bot_has_written``). botkit does not see what was sent before the user
    wrote, so until then it takes the bot's first message in the turn as its first."""
    cap = capability(message.channel)
    options = message.viber
    if cap.first_message_promotional or options is None or options.category != "promotion":
        return None
    if facts.wrote or facts.bot_has_written:
        return None
    raise RecipientNotAllowed(
        f"{cap.name} lets a business's first message to a user be personal and informative, "
        f"not promotional, and user '{mask(message.to)}' has neither written nor been sent "
        'another message. Send a message with viber category="transaction" first (in this '
        "turn, or wait until the user writes).",
        channel=cap.channel,
    )


# --- 4. the customer-care window -----------------------------------------------------------------


@each_message
def check_window(message: Outbound, facts: Facts) -> Stage | None:
    """Lets free-form messages through only within the channel's window after the user's last
    message. Outside it, on WhatsApp, templates pass and any other message is replaced by the
    template the bot maps it to (same id and client_ref); on Messenger, messages pass with
    category ``message_tag`` and a tag. Anything else raises ``WindowClosed``."""
    cap = capability(message.channel)
    window = cap.window
    if window is None:
        return None
    elapsed = None if facts.last_inbound_at is None else facts.now - facts.last_inbound_at
    if elapsed is not None and elapsed < window.seconds:
        return None
    since = "the user has not written" if elapsed is None else f"last: {hours(elapsed)} ago"
    if window.outside == "template":
        if _is_template(message):
            return None
        text = _text_of(message)
        template = None if text is None else match_template(text, facts.templates)
        if template is None:
            raise WindowClosed(
                f"{cap.name} allows free-form messages only within {hours(window.seconds)} of "
                f"the user's last message ({since}). Send a template: map this message to an "
                "approved template in the bot's `templates`, or reply while the window is open.",
                channel=cap.channel,
            )
        return _as_template(message, template, cap, since)
    options = message.messenger
    if options is not None and options.category == "message_tag" and options.tag:
        return None
    raise WindowClosed(
        f"{cap.name} allows messages only within {hours(window.seconds)} of the user's last "
        f"message ({since}). Outside it, send with messenger options "
        'category="message_tag" and a tag that fits the message (such as '
        "CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE, ACCOUNT_UPDATE or HUMAN_AGENT).",
        channel=cap.channel,
    )


@each_message
def check_message_tag(message: Outbound, facts: Facts) -> Stage | None:
    """Raises ``UnsupportedOnChannel`` for Messenger category ``message_tag`` without a tag."""
    cap = capability(message.channel)
    options = message.messenger
    if cap.window is None or cap.window.outside != "message_tag" or options is None:
        return None
    if options.category != "message_tag" or options.tag:
        return None
    raise UnsupportedOnChannel(
        f'{cap.name} needs a tag with category="message_tag": set messenger options tag '
        "(such as CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE, ACCOUNT_UPDATE or HUMAN_AGENT), "
        'or use category="response" within the window.',
        channel=cap.channel,
    )


def _is_template(message: Outbound) -> bool:
    content = message.content
    if isinstance(content, Template):
        return True
    return isinstance(content, Custom) and content.payload.get("type") == "template"


def _text_of(message: Outbound) -> str | None:
    content = message.content
    if isinstance(content, Text):
        return content.text
    if isinstance(content, Media):
        return content.caption
    return None


def _as_template(message: Outbound, template: Template, cap: Capability, since: str) -> Stage:
    replaced = message.model_copy(
        update={
            "content": template,
            "buttons": (),
            "choice_style": "buttons",
            "list_title": None,
            "whatsapp": WhatsAppOptions(locale=template.locale, policy=template.policy),
        }
    )
    note = (
        f"{cap.name} window closed ({since}): sent the template '{template.name}' in place of "
        f"{NOUNS[message.content.type]}"
    )
    if message.buttons:
        note += "; its choices were dropped, the template carries its own buttons"
    return Stage([replaced], (note,))
