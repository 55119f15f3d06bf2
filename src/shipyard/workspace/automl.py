"""AutoML recorded: the engine runs in this process; the workspace records what it does.

The run is a parent run (kind `automl`) with one child run (kind `trial`) per trial and
ensemble, created as each trial starts and finished as it ends, so `shipyard run list`
shows progress live. At the end the best model, its report (metrics, confusion matrix,
curves), feature importance, guardrails and the leaderboard are stored as artifacts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipyard.auth.manifest import folder_digests
from shipyard.automl.trial import ProgressCallback, Trial
from shipyard.core.schemas import JobEventKind, Run, RunStatus
from shipyard.workspace._base import WorkspaceBase

if TYPE_CHECKING:
    from shipyard.automl import AutoMLResult, AutoMLSettings
    from shipyard.automl.guardrails import Guardrail
    from shipyard.workspace.local import LocalWorkspace

MODEL_DIR = "model"
_TRIAL_STATUS = {
    "completed": RunStatus.COMPLETED,
    "pruned": RunStatus.CANCELED,
    "timeout": RunStatus.FAILED,
    "failed": RunStatus.FAILED,
}


class RunCanceled(Exception):
    """Raised from a progress callback to stop a run on request; it is recorded canceled."""


class AutoMLRun:
    """A recorded AutoML run: the parent run as stored, and the engine's full result.

    Given `load` instead of `result` (a run on a server), the result is loaded when first
    read, so a caller that needs only the run's metrics downloads no model.
    """

    def __init__(
        self,
        run: Run,
        result: AutoMLResult | None = None,
        *,
        load: Callable[[], AutoMLResult] | None = None,
    ) -> None:
        if (result is None) == (load is None):
            raise TypeError("give AutoMLRun a result or a way to load it, not both")
        self.run = run
        self._result, self._load = result, load

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def has_result(self) -> bool:
        """Whether the engine's result is here already (always, for a run of this process)."""
        return self._result is not None

    @property
    def result(self) -> AutoMLResult:
        """The engine's result, model included (loaded on first use when not given)."""
        if self._result is None:
            assert self._load is not None  # __init__ takes exactly one of them
            self._result = self._load()
        return self._result


class AutoMLOperations(WorkspaceBase):
    """Run the AutoML engine on a registered dataset and record everything."""

    def automl(
        self,
        dataset: str,
        settings: AutoMLSettings,
        *,
        experiment: str = "automl",
        callback: ProgressCallback | None = None,
        run_id: str | None = None,
    ) -> AutoMLRun:
        """Run AutoML on `dataset` (`NAME[:VERSION]`) in this process and record the run.

        Args:
            run_id: a queued run (a job's) to record into, instead of a new one.
        """
        ws: LocalWorkspace = self  # type: ignore[assignment]
        data = ws.get_dataset(dataset)
        frame = data.to_pandas()
        if run_id is not None:
            parent = ws.set_run_status(run_id, RunStatus.RUNNING)
        else:
            parent = ws.create_run(
                experiment,
                name=f"automl {data.ref}",
                kind="automl",
                params=settings.to_dict(),
                tags={"dataset": data.ref, "target": settings.target},
                dataset_version_id=data.id,
            )
        from shipyard.automl.engine import run_automl  # the engine loads when a run trains

        recorder = RunRecorder(ws, parent, callback or ProgressCallback())
        try:
            result = run_automl(frame, settings, callback=recorder)
        except BaseException as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            stopped = isinstance(exc, KeyboardInterrupt | RunCanceled)
            status = RunStatus.CANCELED if stopped else RunStatus.FAILED
            recorder.close_open_trials(reason)
            ws.log_text(parent.id, f"run failed: {reason}", "error")
            ws.finish_run(parent.id, status, reason)
            raise
        run = self._record_result(ws, parent.id, result, recorder)
        return AutoMLRun(run=run, result=result)

    def _record_result(
        self, ws: LocalWorkspace, run_id: str, result: AutoMLResult, recorder: RunRecorder
    ) -> Run:
        model_key = f"runs/{run_id}/{MODEL_DIR}"
        with self.artifacts.stage_dir(model_key) as folder:
            result.save(folder)
            # Hashed before the folder is in place: what the engine wrote, nothing later.
            model_files = folder_digests(folder)
        ws.log_json(run_id, "report.json", result.report)
        ws.log_json(run_id, "importance.json", result.importance)
        ws.log_artifact(run_id, "leaderboard.csv", result.leaderboard().to_csv(index=False))
        ws.log_metrics(run_id, _finite(result.report.get("metrics", {})))
        best_child = recorder.run_ids.get(result.best.number)
        ws.set_tags(
            run_id,
            {
                "best_learner": result.best.learner,
                "best_trial": str(result.best.number),
                "best_run_id": best_child or "",
                "primary_metric": result.metric,
                "ranked_by": result.ranked_by,
                "task": result.task,
            },
        )
        ws.log_params(run_id, {"validation": result.validation})
        ws.record_engine_model(run_id, model_key, model_files)
        for note in result.notes:
            ws.log_text(run_id, note)
        ws.log_text(run_id, f"best: {result.best.learner}, {result.metric} {result.best_score:.5f}")
        return ws.finish_run(run_id, RunStatus.COMPLETED)


