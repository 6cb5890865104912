"""Scripts sent together: every script call made in one event-loop tick leaves in one round trip.

Calls made in the same tick, from any conversation, are pipelined (not a transaction: they may
live in different slots), so under load many turns share each round trip. A script the server
did not know is loaded and only it re-runs. Nothing else is ever re-sent: a lost reply fails
every call of its batch with :class:`~botkit.store.base.StoreUnavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from redis import exceptions as rx
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.commands.core import AsyncScript
from redis.crc import key_slot

from botkit.store.base import StoreUnavailable
from botkit.store.redis.cluster import mark_stale

UNREACHABLE: Final = (
    rx.ConnectionError,
    rx.TimeoutError,
    OSError,
    rx.ClusterError,
    rx.RedisClusterException,
    rx.AskError,
    rx.TryAgainError,
)
"""Errors that mean the server cannot be reached (BusyLoadingError is a ConnectionError), or
a cluster cannot serve the command now: it is failing over, or a slot moved more often than
the client follows (MOVED and ASK are followed; these are what is left)."""

_REFUSALS: Final = frozenset(
    {"OOM", "READONLY", "MASTERDOWN", "LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS"}
)
"""Error codes of a server that is up but cannot serve writes now (full, failing over...)."""


def _refusal(exc: rx.ResponseError) -> bool:
    return str(exc).split(" ", 1)[0] in _REFUSALS or isinstance(exc, rx.ReadOnlyError)


@dataclass
class Traffic:
    """Round trips to Redis and commands sent, since creation or :meth:`reset`."""

    round_trips: int = 0
    commands: int = 0

    def reset(self) -> None:
        self.round_trips = self.commands = 0


Call = tuple[AsyncScript, Sequence[str], Sequence[object]]
"""One script call: the script, its keys, its arguments."""

Pending = tuple[Sequence[Call], "asyncio.Future[list[Any]]", bool]
"""Calls waiting for the next flush, their caller's future, and whether they wait for
replicas."""


class Batcher:
    """Runs script calls on ``client``, pipelining those made in the same event-loop tick.

    ``unavailable`` turns a connection error (or a refusal such as ``OOM``) into the
    :class:`StoreUnavailable` the caller raises; ``scripts`` are loaded together when the server
    lost one. ``traffic`` counts round trips and commands.

    On a cluster (``client`` a :class:`~redis.asyncio.cluster.RedisCluster`) the calls of one
    batch go to their slots' nodes in parallel, scripts are loaded on every primary, and a
    node that fails makes the next batch re-read the cluster's layout.

    With ``replicas``, calls run with ``replicated=True`` return only once that many replicas
    of their node have their writes (``WAIT``, in the same pipeline, so on the connection that
    wrote), else raise :class:`StoreUnavailable` after ``replica_wait_ms``.
    """

    def __init__(
        self,
        client: Redis | RedisCluster,
        scripts: Sequence[AsyncScript],
        unavailable: Callable[[BaseException], StoreUnavailable],
        *,
        replicas: int = 0,
        replica_wait_ms: int = 1000,
    ) -> None:
        self.traffic = Traffic()
        self._client = client
        self._scripts = tuple(scripts)
        self._unavailable = unavailable
        self._replicas = replicas
        self._replica_wait_ms = replica_wait_ms
        self._pending: list[Pending] = []
        self._flushing: set[asyncio.Task[None]] = set()

    async def eval(self, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run one script, batched with whatever else this process sends in the same tick."""
        (result,) = await self.run([(script, keys, args)])
        return result

    async def run(self, calls: Sequence[Call], *, replicated: bool = False) -> list[Any]:
        """Run scripts and return their results in order, raising the first error; with
        ``replicated``, once the replicas asked for have their writes."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((calls, future, replicated and self._replicas > 0))
        results = await future
        for result in results:
            if isinstance(result, Exception):
                if isinstance(result, UNREACHABLE) or (
                    isinstance(result, rx.ResponseError) and _refusal(result)
                ):
                    if isinstance(result, rx.ConnectionError | rx.TimeoutError | OSError):
                        await self.discard_idle()
                    raise self._unavailable(result) from result
                raise result
        return results

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.get_running_loop().create_task(self._send_batch(batch))
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _send_batch(self, batch: list[Pending]) -> None:
        calls = [call for part, _, _ in batch for call in part]
        wait = [call for part, _, replicated in batch if replicated for call in part]
        try:
            results, copied = await self._send(calls, wait)
            missing = [
                i for i, result in enumerate(results) if isinstance(result, rx.NoScriptError)
            ]
            if missing:
                await self._load()
                resent = [calls[i] for i in missing]
                again, copied_again = await self._send(resent, [c for c in resent if c in wait])
                copied = copied and copied_again
                for i, result in zip(missing, again, strict=True):
                    results[i] = result
        except BaseException as exc:
            failure = exc
            if isinstance(exc, UNREACHABLE):
                failure = self._unavailable(exc)
                await self.discard_idle()
            for _, future, _ in batch:
                if not future.done():
                    future.set_exception(failure)
            if not isinstance(exc, Exception):
                raise
            return
        if not copied and isinstance(self._client, RedisCluster):
            mark_stale(self._client)  # a replica may have gone: the layout says
        at = 0
        for part, future, replicated in batch:
            if future.done():
                pass
            elif replicated and not copied:
                future.set_exception(
                    StoreUnavailable(
                        f"Redis did not copy the write to {self._replicas} replica(s) within "
                        f"{self._replica_wait_ms} ms"
                    )
                )
            else:
                future.set_result(results[at : at + len(part)])
            at += len(part)

    async def discard_idle(self) -> None:
        """Close the pool's idle connections after one failed: after a restart or a network
        break they are all stale, and each would fail one more call before being replaced. On
        a cluster, re-read its layout before the next call instead: the slots of a node that
        failed may be a replica's now."""
        if isinstance(self._client, RedisCluster):
            mark_stale(self._client)
            return
        with contextlib.suppress(Exception):  # closing what is broken may fail: dropped anyway
            await self._client.connection_pool.disconnect(inuse_connections=False)

    async def _send(
        self, calls: Sequence[Call], wait: Sequence[Call] = ()
    ) -> tuple[list[Any], bool]:
        """The results of ``calls``, and whether the replicas asked for have the writes of
        ``wait`` (True when none are asked for)."""
        pipe = self._client.pipeline(transaction=False)
        buffer: Callable[..., object] = pipe.execute_command
        for script, keys, args in calls:
            buffer("EVALSHA", script.sha, len(keys), *keys, *args)
        if wait and isinstance(self._client, RedisCluster):
            await self._client.initialize()  # its layout names the replicas (once, at start)
        wants = self._wants(wait) if wait else []
        for node, want in wants:
            if node is None:
                buffer("WAIT", want, self._replica_wait_ms)
            else:
                buffer("WAIT", want, self._replica_wait_ms, target_nodes=node)
        self.traffic.round_trips += 1
        self.traffic.commands += len(calls) + len(wants)
        results = list(await pipe.execute(raise_on_error=False))
        copied = results[len(calls) :]
        enough = all(
            isinstance(n, int) and n >= want for n, (_, want) in zip(copied, wants, strict=True)
        )
        return results[: len(calls)], enough

    def _wants(self, wait: Sequence[Call]) -> list[tuple[ClusterNode | None, int]]:
        """The WAITs that cover ``wait``: one on a lone Redis; on a cluster one per primary,
        for as many replicas as asked that the cluster's layout gives it (a primary whose
        replica took over from it has none until one joins: none is waited for)."""
        if not isinstance(self._client, RedisCluster):
            return [(None, self._replicas)]
        owners = self._client.nodes_manager.slots_cache
        wants: dict[str, tuple[ClusterNode, int]] = {}
        for _, keys, _ in wait:
            nodes = owners.get(key_slot(keys[0].encode())) or []
            want = min(self._replicas, len(nodes) - 1)
            if want > 0:
                wants[nodes[0].name] = (nodes[0], want)
        return list(wants.values())

    async def _load(self) -> None:
        """Load every script in one round trip: a server that lost one (restart, failover,
        SCRIPT FLUSH) lost them all. A cluster loads them on every primary."""
        if isinstance(self._client, RedisCluster):
            self.traffic.round_trips += 1
            self.traffic.commands += len(self._scripts)
            for script in self._scripts:
                await self._client.script_load(script.script)
            return
        pipe = self._client.pipeline(transaction=False)
        buffer: Callable[..., object] = pipe.execute_command
        for script in self._scripts:
            buffer("SCRIPT", "LOAD", script.script)
        self.traffic.round_trips += 1
        self.traffic.commands += len(self._scripts)
        await pipe.execute()
