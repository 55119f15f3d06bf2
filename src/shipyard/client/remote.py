"""`RemoteWorkspace`: the workspace API, spoken to a Shipyard server over REST."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pandas as pd
from pydantic import BaseModel, TypeAdapter

from shipyard.client.http import ServicePrincipalAuthentication, raise_for_error
from shipyard.core.errors import InvalidInputError
from shipyard.core.names import parse_ref
from shipyard.core.schemas import (
    Dataset,
    DatasetProfile,
    Endpoint,
    EndpointKeys,
    Experiment,
    Job,
    MetricPoint,
    ModelVersion,
    Page,
    RegisteredModel,
    Run,
    RunLog,
)

API = "/api/v1"
T = TypeVar("T")
E = TypeVar("E", bound=BaseModel)


class RemoteWorkspace:
    """The same operations as a local workspace, each one HTTP request to the server."""

    def __init__(
        self,
        server: str,
        auth: ServicePrincipalAuthentication,
        *,
        http: httpx.Client | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self.server = server.rstrip("/")
        self.auth = auth
        self._http = http or httpx.Client(timeout=timeout_s)

    def __repr__(self) -> str:
        return f"RemoteWorkspace({self.server!r}, client_id={self.auth.client_id!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RemoteWorkspace:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- plumbing ------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **self.auth.get_authentication_header()}
        params = kwargs.pop("params", None)
        if params is not None:
            kwargs["params"] = {k: v for k, v in params.items() if v is not None}
        response = self._http.request(
            method, f"{self.server}{API}{path}", headers=headers, **kwargs
        )
        raise_for_error(response)
        return response

    def _get(self, path: str, kind: type[E], **kwargs: Any) -> E:
        return kind.model_validate(self._request("GET", path, **kwargs).json())

    def _send(self, method: str, path: str, kind: type[E], body: Any = None) -> E:
        return kind.model_validate(self._request(method, path, json=body).json())

    def _list(self, path: str, kind: type[T], **kwargs: Any) -> list[T]:
        return TypeAdapter(list[kind]).validate_python(self._request("GET", path, **kwargs).json())  # type: ignore[valid-type]

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
            filename, content = path.name, path.read_bytes()
        form = {"name": name, "description": description, "target": target}
        response = self._request(
            "POST",
            "/datasets",
            data={k: v for k, v in form.items() if v is not None},
            files={"file": (filename, content)},
        )
        return self._bind(Dataset.model_validate(response.json()))

    def get_dataset(self, ref: str, version: int | None = None) -> Dataset:
        parsed = parse_ref(ref, "dataset name")
        wanted = version if version is not None else parsed.version
        return self._bind(
            self._get(f"/datasets/{parsed.name}", Dataset, params={"version": wanted})
        )

    def list_datasets(
        self, *, max_results: int = 100, page_token: str | None = None
    ) -> Page[Dataset]:
        params = {"max_results": max_results, "page_token": page_token}
        page = self._get("/datasets", Page[Dataset], params=params)
        return page.model_copy(update={"items": [self._bind(d) for d in page.items]})

    def list_dataset_versions(self, name: str) -> list[Dataset]:
        return [self._bind(d) for d in self._list(f"/datasets/{name}/versions", Dataset)]

    def load_dataset(self, ref: str, version: int | None = None) -> pd.DataFrame:
        dataset = self.get_dataset(ref, version)
        data = self._request("GET", f"/datasets/{dataset.name}/versions/{dataset.version}/data")
        return pd.read_parquet(io.BytesIO(data.content))

    def profile_dataset(self, ref: str, target: str) -> DatasetProfile:
        parsed = parse_ref(ref, "dataset name")
        params = {"target": target, "version": parsed.version}
        return self._get(f"/datasets/{parsed.name}/profile", DatasetProfile, params=params)

    # --- experiments and runs ------------------------------------------------------------

    def create_experiment(self, name: str, description: str | None = None) -> Experiment:
        return self._send(
            "POST", "/experiments", Experiment, {"name": name, "description": description}
        )

    def get_experiment(self, name: str) -> Experiment:
        return self._get(f"/experiments/{name}", Experiment)

    def list_experiments(self) -> list[Experiment]:
        return self._list("/experiments", Experiment)

    def get_run(self, run_id: str) -> Run:
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
        params = {"metric": metric, "higher_is_better": higher_is_better}
        return self._get(f"/runs/{parent_id}/best-child", Run, params=params)

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], *, step: int = 0) -> int:
        body = {"metrics": dict(metrics), "step": step}
        return int(
            self._request("POST", f"/runs/{run_id}/metrics", json=body)
            .json()
            .get("written", len(metrics))
        )

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self._request("POST", f"/runs/{run_id}/params", json={"params": dict(params)})

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        self._request("POST", f"/runs/{run_id}/tags", json={"tags": dict(tags)})

    def log_text(self, run_id: str, message: str, level: str = "info") -> None:
        self._request("POST", f"/runs/{run_id}/logs", json={"message": message, "level": level})

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        return self._list(f"/runs/{run_id}/metrics/{key}", MetricPoint)

    def get_run_logs(self, run_id: str, *, tail: int | None = None) -> list[RunLog]:
        return self._list(f"/runs/{run_id}/logs", RunLog, params={"tail": tail})

    def list_artifacts(self, run_id: str) -> list[str]:
        return self._list(f"/runs/{run_id}/artifacts", str)

    def read_artifact(self, run_id: str, path: str) -> bytes:
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
        body = {
            "name": name,
            "run_id": run_id,
            "description": description,
            "tags": dict(tags or {}),
        }
        return self._send("POST", "/models", ModelVersion, body)

    def get_model(self, ref: str, version: int | None = None) -> ModelVersion:
        parsed = parse_ref(ref, "model name")
        wanted = version if version is not None else parsed.version
        return self._get(f"/models/{parsed.name}", ModelVersion, params={"version": wanted})

    def list_models(
        self, *, max_results: int = 100, page_token: str | None = None
    ) -> Page[RegisteredModel]:
        params = {"max_results": max_results, "page_token": page_token}
        return self._get("/models", Page[RegisteredModel], params=params)

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        return self._list(f"/models/{name}/versions", ModelVersion)

    # --- endpoints -----------------------------------------------------------------------

    def get_endpoint(self, name: str) -> Endpoint:
        return self._get(f"/endpoints/{name}", Endpoint)

    def list_endpoints(self) -> list[Endpoint]:
        return self._list("/endpoints", Endpoint)

    def endpoint_keys(self, name: str) -> EndpointKeys:
        return self._get(f"/endpoints/{name}/keys", EndpointKeys)

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
        return self._get(f"/jobs/{job_id}", Job)

    def list_jobs(
        self, *, status: str | None = None, max_results: int = 50, page_token: str | None = None
    ) -> Page[Job]:
        params = {"status": status, "max_results": max_results, "page_token": page_token}
        return self._get("/jobs", Page[Job], params=params)

    def cancel_job(self, job_id: str) -> Job:
        return self._send("POST", f"/jobs/{job_id}/cancel", Job)
