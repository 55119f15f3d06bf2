"""Experiments: named groups of runs."""

from __future__ import annotations

from fastapi import APIRouter, status

from shipyard.core.schemas import Experiment
from shipyard.server.deps import ContributorDep, ReaderDep, WorkspaceDep
from shipyard.server.schemas import ExperimentCreate

router = APIRouter(prefix="/experiments", tags=["experiments"])


@router.get("", name="list", response_model=list[Experiment])
def list_experiments(ws: WorkspaceDep, _caller: ReaderDep) -> list[Experiment]:
    """Every experiment, by name."""
    return ws.list_experiments()


@router.post("", name="create", response_model=Experiment, status_code=status.HTTP_201_CREATED)
def create_experiment(
    ws: WorkspaceDep, _caller: ContributorDep, body: ExperimentCreate
) -> Experiment:
    """Create an experiment (an existing one of that name is returned unchanged)."""
    return ws.create_experiment(body.name, body.description)


@router.get("/{name}", name="get", response_model=Experiment)
def get_experiment(ws: WorkspaceDep, _caller: ReaderDep, name: str) -> Experiment:
    """One experiment by name."""
    return ws.get_experiment(name)
