"""Range-checked parameters shared by routes: version numbers a store can hold.

Versions are numbered from 1; a number past 2**31 - 1 names no version (and is no SQL
integer: 2**63 made SQLite raise OverflowError, a 500).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_VERSION = 2**31 - 1

VersionQuery = Annotated[int | None, Query(ge=1, le=MAX_VERSION)]
VersionPath = Annotated[int, Path(ge=1, le=MAX_VERSION)]
