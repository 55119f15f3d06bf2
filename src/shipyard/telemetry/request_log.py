"""The request log: one JSON line per scoring request, written in batches off the request path.

The request path only appends a small dict to a queue (`RequestLog.record`, about a
microsecond); a background thread turns queued records into JSON lines and appends them to
`requests-YYYYMMDD.jsonl` (UTC date of the request) in the log directory, every
`flush_interval_s` and on `close`. Each batch is one `write` on a file opened with
`O_APPEND`, so several processes of one endpoint can share the directory without
interleaving lines.

A line holds: `time` (ISO 8601, UTC), `ts` (epoch seconds), `request_id`, `route`,
`status`, `latency_ms`, `caller` (`primary`/`secondary` key, a token's subject, or null),
`rows` (rows scored), `model` (`NAME:VERSION`), `error` (the message, for failures) and,
for a sampled share of requests, `payload` (the request body) and `output` (the answer).
"""

from __future__ import annotations

import collections
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

FILE_PREFIX = "requests-"
FILE_SUFFIX = ".jsonl"
FLUSH_INTERVAL_S = 0.5
MAX_PENDING = 200_000  # records kept while the disk is slow; the oldest are dropped beyond

logger = logging.getLogger("shipyard.telemetry")


def log_file_name(day: datetime) -> str:
    """The file holding the requests of `day` (UTC)."""
    return f"{FILE_PREFIX}{day:%Y%m%d}{FILE_SUFFIX}"


class RequestLog:
    """Request records queued by the scoring app and written by a background thread."""

    def __init__(self, directory: Path, flush_interval_s: float = FLUSH_INTERVAL_S) -> None:
        self.directory = directory
        self.flush_interval_s = flush_interval_s
        self._queue: collections.deque[dict[str, Any]] = collections.deque(maxlen=MAX_PENDING)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()
        self.written = 0

    @classmethod
    def open(cls, directory: str | Path, flush_interval_s: float = FLUSH_INTERVAL_S) -> RequestLog:
        """A log writing to `directory` (created if needed), its writer thread started."""
        log = cls(Path(directory), flush_interval_s)
        log.directory.mkdir(parents=True, exist_ok=True)
        log._thread = threading.Thread(target=log._run, name="shipyard-request-log", daemon=True)
        log._thread.start()
        return log

    def record(self, entry: dict[str, Any]) -> None:
        """Queue one request record (needs at least `ts`, epoch seconds); never blocks."""
        self._queue.append(entry)

    def flush(self) -> int:
        """Write every queued record now; returns how many were written."""
        with self._write_lock:
            lines: dict[str, list[bytes]] = {}
            queue = self._queue
            while True:
                try:
                    entry = queue.popleft()
                except IndexError:
                    break
                day = datetime.fromtimestamp(entry["ts"], UTC)
                line = _line({"time": day.isoformat(timespec="milliseconds"), **entry})
                lines.setdefault(log_file_name(day), []).append(line)
            count = 0
            for name, batch in lines.items():
                count += self._append(self.directory / name, batch)
            self.written += count
            return count

    def close(self) -> None:
        """Stop the writer thread and write what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            try:
                self.flush()
            except Exception:  # the writer must outlive any one bad batch
                logger.exception("request log: a batch could not be written")

    def _append(self, path: Path, batch: list[bytes]) -> int:
        data = b"".join(batch)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        except OSError as exc:
            logger.error("request log: %d records lost, cannot write %s: %s", len(batch), path, exc)
            return 0
        return len(batch)


def _line(entry: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(entry, default=str, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        # a payload orjson cannot write (an integer over 64 bits): keep the record without it
        entry = {k: v for k, v in entry.items() if k not in ("payload", "output")}
        return orjson.dumps(entry, default=str, option=orjson.OPT_APPEND_NEWLINE)
