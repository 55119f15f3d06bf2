"""Runs: create, query, move along their lifecycle; metrics, params, tags, logs, artifacts."""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, status
from fastapi.responses import Response

from shipyard.core.schemas import MetricPoint, Page, Run, RunLog, RunStatus
from shipyard.server.cache import AnswerCache
from shipyard.server.deps import ContributorDep, ReaderDep, RunOwnerDep, WorkspaceDep
from shipyard.server.routes._files import attachment
from shipyard.server.schemas import (
    ArtifactWritten,
    MetricSeriesLog,
    MetricsLog,
    ParamsLog,
    Refreshed,
    RunCreate,
    RunLogCreate,
    RunStatusUpdate,
    TagsSet,
    Written,
)

router = APIRouter(prefix="/runs", tags=["runs"])


@router.post("", name="create", response_model=Run, status_code=status.HTTP_201_CREATED)
def create_run(ws: WorkspaceDep, owner: RunOwnerDep, body: RunCreate) -> Run:
    """Start (or queue) a run in an experiment, created if needed.

    A running run belongs to the calling client, which keeps it alive by writing to it or
    by `POST /runs/heartbeat` (every few seconds; the SDK does it); a run without either
    for 60 s is failed, as a local run whose process died.
    """
    return ws.create_run(
        body.experiment,
        name=body.name,
        kind=body.kind,
        parent_id=body.parent_id,
        params=body.params,
        tags=body.tags,
        status=body.status,
        dataset_version_id=body.dataset_version_id,
        owner=owner,
    )


@router.post("/heartbeat", name="heartbeat", response_model=Refreshed)
def heartbeat(ws: WorkspaceDep, owner: RunOwnerDep) -> Refreshed:
    """Keep the running runs this client started (same principal and session) alive."""
    return Refreshed(refreshed=ws.heartbeat_runs(owner))


