"""The workspace API three ways: in this process, over HTTP in process, over a real server.

Every test of the suite takes `api` and runs once per way:
- `local`: a `LocalWorkspace` on a folder of its own (`tmp_path`);
- `remote`: a `RemoteWorkspace` speaking to `create_app(...)` in this process, through an
  `httpx.Client` whose transport calls the ASGI app (`tests.fixtures.servers.in_process`),
  as an owner principal created in the workspace behind it;
- `server`: a `RemoteWorkspace` speaking to `shipyard server start` in a child process on
  a free 127.0.0.1 port (one for the session, marked e2e and slow).

Each workspace starts as a copy of one seeded workspace: dataset `seeded-toy` and a
completed AutoML run of it (a model to register), trained once per session. The real
server's workspace is shared by the tests of the session, so tests use names of their
own (`unique`) and never count what others may have added.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shipyard.client import RemoteWorkspace, ServicePrincipalAuthentication
from shipyard.core.interface import WorkspaceAPI
from shipyard.server import ServerSettings, create_app
from shipyard.workspace import LocalWorkspace
from tests.fixtures.automl import fast_settings, make_frame
from tests.fixtures.servers import Server, credentials, in_process, running

SEEDED_DATASET = "seeded-toy"
IN_PROCESS = "http://shipyard.test"  # the in-process app's address


@dataclass(frozen=True)
class Seed:
    """A workspace folder with a dataset and a completed AutoML run, to copy."""

    folder: Path
    run_id: str
    dataset: str = SEEDED_DATASET


@dataclass
class Api:
    """One way to reach a workspace, and what it was seeded with."""

    ws: WorkspaceAPI
    mode: str  # local, remote or server
    seed: Seed


@pytest.fixture(scope="session")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    """The seeded workspace: one tiny AutoML run (two linear trials), trained once."""
    folder = tmp_path_factory.mktemp("seed") / "ws"
    with LocalWorkspace.open(folder) as ws:
        ws.register_dataset(SEEDED_DATASET, make_frame("binary", seed=0), target="y")
        settings = fast_settings(allowed_learners=("linear",), max_trials=2, seed=0)
        run = ws.automl(SEEDED_DATASET, settings, experiment="seeded")
    return Seed(folder, run.id)


def copy_of(seed: Seed, where: Path) -> Path:
    """A copy of the seeded workspace folder at `where`."""
    shutil.copytree(seed.folder, where)
    return where


def remote_workspace(
    server: str, client_id: str, secret: str, http: httpx.Client | None = None
) -> RemoteWorkspace:
    """A `RemoteWorkspace` at `server` as the principal `client_id`."""
    auth = ServicePrincipalAuthentication(client_id, secret, server, http=http)
    return RemoteWorkspace(server, auth, http=http)


@pytest.fixture(scope="session")
def real_server(seed: Seed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`shipyard server start` over a copy of the seeded workspace (no workers)."""
    root = tmp_path_factory.mktemp("contract-server")
    with running(copy_of(seed, root / "ws"), root / "server.log") as server:
        yield server


@pytest.fixture(
    params=["local", "remote", pytest.param("server", marks=[pytest.mark.e2e, pytest.mark.slow])]
)
def api(request: pytest.FixtureRequest, seed: Seed, tmp_path: Path) -> Iterator[Api]:
    """The workspace API of the test's mode, seeded (see the module docstring)."""
    mode = request.param
    if mode == "local":
        with LocalWorkspace.open(copy_of(seed, tmp_path / "ws")) as ws:
            yield Api(ws, mode, seed)
    elif mode == "remote":
        app = create_app(ServerSettings(workspace=copy_of(seed, tmp_path / "ws"), supervise=False))
        with in_process(app, IN_PROCESS) as client:
            owner = app.state.workspace.create_principal("contract-owner", "owner")
            yield Api(
                remote_workspace(IN_PROCESS, owner.client_id, owner.client_secret, client),
                mode,
                seed,
            )
    else:
        server: Server = request.getfixturevalue("real_server")
        login = credentials(server.folder)
        with remote_workspace(server.url, login["client_id"], login["secret"]) as ws:
            yield Api(ws, mode, seed)


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Names no other test uses: `unique("ds")` -> `ds-1a2b3c4d`."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:8]}"
