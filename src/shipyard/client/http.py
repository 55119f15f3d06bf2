"""HTTP plumbing: service-principal tokens, and answers turned back into Shipyard errors."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from shipyard.core.errors import (
    ServerError,
    ServiceUnavailableError,
    ShipyardError,
    TooManyRequestsError,
    error_class,
)

TOKEN_PATH = "/api/v1/auth/token"
_RENEW_BEFORE_S = 60
REQUEST_ID_HEADER = "x-request-id"


class ServicePrincipalAuthentication:
    """OAuth2 client credentials for a service principal; tokens are renewed before expiry.

    auth = ServicePrincipalAuthentication(client_id, client_secret, "http://127.0.0.1:8470")
    requests.get(url, headers=auth.get_authentication_header())
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        server: str,
        *,
        http: httpx.Client | None = None,
    ) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self.server = server.rstrip("/")
        self._http = http
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the secret
        return (
            f"ServicePrincipalAuthentication(client_id={self.client_id!r}, server={self.server!r})"
        )

    def get_authentication_header(self) -> dict[str, str]:
        """`{"Authorization": "Bearer <token>"}` with a token valid for at least a minute."""
        with self._lock:
            if self._token is None or time.time() > self._expires_at - _RENEW_BEFORE_S:
                self._token, self._expires_at = self._fetch()
            return {"Authorization": f"Bearer {self._token}"}

    def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret,
        }
        try:
            if self._http is not None:
                response = self._http.post(f"{self.server}{TOKEN_PATH}", data=form)
            else:
                response = httpx.post(f"{self.server}{TOKEN_PATH}", data=form, timeout=30)
        except httpx.TransportError as exc:
            raise unreachable(self.server, exc) from None
        raise_for_error(response)
        answer = response.json()
        return str(answer["access_token"]), time.time() + float(answer["expires_in"])


def raise_for_error(response: httpx.Response) -> None:
    """Raise the Shipyard error an error answer stands for (its message kept)."""
    if response.is_success:
        return
    raise error_of(response)


def error_of(response: httpx.Response) -> ShipyardError:
    """The error an error answer stands for: the class its body names or its status's."""
    body = _body(response)
    message = _message(response, body)
    status = response.status_code
    kind = error_class(status, _field(body, "type"))
    if kind is TooManyRequestsError:
        return TooManyRequestsError(message, int(response.headers.get("retry-after", "1") or 1))
    if kind is ServerError:
        request_id = _field(body, "request_id") or response.headers.get(REQUEST_ID_HEADER)
        return ServerError(f"the server failed ({status}): {message}", request_id)
    if kind is ShipyardError and _field(body, "type") != ShipyardError.__name__:
        return ShipyardError(f"unexpected answer {status}: {message}")
    return kind(message)


def unreachable(server: str, exc: httpx.TransportError) -> ServiceUnavailableError:
    """The error for a server that does not answer (refused, unknown host, timed out)."""
    reason = str(exc) or type(exc).__name__
    return ServiceUnavailableError(f"cannot reach the Shipyard server at {server}: {reason}")


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _field(body: Any, key: str) -> str | None:
    value = body.get(key) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _message(response: httpx.Response, body: Any) -> str:
    if body is None:
        return response.text[:500] or response.reason_phrase
    if isinstance(body, dict):
        for key in ("error", "detail", "message"):
            value = body.get(key)
            if isinstance(value, str):
                description = body.get("error_description")
                return f"{value}: {description}" if isinstance(description, str) else value
            if value is not None:
                return str(value)
    return str(body)[:500]
