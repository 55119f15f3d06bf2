"""Reading the request log back: requests, error rate and latency percentiles per time bucket.

Pure functions over the JSONL files `request_log` writes (what `shipyard endpoint
telemetry NAME --since 1h` shows). A request counts as failed when its status is 400 or
more; `server_errors` counts the 5xx among them. Percentiles are nearest-rank, in ms.
The summary types live in `core.schemas.telemetry`, so the HTTP client returns them too.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from shipyard.core.errors import InvalidInputError
from shipyard.core.schemas.telemetry import Bucket as Bucket
from shipyard.core.schemas.telemetry import TelemetrySummary as TelemetrySummary
from shipyard.telemetry.request_log import FILE_PREFIX, FILE_SUFFIX

NICE_BUCKETS_S = (1, 5, 10, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400)
TARGET_BUCKETS = 24
MAX_LINE_BYTES = 4 * 1024 * 1024  # a record with a sampled payload stays far below
MAX_SPAN_S = 3660 * 86400  # ten years: longer spans overflow dates, and no log is older
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """`30s`, `15m`, `1h`, `2d` or `1w` as a timedelta."""
    match = _DURATION.match(text[:40])
    if match is None or len(text) > 40:
        raise InvalidInputError(
            f"expected a duration such as 30s, 15m, 1h or 2d; got {text[:40]!r}"
        )
    seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    if seconds > MAX_SPAN_S:
        raise InvalidInputError(f"a duration is at most {MAX_SPAN_S // 86400} days; got {text!r}")
    return timedelta(seconds=seconds)


def summarize(
    log_dir: str | Path,
    *,
    since: datetime | None = None,
    bucket_s: int | None = None,
    now: datetime | None = None,
) -> TelemetrySummary:
    """Per-bucket request counts, error rate and p50/p95/p99 latency of the logged requests.

    Args:
        since: only requests at or after this time (aware, or naive meaning UTC).
        bucket_s: the bucket width; by default a round width giving about 24 buckets.
        now: the end of the span when choosing the bucket width (default: the clock).
    """
    start = None if since is None else _aware(since)
    records = list(read_records(log_dir, since=start))
    if bucket_s is None:
        first = start.timestamp() if start else min((r["ts"] for r in records), default=0.0)
        end = _aware(now or datetime.now(UTC)).timestamp()
        bucket_s = choose_bucket_s(end - first)
    if not 0 < bucket_s <= MAX_SPAN_S:
        raise InvalidInputError(
            "the bucket width must be a positive number of seconds, at most "
            f"{MAX_SPAN_S:,} ({MAX_SPAN_S // 86400} days)"
        )
    groups: dict[int, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(int(record["ts"] // bucket_s), []).append(record)
    buckets = [_bucket(key * bucket_s, groups[key]) for key in sorted(groups)]
    origin = start.timestamp() if start else (buckets[0].start.timestamp() if buckets else 0.0)
    return TelemetrySummary(start, bucket_s, buckets, _bucket(origin, records))


def choose_bucket_s(span_s: float) -> int:
    """The smallest round bucket width that cuts `span_s` into at most ~24 buckets."""
    for width in NICE_BUCKETS_S:
        if span_s / width <= TARGET_BUCKETS:
            return width
    return NICE_BUCKETS_S[-1]


def read_records(log_dir: str | Path, *, since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Every readable record of the log files in `log_dir`, at or after `since`.

    Lines that are not whole records (a line being written) are skipped.
    """
    folder = Path(log_dir)
    if not folder.is_dir():
        return
    cutoff = None if since is None else _aware(since)
    first_day = None if cutoff is None else f"{FILE_PREFIX}{cutoff:%Y%m%d}{FILE_SUFFIX}"
    for path in sorted(folder.glob(f"{FILE_PREFIX}*{FILE_SUFFIX}")):
        if first_day is not None and path.name < first_day:
            continue
        yield from _records(_lines(path), cutoff)


def _lines(path: Path) -> Iterator[bytes]:
    """The lines of one log file, read as a stream.

    The files are written by the endpoint's process, which runs user code (the model), so
    they are not trusted: a symlink (to /dev/zero, to a file of the reader's) or anything
    but a regular file is skipped, and a line longer than any record is dropped unread.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return
        while line := handle.readline(MAX_LINE_BYTES + 1):
            if len(line) > MAX_LINE_BYTES:
                while line and not line.endswith(b"\n"):  # skip the rest of it
                    line = handle.readline(MAX_LINE_BYTES)
                continue
            yield line


def _records(lines: Iterable[bytes], cutoff: datetime | None) -> Iterator[dict[str, Any]]:
    floor = None if cutoff is None else cutoff.timestamp()
    for line in lines:
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(record, dict) or not isinstance(record.get("ts"), int | float):
            continue
        if floor is None or record["ts"] >= floor:
            yield record


def _bucket(start_s: float, records: list[dict[str, Any]]) -> Bucket:
    latencies = sorted(
        float(r["latency_ms"]) for r in records if isinstance(r.get("latency_ms"), int | float)
    )
    statuses = [r.get("status") for r in records]
    failed = sum(1 for s in statuses if isinstance(s, int) and s >= 400)
    server = sum(1 for s in statuses if isinstance(s, int) and s >= 500)
    rows = sum(r["rows"] for r in records if isinstance(r.get("rows"), int))
    return Bucket(
        start=datetime.fromtimestamp(start_s, UTC),
        requests=len(records),
        failed=failed,
        server_errors=server,
        rows=rows,
        error_rate=failed / len(records) if records else 0.0,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
    )


def percentile(ordered: list[float], p: float) -> float | None:
    """The nearest-rank `p`th percentile of sorted values (None when there are none)."""
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
