"""Prometheus metrics: behind a token on the webhook port, or on a port of their own; what
they count, read from a real ``botkit serve``."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiohttp import ClientSession
from prometheus_client.parser import text_string_to_metric_families

from botkit import Channel, Notifier
from botkit.channels import WindowClosed, apply_rules
from botkit.channels.facts import Facts
from botkit.metrics import REGISTRY, SENDS, child
from botkit.store.redis import RedisStore
from botkit.testing import ProviderStandIn
from tests.channels.test_rules import NOW, message
from tests.conftest import RedisServer, _free_port
from tests.served import Served
from tests.test_connections import _post_webhook
from tests.test_server import now_iso

pytestmark = pytest.mark.slow

TOKEN = "metrics-token-0123456789"
CREDENTIALS = {"BOTKIT_ENV": "test", "VONAGE_API_KEY": "key", "VONAGE_API_SECRET": "secret"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of a Prometheus text page, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_need_the_token_and_count_webhooks_and_accepts(
    provider: ProviderStandIn,
) -> None:
    env = {"BOTKIT_ENV": "test", "VONAGE_API_URL": provider.url, "BOTKIT_METRICS_TOKEN": TOKEN}
    async with Served("bots.echo:EchoBot", env) as served, ClientSession() as session:
        assert await _post_webhook(served.url, 1) == 200
        assert await _post_webhook(served.url, 1) == 200  # the provider's retry
        async with session.get(f"{served.url}/metrics") as response:
            assert response.status == 401
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with session.get(f"{served.url}/metrics", headers=headers) as response:
            assert response.status == 200
            assert response.content_type == "text/plain"
            found = samples(await response.text())
    inbound = frozenset({("route", "/webhooks/inbound"), ("status", "200")})
    assert found[("botkit_webhooks_total", inbound)] == 2
    assert found[("botkit_events_accepted_total", frozenset({("kind", "message")}))] == 1
    assert found[("botkit_store_seconds_count", frozenset({("step", "accept")}))] == 2
    assert found[("botkit_connections_open", frozenset())] >= 1


async def test_metrics_on_a_port_of_their_own_need_no_token(provider: ProviderStandIn) -> None:
    port = _free_port()
    env = {"BOTKIT_ENV": "test", "VONAGE_API_URL": provider.url, "BOTKIT_METRICS_PORT": str(port)}
    async with Served("bots.echo:EchoBot", env) as served, ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
            assert response.status == 200
            assert "botkit_webhooks_total" in await response.text()
        async with session.get(f"{served.url}/metrics") as response:
            assert response.status == 404, "not on the webhook port without a token"


def test_a_refusal_is_counted_by_rule() -> None:
    def count() -> float:
        return REGISTRY.get_sample_value("botkit_refusals_total", {"rule": "WindowClosed"}) or 0

    before = count()
    with pytest.raises(WindowClosed):
        apply_rules(message(), Facts(now=NOW))
    assert count() == before + 1


async def post_text(session: ClientSession, url: str, text: str) -> None:
    """The user 447700900001 writes ``text`` on WhatsApp (a v1 inbound webhook)."""
    webhook = {
        "channel": "whatsapp",
        "message_uuid": str(uuid.uuid4()),
        "to": "447700900000",
        "from": "447700900001",
        "timestamp": now_iso(),
        "message_type": "text",
        "text": text,
    }
    async with session.post(f"{url}/webhooks/inbound", json=webhook) as response:
        assert response.status == 200


async def scrape(session: ClientSession, url: str) -> Samples:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with session.get(f"{url}/metrics", headers=headers) as response:
        assert response.status == 200
        return samples(await response.text())


async def scrape_until(session: ClientSession, url: str, name: str, value: float) -> Samples:
    """The metrics once the unlabelled sample ``name`` reads ``value`` (another process's
    state: polled)."""
    async with asyncio.timeout(20):
        while True:
            found = await scrape(session, url)
            if found.get((name, frozenset())) == value:
                return found
            await asyncio.sleep(0.05)


def one(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


async def test_turns_sends_and_store_steps_are_counted(provider: ProviderStandIn) -> None:
    env = {**CREDENTIALS, "VONAGE_API_URL": provider.url, "BOTKIT_METRICS_TOKEN": TOKEN}
    provider.refuse("nope")
    async with Served("tests.ledger:LedgerBot", env) as served, ClientSession() as session:
        for text in ("a", "raise b", "nope"):
            await post_text(session, served.url, text)
            await scrape_until(session, served.url, "botkit_leases_held", 0)
        sent = await provider.wait_for(3)
        assert [s.text for s in sent] == ["1:a", "apology", "refused:1340"]
        found = await scrape_until(session, served.url, "botkit_leases_held", 0)
    assert found[one("botkit_turns_total", outcome="failed")] == 1
    turns = sum(v for (name, _), v in found.items() if name == "botkit_turns_total")
    assert turns == found[one("botkit_turn_seconds_count")] == 4
    assert found[one("botkit_store_seconds_count", step="commit")] == 4
    assert found[one("botkit_store_seconds_count", step="ack")] >= 4
    assert found[one("botkit_sends_total", channel="whatsapp", outcome="sent")] == 3
    assert found[one("botkit_sends_total", channel="whatsapp", outcome="refused")] == 1


async def test_a_takeover_is_counted_by_the_process_that_took_over(
    provider: ProviderStandIn, redis_server: RedisServer, redis_prefix: str
) -> None:
    env = {
        **CREDENTIALS,
        "VONAGE_API_URL": provider.url,
        "BOTKIT_METRICS_TOKEN": TOKEN,
        "REDIS_URL": redis_server.url,
        "BOTKIT_REDIS_PREFIX": redis_prefix,
        "BOTKIT_LEASE_SECONDS": "1",
    }
    async with (
        Served("tests.ledger:LedgerBot", env) as first,
        Served("tests.ledger:LedgerBot", env) as second,
        ClientSession() as session,
    ):
        await post_text(session, first.url, "slow 3 x")
        await scrape_until(session, first.url, "botkit_leases_held", 1)
        assert first.process is not None
        first.process.kill()
        (sent,) = await provider.wait_for(1, timeout=20)
        assert sent.text == "1:x"
        found = await scrape(session, second.url)
    assert found[one("botkit_takeovers_total", reason="expired")] == 1


async def test_the_backlog_gauges_read_what_waits_in_the_store(
    provider: ProviderStandIn, redis_server: RedisServer, redis_prefix: str
) -> None:
    """Events a notifier records wait for the serving process's next sweep (a minute away
    here): the scrape reads them from the store."""
    env = {
        **CREDENTIALS,
        "VONAGE_API_URL": provider.url,
        "BOTKIT_METRICS_TOKEN": TOKEN,
        "REDIS_URL": redis_server.url,
        "BOTKIT_REDIS_PREFIX": redis_prefix,
        "BOTKIT_SWEEP_SECONDS": "60",
    }
    store = RedisStore.from_url(redis_server.url, prefix=redis_prefix)
    bot = {Channel.WHATSAPP: "447700900000"}
    async with Served("tests.ledger:LedgerBot", env) as served, ClientSession() as session:
        found = await scrape(session, served.url)
        assert found[one("botkit_inbox_depth")] == found[one("botkit_timers_due")] == 0
        async with Notifier(store, bot, owns_store=True) as notifier:
            for user in ("447700900001", "447700900002"):
                await notifier.notify("whatsapp", user, "tick")
            await notifier.notify("whatsapp", "447700900002", "tock")
        found = await scrape(session, served.url)
    assert found[one("botkit_inbox_depth")] == 3
    assert found[one("botkit_timers_due")] == 0
    assert provider.sent == [], "nobody handled them yet"


def test_a_kept_series_is_the_one_its_labels_name() -> None:
    kept = child(SENDS, "whatsapp", "sent")
    assert kept is SENDS.labels(channel="whatsapp", outcome="sent")
    assert child(SENDS, "whatsapp", "sent") is kept
