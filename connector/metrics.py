"""A connector's Prometheus metrics, in a registry of its own (several connectors may live in
one process: tests, `tsunagu demo`), built by the composition root.

    tsunagu_http_requests_total{route, method, status}   requests served, by route template
    tsunagu_refusals_total{reason}                        4xx answers, by error code
    tsunagu_data_bytes_total{direction}                   data-plane bytes served / received
    tsunagu_processes{kind, role, state}                  negotiations and transfers by state
    tsunagu_lease_lag_seconds                             how long the oldest owed message is late
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from connector.clock import Clock
from connector.errors import ConnectorError
from connector.store import health_queries
from connector.store.store import Store

log = logging.getLogger("tsunagu.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _StoreCollector(Collector):
    """Read at scrape time, so the figures are the database's, whichever process wrote them."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        processes = GaugeMetricFamily(
            "tsunagu_processes",
            "Negotiations and transfers by role and stored state.",
            labels=["kind", "role", "state"],
        )
        lag = GaugeMetricFamily(
            "tsunagu_lease_lag_seconds",
            "How long the oldest message still owed to a peer has been due (0: none overdue).",
        )
        now = self.clock()
        try:
            for (kind, role, state), count in sorted(
                health_queries.counts_by_state(self.store).items()
            ):
                processes.add_metric([kind, role, state], count)
            oldest = health_queries.oldest_due(self.store, now)
        except ConnectorError as exc:  # a scrape during an outage still answers
            log.warning("metrics: the database did not answer: %s", exc)
            return
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        lag.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield processes
        yield lag


class Metrics:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.registry = CollectorRegistry(auto_describe=False)  # no scrape at registration
        self.requests = Counter(
            "tsunagu_http_requests",
            "Requests served, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "tsunagu_refusals",
            "Requests refused (4xx), by error code.",
            ["reason"],
            registry=self.registry,
        )
        self.data_bytes = Counter(
            "tsunagu_data_bytes",
            "Bytes the data plane served (out) and received into sinks (in).",
            ["direction"],
            registry=self.registry,
        )
        self.registry.register(_StoreCollector(store, clock))

    def refused(self, reason: str) -> None:
        self.refusals.labels(reason=reason).inc()

    def render(self) -> bytes:
        """The text exposition format; reads the database (run it off the event loop)."""
        return generate_latest(self.registry)
