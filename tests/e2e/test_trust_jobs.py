"""issue 10 finding 9 against a real server: AutoML job settings are refused at submit.

`shipyard server start --max-budget 600 --max-trials 50 --api-processes 2 --workers 1`: each
hostile job (an unknown target or metric, a learner list given as a string, a seed past
32 bits, n_jobs 1e9, budget_s 1e308 or over the server's maximum) is a 422 naming the
setting from every API process, and none is queued, so the worker never holds one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.workspace import LocalWorkspace
from tests.fixtures.automl import make_frame
from tests.fixtures.servers import Server, credentials, running, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240)]

GOOD = {"target": "y", "max_trials": 2, "allowed_learners": ["linear"], "n_jobs": 1}
HOSTILE = [
    ({"target": "nope"}, "target: column 'nope' is not in dataset toy:1"),
    ({"primary_metric": "speed"}, "primary_metric 'speed' is not a metric"),
    ({"allowed_learners": "lightgbm"}, "allowed_learners must be a list of learner names"),
    ({"seed": 2**70}, "seed must be a whole number between 0 and 4294967295"),
    ({"n_jobs": 1e9}, "n_jobs must be a whole number between 1 and 1024"),
    ({"budget_s": 1e308}, "budget_s must be a number above 0 and at most"),
    ({"budget_s": 601}, "budget_s 601 is over this server's maximum of 600 seconds"),
    ({"max_trials": 51}, "max_trials 51 is over this server's maximum of 50"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("jobs")
    folder = root / "ws"
    with LocalWorkspace.open(folder) as ws:
        ws.register_dataset("toy", make_frame("binary", seed=0))
    options = ["--max-budget", "600", "--max-trials", "50", "--api-processes", "2"]
    with running(folder, root / "server.log", *options, "--workers", "1") as started:
        yield started


def test_hostile_job_settings_are_refused_by_every_api_process(server: Server) -> None:
    owner = server.login(**credentials(server.folder))
    for overrides, message in HOSTILE:
        body = {"dataset": "toy", "settings": {**GOOD, **overrides}}
        # several tries: the kernel spreads connections over both API processes
        answers = [
            server.http.post("/api/v1/jobs/automl", headers=owner, json=body) for _ in range(4)
        ]
        assert {a.status_code for a in answers} == {422}, overrides
        assert all(message in a.json()["error"] for a in answers), answers[0].text
    assert server.http.get("/api/v1/jobs", headers=owner).json()["total"] == 0
    fits = {"dataset": "toy", "settings": {**GOOD, "budget_s": 600, "max_trials": 2}}
    accepted = server.http.post("/api/v1/jobs/automl", headers=owner, json=fits)
    assert accepted.status_code == 201, accepted.text


def test_the_limits_reach_the_other_api_process(server: Server) -> None:
    (child,) = wait_until(lambda: _api_children(server.process.pid), 30, "the second API process")
    environ = dict(
        item.split("=", 1)
        for item in Path(f"/proc/{child}/environ").read_text().split("\0")
        if item
    )
    assert (environ["SHIPYARD_MAX_BUDGET_S"], environ["SHIPYARD_MAX_TRIALS"]) == ("600.0", "50")


def _api_children(pid: int) -> list[int]:
    """The further API processes the server `pid` started."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # not a process, or it ended meanwhile
        if parent == pid and b"shipyard.server.serve" in command:
            found.append(int(entry.name))
    return found


def test_public_health_says_only_ok(server: Server) -> None:
    # issue 10 finding 10: no process id or version for strangers
    assert server.http.get("/api/v1/health").json() == {"status": "ok"}
