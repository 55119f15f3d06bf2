"""Bounds on what a request may cost (issue 10, findings 3 and 8): each attack, then its refusal.

The app here is built with small bounds (1 MiB uploads, 50 columns) so each attack stays a
few megabytes; `benchmarks/upload_attacks.py` and the e2e test send the full-size ones to
a real server and measure its memory.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from shipyard.core.errors import InvalidInputError
from shipyard.server import ServerSettings, create_app
from shipyard.server.limits import DEFAULT_BODY_BYTES, BodyLimits
from shipyard.server.routes.datasets import upload_name
from shipyard.workspace.uploads import UPLOADS_FOLDER
from tests.fixtures.automl import make_frame
from tests.unit.server._support import ApiClient
from tests.unit.server.conftest import Api, bearer

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app with a 1 MiB upload bound and at most 50 columns."""
    folder = tmp_path_factory.mktemp("limits") / "ws"
    settings = ServerSettings(workspace=folder, supervise=False, max_upload_mb=1, max_columns=50)
    client = ApiClient(create_app(settings))
    found = Api(client)
    found.headers = {r: bearer(found.ws, f"lim-{r}", r) for r in ("reader", "contributor")}
    try:
        yield found
    finally:
        client.close()


def _upload(api: Api, name: str, filename: str, content: bytes) -> httpx.Response:
    return api.post(
        "/api/v1/datasets",
        "contributor",
        data={"name": name},
        files={"file": (filename, io.BytesIO(content), "text/csv")},
    )


def _csv(rows: int, seed: int = 0) -> bytes:
    return make_frame("binary", seed=seed, rows=rows).to_csv(index=False).encode()


