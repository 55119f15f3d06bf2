"""Summaries of the request log: per-bucket counts, error rate and latency percentiles."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shipyard.core.errors import InvalidInputError
from shipyard.telemetry.request_log import RequestLog
from shipyard.telemetry.summary import (
    MAX_LINE_BYTES,
    choose_bucket_s,
    parse_duration,
    percentile,
    read_records,
    summarize,
)

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _write(folder: Path, records: list[dict[str, Any]]) -> None:
    log = RequestLog(folder)
    for record in records:
        log.record(record)
    log.flush()


def _request(minute: float, latency_ms: float, status: int = 200, rows: int = 1) -> dict[str, Any]:
    ts = (START + timedelta(minutes=minute)).timestamp()
    return {"ts": ts, "status": status, "latency_ms": latency_ms, "rows": rows, "route": "/score"}


def test_buckets_count_requests_failures_rows_and_latency_percentiles(tmp_path):
    first = [_request(0.5, float(ms)) for ms in range(1, 101)]
    second = [_request(1.5, 5.0), _request(1.6, 7.0, status=422), _request(1.7, 9.0, status=500)]
    _write(tmp_path, first + second)
    summary = summarize(tmp_path, bucket_s=60)
    assert [b.start for b in summary.buckets] == [START, START + timedelta(minutes=1)]
    one, two = summary.buckets
    assert (one.requests, one.failed, one.rows, one.error_rate) == (100, 0, 100, 0.0)
    assert (one.p50_ms, one.p95_ms, one.p99_ms) == (50.0, 95.0, 99.0)
    assert (two.requests, two.failed, two.server_errors) == (3, 2, 1)
    assert two.error_rate == pytest.approx(2 / 3)
    assert two.p50_ms == 7.0
    assert summary.total.requests == 103
    assert summary.to_dict()["buckets"][0]["start"] == START.isoformat()


def test_since_keeps_later_requests_and_skips_older_day_files(tmp_path):
    _write(tmp_path, [_request(-60 * 24, 1.0), _request(0, 2.0), _request(30, 3.0)])
    assert len(list(read_records(tmp_path))) == 3
    summary = summarize(tmp_path, since=(START + timedelta(minutes=10)).replace(tzinfo=None))
    assert summary.total.requests == 1
    assert summary.total.p50_ms == 3.0


def test_the_bucket_width_is_chosen_from_the_span(tmp_path):
    _write(tmp_path, [_request(0, 1.0)])
    summary = summarize(tmp_path, since=START, now=START + timedelta(hours=1))
    assert summary.bucket_s == 300
    assert choose_bucket_s(20) == 1
    assert choose_bucket_s(86400) == 3600
    assert choose_bucket_s(10**9) == 86400


def test_partial_and_foreign_lines_are_skipped(tmp_path):
    _write(tmp_path, [_request(0, 1.0)])
    path = next(tmp_path.glob("requests-*.jsonl"))
    with path.open("ab") as handle:
        handle.write(b'[1, 2]\n{"no": "ts"}\n{"ts": 1, "status"')
    assert summarize(tmp_path, bucket_s=60).total.requests == 1


def test_no_log_means_an_empty_summary(tmp_path):
    summary = summarize(tmp_path / "missing")
    assert summary.buckets == []
    assert (summary.total.requests, summary.total.p99_ms) == (0, None)
    with pytest.raises(InvalidInputError, match="positive"):
        summarize(tmp_path, bucket_s=0)


def test_durations_and_percentiles():
    assert parse_duration("1h") == timedelta(hours=1)
    assert parse_duration(" 15m") == timedelta(minutes=15)
    assert parse_duration("1.5d") == timedelta(hours=36)
    with pytest.raises(InvalidInputError, match="such as 30s"):
        parse_duration("an hour")
    assert percentile([], 50) is None
    assert percentile([4.0], 99) == 4.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0


@pytest.mark.parametrize("since", ["99999999999d", "1" * 400 + "s", "3661d"])
def test_durations_past_ten_years_are_refused_not_overflowed(since):
    # 99999999999d overflowed timedelta: a 500 from the telemetry route (issue 10 finding 8).
    with pytest.raises(InvalidInputError, match="duration"):
        parse_duration(since)
    assert parse_duration("3660d") == timedelta(days=3660)


def test_a_bucket_past_ten_years_is_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="at most 316,224,000"):
        summarize(tmp_path, bucket_s=2**63)


def test_links_and_special_files_in_the_log_folder_are_not_read(tmp_path):
    # The folder is written by the endpoint's process, which runs the model's code: a
    # link to a file of the reader's or to /dev/zero must not be followed.
    _write(tmp_path, [{"ts": START.timestamp(), "status": 200, "latency_ms": 1.0}])
    secret = tmp_path.parent / f"{tmp_path.name}-secret.txt"
    secret.write_text('{"ts": 1740830400.0, "status": 500, "latency_ms": 9.0}\n')
    (tmp_path / "requests-20250302.jsonl").symlink_to(secret)
    (tmp_path / "requests-20250303.jsonl").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "requests-20250304.jsonl")
    records = list(read_records(tmp_path))
    assert [r["status"] for r in records] == [200]


def test_an_overlong_line_is_skipped_unread(tmp_path):
    good = b'{"ts": %f, "status": 200, "latency_ms": 1.0}\n' % START.timestamp()
    huge = b'{"ts": 1, "pad": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"}\n'
    (tmp_path / "requests-20250301.jsonl").write_bytes(good + huge + good)
    assert [r["status"] for r in read_records(tmp_path)] == [200, 200]
