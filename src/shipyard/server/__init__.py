"""The control-plane server: the workspace over REST (`/api/v1/...`), its OpenAPI and docs.

A face over `shipyard.workspace`: routes parse requests, authenticate the caller (OAuth2
client-credentials bearer tokens) and check its role, call one workspace operation and
return its entity. Every rule and query stays in the workspace. It also owns the endpoint
supervisor and the job workers while it runs. May import `workspace`, `auth` and `core`,
never `store`.

    app = create_app(ServerSettings(workspace=Path(".shipyard")))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from shipyard.server.settings import ServerSettings

if TYPE_CHECKING:
    from shipyard.server.app import create_app


def __getattr__(name: str) -> object:
    # FastAPI and the routes load when an app is built, not when a module of the package
    # (`settings`, read by the command line) is imported.
    if name == "create_app":
        create: object = importlib.import_module("shipyard.server.app").create_app
        return create
    raise AttributeError(f"module 'shipyard.server' has no attribute {name!r}")


__all__ = ["ServerSettings", "create_app"]
