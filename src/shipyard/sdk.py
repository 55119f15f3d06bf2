"""The public entry point: `shipyard.Workspace` opens a workspace.

`Workspace.local(path)` works on a folder in this process; `Workspace.from_config(path)`
talks to a Shipyard server as the service principal its `config.json` names. Both offer
the operations of `core.interface.WorkspaceAPI`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.client import RemoteWorkspace, ServicePrincipalAuthentication
from shipyard.core.errors import InvalidInputError
from shipyard.workspace import LocalWorkspace

if TYPE_CHECKING:
    from shipyard.core.interface import WorkspaceAPI

    # mypy checks here that the local workspace implements the whole protocol.
    _LOCAL_IS_A_WORKSPACE: type[WorkspaceAPI] = LocalWorkspace
    _REMOTE_IS_A_WORKSPACE: type[WorkspaceAPI] = RemoteWorkspace

CONFIG_KEYS = ("server", "client_id", "client_secret")


class Workspace:
    """Opens workspaces; every operation lives on the object it returns."""

    def __init__(self) -> None:
        raise TypeError("use Workspace.local(path) or Workspace.from_config(path)")

    @staticmethod
    def local(
        path: str | Path = ".shipyard",
        *,
        db_url: str | None = None,
        artifacts: str | Path | None = None,
    ) -> LocalWorkspace:
        """The workspace in folder `path` (created if needed), or on `db_url` with artifacts."""
        return LocalWorkspace.open(path, db_url=db_url, artifacts=artifacts)

    @staticmethod
    def from_config(path: str | Path = "config.json") -> RemoteWorkspace:
        """The workspace served at the `server` of a config file, as its service principal.

        The file is the one `shipyard server start` writes (keys `server`, `client_id`,
        `client_secret`).
        """
        config = read_config(path)
        auth = ServicePrincipalAuthentication(
            config["client_id"], config["client_secret"], config["server"]
        )
        return RemoteWorkspace(config["server"], auth)


def read_config(path: str | Path) -> dict[str, str]:
    """The server URL and credentials of a `config.json`; clear errors if it is not one."""
    file = Path(path)
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError:
        raise InvalidInputError(f"no config file at {file}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{file} is not valid JSON: {exc}") from None
    missing = [k for k in CONFIG_KEYS if not isinstance(data, dict) or not data.get(k)]
    if missing:
        raise InvalidInputError(f"{file} lacks {', '.join(missing)}")
    return {k: str(data[k]) for k in CONFIG_KEYS}
