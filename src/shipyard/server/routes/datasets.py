"""Datasets: upload and register a table (multipart), list, show, versions, rows, profile."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path, PurePath
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status
from fastapi.responses import Response

from shipyard.core.schemas import Dataset, DatasetProfile, Page
from shipyard.server.deps import ContributorDep, ReaderDep, WorkspaceDep
from shipyard.server.routes._files import attachment

router = APIRouter(prefix="/datasets", tags=["datasets"])

PARQUET = "application/vnd.apache.parquet"


@router.post("", name="create", response_model=Dataset, status_code=status.HTTP_201_CREATED)
def create_dataset(
    ws: WorkspaceDep,
    _caller: ContributorDep,
    name: Annotated[str, Form()],
    file: Annotated[UploadFile, File(description="A CSV or Parquet file")],
    description: Annotated[str | None, Form()] = None,
    target: Annotated[str | None, Form()] = None,
) -> Dataset:
    """Register the uploaded table as the next version of dataset `name`."""
    # Under its own name (without folders), so the version records where the rows came from.
    filename = PurePath(file.filename or "upload.csv").name or "upload.csv"
    with tempfile.TemporaryDirectory(prefix="shipyard-upload-") as folder:
        path = Path(folder) / filename
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        return ws.register_dataset(name, path, description=description, target=target)


@router.get("", name="list", response_model=Page[Dataset])
def list_datasets(
    ws: WorkspaceDep, _caller: ReaderDep, max_results: int = 100, page_token: str | None = None
) -> Page[Dataset]:
    """The latest version of every dataset, by name."""
    return ws.list_datasets(max_results=max_results, page_token=page_token)


@router.get("/{name}", name="get", response_model=Dataset)
def get_dataset(
    ws: WorkspaceDep, _caller: ReaderDep, name: str, version: int | None = None
) -> Dataset:
    """A dataset version (the latest unless `version` is given; `NAME:VERSION` works too)."""
    return ws.get_dataset(name, version)


@router.get("/{name}/versions", name="versions", response_model=list[Dataset])
def list_versions(ws: WorkspaceDep, _caller: ReaderDep, name: str) -> list[Dataset]:
    """Every version of a dataset, oldest first."""
    return ws.list_dataset_versions(name)


@router.get(
    "/{name}/versions/{version}/data",
    name="data",
    response_class=Response,
    responses={200: {"content": {PARQUET: {}}, "description": "The rows as Parquet"}},
)
def get_data(ws: WorkspaceDep, _caller: ReaderDep, name: str, version: int) -> Response:
    """The rows of a dataset version as a Parquet file."""
    dataset = ws.get_dataset(name, version)
    buffer = io.BytesIO()
    ws.load_dataset(dataset.ref).to_parquet(buffer, index=False)
    return attachment(buffer.getvalue(), f"{dataset.name}-{dataset.version}.parquet", PARQUET)


@router.get("/{name}/profile", name="profile", response_model=DatasetProfile)
def get_profile(
    ws: WorkspaceDep,
    _caller: ReaderDep,
    name: str,
    target: str | None = None,
    version: int | None = None,
) -> DatasetProfile:
    """Column types, missing values and, with `target`, its class balance."""
    dataset = ws.get_dataset(name, version)
    if target is None:
        return dataset.profile
    return ws.profile_dataset(dataset.ref, target)
