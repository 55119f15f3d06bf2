"""The model registry: register a run's model or upload one as NAME version N; list, get,
download, load. Each version's folder carries a manifest signed by the workspace, which an
endpoint verifies before it loads anything (see `shipyard.auth.manifest`)."""

from __future__ import annotations

import getpass
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.auth.manifest import MANIFEST_FILE, FileDigest, file_digest, sign_folder
from shipyard.automl.catalog import DESCRIPTOR_FILE, MODEL_FILE
from shipyard.core.errors import ConflictError, InvalidInputError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.core.names import check_name, parse_ref
from shipyard.core.schemas import ModelVersion, Page, RegisteredModel, RunStatus
from shipyard.store import Session
from shipyard.store import models as q
from shipyard.store import runs as run_queries
from shipyard.store.tables import ModelVersionRow, RegisteredModelRow
from shipyard.workspace._base import WorkspaceBase
from shipyard.workspace._integrity import (
    ENGINE,
    REGISTRY,
    UPLOAD,
    UPLOAD_HINT,
    check_engine_written,
    copy_upload,
    record_files,
)
from shipyard.workspace._pages import next_token, page_bounds

if TYPE_CHECKING:
    from shipyard.automl.model import TabularModel

UPLOADED_BY = "uploaded_by"


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
        """Register the model of run `run_id` as the next version of `name`.

        Only a model folder the AutoML engine wrote, unchanged since, registers; files
        uploaded with `log_artifact` never do (see `upload_model`).
        """
        check_name(name, "model name")
        clean_tags = _clean_tags(tags)
        run = self.get_run(run_id)  # type: ignore[attr-defined]
        if not run.has_model:
            raise InvalidInputError(
                f"run {run_id} has no model to register ({run.kind} run, {run.status.value}); "
                f"register a completed AutoML run, or {UPLOAD_HINT}"
            )
        if run.status is not RunStatus.COMPLETED:
            raise ConflictError(f"run {run_id} is {run.status.value}; only completed runs register")
        lineage = _Lineage(run_id, run.dataset, run.metrics, description, clean_tags, REGISTRY)
        return self.retrying(lambda: self._store_model_version(name, lineage, None))

    def upload_model(
        self,
        name: str,
        folder: str | Path,
        *,
        uploaded_by: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Register a model folder (model.joblib + descriptor.json) as the next version of
        `name`, recording who uploaded it (tag `uploaded_by`).

        The workspace computes the checksums itself and signs the version's manifest; the
        model is never unpickled here (only an endpoint process loads it).

        Args:
            uploaded_by: the uploader (the server passes the calling principal's id);
                `local:<user name>` by default.
        """
        check_name(name, "model name")
        if uploaded_by is None:
            uploaded_by = f"local:{_user_name()}"
        if not uploaded_by.strip():
            raise InvalidInputError("an uploaded model names who uploaded it (uploaded_by)")
        clean_tags = {**_clean_tags(tags), UPLOADED_BY: uploaded_by}
        lineage = _Lineage(None, None, {}, description, clean_tags, UPLOAD)
        return self.retrying(lambda: self._store_model_version(name, lineage, Path(folder)))

    def record_engine_model(self, run_id: str, key: str, files: Mapping[str, FileDigest]) -> None:
        """The AutoML engine saved run `run_id`'s model folder at `key`: `files` are the
        checksums it computed in its staging folder."""
        with self.store.write() as session:
            row = run_queries.find_run_row(session, run_id)
            if row is None:
                raise NotFoundError(f"no run with id {run_id!r}")
            record_files(session, key, files, ENGINE, self.now())
            row.model_path = key

    def _store_model_version(
        self, name: str, lineage: _Lineage, upload: Path | None
    ) -> ModelVersion:
        now = self.now()
        with self.store.write() as session:
            model = self._model_for_write(session, name, lineage.description, now)
            version = q.next_version(session, model.id)
            key = f"models/{name}/{version}"
            with self.artifacts.stage_dir(key) as staging:
                if upload is not None:
                    descriptor = copy_upload(upload, staging)
                else:
                    descriptor = self._copy_run_model(session, str(lineage.run_id), staging)
                manifest = sign_folder(
                    self.secrets.token_private_key, staging, model=name, version=version
                )
            record_files(session, key, _digests(manifest), lineage.written_by, now)
            row = ModelVersionRow(
                id=new_id("model_version"),
                model_id=model.id,
                name=name,
                version=version,
                description=lineage.description,
                tags=lineage.tags,
                metrics=lineage.metrics,
                descriptor=descriptor,
                run_id=lineage.run_id,
                dataset=lineage.dataset,
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

    def _model_for_write(
        self, session: Session, name: str, description: str | None, now: datetime
    ) -> RegisteredModelRow:
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
        return model

    def _copy_run_model(self, session: Session, run_id: str, staging: Path) -> dict[str, Any]:
        run_row = run_queries.find_run_row(session, run_id)
        if run_row is None or run_row.model_path is None:  # changed since the check
            raise ConflictError(f"run {run_id} no longer has a model")
        shutil.copytree(self.artifacts.path(run_row.model_path), staging, dirs_exist_ok=True)
        check_engine_written(session, run_id, run_row.model_path, staging)
        descriptor: dict[str, Any] = json.loads((staging / DESCRIPTOR_FILE).read_bytes())
        return descriptor

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
        from shipyard.automl.model import load_model  # the model's libraries, when one loads

        return load_model(self.artifacts.path(row.storage_path))

    def model_folder(self, ref: str, version: int | None = None) -> Path:
        """The folder holding a registered model's files (model, descriptor, manifest).

        A version registered before manifests existed gets one here, on first use (see
        `_sign_unsigned`).
        """
        row = self._model_row(ref, version)
        folder = self.artifacts.path(row.storage_path).resolve()
        if not (folder / MANIFEST_FILE).is_file():
            self._sign_unsigned(row, folder)
        return folder

    def _sign_unsigned(self, row: ModelVersionRow, folder: Path) -> None:
        """Sign a version registered before manifests: its folder was written by the
        workspace (never writable over REST), so its files are hashed as they are now,
        provided the model file still matches the checksum in its descriptor."""
        descriptor = folder / DESCRIPTOR_FILE
        try:
            expected = json.loads(descriptor.read_bytes()).get("model_sha256")
            matches = expected == file_digest(folder / MODEL_FILE).sha256
        except (OSError, ValueError, AttributeError):
            matches = False
        if not matches:
            raise ConflictError(
                f"model {row.name}:{row.version} predates signed manifests and its files do "
                f"not match its descriptor's checksum; it cannot be served. {UPLOAD_HINT}"
            )
        manifest = sign_folder(
            self.secrets.token_private_key, folder, model=row.name, version=row.version
        )
        with self.store.write() as session:
            record_files(session, row.storage_path, _digests(manifest), REGISTRY, self.now())

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


@dataclass(frozen=True)
class _Lineage:
    """Where a new model version comes from, and what it is labelled with."""

    run_id: str | None
    dataset: str | None
    metrics: dict[str, float]
    description: str | None
    tags: dict[str, str]
    written_by: str  # REGISTRY (from an engine run) or UPLOAD


def _clean_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    clean = {check_name(str(k), "tag name"): str(v) for k, v in (tags or {}).items()}
    if UPLOADED_BY in clean:
        raise InvalidInputError(f"tag {UPLOADED_BY!r} is set by the workspace, not the caller")
    return clean


def _digests(manifest: Mapping[str, Any]) -> dict[str, FileDigest]:
    return {k: FileDigest(v["sha256"], v["size"]) for k, v in manifest["files"].items()}


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return str(os.getuid())
