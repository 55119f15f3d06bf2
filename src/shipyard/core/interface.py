"""Protocols shared across layers, so a layer can use what another builds without importing it.

`ScoringModel` is what the scoring service needs of a model: the AutoML engine's
`TabularModel` satisfies it, and `serving` depends on this protocol, never on `automl`.
`WorkspaceAPI` is what the SDK's workspace offers, locally or over HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from shipyard.core.schemas import (
    Dataset,
    DatasetProfile,
    Endpoint,
    EndpointKeys,
    Experiment,
    Job,
    JobEvent,
    MetricPoint,
    ModelVersion,
    Page,
    Principal,
    PrincipalCredentials,
    RegisteredModel,
    Run,
    RunLog,
    RunStatus,
    TelemetrySummary,
)

if TYPE_CHECKING:  # in annotations only: the core stays free of NumPy and pandas
    import numpy as np
    import pandas as pd


@runtime_checkable
class ScoringModel(Protocol):
    """A fitted model that scores JSON-like records."""

    task: str
    classes_: np.ndarray | None
    descriptor: dict[str, Any]

    def predict_records(
        self, records: Sequence[Mapping[str, Any]], *, proba: bool = False
    ) -> np.ndarray:
        """Labels or values (or class probabilities with `proba`) for the records."""
        ...


@runtime_checkable
class WorkspaceAPI(Protocol):
    """The operations a workspace offers, the same in this process and over HTTP.

    `workspace.LocalWorkspace` implements it over the store; `client.RemoteWorkspace`
    over the server's REST API. One contract test suite runs against both.
    """

    # datasets
    def register_dataset(
        self,
        name: str,
        source: Any,
        *,
        description: str | None = None,
        target: str | None = None,
    ) -> Dataset: ...
    def get_dataset(self, ref: str, version: int | None = None) -> Dataset: ...
    def list_datasets(
        self, *, max_results: int = 100, page_token: str | None = None
    ) -> Page[Dataset]: ...
    def list_dataset_versions(self, name: str) -> list[Dataset]: ...
    def load_dataset(self, ref: str, version: int | None = None) -> pd.DataFrame: ...
    def profile_dataset(
        self, ref: str, target: str | None = None, *, version: int | None = None
    ) -> DatasetProfile: ...

    # experiments and runs
    def create_experiment(self, name: str, description: str | None = None) -> Experiment: ...
    def get_experiment(self, name: str) -> Experiment: ...
    def list_experiments(self) -> list[Experiment]: ...
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
    ) -> Run: ...
    def set_run_status(self, run_id: str, status: RunStatus, reason: str | None = None) -> Run: ...
    def get_run(self, run_id: str) -> Run: ...
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
    ) -> Page[Run]: ...
    def best_child(self, parent_id: str, metric: str, *, higher_is_better: bool = True) -> Run: ...
    def log_metrics(self, run_id: str, metrics: Mapping[str, float], *, step: int = 0) -> int: ...
    def log_metric_series(self, run_id: str, key: str, values: list[float]) -> int: ...
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None: ...
    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None: ...
    def log_text(self, run_id: str, message: str, level: str = "info") -> None: ...
    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]: ...
    def get_run_logs(self, run_id: str, *, tail: int | None = None) -> list[RunLog]: ...
    def log_artifact(self, run_id: str, path: str, data: bytes | str) -> str: ...
    def list_artifacts(self, run_id: str) -> list[str]: ...
    def read_artifact(self, run_id: str, path: str) -> bytes: ...

    # model registry
    def register_model(
        self,
        name: str,
        run_id: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion: ...
    def upload_model(
        self,
        name: str,
        folder: str | Path,
        *,
        uploaded_by: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion: ...
    def get_model(self, ref: str, version: int | None = None) -> ModelVersion: ...
    def list_models(
        self, *, max_results: int = 100, page_token: str | None = None
    ) -> Page[RegisteredModel]: ...
    def list_model_versions(self, name: str) -> list[ModelVersion]: ...
    def download_model(
        self, ref: str, destination: str | Path, version: int | None = None
    ) -> Path: ...

    # endpoints
    def deploy_endpoint(
        self,
        name: str,
        model: str,
        *,
        auth_mode: str = "key",
        workers: int = 1,
        logging: bool = False,
        sample_rate: float = 0.0,
        host: str = "127.0.0.1",
        port: int | None = None,
    ) -> Endpoint: ...
    def update_endpoint(
        self,
        name: str,
        *,
        model: str | None = None,
        workers: int | None = None,
        logging: bool | None = None,
        sample_rate: float | None = None,
    ) -> Endpoint: ...
    def delete_endpoint(self, name: str) -> Endpoint: ...
    def get_endpoint(self, name: str) -> Endpoint: ...
    def list_endpoints(self) -> list[Endpoint]: ...
    def endpoint_keys(self, name: str) -> EndpointKeys: ...
    def regenerate_endpoint_key(self, name: str, slot: str) -> EndpointKeys: ...
    def endpoint_token(self, name: str, *, ttl_s: int = 3600) -> str: ...
    def endpoint_auth_header(self, name: str) -> dict[str, str]: ...
    def invoke_endpoint(
        self, name: str, records: list[dict[str, Any]], *, method: str = "predict"
    ) -> dict[str, Any]: ...
    def endpoint_logs(self, name: str, *, tail: int = 100) -> list[str]: ...
    def endpoint_telemetry(
        self, name: str, *, since: str = "1h", bucket_s: int | None = None
    ) -> TelemetrySummary: ...

    # service principals
    def create_principal(self, name: str, role: str) -> PrincipalCredentials: ...
    def list_principals(self) -> list[Principal]: ...
    def delete_principal(self, name: str) -> None: ...
    def rotate_principal(self, name: str) -> PrincipalCredentials: ...

    # jobs
    def submit_automl_job(
        self,
        dataset: str,
        settings: Any,
        *,
        experiment: str = "automl",
        max_attempts: int = 2,
        created_by: str | None = None,
    ) -> Job: ...
    def get_job(self, job_id: str) -> Job: ...
    def list_jobs(
        self, *, status: str | None = None, max_results: int = 50, page_token: str | None = None
    ) -> Page[Job]: ...
    def cancel_job(self, job_id: str) -> Job: ...
    def job_events(
        self, job_id: str, *, after: int = 0, limit: int = 100, wait_s: float = 0.0
    ) -> list[JobEvent]: ...
