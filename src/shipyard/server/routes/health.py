"""`GET /health`: the server answers (public: load balancers and start-up scripts poll it)."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.server.schemas import Health

router = APIRouter(prefix="/health", tags=["health"])


@router.get("", name="get", response_model=Health)
def get_health() -> Health:
    """The server is up and its workspace is open."""
    return Health()
