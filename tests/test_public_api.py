"""The public API is what ``botkit.__all__`` says, and nothing changes it by accident."""

from __future__ import annotations

import re
from pathlib import Path

import botkit
from botkit import events, outbound

ROOT = Path(__file__).resolve().parent.parent

PUBLIC = [
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

PUBLIC_MODULES = {"botkit", "botkit.testing"}
"""What a bot, its tests and the README may import from."""


def test_all_is_pinned() -> None:
    assert sorted(botkit.__all__) == PUBLIC


def test_star_import_gives_exactly_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from botkit import *", namespace)
    assert sorted(name for name in namespace if name != "__builtins__") == PUBLIC


def test_public_classes_and_functions_are_botkits_own() -> None:
    for name in PUBLIC:
        value = getattr(botkit, name)
        module = getattr(value, "__module__", None)
        if isinstance(value, type) or (callable(value) and module not in ("typing", "types")):
            assert isinstance(module, str), name
            assert module.startswith("botkit."), f"{name} comes from {module}"


def test_template_is_the_one_a_bot_sends() -> None:
    """``Template`` is what goes in ``templates`` and in a reply; the content type of a template
    message that arrived in a webhook has a name of its own."""
    assert botkit.Template is outbound.Template
    assert botkit.InboundTemplate is events.InboundTemplate
    sent = botkit.Outbound(
        channel=botkit.Channel.WHATSAPP,
        to="447700900001",
        sender="447700900000",
        content=botkit.Template(name="welcome", parameters=("Ann",)),
    )
    assert sent.content == outbound.Template(name="welcome", parameters=("Ann",), locale="en_US")


def _imported_modules(source: str) -> set[str]:
    found = set(re.findall(r"^\s*from\s+(botkit[\w.]*)\s+import\b", source, flags=re.M))
    found |= set(re.findall(r"^\s*import\s+(botkit[\w.]*)", source, flags=re.M))
    return found


def test_the_example_bots_and_their_tests_import_only_public_modules() -> None:
    files = sorted((ROOT / "bots").rglob("*.py"))
    assert files, "no example bots found"
    for path in files:
        internal = _imported_modules(path.read_text()) - PUBLIC_MODULES
        assert not internal, f"{path.relative_to(ROOT)} imports internal modules: {internal}"


def test_the_readme_code_imports_only_public_modules() -> None:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert blocks, "the README shows no Python code"
    for block in blocks:
        internal = _imported_modules(block) - PUBLIC_MODULES
        assert not internal, f"the README imports internal modules: {internal}\n{block}"


def test_the_import_check_sees_an_internal_import() -> None:
    assert _imported_modules("from botkit.outbound import Template\nimport botkit.clock\n") == {
        "botkit.outbound",
        "botkit.clock",
    }
