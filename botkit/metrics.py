"""Every Prometheus metric botkit keeps, in one registry.

Served as Prometheus text on ``/metrics`` of the webhook server when ``BOTKIT_METRICS_TOKEN``
is set (to requests carrying it, like the inspector), and without a token on a port of its own
when ``BOTKIT_METRICS_PORT`` is set (for a scraper on a private network). No label carries a
user's number or words: labels are routes, statuses, channels, outcomes and rule names.

The metric objects are module-level: one process, one set of counters, whatever number of apps
it builds (tests build many; they read differences).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterator
from typing import Protocol, TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import Collector

# A ``_created`` twin of every series doubles the scrape for a time Prometheus does not use.
disable_created_metrics()  # type: ignore[no-untyped-call]

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_SLOW = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_Metric = TypeVar("_Metric", bound=MetricWrapperBase)


@functools.cache
def child(metric: _Metric, *values: str) -> _Metric:
    """``metric.labels(*values)``, kept: the series of one set of label values without the lock
    and the checks ``labels`` takes on every call (label values are few: routes, statuses,
    channels, outcomes)."""
    return metric.labels(*values)


# --- webhooks and connections (the server) -------------------------------------------------------

WEBHOOKS = Counter(
    "botkit_webhooks",
    "Requests answered, by route (the route's pattern; 'other' for unknown paths) and status.",
    ["route", "status"],
    registry=REGISTRY,
)
WEBHOOK_SECONDS = Histogram(
    "botkit_webhook_seconds",
    "Time from a request's head to its answer, by route.",
    ["route"],
    buckets=_FAST,
    registry=REGISTRY,
)
EVENTS_ACCEPTED = Counter(
    "botkit_events_accepted",
    "Events recorded for the bot (provider retries of a known event not counted), by kind.",
    ["kind"],
    registry=REGISTRY,
)
STORE_SECONDS = Histogram(
    "botkit_store_seconds",
    "Time of the store's steps of an event: accept (webhook), commit and ack (turn).",
    ["step"],
    buckets=_FAST,
    registry=REGISTRY,
)
CONNECTIONS_OPEN = Gauge(
    "botkit_connections_open", "Client connections held now.", registry=REGISTRY
)
CONNECTIONS_REFUSED = Counter(
    "botkit_connections_refused",
    "Client connections answered 503 at once: the server held BOTKIT_MAX_CONNECTIONS.",
    registry=REGISTRY,
)
CONNECTIONS_TIMED_OUT = Counter(
    "botkit_connections_timed_out",
    "Client connections closed because their request head did not arrive in time.",
    registry=REGISTRY,
)

LOOP_LAG = Histogram(
    "botkit_event_loop_lag_seconds",
    "How late the event loop ran a callback due every 50 ms of `botkit serve`: the time "
    "webhooks and turns waited behind other work (garbage collection pauses included).",
    buckets=(0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
    registry=REGISTRY,
)

# --- the bot's side ------------------------------------------------------------------------------

REFUSALS = Counter(
    "botkit_refusals",
    "Replies the channel rules refused before sending, by rule (the error's name).",
    ["rule"],
    registry=REGISTRY,
)


TURNS = Counter(
    "botkit_turns",
    "Bot turns taken, by outcome (completed, failed, ignored, ...).",
    ["outcome"],
    registry=REGISTRY,
)
TURN_SECONDS = Histogram(
    "botkit_turn_seconds",
    "Time of a bot turn: the handler, the state machine and the channel rules.",
    buckets=_SLOW,
    registry=REGISTRY,
)
SENDS = Counter(
    "botkit_sends",
    "Replies handed to the provider, by channel and outcome: sent, retrying (a retryable "
    "failure; the reply waits at the head of its outbox), refused (for good; the bot is told).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
TAKEOVERS = Counter(
    "botkit_takeovers",
    "Conversations this process took over: 'expired' (another holder's lease ran out) or "
    "'reclaimed' (its own lease, left without a worker by a store outage).",
    ["reason"],
    registry=REGISTRY,
)


INBOX_DEPTH = Gauge(
    "botkit_inbox_depth",
    "Events waiting for a worker: in the inboxes of conversations that are due and that no "
    "worker holds (read from the store when scraped, at most 500 conversations).",
    registry=REGISTRY,
)
TIMERS_DUE = Gauge(
    "botkit_timers_due",
    "Timers past their time and not fired yet, in conversations that no worker holds (read "
    "from the store when scraped, at most 500 conversations).",
    registry=REGISTRY,
)


class LeaseHolder(Protocol):
    @property
    def leases_held(self) -> int: ...


_HOLDERS: weakref.WeakSet[LeaseHolder] = weakref.WeakSet()


class _Leases(Collector):
    """``botkit_leases_held``, read from the live runtimes when scraped."""

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "botkit_leases_held",
            "Conversations this process's workers hold now.",
            value=sum(holder.leases_held for holder in list(_HOLDERS)),
        )


REGISTRY.register(_Leases())


def count_leases_of(holder: LeaseHolder) -> None:
    """Count ``holder``'s leases in ``botkit_leases_held`` for as long as it lives."""
    _HOLDERS.add(holder)


def exposition() -> bytes:
    """The registry in Prometheus text format."""
    return generate_latest(REGISTRY)
