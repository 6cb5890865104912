"""The public API is what ``botkit.__all__`` says, and nothing changes it by accident."""

import botkit

PUBLIC = [
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


def test_all_is_pinned() -> None:
    assert sorted(botkit.__all__) == PUBLIC


def test_every_public_name_resolves() -> None:
    for name in botkit.__all__:
        assert getattr(botkit, name) is not None, name
