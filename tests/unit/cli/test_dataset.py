"""`shipyard dataset`: register, list, show and versions, against a workspace in tmp_path."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shipyard.workspace import LocalWorkspace


def test_register_stores_a_profiled_version(in_workspace, workspace, frame, csv_of):
    result = in_workspace(
        "dataset", "register", "toy", "--file", csv_of(frame), "--description", "tiny", "--json"
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["name"] == "toy"
    assert document["version"] == 1
    assert document["id"].startswith("dsv_")
    assert (document["rows"], document["columns"]) == (200, 5)
    assert document["description"] == "tiny"
    assert document["source"] == "data.csv"
    assert document["profile"]["class_balance"] is None
    with LocalWorkspace.open(workspace) as ws:
        stored = ws.get_dataset("toy:1")
        assert stored.id == document["id"]
        assert ws.load_dataset("toy").equals(frame)


def test_register_with_a_target_counts_its_classes(in_workspace, frame, csv_of):
    result = in_workspace("dataset", "register", "toy", "--file", csv_of(frame), "--target", "y")
    assert result.exit_code == 0, result.output
    text = result.stdout
    for part in ("Registered toy:1", "200 rows", "Columns", "Class balance of y", "--target y"):
        assert part in text, part


def test_versions_count_up_and_identical_content_is_not_stored_twice(in_workspace, frame, csv_of):
    first = in_workspace("dataset", "register", "toy", "--file", csv_of(frame), "--json")
    again = in_workspace("dataset", "register", "toy", "--file", csv_of(frame), "--json")
    assert json.loads(again.stdout)["id"] == json.loads(first.stdout)["id"]
    changed = csv_of(frame.iloc[:150], "fewer.csv")
    second = in_workspace("dataset", "register", "toy", "--file", changed, "--json")
    assert json.loads(second.stdout)["version"] == 2

    versions = json.loads(in_workspace("dataset", "versions", "toy", "--json").stdout)
    assert [v["version"] for v in versions["items"]] == [1, 2]
    assert [v["rows"] for v in versions["items"]] == [200, 150]
    assert versions["total"] == 2
    assert "profile" not in versions["items"][0]

    listing = json.loads(in_workspace("dataset", "list", "--json").stdout)
    assert listing["total"] == 1
    assert listing["next_page_token"] is None
    assert (listing["items"][0]["name"], listing["items"][0]["version"]) == ("toy", 2)

    table = in_workspace("dataset", "versions", "toy").stdout
    assert "Versions of toy" in table
    assert "fewer.csv" in table


def test_list_pages_through_datasets(in_workspace, frame, csv_of):
    path = csv_of(frame)
    for name in ("a-data", "b-data", "c-data"):
        assert in_workspace("dataset", "register", name, "--file", path).exit_code == 0
    first = json.loads(in_workspace("dataset", "list", "--limit", "2", "--json").stdout)
    assert [d["name"] for d in first["items"]] == ["a-data", "b-data"]
    assert first["total"] == 3
    token = first["next_page_token"]
    rest = in_workspace("dataset", "list", "--limit", "2", "--page-token", token, "--json")
    assert [d["name"] for d in json.loads(rest.stdout)["items"]] == ["c-data"]
    table = in_workspace("dataset", "list", "--limit", "2").stdout
    assert "2 of 3 shown" in table
    assert f"--page-token {token}" in table


def test_show_profiles_columns_and_class_balance(in_workspace, frame, csv_of):
    frame.loc[[1, 2, 3], "x2"] = np.nan
    in_workspace("dataset", "register", "toy", "--file", csv_of(frame))
    result = in_workspace("dataset", "show", "toy:1", "--target", "y", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["name"], document["version"]) == ("toy", 1)
    profile = document["profile"]
    assert profile["rows"] == 200
    assert profile["target"] == "y"
    assert profile["class_balance"] == frame["y"].value_counts().to_dict()
    columns = {c["name"]: c for c in profile["columns"]}
    assert columns["x2"]["missing"] == 3
    assert columns["x1"]["kind"] == "numeric"
    assert set(columns["x1"]["summary"]) >= {"min", "median", "max", "mean"}
    assert columns["color"]["kind"] == "categorical"
    assert columns["color"]["distinct"] == 3

    text = in_workspace("dataset", "show", "toy", "--target", "y").stdout
    for part in ("Dataset toy:1", "data.csv", "Columns", "color", "Class balance of y"):
        assert part in text, part


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("dataset", "register", "bad name", "--file", "{csv}"), ["'bad name'", "letters"]),
        (("dataset", "register", "toy", "--file", "{missing}"), ["no such file", "nope.csv"]),
        (("dataset", "show", "nothing-here"), ["no dataset named 'nothing-here'"]),
        (("dataset", "show", "toy:7"), ["no version 7", "versions: 1"]),
        (("dataset", "show", "toy:x"), ["positive whole number"]),
        (("dataset", "show", "toy", "--target", "outcome"), ["'outcome'", "x1, x2"]),
        (("dataset", "versions", "nothing-here"), ["no dataset named"]),
        (("dataset", "list", "--page-token", "abc"), ["page token"]),
    ],
)
def test_user_errors_are_one_line(
    args, words, in_workspace, frame, csv_of, tmp_path, expect_user_error
):
    path = csv_of(frame)
    assert in_workspace("dataset", "register", "toy", "--file", path).exit_code == 0
    filled = [a.format(csv=path, missing=tmp_path / "nope.csv") for a in args]
    expect_user_error(in_workspace(*filled), *words)
