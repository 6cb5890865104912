"""The one normalised event type.

Every webhook the provider sends -- Messages API v1 and v0.1, the legacy SMS API, Dispatch --
becomes an :class:`Event`. Bots, stores and the runtime only ever see this type; the wire formats
stay inside :mod:`botkit.vonage`.

An event is immutable. ``raw`` keeps the payload exactly as it arrived (after form decoding for
the SMS API), so nothing the provider said is lost even where botkit has no field for it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator


class EventKind(StrEnum):
    """What an event is about."""

    MESSAGE = "message"
    """A user wrote to the bot."""
    STATUS = "status"
    """The provider reports progress of a message the bot sent."""
    WORKFLOW = "workflow"
    """A message with a failover policy reached its end (``ctx.reply(..., failover=...)``, or a
    Dispatch workflow's final report); with a :class:`FailoverOutcome` as its content it reaches
    ``@on.failover`` handlers."""
    NOTIFICATION = "notification"
    """The team's own systems told the bot something about the user (a proactive event: the
    events API, ``botkit notify`` or :class:`~botkit.Notifier`); its content is a
    :class:`Notification`."""
    TIMER = "timer"
    """A timer the bot scheduled (``ctx.schedule``) or a state's timeout fell due; its content is
    a :class:`Timer`."""


class Channel(StrEnum):
    """The channels botkit speaks. Viber is ``viber`` here whatever the wire calls it."""

    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"
    VIBER = "viber"
    SMS = "sms"
    MMS = "mms"


class WebhookFormat(StrEnum):
    """The wire format an event arrived in."""

    V1 = "v1"
    V0_1 = "v0.1"
    SMS_API = "sms-api"
    DISPATCH = "dispatch"
    API = "api"
    """botkit's own: a proactive event from the events API, the CLI or the Python API, or a
    timer that fell due."""


class DeliveryStatus(StrEnum):
    """Where an outbound message stands, on one scale for every API.

    The order of the members is the order of progress; see :attr:`rank`.
    """

    SUBMITTED = "submitted"
    DELIVERED = "delivered"
    READ = "read"
    REJECTED = "rejected"
    UNDELIVERABLE = "undeliverable"

    @property
    def rank(self) -> int:
        """Progress rank: a status never moves to a lower rank (``read`` is not undone)."""
        return _STATUS_RANK[self]

    @property
    def is_final(self) -> bool:
        """True when no further status is expected for the message."""
        return self in (DeliveryStatus.READ, DeliveryStatus.REJECTED, DeliveryStatus.UNDELIVERABLE)


_STATUS_RANK = {
    DeliveryStatus.SUBMITTED: 0,
    DeliveryStatus.DELIVERED: 1,
    DeliveryStatus.READ: 2,
    DeliveryStatus.REJECTED: 2,
    DeliveryStatus.UNDELIVERABLE: 2,
}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- content -----------------------------------------------------------------------------------


class Text(_Model):
    type: Literal["text"] = "text"
    text: str


class Image(_Model):
    type: Literal["image"] = "image"
    url: str
    caption: str | None = None


class Audio(_Model):
    type: Literal["audio"] = "audio"
    url: str
    caption: str | None = None


class Video(_Model):
    type: Literal["video"] = "video"
    url: str
    caption: str | None = None
    thumb_url: str | None = None


class File(_Model):
    type: Literal["file"] = "file"
    url: str
    caption: str | None = None
    name: str | None = None


class Location(_Model):
    """A place the user shared: its coordinates, and its name and address when the app sent
    them."""

    type: Literal["location"] = "location"
    lat: float
    long: float
    name: str | None = None
    address: str | None = None
    url: str | None = None

    @property
    def place(self) -> str:
        """The place in words: its address, else its name, else ``"lat, long"`` (5 decimals)."""
        return self.address or self.name or f"{self.lat:.5f}, {self.long:.5f}"


class Contact(_Model):
    """A contact card, as a vCard file (``url``)."""

    type: Literal["contact"] = "contact"
    url: str
    caption: str | None = None


class Sticker(_Model):
    """A sticker: a ``.webp`` ``url`` or a provider sticker ``id``."""

    type: Literal["sticker"] = "sticker"
    url: str | None = None
    id: str | None = None


class Reaction(_Model):
    """An emoji reaction to an earlier message (``emoji`` is None when it was removed)."""

    type: Literal["reaction"] = "reaction"
    action: Literal["react", "unreact"]
    emoji: str | None = None


class ButtonReply(_Model):
    """The user picked a button, a list row or a quick reply the bot offered.

    ``id`` is what the bot gave the choice (a reply id, or a template button's payload);
    ``title`` is what the user saw. ``source`` says how it was picked: tapped (``reply``,
    ``button``, ``quick_reply``), or typed as its position (``numbered_option``) or its title
    (``typed_title``).
    """

    type: Literal["button"] = "button"
    id: str
    title: str | None = None
    description: str | None = None
    source: Literal["reply", "button", "quick_reply", "numbered_option", "typed_title"] = "reply"


class OrderItem(_Model):
    product_retailer_id: str
    quantity: int
    item_price: float | None = None
    currency: str | None = None


class Order(_Model):
    type: Literal["order"] = "order"
    catalog_id: str | None = None
    items: tuple[OrderItem, ...] = ()


class InboundTemplate(_Model):
    """A template message as it arrived in a webhook (Messages API v0.1 reports a WhatsApp
    template's name and parameters). What a bot sends is :class:`botkit.Template`."""

    type: Literal["template"] = "template"
    name: str
    parameters: tuple[str, ...] = ()


class Unsupported(_Model):
    """A message type botkit does not know: ``declared_type`` is what the provider called it and
    ``raw`` keeps the part of the payload that carried it."""

    type: Literal["unsupported"] = "unsupported"
    declared_type: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict)


class Notification(_Model):
    """A proactive event: something the team's own systems (a shop, a CRM) tell the bot about
    the user, such as ``order_shipped``. ``name`` is what handlers match
    (``@on.event("order_shipped")``); ``data`` is the JSON object the caller gave (``{}`` when
    none). The event's ``message_id`` is the caller's dedup key."""

    type: Literal["notification"] = "notification"
    name: str
    data: dict[str, Any] = Field(default_factory=dict)


class Timer(_Model):
    """A timer that fell due: ``key`` is what the bot scheduled it under (what
    ``@on.timer(key)`` matches) and ``data`` the JSON value it gave ``ctx.schedule`` (None for
    none). The event's ``timestamp`` is when it was due; its ``message_id`` is the timer's id,
    fresh for every scheduling."""

    type: Literal["timer"] = "timer"
    key: str
    data: Any = None


class FailoverStep(_Model):
    """One step of a message with a failover policy, as it ended.

    ``status`` is the last status the step's message reached (None when it was never sent:
    an earlier step succeeded first); ``error`` the provider's (or a channel rule's) reason
    when it was refused; ``reason`` says in words why the message moved on from this step, or
    why it ended there."""

    channel: Channel
    status: DeliveryStatus | None = None
    error: ProviderError | None = None
    reason: str = ""


class FailoverOutcome(_Model):
    """How a message with a failover policy ended: ``channel`` is the channel whose step met
    its condition (the last step: was delivered), None when every step failed or the last one
    never reported back; ``steps`` holds every step in order, the first being the message
    itself. ``id`` is botkit's id of that first message."""

    type: Literal["failover"] = "failover"
    id: str
    channel: Channel | None = None
    steps: tuple[FailoverStep, ...] = ()

    @property
    def succeeded(self) -> bool:
        """True when a step met its condition."""
        return self.channel is not None


class MultiPart(_Model):
    """Several media parts sent as one message (multi-part MMS)."""

    type: Literal["multipart"] = "multipart"
    parts: tuple[Image | Audio | Video | File | Contact | Text, ...]


SharedContent = Text | Image | Audio | Video | File | Location | Contact | Sticker | Reaction
"""What both the user and the bot may send (the bot's own kinds are in ``OutboundContent``)."""

Content = Annotated[
    SharedContent
    | ButtonReply
    | Order
    | InboundTemplate
    | MultiPart
    | Notification
    | Timer
    | FailoverOutcome
    | Unsupported,
    Field(discriminator="type"),
]
"""Everything a message can carry, told apart by ``type``."""


# --- metadata ----------------------------------------------------------------------------------


class ReplyContext(_Model):
    """The message a WhatsApp (or Viber) message answers or quotes."""

    message_id: str | None = None
    message_from: str | None = None
    referred_product: dict[str, str] | None = None


class SmsInfo(_Model):
    """What the SMS network adds to a text: the keyword, and how many parts it came in."""

    keyword: str | None = None
    num_messages: int | None = None
    encoding: Literal["text", "unicode", "binary"] | None = None
    missing_parts: tuple[int, ...] = ()
    """Numbers of the parts of a long SMS that never arrived, in order: not empty only when
    the message is delivered incomplete (its wait, ``BOTKIT_SMS_CONCAT_TIMEOUT``, ran out, or
    the parts buffer's bounds pushed it out early). The text is then the parts that did
    arrive, joined in order."""


class Usage(_Model):
    price: str | None = None
    currency: str | None = None


class ProviderError(_Model):
    """One error shape for v0.1 ``{code, reason}``, v1 problem objects and legacy ``err-code``.

    ``code`` is the provider's numeric code when it gave one (v1 carries it in ``title``).
    """

    code: int | None = None
    title: str
    detail: str | None = None
    type: str | None = None


class StatusInfo(_Model):
    """Progress of an outbound message.

    ``status`` is on botkit's one scale; ``original`` is the provider's own word (for example the
    legacy DLR ``expired``, which botkit reads as ``undeliverable``).
    """

    status: DeliveryStatus
    original: str
    error: ProviderError | None = None


class WorkflowMessage(_Model):
    message_id: str
    channel: Channel | None = None
    status: str | None = None


class WorkflowInfo(_Model):
    """A Dispatch workflow the event belongs to, and for final reports its outcome."""

    workflow_id: str
    outcome: Literal["completed", "error"] | None = None
    messages: tuple[WorkflowMessage, ...] = ()


# --- the event ---------------------------------------------------------------------------------


class Event(_Model):
    """Something that arrived from the provider, in one shape whatever the API.

    - ``user`` is the person's address on ``channel`` (an E.164 number without ``+``, a
      Messenger page-scoped id or a Viber id); ``bot`` is the bot's own number or id there. For
      statuses they are the recipient and the sender of the bot's message. A Dispatch final
      report names neither: both are None.
    - ``message_id`` is the provider's id of the message the event is about: the user's message
      for ``MESSAGE``, the bot's own message for ``STATUS``, the workflow for ``WORKFLOW``; for
      ``NOTIFICATION``, the caller's dedup key (a fresh id when it gave none); for ``TIMER``,
      the timer's id.
    - ``timestamp`` is an aware UTC datetime.
    """

    kind: EventKind
    channel: Channel
    user: str | None
    bot: str | None
    message_id: str
    timestamp: AwareDatetime
    format: WebhookFormat
    raw: dict[str, Any]
    client_ref: str | None = None
    content: Content | None = None
    context: ReplyContext | None = None
    profile_name: str | None = None
    sms: SmsInfo | None = None
    status: StatusInfo | None = None
    usage: Usage | None = None
    workflow: WorkflowInfo | None = None

    @field_validator("timestamp")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @property
    def conversation_key(self) -> str | None:
        """``channel:bot:user``: stable for one person talking to one bot number on one channel."""
        if self.user is None or self.bot is None:
            return None
        return f"{self.channel.value}:{self.bot}:{self.user}"

    @property
    def dedup_key(self) -> str:
        """What makes a delivery of this event the same as an earlier one.

        A message is itself once; a status is one step of one message, so the provider's retries
        of the same step collapse while ``delivered`` and ``read`` stay distinct.
        """
        if self.kind is EventKind.STATUS and self.status is not None:
            return f"status:{self.message_id}:{self.status.original}"
        return f"{self.kind.value}:{self.message_id}"

    @property
    def text(self) -> str | None:
        """The text of a text message (or a button's title), else None."""
        if isinstance(self.content, Text):
            return self.content.text
        if isinstance(self.content, ButtonReply):
            return self.content.title
        return None

    def private_texts(self) -> list[str]:
        """The strings of this event that quote the user or name them other than by number:
        every text of its content (texts, captions, titles, names) and a user id that is not a
        phone number. Logs hide them (see :func:`botkit.log.private`)."""
        found: list[str] = []
        if self.user and not self.user.isdigit():
            found.append(self.user)
        if self.profile_name:
            found.append(self.profile_name)
        if self.content is not None:
            _strings(self.content.model_dump(), found)
        return found


def _strings(value: Any, found: list[str]) -> None:
    if isinstance(value, str):
        found.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "type":  # the content's kind, not the user's words
                _strings(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _strings(item, found)
