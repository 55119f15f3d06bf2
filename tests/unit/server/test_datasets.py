"""Datasets over HTTP: multipart upload, list, show, versions, Parquet rows, profile."""

from __future__ import annotations

import io

import pandas as pd

from tests.fixtures.automl import make_frame


def _upload(api, name: str, path, role: str = "contributor", **fields: str):
    with path.open("rb") as handle:
        return api.post(
            "/api/v1/datasets",
            role,
            data={"name": name, **fields},
            files={"file": (path.name, handle, "text/csv")},
        )


def test_an_uploaded_csv_becomes_a_profiled_version(api, csv_file):
    answer = _upload(api, "ds-upload", csv_file, description="toy rows", target="y")
    assert answer.status_code == 201, answer.text
    dataset = answer.json()
    assert (dataset["name"], dataset["version"], dataset["rows"]) == ("ds-upload", 1, 200)
    assert dataset["source"] == "toy.csv"
    assert dataset["description"] == "toy rows"
    assert "profile" not in dataset  # served by its own route
    profile = api.get("/api/v1/datasets/ds-upload/versions/1/profile", "reader").json()
    assert set(profile["class_balance"]) == {"yes", "no"}
    again = _upload(api, "ds-upload", csv_file)  # the same rows: the same version
    assert again.json()["version"] == 1


def test_listing_showing_and_reading_back(api, csv_file, tmp_path):
    _upload(api, "ds-read", csv_file)
    changed = tmp_path / "changed.csv"
    make_frame("binary", seed=2).to_csv(changed, index=False)
    assert _upload(api, "ds-read", changed).json()["version"] == 2

    listed = api.get("/api/v1/datasets", "reader", params={"max_results": 1000}).json()
    assert any(d["name"] == "ds-read" and d["version"] == 2 for d in listed["items"])
    first = api.get("/api/v1/datasets/ds-read", "reader", params={"version": 1}).json()
    assert first["version"] == 1
    assert api.get("/api/v1/datasets/ds-read:2", "reader").json()["version"] == 2
    versions = api.get("/api/v1/datasets/ds-read/versions", "reader").json()
    assert [v["version"] for v in versions] == [1, 2]

    data = api.get("/api/v1/datasets/ds-read/versions/1/data", "reader")
    assert data.status_code == 200
    assert "ds-read-1.parquet" in data.headers["content-disposition"]
    frame = pd.read_parquet(io.BytesIO(data.content))
    expected = pd.read_csv(csv_file)
    pd.testing.assert_frame_equal(frame, expected)


def test_a_profile_for_a_target(api, csv_file):
    _upload(api, "ds-profile", csv_file)
    plain = api.get("/api/v1/datasets/ds-profile/profile", "reader").json()
    assert plain["class_balance"] is None
    profile = api.get(
        "/api/v1/datasets/ds-profile/profile", "reader", params={"target": "color", "version": 1}
    ).json()
    assert profile["target"] == "color"
    assert sum(profile["class_balance"].values()) == 200


def test_bad_uploads_are_4xx_naming_the_problem(api, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b\n")
    answer = _upload(api, "ds-empty", empty)
    assert answer.status_code == 422
    assert "no rows" in answer.json()["error"]
    bad_name = _upload(api, "bad name!", empty)
    assert bad_name.status_code == 422
    no_file = api.post("/api/v1/datasets", "contributor", data={"name": "ds-nofile"})
    assert no_file.status_code == 422
    assert "body.file" in no_file.json()["error"]
    missing = api.get("/api/v1/datasets/ds-never", "reader")
    assert missing.status_code == 404
    assert "ds-never" in missing.json()["error"]
    assert api.get("/api/v1/datasets", "reader", params={"page_token": "x"}).status_code == 422
