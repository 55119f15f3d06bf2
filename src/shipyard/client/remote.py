"""`RemoteWorkspace`: the workspace API, spoken to a Shipyard server over REST."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import pandas as pd

from shipyard.client.endpoints import RemoteEndpoints
from shipyard.client.principals import RemotePrincipals
from shipyard.core.errors import ConflictError, InvalidInputError
from shipyard.core.names import parse_ref
from shipyard.core.schemas import (
    Dataset,
    DatasetProfile,
    Experiment,
    Job,
    JobEvent,
    MetricPoint,
    ModelVersion,
    Page,
    RegisteredModel,
    Run,
    RunLog,
    RunStatus,
)


class RemoteWorkspace(RemoteEndpoints, RemotePrincipals):
    """The same operations as a local workspace, each one HTTP request (or a few) to the server.

    with RemoteWorkspace("http://127.0.0.1:8470", ServicePrincipalAuthentication(...)) as ws:
        ws.list_datasets()

    Errors come back as the Shipyard error the server raised (`NotFoundError`, ...), and a
    server that does not answer is a `ServiceUnavailableError`.
    """

    def _bind(self, dataset: Dataset) -> Dataset:
        return dataset.bind(lambda d: self.load_dataset(d.name, d.version))

    # --- datasets ------------------------------------------------------------------------

    def register_dataset(
        self,
        name: str,
        source: str | Path | pd.DataFrame,
        *,
        description: str | None = None,
        target: str | None = None,
    ) -> Dataset:
        """Upload a CSV/Parquet file (or a DataFrame, as Parquet) as the next version of `name`."""
        if isinstance(source, pd.DataFrame):
            buffer = io.BytesIO()
            source.to_parquet(buffer, index=False)
            filename, content = "data.parquet", buffer.getvalue()
        else:
            path = Path(source)
            if not path.is_file():
                raise InvalidInputError(f"no such file: {path}")
            with path.open("rb") as handle:  # sent in chunks, not read whole
                return self._upload_dataset(name, path.name, handle, description, target)
        return self._upload_dataset(name, filename, content, description, target)

    def _upload_dataset(
        self,
        name: str,
        filename: str,
        content: bytes | BinaryIO,
        description: str | None,
        target: str | None,
    ) -> Dataset:
        form = {"name": name, "description": description, "target": target}
        response = self._request(
            "POST",
            "/datasets",
            data={k: v for k, v in form.items() if v is not None},
            files={"file": (filename, content)},
        )
        return self._bind(Dataset.model_validate(response.json()))

    def get_dataset(self, ref: str, version: int | None = None) -> Dataset:
        """A dataset version: the latest unless `version` (or `NAME:VERSION`) says which."""
        parsed = parse_ref(ref, "dataset name")
        wanted = version if version is not None else parsed.version
        return self._bind(
            self._get(f"/datasets/{parsed.name}", Dataset, params={"version": wanted})
        )

    def list_datasets(
        self, *, max_results: int = 100, page_token: str | None = None
    ) -> Page[Dataset]:
        """The latest version of every dataset, by name."""
        params = {"max_results": max_results, "page_token": page_token}
        page = self._get("/datasets", Page[Dataset], params=params)
        return page.model_copy(update={"items": [self._bind(d) for d in page.items]})

    def list_dataset_versions(self, name: str) -> list[Dataset]:
        """Every version of a dataset, oldest first."""
        return [self._bind(d) for d in self._list(f"/datasets/{name}/versions", Dataset)]

    def load_dataset(self, ref: str, version: int | None = None) -> pd.DataFrame:
        """The rows of a dataset version (downloaded as Parquet)."""
        dataset = self.get_dataset(ref, version)
        data = self._request("GET", f"/datasets/{dataset.name}/versions/{dataset.version}/data")
        return pd.read_parquet(io.BytesIO(data.content))

    def profile_dataset(
        self, ref: str, target: str | None = None, *, version: int | None = None
    ) -> DatasetProfile:
        """A version's profile: as stored, or with the class balance of `target`."""
        parsed = parse_ref(ref, "dataset name")
        params = {"target": target, "version": version or parsed.version}
        return self._get(f"/datasets/{parsed.name}/profile", DatasetProfile, params=params)

    # --- experiments and runs ------------------------------------------------------------

    def create_experiment(self, name: str, description: str | None = None) -> Experiment:
        """Create an experiment (an existing one of that name is returned unchanged)."""
        body = {"name": name, "description": description}
        return self._send("POST", "/experiments", Experiment, body)

    def get_experiment(self, name: str) -> Experiment:
        """One experiment by name."""
        return self._get(f"/experiments/{name}", Experiment)

    def list_experiments(self) -> list[Experiment]:
        """Every experiment, by name."""
        return self._list("/experiments", Experiment)

    def create_run(
        self,
        experiment: str,
        *,
        name: str | None = None,
        kind: str = "run",
        parent_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        status: RunStatus = RunStatus.RUNNING,
        dataset_version_id: str | None = None,
    ) -> Run:
        """Start (or queue) a run in `experiment`, created if needed."""
        body = {
            "experiment": experiment,
            "name": name,
            "kind": kind,
            "parent_id": parent_id,
            "params": dict(params or {}),
            "tags": dict(tags or {}),
            "status": RunStatus(status).value,
            "dataset_version_id": dataset_version_id,
        }
        run = self._send("POST", "/runs", Run, body)
        if run.status is RunStatus.RUNNING:
            self._keep_alive()
        return run

    def set_run_status(self, run_id: str, status: RunStatus, reason: str | None = None) -> Run:
        """Move a run along its lifecycle; a finished run cannot change any more."""
        body = {"status": RunStatus(status).value, "reason": reason}
        run = self._send("POST", f"/runs/{run_id}/status", Run, body)
        if run.status is RunStatus.RUNNING:
            self._keep_alive()
        return run

    def get_run(self, run_id: str) -> Run:
        """The run with id `run_id`, its latest metrics included."""
        return self._get(f"/runs/{run_id}", Run)

    def list_runs(
        self,
        *,
        experiment: str | None = None,
        parent_id: str | None = None,
        top_level: bool = False,
        status: str | None = None,
        kind: str | None = None,
        where: str | None = None,
        order_by: str | None = None,
        max_results: int = 50,
        page_token: str | None = None,
    ) -> Page[Run]:
        """Runs matching the filters, newest first unless `order_by` says otherwise."""
        params = {
            "experiment": experiment,
            "parent_id": parent_id,
            "top_level": top_level or None,
            "status": status,
            "kind": kind,
            "where": where,
            "order_by": order_by,
            "max_results": max_results,
            "page_token": page_token,
        }
        return self._get("/runs", Page[Run], params=params)

    def best_child(self, parent_id: str, metric: str, *, higher_is_better: bool = True) -> Run:
        """The completed child run with the best value of `metric`."""
        params = {"metric": metric, "higher_is_better": higher_is_better}
        return self._get(f"/runs/{parent_id}/best-child", Run, params=params)

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], *, step: int = 0) -> int:
        """Record metric values (one step of each series); returns how many were written."""
        body = {"metrics": dict(metrics), "step": step}
        return int(self._request("POST", f"/runs/{run_id}/metrics", json=body).json()["written"])

    def log_metric_series(self, run_id: str, key: str, values: list[float]) -> int:
        """Record a whole series at once (steps 0, 1, 2, ...)."""
        body = {"key": key, "values": list(values)}
        answer = self._request("POST", f"/runs/{run_id}/metric-series", json=body).json()
        return int(answer["written"])

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Add parameters; a parameter already set cannot change to another value."""
        self._request("POST", f"/runs/{run_id}/params", json={"params": dict(params)})

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Add or replace tags."""
        self._request("POST", f"/runs/{run_id}/tags", json={"tags": dict(tags)})

    def log_text(self, run_id: str, message: str, level: str = "info") -> None:
        """Append a line to the run's log."""
        self._request("POST", f"/runs/{run_id}/logs", json={"message": message, "level": level})

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every value logged for metric `key`, by step."""
        return self._list(f"/runs/{run_id}/metrics/{key}", MetricPoint)

    def get_run_logs(self, run_id: str, *, tail: int | None = None) -> list[RunLog]:
        """The run's log lines, oldest first (only the last `tail` if given)."""
        return self._list(f"/runs/{run_id}/logs", RunLog, params={"tail": tail})

    def log_artifact(self, run_id: str, path: str, data: bytes | str) -> str:
        """Store `data` as the run's artifact `path`; returns its key, as the local one does."""
        payload = data.encode() if isinstance(data, str) else data
        headers = {"Content-Type": "application/octet-stream"}
        answer = self._request(
            "PUT", f"/runs/{run_id}/artifacts/{path}", content=payload, headers=headers
        ).json()
        return f"runs/{run_id}/{answer['path']}"

    def list_artifacts(self, run_id: str) -> list[str]:
        """The run's artifact paths, relative to the run."""
        return self._list(f"/runs/{run_id}/artifacts", str)

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """The bytes of one of the run's artifacts."""
        return self._request("GET", f"/runs/{run_id}/artifacts/{path}").content

    # --- model registry ------------------------------------------------------------------

    def register_model(
        self,
        name: str,
        run_id: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Register the model of a completed AutoML run as the next version of `name`."""
        body = {
            "name": name,
            "run_id": run_id,
            "description": description,
            "tags": dict(tags or {}),
        }
        return self._send("POST", "/models", ModelVersion, body)

    def upload_model(
        self,
        name: str,
        folder: str | Path,
        *,
        uploaded_by: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Upload a model folder as the next version of `name` (the server records the
        calling principal as its uploader)."""
        if uploaded_by is not None:
            raise InvalidInputError("the server records who uploads; leave uploaded_by out")
        source = Path(folder)
        if not source.is_dir():
            raise InvalidInputError(f"{source} is not a folder")
        with tempfile.TemporaryFile() as archive:  # zipped on disk: models can be large
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
                for path in sorted(source.rglob("*")):
                    if path.is_file():
                        zipped.write(path, path.relative_to(source).as_posix())
            archive.seek(0)
            form = {"description": description, "tags": json.dumps(dict(tags or {}))}
            response = self._request(
                "POST",
                f"/models/{name}/versions",
                data={k: v for k, v in form.items() if v is not None},
                files={"file": (f"{name}.zip", archive, "application/zip")},
            )
        return ModelVersion.model_validate(response.json())

    def get_model(self, ref: str, version: int | None = None) -> ModelVersion:
        """A model version: the latest unless `version` (or `NAME:VERSION`) says which."""
        parsed = parse_ref(ref, "model name")
        wanted = version if version is not None else parsed.version
        return self._get(f"/models/{parsed.name}", ModelVersion, params={"version": wanted})

    def list_models(
        self, *, max_results: int = 100, page_token: str | None = None
    ) -> Page[RegisteredModel]:
        """Every registered model, by name, with its latest version."""
        params = {"max_results": max_results, "page_token": page_token}
        return self._get("/models", Page[RegisteredModel], params=params)

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        """Every version of a model, oldest first."""
        return self._list(f"/models/{name}/versions", ModelVersion)

    def download_model(self, ref: str, destination: str | Path, version: int | None = None) -> Path:
        """Unpack the model folder (model file and descriptor) into `destination`."""
        target = Path(destination)
        if target.exists() and any(target.iterdir()):
            raise ConflictError(f"{target} exists and is not empty")
        found = self.get_model(ref, version)
        path = f"/models/{found.name}/versions/{found.version}/download"
        archive = zipfile.ZipFile(io.BytesIO(self._request("GET", path).content))
        with archive:
            unpack(archive, target)
        return target

    # --- jobs ----------------------------------------------------------------------------

    def submit_automl_job(
        self,
        dataset: str,
        settings: Any,
        *,
        experiment: str = "automl",
        max_attempts: int = 2,
        created_by: str | None = None,
    ) -> Job:
        """Queue an AutoML run of `dataset` for the server's workers; its run is created queued.

        `settings` is an `AutoMLSettings` or its `to_dict()`; the server records the calling
        principal as `created_by`.
        """
        plain = settings.to_dict() if hasattr(settings, "to_dict") else dict(settings)
        body = {
            "dataset": dataset,
            "settings": plain,
            "experiment": experiment,
            "max_attempts": max_attempts,
        }
        del created_by  # the server records the calling principal
        return self._send("POST", "/jobs/automl", Job, body)

    def get_job(self, job_id: str) -> Job:
        """One job: its status, attempts, worker and run."""
        return self._get(f"/jobs/{job_id}", Job)

    def list_jobs(
        self, *, status: str | None = None, max_results: int = 50, page_token: str | None = None
    ) -> Page[Job]:
        """Jobs, newest first, optionally of one status."""
        params = {"status": status, "max_results": max_results, "page_token": page_token}
        return self._get("/jobs", Page[Job], params=params)

    def cancel_job(self, job_id: str) -> Job:
        """Cancel a queued job now, or ask the worker of a running one to stop."""
        return self._send("POST", f"/jobs/{job_id}/cancel", Job)

    def job_events(
        self, job_id: str, *, after: int = 0, limit: int = 100, wait_s: float = 0.0
    ) -> list[JobEvent]:
        """The job's events numbered above `after`; with `wait_s`, a long poll for the next."""
        params = {"after": after, "limit": limit, "wait_s": wait_s}
        return self._list(f"/jobs/{job_id}/events", JobEvent, params=params)


def unpack(archive: zipfile.ZipFile, target: Path) -> None:
    """Extract `archive` into `target`, refusing members that would land outside it."""
    for member in archive.namelist():
        parts = PurePosixPath(member).parts
        if PurePosixPath(member).is_absolute() or ".." in parts:
            raise InvalidInputError(f"the server sent an archive with an unsafe path: {member}")
    target.mkdir(parents=True, exist_ok=True)
    archive.extractall(target)
