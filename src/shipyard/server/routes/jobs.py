"""Jobs: background work (AutoML runs) that worker processes claim and do."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from shipyard.core.schemas import Job, JobEvent, Page
from shipyard.core.schemas.jobs import EVENT_POLL_S, MAX_EVENT_WAIT_S, MAX_EVENTS
from shipyard.server.deps import ContributorDep, ReaderDep, WorkspaceDep
from shipyard.server.schemas import AutoMLJobCreate
from shipyard.server.settings import ServerSettings

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.post(
    "/automl", name="submit-automl", response_model=Job, status_code=status.HTTP_201_CREATED
)
def submit_automl(
    request: Request, ws: WorkspaceDep, caller: ContributorDep, body: AutoMLJobCreate
) -> Job:
    """Queue an AutoML run of a dataset; a worker picks it up (its run is created queued).

    The settings are checked first (422 naming the setting): known target column, metric
    and learners, numbers in range, and budget and trials within the server's limits.
    """
    settings: ServerSettings = request.app.state.settings
    return ws.submit_automl_job(
        body.dataset,
        body.settings,
        experiment=body.experiment,
        max_attempts=body.max_attempts,
        created_by=caller.name,
        limits=settings.job_limits,
    )


@router.get("", name="list", response_model=Page[Job])
def list_jobs(
    ws: WorkspaceDep,
    _caller: ReaderDep,
    status: str | None = None,
    max_results: int = 50,
    page_token: str | None = None,
) -> Page[Job]:
    """Jobs, newest first, optionally of one status."""
    return ws.list_jobs(status=status, max_results=max_results, page_token=page_token)


@router.get("/{job_id}", name="get", response_model=Job)
def get_job(ws: WorkspaceDep, _caller: ReaderDep, job_id: str) -> Job:
    """One job: its status, attempts, worker and run."""
    return ws.get_job(job_id)


@router.get("/{job_id}/events", name="events", response_model=list[JobEvent])
async def job_events(
    ws: WorkspaceDep,
    _caller: ReaderDep,
    job_id: str,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS)] = 100,
    wait_s: Annotated[float, Query(ge=0, le=MAX_EVENT_WAIT_S)] = 0.0,
) -> list[JobEvent]:
    """The job's events numbered above `after`, oldest first (a long poll with `wait_s`).

    With `wait_s`, the answer comes as soon as there is an event after `after`, or when
    the job has ended, or after `wait_s` seconds (an empty list). Each read runs in the
    thread pool; the wait between reads holds no thread, so many followers cannot use
    up the pool the other routes need.
    """
    deadline = anyio.current_time() + wait_s
    while True:
        events, ended = await run_in_threadpool(ws.read_job_events, job_id, after, limit)
        if events or ended or anyio.current_time() >= deadline:
            return events
        await anyio.sleep(min(EVENT_POLL_S, max(deadline - anyio.current_time(), 0.0)))


@router.post("/{job_id}/cancel", name="cancel", response_model=Job)
def cancel_job(ws: WorkspaceDep, _caller: ContributorDep, job_id: str) -> Job:
    """Ask for a job to stop: a queued one is canceled at once, a running one by its worker."""
    return ws.cancel_job(job_id)
