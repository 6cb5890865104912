"""The example bots' tests use botkit's own pytest plugin (``bot_chat``); the project's Redis
server, and the stand-in and settings for the tests that build an app themselves."""

from tests.conftest import chat_store, provider, redis_server, settings_for

__all__ = ["chat_store", "provider", "redis_server", "settings_for"]
