"""Prometheus metrics of one scoring app: requests by route and status, latency, rows.

Each app owns its registry (no module globals), so several apps in one process (tests)
never share counters. Label children are cached: `labels()` costs a lock and a lookup
that the request path should not pay every time.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)


class ServingMetrics:
    """The counters and histograms a scoring app updates per request."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "shipyard_requests",
            "Requests answered, by route and status.",
            ["route", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "shipyard_request_latency_seconds",
            "Time from the request's arrival to its answer, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self._rows = Counter(
            "shipyard_rows_scored", "Rows scored successfully.", registry=self.registry
        )
        self._model = Gauge(
            "shipyard_model_info",
            "The model served (1 for the current one).",
            ["model"],
            registry=self.registry,
        )
        self._counters: dict[tuple[str, int], Counter] = {}
        self._histograms: dict[str, Histogram] = {}
        self._served: str | None = None

    def observe(self, route: str, status: int, latency_s: float, rows: int) -> None:
        """Count one answered request."""
        counter = self._counters.get((route, status))
        if counter is None:
            counter = self._counters[route, status] = self._requests.labels(route, str(status))
        counter.inc()
        histogram = self._histograms.get(route)
        if histogram is None:
            histogram = self._histograms[route] = self._latency.labels(route)
        histogram.observe(latency_s)
        if rows:
            self._rows.inc(rows)

    def set_model(self, ref: str) -> None:
        """Record which model is served now."""
        if self._served is not None:
            self._model.remove(self._served)
        self._model.labels(ref).set(1)
        self._served = ref

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
