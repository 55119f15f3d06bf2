"""The model registry: register a run's model or upload one, list, show, versions, download."""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status
from fastapi.responses import Response

from shipyard.core.errors import InvalidInputError
from shipyard.core.schemas import ModelVersion, Page, RegisteredModel
from shipyard.server.deps import ContributorDep, ReaderDep, WorkspaceDep
from shipyard.server.routes._bounds import VersionPath, VersionQuery
from shipyard.server.routes._files import attachment
from shipyard.server.schemas import ModelCreate
from shipyard.workspace.archives import unpack_model_archive

router = APIRouter(prefix="/models", tags=["models"])


@router.post("", name="create", response_model=ModelVersion, status_code=status.HTTP_201_CREATED)
def register_model(ws: WorkspaceDep, _caller: ContributorDep, body: ModelCreate) -> ModelVersion:
    """Register the model of a completed AutoML run as the next version of `name`.

    Only a model the AutoML engine wrote registers this way; a model made elsewhere is
    uploaded with `POST /models/{name}/versions`.
    """
    return ws.register_model(body.name, body.run_id, description=body.description, tags=body.tags)


@router.post(
    "/{name}/versions",
    name="upload",
    response_model=ModelVersion,
    status_code=status.HTTP_201_CREATED,
)
def upload_model(
    ws: WorkspaceDep,
    caller: ContributorDep,
    name: str,
    file: Annotated[UploadFile, File(description="A zip or tar of the model folder")],
    description: Annotated[str | None, Form()] = None,
    tags: Annotated[str | None, Form(description="A JSON object of tag names to values")] = None,
) -> ModelVersion:
    """Upload a model folder (model.joblib, descriptor.json) as the next version of `name`.

    The version records the calling principal as `uploaded_by`; the workspace computes the
    checksums and signs the manifest the endpoint checks. Nothing is unpickled here.
    """
    clean_tags = _tags(tags)
    with tempfile.TemporaryDirectory(prefix="shipyard-upload-") as folder:
        archive = Path(folder) / "model.archive"
        with archive.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        unpacked = unpack_model_archive(archive, Path(folder) / "model")
        return ws.upload_model(
            name,
            unpacked,
            uploaded_by=caller.principal_id,
            description=description,
            tags=clean_tags,
        )


@router.get("", name="list", response_model=Page[RegisteredModel])
def list_models(
    ws: WorkspaceDep, _caller: ReaderDep, max_results: int = 100, page_token: str | None = None
) -> Page[RegisteredModel]:
    """Every registered model, by name, with its latest version."""
    return ws.list_models(max_results=max_results, page_token=page_token)


@router.get("/{name}", name="get", response_model=ModelVersion)
def get_model(
    ws: WorkspaceDep, _caller: ReaderDep, name: str, version: VersionQuery = None
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
def download_model(
    ws: WorkspaceDep, _caller: ReaderDep, name: str, version: VersionPath
) -> Response:
    """The model folder (model file and descriptor) as a zip archive."""
    folder = ws.model_folder(name, version)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return attachment(buffer.getvalue(), f"{name}-{version}.zip", "application/zip")


def _tags(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        tags = json.loads(text)
    except ValueError:
        raise InvalidInputError("tags must be a JSON object of names to text") from None
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise InvalidInputError("tags must be a JSON object of names to text")
    return tags
