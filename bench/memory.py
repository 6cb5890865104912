"""Redis memory per conversation, measured with many conversations (1,000,000 by default).

Each conversation takes one echo turn through the Redis store's own operations, as the runtime
does: accept the user's message (dedup entry, inbox, lease, due mark), commit the turn (state,
data, the reply in the outbox), then ack the sent reply with its message record in the form the
runtime writes. Memory is INFO ``used_memory`` growth divided by the conversations, and every
key left in Redis is counted (SCAN, by kind), at four moments of a conversation's life:

1. just after its turn: its due mark is still there (the sweep forgets it a lease later);
2. once the sweep has passed: during the dedup window (48 h by default);
3. after the dedup window, while its message records are kept (7 days by default);
4. idle, after both: only its record (30 days after its last write).

The windows end as Redis would end them: the keys whose TTL is the window are deleted (their
TTLs are checked first), so the bench need not wait for days.

Run: ``.venv/bin/python bench/memory.py [--conversations 1000000]``
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from redis import asyncio as aioredis

from botkit import Channel, Event, EventKind, Text, WebhookFormat
from botkit.conversation import Conversation, OutboxEntry
from botkit.outbound import Outbound
from botkit.records import DeliveryRecord, pack_record
from botkit.store.base import Commit
from botkit.store.redis import RedisStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.turns import CountingEchoBot, Turns, start_redis

BOT = "447700900000"
PREFIX = "mem"


def inbound(user: str, n: int) -> Event:
    """The user's message, as the Messages API webhook brings it (with its raw payload)."""
    message_id = str(uuid.uuid4())
    timestamp = datetime.now(UTC)
    raw = {
        "channel": "whatsapp",
        "message_uuid": message_id,
        "to": BOT,
        "from": user,
        "timestamp": timestamp.isoformat().replace("+00:00", "Z"),
        "message_type": "text",
        "text": f"hello {n}",
    }
    return Event(
        kind=EventKind.MESSAGE,
        channel=Channel.WHATSAPP,
        user=user,
        bot=BOT,
        message_id=message_id,
        timestamp=timestamp,
        format=WebhookFormat.V1,
        raw=raw,
        content=Text(text=f"hello {n}"),
    )


async def one_turn(store: RedisStore, data: str, n: int) -> None:
    user = f"44{n:010d}"
    key = f"whatsapp:{BOT}:{user}"
    event = inbound(user, n)
    accepted = await store.accept(key, event, owner="bench")
    assert accepted.claim is not None
    reply = Outbound(channel=Channel.WHATSAPP, to=user, sender=BOT, content=Text(text=f"echo: {n}"))
    conversation = Conversation(
        key,
        state="start",
        data=data,
        version=1,
        revision=1,
        last_inbound_at=event.timestamp.timestamp(),
        outbox=(OutboxEntry(reply),),
    )
    lease = accepted.claim.lease
    await store.commit(lease, Commit(conversation))
    record = DeliveryRecord.sent(reply, str(uuid.uuid4()), time.time())
    await store.ack(lease, 1, {record.message_id: pack_record(record, key)})


async def census(client: aioredis.Redis) -> Counter[str]:
    """Every key, by kind: a conversation's by its last part (r, s, m...), others by name."""
    kinds: Counter[str] = Counter()
    async for name in client.scan_iter(count=10000):  # the bench's own Redis: every key
        text = name.decode()
        conversation = text.startswith(f"{PREFIX}:{{") and "}:" in text
        # A conversation's key by its last part; others (the due index) by name, tags elided.
        kinds[text.rsplit(":", 1)[1] if conversation else re.sub(r"\{[^}]*\}", "{}", text)] += 1
    return kinds


async def drop(client: aioredis.Redis, suffix: str) -> None:
    """Delete the keys ending in ``suffix``, as their expiry would."""
    batch = []
    async for name in client.scan_iter(match=f"{PREFIX}:*{suffix}", count=10000):
        batch.append(name)
        if len(batch) >= 5000:
            await client.delete(*batch)
            batch = []
    if batch:
        await client.delete(*batch)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    args = parser.parse_args()
    total = args.conversations
    workdir = Path(tempfile.mkdtemp(prefix="botkit-bench-memory-"))
    redis_server, redis_url = start_redis(workdir)
    client = aioredis.from_url(redis_url)
    try:
        for _ in range(100):
            try:
                await client.ping()
                break
            except (ConnectionError, OSError, aioredis.ConnectionError):
                await asyncio.sleep(0.05)
        store = RedisStore.from_url(redis_url, prefix=PREFIX)
        data = CountingEchoBot().dump_data(Turns(n=1))
        before = (await client.info("memory"))["used_memory"]
        semaphore = asyncio.Semaphore(256)
        started = time.monotonic()
        done = 0

        async def turn(n: int) -> None:
            nonlocal done
            async with semaphore:
                await one_turn(store, data, n)
            done += 1
            if done % 50_000 == 0:
                took = time.monotonic() - started
                print(f"  {done:,} conversations in {took:.0f} s", file=sys.stderr)

        for start in range(0, total, 10_000):
            await asyncio.gather(*(turn(n) for n in range(start, min(total, start + 10_000))))

        async def moment(name: str) -> str:
            used = (await client.info("memory"))["used_memory"] - before
            kinds = await census(client)
            keys = ", ".join(f"{kind} {count / total:.2f}" for kind, count in sorted(kinds.items()))
            return f"{name}: {used / total:.0f} B per conversation (keys each: {keys})"

        lines = [await moment("1. just after its turn (due mark still there)")]
        sample = f"{PREFIX}:{{whatsapp:{BOT}:44{0:010d}}}:"
        ttls = {kind: await client.pttl(sample + kind) for kind in ("r", "s", "m")}
        lines.append(
            "   TTLs of one conversation's keys: "
            + ", ".join(f"{kind} {ms / 3_600_000:.0f} h" for kind, ms in ttls.items())
        )
        # The due marks fall due a lease after their accept: sweep as if an hour had passed.
        for _ in range(total // 1000 + 10):
            await store.sweep(owner="sweeper", limit=1000, now=time.time() + 3600)
        lines.append(await moment("2. during the dedup window (the sweep has passed)"))
        await drop(client, "}:s")
        lines.append(await moment("3. after the dedup window, message records kept"))
        await drop(client, "}:m")
        lines.append(await moment("4. idle"))
        print(f"\n{total:,} conversations, one echo turn each:")
        print("\n".join(lines))
        await store.close()
    finally:
        await client.aclose()
        redis_server.terminate()
        redis_server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
