"""Endpoint routes in process: what is refused before anything runs.

Deploying, scoring, keys and telemetry of a live endpoint run in tests/e2e/test_server.py,
against a real server that supervises real endpoint processes.
"""

from __future__ import annotations


def test_unknown_endpoints_are_404(api):
    for path in ("", "/keys", "/telemetry", "/logs"):
        answer = api.get(f"/api/v1/endpoints/never{path}")
        assert answer.status_code == 404, path
        assert "never" in answer.json()["error"]
    assert api.call("PATCH", "/api/v1/endpoints/never", "contributor", json={}).status_code == 404
    assert api.call("DELETE", "/api/v1/endpoints/never", "contributor").status_code == 404
    assert api.post("/api/v1/endpoints/never/token", "contributor").status_code == 404
    assert api.post("/api/v1/endpoints/never/keys/primary/regenerate").status_code == 404
    assert api.get("/api/v1/endpoints", "reader").json() == []


def test_bad_deployments_are_refused_before_anything_starts(api):
    unknown_model = api.post(
        "/api/v1/endpoints", "contributor", json={"name": "ep", "model": "never:1"}
    )
    assert unknown_model.status_code == 404
    bad_auth = api.post(
        "/api/v1/endpoints", "contributor", json={"name": "ep", "model": "m", "auth_mode": "x"}
    )
    assert bad_auth.status_code == 422
    assert "auth must be one of" in bad_auth.json()["error"]
    too_many = api.post(
        "/api/v1/endpoints", "contributor", json={"name": "ep", "model": "m", "workers": 99}
    )
    assert too_many.status_code == 422
