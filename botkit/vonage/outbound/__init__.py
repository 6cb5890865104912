"""Wire bodies for sending, one module per provider API.

:mod:`~botkit.vonage.outbound.messages_v1` builds the JSON body of ``POST /v1/messages``,
:mod:`~botkit.vonage.outbound.messages_v0` that of ``POST /v0.1/messages`` and
:mod:`~botkit.vonage.outbound.sms_api` the form parameters of the legacy ``POST /sms/json``.
Each takes an :class:`~botkit.outbound.Outbound` that the channel rules have already shaped
for its channel, and raises :class:`UnsupportedContent` for what the API cannot carry there.

This module holds what they share: that error, a few checks, :class:`MessagesApi` (what one
Messages API version accepts, as data, with the checks both versions make against it), the
objects both versions spell alike (templates, WhatsApp, Messenger and Viber options), and
WhatsApp's interactive messages (reply buttons and lists), which both send as ``custom``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botkit.errors import BotkitError
from botkit.events import Channel, File, Image, Text, Video
from botkit.outbound import (
    Button,
    ButtonTemplate,
    Contacts,
    Custom,
    GenericTemplate,
    Outbound,
    OutboundContent,
    Template,
)
from botkit.vonage.channel_names import MessagesVersion, wire_name

__all__ = [
    "BODY_TEXT_MAX",
    "BUTTON_ID_MAX",
    "BUTTON_TITLE_MAX",
    "DEFAULT_LIST_BUTTON",
    "LIST_BUTTON_MAX",
    "LIST_ROWS_MAX",
    "MESSENGER_BUTTON_TITLE_MAX",
    "MESSENGER_PAYLOAD_MAX",
    "MMS_TTL_RANGE",
    "REPLY_BUTTONS_MAX",
    "ROW_DESCRIPTION_MAX",
    "ROW_ID_MAX",
    "ROW_TITLE_MAX",
    "VIBER_TTL_MAX",
    "VIBER_TTL_MIN",
    "VIBER_VIDEO_MEGABYTES",
    "VIBER_VIDEO_SECONDS",
    "MessagesApi",
    "UnsupportedContent",
    "check_length",
    "check_range",
    "contacts_object",
    "content_object",
    "messenger_template",
    "shared_options",
    "template_object",
    "viber_options",
    "whatsapp_interactive",
    "wire_type",
]


class UnsupportedContent(BotkitError):
    """``api`` cannot carry ``what`` (a content type, buttons, an option) on ``channel``.

    Raised by the body builders; the channel rules are meant to reshape such messages first,
    so reaching it means a message bypassed them or a rule is missing.
    """

    def __init__(self, api: str, channel: Channel, what: str, *, hint: str | None = None):
        self.api = api
        self.channel = channel
        self.what = what
        detail = f": {hint}" if hint else ""
        super().__init__(f"the {api} cannot send {what} to {channel.value}{detail}")


REPLY_BUTTONS_MAX = 3
"""Reply buttons one WhatsApp message can carry; more choices become a list."""
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
LIST_ROWS_MAX = 10
ROW_TITLE_MAX = 24
ROW_ID_MAX = 200
ROW_DESCRIPTION_MAX = 72
LIST_BUTTON_MAX = 20
"""The label of the button that opens a list."""
BODY_TEXT_MAX = 1024
"""The body text of an interactive message (a plain WhatsApp text may be 4096)."""
DEFAULT_LIST_BUTTON = "Choose"

VIBER_TTL_MIN = 30
VIBER_TTL_MAX = 259200
"""Seconds, on both Messages API versions."""
VIBER_VIDEO_SECONDS = (1, 600)
VIBER_VIDEO_MEGABYTES = (1, 200)
"""The range of a Viber video's ``duration`` and ``file_size``."""
MMS_TTL_RANGE = (300, 259200)
"""Seconds, as the official SDKs bound an MMS ``ttl``."""


def check_length(value: str, limit: int, what: str) -> None:
    """Raise :class:`ValueError` naming ``what`` and ``limit`` when ``value`` is longer."""
    if len(value) > limit:
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise ValueError(f"{what} is limited to {limit} characters, got {len(value)}: {shown!r}")


def check_range(value: int, low: int, high: int, what: str) -> None:
    """Raise :class:`ValueError` naming ``what`` and the bounds unless ``low <= value <= high``."""
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low} and {high}, got {value}")


