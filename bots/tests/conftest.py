"""The example bots' tests use the project's shared fixtures."""

from tests.conftest import provider, redis_prefix, redis_server, settings_for

__all__ = ["provider", "redis_prefix", "redis_server", "settings_for"]
