"""Server fixtures: the app over a fresh workspace, driven in process through httpx.

One app serves the session, driven through `ApiClient` (a synchronous client over
`httpx.ASGITransport`); tests use names of their own. Tokens for each role come from
principals made up front.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.server import ServerSettings, create_app
from shipyard.workspace import LocalWorkspace
from tests.fixtures.automl import fast_settings, make_frame
from tests.unit.server._support import ApiClient

ROLES = ("reader", "contributor", "owner")


@dataclass
class Api:
    """The app under test, its workspace, and a bearer header for each role."""

    client: ApiClient
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def ws(self) -> LocalWorkspace:
        ws: LocalWorkspace = self.client.app.state.workspace
        return ws

    def call(
        self, method: str, path: str, role: str | None = "owner", **kwargs: Any
    ) -> httpx.Response:
        """`method path` as `role` (None: without credentials)."""
        headers = {**kwargs.pop("headers", {}), **(self.headers[role] if role else {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, role: str | None = "owner", **kwargs: Any) -> httpx.Response:
        return self.call("GET", path, role, **kwargs)

    def post(self, path: str, role: str | None = "owner", **kwargs: Any) -> httpx.Response:
        return self.call("POST", path, role, **kwargs)


def bearer(ws: LocalWorkspace, name: str, role: str) -> dict[str, str]:
    """A bearer header for a new principal `name` with `role`."""
    created = ws.create_principal(name, role)
    token = ws.issue_access_token(created.client_id, created.client_secret)
    return {"Authorization": f"Bearer {token.access_token}"}


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The server app over a fresh workspace (no supervisor, no workers)."""
    folder = tmp_path_factory.mktemp("server") / "ws"
    client = ApiClient(create_app(ServerSettings(workspace=folder, supervise=False)))
    found = Api(client)
    found.headers = {role: bearer(found.ws, f"test-{role}", role) for role in ROLES}
    try:
        yield found
    finally:
        client.close()


@pytest.fixture(scope="session")
def trained_run(api: Api) -> str:
    """The id of a completed AutoML run (a model to register) in the session's workspace."""
    api.ws.register_dataset("trained-toy", make_frame("binary", seed=0))
    settings = fast_settings(allowed_learners=("linear",), max_trials=2)
    return api.ws.automl("trained-toy", settings, experiment="trained").id


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    """A 200-row CSV with target `y` (yes/no)."""
    path = tmp_path / "toy.csv"
    make_frame("binary", seed=1).to_csv(path, index=False)
    return path
