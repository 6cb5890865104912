"""What a bot sends: one outbound message to one user on one channel.

The content vocabulary is the inbound one where it fits (:class:`~botkit.events.Text`,
:class:`~botkit.events.Image`, ...) plus what only a bot sends: :class:`Template`,
:class:`Custom`, WhatsApp :class:`Contacts` cards, Messenger's :class:`GenericTemplate` and
:class:`ButtonTemplate`, and choices (:class:`Button`) offered as buttons, a list or quick
replies.

Outbound messages are written to the conversation's outbox as part of a turn's atomic commit
and sent after it, so they are plain, serialisable values.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from botkit.events import (
    Channel,
    SharedContent,
)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Template(_Model):
    """An approved WhatsApp template a bot sends: ``parameters`` fill ``{{1}}``, ``{{2}}``, ...
    in order. This is ``botkit.Template``, what a bot's ``templates`` map its replies to (a
    template message that arrives in a webhook is :class:`~botkit.events.InboundTemplate`).

    ``locale`` and ``policy`` go to the provider's ``whatsapp`` options.
    """

    type: Literal["template"] = "template"
    name: str
    parameters: tuple[str, ...] = ()
    locale: str = "en_US"
    policy: Literal["deterministic"] = "deterministic"


class Custom(_Model):
    """A provider object passed through as is (WhatsApp interactive messages, products, ...)."""

    type: Literal["custom"] = "custom"
    payload: dict[str, Any]


class Button(_Model):
    """A choice offered with a message: ``id`` comes back in the user's ``ButtonReply``."""

    id: str
    title: str
    description: str | None = None

    @property
    def is_link(self) -> bool:
        """True when ``id`` is a web address: the button opens it rather than answer (a
        Viber action button, a Messenger ``web_url`` button)."""
        return self.id.startswith(("https://", "http://"))


class ContactCard(_Model):
    """One person or business in a :class:`Contacts` message.

    ``name`` is the name as shown; ``first_name`` (``name`` when neither it nor ``last_name``
    is given, as WhatsApp wants one of them) and ``last_name`` complete it. ``phones`` are
    numbers as people write them (``+44 20 7946 0000``), ``emails``, ``urls``, ``company`` and
    ``birthday`` (``YYYY-MM-DD``) are shown on the card when given.
    """

    name: str = Field(min_length=1)
    first_name: str | None = None
    last_name: str | None = None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    company: str | None = None
    birthday: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")


class Contacts(_Model):
    """Contact cards a user can save with one tap (WhatsApp's contacts message): 1 to 257
    :class:`ContactCard`. Sent as the provider's ``custom`` contacts object on WhatsApp; other
    channels get the cards as text (or refuse them under ``unsupported = "refuse"``). A vCard
    file by URL is :class:`~botkit.events.Contact` instead (MMS)."""

    type: Literal["contacts"] = "contacts"
    cards: tuple[ContactCard, ...] = Field(min_length=1, max_length=257)


class GenericElement(_Model):
    """One card of a :class:`GenericTemplate`: ``title`` (up to 80 characters), ``subtitle``
    (80), an ``image_url``, the ``url`` a tap on the card opens, and up to 3 ``buttons``: a
    button whose id is a link opens it, any other sends its id back (a postback)."""

    title: str = Field(min_length=1, max_length=80)
    subtitle: str | None = Field(None, max_length=80)
    image_url: str | None = None
    url: str | None = None
    buttons: tuple[Button, ...] = Field((), max_length=3)


class GenericTemplate(_Model):
    """Messenger's generic template: a carousel of 1 to 10 :class:`GenericElement` cards.
    Carried on Messenger over the Messages API v0.1 (as a custom object); elsewhere it goes as
    text, its postback buttons as the channel's choices."""

    type: Literal["generic_template"] = "generic_template"
    elements: tuple[GenericElement, ...] = Field(min_length=1, max_length=10)


class ButtonTemplate(_Model):
    """Messenger's button template: ``text`` (up to 640 characters) with 1 to 3 ``buttons``; a
    button whose id is a link opens it, any other sends its id back. Carried on Messenger over
    the Messages API v0.1; elsewhere it is the text with the buttons as the channel's
    choices."""

    type: Literal["button_template"] = "button_template"
    text: str = Field(min_length=1, max_length=640)
    buttons: tuple[Button, ...] = Field(min_length=1, max_length=3)


