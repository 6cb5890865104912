"""Fixtures for the provider's tests: a scripted provider, a client session, movable time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.vonage.provider import FakeTime, Provider


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    stand_in = Provider()
    await stand_in.start()
    yield stand_in
    await stand_in.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()
