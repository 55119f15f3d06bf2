"""The model registry: register a run's model, list, show, versions, download as a zip."""

from __future__ import annotations

import io
import zipfile

from fastapi import APIRouter, status
from fastapi.responses import Response

from shipyard.core.schemas import ModelVersion, Page, RegisteredModel
from shipyard.server.deps import ContributorDep, ReaderDep, WorkspaceDep
from shipyard.server.routes._files import attachment
from shipyard.server.schemas import ModelCreate

router = APIRouter(prefix="/models", tags=["models"])


@router.post("", name="create", response_model=ModelVersion, status_code=status.HTTP_201_CREATED)
def register_model(ws: WorkspaceDep, _caller: ContributorDep, body: ModelCreate) -> ModelVersion:
    """Register the model of a completed AutoML run as the next version of `name`."""
    return ws.register_model(body.name, body.run_id, description=body.description, tags=body.tags)


@router.get("", name="list", response_model=Page[RegisteredModel])
def list_models(
    ws: WorkspaceDep, _caller: ReaderDep, max_results: int = 100, page_token: str | None = None
) -> Page[RegisteredModel]:
    """Every registered model, by name, with its latest version."""
    return ws.list_models(max_results=max_results, page_token=page_token)


@router.get("/{name}", name="get", response_model=ModelVersion)
def get_model(
    ws: WorkspaceDep, _caller: ReaderDep, name: str, version: int | None = None
) -> ModelVersion:
    """A model version (the latest unless `version` is given; `NAME:VERSION` works too)."""
    return ws.get_model(name, version)


@router.get("/{name}/versions", name="versions", response_model=list[ModelVersion])
def list_versions(ws: WorkspaceDep, _caller: ReaderDep, name: str) -> list[ModelVersion]:
    """Every version of a model, oldest first."""
    return ws.list_model_versions(name)


@router.get(
    "/{name}/versions/{version}/download",
    name="download",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "The model folder"}},
)
def download_model(ws: WorkspaceDep, _caller: ReaderDep, name: str, version: int) -> Response:
    """The model folder (model file and descriptor) as a zip archive."""
    folder = ws.model_folder(name, version)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return attachment(buffer.getvalue(), f"{name}-{version}.zip", "application/zip")