OutboundContent = Annotated[
    SharedContent | Template | Custom | Contacts | GenericTemplate | ButtonTemplate,
    Field(discriminator="type"),
]
"""Everything a bot can send, told apart by ``type``."""


ChoiceStyle = Literal["buttons", "list", "quick_replies"]


class WhatsAppOptions(_Model):
    policy: Literal["deterministic"] | None = None
    locale: str | None = None


class MessengerOptions(_Model):
    category: Literal["response", "update", "message_tag"] | None = None
    tag: str | None = None


class ViberAction(_Model):
    url: str
    text: str


class ViberOptions(_Model):
    category: Literal["transaction", "promotion"] | None = None
    ttl: int | None = None
    """Seconds, 30 to 259200."""
    action: ViberAction | None = None
    duration: int | None = None
    """A video's length in seconds (1 to 600); the provider requires it, and the video's
    ``thumb_url``, for a Viber video."""
    file_size: int | None = None
    """A video's size in MB (1 to 200); the provider requires it for a Viber video."""


class MmsOptions(_Model):
    ttl: int | None = None
    """Seconds the provider keeps trying to deliver the message (300 to 259200; the provider's
    default is 600)."""


class SmsOptions(_Model):
    encoding: Literal["text", "unicode", "auto"] | None = None
    ttl: int | None = None
    """Seconds the network keeps trying."""
    entity_id: str | None = None
    content_id: str | None = None


class Outbound(_Model):
    """One message for ``to`` on ``channel``, from the bot's address ``sender``.

    ``id`` is botkit's own id for the message; it is sent as the provider's ``client_ref``
    unless the bot set one, so statuses and retries can be matched to it. ``reply_to`` quotes
    or reacts to the user's message with that provider id (WhatsApp ``context``).
    ``webhook_url`` sends this message's statuses to that URL instead of the application's
    status URL (the Messages API v1's ``webhook_url``; the SMS API's ``callback``, at most 100
    characters there); it must be an ``http://`` or ``https://`` URL.
    """

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    channel: Channel
    to: str
    sender: str
    content: OutboundContent
    buttons: tuple[Button, ...] = ()
    choice_style: ChoiceStyle = "buttons"
    list_title: str | None = None
    """The label of the button that opens a list (``choice_style="list"``)."""
    reply_to: str | None = None
    client_ref: str | None = None
    webhook_url: str | None = Field(None, pattern=r"^https?://[^\s]+$", max_length=2000)
    whatsapp: WhatsAppOptions | None = None
    messenger: MessengerOptions | None = None
    viber: ViberOptions | None = None
    sms: SmsOptions | None = None
    mms: MmsOptions | None = None
    workflow: tuple[WorkflowStep, ...] = ()
    """The further messages of a failover the provider carries out (``BOTKIT_FAILOVER=provider``):
    this message and these go as one Dispatch API workflow. Empty for a plain message."""

    @property
    def effective_client_ref(self) -> str:
        return self.client_ref or self.id

    @property
    def conversation_key(self) -> str:
        """The key of the conversation with the recipient (``channel:sender:to``), as
        :attr:`Event.conversation_key <botkit.Event.conversation_key>` names it."""
        return f"{self.channel.value}:{self.sender}:{self.to}"


class WorkflowStep(_Model):
    """The next message of a failover the provider carries out: ``message`` goes when the
    message before it has not reached ``when`` within ``within`` seconds, or was refused."""

    when: Literal["delivered", "read"]
    within: int
    message: Outbound


Outbound.model_rebuild()


Choices = list[str] | list[Button] | list[tuple[str, str]]
"""Choices offered with a message: titles (each its own id), ``(id, title)`` pairs or Buttons."""


def as_buttons(choices: Choices | None) -> tuple[Button, ...]:
    """Buttons from plain titles (the title is also the id), ``(id, title)`` pairs or Buttons."""
    if not choices:
        return ()
    buttons = []
    for choice in choices:
        if isinstance(choice, Button):
            buttons.append(choice)
        elif isinstance(choice, tuple):
            buttons.append(Button(id=choice[0], title=choice[1]))
        else:
            buttons.append(Button(id=choice, title=choice))
    return tuple(buttons)