class RunRecorder(ProgressCallback):
    """Turns the engine's progress callbacks into child runs, logs and artifacts."""

    def __init__(self, ws: LocalWorkspace, parent: Run, forward: ProgressCallback) -> None:
        self.ws = ws
        self.parent = parent
        self.forward = forward
        self.metric = "score"
        self.run_ids: dict[int, str] = {}
        self._open: set[str] = set()

    def on_guardrails(self, guardrails: list[Guardrail]) -> None:
        self.ws.log_json(self.parent.id, "guardrails.json", [g.to_dict() for g in guardrails])
        for g in guardrails:
            self.ws.log_text(self.parent.id, f"guardrail {g.name}: {g.status} - {g.message}")
        self.forward.on_guardrails(guardrails)

    def on_setup(self, task: str, metric: str) -> None:
        self.metric = metric
        self.ws.set_tags(self.parent.id, {"task": task, "primary_metric": metric})
        self.forward.on_setup(task, metric)

    def on_trial_start(self, trial: Trial) -> None:
        run = self.ws.create_run(
            self.parent.experiment,
            name=f"{trial.learner} #{trial.number}",
            kind="trial",
            parent_id=self.parent.id,
            params=_trial_params(trial),
            tags={"learner": trial.learner, "trial": str(trial.number)},
        )
        self.run_ids[trial.number] = run.id
        self._open.add(run.id)
        self.forward.on_trial_start(trial)

    def on_trial_end(self, trial: Trial) -> None:
        run_id = self.run_ids.get(trial.number)
        if run_id is not None:
            self._record_trial(run_id, trial)
        self.forward.on_trial_end(trial)

    def on_phase(self, phase: str, message: str) -> None:
        self.ws.log_text(self.parent.id, f"{phase}: {message}")
        self.forward.on_phase(phase, message)

    def close_open_trials(self, reason: str) -> None:
        """Fail the trials still open when the run itself stopped."""
        for run_id in list(self._open):
            self.ws.finish_run(run_id, RunStatus.FAILED, f"the AutoML run stopped: {reason}")
            self._open.discard(run_id)

    def _record_trial(self, run_id: str, trial: Trial) -> None:
        metrics: dict[str, float] = {}
        if trial.score is not None:
            metrics[self.metric] = trial.score
        if math.isfinite(trial.loss):
            metrics["loss"] = trial.loss
        metrics["fit_time_s"] = trial.fit_time_s
        if trial.latency_ms is not None:
            metrics["latency_ms"] = trial.latency_ms
        self.ws.log_metrics(run_id, _finite(metrics))
        if trial.fold_scores:
            self.ws.log_metric_series(run_id, "fold_score", _finite_list(trial.fold_scores))
        status = _TRIAL_STATUS.get(trial.status, RunStatus.FAILED)
        reason = trial.error or (
            f"pruned: {trial.status}" if status is RunStatus.CANCELED else None
        )
        self.ws.set_tags(run_id, {"trial_status": trial.status})
        self.ws.finish_run(run_id, status, reason)
        self._open.discard(run_id)


class JobEventRecorder(ProgressCallback):
    """Turns the engine's progress callbacks into the job's events, then passes them on.

    A job's worker puts it after `RunRecorder`, so a trial's child run exists before its
    event is read, and before `forward` may stop the run at the trial's end.
    """

    def __init__(self, ws: LocalWorkspace, job_id: str, forward: ProgressCallback) -> None:
        self.ws, self.job_id, self.forward = ws, job_id, forward

    def on_guardrails(self, guardrails: list[Guardrail]) -> None:
        found = [g.to_dict() for g in guardrails]
        self._record(JobEventKind.GUARDRAILS, {"guardrails": found})
        self.forward.on_guardrails(guardrails)

    def on_setup(self, task: str, metric: str) -> None:
        self._record(JobEventKind.SETUP, {"task": task, "metric": metric})
        self.forward.on_setup(task, metric)

    def on_trial_start(self, trial: Trial) -> None:
        started = {"number": trial.number, "learner": trial.learner, "params": trial.params}
        self._record(JobEventKind.TRIAL_STARTED, started)
        self.forward.on_trial_start(trial)

    def on_trial_end(self, trial: Trial) -> None:
        self._record(JobEventKind.TRIAL_FINISHED, trial.to_dict())
        self.forward.on_trial_end(trial)

    def on_phase(self, phase: str, message: str) -> None:
        self._record(JobEventKind.PHASE, {"phase": phase, "message": message})
        self.forward.on_phase(phase, message)

    def _record(self, kind: JobEventKind, payload: dict[str, Any]) -> None:
        self.ws.record_job_event(self.job_id, kind, json_ready(payload))


def json_ready(value: Any) -> Any:
    """`value` as JSON holds it: numpy scalars as numbers, NaN and infinities as None."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    item = getattr(value, "item", None)  # a numpy scalar
    return json_ready(item()) if callable(item) else str(value)


def _trial_params(trial: Trial) -> dict[str, Any]:
    params = json.loads(json.dumps(trial.to_dict()["params"], default=str))
    return {str(k): v for k, v in params.items()}


def _finite(values: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in values.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            out[key] = float(value)
    return out


def _finite_list(values: list[float]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]
