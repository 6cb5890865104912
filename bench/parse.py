"""Parse + validate cost per webhook, per format.

Each format's payloads are the examples synthesised from the provider's OpenAPI files. For
every payload the bench times, alternating in one run:

- baseline: decoding the body (``json.loads``, or the query string for the SMS API), the
  least any server must do;
- botkit: decoding plus detecting the format, validating and building the ``Event``.

It prints microseconds per webhook (median over rounds) and botkit's cost as a multiple of the
baseline. Run: ``.venv/bin/python bench/parse.py [--rounds 15]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from botkit.vonage.inbound.detect import parse_messages_webhook
from botkit.vonage.inbound.sms_api import parse_sms_delivery_receipt, parse_sms_inbound
from botkit.vonage.openapi.examples import SpecExample, webhook_examples


def _groups() -> dict[str, list[SpecExample]]:
    groups: dict[str, list[SpecExample]] = {}
    for spec in ("messages-v1", "messages-v0.1", "dispatch", "sms"):
        for example in webhook_examples(spec):  # type: ignore[arg-type]
            groups.setdefault(f"{spec} {example.webhook}", []).append(example)
    return groups


def _pair(example: SpecExample) -> tuple[Callable[[], Any], Callable[[], Any]]:
    if example.spec == "sms":
        body = urlencode(example.payload)
        parse = parse_sms_delivery_receipt if example.webhook == "sms-dlr" else parse_sms_inbound

        def sms_baseline() -> Any:
            return dict(parse_qsl(body))

        def sms_botkit() -> Any:
            return parse(dict(parse_qsl(body)))

        return sms_baseline, sms_botkit
    raw = json.dumps(example.payload).encode()
    now = datetime.now(UTC)

    def baseline() -> Any:
        return json.loads(raw)

    def botkit() -> Any:
        return parse_messages_webhook(json.loads(raw), now=now)

    return baseline, botkit


def _time(func: Callable[[], Any], loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        func()
    return (time.perf_counter() - start) / loops * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--loops", type=int, default=300)
    args = parser.parse_args()
    print(f"{'format':32} {'payloads':>8} {'baseline us':>12} {'botkit us':>10} {'ratio':>7}")
    for name, examples in sorted(_groups().items()):
        pairs = [_pair(e) for e in examples]
        base_rounds, bot_rounds = [], []
        for _ in range(args.rounds):
            base_rounds.append(statistics.mean(_time(b, args.loops) for b, _ in pairs))
            bot_rounds.append(statistics.mean(_time(k, args.loops) for _, k in pairs))
        base, bot = statistics.median(base_rounds), statistics.median(bot_rounds)
        print(f"{name:32} {len(examples):>8} {base:>12.1f} {bot:>10.1f} {bot / base:>6.1f}x")


if __name__ == "__main__":
    main()
