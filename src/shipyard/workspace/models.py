"""The model registry: register a run's model as NAME version N; list, get, download, load."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

from shipyard.automl import TabularModel, load_model
from shipyard.automl.model import DESCRIPTOR_FILE
from shipyard.core.errors import ConflictError, InvalidInputError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.core.names import check_name, parse_ref
from shipyard.core.schemas import ModelVersion, Page, RegisteredModel, RunStatus
from shipyard.store import models as q
from shipyard.store import runs as run_queries
from shipyard.store.tables import ModelVersionRow, RegisteredModelRow
from shipyard.workspace._base import WorkspaceBase
from shipyard.workspace._pages import next_token, page_bounds


class ModelOperations(WorkspaceBase):
    """Register models from runs and read them back."""

    def register_model(
        self,
        name: str,
        run_id: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Register the model of run `run_id` as the next version of `name`."""
        check_name(name, "model name")
        clean_tags = {check_name(str(k), "tag name"): str(v) for k, v in (tags or {}).items()}
        run = self.get_run(run_id)  # type: ignore[attr-defined]
        if not run.has_model:
            raise InvalidInputError(
                f"run {run_id} has no model to register ({run.kind} run, {run.status.value}); "
                "register a completed AutoML run"
            )
        if run.status is not RunStatus.COMPLETED:
            raise ConflictError(f"run {run_id} is {run.status.value}; only completed runs register")
        return self.retrying(
            lambda: self._store_model(
                name, run_id, run.dataset, run.metrics, description, clean_tags
            )
        )

    def _store_model(
        self,
        name: str,
        run_id: str,
        dataset: str | None,
        metrics: dict[str, float],
        description: str | None,
        tags: dict[str, str],
    ) -> ModelVersion:
        now = self.now()
        with self.store.write() as session:
            run_row = run_queries.find_run_row(session, run_id)
            if run_row is None or run_row.model_path is None:  # changed since the check
                raise ConflictError(f"run {run_id} no longer has a model")
            descriptor = json.loads(
                self.artifacts.read_bytes(f"{run_row.model_path}/{DESCRIPTOR_FILE}")
            )
            model = q.find_model(session, name)
            if model is None:
                model = RegisteredModelRow(
                    id=new_id("model"),
                    name=name,
                    description=description,
                    created_at=now,
                    updated_at=now,
                )
                session.add(model)
                session.flush()
            version = q.next_version(session, model.id)
            key = f"models/{name}/{version}"
            self.artifacts.copy_dir(run_row.model_path, key)
            row = ModelVersionRow(
                id=new_id("model_version"),
                model_id=model.id,
                name=name,
                version=version,
                description=description,
                tags=tags,
                metrics=metrics,
                descriptor=descriptor,
                run_id=run_id,
                dataset=dataset,
                task=descriptor.get("task"),
                target=descriptor.get("target"),
                learner=descriptor.get("learner"),
                storage_path=key,
                created_at=now,
            )
            model.updated_at = now
            session.add(row)
            session.flush()
            return row.to_entity()

    def get_model(self, ref: str, version: int | None = None) -> ModelVersion:
        """A model version by `NAME`, `NAME:VERSION` or `NAME:latest`."""
        return self._model_row(ref, version).to_entity()

    def list_models(
        self, *, max_results: int = 100, page_token: str | None = None
    ) -> Page[RegisteredModel]:
        """Every registered model, by name, with its latest version number."""
        offset, limit = page_bounds(page_token, max_results)
        with self.store.read() as session:
            rows, total = q.models_page(session, offset, limit)
        items = [
            RegisteredModel(
                id=m.id,
                name=m.name,
                description=m.description,
                latest_version=latest,
                versions=n,
                created_at=m.created_at,
                updated_at=m.updated_at,
            )
            for m, latest, n in rows
        ]
        return Page[RegisteredModel](
            items=items, total=total, next_page_token=next_token(offset, limit, total)
        )

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        """Every version of model `name`, oldest first."""
        check_name(name, "model name")
        with self.store.read() as session:
            rows = q.versions(session, name)
        if not rows:
            raise NotFoundError(f"no model named {name!r}")
        return [r.to_entity() for r in rows]

    def download_model(self, ref: str, destination: str | Path, version: int | None = None) -> Path:
        """Copy the model folder (model file and descriptor) to `destination`."""
        row = self._model_row(ref, version)
        target = Path(destination)
        if target.exists() and any(target.iterdir()):
            raise ConflictError(f"{target} exists and is not empty")
        shutil.copytree(self.artifacts.path(row.storage_path), target, dirs_exist_ok=True)
        return target

    def load_model(self, ref: str, version: int | None = None) -> TabularModel:
        """The registered model, ready to `predict`."""
        row = self._model_row(ref, version)
        return load_model(self.artifacts.path(row.storage_path))

    def model_folder(self, ref: str, version: int | None = None) -> Path:
        """The folder holding a registered model's files (model and descriptor)."""
        return self.artifacts.path(self._model_row(ref, version).storage_path).resolve()

    def _model_row(self, ref: str, version: int | None) -> ModelVersionRow:
        parsed = parse_ref(ref, "model name")
        wanted = version if version is not None else parsed.version
        with self.store.read() as session:
            row = q.find_version(session, parsed.name, wanted)
            if row is None:
                known = q.versions(session, parsed.name)
                if not known:
                    raise NotFoundError(f"no model named {parsed.name!r}")
                listed = ", ".join(str(v.version) for v in known)
                raise NotFoundError(
                    f"model {parsed.name!r} has no version {wanted} (versions: {listed})"
                )
            return row
