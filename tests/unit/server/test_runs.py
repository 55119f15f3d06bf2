"""Experiments and runs over HTTP: create, log, query, finish, artifacts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shipyard.core.schemas import Page, Run
from shipyard.store.tables import RunRow


def _experiment() -> str:
    return f"exp-{uuid.uuid4().hex[:8]}"


def _run(api, experiment: str, **fields) -> dict[str, Any]:
    answer = api.post("/api/v1/runs", "contributor", json={"experiment": experiment, **fields})
    assert answer.status_code == 201, answer.text
    run: dict[str, Any] = answer.json()
    return run


def test_experiments_are_created_listed_and_shown(api):
    name = _experiment()
    created = api.post(
        "/api/v1/experiments", "contributor", json={"name": name, "description": "d"}
    )
    assert created.status_code == 201
    assert created.json()["description"] == "d"
    assert name in [e["name"] for e in api.get("/api/v1/experiments", "reader").json()]
    assert api.get(f"/api/v1/experiments/{name}", "reader").json()["id"] == created.json()["id"]
    assert api.get("/api/v1/experiments/exp-never", "reader").status_code == 404


def test_a_run_records_metrics_params_tags_and_logs(api):
    experiment = _experiment()
    run = _run(api, experiment, name="by-hand", params={"lr": 0.1}, tags={"team": "a"})
    assert run["status"] == "running"
    base = f"/api/v1/runs/{run['id']}"
    written = api.post(f"{base}/metrics", "contributor", json={"metrics": {"loss": 0.5}, "step": 1})
    assert written.json() == {"written": 1}
    series = api.post(
        f"{base}/metric-series", "contributor", json={"key": "acc", "values": [0.1, 0.2]}
    )
    assert series.json() == {"written": 2}
    assert (
        api.post(f"{base}/params", "contributor", json={"params": {"depth": 3}}).status_code == 204
    )
    assert api.post(f"{base}/tags", "contributor", json={"tags": {"note": "x"}}).status_code == 204
    assert (
        api.post(
            f"{base}/logs", "contributor", json={"message": "hello", "level": "warning"}
        ).status_code
        == 204
    )
    shown = api.get(base, "reader").json()
    assert shown["metrics"] == {"loss": 0.5, "acc": 0.2}
    assert shown["params"] == {"lr": 0.1, "depth": 3}
    assert shown["tags"] == {"team": "a", "note": "x"}
    history = api.get(f"{base}/metrics/acc", "reader").json()
    assert [(p["step"], p["value"]) for p in history] == [(0, 0.1), (1, 0.2)]
    logs = api.get(f"{base}/logs", "reader", params={"tail": 1}).json()
    assert [(line["level"], line["message"]) for line in logs] == [("warning", "hello")]
    clash = api.post(f"{base}/params", "contributor", json={"params": {"lr": 0.2}})
    assert clash.status_code == 409


def test_runs_finish_once(api):
    run = _run(api, _experiment())
    base = f"/api/v1/runs/{run['id']}"
    done = api.post(f"{base}/status", "contributor", json={"status": "completed"})
    assert done.status_code == 200
    assert done.json()["status"] == "completed"
    again = api.post(f"{base}/status", "contributor", json={"status": "failed", "reason": "x"})
    assert again.status_code == 409
    late = api.post(f"{base}/metrics", "contributor", json={"metrics": {"loss": 1.0}})
    assert late.status_code == 409
    bad = api.post(f"{base}/status", "contributor", json={"status": "sleeping"})
    assert bad.status_code == 422


def test_runs_are_listed_filtered_and_ranked(api):
    experiment = _experiment()
    parent = _run(api, experiment, kind="automl")
    for score in (0.7, 0.9, 0.8):
        child = _run(api, experiment, parent_id=parent["id"], kind="trial")
        api.post(
            f"/api/v1/runs/{child['id']}/metrics", "contributor", json={"metrics": {"auc": score}}
        )
        api.post(f"/api/v1/runs/{child['id']}/status", "contributor", json={"status": "completed"})
    page = api.get(
        "/api/v1/runs", "reader", params={"experiment": experiment, "max_results": 2}
    ).json()
    assert page["total"] == 4
    assert len(page["items"]) == 2
    assert page["next_page_token"] == "2"
    top = api.get("/api/v1/runs", "reader", params={"experiment": experiment, "top_level": True})
    assert [r["id"] for r in top.json()["items"]] == [parent["id"]]
    query = {
        "parent_id": parent["id"],
        "where": "metrics.auc > 0.75",
        "order_by": "metrics.auc desc",
        "status": "completed",
        "kind": "trial",
    }
    ranked = api.get("/api/v1/runs", "reader", params=query).json()["items"]
    assert [r["metrics"]["auc"] for r in ranked] == [0.9, 0.8]
    best = api.get(f"/api/v1/runs/{parent['id']}/best-child", "reader", params={"metric": "auc"})
    assert best.json()["metrics"]["auc"] == 0.9
    worst = api.get(
        f"/api/v1/runs/{parent['id']}/best-child",
        "reader",
        params={"metric": "auc", "higher_is_better": False},
    )
    assert worst.json()["metrics"]["auc"] == 0.7
    bad_where = api.get("/api/v1/runs", "reader", params={"where": "metrics.auc >"})
    assert bad_where.status_code == 422
    assert "cannot read condition" in bad_where.json()["error"]


def test_artifacts_upload_list_and_download(api):
    run = _run(api, _experiment())
    base = f"/api/v1/runs/{run['id']}/artifacts"
    uploaded = api.call(
        "PUT",
        f"{base}/charts/roc.json",
        "contributor",
        content=b'{"auc": 1}',
        headers={"Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json() == {"path": "charts/roc.json"}
    assert api.get(base, "reader").json() == ["charts/roc.json"]
    download = api.get(f"{base}/charts/roc.json", "reader")
    assert download.content == b'{"auc": 1}'
    assert download.headers["content-type"].startswith("application/json")
    assert "roc.json" in download.headers["content-disposition"]
    assert api.get(f"{base}/charts/none.json", "reader").status_code == 404
    escape = api.call("PUT", f"{base}/a/%2E%2E/%2E%2E/x", "contributor", content=b"x")
    assert escape.status_code == 422


def test_unknown_runs_are_404(api):
    assert api.get("/api/v1/runs/run_never", "reader").status_code == 404
    assert api.get("/api/v1/runs/run_never/logs", "reader").status_code == 404
    orphan = api.post("/api/v1/runs", "contributor", json={"experiment": "e", "parent_id": "run_x"})
    assert orphan.status_code == 404


def test_the_run_listing_is_the_documented_page_of_runs(api):
    experiment = _experiment()
    run = _run(api, experiment, params={"lr": 0.1}, tags={"team": "a"})
    api.post(f"/api/v1/runs/{run['id']}/metrics", "contributor", json={"metrics": {"auc": 0.5}})
    answer = api.get("/api/v1/runs", "reader", params={"experiment": experiment})
    assert answer.headers["content-type"] == "application/json"
    page = Page[Run].model_validate_json(answer.content)
    assert page == api.ws.list_runs(experiment=experiment)
    assert answer.content == page.model_dump_json().encode()
    document = api.get("/openapi.json", None).json()
    listed = document["paths"]["/api/v1/runs"]["get"]["responses"]["200"]
    assert listed["content"]["application/json"]["schema"]["$ref"].endswith("Page_Run_")


def _age_heartbeat(api, run_id: str, seconds: float) -> None:
    """Make the run's last heartbeat `seconds` old."""
    with api.ws.store.write() as session:
        row = session.get(RunRow, run_id)
        row.heartbeat_at = datetime.now(UTC) - timedelta(seconds=seconds)


