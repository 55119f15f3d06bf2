"""The public entry point: `shipyard.Workspace` opens a workspace.

`Workspace.local(path)` works on a folder in this process; `Workspace.from_config(path)`
talks to a Shipyard server as the service principal its `config.json` names. Both offer
the operations of `core.interface.WorkspaceAPI`, and both add the ones that need the
AutoML engine in this process: `automl` (remotely: a job of the server's workers,
followed to its end), `load_model` and the endpoint benchmark.
"""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from shipyard.automl import AutoMLResult, AutoMLSettings, ProgressCallback, Trial
from shipyard.automl.guardrails import Guardrail
from shipyard.automl.model import TabularModel, load_model
from shipyard.client import RemoteWorkspace, ServicePrincipalAuthentication
from shipyard.core import errors
from shipyard.core.errors import ConflictError, InvalidInputError, ShipyardError
from shipyard.core.schemas import Job, JobStatus, Run
from shipyard.serving.bench import BenchLoad, BenchResult, BenchTarget, run_bench
from shipyard.workspace import LocalWorkspace
from shipyard.workspace.automl import MODEL_DIR, AutoMLRun
from shipyard.workspace.endpoints import bench_target

if TYPE_CHECKING:
    from shipyard.core.interface import WorkspaceAPI

    # mypy checks here that both workspaces implement the whole protocol.
    _LOCAL_IS_A_WORKSPACE: type[WorkspaceAPI] = LocalWorkspace
    _REMOTE_IS_A_WORKSPACE: type[WorkspaceAPI] = RemoteWorkspace

CONFIG_KEYS = ("server", "client_id", "client_secret")
POLL_S = 0.5
PHASES = ("prepare", "search", "ensemble", "refit", "explain", "done")
GUARDRAILS_FILE = "guardrails.json"


class Workspace:
    """Opens workspaces; every operation lives on the object it returns."""

    def __init__(self) -> None:
        raise TypeError("use Workspace.local(path) or Workspace.from_config(path)")

    @staticmethod
    def local(
        path: str | Path = ".shipyard",
        *,
        db_url: str | None = None,
        artifacts: str | Path | None = None,
    ) -> LocalWorkspace:
        """The workspace in folder `path` (created if needed), or on `db_url` with artifacts."""
        return LocalWorkspace.open(path, db_url=db_url, artifacts=artifacts)

    @staticmethod
    def from_config(
        path: str | Path = "config.json",
        *,
        server: str | None = None,
        http: httpx.Client | None = None,
    ) -> ServerWorkspace:
        """The workspace served at the `server` of a config file, as its service principal.

        The file is the one `shipyard server start` writes (keys `server`, `client_id`,
        `client_secret`).

        Args:
            server: this URL instead of the file's `server` (the file then needs no `server`).
            http: the HTTP client to send requests with (tests pass an in-process one).
        """
        config = read_config(path, server=server)
        auth = ServicePrincipalAuthentication(
            config["client_id"], config["client_secret"], config["server"], http=http
        )
        return ServerWorkspace(config["server"], auth, http=http)


def read_config(path: str | Path, *, server: str | None = None) -> dict[str, str]:
    """The server URL and credentials of a `config.json`; clear errors if it is not one.

    With `server`, that URL replaces the file's (which may then leave `server` out).
    """
    file = Path(path)
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError:
        raise InvalidInputError(f"no config file at {file}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{file} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{file} must hold a JSON object with {', '.join(CONFIG_KEYS)}")
    if server:
        data = {**data, "server": server}
    missing = [k for k in CONFIG_KEYS if not data.get(k)]
    if missing:
        raise InvalidInputError(f"{file} lacks {', '.join(missing)}")
    return {k: str(data[k]) for k in CONFIG_KEYS}


class ServerWorkspace(RemoteWorkspace):
    """A workspace on a server, plus the operations that need the AutoML engine here.

    `Workspace.from_config` returns it. Models are loaded with joblib, so load them only
    from a server you trust, as you would a model file.
    """

    poll_s: float = POLL_S

    def automl(
        self,
        dataset: str,
        settings: AutoMLSettings,
        *,
        experiment: str = "automl",
        callback: ProgressCallback | None = None,
    ) -> AutoMLRun:
        """Run AutoML on `dataset` (`NAME[:VERSION]`) as a job of the server's workers.

        Follows the job to its end, telling `callback` of the guardrails, the metric, each
        trial and each phase as the server records them; Ctrl-C (KeyboardInterrupt) cancels
        the job. Returns the recorded run and its result, read back from the run's model.
        """
        job = self.submit_automl_job(dataset, settings, experiment=experiment)
        follower = JobFollower(self, job, callback or ProgressCallback())
        try:
            run = follower.follow(self.poll_s)
        except KeyboardInterrupt:
            self._cancel_quietly(job.id)
            raise
        return AutoMLRun(run=run, result=self.automl_result(run.id))

    def automl_result(self, run_id: str) -> AutoMLResult:
        """The engine's result of a completed AutoML run, model included."""
        with tempfile.TemporaryDirectory(prefix="shipyard-run-") as folder:
            self.download_artifacts(run_id, MODEL_DIR, folder)
            return AutoMLResult.load(folder)

    def download_artifacts(self, run_id: str, prefix: str, destination: str | Path) -> Path:
        """Copy the run's artifacts under folder `prefix` into `destination`."""
        target = Path(destination)
        wanted = [p for p in self.list_artifacts(run_id) if p.startswith(f"{prefix}/")]
        if not wanted:
            raise InvalidInputError(f"run {run_id} has no artifacts under {prefix}/")
        for path in wanted:
            file = target.joinpath(*path.removeprefix(f"{prefix}/").split("/"))
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(self.read_artifact(run_id, path))
        return target

    def load_model(self, ref: str, version: int | None = None) -> TabularModel:
        """The registered model, downloaded and ready to `predict`."""
        with tempfile.TemporaryDirectory(prefix="shipyard-model-") as folder:
            return load_model(self.download_model(ref, Path(folder) / "model", version))

    def endpoint_bench_target(
        self, name: str, *, rows: int = 1, proba: bool = False
    ) -> BenchTarget:
        """The request a benchmark repeats: the model's example row `rows` times."""
        return bench_target(self, name, rows=rows, proba=proba)

    def bench_endpoint(
        self, name: str, load: BenchLoad, *, rows: int = 1, proba: bool = False
    ) -> BenchResult:
        """Send the example request from this machine as `load` says; ab's figures."""
        return run_bench(self.endpoint_bench_target(name, rows=rows, proba=proba), load)

    def _cancel_quietly(self, job_id: str) -> None:
        # Finished meanwhile, or the server is gone: there is nothing left to stop.
        with contextlib.suppress(ShipyardError):
            self.cancel_job(job_id)


