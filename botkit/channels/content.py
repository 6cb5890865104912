"""Step 5: content each channel carries.

Content the channel cannot carry, media of a type it does not accept, captions it does not show
and choices it cannot display are rewritten (``Facts.degrade="degrade"``) or refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from botkit.channels.capabilities import ApiVersion, Capability, ChoiceSupport, capability
from botkit.channels.errors import TooLong, UnsupportedOnChannel
from botkit.channels.facts import Facts, Media, Stage, derive, each_message
from botkit.channels.words import NOUNS, carried, shown
from botkit.events import File, Image, Location, Text
from botkit.outbound import (
    Button,
    ButtonTemplate,
    ContactCard,
    Contacts,
    Custom,
    GenericElement,
    GenericTemplate,
    Outbound,
    Template,
    ViberAction,
    ViberOptions,
)


@each_message
def degrade_content(message: Outbound, facts: Facts) -> Stage | None:
    """Rewrites content the channel does not carry on the API version: media and contact cards
    become a text with the caption and the link; a location becomes a text with its name,
    address and a map link; a sticker or a reaction is dropped. Content that has no such
    rewrite (templates and custom objects off WhatsApp, anything on a channel that carries no
    text), and anything under ``degrade="refuse"``, raises ``UnsupportedOnChannel``. A WhatsApp
    reaction must name the message it reacts to (``reply_to``)."""
    cap = capability(message.channel)
    version = facts.api_version
    content = message.content
    kind = content.type
    if cap.carries(kind, version):
        if kind == "reaction" and message.reply_to is None:
            raise UnsupportedOnChannel(
                f"A {cap.name} reaction must name the message it reacts to: set reply_to to "
                "the provider id of the user's message.",
                channel=cap.channel,
            )
        return None
    if kind not in _DEGRADED_AS or not cap.carries("text", version):
        raise UnsupportedOnChannel(
            _cannot_carry(cap, kind, version) + " Send something it carries.",
            channel=cap.channel,
        )
    if facts.degrade == "refuse":
        raise UnsupportedOnChannel(
            _cannot_carry(cap, kind, version) + " Send something it carries, or declare "
            f'degrade="degrade" to send {_DEGRADED_AS[kind]} instead.',
            channel=cap.channel,
        )
    text = _as_text(content)
    if text is None:
        if not message.buttons:
            return Stage([], (f"{cap.name} cannot carry {NOUNS[kind]}: it was not sent",))
        text = ""
    update: dict[str, object] = {"content": Text(text=text)}
    if isinstance(content, GenericTemplate | ButtonTemplate):
        if message.buttons:
            raise UnsupportedOnChannel(
                f"{cap.name} cannot add choices to {NOUNS[kind]}: give the template its own "
                "buttons.",
                channel=cap.channel,
            )
        update["buttons"] = _replies(_template_buttons(content))
    return Stage(
        [message.model_copy(update=update)],
        (f"{cap.name} cannot carry {NOUNS[kind]}: sent {_DEGRADED_AS[kind]} instead",),
    )


_DEGRADED_AS = {
    "image": "the caption and a link as text",
    "audio": "the caption and a link as text",
    "video": "the caption and a link as text",
    "file": "the caption and a link as text",
    "contact": "the caption and a link as text",
    "location": "a text with a map link",
    "sticker": "nothing (drop it)",
    "reaction": "nothing (drop it)",
    "contacts": "the cards as text",
    "generic_template": "its cards as text, its links in the text and its other buttons as choices",
    "button_template": "its text, its links in the text and its other buttons as choices",
}


def _cannot_carry(cap: Capability, kind: str, version: ApiVersion) -> str:
    """Why ``cap`` cannot carry ``kind``, in one or two sentences."""
    other: ApiVersion = "v0.1" if version == "v1" else "v1"
    if cap.carries(kind, other):
        return (
            f"{cap.name} carries {NOUNS[kind]} on the Messages API {other} only, and messages "
            f"are sent with {version}."
        )
    if kind == "template":
        return f"{cap.name} cannot carry a template: approved templates are WhatsApp's."
    if kind == "custom":
        return f"{cap.name} cannot carry a custom object: custom objects go to WhatsApp only."
    return f"{cap.name} cannot carry {NOUNS[kind]} (it carries {carried(cap, version)})."


def _as_text(content: object) -> str | None:
    if isinstance(content, Contacts):
        return "\n\n".join(_card_lines(card) for card in content.cards)
    if isinstance(content, ButtonTemplate):
        return "\n".join([content.text, *_link_lines(content.buttons)])
    if isinstance(content, GenericTemplate):
        return "\n\n".join(_element_lines(element) for element in content.elements)
    if isinstance(content, Location):
        lines = [content.name, content.address, map_link(content.lat, content.long)]
        return "\n".join(line for line in lines if line)
    if isinstance(content, Media):
        label = content.caption
        if label is None and isinstance(content, File):
            label = content.name
        return "\n".join(line for line in (label, content.url) if line)
    return None


def _card_lines(card: ContactCard) -> str:
    lines = [card.name, card.company, *card.phones, *card.emails, *card.urls]
    return "\n".join(line for line in lines if line)


def _element_lines(element: GenericElement) -> str:
    lines = [element.title, element.subtitle, element.url, *_link_lines(element.buttons)]
    return "\n".join(line for line in lines if line)


def _link_lines(buttons: tuple[Button, ...]) -> list[str]:
    return [f"{button.title}: {button.id}" for button in buttons if button.is_link]


def _template_buttons(content: GenericTemplate | ButtonTemplate) -> tuple[Button, ...]:
    if isinstance(content, ButtonTemplate):
        return content.buttons
    return tuple(button for element in content.elements for button in element.buttons)


def _replies(buttons: tuple[Button, ...]) -> tuple[Button, ...]:
    """The buttons that send their id back (the links went into the text)."""
    return tuple(button for button in buttons if not button.is_link)


def map_link(lat: float, long: float) -> str:
    """A link that opens a map at ``lat``, ``long``: ``https://maps.google.com/?q=lat,long``."""
    return f"https://maps.google.com/?q={_coordinate(lat)},{_coordinate(long)}"


