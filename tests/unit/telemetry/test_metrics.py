"""Prometheus metrics: one registry per app, counters by route and status."""

from __future__ import annotations

from shipyard.telemetry.metrics import ServingMetrics


def test_requests_latency_rows_and_model_are_exposed_per_instance():
    metrics, other = ServingMetrics(), ServingMetrics()
    metrics.observe("/score", 200, 0.0015, 3)
    metrics.observe("/score", 200, 0.0030, 2)
    metrics.observe("/score", 422, 0.0004, 0)
    metrics.set_model("bank:1")
    metrics.set_model("bank:2")
    text = metrics.render().decode()
    assert 'shipyard_requests_total{route="/score",status="200"} 2.0' in text
    assert 'shipyard_requests_total{route="/score",status="422"} 1.0' in text
    assert 'shipyard_request_latency_seconds_bucket{le="0.002",route="/score"} 2.0' in text
    assert "shipyard_rows_scored_total 5.0" in text
    assert 'shipyard_model_info{model="bank:2"} 1.0' in text
    assert 'model="bank:1"' not in text
    assert "shipyard_requests_total{" not in other.render().decode()
