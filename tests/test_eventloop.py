"""The event loop of ``botkit serve``: uvloop unless turned off, start-up frozen out of the
garbage collector's work, and its lag measured."""

from __future__ import annotations

import asyncio
import gc
import time

from aiohttp import ClientSession

from botkit.eventloop import LoopLag, freeze_start_up, loop_kind, new_event_loop
from botkit.testing import ProviderStandIn
from tests.conftest import _free_port
from tests.served import Served
from tests.test_metrics import samples

LAG_COUNT = ("botkit_event_loop_lag_seconds_count", frozenset[tuple[str, str]]())


async def test_serve_runs_on_uvloop_and_measures_its_lag(provider: ProviderStandIn) -> None:
    port = _free_port()
    env = {"BOTKIT_ENV": "test", "VONAGE_API_URL": provider.url, "BOTKIT_METRICS_PORT": str(port)}
    async with Served("bots.echo:EchoBot", env) as served, ClientSession() as session:
        serving = await served.wait_for_line("serving")
        assert "event_loop=uvloop" in serving
        async with asyncio.timeout(20):
            while True:  # another process's loop: polled until it measured once
                async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                    found = samples(await response.text())
                if found.get(LAG_COUNT, 0) >= 1:
                    break


async def test_serve_keeps_asyncio_loop_when_uvloop_is_turned_off(
    provider: ProviderStandIn,
) -> None:
    env = {"BOTKIT_ENV": "test", "VONAGE_API_URL": provider.url, "BOTKIT_UVLOOP": "false"}
    async with Served("bots.echo:EchoBot", env) as served:
        assert "event_loop=asyncio" in await served.wait_for_line("serving")


def test_new_event_loop_is_uvloop_unless_turned_off() -> None:
    for wanted, kind in ((True, "uvloop"), (False, "asyncio")):
        loop = new_event_loop(wanted)
        try:
            assert loop_kind(loop) == kind
        finally:
            loop.close()


async def test_a_blocked_loop_is_measured_as_late() -> None:
    lag = LoopLag(every=0.01)
    lag.start()
    try:
        lag.ticked.clear()
        time.sleep(0.05)  # noqa: ASYNC251 - blocks the loop, as a GC pause would
        await lag.ticked.wait()
    finally:
        lag.stop()
    assert lag.worst >= 0.03


def test_start_up_objects_are_frozen_out_of_collections() -> None:
    assert gc.get_freeze_count() == 0
    freeze_start_up()
    try:
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