def test_a_json_body_over_the_limit_is_refused_by_its_length(small):
    body = b'{"tags": {"a": "' + b"x" * DEFAULT_BODY_BYTES + b'"}}'
    answer = small.post(
        "/api/v1/runs", "contributor", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413
    assert "4 MiB" in answer.json()["error"]


def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit(small):
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):  # 8 MiB, no Content-Length
            yield b" " * MIB

    answer = small.post(
        "/api/v1/runs",
        "contributor",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 413, answer.text
    assert "larger than the limit of 4 MiB" in answer.json()["error"]


def test_an_upload_over_the_upload_limit_is_refused(small):
    answer = _upload(small, "too-big", "big.csv", b"a,b\n" + b"1,2\n" * (MIB // 3))
    assert answer.status_code == 413
    assert "1 MiB" in answer.json()["error"]


def test_a_gzip_bomb_is_refused_by_its_size_once_decompressed(small):
    bomb = gzip.compress(b"a,b\n" + b"0,0\n" * (16 * MIB // 4), compresslevel=6)
    assert len(bomb) < 100 * 1024  # 16 MiB of text in under 100 KiB
    answer = _upload(small, "bomb", "bomb.csv.gz", bomb)
    assert answer.status_code == 413, answer.text
    assert "larger than the limit of 1 MiB" in answer.json()["error"]


def test_a_csv_of_too_many_columns_is_refused_before_its_rows_are_read(small):
    header = ",".join(f"c{i}" for i in range(100_000))
    answer = _upload(small, "wide", "wide.csv", (header + "\n" + "1," * 99_999 + "1\n").encode())
    assert answer.status_code == 413, answer.text
    assert "100,000 columns; the limit is 50" in answer.json()["error"]


def test_a_wide_parquet_file_is_refused_by_its_metadata(small):
    frame = make_frame("binary", seed=0, rows=5)
    wide = frame.assign(**{f"extra{i}": 0 for i in range(60)})
    buffer = io.BytesIO()
    wide.to_parquet(buffer, index=False)
    answer = _upload(small, "wide-pq", "wide.parquet", buffer.getvalue())
    assert answer.status_code == 413
    assert "columns; the limit is 50" in answer.json()["error"]


def test_an_upload_within_bounds_registers_and_leaves_no_folder_behind(small):
    answer = _upload(small, "fine", "fine.csv.gz", gzip.compress(_csv(200)))
    assert answer.status_code == 201, answer.text
    uploads = Path(small.client.app.state.settings.workspace) / UPLOADS_FOLDER
    assert list(uploads.iterdir()) == []


def test_listings_and_gets_leave_the_profile_out_and_its_route_serves_it(small):
    assert _upload(small, "profiled", "p.csv", _csv(100, seed=3)).status_code == 201
    listing = small.get("/api/v1/datasets", "reader").json()
    assert all("profile" not in d for d in listing["items"])
    assert "profile" not in small.get("/api/v1/datasets/profiled", "reader").json()
    profile = small.get("/api/v1/datasets/profiled/versions/1/profile", "reader")
    assert profile.status_code == 200
    assert profile.json()["rows"] == 100
    balance = small.get(
        "/api/v1/datasets/profiled/versions/1/profile", "reader", params={"target": "y"}
    )
    assert set(balance.json()["class_balance"]) == {"yes", "no"}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/datasets/profiled", {"version": 2**63}),
        ("/api/v1/datasets/profiled/versions/9223372036854775808/data", {}),
        ("/api/v1/datasets/profiled/versions/0/profile", {}),
        ("/api/v1/datasets", {"page_token": "9223372036854775808"}),
        ("/api/v1/datasets", {"page_token": "²"}),
        ("/api/v1/runs", {"page_token": "9223372036854775808"}),
        ("/api/v1/runs", {"page_token": "²"}),
        ("/api/v1/runs", {"max_results": 2**63}),
    ],
)
def test_out_of_range_numbers_are_a_422(small, path, params):
    answer = small.get(path, "reader", params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]


@pytest.fixture(scope="module")
def run_id(small: Api) -> str:
    answer = small.post("/api/v1/runs", "contributor", json={"experiment": "bounds"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_reader_queries_that_were_500s_are_answered_or_refused(small, run_id):
    found = small.get("/api/v1/runs", "reader", params={"where": "created_at > 2020-01-01"})
    assert found.status_code == 200, found.text
    assert run_id in {r["id"] for r in found.json()["items"]}
    seventy = " and ".join(f"metrics.m{i} > 0" for i in range(70))
    refusals = [
        ({"where": seventy}, "at most 20"),
        ({"where": "started_at > soon"}, "date or time"),
        ({"page_token": "²"}, "invalid page token"),
    ]
    for params, message in refusals:
        answer = small.get("/api/v1/runs", "reader", params=params)
        assert answer.status_code == 422, (params, answer.text)
        assert message in answer.json()["error"]
    tail = small.get(f"/api/v1/runs/{run_id}/logs", "reader", params={"tail": 2**63})
    assert tail.status_code == 422
    assert "query.tail" in tail.json()["error"]
    model = small.get("/api/v1/models/any", "reader", params={"version": 2**63})
    assert model.status_code == 422  # SQLite's OverflowError, a 500, before
    assert "query.version" in model.json()["error"]


@pytest.mark.parametrize(
    ("path", "message"),
    [("model/a%00b.txt", "control character"), (f"model/{'a' * 256}", "at most 200 bytes")],
)
def test_artifact_paths_with_nul_or_overlong_parts_are_a_422(small, run_id, path, message):
    url = f"/api/v1/runs/{run_id}/artifacts/{path}"
    put = small.call("PUT", url, "contributor", content=b"x")
    assert put.status_code == 422, put.text
    assert message in put.json()["error"]
    assert small.get(url, "reader").status_code == 422


def test_the_bounds_are_server_settings_passed_on_to_its_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("SHIPYARD_MAX_UPLOAD_MB", "256")
    monkeypatch.setenv("SHIPYARD_MAX_COLUMNS", "5000")
    settings = ServerSettings(workspace=tmp_path)
    assert (settings.max_upload_mb, settings.max_columns) == (256, 5000)
    explicit = ServerSettings(workspace=tmp_path, max_upload_mb=8, max_columns=10)
    env = explicit.child_env()  # what further API processes read back
    assert (env["SHIPYARD_MAX_UPLOAD_MB"], env["SHIPYARD_MAX_COLUMNS"]) == ("8", "10")
    monkeypatch.setenv("SHIPYARD_MAX_UPLOAD_MB", "lots")
    with pytest.raises(InvalidInputError, match="SHIPYARD_MAX_UPLOAD_MB must be a whole number"):
        ServerSettings(workspace=tmp_path)
    with pytest.raises(InvalidInputError, match="max upload must be from 1 MiB"):
        ServerSettings(workspace=tmp_path, max_upload_mb=0)


def test_uploads_sent_at_once_are_read_one_after_another_and_all_registered(small):
    with ThreadPoolExecutor(3) as pool:
        answers = list(
            pool.map(
                lambda i: _upload(small, "at-once", f"{i}.csv", _csv(60, seed=10 + i)), range(3)
            )
        )
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert sorted(a.json()["version"] for a in answers) == [1, 2, 3]


@pytest.mark.parametrize(
    ("method", "path", "limit"),
    [
        ("POST", "/api/v1/datasets", "upload"),
        ("POST", "/api/v1/models/m/versions", "upload"),
        ("PUT", "/api/v1/runs/run_1/artifacts/model/model.joblib", "upload"),
        ("POST", "/api/v1/models", "default"),
        ("POST", "/api/v1/runs/run_1/tags", "default"),
        ("GET", "/api/v1/datasets", "default"),
    ],
)
def test_files_have_the_upload_limit_and_everything_else_the_default(method, path, limit):
    limits = BodyLimits(default_bytes=1, upload_bytes=2)
    expected = limits.upload_bytes if limit == "upload" else limits.default_bytes
    assert limits.for_request(method, path) == expected


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("a" * 300 + ".csv.gz", "a" * 193 + ".csv.gz"),
        ("folder/../x\x00y.csv", "xy.csv"),
        ("..", "upload.csv"),
        (None, "upload.csv"),
    ],
)
def test_upload_names_fit_a_file_system(sent, stored):
    assert upload_name(sent) == stored


def test_an_upload_with_an_overlong_file_name_registers(small):
    answer = _upload(small, "long-name", "n" * 300 + ".csv", _csv(20, seed=7))
    assert answer.status_code == 201, answer.text
    assert answer.json()["source"].endswith("nnn.csv")
