"""Hostile requests against a real ``botkit serve``: how many are answered 5xx.

Starts ``botkit serve bots.echo:EchoBot`` in its own process (embedded store, the inspector
mounted behind a token some requests carry, the provider unreachable), sends ``--requests``
requests drawn from ``tests/hostile.py`` (deep JSON, lone surrogates, huge numbers, wrong
types, bytes that are not UTF-8, random bodies and content types, every method on every route)
one after another over real HTTP, and counts the answers by status. With ``--signed`` the
server checks signatures (``VONAGE_SIGNATURE_SECRET``), as a production deployment does: what
it decodes before the check is what an anonymous client can reach.

Run: ``.venv/bin/python bench/fuzz.py [--requests 20000] [--seed 1] [--signed]``
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from tests.hostile import INSPECTOR_TOKEN, HostileRequest, hostile_requests  # noqa: E402
from tests.served import Served  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--signed", action="store_true", help="set VONAGE_SIGNATURE_SECRET")
    args = parser.parse_args()

    env = {
        "BOTKIT_ENV": "development",
        "VONAGE_API_URL": "http://127.0.0.1:9",
        "LOG_LEVEL": "warning",
        "BOTKIT_INSPECTOR_TOKEN": INSPECTOR_TOKEN,
        "BOTKIT_API_TOKEN": INSPECTOR_TOKEN,
        "VONAGE_WHATSAPP_NUMBER": "447700900000",
        "VONAGE_MESSENGER_PAGE_ID": "botkit-page",
    }
    if args.signed:
        env["VONAGE_SIGNATURE_SECRET"] = "a-signature-secret-for-the-fuzz-bench"
    loop = asyncio.new_event_loop()
    served = Served("bots.echo:EchoBot", env)
    loop.run_until_complete(served.__aenter__())
    session = loop.run_until_complete(_session())
    statuses: Counter[int] = Counter()
    failures: Counter[tuple[str, int]] = Counter()
    examples: dict[tuple[str, int], HostileRequest] = {}

    @seed(args.seed)
    @settings(
        max_examples=args.requests,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(hostile_requests)
    def probe(request: HostileRequest) -> None:
        try:
            status, _ = loop.run_until_complete(request.send(session, served.url))
        except aiohttp.ClientError:
            status = 0  # the connection was dropped: counted apart, never as an answer
        statuses[status] += 1
        if status >= 500 or status == 0:
            failures[(request.what, status)] += 1
            examples.setdefault((request.what, status), request)

    started = time.perf_counter()
    try:
        probe()
    finally:
        loop.run_until_complete(session.close())
        loop.run_until_complete(served.__aexit__(None, None, None))
        loop.close()
    elapsed = time.perf_counter() - started

    sent = sum(statuses.values())
    fivexx = sum(n for status, n in statuses.items() if status >= 500)
    print(f"sent {sent} requests in {elapsed:.0f} s (seed {args.seed}, signed={args.signed})")
    print("answers by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    for (what, status), count in failures.most_common():
        example = examples[(what, status)]
        print(
            f"  {count} x {status} on {what}: {example.method} {example.target[:60]} "
            f"{example.content_type} {example.body[:80]!r}"
        )
    print(f"{fivexx} of {sent:,} answered 5xx; {statuses[0]} connections dropped")


async def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))


if __name__ == "__main__":
    main()
