"""The public entry point: `shipyard.Workspace` opens a workspace.

`Workspace.local(path)` works on a folder in this process. `Workspace.from_config(...)`
(a server URL and a service principal) arrives with the control-plane server.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.workspace import LocalWorkspace

if TYPE_CHECKING:
    from shipyard.core.interface import WorkspaceAPI

    # mypy checks here that the local workspace implements the whole protocol.
    _LOCAL_IS_A_WORKSPACE: type[WorkspaceAPI] = LocalWorkspace


class Workspace:
    """Opens workspaces; every operation lives on the object it returns."""

    def __init__(self) -> None:
        raise TypeError("use Workspace.local(path)")

    @staticmethod
    def local(
        path: str | Path = ".shipyard",
        *,
        db_url: str | None = None,
        artifacts: str | Path | None = None,
    ) -> LocalWorkspace:
        """The workspace in folder `path` (created if needed), or on `db_url` with artifacts."""
        return LocalWorkspace.open(path, db_url=db_url, artifacts=artifacts)
