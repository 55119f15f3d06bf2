"""A worker process: claims jobs from the workspace's queue and runs them, one at a time.

`shipyard worker` (or the server's `--workers N`) runs `run_worker` until SIGTERM. While a
job runs, a thread heartbeats it every few seconds and picks up a cancel request, which
stops the AutoML run at the next trial boundary (recorded canceled). SIGTERM also stops
the running job at the next trial boundary, and puts it back in the queue with a fresh
run for the next worker (a server restart loses no job); a worker killed outright is
noticed by the others (its process is gone, or its heartbeat stops) and its job retried.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.automl import AutoMLSettings, ProgressCallback, Trial
from shipyard.core.schemas import Job, JobEventKind, JobStatus
from shipyard.core.settings import DB_URL_ENV
from shipyard.workspace.automl import JobEventRecorder, RunCanceled
from shipyard.workspace.liveness import when_parent_exits

if TYPE_CHECKING:
    from shipyard.workspace.local import LocalWorkspace

POLL_S = 0.2
HEARTBEAT_S = 5.0
log = logging.getLogger("shipyard.worker")


class _JobBeat:
    """Heartbeats one job from a thread and remembers whether it should stop."""

    def __init__(self, ws: LocalWorkspace, job_id: str, interval_s: float) -> None:
        self.ws, self.job_id, self.interval_s = ws, job_id, interval_s
        self.cancel_requested = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="shipyard-job-beat", daemon=True)

    def __enter__(self) -> _JobBeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.cancel_requested = self.ws.job_heartbeat(self.job_id)
            except Exception:  # a missed beat is retried; the job goes on
                log.exception("heartbeat of job %s", self.job_id)


class WorkerStopping(RunCanceled):
    """The worker is shutting down: its job goes back to the queue."""


class _StopOnCancel(ProgressCallback):
    def __init__(self, beat: _JobBeat, stop: threading.Event) -> None:
        self.beat, self.stop = beat, stop

    def on_trial_end(self, trial: Trial) -> None:  # noqa: ARG002 - any trial's end will do
        if self.beat.cancel_requested:
            raise RunCanceled("canceled on request")
        if self.stop.is_set():
            raise WorkerStopping("the worker was stopped; the job is queued again")


def execute(
    ws: LocalWorkspace,
    job: Job,
    *,
    heartbeat_s: float = HEARTBEAT_S,
    stop: threading.Event | None = None,
) -> Job:
    """Run one claimed job to its end and record how it ended.

    If `stop` is set meanwhile, the job is released at the next trial boundary instead.
    """
    log.info("job %s (%s): started, attempt %d", job.id, job.kind, job.attempts)
    with _JobBeat(ws, job.id, heartbeat_s) as beat:
        try:
            payload = job.payload
            settings = AutoMLSettings.from_dict(payload["settings"])
            ws.automl(
                payload["dataset"],
                settings,
                experiment=payload["experiment"],
                run_id=job.run_id,
                callback=JobEventRecorder(
                    ws, job.id, _StopOnCancel(beat, stop or threading.Event())
                ),
            )
        except WorkerStopping as stopping:
            log.info("job %s: released (%s)", job.id, stopping)
            return ws.release_job(job.id, str(stopping))
        except RunCanceled:
            return ws.finish_job(job.id, JobStatus.CANCELED, "canceled on request")
        except Exception as exc:
            log.exception("job %s failed", job.id)
            ws.record_job_event(job.id, JobEventKind.ERROR, error_payload(exc))
            return ws.finish_job(job.id, JobStatus.FAILED, f"{type(exc).__name__}: {exc}")
    log.info("job %s: completed", job.id)
    return ws.finish_job(job.id, JobStatus.COMPLETED)


def error_payload(exc: BaseException) -> dict[str, Any]:
    """An error event's payload: the exception's class name and message, and the names of
    the classes it derives from (a follower raises the nearest one it knows)."""
    bases = [
        c.__name__ for c in type(exc).__mro__[1:] if c not in (Exception, BaseException, object)
    ]
    return {"type": type(exc).__name__, "message": str(exc), "bases": bases}


def run_worker(
    ws: LocalWorkspace,
    stop: threading.Event,
    *,
    poll_s: float = POLL_S,
    heartbeat_s: float = HEARTBEAT_S,
    max_jobs: int | None = None,
) -> int:
    """Claim and run jobs until `stop` is set (or `max_jobs` ran); returns how many ran."""
    done = 0
    while not stop.is_set() and (max_jobs is None or done < max_jobs):
        ws.recover_jobs()
        job = ws.claim_job()
        if job is None:
            stop.wait(poll_s)
            continue
        execute(ws, job, heartbeat_s=heartbeat_s, stop=stop)
        done += 1
    return done


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and Ctrl-C set `stop` (the running job is released at its next trial
    boundary); a second Ctrl-C interrupts at once. Call from the main thread."""

    def handle(signum: int, _frame: object) -> None:
        if signum == signal.SIGINT and stop.is_set():
            raise KeyboardInterrupt
        log.info("stopping (signal %d)", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def main(argv: list[str] | None = None) -> int:
    from shipyard.workspace.local import LocalWorkspace

    parser = argparse.ArgumentParser(description="Run the jobs of a Shipyard workspace.")
    parser.add_argument("--workspace", required=True, help="workspace folder")
    parser.add_argument("--artifacts", help="artifact folder (default: the workspace's)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    stop = threading.Event()
    stop_on_signals(stop)
    when_parent_exits(stop.set)  # a server's worker stops with it, even a killed one
    db_url = os.environ.get(DB_URL_ENV)
    with LocalWorkspace.open(Path(args.workspace), db_url=db_url, artifacts=args.artifacts) as ws:
        log.info("worker %s ready", ws.owner)
        run_worker(ws, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
