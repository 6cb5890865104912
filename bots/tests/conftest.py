"""The example bots' tests use botkit's own pytest plugin, and the project's Redis server."""

from tests.conftest import redis_server

__all__ = ["redis_server"]
