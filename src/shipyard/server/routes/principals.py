"""Service principals (owner only): create, list, delete, rotate the secret.

A secret appears once, in the answer to create or rotate, and is stored only as a hash.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from shipyard.core.schemas import Principal, PrincipalCredentials
from shipyard.server.deps import OwnerDep, WorkspaceDep
from shipyard.server.schemas import PrincipalCreate

router = APIRouter(prefix="/principals", tags=["principals"])


@router.post(
    "",
    name="create",
    response_model=PrincipalCredentials,
    status_code=status.HTTP_201_CREATED,
)
def create_principal(
    ws: WorkspaceDep, _caller: OwnerDep, body: PrincipalCreate
) -> PrincipalCredentials:
    """A new principal with a role; its secret is in this answer and nowhere else."""
    return ws.create_principal(body.name, body.role)


@router.get("", name="list", response_model=list[Principal])
def list_principals(ws: WorkspaceDep, _caller: OwnerDep) -> list[Principal]:
    """Every principal, by name (no secrets)."""
    return ws.list_principals()


@router.delete("/{name}", name="delete", status_code=status.HTTP_204_NO_CONTENT)
def delete_principal(ws: WorkspaceDep, _caller: OwnerDep, name: str) -> None:
    """Remove a principal; its tokens (server and endpoint) stop working at once."""
    ws.delete_principal(name)


@router.post("/{name}/rotate", name="rotate", response_model=PrincipalCredentials)
def rotate_principal(ws: WorkspaceDep, _caller: OwnerDep, name: str) -> PrincipalCredentials:
    """A new secret; the old one and every token issued before it stop working at once."""
    return ws.rotate_principal(name)
