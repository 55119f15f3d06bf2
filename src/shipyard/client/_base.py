"""What every remote call shares: one httpx client, the bearer header, errors raised back,
and the session that keeps the runs this client started alive."""

from __future__ import annotations

import uuid
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from shipyard.client.http import ServicePrincipalAuthentication, raise_for_error, unreachable
from shipyard.core.heartbeat import SESSION_HEADER, Heartbeat

API = "/api/v1"
# Deploying or updating an endpoint answers once it is healthy, which the server waits up
# to 90 s for; an AutoML job is only queued, so no call waits for training.
DEFAULT_TIMEOUT_S = 180.0
CONNECT_TIMEOUT_S = 10.0
T = TypeVar("T")
E = TypeVar("E", bound=BaseModel)


class RemoteBase:
    """A server address, the principal's credentials and the HTTP client that carries calls.

    Every call names this client's session; while a run it started is running, a thread
    beats for it every few seconds (`POST /runs/heartbeat`), so the server fails the run
    if this process dies, and not when the server restarts.
    """

    def __init__(
        self,
        server: str,
        auth: ServicePrincipalAuthentication,
        *,
        http: httpx.Client | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.server = server.rstrip("/")
        self.auth = auth
        timeout = httpx.Timeout(timeout_s, connect=CONNECT_TIMEOUT_S)
        self._http = http or httpx.Client(timeout=timeout)
        self.session = uuid.uuid4().hex
        self._heartbeat = Heartbeat(self._beat)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.server!r}, client_id={self.auth.client_id!r})"

    def close(self) -> None:
        """Stop beating for this client's runs and close the HTTP connections."""
        self._heartbeat.stop()
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **self.auth.get_authentication_header()}
        headers[SESSION_HEADER] = self.session
        params = kwargs.pop("params", None)
        if params is not None:
            kwargs["params"] = {k: v for k, v in params.items() if v is not None}
        try:
            response = self._http.request(
                method, f"{self.server}{API}{path}", headers=headers, **kwargs
            )
        except httpx.TransportError as exc:
            raise unreachable(self.server, exc) from None
        raise_for_error(response)
        return response

    def _keep_alive(self) -> None:
        """Beat for the runs this client runs (from now until none is running)."""
        self._heartbeat.start()

    def _beat(self) -> int:
        return int(self._request("POST", "/runs/heartbeat").json()["refreshed"])

    def _get(self, path: str, kind: type[E], **kwargs: Any) -> E:
        return kind.model_validate(self._request("GET", path, **kwargs).json())

    def _send(self, method: str, path: str, kind: type[E], body: Any = None) -> E:
        return kind.model_validate(self._request(method, path, json=body).json())

    def _list(self, path: str, kind: type[T], **kwargs: Any) -> list[T]:
        answer = self._request("GET", path, **kwargs).json()
        return TypeAdapter(list[kind]).validate_python(answer)  # type: ignore[valid-type]
