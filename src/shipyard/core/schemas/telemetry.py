"""Request telemetry of an endpoint, summarized: requests, errors and latency per time bucket.

Plain frozen dataclasses (not pydantic entities) because `telemetry.summary` builds them
on the hot path of reading request logs; the server answers them as JSON and the HTTP
client rebuilds them with a pydantic `TypeAdapter`, so both workspaces return this type.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Bucket:
    """The requests of one time bucket (or of the whole span, for the total)."""

    start: datetime
    requests: int
    failed: int
    server_errors: int
    rows: int
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {**asdict(self), "start": self.start.isoformat()}


@dataclass(frozen=True)
class TelemetrySummary:
    """Buckets with requests in them, oldest first, and the total over the span."""

    since: datetime | None
    bucket_s: int
    buckets: list[Bucket]
    total: Bucket

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {
            "since": None if self.since is None else self.since.isoformat(),
            "bucket_s": self.bucket_s,
            "buckets": [b.to_dict() for b in self.buckets],
            "total": self.total.to_dict(),
        }
