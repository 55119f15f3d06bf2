"""The demo's team chapter: the workspace served over REST, used by a service principal.

Starts `shipyard server start` over the demo's workspace in the background (or finds the
one an earlier demo left running), creates a contributor principal as the owner, and as
that principal lists the registered models over plain HTTP with a bearer token and runs
a short AutoML job through the SDK, done by the server's job worker and followed live.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from shipyard.automl import AutoMLSettings
from shipyard.cli import render
from shipyard.cli._automl_run import live_progress
from shipyard.cli._workspace import CONFIG_FILE, write_config
from shipyard.client import ServicePrincipalAuthentication
from shipyard.core.errors import ServiceUnavailableError
from shipyard.core.settings import DEFAULT_HOST, DEFAULT_PORT
from shipyard.datasets import BANK_MARKETING_TARGET
from shipyard.sdk import Workspace

PRINCIPAL = "demo-automation"
PRINCIPAL_FILE = "demo-automation.json"
LOG_FILE = "server.log"
START_DEADLINE_S = 90.0
STOP_TIMEOUT_S = 30.0
# A short job: the point is the path (REST, queue, worker, recorded run), not the score.
JOB_SETTINGS = AutoMLSettings(
    target=BANK_MARKETING_TARGET, budget_s=15, max_trials=4, allowed_learners=("lightgbm",)
)


@dataclass(frozen=True)
class DemoServer:
    """The control-plane server the demo uses; `process` is None for one found running."""

    url: str
    process: subprocess.Popen[bytes] | None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def stop(self) -> None:
        """Stop the server if the demo started it (SIGTERM, as Ctrl-C would)."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT_S)


def team_story(console: Console, folder: Path, dataset: str, server: DemoServer) -> None:
    """A service principal on the server over `folder`, a REST call and a job run through it."""
    with Workspace.from_config(folder / CONFIG_FILE) as owner:
        if PRINCIPAL in {p.name for p in owner.list_principals()}:
            owner.delete_principal(PRINCIPAL)  # its secret was shown once: a new one
        credentials = owner.create_principal(PRINCIPAL, "contributor")
    principal_file = folder / PRINCIPAL_FILE
    write_config(principal_file, server.url, credentials)
    render.say(
        console,
        f"The owner created service principal {PRINCIPAL} (contributor); its client id and "
        f"secret are in {principal_file} (mode 600)",
    )
    auth = ServicePrincipalAuthentication(
        credentials.client_id, credentials.client_secret, server.url
    )
    models = httpx.get(
        f"{server.url}/api/v1/models", headers=auth.get_authentication_header(), timeout=30
    )
    models.raise_for_status()
    names = ", ".join(m["name"] for m in models.json()["items"])
    render.say(
        console,
        f"As {PRINCIPAL}, plain HTTP with a token from POST /api/v1/auth/token:",
        f"  GET /api/v1/models -> {models.status_code}: {names}",
    )
    with Workspace.from_config(principal_file) as automation:
        render.say(console, f"As {PRINCIPAL}, AutoML as a job of the server's worker:")
        # The SDK submits the job and follows it, replaying what the worker records.
        with live_progress(console, JOB_SETTINGS) as progress:
            job = automation.automl(
                dataset, JOB_SETTINGS, experiment="demo-jobs", callback=progress
            )
    auc = job.run.metrics.get("AUC_weighted")
    line = f"Run {job.id} {job.run.status.value}, done by the server's job worker"
    render.say(console, line + (f"; AUC_weighted {auc:.4f}" if auc is not None else ""))


def find_or_start(console: Console, folder: Path, db: str | None) -> DemoServer:
    """The server an earlier demo left running on `folder`, else a new one in the
    background (its own session: it outlives the demo; log in `folder/server.log`)."""
    running = _running_url(folder / CONFIG_FILE)
    if running is not None:
        render.say(console, f"Shipyard server already running on {running}")
        return DemoServer(running, None)
    port = DEFAULT_PORT if _port_free(DEFAULT_PORT) else _free_port()
    argv = [sys.executable, "-m", "shipyard.cli.main", "server", "start"]
    argv += ["--workspace", str(folder), "--port", str(port), "--workers", "1"]
    argv += ["--db", db] if db else []
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOG_FILE).open("ab") as log:
        process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    url = f"http://{DEFAULT_HOST}:{port}"
    with console.status(f"Starting the Shipyard server on {url} (log: {folder / LOG_FILE})"):
        _wait_ready(url, process, folder / LOG_FILE)
    render.say(console, f"Shipyard server on {url} (Swagger UI: {url}/docs), 1 job worker")
    return DemoServer(url, process)


def _running_url(config: Path) -> str | None:
    try:
        url = str(json.loads(config.read_text())["server"])
        healthy = httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200
    except (OSError, ValueError, KeyError, httpx.HTTPError):
        return None
    return url if healthy else None


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:]
            raise ServiceUnavailableError(f"the server exited: {' '.join(tail)} (see {log})")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise ServiceUnavailableError(f"the server did not answer within {START_DEADLINE_S:.0f} s")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((DEFAULT_HOST, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((DEFAULT_HOST, 0))
        return int(probe.getsockname()[1])
