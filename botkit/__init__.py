"""botkit: conversational bots on WhatsApp, Messenger, Viber and SMS through the Vonage APIs.

The names below are the public API; everything else is internal and may change. A bot needs
nothing else: its class (:class:`Bot`, :data:`on`, :class:`Context`), what arrives
(:class:`Event` and its content types), what it sends (:class:`Outbound`, :class:`Template`,
the per-channel options, WhatsApp :class:`Contacts` and Messenger templates), what the channel
rules answer (:class:`Plan`, or a :class:`ChannelRuleError`), the clock, the app to run it in
(:func:`create_app`), how the team's own systems reach it with proactive events
(:class:`Notifier`), and state timeouts (:class:`Timeout`; timers are ``ctx.schedule`` and
``@on.timer``, their event content :class:`Timer`), and failover to another channel
(:class:`Fallback` in ``ctx.reply(..., failover=[...])``; its outcome,
:class:`FailoverOutcome`, reaches ``@on.failover``).
Test helpers are in :mod:`botkit.testing`.
"""

from botkit.bot import Bot
from botkit.channels.errors import (
    ChannelRuleError,
    CountryNotSupported,
    InvalidAddress,
    RecipientNotAllowed,
    TooLong,
    UnsupportedOnChannel,
    WindowClosed,
)
from botkit.channels.rules import Plan
from botkit.clock import Clock, OffsetClock, SystemClock
from botkit.context import Context, NotAwaited, User
from botkit.definition import BotDefinitionError
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
    FailoverOutcome,
    FailoverStep,
    File,
    Image,
    InboundTemplate,
    Location,
    MultiPart,
    Notification,
    Order,
    OrderItem,
    ProviderError,
    Reaction,
    ReplyContext,
    SmsInfo,
    StatusInfo,
    Sticker,
    Text,
    Timer,
    Unsupported,
    Usage,
    Video,
    WebhookFormat,
    WorkflowInfo,
    WorkflowMessage,
)
from botkit.failover import Fallback
from botkit.handlers import on
from botkit.machine import InvalidTrigger
from botkit.notifications import Notified, Notifier
from botkit.outbound import (
    Button,
    ButtonTemplate,
    Choices,
    ChoiceStyle,
    ContactCard,
    Contacts,
    Custom,
    GenericElement,
    GenericTemplate,
    MessengerOptions,
    MmsOptions,
    Outbound,
    OutboundContent,
    SmsOptions,
    Template,
    ViberAction,
    ViberOptions,
    WhatsAppOptions,
)
from botkit.server import create_app
from botkit.settings import Settings, load_settings
from botkit.timers import Timeout

__all__ = [
    "Audio",
    "Bot",
    "BotDefinitionError",
    "BotkitError",
    "Button",
    "ButtonReply",
    "ButtonTemplate",
    "Channel",
    "ChannelRuleError",
    "ChoiceStyle",
    "Choices",
    "Clock",
    "ConfigError",
    "Contact",
    "ContactCard",
    "Contacts",
    "Content",
    "Context",
    "CountryNotSupported",
    "Custom",
    "DeliveryStatus",
    "Event",
    "EventKind",
    "FailoverOutcome",
    "FailoverStep",
    "Fallback",
    "File",
    "GenericElement",
    "GenericTemplate",
    "Image",
    "InboundTemplate",
    "InvalidAddress",
    "InvalidPayload",
    "InvalidTrigger",
    "Location",
    "MessengerOptions",
    "MmsOptions",
    "MultiPart",
    "NotAwaited",
    "Notification",
    "Notified",
    "Notifier",
    "OffsetClock",
    "Order",
    "OrderItem",
    "Outbound",
    "OutboundContent",
    "Plan",
    "ProviderError",
    "Reaction",
    "RecipientNotAllowed",
    "ReplyContext",
    "Settings",
    "SignatureError",
    "SmsInfo",
    "SmsOptions",
    "StatusInfo",
    "Sticker",
    "SystemClock",
    "Template",
    "Text",
    "Timeout",
    "Timer",
    "TooLong",
    "Unsupported",
    "UnsupportedOnChannel",
    "Usage",
    "User",
    "ViberAction",
    "ViberOptions",
    "Video",
    "WebhookFormat",
    "WhatsAppOptions",
    "WindowClosed",
    "WorkflowInfo",
    "WorkflowMessage",
    "create_app",
    "load_settings",
    "on",
]
