"""`shipyard model`: register a run's model, list, show and download, against tmp_path workspaces.

The slow tests register models from the session's recorded AutoML run, each under a name
of its own; the fast ones check the one-line errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from shipyard.cli.model import parse_tags
from shipyard.core.errors import InvalidInputError
from shipyard.workspace import LocalWorkspace


def test_tags_are_key_value_pairs():
    assert parse_tags(["team=risk", "note=a=b", "empty="]) == {
        "team": "risk",
        "note": "a=b",
        "empty": "",
    }
    for bad in ("novalue", "=x"):
        with pytest.raises(InvalidInputError, match="KEY=VALUE"):
            parse_tags([bad])


def test_an_empty_registry_lists_nothing(in_workspace):
    result = in_workspace("model", "list", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"items": [], "total": 0, "next_page_token": None}


def test_a_run_without_a_model_cannot_be_registered(in_workspace, workspace, expect_user_error):
    with LocalWorkspace.open(workspace) as ws:
        run = ws.create_run("by-hand")
        ws.finish_run(run.id)
    result = in_workspace("model", "register", "m", "--run", run.id)
    expect_user_error(result, run.id, "no model to register")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("model", "register", "m", "--run", "run_nope"), ["no run with id 'run_nope'"]),
        (("model", "register", "bad/name", "--run", "run_nope"), ["slashes"]),
        (("model", "register", "m", "--run", "run_x", "--tag", "oops"), ["KEY=VALUE"]),
        (("model", "show", "nothing-here"), ["no model named 'nothing-here'"]),
        (("model", "show", "m:0"), ["positive whole number"]),
        (("model", "download", "nothing-here", "--output", "{out}"), ["no model named"]),
    ],
)
def test_user_errors_are_one_line(in_workspace, tmp_path, args, words, expect_user_error):
    filled = [a.format(out=tmp_path / "out") for a in args]
    expect_user_error(in_workspace(*filled), *words)


@pytest.mark.slow
def test_register_stores_numbered_versions_with_lineage(recorded):
    result = recorded.invoke(
        "model",
        "register",
        "lineage",
        "--run",
        recorded.run_id,
        "--description",
        "toy model",
        "--tag",
        "team=risk",
        "--json",
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["name"], document["version"]) == ("lineage", 1)
    assert document["run_id"] == recorded.run_id
    assert document["dataset"] == "toy:1"
    assert document["tags"] == {"team": "risk"}
    assert document["metrics"] == recorded.document["metrics"]
    assert document["learner"] == recorded.document["best_learner"]
    again = recorded.invoke("model", "register", "lineage", "--run", recorded.run_id)
    assert again.exit_code == 0, again.output
    assert "Registered lineage:2" in again.stdout
    with LocalWorkspace.open(recorded.workspace) as ws:
        assert [v.version for v in ws.list_model_versions("lineage")] == [1, 2]
        assert ws.get_model("lineage:1").description == "toy model"


@pytest.mark.slow
def test_list_and_show(recorded):
    for _ in range(2):
        registered = recorded.invoke("model", "register", "shown", "--run", recorded.run_id)
        assert registered.exit_code == 0, registered.output
    listing = json.loads(recorded.invoke("model", "list", "--json").stdout)
    entry = next(m for m in listing["items"] if m["name"] == "shown")
    assert (entry["latest_version"], entry["versions"]) == (2, 2)

    latest = json.loads(recorded.invoke("model", "show", "shown", "--json").stdout)
    assert latest["version"] == 2
    assert latest["versions"] == [1, 2]
    first = json.loads(recorded.invoke("model", "show", "shown:1", "--json").stdout)
    assert first["version"] == 1
    assert first["task"] == "classification"
    assert first["target"] == "y"
    columns = [c["name"] for c in first["descriptor"]["input_schema"]["columns"]]
    assert columns == ["x1", "x2", "color", "size"]

    text = recorded.invoke("model", "show", "shown:1").stdout
    for part in ("Model shown:1", recorded.run_id, "Metrics", "Input columns", "Top 10 features"):
        assert part in text, part


@pytest.mark.slow
def test_download_copies_the_model_folder(recorded, invoke, tmp_path, expect_user_error):
    registered = recorded.invoke("model", "register", "fetched", "--run", recorded.run_id)
    assert registered.exit_code == 0, registered.output
    output = tmp_path / "fetched"
    result = recorded.invoke("model", "download", "fetched:1", "--output", output, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"name": "fetched", "version": 1, "path": str(output)}
    assert {p.name for p in output.iterdir()} >= {"model.joblib", "descriptor.json"}

    scored = invoke(
        "predict",
        "--model",
        output,
        "--data",
        _rows(recorded.frame, tmp_path),
        "--output",
        tmp_path / "p.csv",
    )
    assert scored.exit_code == 0, scored.output

    again = recorded.invoke("model", "download", "fetched", "--output", output)
    expect_user_error(again, str(output), "not empty")


def _rows(frame: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    frame.head(5).to_csv(path, index=False)
    return path
