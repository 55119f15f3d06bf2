"""The request log: records queued on the request path, written in batches as JSON lines."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shipyard.telemetry.request_log import RequestLog, log_file_name

DAY_1 = datetime(2025, 3, 1, 23, 59, 59, 500000, tzinfo=UTC).timestamp()
DAY_2 = datetime(2025, 3, 2, 0, 0, 1, tzinfo=UTC).timestamp()


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_records_go_to_the_file_of_their_utc_day_with_an_iso_time(tmp_path):
    log = RequestLog(tmp_path)  # no thread: flushed by hand
    log.record({"ts": DAY_1, "request_id": "a", "status": 200})
    log.record({"ts": DAY_2, "request_id": "b", "status": 401, "payload": {"data": [1]}})
    assert log.flush() == 2
    first = _lines(tmp_path / "requests-20250301.jsonl")
    second = _lines(tmp_path / "requests-20250302.jsonl")
    assert first == [
        {"time": "2025-03-01T23:59:59.500+00:00", "ts": DAY_1, "request_id": "a", "status": 200}
    ]
    assert second[0]["payload"] == {"data": [1]}
    assert log.flush() == 0
    assert log_file_name(datetime(2025, 3, 2, tzinfo=UTC)) == "requests-20250302.jsonl"


def test_the_writer_thread_flushes_on_its_own_and_on_close(tmp_path):
    log = RequestLog.open(tmp_path / "logs", flush_interval_s=0.01)
    log.record({"ts": DAY_1, "request_id": "a"})
    done = threading.Event()
    for _ in range(500):
        if log.written == 1:
            done.set()
            break
        done.wait(0.01)
    assert done.is_set()
    log.record({"ts": DAY_1, "request_id": "b"})
    log.close()
    assert [r["request_id"] for r in _lines(tmp_path / "logs" / "requests-20250301.jsonl")] == [
        "a",
        "b",
    ]


def test_many_threads_recording_lose_nothing(tmp_path):
    log = RequestLog.open(tmp_path, flush_interval_s=0.001)

    def burst(k: int) -> None:
        for i in range(500):
            log.record({"ts": DAY_1, "request_id": f"{k}-{i}"})

    threads = [threading.Thread(target=burst, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    ids = [r["request_id"] for r in _lines(tmp_path / "requests-20250301.jsonl")]
    assert sorted(ids) == sorted(f"{k}-{i}" for k in range(4) for i in range(500))


def test_an_unwritable_directory_loses_the_batch_but_not_the_writer(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("")
    log = RequestLog(blocker)  # a file, not a folder: every write fails
    log.record({"ts": DAY_1, "request_id": "a"})
    assert log.flush() == 0
    assert "1 records lost" in caplog.text


def test_values_json_cannot_hold_are_written_as_text_or_left_out(tmp_path):
    log = RequestLog(tmp_path)
    log.record({"ts": DAY_1, "caller": Path("x"), "payload": {"n": 2**70}, "output": {}})
    log.flush()
    (record,) = _lines(tmp_path / "requests-20250301.jsonl")
    assert record["caller"] == "x"
    assert "payload" not in record
