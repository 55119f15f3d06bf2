"""Shapes shared by every entity: pages of results."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a listing. Pass `next_page_token` back to get the next page."""

    model_config = ConfigDict(frozen=True)

    items: list[T]
    total: int
    next_page_token: str | None = None
