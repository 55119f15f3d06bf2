"""`shipyard worker`: run the workspace's queued jobs (AutoML runs submitted over the API)."""

from __future__ import annotations

import logging
import threading

from rich.console import Console

from shipyard.cli._workspace import (
    ArtifactsOption,
    DbOption,
    ServerOption,
    WorkspaceOption,
    open_local_workspace,
)

LOCAL_ONLY = (
    "a worker claims jobs straight from the workspace's database and writes its artifacts, "
    "so it runs where the server's workspace is: give --workspace DIR (and --db URL) instead"
)


def worker(
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    artifacts: ArtifactsOption = None,
    server: ServerOption = None,
) -> None:
    """Claim and run queued jobs, one at a time, until stopped (Ctrl-C or SIGTERM).

    A job running when the worker is stopped goes back to the queue at its next trial
    boundary (a second Ctrl-C stops at once).

    Start as many as the machine can take; each claims jobs atomically, heartbeats while
    it runs one, and a job whose worker dies is queued again for another. A worker works
    on a workspace folder (or database) directly, never through --server.
    """
    from shipyard.workspace.worker import run_worker, stop_on_signals  # the engine, to run jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()
    stop_on_signals(stop)
    with open_local_workspace(
        workspace, db, artifacts=artifacts, server=server, why=LOCAL_ONLY
    ) as ws:
        Console(stderr=True).print(f"worker {ws.owner} on {ws.folder}: waiting for jobs")
        try:
            run_worker(ws, stop)
        except KeyboardInterrupt:
            stop.set()
