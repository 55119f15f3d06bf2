"""Real-time endpoints: deploy, list, show, update, delete; keys, tokens, telemetry, logs.

Deploy, update and delete answer once the change took effect (the endpoint is healthy,
serves the new model, or is gone), as the workspace operations do.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from shipyard.core.schemas import AccessToken, Endpoint, EndpointKeys, TelemetrySummary
from shipyard.server.deps import ContributorDep, OwnerDep, ReaderDep, WorkspaceDep
from shipyard.server.schemas import (
    EndpointCreate,
    EndpointLogs,
    EndpointTokenCreate,
    EndpointUpdate,
)

router = APIRouter(prefix="/endpoints", tags=["endpoints"])


@router.post("", name="create", response_model=Endpoint, status_code=status.HTTP_201_CREATED)
def deploy_endpoint(ws: WorkspaceDep, _caller: ContributorDep, body: EndpointCreate) -> Endpoint:
    """Serve a registered model at a new endpoint; answers once it is healthy."""
    return ws.deploy_endpoint(
        body.name,
        body.model,
        auth_mode=body.auth_mode,
        workers=body.workers,
        logging=body.logging,
        sample_rate=body.sample_rate,
        host=body.host,
        port=body.port,
    )


@router.get("", name="list", response_model=list[Endpoint])
def list_endpoints(ws: WorkspaceDep, _caller: ReaderDep) -> list[Endpoint]:
    """Every endpoint, by name."""
    return ws.list_endpoints()


@router.get("/{name}", name="get", response_model=Endpoint)
def get_endpoint(ws: WorkspaceDep, _caller: ReaderDep, name: str) -> Endpoint:
    """One endpoint: its state, model, addresses and settings."""
    return ws.get_endpoint(name)


@router.patch("/{name}", name="update", response_model=Endpoint)
def update_endpoint(
    ws: WorkspaceDep, _caller: ContributorDep, name: str, body: EndpointUpdate
) -> Endpoint:
    """Change the model, workers or logging without downtime."""
    return ws.update_endpoint(
        name,
        model=body.model,
        workers=body.workers,
        logging=body.logging,
        sample_rate=body.sample_rate,
    )


@router.delete("/{name}", name="delete", response_model=Endpoint)
def delete_endpoint(ws: WorkspaceDep, _caller: ContributorDep, name: str) -> Endpoint:
    """Stop the endpoint's processes and free its port."""
    return ws.delete_endpoint(name)


@router.get("/{name}/keys", name="keys", response_model=EndpointKeys)
def get_keys(ws: WorkspaceDep, _caller: OwnerDep, name: str) -> EndpointKeys:
    """The primary and secondary keys of a key-auth endpoint."""
    return ws.endpoint_keys(name)


@router.post("/{name}/keys/{slot}/regenerate", name="regenerate-key", response_model=EndpointKeys)
def regenerate_key(ws: WorkspaceDep, _caller: OwnerDep, name: str, slot: str) -> EndpointKeys:
    """Replace the primary or secondary key; the old one stops working."""
    return ws.regenerate_endpoint_key(name, slot)


@router.post("/{name}/token", name="token", response_model=AccessToken)
def create_token(
    ws: WorkspaceDep,
    caller: ContributorDep,
    name: str,
    body: EndpointTokenCreate | None = None,
) -> AccessToken:
    """A signed bearer token for a token-auth endpoint."""
    ttl_s = body.ttl_s if body is not None else EndpointTokenCreate().ttl_s
    token = ws.endpoint_token(name, ttl_s=ttl_s, subject=caller.principal_id)
    return AccessToken(access_token=token, expires_in=ttl_s)


@router.get("/{name}/telemetry", name="telemetry", response_model=TelemetrySummary)
def get_telemetry(
    ws: WorkspaceDep,
    _caller: ReaderDep,
    name: str,
    since: str = "1h",
    bucket_s: int | None = None,
) -> TelemetrySummary:
    """Requests, error rate and latency percentiles per time bucket, from the request log."""
    return ws.endpoint_telemetry(name, since=since, bucket_s=bucket_s)


@router.get("/{name}/logs", name="logs", response_model=EndpointLogs)
def get_logs(ws: WorkspaceDep, _caller: ReaderDep, name: str, tail: int = 100) -> EndpointLogs:
    """The last `tail` lines of the service's own log (start-up, errors, restarts)."""
    return EndpointLogs(name=name, lines=ws.endpoint_logs(name, tail=tail))
