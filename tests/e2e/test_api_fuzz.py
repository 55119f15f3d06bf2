"""A property-based fuzz of the whole control-plane API from its OpenAPI document.

Schemathesis generates requests for every operation of `/openapi.json` (valid ones, and
ones that break the schema), sends them as the workspace's owner to a real
`shipyard server start` on 127.0.0.1, and checks `not_a_server_error`: bad input is a 4xx,
never a 5xx (issue 10). Derandomized (the same requests every run) and bounded: a few
examples per operation and generation mode, no shrinking, about a minute in all.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from shipyard.workspace import LocalWorkspace
from tests.fixtures.automl import make_frame
from tests.fixtures.servers import Server, credentials, running

# per operation and generation mode; SHIPYARD_FUZZ_EXAMPLES=200 digs deeper
MAX_EXAMPLES = int(os.environ.get("SHIPYARD_FUZZ_EXAMPLES", "20"))
SHOWN_PER_OPERATION = 2

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(max(240, 10 * MAX_EXAMPLES))]


@dataclass
class Findings:
    """The server errors found, with what reproduces each."""

    base_url: str
    lines: list[str] = field(default_factory=list)
    per_operation: dict[str, int] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    def add(self, case: schemathesis.Case, response: schemathesis.Response) -> None:
        label = case.operation.label
        seen = self.per_operation.get(label, 0)
        self.per_operation[label] = seen + 1
        if seen < SHOWN_PER_OPERATION:
            curl = case.as_curl_command({"Authorization": "Bearer $TOKEN"}, base_url=self.base_url)
            self.lines.append(
                f"{label} -> {response.status_code} {response.text[:300]!r}\n  {curl}"
            )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server over a workspace with a dataset in it."""
    root = tmp_path_factory.mktemp("fuzz")
    folder = root / "ws"
    with LocalWorkspace.open(folder) as ws:
        ws.register_dataset("toy", make_frame("binary", seed=0))
    with running(folder, root / "server.log") as started:
        yield started


def _modes(operation: schemathesis.APIOperation) -> list[GenerationMode]:
    """Valid requests for every operation; invalid ones where a query or body can be broken
    (a path segment is any string: generating "invalid" ones only burns time)."""
    takes_input = len(operation.query) > 0 or len(operation.body) > 0
    return [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if takes_input else [])


def _fuzz(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    session: requests.Session,
    findings: Findings,
) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def send(case: schemathesis.Case) -> None:
        response = case.call(base_url=findings.base_url, session=session, timeout=60)
        findings.statuses[response.status_code] += 1
        findings.elapsed_s += response.elapsed
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except* AssertionError:  # Schemathesis raises its failures as a group
            findings.add(case, response)

    try:
        send()
    except Unsatisfiable:  # nothing to break: the operation takes no input (GET /health)
        assert mode is GenerationMode.NEGATIVE


def test_no_request_gets_a_server_error(server: Server) -> None:
    owner = credentials(server.folder)
    session = requests.Session()
    session.headers.update(server.login(owner["client_id"], owner["secret"]))
    schema = schemathesis.openapi.from_dict(server.http.get("/openapi.json").json())
    findings = Findings(base_url=server.url)
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in _modes(operation):
            _fuzz(operation, mode, session, findings)
    session.close()
    assert len(operations) >= 50
    sent = sum(findings.statuses.values())
    assert sent >= len(operations) * 4
    # the owner's token reaches the handlers: requests succeed, not only 401s
    assert sum(n for status, n in findings.statuses.items() if status < 300) >= 10
    assert not findings.lines, (
        f"{sum(findings.per_operation.values())} server error(s) in {sent} "
        f"requests:\n" + "\n".join(findings.lines)
    )
