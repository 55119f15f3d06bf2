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
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from shipyard.workspace import LocalWorkspace
from tests.fixtures.automl import make_frame
from tests.fixtures.servers import Server, credentials, running
from tests.fixtures.store import BACKENDS

# per operation and generation mode; SHIPYARD_FUZZ_EXAMPLES=200 digs deeper
MAX_EXAMPLES = int(os.environ.get("SHIPYARD_FUZZ_EXAMPLES", "20"))
SHOWN_PER_OPERATION = 2
# Path segments that made 500s before (issue 10): a NUL (PostgreSQL text cannot hold it),
# a number past 64 bits, a digit that is not ASCII, a segment longer than a file name.
HOSTILE_SEGMENTS = ("a\x00b", "9223372036854775808", "²", "x" * 300)

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


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A real server over a workspace with a dataset in it, on SQLite or PostgreSQL."""
    folder = tmp_path / "ws"
    db_url = None if request.param == "sqlite" else request.getfixturevalue("postgres_schema_url")
    with LocalWorkspace.open(folder, db_url=db_url) as ws:
        ws.register_dataset("toy", make_frame("binary", seed=0))
    with running(folder, tmp_path / "server.log", *(["--db", db_url] if db_url else [])) as up:
        yield up


def _modes(operation: schemathesis.APIOperation) -> list[GenerationMode]:
    """Valid requests for every operation; invalid ones where a query or body can be broken
    (a path segment is any string: generating "invalid" ones only burns time)."""
    takes_input = len(operation.query) > 0 or len(operation.body) > 0
    return [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if takes_input else [])


def _fuzz(
    strategy: SearchStrategy[schemathesis.Case],
    examples: int,
    session: requests.Session,
    findings: Findings,
) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def send(case: schemathesis.Case) -> None:
        response = case.call(base_url=findings.base_url, session=session, timeout=60)
        findings.statuses[response.status_code] += 1
        findings.elapsed_s += response.elapsed
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except* AssertionError:  # Schemathesis raises its failures as a group
            findings.add(case, response)

    send()


def _fuzz_operation(
    operation: schemathesis.APIOperation, session: requests.Session, findings: Findings
) -> None:
    """Generated requests, then each hostile value in every path segment."""
    for mode in _modes(operation):
        try:
            _fuzz(operation.as_strategy(generation_mode=mode), MAX_EXAMPLES, session, findings)
        except Unsatisfiable:  # nothing to break: the operation takes no input (GET /health)
            assert mode is GenerationMode.NEGATIVE
    names = [parameter.name for parameter in operation.path_parameters]
    for value in HOSTILE_SEGMENTS if names else ():
        strategy = operation.as_strategy(path_parameters=dict.fromkeys(names, value))
        _fuzz(strategy, 2, session, findings)


def test_no_request_gets_a_server_error(server: Server) -> None:
    owner = credentials(server.folder)
    session = requests.Session()
    session.headers.update(server.login(owner["client_id"], owner["secret"]))
    schema = schemathesis.openapi.from_dict(server.http.get("/openapi.json").json())
    findings = Findings(base_url=server.url)
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        _fuzz_operation(operation, session, findings)
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
