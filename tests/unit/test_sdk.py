from __future__ import annotations

import pytest

import shipyard
from shipyard.workspace import LocalWorkspace


def test_workspace_local_opens_a_folder(tmp_path):
    with shipyard.Workspace.local(tmp_path / "ws") as ws:
        assert isinstance(ws, LocalWorkspace)
        assert (tmp_path / "ws" / "shipyard.db").exists()
        assert ws.list_datasets().total == 0


def test_workspace_is_a_factory_only():
    with pytest.raises(TypeError, match=r"Workspace\.local"):
        shipyard.Workspace()
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = shipyard.Nope


def test_the_local_workspace_offers_the_whole_workspace_api(tmp_path):
    from shipyard.core.interface import WorkspaceAPI

    with shipyard.Workspace.local(tmp_path / "ws") as ws:
        assert isinstance(ws, WorkspaceAPI)
