"""Datasets: register a table as an immutable, numbered, profiled version; read it back.

A version is written in two steps: the Parquet file is put in place atomically, then the
version row is committed. A crash between them leaves a file no row points to (it is
overwritten by the next registration), never a version whose rows are missing or partial.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.core.errors import NotFoundError
from shipyard.core.ids import new_id
from shipyard.core.names import check_name, parse_ref
from shipyard.core.schemas import Dataset, DatasetProfile, Page
from shipyard.store import datasets as q
from shipyard.store.tables import DatasetRow, DatasetVersionRow
from shipyard.workspace._base import WorkspaceBase
from shipyard.workspace._capped import TableLimits
from shipyard.workspace._pages import next_token, page_bounds

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.workspace._frames import Source

MAX_COLUMNS_ENV = "SHIPYARD_MAX_COLUMNS"
DEFAULT_MAX_COLUMNS = 2_000


def default_limits() -> TableLimits:
    """The bounds of a dataset registered in this process: columns (SHIPYARD_MAX_COLUMNS)."""
    raw = os.environ.get(MAX_COLUMNS_ENV, "").strip()
    return TableLimits(max_columns=int(raw) if raw.isdigit() else DEFAULT_MAX_COLUMNS)


class DatasetOperations(WorkspaceBase):
    """Register, list, get and read datasets."""

    def register_dataset(
        self,
        name: str,
        source: Source,
        *,
        description: str | None = None,
        target: str | None = None,
        limits: TableLimits | None = None,
    ) -> Dataset:
        """Register `source` (a CSV/Parquet path or a DataFrame) as the next version of `name`.

        Registering content identical to an existing version returns that version.
        With `target`, the profile includes its class balance. A file over `limits`
        (default: `default_limits()`) is refused with `PayloadTooLargeError`.
        """
        from shipyard.workspace import _frames  # pandas: for the operations that read rows

        check_name(name, "dataset name")
        frame, origin = _frames.read_source(source, limits or default_limits())
        content_hash = _frames.frame_hash(frame)
        profile = _frames.profile_frame(frame, target)
        return self.retrying(
            lambda: self._store_version(name, frame, content_hash, profile, origin, description)
        )

    def _store_version(
        self,
        name: str,
        frame: pd.DataFrame,
        content_hash: str,
        profile: DatasetProfile,
        origin: str,
        description: str | None,
    ) -> Dataset:
        now = self.now()
        with self.store.write() as session:
            dataset = q.find_dataset(session, name)
            if dataset is None:
                dataset = DatasetRow(id=new_id("dataset"), name=name, created_at=now)
                session.add(dataset)
                session.flush()
            # Numbering first: it locks the dataset until commit, so two registrations of
            # the same content cannot both miss each other's version.
            version = q.next_version(session, dataset.id)
            existing = q.find_by_hash(session, dataset.id, content_hash)
            if existing is not None:
                return self._bind(existing.to_entity())
            key = f"datasets/{name}/{version}/data.parquet"
            self.artifacts.write_with(key, lambda handle: frame.to_parquet(handle, index=False))
            row = DatasetVersionRow(
                id=new_id("dataset_version"),
                dataset_id=dataset.id,
                name=name,
                version=version,
                description=description,
                content_hash=content_hash,
                source=origin,
                storage_path=key,
                rows=len(frame),
                columns=frame.shape[1],
                profile=profile.model_dump(mode="json"),
                created_at=now,
            )
            session.add(row)
            session.flush()
            return self._bind(row.to_entity())

    def get_dataset(self, ref: str, version: int | None = None) -> Dataset:
        """A dataset version by `NAME`, `NAME:VERSION` or `NAME:latest` (NotFoundError if none)."""
        parsed = parse_ref(ref, "dataset name")
        wanted = version if version is not None else parsed.version
        with self.store.read() as session:
            row = q.find_version(session, parsed.name, wanted)
            if row is None:
                raise NotFoundError(_missing(parsed.name, wanted, q.versions(session, parsed.name)))
            return self._bind(row.to_entity())

    def list_datasets(
        self, *, max_results: int = 100, page_token: str | None = None
    ) -> Page[Dataset]:
        """The latest version of every dataset, by name."""
        offset, limit = page_bounds(page_token, max_results)
        with self.store.read() as session:
            rows, total = q.latest_versions(session, offset, limit)
            items = [self._bind(r.to_entity()) for r in rows]
        return Page[Dataset](
            items=items, total=total, next_page_token=next_token(offset, limit, total)
        )

    def list_dataset_versions(self, name: str) -> list[Dataset]:
        """Every version of `name`, oldest first."""
        check_name(name, "dataset name")
        with self.store.read() as session:
            rows = q.versions(session, name)
        if not rows:
            raise NotFoundError(f"no dataset named {name!r}")
        return [self._bind(r.to_entity()) for r in rows]

    def load_dataset(self, ref: str, version: int | None = None) -> pd.DataFrame:
        """The rows of a dataset version as a DataFrame."""
        return self._read_rows(self.get_dataset(ref, version))

    def profile_dataset(
        self, ref: str, target: str | None = None, *, version: int | None = None
    ) -> DatasetProfile:
        """A version's profile: as stored, or with the class balance of `target`."""
        dataset = self.get_dataset(ref, version)
        with self.store.read() as session:
            stored = q.find_profile(session, dataset.id)
        profile = DatasetProfile.model_validate(stored) if stored else None
        if profile is not None and (target is None or profile.target == target):
            return profile
        from shipyard.workspace._frames import profile_frame

        return profile_frame(self._read_rows(dataset), target)

    def dataset_file(self, ref: str, version: int | None = None) -> Path:
        """The Parquet file that holds a version's rows (to send it without reading it)."""
        path = self.artifacts.path(_data_key(self.get_dataset(ref, version)))
        if not path.is_file():
            raise NotFoundError(f"the rows of dataset {ref!r} are missing from the artifacts")
        return path

    def _read_rows(self, dataset: Dataset) -> pd.DataFrame:
        from shipyard.workspace._frames import read_parquet

        return read_parquet(self.artifacts.read_bytes(_data_key(dataset)))

    def _bind(self, dataset: Dataset) -> Dataset:
        return dataset.bind(self._read_rows)


def _data_key(dataset: Dataset) -> str:
    return f"datasets/{dataset.name}/{dataset.version}/data.parquet"


def _missing(name: str, version: int | None, versions: list[DatasetVersionRow]) -> str:
    if not versions:
        return f"no dataset named {name!r}"
    known = ", ".join(str(v.version) for v in versions)
    return f"dataset {name!r} has no version {version} (versions: {known})"