def content_object(content: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The ``fields`` of ``content`` that are set, in the order given (None is left out)."""
    found = {name: getattr(content, name) for name in fields}
    return {name: value for name, value in found.items() if value is not None}


@dataclass(frozen=True)
class MessagesApi:
    """What one Messages API version accepts, as data, and the checks both versions' body
    builders make against it.

    ``content_fields`` lists the content types each channel carries on this version, each
    with the fields of its wire object; ``why_not`` says why a channel lacks a content type,
    where the reason is worth more than the list of what it carries.
    """

    version: MessagesVersion
    client_ref_max: int
    content_fields: Mapping[Channel, Mapping[str, tuple[str, ...]]]
    why_not: Mapping[tuple[Channel, str], str]

    @property
    def name(self) -> str:
        """``Messages API v1`` or ``Messages API v0.1``, as errors name it."""
        return f"Messages API {self.version}"

    def channel_name(self, channel: Channel) -> str:
        """The channel's name on this version."""
        return wire_name(channel, self.version)

    def check_client_ref(self, message: Outbound) -> None:
        """Raise :class:`ValueError` for a ``client_ref`` longer than this version takes."""
        check_length(
            message.effective_client_ref, self.client_ref_max, f"client_ref on the {self.name}"
        )

    def choices(self, message: Outbound) -> dict[str, Any]:
        """The ``custom`` payload offering ``message.buttons``
        (:func:`whatsapp_interactive`); :class:`UnsupportedContent` off WhatsApp."""
        if message.channel is not Channel.WHATSAPP:
            raise UnsupportedContent(
                self.name, message.channel, "buttons", hint="offer the choices in the text instead"
            )
        return whatsapp_interactive(message, api=self.name)

    def fields_of(self, message: Outbound) -> tuple[str, ...]:
        """The fields of the wire object of ``message.content`` on its channel;
        :class:`UnsupportedContent` when the channel does not carry it on this version."""
        channel, kind = message.channel, message.content.type
        fields = self.content_fields[channel].get(kind)
        if fields is None:
            hint = self.why_not.get((channel, kind)) or (
                f"{channel.value} carries " + ", ".join(self.content_fields[channel])
            )
            raise UnsupportedContent(self.name, channel, kind, hint=hint)
        return fields

    def content(self, message: Outbound) -> tuple[str, dict[str, Any]]:
        """The wire type of ``message.content`` and the field that carries it: ``text`` (a
        string), ``template`` (:func:`template_object`), ``custom`` (the payload), or the
        type's own object with the fields of :meth:`fields_of`. Raises what
        :meth:`fields_of` raises."""
        fields = self.fields_of(message)
        content = message.content
        kind = wire_type(content)
        if isinstance(content, Text):
            return kind, {"text": content.text}
        if isinstance(content, Template):
            return kind, {"template": template_object(content)}
        if isinstance(content, Custom):
            return kind, {"custom": content.payload}
        if isinstance(content, Contacts):
            return kind, {"custom": contacts_object(content)}
        if isinstance(content, GenericTemplate | ButtonTemplate):
            return kind, {"custom": messenger_template(content)}
        return kind, {kind: content_object(content, fields)}


_WIRE_TYPES = {
    "contact": "vcard",
    "contacts": "custom",
    "generic_template": "custom",
    "button_template": "custom",
}


def wire_type(content: OutboundContent) -> str:
    """The content's type as both versions name it: a Contact is a ``vcard``; contact cards
    and Messenger templates are ``custom`` objects."""
    kind: str = content.type
    return _WIRE_TYPES.get(kind, kind)


def contacts_object(contacts: Contacts) -> dict[str, Any]:
    """WhatsApp's contacts object, as ``custom`` carries it: ``{"type": "contacts",
    "contacts": [{"name": {"formatted_name", "first_name"?, "last_name"?}, "phones"?:
    [{"phone"}], "emails"?: [{"email"}], "urls"?: [{"url"}], "org"?: {"company"},
    "birthday"?}]}``. A card without first or last name sends its name as ``first_name``:
    WhatsApp wants one of them."""
    cards = []
    for card in contacts.cards:
        name = {"formatted_name": card.name}
        if card.first_name is None and card.last_name is None:
            name["first_name"] = card.name
        name.update(content_object(card, ("first_name", "last_name")))
        wire: dict[str, Any] = {"name": name}
        for field, key, values in (
            ("phones", "phone", card.phones),
            ("emails", "email", card.emails),
            ("urls", "url", card.urls),
        ):
            if values:
                wire[field] = [{key: value} for value in values]
        if card.company:
            wire["org"] = {"company": card.company}
        if card.birthday:
            wire["birthday"] = card.birthday
        cards.append(wire)
    return {"type": "contacts", "contacts": cards}


MESSENGER_BUTTON_TITLE_MAX = 20
MESSENGER_PAYLOAD_MAX = 1000


def messenger_template(template: GenericTemplate | ButtonTemplate) -> dict[str, Any]:
    """Facebook's template attachment, as ``custom`` carries it on Messenger: ``{"attachment":
    {"type": "template", "payload": {"template_type": "generic", "elements": [{"title",
    "subtitle"?, "image_url"?, "default_action"?: {"type": "web_url", "url"}, "buttons"?}]}}}``
    or ``{"template_type": "button", "text", "buttons"}``. A button whose id is a link is a
    ``web_url`` button opening it, any other a ``postback`` sending its id; :class:`ValueError`
    for a title over 20 characters or a postback id over 1000."""
    payload: dict[str, Any]
    if isinstance(template, ButtonTemplate):
        payload = {
            "template_type": "button",
            "text": template.text,
            "buttons": [_messenger_button(b) for b in template.buttons],
        }
    else:
        elements = []
        for element in template.elements:
            wire = {"title": element.title, **content_object(element, ("subtitle", "image_url"))}
            if element.url:
                wire["default_action"] = {"type": "web_url", "url": element.url}
            if element.buttons:
                wire["buttons"] = [_messenger_button(b) for b in element.buttons]
            elements.append(wire)
        payload = {"template_type": "generic", "elements": elements}
    return {"attachment": {"type": "template", "payload": payload}}


def _messenger_button(button: Button) -> dict[str, str]:
    check_length(button.title, MESSENGER_BUTTON_TITLE_MAX, "a Messenger button title")
    if button.is_link:
        return {"type": "web_url", "url": button.id, "title": button.title}
    check_length(button.id, MESSENGER_PAYLOAD_MAX, "a Messenger postback button id")
    return {"type": "postback", "title": button.title, "payload": button.id}


def template_object(template: Template) -> dict[str, Any]:
    """``{"name", "parameters"?}``: a template as both versions take it (parameters as an
    array of strings, left out when there are none)."""
    # The shipped v0.1 spec (0.5.0) makes parameters an array of strings too. Spec 0.3.x, its
    # guides and the Dispatch API used [{"default": "..."}] objects instead.
    wire: dict[str, Any] = {"name": template.name}
    if template.parameters:
        wire["parameters"] = list(template.parameters)
    return wire


def shared_options(message: Outbound) -> dict[str, Any]:
    """The options both versions spell alike, for a message on WhatsApp or Messenger (empty
    on other channels and when nothing is set).

    ``{"whatsapp": {policy, locale}}`` from :class:`~botkit.outbound.WhatsAppOptions`, which
    for a template (without buttons) fall back to the template's own;
    ``{"messenger": {category, tag}}``, with :class:`ValueError` for a ``message_tag``
    category without a tag.
    """
    if message.channel is Channel.WHATSAPP:
        whatsapp = _whatsapp(message)
        return {"whatsapp": whatsapp} if whatsapp else {}
    if message.channel is Channel.MESSENGER:
        return _messenger(message)
    return {}


def _whatsapp(message: Outbound) -> dict[str, Any]:
    options = content_object(message.whatsapp, ("policy", "locale")) if message.whatsapp else {}
    if isinstance(message.content, Template) and not message.buttons:
        return {
            "policy": options.get("policy", message.content.policy),
            "locale": options.get("locale", message.content.locale),
        }
    return options


def _messenger(message: Outbound) -> dict[str, Any]:
    options = message.messenger
    if options is None:
        return {}
    if options.category == "message_tag" and not options.tag:
        raise ValueError("a Messenger message_tag category needs a tag")
    messenger = content_object(options, ("category", "tag"))
    return {"messenger": messenger} if messenger else {}


def viber_options(message: Outbound) -> dict[str, Any]:
    """The ``category`` and ``ttl`` of the message's Viber options, as both versions take them
    (the action button is v1's alone); :class:`ValueError` for a ttl outside
    :data:`VIBER_TTL_MIN`..:data:`VIBER_TTL_MAX` seconds."""
    options = message.viber
    if options is None:
        return {}
    if options.ttl is not None:
        check_range(options.ttl, VIBER_TTL_MIN, VIBER_TTL_MAX, "a Viber ttl (seconds)")
    return content_object(options, ("category", "ttl"))


def whatsapp_interactive(message: Outbound, *, api: str) -> dict[str, Any]:
    """The WhatsApp ``custom`` payload that offers ``message.buttons`` with its content.

    With at most :data:`REPLY_BUTTONS_MAX` buttons and a ``choice_style`` other than
    ``"list"`` (``"quick_replies"`` included: reply buttons are WhatsApp's quick replies) it is
    ``{"type": "interactive", "interactive": {"type": "button", "body": {"text": ...},
    "action": {"buttons": [{"type": "reply", "reply": {"id", "title"}}, ...]}}}``. Otherwise
    it is a list: ``interactive.type`` ``"list"`` and ``action`` ``{"button": list_title or
    "Choose", "sections": [{"rows": [{"id", "title", "description"?}, ...]}]}``, one section.

    The body text is a :class:`~botkit.events.Text`'s text or the caption of an Image, Video
    or File; reply buttons show that media as the ``header`` (``image``, ``video`` or
    ``document`` with its ``link``). A button's ``description`` appears only in list rows.

    Raises :class:`UnsupportedContent` for content that cannot carry choices (a location, a
    template, ...; media with a list, whose header can only be text) and :class:`ValueError`
    for a message WhatsApp refuses: no body text or one over :data:`BODY_TEXT_MAX`, a title,
    id or description over its limit, an empty id or title, repeated ids (or repeated titles among
    reply buttons), or more than :data:`LIST_ROWS_MAX` rows.
    """
    content = message.content
    as_list = message.choice_style == "list" or len(message.buttons) > REPLY_BUTTONS_MAX
    if isinstance(content, Text):
        body_text: str | None = content.text
    elif isinstance(content, Image | Video | File):
        if as_list:
            raise UnsupportedContent(
                api,
                message.channel,
                f"a list of choices with {content.type}",
                hint="a WhatsApp list message takes a text header only",
            )
        body_text = content.caption
    else:
        raise UnsupportedContent(
            api,
            message.channel,
            f"buttons with {content.type}",
            hint="WhatsApp offers choices with text, image, video or file only",
        )
    if not body_text:
        raise ValueError(
            f"a WhatsApp message with buttons needs body text: give the {content.type} "
            + ("some text" if isinstance(content, Text) else "a caption")
        )
    check_length(body_text, BODY_TEXT_MAX, "the body text of a WhatsApp interactive message")
    _check_unique((button.id for button in message.buttons), "id")
    interactive: dict[str, Any]
    if as_list:
        interactive = {"type": "list", "body": {"text": body_text}, "action": _list(message)}
    else:
        _check_unique((button.title for button in message.buttons), "title")
        interactive = {"type": "button"}
        header = _media_header(content)
        if header is not None:
            interactive["header"] = header
        interactive["body"] = {"text": body_text}
        interactive["action"] = {"buttons": [_reply_button(b) for b in message.buttons]}
    return {"type": "interactive", "interactive": interactive}


def _reply_button(button: Button) -> dict[str, Any]:
    _check_choice(button, title_max=BUTTON_TITLE_MAX, id_max=BUTTON_ID_MAX, kind="button")
    return {"type": "reply", "reply": {"id": button.id, "title": button.title}}


def _list(message: Outbound) -> dict[str, Any]:
    if len(message.buttons) > LIST_ROWS_MAX:
        raise ValueError(
            f"a WhatsApp list is limited to {LIST_ROWS_MAX} rows, got {len(message.buttons)}"
        )
    label = message.list_title or DEFAULT_LIST_BUTTON
    check_length(label, LIST_BUTTON_MAX, "the label of a WhatsApp list button (list_title)")
    rows = []
    for button in message.buttons:
        _check_choice(button, title_max=ROW_TITLE_MAX, id_max=ROW_ID_MAX, kind="list row")
        row = {"id": button.id, "title": button.title}
        if button.description:
            check_length(button.description, ROW_DESCRIPTION_MAX, "a WhatsApp list row description")
            row["description"] = button.description
        rows.append(row)
    return {"button": label, "sections": [{"rows": rows}]}


def _media_header(content: Text | Image | Video | File) -> dict[str, Any] | None:
    if isinstance(content, Image):
        return {"type": "image", "image": {"link": content.url}}
    if isinstance(content, Video):
        return {"type": "video", "video": {"link": content.url}}
    if isinstance(content, File):
        document = {"link": content.url}
        if content.name:
            document["filename"] = content.name
        return {"type": "document", "document": document}
    return None


def _check_choice(button: Button, *, title_max: int, id_max: int, kind: str) -> None:
    if not button.id:
        raise ValueError(f"a WhatsApp {kind} needs an id (title {button.title!r})")
    if not button.title:
        raise ValueError(f"a WhatsApp {kind} needs a title (id {button.id!r})")
    check_length(button.title, title_max, f"a WhatsApp {kind} title")
    check_length(button.id, id_max, f"a WhatsApp {kind} id")


def _check_unique(values: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"WhatsApp choices need distinct {what}s: {value!r} is repeated")
        seen.add(value)
