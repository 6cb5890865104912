"""Redis Cluster: telling a cluster node from a lone Redis, and the client that speaks to one.

The cluster client follows MOVED and ASK redirections (the node that answers one did not run
the command) but never re-sends a command whose reply was lost: its retries are off, as the
single-node client's are, so a script runs at most once per call.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import redis
from redis import exceptions as rx
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import SSLConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from botkit.log import get_logger

log = get_logger("botkit.store")

ClusterMode = Literal["auto", "true", "false"]
"""``REDIS_CLUSTER``: ``auto`` asks the server at start; ``true`` or ``false`` force it."""

MODES: Final = ("auto", "true", "false")


def is_cluster(url: str, mode: ClusterMode, connection: dict[str, Any]) -> bool:
    """Whether ``url`` is a Redis Cluster node: ``mode`` when forced, else the server's answer
    to ``INFO cluster``. A server unreachable at start is taken as a lone Redis, with a
    warning: set ``REDIS_CLUSTER=true`` when it is a cluster that may be down when botkit
    starts."""
    if mode not in MODES:
        raise ValueError(f"cluster must be one of {MODES}, not {mode!r}")
    if mode != "auto":
        return mode == "true"
    if url.startswith("unix://"):
        return False
    probe_options = {
        name: connection[name]
        for name in ("ssl_cert_reqs", "ssl_check_hostname", "db", "username", "password")
        if name in connection
    }
    probe = redis.Redis.from_url(
        url,
        socket_connect_timeout=connection["socket_connect_timeout"],
        socket_timeout=connection["socket_timeout"],
        **probe_options,
    )
    try:
        info = probe.info("cluster")
    except rx.RedisError as exc:
        log.warning(
            "Redis did not answer whether it is a cluster; using it as a lone Redis "
            "(set REDIS_CLUSTER=true if it is a cluster)",
            error=str(exc),
        )
        return False
    finally:
        probe.close()
    return bool(info.get("cluster_enabled"))


def cluster_client(connection: dict[str, Any]) -> RedisCluster:
    """A cluster client from parsed URL options (those of a single-node pool), retries off.

    ``max_connections`` is per node; a call that finds them all busy raises at once rather
    than waiting (the single-node pool's ``timeout`` does not apply)."""
    options = dict(connection)
    if options.pop("connection_class", None) is SSLConnection:
        options["ssl"] = True
    if options.pop("db", 0) not in (0, "0"):
        raise ValueError("a Redis Cluster has database 0 only: drop the /N from REDIS_URL")
    options.pop("timeout", None)
    options["retry"] = Retry(NoBackoff(), 0)
    return RedisCluster(**options)


def mark_stale(client: RedisCluster) -> None:
    """Make the next command re-read the cluster's layout: a node failed, so its slots may
    have moved to a replica. Nothing in flight is re-sent."""
    # The client re-reads the layout itself only after a single command fails, not after a
    # pipeline; its flag is the one lever for that.
    client._initialize = True
