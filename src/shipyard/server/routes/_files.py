"""Answers that are files: a download with a safe `Content-Disposition`."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import Response


def attachment(data: bytes, filename: str, media_type: str) -> Response:
    """`data` offered for download as `filename` (any characters, RFC 6266 encoded)."""
    disposition = f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
    return Response(data, media_type=media_type, headers={"Content-Disposition": disposition})
