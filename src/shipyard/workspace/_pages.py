"""Page tokens: opaque to callers, an offset inside."""

from __future__ import annotations

from shipyard.core.errors import InvalidInputError

MAX_PAGE_SIZE = 1000
MAX_OFFSET = 2**31 - 1


def page_bounds(page_token: str | None, max_results: int) -> tuple[int, int]:
    """(offset, limit) for a listing call."""
    if not 1 <= max_results <= MAX_PAGE_SIZE:
        raise InvalidInputError(f"max_results must be between 1 and {MAX_PAGE_SIZE}")
    if page_token is None or page_token == "":
        return 0, max_results
    # ASCII digits only ('²'.isdigit() is true), and an offset SQL can hold.
    if not (page_token.isascii() and page_token.isdigit()) or len(page_token) > 10:
        raise InvalidInputError(f"invalid page token {page_token[:40]!r}")
    offset = int(page_token)
    if offset > MAX_OFFSET:
        raise InvalidInputError(f"invalid page token {page_token!r}")
    return offset, max_results


def next_token(offset: int, limit: int, total: int) -> str | None:
    return str(offset + limit) if offset + limit < total else None