def _coordinate(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


@each_message
def check_media_urls(message: Outbound, facts: Facts) -> Stage | None:
    """Raises ``UnsupportedOnChannel`` for media whose URL (or a file's name) ends in an
    extension the channel does not accept for that type. URLs without an extension pass."""
    cap = capability(message.channel)
    content = message.content
    url = getattr(content, "url", None)
    accepted = cap.extensions.get(content.type)
    if not isinstance(url, str) or accepted is None:
        return None
    name = content.name if isinstance(content, File) and content.name else url
    extension = _extension(name)
    if extension is None or extension in accepted:
        return None
    raise UnsupportedOnChannel(
        f"{cap.name} does not accept {extension} for {NOUNS[content.type]} (it accepts "
        f"{', '.join(sorted(accepted))}): {url}. Convert the file to one of these.",
        channel=cap.channel,
    )


def _extension(url_or_name: str) -> str | None:
    path = re.split(r"[?#]", url_or_name, maxsplit=1)[0]
    last = path.rsplit("/", 1)[-1]
    if "." not in last:
        return None
    return "." + last.rsplit(".", 1)[1].lower()


@each_message
def fit_captions(message: Outbound, facts: Facts) -> Stage | None:
    """A caption the channel does not show with this media, or one over its caption limit, is
    sent as a text right after the media (which then carries the choices, if any). Under
    ``degrade="refuse"`` it raises ``UnsupportedOnChannel`` or ``TooLong``.

    It runs before choices are offered so that numbered options follow the caption."""
    cap = capability(message.channel)
    content = message.content
    if not isinstance(content, Media) or content.caption is None:
        return None
    kind = content.type
    limit = cap.caption_limit(kind, facts.api_version)
    length = len(content.caption)
    if limit is not None and length <= limit:
        return None
    can_follow = cap.carries("text", facts.api_version)
    if facts.degrade == "refuse" or not can_follow:
        advice = (
            f', or declare degrade="degrade" to have it sent as a text after the {kind}'
            if can_follow
            else ""
        )
        if limit is None:
            raise UnsupportedOnChannel(
                f"{cap.name} shows no caption with {NOUNS[kind]}. Send the caption as a text "
                f"of its own{advice}.",
                channel=cap.channel,
            )
        raise TooLong(
            f"{cap.name} allows captions of up to {limit} characters on {NOUNS[kind]}; this "
            f"one has {length}. Shorten it{advice}.",
            channel=cap.channel,
        )
    media = message.model_copy(
        update={"content": content.model_copy(update={"caption": None}), "buttons": ()}
    )
    follow_up = derive(message, "c", facts, content=Text(text=content.caption), reply_to=None)
    why = "shows no caption" if limit is None else f"allows captions of up to {limit} characters"
    return Stage(
        [media, follow_up],
        (f"{cap.name} {why} on {NOUNS[kind]}: the caption was sent as a text after it",),
    )


@each_message
def offer_choices(message: Outbound, facts: Facts) -> Stage | None:
    """Keeps choices the channel shows natively (WhatsApp: up to 3 buttons, else a list of up
    to 10 rows; Viber: one button opening a URL, as its action button). Other choices become
    numbered options ("1. Small") appended to the text, or sent as a text after other content;
    the stage's ``numbered_choices`` maps each number to the choice's id. Under
    ``degrade="refuse"``, and on templates and custom objects, it raises
    ``UnsupportedOnChannel``."""
    cap = capability(message.channel)
    buttons = message.buttons
    if not buttons:
        return None
    if isinstance(message.content, Template | Custom | Contacts | GenericTemplate | ButtonTemplate):
        where = {
            "template": "an approved template carries its own buttons",
            "custom": "put them in the custom object",
            "contacts": "send the choices in a message of their own",
        }.get(message.content.type, "give the template its own buttons")
        raise UnsupportedOnChannel(
            f"{cap.name} cannot add choices to {NOUNS[message.content.type]}: {where}.",
            channel=cap.channel,
        )
    native = _native_choices(cap, message, facts)
    if native is not None:
        return native
    if not cap.carries("text", facts.api_version):
        raise UnsupportedOnChannel(
            f"{cap.name} cannot show these {len(buttons)} choices, nor carry them as text on "
            f"the Messages API {facts.api_version}. Send the message without choices.",
            channel=cap.channel,
        )
    if facts.degrade == "refuse":
        instead = "Offer fewer or shorter choices" if cap.choices.any else "Ask in plain text"
        raise UnsupportedOnChannel(
            f"{cap.name} cannot show these {len(buttons)} choices: {shown(cap)}. {instead}, "
            'or declare degrade="degrade" to offer them as numbered options in the text.',
            channel=cap.channel,
        )
    return _numbered(message, facts, cap)


def _native_choices(cap: Capability, message: Outbound, facts: Facts) -> Stage | None:
    """The stage that keeps the choices as the channel shows them, or None if it cannot."""
    support = cap.choices
    if support.link_button and facts.api_version == "v1" and _fits_link_button(support, message):
        button = message.buttons[0]
        viber = message.viber or ViberOptions()
        action = ViberAction(url=button.id, text=button.title)
        converted = message.model_copy(
            update={"viber": viber.model_copy(update={"action": action}), "buttons": ()}
        )
        return Stage(
            [converted], (f"the choice '{button.title}' sent as a {cap.name} action button",)
        )
    wanted = "list" if message.choice_style == "list" else "buttons"
    for style in (wanted, "buttons" if wanted == "list" else "list"):
        if _fits(support, style, message):
            if style == message.choice_style:
                return Stage([message])
            asked = message.choice_style.replace("_", " ")
            note = (
                f"{len(message.buttons)} choices offered as {cap.name} {style} instead of "
                f"{asked}: {shown(cap)}"
            )
            return Stage([message.model_copy(update={"choice_style": style})], (note,))
    return None


def _fits(support: ChoiceSupport, style: str, message: Outbound) -> bool:
    """Whether ``message`` can carry its choices in ``style`` ("buttons" or "list").

    The message needs body text: a text's, or a caption no longer than ``body_limit`` (a long
    text is split later, and its last part fits). Ids must differ; reply-button titles too."""
    buttons, content = message.buttons, message.content
    if isinstance(content, Text):
        body_ok = bool(content.text)
    else:
        caption = getattr(content, "caption", None)
        body_ok = bool(caption) and _within(support.body_limit, [caption])
    ids = [button.id for button in buttons]
    titles = [button.title for button in buttons]
    common = body_ok and all(ids) and all(titles) and len(set(ids)) == len(ids)
    if style == "buttons":
        return (
            common
            and len(buttons) <= support.buttons
            and content.type in support.button_content
            and len(set(titles)) == len(titles)
            and _within(support.button_title, titles)
            and _within(support.button_id, ids)
        )
    return (
        common
        and len(buttons) <= support.list_rows
        and content.type in support.list_content
        and _within(support.row_title, titles)
        and _within(support.row_id, ids)
        and _within(support.row_description, (b.description or "" for b in buttons))
    )


def _fits_link_button(support: ChoiceSupport, message: Outbound) -> bool:
    content = message.content
    if len(message.buttons) != 1 or content.type not in support.link_button_content:
        return False
    if message.viber is not None and message.viber.action is not None:
        return False
    if isinstance(content, Image) and not content.caption:
        return False  # Viber requires a caption on an image with an action button.
    button = message.buttons[0]
    return button.is_link and _within(support.link_button_title, [button.title])


def _within(limit: int | None, values: Any) -> bool:
    return limit is None or all(len(value) <= limit for value in values)


def _numbered(message: Outbound, facts: Facts, cap: Capability) -> Stage:
    buttons: tuple[Button, ...] = message.buttons
    options = "\n".join(f"{number}. {button.title}" for number, button in enumerate(buttons, 1))
    numbered = {str(number): button.id for number, button in enumerate(buttons, 1)}
    note = f"{len(buttons)} choices offered as numbered options: {shown(cap)}"
    plain = {"buttons": (), "choice_style": "buttons", "list_title": None}
    content = message.content
    if isinstance(content, Text):
        text = "\n\n".join(part for part in (content.text, options) if part)
        rewritten = message.model_copy(update={"content": Text(text=text), **plain})
        return Stage([rewritten], (note,), numbered)
    follow_up = derive(message, "o", facts, content=Text(text=options), reply_to=None, **plain)
    return Stage([message.model_copy(update=plain), follow_up], (note,), numbered)


_NUMBER_REPLY = re.compile(r"\s*#?\s*(\d{1,4})\s*[.)]?\s*")


def resolve_numbered_reply(text: str, choices: Mapping[str, str]) -> str | None:
    """The id of the choice a reply such as ``"2"``, ``" 2. "``, ``"#2"`` or ``"2)"`` picks from
    ``choices`` (a plan's ``numbered_choices``), or None when the reply is no such number."""
    found = _NUMBER_REPLY.fullmatch(text)
    if found is None:
        return None
    return choices.get(str(int(found.group(1))))
