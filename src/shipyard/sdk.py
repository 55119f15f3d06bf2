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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from shipyard.automl import AutoMLResult, AutoMLSettings, ProgressCallback, Trial
from shipyard.automl.guardrails import Guardrail
from shipyard.automl.model import TabularModel, load_model
from shipyard.client import RemoteWorkspace, ServicePrincipalAuthentication
from shipyard.core import errors
from shipyard.core.errors import ConflictError, InvalidInputError, ShipyardError
from shipyard.core.schemas import Job, JobEvent, JobEventKind, JobStatus, Run
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
WAIT_S = 5.0  # how long one read of a job's events waits for the next (a long poll)
PAGE = 500  # events read at a time


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

    wait_s: float = WAIT_S

    def automl(
        self,
        dataset: str,
        settings: AutoMLSettings,
        *,
        experiment: str = "automl",
        callback: ProgressCallback | None = None,
    ) -> AutoMLRun:
        """Run AutoML on `dataset` (`NAME[:VERSION]`) as a job of the server's workers.

        Follows the job's events to its end, telling `callback` of the guardrails, the
        metric, each trial and each phase as a local run would; a failed job raises the
        error it failed with, and Ctrl-C (KeyboardInterrupt) cancels the job. Returns the
        recorded run, metrics and tags included; its `result` (the engine's, model
        included) is downloaded when first read.
        """
        job = self.submit_automl_job(dataset, settings, experiment=experiment)
        follower = JobFollower(self, job, callback or ProgressCallback())
        try:
            run = follower.follow(self.wait_s)
        except KeyboardInterrupt:
            self._cancel_quietly(job.id)
            raise
        return AutoMLRun(run=run, load=lambda: self.automl_result(run.id))

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
    """Reads an AutoML job's events after a cursor and replays them as a local run's
    callbacks; ends with the completed run, or raises the error the job failed with."""

    ws: WorkspaceAPI
    job: Job
    callback: ProgressCallback
    after: int = 0  # the last event replayed
    run_id: str | None = None
    ended: Mapping[str, Any] | None = None  # the payload of the job's last status event
    error: Mapping[str, Any] | None = None
    said_queued: bool = False

    def follow(self, wait_s: float = WAIT_S) -> Run:
        """Long-poll the job's events (each read waits up to `wait_s`) until it ends."""
        ended_quietly = False
        while self.ended is None:
            events = self.ws.job_events(self.job.id, after=self.after, limit=PAGE, wait_s=wait_s)
            for event in events:
                self._replay(event)
                self.after = event.seq
            if events or self.ended is not None:
                continue
            if ended_quietly:  # ended, and no status event says how: read the job itself
                self.ended = {"status": self.job.status.value, "reason": self.job.error}
                break
            self.job = self.ws.get_job(self.job.id)
            ended_quietly = self.job.is_finished
            if self.job.status is JobStatus.QUEUED and not self.said_queued:
                self.said_queued = True
                self.callback.on_phase("queued", _queued_message(self.job))
        return self._outcome(self.ended)

    def _replay(self, event: JobEvent) -> None:
        payload = event.payload
        match event.kind:
            case JobEventKind.STATUS:
                self._status(payload)
            case JobEventKind.PHASE:
                self.callback.on_phase(payload["phase"], payload["message"])
            case JobEventKind.GUARDRAILS:
                self.callback.on_guardrails([Guardrail(**g) for g in payload["guardrails"]])
            case JobEventKind.SETUP:
                self.callback.on_setup(payload["task"], payload["metric"])
            case JobEventKind.TRIAL_STARTED:
                started = Trial(payload["number"], payload["learner"], payload["params"])
                self.callback.on_trial_start(started)
            case JobEventKind.TRIAL_FINISHED:
                self.callback.on_trial_end(trial_of(payload))
            case JobEventKind.ERROR:
                self.error = payload

    def _status(self, payload: Mapping[str, Any]) -> None:
        status = JobStatus(payload["status"])
        if status is JobStatus.RUNNING:
            run_id = payload.get("run_id")
            if self.run_id is not None and run_id != self.run_id:  # a lost worker's job again
                self.callback.on_phase("retry", f"attempt {payload.get('attempt')}: run {run_id}")
            self.run_id = run_id
        elif status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED):
            self.ended = payload

    def _outcome(self, ended: Mapping[str, Any]) -> Run:
        status, reason = JobStatus(ended["status"]), ended.get("reason")
        if status is JobStatus.COMPLETED:
            self.job = self.ws.get_job(self.job.id)
            if self.job.run_id is not None:
                return self.ws.get_run(self.job.run_id)
        if status is JobStatus.CANCELED:
            raise ConflictError(f"job {self.job.id} was canceled: {reason or 'on request'}")
        if self.error is not None:
            error = self.error
            raise job_error(self.job.id, error["type"], error["message"], error.get("bases", ()))
        raise JobFailedError(self.job.id, None, reason or "no reason recorded")


class JobFailedError(ShipyardError):
    """A job failed with an error that is not a Shipyard error (or with no error at all)."""

    def __init__(self, job_id: str, error_type: str | None, message: str) -> None:
        self.job_id, self.error_type, self.message = job_id, error_type, message
        named = f"{error_type}: {message}" if error_type else message
        super().__init__(f"job {job_id} failed: {named}")


def job_error(
    job_id: str, error_type: str, message: str, bases: Sequence[str] = ()
) -> ShipyardError:
    """The error a job's error event stands for: the class of `core.errors` it names, or
    else the nearest one it derives from (so a remote run raises what a local one would),
    else a `JobFailedError` carrying the type and message."""
    known = {kind.__name__: kind for kind in errors.error_classes()}
    for name in (error_type, *bases):
        if name in known and name != ShipyardError.__name__:
            return known[name](message)
    return JobFailedError(job_id, error_type, message)


def _queued_message(job: Job) -> str:
    return (
        f"job {job.id} waits for a worker (the server runs them with --workers N, or start "
        "`shipyard worker` where the server's workspace is)"
    )


def trial_of(payload: Mapping[str, Any]) -> Trial:
    """A trial as the engine reported it, from its `trial_finished` event."""
    members = payload.get("members")
    loss = payload.get("loss")
    return Trial(
        number=payload["number"],
        learner=payload["learner"],
        params=dict(payload.get("params") or {}),
        status=payload["status"],
        score=payload.get("score"),
        loss=math.inf if loss is None else float(loss),
        fold_scores=list(payload.get("fold_scores") or []),
        fit_time_s=float(payload.get("fit_time_s") or 0.0),
        duration_s=float(payload.get("duration_s") or 0.0),
        latency_ms=payload.get("latency_ms"),
        error=payload.get("error"),
        members=None if members is None else {int(k): float(v) for k, v in members.items()},
    )
