"""The example bots' tests use botkit's own pytest plugin (``bot_chat``); the project's Redis
server, and the stand-in and settings for the tests that build an app themselves."""

from tests.conftest import provider, redis_server, settings_for

__all__ = ["provider", "redis_server", "settings_for"]
