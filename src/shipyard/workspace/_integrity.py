"""Where a stored file came from, and whether a model folder may become a model version.

Every file the workspace stores gets a row in `artifact_files` with the sha256 and size the
workspace computed as it wrote it, and the path that wrote it:

- `engine`: a model folder the AutoML engine saved (hashed in its staging folder, before
  anything else could touch it);
- `log_artifact`: anything written through `log_artifact` (SDK, REST, the engine's reports);
- `registry`: the files of a model version copied from an engine run;
- `upload`: the files of a model version uploaded explicitly (`upload_model`).

A run's model registers only if every file of its model folder was written by the engine
and still has the checksum recorded then.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from shipyard.auth.manifest import MANIFEST_FILE, FileDigest, file_digest, folder_digests
from shipyard.automl.catalog import DESCRIPTOR_FILE, FORMAT, MODEL_FILE, RESULT_FILE
from shipyard.core.errors import InvalidInputError
from shipyard.store import Session
from shipyard.store import checksums as q

ENGINE, LOGGED, REGISTRY, UPLOAD = "engine", "log_artifact", "registry", "upload"
UPLOAD_HINT = (
    "upload a model folder explicitly instead: `shipyard model upload NAME --from DIR` "
    "(POST /api/v1/models/NAME/versions), which records who uploaded it"
)
MODEL_FILES = (MODEL_FILE, DESCRIPTOR_FILE)
MAX_KEY_CHARS = 1024  # the width of artifact_files.key
# Columns the descriptor fills on a model version, with their widths in the store.
_DESCRIPTOR_FIELDS = {"task": 32, "target": 255, "learner": 64}


def record_files(
    session: Session, prefix: str, files: Mapping[str, FileDigest], written_by: str, at: datetime
) -> None:
    """Record the checksum of each file (relative to the folder `prefix`)."""
    for name, digest in files.items():
        q.record(session, f"{prefix}/{name}", digest.sha256, digest.size, written_by, at)


def check_engine_written(session: Session, run_id: str, key: str, staged: Path) -> None:
    """Refuse a run's model folder unless the engine wrote every file of it, unchanged since.

    Args:
        staged: the copy of the folder about to be registered (what gets hashed is what
            gets kept).
    """
    recorded = {k.removeprefix(f"{key}/"): row for k, row in q.under(session, key).items()}
    if not recorded:
        raise InvalidInputError(
            f"the model of run {run_id} has no checksums recorded by the AutoML engine "
            f"(recorded before they existed, or not written by the engine); {UPLOAD_HINT}"
        )
    uploaded = sorted(name for name, row in recorded.items() if row.written_by != ENGINE)
    if uploaded:
        raise InvalidInputError(
            f"the model files of run {run_id} were not written by the AutoML engine "
            f"({', '.join(uploaded)} uploaded with log_artifact); a run's model registers "
            f"only as the engine wrote it; {UPLOAD_HINT}"
        )
    present = folder_digests(staged)
    for name in sorted(set(present) | set(recorded)):
        found, row = present.get(name), recorded.get(name)
        if found is None or row is None or (found.sha256, found.size) != (row.sha256, row.size):
            raise InvalidInputError(
                f"the model file {name} of run {run_id} does not match what the AutoML engine "
                f"wrote (changed, added or removed since); {UPLOAD_HINT}"
            )


def copy_upload(source: Path, staging: Path) -> dict[str, Any]:
    """Copy an uploaded model folder into `staging`; its descriptor, with the checksum
    computed here (whatever the uploader wrote)."""
    if not source.is_dir():
        raise InvalidInputError(f"{source} is not a folder")
    names = {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()}
    extra = sorted(names - {*MODEL_FILES, RESULT_FILE, MANIFEST_FILE})
    missing = [n for n in MODEL_FILES if n not in names]
    if missing or extra:
        problem = f"lacks {', '.join(missing)}" if missing else f"holds {', '.join(extra[:5])}"
        raise InvalidInputError(
            f"a model folder holds exactly {MODEL_FILE} and {DESCRIPTOR_FILE} "
            f"(as `TabularModel.save` writes them); this one {problem}"
        )
    descriptor = _descriptor(source / DESCRIPTOR_FILE)
    shutil.copyfile(source / MODEL_FILE, staging / MODEL_FILE)
    if RESULT_FILE in names:  # the search's report, read as JSON by whoever downloads it
        shutil.copyfile(source / RESULT_FILE, staging / RESULT_FILE)
    descriptor["model_sha256"] = file_digest(staging / MODEL_FILE).sha256
    (staging / DESCRIPTOR_FILE).write_text(json.dumps(descriptor, indent=2))
    return descriptor


def _descriptor(path: Path) -> dict[str, Any]:
    try:
        descriptor = json.loads(path.read_bytes())
    except ValueError as exc:
        raise InvalidInputError(f"{DESCRIPTOR_FILE} is not JSON: {exc}") from None
    if not isinstance(descriptor, dict) or descriptor.get("format") != FORMAT:
        raise InvalidInputError(
            f"{DESCRIPTOR_FILE} does not describe a Shipyard model (format {FORMAT!r})"
        )
    for field, width in _DESCRIPTOR_FIELDS.items():
        value = descriptor.get(field)
        if value is not None and (not isinstance(value, str) or len(value) > width):
            raise InvalidInputError(
                f"{DESCRIPTOR_FILE}: {field} must be text of at most {width} characters"
            )
    return descriptor
