"""Prometheus metrics: behind a token on the webhook port, or on a port of their own; what
they count, read from a real ``botkit serve``."""

from __future__ import annotations

import pytest
from aiohttp import ClientSession
from prometheus_client.parser import text_string_to_metric_families

from botkit.channels import WindowClosed, apply_rules
from botkit.channels.facts import Facts
from botkit.metrics import REGISTRY
from botkit.testing import ProviderStandIn
from tests.channels.test_rules import NOW, message
from tests.conftest import _free_port
from tests.served import Served
from tests.test_connections import _post_webhook

pytestmark = pytest.mark.slow

TOKEN = "metrics-token-0123456789"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
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