@router.get("", name="list", response_model=Page[Run])
async def list_runs(
    request: Request,
    ws: WorkspaceDep,
    _caller: ReaderDep,
    experiment: str | None = None,
    parent_id: str | None = None,
    top_level: bool = False,
    status: str | None = None,
    kind: str | None = None,
    where: Annotated[str | None, Query(max_length=4000)] = None,
    order_by: Annotated[str | None, Query(max_length=300)] = None,
    max_results: Annotated[int, Query(ge=1, le=1000)] = 50,
    page_token: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """Runs matching the filters, newest first unless `order_by` says otherwise.

    `where` joins conditions with `and` (`metrics.accuracy > 0.9 and kind = trial`);
    `order_by` is a field or `metrics.<name>`, then `asc` or `desc`.
    """
    # A repeat of a query is answered from the cache while nothing it shows has changed;
    # the token is read first, so a cached answer is never older than its token.
    cache: AnswerCache | None = request.app.state.answers
    key, token = str(request.url.query), ws.runs_change_token() if cache is not None else ""
    body = cache.get(key, token) if cache is not None else None
    if body is not None:
        return Response(body, media_type="application/json")
    page = ws.list_runs(
        experiment=experiment,
        parent_id=parent_id,
        top_level=top_level,
        status=status,
        kind=kind,
        where=where,
        order_by=order_by,
        max_results=max_results,
        page_token=page_token,
    )
    # On the event loop, not a worker thread: a listing is a few milliseconds under the
    # GIL, and eight at once on threads contended for it (a third fewer answers a second).
    # Serialized here, once: returned as is, FastAPI would validate the page again (on a
    # thread) before serializing it; `response_model` still documents the answer.
    body = page.model_dump_json().encode()
    if cache is not None:
        cache.put(key, token, body)
    return Response(body, media_type="application/json")


@router.get("/{run_id}", name="get", response_model=Run)
def get_run(ws: WorkspaceDep, _caller: ReaderDep, run_id: str) -> Run:
    """One run, with the latest value of each metric."""
    return ws.get_run(run_id)


@router.get("/{run_id}/best-child", name="best-child", response_model=Run)
def best_child(
    ws: WorkspaceDep, _caller: ReaderDep, run_id: str, metric: str, higher_is_better: bool = True
) -> Run:
    """The completed child run with the best value of `metric`."""
    return ws.best_child(run_id, metric, higher_is_better=higher_is_better)


@router.post("/{run_id}/status", name="set-status", response_model=Run)
def set_status(ws: WorkspaceDep, owner: RunOwnerDep, run_id: str, body: RunStatusUpdate) -> Run:
    """Move a run along its lifecycle (a finished run cannot change); a queued run that
    starts belongs to the calling client, as in `POST /runs`."""
    return ws.set_run_status(run_id, RunStatus(body.status), body.reason, owner=owner)


@router.post("/{run_id}/metrics", name="log-metrics", response_model=Written)
def log_metrics(
    ws: WorkspaceDep, _caller: ContributorDep, run_id: str, body: MetricsLog
) -> Written:
    """Record one step of metric values."""
    return Written(written=ws.log_metrics(run_id, body.metrics, step=body.step))


@router.post("/{run_id}/metric-series", name="log-metric-series", response_model=Written)
def log_metric_series(
    ws: WorkspaceDep, _caller: ContributorDep, run_id: str, body: MetricSeriesLog
) -> Written:
    """Record a whole metric series at once (steps 0, 1, 2, ...)."""
    return Written(written=ws.log_metric_series(run_id, body.key, body.values))


@router.get("/{run_id}/metrics/{key}", name="metric-history", response_model=list[MetricPoint])
def metric_history(
    ws: WorkspaceDep, _caller: ReaderDep, run_id: str, key: str
) -> list[MetricPoint]:
    """Every value logged for metric `key`, by step."""
    return ws.get_metric_history(run_id, key)


@router.post("/{run_id}/params", name="log-params", status_code=status.HTTP_204_NO_CONTENT)
def log_params(ws: WorkspaceDep, _caller: ContributorDep, run_id: str, body: ParamsLog) -> None:
    """Add parameters (a parameter already set keeps its value)."""
    ws.log_params(run_id, body.params)


@router.post("/{run_id}/tags", name="set-tags", status_code=status.HTTP_204_NO_CONTENT)
def set_tags(ws: WorkspaceDep, _caller: ContributorDep, run_id: str, body: TagsSet) -> None:
    """Add or replace tags."""
    ws.set_tags(run_id, body.tags)


@router.post("/{run_id}/logs", name="log-text", status_code=status.HTTP_204_NO_CONTENT)
def log_text(ws: WorkspaceDep, _caller: ContributorDep, run_id: str, body: RunLogCreate) -> None:
    """Append a line to the run's log."""
    ws.log_text(run_id, body.message, body.level)


@router.get("/{run_id}/logs", name="logs", response_model=list[RunLog])
def get_logs(
    ws: WorkspaceDep,
    _caller: ReaderDep,
    run_id: str,
    tail: Annotated[int | None, Query(ge=0, le=100_000)] = None,
) -> list[RunLog]:
    """The run's log lines, oldest first (the last `tail` only, if given)."""
    return ws.get_run_logs(run_id, tail=tail)


@router.get("/{run_id}/artifacts", name="artifacts", response_model=list[str])
def list_artifacts(ws: WorkspaceDep, _caller: ReaderDep, run_id: str) -> list[str]:
    """The run's artifact paths."""
    return ws.list_artifacts(run_id)


@router.get(
    "/{run_id}/artifacts/{path:path}",
    name="download-artifact",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_artifact(ws: WorkspaceDep, _caller: ReaderDep, run_id: str, path: str) -> Response:
    """The bytes of one artifact."""
    data = ws.read_artifact(run_id, path)
    media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return attachment(data, PurePosixPath(path).name, media_type)


@router.put(
    "/{run_id}/artifacts/{path:path}", name="upload-artifact", response_model=ArtifactWritten
)
def upload_artifact(
    ws: WorkspaceDep,
    _caller: ContributorDep,
    run_id: str,
    path: str,
    data: Annotated[bytes, Body(media_type="application/octet-stream")],
) -> ArtifactWritten:
    """Store the request body as the run's artifact `path` (replacing an earlier one)."""
    ws.log_artifact(run_id, path, data)
    return ArtifactWritten(path=path)
