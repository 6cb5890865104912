"""Channel rules: what each channel carries, and the checks every outbound message passes.

:func:`apply_rules` turns one :class:`~botkit.outbound.Outbound` into a :class:`Plan` (the
messages to send and what was changed) or raises a :class:`ChannelRuleError` that says what was
wrong and what to do. The channels' limits are in :data:`CAPABILITIES`.
"""

from botkit.channels.capabilities import (
    CAPABILITIES,
    AddressKind,
    Capability,
    CareWindow,
    ChoiceSupport,
    capability,
)
from botkit.channels.errors import (
    ChannelRuleError,
    CountryNotSupported,
    InvalidAddress,
    RecipientNotAllowed,
    TooLong,
    UnsupportedOnChannel,
    WindowClosed,
)
from botkit.channels.rules import (
    RULES,
    Facts,
    Plan,
    Stage,
    Step,
    apply_rules,
    resolve_numbered_reply,
)
from botkit.channels.templates import match_template

__all__ = [
    "CAPABILITIES",
    "RULES",
    "AddressKind",
    "Capability",
    "CareWindow",
    "ChannelRuleError",
    "ChoiceSupport",
    "CountryNotSupported",
    "Facts",
    "InvalidAddress",
    "Plan",
    "RecipientNotAllowed",
    "Stage",
    "Step",
    "TooLong",
    "UnsupportedOnChannel",
    "WindowClosed",
    "apply_rules",
    "capability",
    "match_template",
    "resolve_numbered_reply",
]
