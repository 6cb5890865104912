"""Long SMS through the legacy SMS API, with real server processes sharing one real Redis.

Each part is one webhook to ``/webhooks/sms/inbound`` of one of the processes; the ledger bot
answers each message it is given with its text (the parts joined) and, for a message delivered
incomplete, the numbers of the missing parts, so a lost, doubled or unjoined message shows.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from botkit.store.parts import PartsLimits
from botkit.store.redis import RedisStore
from botkit.store.redis.parts import BUCKETS
from botkit.testing import ProviderStandIn
from tests.conftest import RedisServer
from tests.served import Served
from tests.test_processes import servers  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow

FAST = {"BOTKIT_RATE_LIMITS": "sms=2000"}
"""The bot answers every message by SMS: lift the default 30 SMS/s so replies keep up."""

BOT = "447700900000"


@pytest.fixture
def start(servers: Any) -> Any:  # noqa: F811
    """Start ``botkit serve`` processes: ``await start(count, **settings)``."""
    return servers


def user_number(index: int) -> str:
    return f"4477005{index:05d}"


async def post_part(
    session: aiohttp.ClientSession,
    server: Served,
    user: str,
    ref: str,
    number: int,
    total: int,
) -> int:
    """Send part ``number`` of message ``ref``: its text is ``<ref>p<number>.``."""
    params = {
        "msisdn": user,
        "to": BOT,
        "messageId": f"{user}-{ref}-{number}",
        "text": f"{ref}p{number}.",
        "type": "text",
        "message-timestamp": "2020-01-01 12:00:00",
        "concat": "true",
        "concat-ref": ref,
        "concat-total": str(total),
        "concat-part": str(number),
    }
    async with session.post(server.url + "/webhooks/sms/inbound", data=params) as response:
        await response.read()
        return response.status


def tags(provider: ProviderStandIn) -> Counter[str]:
    """What each reply says, without the ledger's turn number: ``<text>[ missing <n,...>]``."""
    return Counter(sent.text.split(":", 1)[1] for sent in provider.sent)


async def settled(redis_server: RedisServer, prefix: str) -> None:
    """Wait until no long SMS waits, is due or is claimed in any bucket: nothing more can come."""
    client = Redis.from_url(redis_server.url, decode_responses=True)
    try:
        for _ in range(600):
            pipe = client.pipeline(transaction=False)
            for bucket in range(BUCKETS):
                base = f"{prefix}:{{sms-parts:{bucket}}}:"
                pipe.hget(base + "counts", "*")
                pipe.zcard(base + "due")
            found = await pipe.execute()
            if not any(int(n or 0) for n in found):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"long SMS still pending: {found}")
    finally:
        await client.aclose()


async def test_long_sms_whose_parts_reach_two_processes_join(
    start: Any, provider: ProviderStandIn, redis_server: RedisServer, redis_prefix: str
) -> None:
    processes = await start(2)
    async with aiohttp.ClientSession() as session:
        for m in range(10):
            for number in (2, 1, 3):
                target = processes[(m + number) % 2]
                status = await post_part(session, target, user_number(m), f"m{m}", number, 3)
                assert status == 200

    await provider.wait_for(10, timeout=30)
    await settled(redis_server, redis_prefix)

    assert tags(provider) == Counter(f"m{m}p1.m{m}p2.m{m}p3." for m in range(10))


async def test_a_process_killed_between_parts_loses_none(
    start: Any, provider: ProviderStandIn, redis_server: RedisServer, redis_prefix: str
) -> None:
    doomed, survivor = await start(2)
    async with aiohttp.ClientSession() as session:
        for m in range(10):
            for number in (1, 2):
                assert await post_part(session, doomed, user_number(m), f"k{m}", number, 3) == 200
        doomed.process.kill()
        await doomed.stop()
        (reborn,) = await start(1)
        for m in range(10):
            target = (survivor, reborn)[m % 2]
            assert await post_part(session, target, user_number(m), f"k{m}", 3, 3) == 200

    await provider.wait_for(10, timeout=30)
    await settled(redis_server, redis_prefix)

    assert tags(provider) == Counter(f"k{m}p1.k{m}p2.k{m}p3." for m in range(10))


async def test_unfinished_messages_are_delivered_once_each_after_the_wait(
    start: Any, provider: ProviderStandIn, redis_server: RedisServer, redis_prefix: str
) -> None:
    processes = await start(2, BOTKIT_SMS_CONCAT_TIMEOUT="1", **FAST)
    users, per_user = 200, 10
    gate = asyncio.Semaphore(40)

    async def send(session: aiohttp.ClientSession, u: int, m: int) -> int:
        async with gate:
            target = processes[(u + m) % 2]
            return await post_part(session, target, user_number(u), f"u{u}m{m}", 1, 2)

    async with aiohttp.ClientSession() as session:
        statuses = await asyncio.gather(
            *(send(session, u, m) for u in range(users) for m in range(per_user))
        )
    assert set(statuses) == {200}

    await provider.wait_for(users * per_user, timeout=180)
    await settled(redis_server, redis_prefix)

    expected = Counter(f"u{u}m{m}p1. missing 2" for u in range(users) for m in range(per_user))
    assert tags(provider) == expected


async def test_a_sender_past_the_bound_gets_the_oldest_delivered_early_and_loses_none(
    start: Any, provider: ProviderStandIn, redis_server: RedisServer, redis_prefix: str
) -> None:
    bound, sent = 255, 300
    processes = await start(
        2, BOTKIT_SMS_PARTS_PER_SENDER=str(bound), BOTKIT_SMS_CONCAT_TIMEOUT="10", **FAST
    )
    user = user_number(1)
    async with aiohttp.ClientSession() as session:
        for m in range(sent):
            assert await post_part(session, processes[m % 2], user, f"b{m}", 1, 2) == 200

    early = await provider.wait_for(sent - bound, timeout=15)
    store = RedisStore.from_url(redis_server.url, prefix=redis_prefix)
    try:
        held = await store.parts_buffer(PartsLimits(per_sender=bound)).held(user)
    finally:
        await store.close()
    assert held == bound
    assert Counter(s.text.split(":", 1)[1] for s in early) == Counter(
        f"b{m}p1. missing 2" for m in range(sent - bound)
    )

    await provider.wait_for(sent, timeout=60)
    await settled(redis_server, redis_prefix)

    assert tags(provider) == Counter(f"b{m}p1. missing 2" for m in range(sent))
