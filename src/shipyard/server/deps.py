"""Dependencies every route declares: the workspace, the caller, and the role it needs.

    @router.post("", name="create")
    def create(ws: WorkspaceDep, caller: ContributorDep, body: ...) -> ...:

`CallerDep` turns `Authorization: Bearer <token>` into the verified `Caller` (401 with a
`WWW-Authenticate: Bearer` challenge when missing or invalid). `ReaderDep`,
`ContributorDep` and `OwnerDep` also check its role (403 when too low); each route takes
exactly one of them, and `route_role` reads it back from the route table.
`SourceAddressDep` is the peer address of the connection (the server trusts no
`X-Forwarded-For`: uvicorn runs without proxy headers), which failed client-credential
attempts are counted against.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.routing import APIRoute
from fastapi.security import OAuth2
from starlette.concurrency import run_in_threadpool

from shipyard.auth import Role, parse_role, require
from shipyard.core.errors import AuthenticationError, InvalidInputError
from shipyard.core.heartbeat import SESSION_HEADER
from shipyard.core.schemas import Caller
from shipyard.workspace import LocalWorkspace

TOKEN_URL = "/api/v1/auth/token"


async def get_workspace(request: Request) -> LocalWorkspace:
    """The workspace the app opened at start-up."""
    ws: LocalWorkspace = request.app.state.workspace
    return ws


WorkspaceDep = Annotated[LocalWorkspace, Depends(get_workspace)]

# Declared as an OAuth2 client-credentials scheme so /openapi.json says where tokens come
# from and Swagger UI's "Authorize" button obtains one from a client id and secret.
_scheme = OAuth2(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl=TOKEN_URL)),
    scheme_name="ClientCredentials",
    description="A bearer token from POST /api/v1/auth/token (client id and secret).",
    auto_error=False,
)


async def get_caller(
    ws: WorkspaceDep, authorization: Annotated[str | None, Depends(_scheme)]
) -> Caller:
    """Who the bearer token speaks for."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            f"send Authorization: Bearer <token>, with a token from POST {TOKEN_URL}"
        )
    token = token.strip()
    # A token seen in the last few seconds is answered on the event loop; verifying a new
    # one (a signature and a database lookup) happens on a worker thread.
    caller = ws.find_recent_caller(token)
    if caller is None:
        caller = await run_in_threadpool(ws.authenticate, token)
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_source_address(request: Request) -> str | None:
    """The address the request's connection comes from (None when the server cannot tell)."""
    return request.client.host if request.client is not None else None


SourceAddressDep = Annotated[str | None, Depends(get_source_address)]


class RoleGuard:
    """A dependency that lets a caller through only with `role` or a higher one."""

    def __init__(self, role: Role) -> None:
        self.role = role

    async def __call__(self, request: Request, caller: CallerDep) -> Caller:
        route = request.scope.get("route")
        action = f"{request.method} {request.url.path}"
        if isinstance(route, APIRoute) and route.tags:  # the operation id, as in /openapi.json
            action = f"{route.tags[0]}-{route.name} ({action})"
        require(parse_role(caller.role), self.role, action)
        return caller

    def __repr__(self) -> str:
        return f"RoleGuard({self.role.value})"


ReaderDep = Annotated[Caller, Depends(RoleGuard(Role.READER))]
ContributorDep = Annotated[Caller, Depends(RoleGuard(Role.CONTRIBUTOR))]
OwnerDep = Annotated[Caller, Depends(RoleGuard(Role.OWNER))]

_SESSION = re.compile(r"[A-Za-z0-9_-]{1,64}")


async def get_run_owner(
    caller: ContributorDep,
    session: Annotated[
        str | None,
        Header(
            alias=SESSION_HEADER,
            description="The calling client's session (letters, digits, '-', '_'), which "
            "beats for the runs it starts: POST /api/v1/runs/heartbeat.",
        ),
    ] = None,
) -> str:
    """Who keeps the runs a call starts alive: the calling client, `remote:<principal>:
    <session>` (the SDK sends a session; a plain client without one keeps its runs alive
    by writing to them, or by heartbeats without the header)."""
    if session is None:
        session = "-"
    elif not _SESSION.fullmatch(session):
        raise InvalidInputError(
            f"{SESSION_HEADER} must be 1 to 64 letters, digits, '-' or '_', not {session!r}"
        )
    return f"remote:{caller.principal_id}:{session}"


RunOwnerDep = Annotated[str, Depends(get_run_owner)]


def route_role(route: APIRoute) -> Role | None:
    """The highest role a route's guards ask for, or None for an unguarded route."""
    roles = [g.role for g in _guards(route.dependant)]
    return max(roles, key=lambda r: r.rank) if roles else None


def _guards(dependant: Dependant) -> list[RoleGuard]:
    found: list[RoleGuard] = []
    call: Any = dependant.call
    if isinstance(call, RoleGuard):
        found.append(call)
    for sub in dependant.dependencies:
        found += _guards(sub)
    return found
