"""Answers that are files: a download with a safe `Content-Disposition`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi.responses import FileResponse, Response


def attachment(data: bytes, filename: str, media_type: str) -> Response:
    """`data` offered for download as `filename` (any characters, RFC 6266 encoded)."""
    return Response(data, media_type=media_type, headers=_disposition(filename))


def file_attachment(path: Path, filename: str, media_type: str) -> FileResponse:
    """The file at `path` sent in chunks from disk, offered for download as `filename`."""
    return FileResponse(path, media_type=media_type, headers=_disposition(filename))


def _disposition(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename, safe='')}"}