@dataclass
class JobFollower:
    """Polls an AutoML job and its run, and replays what the server records as callbacks."""

    ws: RemoteWorkspace
    job: Job
    callback: ProgressCallback
    run_id: str | None = None
    metric: str = "score"
    seen_logs: int = 0
    has_guardrails: bool = False
    has_setup: bool = False
    trials: dict[str, str] = field(default_factory=dict)  # child run id -> last status
    said_queued: bool = False

    def follow(self, poll_s: float, sleep: Callable[[float], None] = time.sleep) -> Run:
        """Poll until the job ends; the completed run, or the error the job failed with."""
        started = time.monotonic()
        while True:
            self.job = self.ws.get_job(self.job.id)
            if self.job.run_id is not None and self.job.status is not JobStatus.QUEUED:
                self._poll_run(self.job.run_id)
            elif not self.said_queued and time.monotonic() - started > 5 * poll_s:
                self.said_queued = True
                self.callback.on_phase("queued", _queued_message(self.job))
            if self.job.is_finished:
                return self._outcome()
            sleep(poll_s)

    def _poll_run(self, run_id: str) -> None:
        if run_id != self.run_id:
            if self.run_id is not None:  # a lost worker's job runs again, as a new run
                self.callback.on_phase("retry", f"attempt {self.job.attempts}: run {run_id}")
            self.run_id, self.seen_logs, self.trials = run_id, 0, {}
            self.has_guardrails = self.has_setup = False
        for line in self.ws.get_run_logs(run_id)[self.seen_logs :]:
            self.seen_logs += 1
            self._replay_log(run_id, line.message)
        if not self.has_setup and self.has_guardrails:
            tags = self.ws.get_run(run_id).tags
            if "primary_metric" in tags:
                self.has_setup = True
                self.metric = tags["primary_metric"]
                self.callback.on_setup(tags.get("task", ""), self.metric)
        for child in self._children(run_id):
            self._replay_trial(child)

    def _replay_log(self, run_id: str, message: str) -> None:
        phase, _, text = message.partition(": ")
        if phase in PHASES:
            self.callback.on_phase(phase, text)
        elif message.startswith("guardrail ") and not self.has_guardrails:
            self.has_guardrails = True
            found = json.loads(self.ws.read_artifact(run_id, GUARDRAILS_FILE))
            self.callback.on_guardrails([Guardrail(**g) for g in found])

    def _children(self, run_id: str) -> list[Run]:
        children: list[Run] = []
        token: str | None = None
        while True:
            page = self.ws.list_runs(parent_id=run_id, max_results=500, page_token=token)
            children += page.items
            token = page.next_page_token
            if token is None:
                return children

    def _replay_trial(self, child: Run) -> None:
        status = child.tags.get("trial_status", "running")
        before = self.trials.get(child.id)
        if before == status:
            return
        trial = _trial(child, status, self.metric)
        if before is None:
            self.callback.on_trial_start(_trial(child, "running", self.metric))
        if status != "running":
            self.callback.on_trial_end(trial)
        self.trials[child.id] = status

    def _outcome(self) -> Run:
        if self.job.run_id is not None:
            self._poll_run(self.job.run_id)  # what happened since the last poll
        if self.job.status is JobStatus.COMPLETED and self.job.run_id is not None:
            return self.ws.get_run(self.job.run_id)
        if self.job.status is JobStatus.CANCELED:
            raise ConflictError(f"job {self.job.id} was canceled: {self.job.error or 'on request'}")
        raise job_error(self.job)


def job_error(job: Job) -> ShipyardError:
    """The error a failed job stands for: the Shipyard error it names, else a plain one."""
    reason = job.error or "no reason recorded"
    name, _, message = reason.partition(": ")
    kind = getattr(errors, name, None)
    if isinstance(kind, type) and issubclass(kind, ShipyardError) and message:
        return kind(message)
    return ShipyardError(f"job {job.id} failed: {reason}")


def _queued_message(job: Job) -> str:
    return (
        f"job {job.id} waits for a worker (the server runs them with --workers N, or start "
        "`shipyard worker` where the server's workspace is)"
    )


def _trial(child: Run, status: str, metric: str) -> Trial:
    """A trial as the engine reported it, read back from its child run."""
    metrics: dict[str, Any] = child.metrics
    return Trial(
        number=int(child.tags.get("trial", "-1")),
        learner=child.tags.get("learner", child.name or "?"),
        params=dict(child.params),
        status=status,
        score=metrics.get(metric),
        loss=float(metrics.get("loss", math.inf)),
        fit_time_s=float(metrics.get("fit_time_s", 0.0)),
        duration_s=child.duration_s or 0.0,
        latency_ms=metrics.get("latency_ms"),
        error=child.failure_reason,
    )