def test_a_run_started_over_rest_belongs_to_its_client_which_keeps_it_alive(api):
    experiment = _experiment()
    session = {"X-Shipyard-Session": "s1"}
    run = api.post(
        "/api/v1/runs", "contributor", json={"experiment": experiment}, headers=session
    ).json()
    with api.ws.store.read() as db:
        owner = db.get(RunRow, run["id"]).owner
    caller = api.ws.authenticate(api.headers["contributor"]["Authorization"].split()[1])
    assert owner == f"remote:{caller.principal_id}:s1"  # the server does not beat for it

    _age_heartbeat(api, run["id"], 50)
    beat = api.post("/api/v1/runs/heartbeat", "contributor", headers=session)
    assert beat.json() == {"refreshed": 1}
    other = api.post("/api/v1/runs/heartbeat", "contributor", headers={"X-Shipyard-Session": "s2"})
    assert other.json() == {"refreshed": 0}  # another session's runs are not its own
    _age_heartbeat(api, run["id"], 50)
    api.post(f"/api/v1/runs/{run['id']}/metrics", "contributor", json={"metrics": {"m": 1.0}})
    assert api.get(f"/api/v1/runs/{run['id']}", "reader").json()["status"] == "running"

    _age_heartbeat(api, run["id"], 61)  # the client went away
    lost = api.get(f"/api/v1/runs/{run['id']}", "reader").json()
    assert lost["status"] == "failed"
    assert "no heartbeat" in lost["failure_reason"]


def test_a_bad_session_header_is_refused(api):
    bad = api.post(
        "/api/v1/runs",
        "contributor",
        json={"experiment": _experiment()},
        headers={"X-Shipyard-Session": "a b"},
    )
    assert bad.status_code == 422
    assert "X-Shipyard-Session" in bad.json()["error"]
    assert api.post("/api/v1/runs/heartbeat", "reader").status_code == 403
