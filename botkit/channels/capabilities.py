"""What each channel carries, as data: one :class:`Capability` per :class:`Channel`.

The rules in :mod:`botkit.channels.rules` read only this table, so a channel's limits are stated
once, here. Content types are named by the ``type`` of botkit's content models (``"text"``,
``"image"``, ...). The figures are the Messages API's (v1 specification, and the official SDKs
where the specification says nothing); a comment marks each figure taken from elsewhere. Where
the Messages API v0.1 carries less than v1, the ``*_v0_1`` fields say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from botkit.events import Channel

ApiVersion = Literal["v1", "v0.1"]


class AddressKind(StrEnum):
    """How a channel addresses a party."""

    NUMBER = "number"
    """A phone number, E.164 without ``+`` or ``00``."""
    ID = "id"
    """A provider id: a Messenger page-scoped user id or page id, a Viber service id (1-50)."""
    SENDER_ID = "sender_id"
    """A number, a short code or an alphanumeric sender id of up to 11 characters."""


@dataclass(frozen=True)
class ChoiceSupport:
    """How a channel shows choices offered with a message (:class:`~botkit.outbound.Button`).

    Choices the channel cannot show natively become numbered options in the text.
    """

    buttons: int = 0
    """Most reply buttons on one message (0: none)."""
    list_rows: int = 0
    """Most rows of a list message (0: no lists)."""
    button_title: int | None = None
    """Longest reply-button title."""
    button_id: int | None = None
    row_title: int | None = None
    """Longest list-row title."""
    row_id: int | None = None
    row_description: int | None = None
    """Longest list-row description."""
    list_label: int | None = None
    """Longest label of the button that opens a list (``list_title``)."""
    button_content: frozenset[str] = frozenset()
    """Content types that can carry reply buttons (media need a caption, the body text)."""
    list_content: frozenset[str] = frozenset()
    """Content types that can carry a list."""
    body_limit: int | None = None
    """Longest text (or caption) of a message that carries buttons or a list."""
    link_button: bool = False
    """One button opening a URL (Viber's action button), on ``link_button_content``; v1 only."""
    link_button_title: int | None = None
    link_button_content: frozenset[str] = frozenset()

    @property
    def any(self) -> bool:
        """True when the channel shows some choices natively."""
        return bool(self.buttons or self.list_rows or self.link_button)


@dataclass(frozen=True)
class CareWindow:
    """Free-form messages are allowed for ``seconds`` after the user's last message.

    Outside it, ``outside`` says what still goes: approved ``"template"`` messages (WhatsApp)
    or messages sent with a ``"message_tag"`` (Messenger category ``message_tag`` and a tag).
    """

    seconds: float
    outside: Literal["template", "message_tag"]


@dataclass(frozen=True)
class Capability:
    """Everything the rules need to know about one channel."""

    channel: Channel
    name: str
    """The channel's name in messages to people: ``"WhatsApp"``."""
    content: frozenset[str]
    """Content types the channel carries natively on the Messages API v1."""
    content_v0_1: frozenset[str]
    """Content types it carries on v0.1."""
    text_limit: int | None
    """Longest text message, in characters (None: no stated limit)."""
    recipient: AddressKind
    sender: AddressKind
    read_status: bool
    """Whether the channel reports ``read`` statuses."""
    caption_limits: Mapping[str, int] = field(default_factory=dict)
    """Longest caption per content type on v1; a type not listed carries no caption."""
    captions_v0_1: frozenset[str] = frozenset()
    """Content types that carry a caption on v0.1 (within ``caption_limits``)."""
    extensions: Mapping[str, frozenset[str] | None] = field(default_factory=dict)
    """Accepted URL extensions per media type (lower case, with the dot); None: any."""
    choices: ChoiceSupport = ChoiceSupport()
    window: CareWindow | None = None
    user_writes_first: bool = False
    """The bot may write only to users who wrote to it first (Messenger)."""
    ttl_range: tuple[int, int] | None = None
    """Accepted time to live of a message, in seconds (Viber's and MMS's ``ttl``)."""
    file_name_limit: int | None = None
    """Longest file name (name and extension) of a file message."""
    unavailable_in: frozenset[str] = frozenset()
    """Territories (ISO 3166 codes, see :mod:`botkit.channels.addresses`) it does not serve."""
    only_in: frozenset[str] = frozenset()
    """When set, the only territories it serves: both the recipient's and the sender's number
    must belong to one of them (MMS: the United States)."""
    video_details: bool = False
    """A video must state its duration, file size and thumbnail (Viber)."""
    first_message_promotional: bool = True
    """Whether the business's first message to a user may be promotional (Viber: no)."""

    def carries(self, kind: str, api_version: ApiVersion) -> bool:
        """True when the channel carries content of type ``kind`` on ``api_version``."""
        return kind in (self.content if api_version == "v1" else self.content_v0_1)

    def caption_limit(self, kind: str, api_version: ApiVersion) -> int | None:
        """The longest caption of ``kind`` on ``api_version``; None when it carries none."""
        if api_version == "v0.1" and kind not in self.captions_v0_1:
            return None
        return self.caption_limits.get(kind)


_DAY = 24 * 3600.0
_IMAGES = frozenset({".jpg", ".jpeg", ".png"})
_VIBER_FILES = frozenset(
    {
        ".doc", ".docx", ".rtf", ".dot", ".dotx", ".odt", ".odf", ".fodt", ".txt", ".info",
        ".pdf", ".xps", ".pdax", ".eps", ".xls", ".xlsx", ".ods", ".fods", ".csv", ".xlsm",
        ".xltx",
    }
)  # fmt: skip

WHATSAPP = Capability(
    channel=Channel.WHATSAPP,
    name="WhatsApp",
    # sticker and reaction are in the SDKs only. Contacts go as a custom object.
    content=frozenset(
        {"text", "image", "audio", "video", "file", "location", "sticker", "reaction"}
        | {"template", "custom", "contacts"}
    ),
    content_v0_1=frozenset(
        {"text", "image", "audio", "video", "file", "template", "custom", "contacts"}
    ),
    text_limit=4096,
    recipient=AddressKind.NUMBER,
    sender=AddressKind.NUMBER,
    read_status=True,
    # The v1 specification gives 3000 for images only; v0.1 gave 1-3000 for every caption.
    caption_limits={"image": 3000, "video": 3000, "file": 3000},
    captions_v0_1=frozenset({"image", "file"}),
    extensions={
        "image": _IMAGES,
        "audio": frozenset({".aac", ".m4a", ".amr", ".mp3", ".opus"}),
        "video": frozenset({".mp4", ".3gpp"}),
        "file": None,
        "sticker": frozenset({".webp"}),
    },
    # Meta's limits for interactive messages; the Messages API passes them on as they are.
    choices=ChoiceSupport(
        buttons=3,
        list_rows=10,
        button_title=20,
        button_id=256,
        row_title=24,
        row_id=200,
        row_description=72,
        list_label=20,
        button_content=frozenset({"text", "image", "video", "file"}),
        list_content=frozenset({"text"}),
        body_limit=1024,
    ),
    window=CareWindow(seconds=_DAY, outside="template"),
    # Crimea is UA-43; see botkit.channels.addresses.territory_of.
    unavailable_in=frozenset({"CU", "IR", "KP", "SY", "UA-43"}),
)

MESSENGER = Capability(
    channel=Channel.MESSENGER,
    name="Messenger",
    content=frozenset({"text", "image", "audio", "video", "file"}),
    # Templates go as custom objects, which v1 has none of for Messenger.
    content_v0_1=frozenset(
        {"text", "image", "audio", "video", "file", "generic_template", "button_template"}
    ),
    text_limit=640,
    recipient=AddressKind.ID,
    sender=AddressKind.ID,
    read_status=True,
    extensions={
        "image": _IMAGES | {".gif"},
        "audio": frozenset({".mp3"}),
        "video": frozenset({".mp4"}),
        "file": None,
    },
    window=CareWindow(seconds=_DAY, outside="message_tag"),
    user_writes_first=True,
)

VIBER = Capability(
    channel=Channel.VIBER,
    name="Viber",
    # v1 video needs viber_service duration and file_size, and a thumbnail (video_details).
    content=frozenset({"text", "image", "video", "file"}),
    content_v0_1=frozenset({"text", "image", "template"}),
    text_limit=1000,
    recipient=AddressKind.NUMBER,
    sender=AddressKind.ID,
    read_status=True,
    # The specification states no image caption limit; the message text limit is taken. The
    # SDKs cap a video caption at 1000.
    caption_limits={"image": 1000, "video": 1000},
    extensions={"image": _IMAGES, "file": _VIBER_FILES},
    choices=ChoiceSupport(
        link_button=True,
        link_button_title=30,
        link_button_content=frozenset({"text", "image"}),
    ),
    ttl_range=(30, 259200),
    file_name_limit=25,
    video_details=True,
    first_message_promotional=False,
)

SMS = Capability(
    channel=Channel.SMS,
    name="SMS",
    content=frozenset({"text"}),
    content_v0_1=frozenset({"text"}),
    text_limit=1000,
    recipient=AddressKind.NUMBER,
    sender=AddressKind.SENDER_ID,
    read_status=False,
)

MMS = Capability(
    channel=Channel.MMS,
    name="MMS",
    # text and file are in the SDKs only.
    content=frozenset({"text", "image", "audio", "video", "file", "contact"}),
    content_v0_1=frozenset({"image", "contact"}),
    text_limit=None,
    recipient=AddressKind.NUMBER,
    sender=AddressKind.SENDER_ID,
    read_status=False,
    caption_limits={"image": 2000, "audio": 2000, "video": 2000, "file": 2000, "contact": 2000},
    captions_v0_1=frozenset({"image"}),
    # .mp3 and .mp4 are only recommended for audio and video.
    extensions={
        "image": _IMAGES | {".gif"},
        "audio": None,
        "video": None,
        "file": None,
        "contact": frozenset({".vcf"}),
    },
    only_in=frozenset({"US"}),
    ttl_range=(300, 259200),  # the SDKs' bounds of an MMS ttl
)

CAPABILITIES: Mapping[Channel, Capability] = MappingProxyType(
    {cap.channel: cap for cap in (WHATSAPP, MESSENGER, VIBER, SMS, MMS)}
)
"""The table: every :class:`Channel` has its capability."""


def capability(channel: Channel) -> Capability:
    """The capability of ``channel``."""
    return CAPABILITIES[channel]
