"""Datasets: upload and register a table (multipart), list, show, versions, rows, profile.

An upload is copied in 1 MiB chunks into a folder of its own under the workspace (see
`workspace.uploads`) and read from there within the server's bounds (`table_limits`);
listings and gets leave the profile out, which has a route of its own.
"""

from __future__ import annotations

import asyncio
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile, status
from fastapi.responses import Response

from shipyard.core.errors import InvalidInputError
from shipyard.core.schemas import Dataset, DatasetProfile, Page
from shipyard.server.deps import ContributorDep, ReaderDep, WorkspaceDep
from shipyard.server.routes._bounds import VersionPath, VersionQuery
from shipyard.server.routes._files import file_attachment
from shipyard.server.settings import ServerSettings
from shipyard.workspace.files import TableLimits
from shipyard.workspace.uploads import upload_folder

router = APIRouter(prefix="/datasets", tags=["datasets"])

PARQUET = "application/vnd.apache.parquet"
MIB = 1024 * 1024
MAX_NAME_BYTES = 200  # a file name is at most 255 bytes


def upload_name(sent: str | None) -> str:
    """The name an upload is stored (and recorded) under: the file name as sent, without
    folders or control characters, cut to what a file system takes (its suffixes kept)."""
    name = "".join(c for c in PurePath(sent or "").name if c.isprintable()).strip()
    if name in ("", ".", ".."):
        return "upload.csv"
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    suffixes = "".join(PurePath(name).suffixes[-2:])[-20:]
    stem = name.encode()[: MAX_NAME_BYTES - len(suffixes.encode())].decode(errors="ignore")
    return stem + suffixes


def table_limits(settings: ServerSettings) -> TableLimits:
    """What an uploaded table may hold: the server's upload size and column bounds."""
    return TableLimits(max_bytes=settings.max_upload_mb * MIB, max_columns=settings.max_columns)


@router.post("", name="create", response_model=Dataset, status_code=status.HTTP_201_CREATED)
async def create_dataset(
    request: Request,
    ws: WorkspaceDep,
    _caller: ContributorDep,
    name: Annotated[str, Form()],
    file: Annotated[UploadFile, File(description="A CSV or Parquet file")],
    description: Annotated[str | None, Form()] = None,
    target: Annotated[str | None, Form()] = None,
) -> Dataset:
    """Register the uploaded table as the next version of dataset `name`.

    One upload at a time is read per API process, always on the same thread (reading takes
    a few times its size in memory, which that thread's allocator then reuses); the others
    wait their turn, spooled to disk, without holding a thread.
    """
    filename = upload_name(file.filename)
    settings: ServerSettings = request.app.state.settings

    def register() -> Dataset:
        with upload_folder(settings.workspace) as folder:
            path = folder / filename
            with path.open("wb") as out:
                shutil.copyfileobj(file.file, out, MIB)
            try:
                return ws.register_dataset(
                    name,
                    path,
                    description=description,
                    target=target,
                    limits=table_limits(settings),
                )
            except InvalidInputError as exc:  # the file as sent, not where the server put it
                raise type(exc)(str(exc).replace(f"{folder}/", "")) from None

    reader: ThreadPoolExecutor = request.app.state.table_reader
    return await asyncio.get_running_loop().run_in_executor(reader, register)


@router.get("", name="list", response_model=Page[Dataset])
def list_datasets(
    ws: WorkspaceDep, _caller: ReaderDep, max_results: int = 100, page_token: str | None = None
) -> Page[Dataset]:
    """The latest version of every dataset, by name."""
    return ws.list_datasets(max_results=max_results, page_token=page_token)


@router.get("/{name}", name="get", response_model=Dataset)
def get_dataset(
    ws: WorkspaceDep, _caller: ReaderDep, name: str, version: VersionQuery = None
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
def get_data(ws: WorkspaceDep, _caller: ReaderDep, name: str, version: VersionPath) -> Response:
    """The rows of a dataset version as a Parquet file (the stored one, sent from disk)."""
    path = ws.dataset_file(name, version)
    return file_attachment(path, f"{name}-{version}.parquet", PARQUET)


@router.get(
    "/{name}/versions/{version}/profile", name="version-profile", response_model=DatasetProfile
)
def get_version_profile(
    ws: WorkspaceDep,
    _caller: ReaderDep,
    name: str,
    version: VersionPath,
    target: str | None = None,
) -> DatasetProfile:
    """Column types, missing values and, with `target`, its class balance."""
    return ws.profile_dataset(name, target, version=version)


@router.get("/{name}/profile", name="profile", response_model=DatasetProfile)
def get_profile(
    ws: WorkspaceDep,
    _caller: ReaderDep,
    name: str,
    target: str | None = None,
    version: VersionQuery = None,
) -> DatasetProfile:
    """The profile of a version (the latest unless `version` is given)."""
    return ws.profile_dataset(name, target, version=version)
