"""The example bots' tests use botkit's own pytest plugin (``bot_chat``) and, for the pizza
bot's runs on Redis, the project's Redis server."""

from tests.conftest import redis_server

__all__ = ["redis_server"]
