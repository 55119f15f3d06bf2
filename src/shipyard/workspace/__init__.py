"""The service layer: every workspace operation and rule, over the store and the engines.

Registers datasets, records experiments and runs (AutoML runs with one child run per
trial), keeps the model registry, and notices runs whose process died. Faces (CLI, server)
call it and render what it returns; it may import engines, `store` and `core`.

    from shipyard.workspace import LocalWorkspace
    ws = LocalWorkspace.open(".shipyard")
"""

from shipyard.workspace._base import DB_URL_ENV
from shipyard.workspace.local import LocalWorkspace

__all__ = ["DB_URL_ENV", "LocalWorkspace"]
