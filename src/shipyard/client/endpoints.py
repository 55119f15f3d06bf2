"""Endpoints over REST: deploy, update, delete, keys and tokens, logs, telemetry, calling one.

Scoring goes straight to the endpoint's `scoring_uri` from this machine, as any client of
the endpoint would; only its credentials come from the server.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import TypeAdapter

from shipyard.client._base import RemoteBase
from shipyard.core.errors import ConflictError, answer_error
from shipyard.core.schemas import AccessToken, Endpoint, EndpointKeys, TelemetrySummary

SCORING_TIMEOUT_S = 60.0


class RemoteEndpoints(RemoteBase):
    """The endpoint operations of `RemoteWorkspace`."""

    def deploy_endpoint(
        self,
        name: str,
        model: str,
        *,
        auth_mode: str = "key",
        workers: int = 1,
        logging: bool = False,
        sample_rate: float = 0.0,
        host: str = "127.0.0.1",
        port: int | None = None,
    ) -> Endpoint:
        """Serve a registered model (`NAME[:VERSION]`) at a new endpoint; returns once healthy.

        `host` and `port` are on the server's machine, where the endpoint runs.
        """
        body = {
            "name": name,
            "model": model,
            "auth_mode": auth_mode,
            "workers": workers,
            "logging": logging,
            "sample_rate": sample_rate,
            "host": host,
            "port": port,
        }
        return self._send("POST", "/endpoints", Endpoint, body)

    def update_endpoint(
        self,
        name: str,
        *,
        model: str | None = None,
        workers: int | None = None,
        logging: bool | None = None,
        sample_rate: float | None = None,
    ) -> Endpoint:
        """Change the model, workers or logging of a running endpoint, without downtime."""
        changes = {
            "model": model,
            "workers": workers,
            "logging": logging,
            "sample_rate": sample_rate,
        }
        body = {k: v for k, v in changes.items() if v is not None}
        return self._send("PATCH", f"/endpoints/{name}", Endpoint, body)

    def delete_endpoint(self, name: str) -> Endpoint:
        """Stop the endpoint's processes and free its port."""
        return self._send("DELETE", f"/endpoints/{name}", Endpoint)

    def get_endpoint(self, name: str) -> Endpoint:
        """The endpoint called `name`."""
        return self._get(f"/endpoints/{name}", Endpoint)

    def list_endpoints(self) -> list[Endpoint]:
        """Every endpoint, by name."""
        return self._list("/endpoints", Endpoint)

    def endpoint_keys(self, name: str) -> EndpointKeys:
        """The primary and secondary keys of a key-auth endpoint (owner only)."""
        return self._get(f"/endpoints/{name}/keys", EndpointKeys)

    def regenerate_endpoint_key(self, name: str, slot: str) -> EndpointKeys:
        """Replace the primary or secondary key (owner only); the old one stops working."""
        return self._send("POST", f"/endpoints/{name}/keys/{slot}/regenerate", EndpointKeys)

    def endpoint_token(self, name: str, *, ttl_s: int = 3600) -> str:
        """A signed token for a token-auth endpoint, valid for `ttl_s` seconds."""
        token = self._send("POST", f"/endpoints/{name}/token", AccessToken, {"ttl_s": ttl_s})
        return token.access_token

    def endpoint_auth_header(self, name: str) -> dict[str, str]:
        """The `Authorization` header to call the endpoint with (empty if it is open)."""
        endpoint = self.get_endpoint(name)
        if endpoint.auth_mode == "key":
            return {"Authorization": f"Bearer {self.endpoint_keys(name).primary_key}"}
        if endpoint.auth_mode == "token":
            return {"Authorization": f"Bearer {self.endpoint_token(name)}"}
        return {}

    def invoke_endpoint(
        self, name: str, records: list[dict[str, Any]], *, method: str = "predict"
    ) -> dict[str, Any]:
        """Score `records` at the endpoint, as a client would, with this principal's rights."""
        endpoint = self.get_endpoint(name)
        headers = self.endpoint_auth_header(name)
        body = {"data": records, "method": method}
        try:
            response = httpx.post(
                endpoint.scoring_uri, json=body, headers=headers, timeout=SCORING_TIMEOUT_S
            )
        except httpx.TransportError as exc:
            raise ConflictError(
                f"endpoint {name!r} does not answer at {endpoint.scoring_uri}: {exc}"
            ) from None
        if not response.is_success:
            status = response.status_code
            message = f"endpoint {name!r} answered {status}: {response.text}"
            raise answer_error(status, message, response.content)
        answer: dict[str, Any] = response.json()
        return answer

    def endpoint_logs(self, name: str, *, tail: int = 100) -> list[str]:
        """The last `tail` lines of the service's own log (start-up, errors, restarts)."""
        answer = self._request("GET", f"/endpoints/{name}/logs", params={"tail": tail}).json()
        return [str(line) for line in answer["lines"]]

    def endpoint_telemetry(
        self, name: str, *, since: str = "1h", bucket_s: int | None = None
    ) -> TelemetrySummary:
        """Requests, error rate and p50/p95/p99 latency per time bucket, from the request log."""
        params = {"since": since, "bucket_s": bucket_s}
        answer = self._request("GET", f"/endpoints/{name}/telemetry", params=params).json()
        return TypeAdapter(TelemetrySummary).validate_python(answer)
