"""Commands packed by hiredis: redis-py's asyncio connections pack every command in Python.

redis-py's synchronous client packs commands with hiredis when it is installed (a dependency of
botkit, through ``redis[hiredis]``); its asyncio client never does, and packing the dozen
arguments of each script call was the largest single cost of a turn in the Redis client. The
connection classes here pack with the same serializer redis-py's synchronous client uses, so
the bytes sent are the same.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from redis.asyncio.connection import AbstractConnection

try:
    from redis.connection import HiredisRespSerializer
    from redis.utils import HIREDIS_AVAILABLE
except ImportError:  # an older redis-py: it packs in Python, as before
    HIREDIS_AVAILABLE = False


@cache
def hiredis_packing(connection_class: type[AbstractConnection]) -> type[AbstractConnection]:
    """``connection_class`` packing its commands with hiredis (itself without hiredis)."""
    if not HIREDIS_AVAILABLE:
        return connection_class
    pack = HiredisRespSerializer().pack

    def pack_command(self: AbstractConnection, *args: Any) -> list[bytes]:
        packed: list[bytes] = pack(*args)
        return packed

    name = f"Hiredis{connection_class.__name__}"
    return type(name, (connection_class,), {"pack_command": pack_command})
