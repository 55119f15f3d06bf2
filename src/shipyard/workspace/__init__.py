"""The service layer: every workspace operation and rule, over the store and the engines.

Registers datasets, records experiments and runs (AutoML runs with one child run per
trial), keeps the model registry, and notices runs whose process died. Faces (CLI, server)
call it and render what it returns; it may import engines, `store` and `core`.

    from shipyard.workspace import LocalWorkspace
    ws = LocalWorkspace.open(".shipyard")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from shipyard.core.settings import DB_URL_ENV

if TYPE_CHECKING:
    from shipyard.workspace.local import LocalWorkspace


def __getattr__(name: str) -> object:
    # Loaded on first use, so that importing one light module of the package (`files`,
    # `liveness`) does not load every operation and the engines behind them.
    if name == "LocalWorkspace":
        local: object = importlib.import_module("shipyard.workspace.local").LocalWorkspace
        return local
    raise AttributeError(f"module 'shipyard.workspace' has no attribute {name!r}")


__all__ = ["DB_URL_ENV", "LocalWorkspace"]
