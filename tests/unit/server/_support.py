"""`ApiClient`: blocking calls to an ASGI app in process, its lifespan included; and a
workspace whose database claims a schema from a newer Shipyard.

An event loop runs in a helper thread (an anyio blocking portal); the app's lifespan is
entered there and each call waits for its answer, so tests stay plain functions.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from sqlalchemy import create_engine, text

from shipyard.workspace import LocalWorkspace


class ApiClient:
    """Blocking HTTP calls to an ASGI app running its lifespan in a portal thread."""

    def __init__(self, app: FastAPI, *, raise_app_exceptions: bool = True) -> None:
        self.app = app
        self._portal_cm: AbstractContextManager[BlockingPortal] = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        self._lifespan = self._portal.wrap_async_context_manager(app.router.lifespan_context(app))
        try:
            self._lifespan.__enter__()
        except BaseException:
            self._portal_cm.__exit__(None, None, None)
            raise
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://shipyard")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(lambda: self._client.request(method, url, **kwargs))

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._lifespan.__exit__(None, None, None)
        self._portal_cm.__exit__(None, None, None)


def future_workspace(folder: Path) -> Path:
    """A workspace whose database says a newer Shipyard migrated it."""
    LocalWorkspace.open(folder).close()
    engine = create_engine(f"sqlite:///{folder / 'shipyard.db'}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    return folder
