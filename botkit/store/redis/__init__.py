"""The Redis store: :class:`RedisStore` (in :mod:`.store`), its Lua scripts (:mod:`.scripts`) and
the batcher that pipelines them (:mod:`.batcher`)."""

from __future__ import annotations

from botkit.store.redis.batcher import Traffic
from botkit.store.redis.store import RedisStore

__all__ = ["RedisStore", "Traffic"]
