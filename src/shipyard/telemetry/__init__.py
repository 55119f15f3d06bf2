"""Request telemetry of the scoring service: Prometheus metrics, the request log, summaries.

Owns what a running endpoint records about its traffic and how it is read back:
`metrics` (a Prometheus registry per app), `request_log` (JSONL request records written
in batches off the request path) and `summary` (per-bucket counts and latency
percentiles from those files). Imports `core` only; no web framework, no store.
"""
