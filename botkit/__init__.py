"""botkit: conversational bots on WhatsApp, Messenger, Viber and SMS through the Vonage APIs.

The names below are the public API; everything else is internal and may change.
"""

from botkit.bot import Bot, BotDefinitionError
from botkit.context import Context, NotAwaited, User
from botkit.errors import BotkitError, ConfigError, InvalidPayload, SignatureError
from botkit.events import (
    Audio,
    ButtonReply,
    Channel,
    Contact,
    Content,
    DeliveryStatus,
    Event,
    EventKind,
    File,
    Image,
    Location,
    MultiPart,
    Order,
    ProviderError,
    Reaction,
    Sticker,
    Template,
    Text,
    Unsupported,
    Video,
    WebhookFormat,
)
from botkit.handlers import on
from botkit.machine import InvalidTrigger
from botkit.outbound import Button, Outbound

__all__ = [
    "Audio",
    "Bot",
    "BotDefinitionError",
    "BotkitError",
    "Button",
    "ButtonReply",
    "Channel",
    "ConfigError",
    "Contact",
    "Content",
    "Context",
    "DeliveryStatus",
    "Event",
    "EventKind",
    "File",
    "Image",
    "InvalidPayload",
    "InvalidTrigger",
    "Location",
    "MultiPart",
    "NotAwaited",
    "Order",
    "Outbound",
    "ProviderError",
    "Reaction",
    "SignatureError",
    "Sticker",
    "Template",
    "Text",
    "Unsupported",
    "User",
    "Video",
    "WebhookFormat",
    "on",
]
