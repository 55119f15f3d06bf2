"""`shipyard run`: list with filters and pages, and show one run, against a tmp_path workspace.

Most tests record runs through the workspace API (fast, exact); the slow ones look at a
run that `automl run --dataset` recorded.
"""

from __future__ import annotations

import json

import pytest

from shipyard.core.schemas import RunStatus
from shipyard.workspace import LocalWorkspace


@pytest.fixture
def runs(workspace) -> dict[str, str]:
    """exp-a: a parent with three trials (auc 0.7, 0.9, failed); exp-b: one failed run."""
    with LocalWorkspace.open(workspace) as ws:
        parent = ws.create_run(
            "exp-a",
            name="search",
            kind="automl",
            params={"budget_s": 60, "learners": ["a", "b"]},
            tags={"primary_metric": "auc"},
        )
        ids = {"parent": parent.id}
        for i, auc in enumerate([0.7, 0.9, None]):
            child = ws.create_run("exp-a", name=f"trial #{i}", kind="trial", parent_id=parent.id)
            ids[f"child{i}"] = child.id
            if auc is None:
                ws.finish_run(child.id, RunStatus.FAILED, "it diverged")
            else:
                ws.log_metrics(child.id, {"auc": auc, "loss": 1 - auc})
                ws.finish_run(child.id)
        ws.log_metrics(parent.id, {"auc": 0.9})
        ws.log_text(parent.id, "first line")
        ws.log_text(parent.id, "last line", "warning")
        ws.log_artifact(parent.id, "notes.txt", "hello")
        ws.set_tags(parent.id, {"best_run_id": ids["child1"]})
        ws.finish_run(parent.id)
        other = ws.create_run("exp-b", name="by hand")
        ws.finish_run(other.id, RunStatus.FAILED, "it broke")
        ids["other"] = other.id
    return ids


def _ids(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [item["id"] for item in json.loads(result.stdout)["items"]]


def test_list_is_newest_first_with_stable_keys(in_workspace, runs):
    result = in_workspace("run", "list", "--json")
    document = json.loads(result.stdout)
    assert set(document) == {"items", "total", "next_page_token"}
    assert document["total"] == 5
    assert document["next_page_token"] is None
    first = document["items"][0]
    assert first["id"] == runs["other"]
    assert first["status"] == "failed"
    assert first["experiment"] == "exp-b"
    assert {"id", "name", "kind", "status", "metrics", "tags", "params", "parent_id"} <= set(first)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (("--experiment", "exp-b"), ["other"]),
        (("--parent", "{parent}"), ["child2", "child1", "child0"]),
        (("--status", "failed"), ["other", "child2"]),
        (("--kind", "trial", "--status", "completed"), ["child1", "child0"]),
        (("--top-level",), ["other", "parent"]),
        (("--where", "metrics.auc > 0.8"), ["child1", "parent"]),
        (("--where", "metrics.auc > 0.5 and kind = trial"), ["child1", "child0"]),
        (("--parent", "{parent}", "--order-by", "metrics.auc asc"), ["child0", "child1", "child2"]),
    ],
)
def test_list_filters_and_orders(in_workspace, runs, options, expected):
    filled = [option.format(**runs) for option in options]
    assert _ids(in_workspace("run", "list", *filled, "--json")) == [runs[n] for n in expected]


def test_list_pages(in_workspace, runs):
    first = json.loads(in_workspace("run", "list", "--limit", "2", "--json").stdout)
    assert first["total"] == 5
    token = first["next_page_token"]
    assert token
    seen = [r["id"] for r in first["items"]]
    while token:
        page = json.loads(in_workspace("run", "list", "--page-token", token, "--json").stdout)
        seen += [r["id"] for r in page["items"]]
        token = page["next_page_token"]
    assert sorted(seen) == sorted(runs.values())


def test_list_table_shows_the_ordering_metric(in_workspace, runs, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    result = in_workspace(
        "run", "list", "--parent", runs["parent"], "--order-by", "metrics.auc desc", "--limit", "2"
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "auc" in text
    assert "0.9000" in text
    assert "2 of 3 shown; next page: --page-token 2" in text


def test_show_json_has_children_best_child_artifacts_and_logs(in_workspace, runs):
    result = in_workspace("run", "show", runs["parent"], "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["id"] == runs["parent"]
    assert document["status"] == "completed"
    assert document["metrics"] == {"auc": 0.9}
    assert document["params"] == {"budget_s": 60, "learners": ["a", "b"]}
    assert document["tags"]["primary_metric"] == "auc"
    assert document["duration_s"] >= 0
    children = document["children"]
    assert children["total"] == 3
    assert children["by_status"] == {"completed": 2, "failed": 1}
    assert [c["id"] for c in children["top"]] == [runs[n] for n in ("child1", "child0", "child2")]
    assert children["best"]["id"] == runs["child1"]
    assert document["artifacts"] == ["notes.txt"]
    assert [line["message"] for line in document["logs"]] == ["first line", "last line"]

    tail = json.loads(in_workspace("run", "show", runs["parent"], "--logs", "1", "--json").stdout)
    assert [line["message"] for line in tail["logs"]] == ["last line"]


def test_show_tables(in_workspace, runs):
    text = in_workspace("run", "show", runs["parent"]).stdout
    for part in (
        f"Run {runs['parent']}",
        "Child runs (3: 2 completed, 1 failed), best first",
        "Metrics",
        "Tags",
        "Params",
        "notes.txt",
        "Last 2 log lines",
        "last line",
    ):
        assert part in text, part
    failed = in_workspace("run", "show", runs["other"]).stdout
    assert "it broke" in failed
    assert "Child runs" not in failed


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("run", "show", "run_nope"), ["no run with id 'run_nope'"]),
        (("run", "list", "--experiment", "nope"), ["no experiment named 'nope'"]),
        (("run", "list", "--where", "metrics.auc"), ["cannot read condition"]),
        (("run", "list", "--order-by", "colour"), ["cannot order by 'colour'"]),
        (("run", "list", "--order-by", "name sideways"), ["asc or desc"]),
        (("run", "list", "--page-token", "abc"), ["page token"]),
        (("run", "list", "--parent", "run_nope"), ["no run with id 'run_nope'"]),
    ],
)
@pytest.mark.usefixtures("runs")
def test_user_errors_are_one_line(in_workspace, args, words, expect_user_error):
    expect_user_error(in_workspace(*args), *words)


@pytest.mark.parametrize("option", [("--status", "lost"), ("--limit", "0")])
def test_invalid_option_values_are_usage_errors(in_workspace, option):
    result = in_workspace("run", "list", *option)
    assert result.exit_code == 2
    assert option[0] in result.stderr


@pytest.mark.slow
def test_show_an_automl_run(recorded):
    result = recorded.invoke("run", "show", recorded.run_id, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["kind"] == "automl"
    assert document["has_model"] is True
    assert document["dataset"] == "toy:1"
    assert document["tags"]["best_learner"] == recorded.document["best_learner"]
    children = document["children"]
    assert children["total"] >= 1
    assert children["best"]["id"] == recorded.document["best_run_id"]
    assert "model/descriptor.json" in document["artifacts"]
    assert any(line["message"].startswith("best:") for line in document["logs"])

    trials = json.loads(
        recorded.invoke("run", "list", "--parent", recorded.run_id, "--json").stdout
    )
    assert trials["total"] == children["total"]
    assert {t["kind"] for t in trials["items"]} == {"trial"}

    text = recorded.invoke("run", "show", recorded.run_id).stdout
    for part in ("Best model", "best child run", f"--run {recorded.run_id}", "Child runs"):
        assert part in text, part
