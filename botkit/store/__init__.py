"""Stores behind one small interface: the embedded memory store and Redis."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botkit.store.base import Store

if TYPE_CHECKING:
    from botkit.settings import Settings


def open_store(settings: Settings) -> Store:
    """Redis when ``REDIS_URL`` is set, else the embedded in-memory store."""
    if settings.redis_url:
        from botkit.store.redis import RedisStore

        return RedisStore.from_url(
            settings.redis_url,
            prefix=settings.redis_prefix,
            lease_seconds=settings.lease_seconds,
            dedup_seconds=settings.dedup_seconds,
            idle_seconds=settings.conversation_ttl,
            ssl_cert_reqs=settings.redis_ssl_cert_reqs,
            cluster=settings.redis_cluster,
            wait_replicas=settings.redis_wait_replicas,
        )
    from botkit.store.memory import MemoryStore

    return MemoryStore(
        lease_seconds=settings.lease_seconds,
        dedup_seconds=settings.dedup_seconds,
        idle_seconds=settings.conversation_ttl,
    )
