"""`create_app(settings)`: the REST API over one workspace, its OpenAPI and Swagger UI.

Nothing is built at import time. The workspace is opened when the app starts (which runs
the database migrations, and refuses a database written by a newer Shipyard) and closed
when it stops; the endpoint supervisor and job workers run meanwhile.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from shipyard import __version__
from shipyard.auth import Role
from shipyard.server.background import Background
from shipyard.server.cache import AnswerCache
from shipyard.server.deps import route_role
from shipyard.server.docs import install_docs
from shipyard.server.errors import install_error_handlers
from shipyard.server.limits import (
    MIB,
    REGISTRATIONS_AT_ONCE,
    BodyLimitMiddleware,
    BodyLimits,
)
from shipyard.server.routes import ROUTERS
from shipyard.server.settings import ServerSettings
from shipyard.workspace.uploads import sweep_uploads

API_PREFIX = "/api/v1"
PUBLIC_OPERATIONS = frozenset({"auth-token", "health-get"})
ROLE_EXTENSION = "x-shipyard-role"


def create_app(settings: ServerSettings) -> FastAPI:
    """The server's ASGI app for the workspace that `settings` names."""
    table = route_table()
    check_guarded(table)
    app = FastAPI(
        title="Shipyard",
        version=__version__,
        description="The Shipyard control plane: datasets, runs, models, endpoints, jobs.",
        lifespan=_lifespan(settings),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.answers = AnswerCache() if settings.answer_cache else None
    limits = BodyLimits(upload_bytes=settings.max_upload_mb * MIB)
    app.add_middleware(BodyLimitMiddleware, limits=limits)
    install_error_handlers(app)  # after: its request-id middleware is the outermost
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    install_docs(app)
    _document_roles(app, table)
    return app


@dataclass(frozen=True)
class RouteEntry:
    """One operation of the REST API and the least role that may call it (None: public)."""

    method: str
    path: str  # with `{name}` placeholders, as in the OpenAPI document
    operation_id: str
    role: Role | None


def route_table() -> list[RouteEntry]:
    """Every operation under `/api/v1`, read from the routers (the routes as declared)."""
    return [
        RouteEntry(method, API_PREFIX + route.path_format, operation_id(route), route_role(route))
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods or ())
    ]


def operation_id(route: APIRoute) -> str:
    """`{tag}-{name}`, e.g. `datasets-list`."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def check_guarded(table: list[RouteEntry]) -> None:
    """Refuse to build an app with a non-public route that checks no role."""
    unguarded = [
        f"{e.method} {e.path}"
        for e in table
        if e.role is None and e.operation_id not in PUBLIC_OPERATIONS
    ]
    if unguarded:
        raise RuntimeError(f"routes without a role dependency: {', '.join(unguarded)}")


def _document_roles(app: FastAPI, table: list[RouteEntry]) -> None:
    """Name each operation's role in /openapi.json (`x-shipyard-role`)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            for entry in table:
                operation = schema["paths"][entry.path][entry.method.lower()]
                operation[ROLE_EXTENSION] = entry.role.value if entry.role else "public"
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented extension point


def _lifespan(
    settings: ServerSettings,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ws = settings.open_workspace()
        # Uploads cut short by a killed server (their folders outlive it).
        sweep_uploads(settings.workspace)
        background = Background(ws, settings)
        app.state.workspace = ws
        app.state.background = background
        app.state.table_reader = ThreadPoolExecutor(
            max_workers=REGISTRATIONS_AT_ONCE, thread_name_prefix="shipyard-tables"
        )
        background.start()
        # What is loaded by now lives as long as the server: keep the cycle collector from
        # walking it again and again (its full passes over ~250,000 objects took ~100 ms
        # every few hundred requests, the slowest answers under load).
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            app.state.table_reader.shutdown(wait=True, cancel_futures=True)
            background.stop()
            ws.close()

    return lifespan
