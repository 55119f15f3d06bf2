"""Real-time endpoints: deploy a registered model, change it, rotate keys, delete it.

The workspace records what should run (a row and the endpoint's config file); the
supervisor (`workspace.supervisor`) runs the processes and reports their state back into
the row. Operations that must see an effect wait for it: `deploy_endpoint` returns when
the endpoint answers its health check, `update_endpoint` when it serves the new model,
`delete_endpoint` when its processes are gone and its port is free.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from shipyard.auth import hash_secret, issue_token
from shipyard.auth.tokens import MAX_TOKEN_TTL_S, endpoint_audience
from shipyard.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ShipyardError,
    answer_error,
)
from shipyard.core.ids import new_id
from shipyard.core.interface import WorkspaceAPI
from shipyard.core.names import check_name
from shipyard.core.schemas import Endpoint, EndpointKeys, EndpointState
from shipyard.serving.bench import BenchLoad, BenchResult, BenchTarget, run_bench
from shipyard.serving.config import AUTH_MODES, EndpointConfig
from shipyard.serving.sockets import listen_socket, port_holder
from shipyard.store import endpoints as q
from shipyard.store.tables import EndpointRow
from shipyard.telemetry.summary import TelemetrySummary, parse_duration, summarize
from shipyard.workspace._base import WorkspaceBase
from shipyard.workspace._health import served_model
from shipyard.workspace._privileges import share_model_with_runner

SLOTS = ("primary", "secondary")
DEFAULT_WAIT_S = 90.0
MAX_WORKERS = 16
MIN_PORT, MAX_PORT = 1024, 65535
_HOSTNAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")
_SETTLED = {EndpointState.HEALTHY, EndpointState.FAILED}

log = logging.getLogger("shipyard.endpoints")


class EndpointOperations(WorkspaceBase):
    """Deploy, list, show, update, delete endpoints; their keys, tokens, logs and telemetry."""

    ensure_supervisor: Callable[[], None]
    # Interfaces endpoints may listen on besides loopback; None: any (a local workspace,
    # whose user is its owner). A server sets what its owner allowed (`--endpoint-host`).
    endpoint_hosts: frozenset[str] | None = None
    reserved_ports: Mapping[int, str] = MappingProxyType({})  # e.g. the server's own port
    token_revocations: Callable[[], dict[str, float]]  # principals.py

    # --- lifecycle -------------------------------------------------------------------------

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
        wait_s: float = DEFAULT_WAIT_S,
    ) -> Endpoint:
        """Serve `model` (`NAME[:VERSION]`) at a new endpoint; returns once it is healthy."""
        check_name(name, "endpoint name")
        _check_settings(auth_mode, workers, sample_rate)
        _check_address(host, port, self.endpoint_hosts)
        version = self.get_model(model)  # type: ignore[attr-defined]
        now = self.now()
        with self.store.write() as session:
            row = q.find_endpoint(session, name)
            if row is not None and row.state != EndpointState.DELETED:
                raise ConflictError(f"endpoint {name!r} exists ({row.state}); update or delete it")
            # A port another endpoint (even a failed one) or the server holds, or that any
            # process has bound, is refused now, not left to crash-loop (issue 10).
            chosen = _claim_port(host, port, {**self.reserved_ports, **q.port_holders(session)})
            if row is None:
                row = EndpointRow(id=new_id("endpoint"), name=name, created_at=now)
                session.add(row)
            row.model_name, row.model_version = version.name, version.version
            row.state, row.desired = EndpointState.CREATING.value, "running"
            row.host, row.port, row.workers = host, chosen, workers
            row.auth_mode, row.logging, row.sample_rate = auth_mode, logging, sample_rate
            row.key_generations = {
                slot: (row.key_generations or {}).get(slot, 0) + 1 for slot in SLOTS
            }
            row.key_hashes = self._key_hashes(row)
            row.pids, row.restarts, row.failure_reason = {}, 0, None
            row.updated_at, row.healthy_at = now, None
            session.flush()
            self._write_config(row)
        self.ensure_supervisor()
        return self._wait(name, lambda e: e.state in _SETTLED, wait_s, "become healthy")

    def update_endpoint(
        self,
        name: str,
        *,
        model: str | None = None,
        workers: int | None = None,
        logging: bool | None = None,
        sample_rate: float | None = None,
        wait_s: float = DEFAULT_WAIT_S,
    ) -> Endpoint:
        """Change the model, workers or logging of a running endpoint, without downtime."""
        current = self.get_endpoint(name)
        _check_settings(
            current.auth_mode,
            workers if workers is not None else current.workers,
            sample_rate if sample_rate is not None else current.sample_rate,
        )
        target = self.get_model(model) if model is not None else None  # type: ignore[attr-defined]
        with self.store.write() as session:
            row = self._live_row(session, name)
            if target is not None:
                row.model_name, row.model_version = target.name, target.version
            if workers is not None:
                row.workers = workers
            if logging is not None:
                row.logging = logging
            if sample_rate is not None:
                row.sample_rate = sample_rate
            row.updated_at = self.now()
            self._write_config(row)
        if target is None:
            return self.get_endpoint(name)
        wanted = f"{target.name}:{target.version}"
        return self._wait(name, lambda e: self._serves(e, wanted), wait_s, f"serve {wanted}")

    def delete_endpoint(self, name: str, *, wait_s: float = 30.0) -> Endpoint:
        """Stop the endpoint's processes and free its port."""
        with self.store.write() as session:
            row = self._live_row(session, name)
            row.desired = "deleted"
            row.state = EndpointState.DELETING.value
            row.updated_at = self.now()
        self.ensure_supervisor()
        return self._wait(name, lambda e: e.state is EndpointState.DELETED, wait_s, "stop")

    def get_endpoint(self, name: str) -> Endpoint:
        """The endpoint called `name` (deleted ones are not found)."""
        with self.store.read() as session:
            row = q.find_endpoint(session, name)
            if row is None or row.state == EndpointState.DELETED:
                raise NotFoundError(f"no endpoint named {name!r}")
            return _entity(row)

    def list_endpoints(self) -> list[Endpoint]:
        """Every endpoint that is not deleted, by name."""
        with self.store.read() as session:
            return [_entity(r) for r in q.endpoints(session)]

    # --- credentials -----------------------------------------------------------------------

    def endpoint_keys(self, name: str) -> EndpointKeys:
        """The primary and secondary keys of a key-auth endpoint (owner only)."""
        with self.store.read() as session:
            row = self._live_row(session, name)
            if row.auth_mode != "key":
                raise ConflictError(f"endpoint {name!r} uses {row.auth_mode} auth, not keys")
            secrets = self.secrets
            keys = {s: secrets.endpoint_key(row.id, s, row.key_generations[s]) for s in SLOTS}
        return EndpointKeys(name=name, primary_key=keys["primary"], secondary_key=keys["secondary"])

    def regenerate_endpoint_key(self, name: str, slot: str) -> EndpointKeys:
        """Replace one key; the old one stops working as soon as the endpoint sees the change."""
        if slot not in SLOTS:
            raise InvalidInputError(f"key must be primary or secondary, not {slot!r}")
        with self.store.write() as session:
            row = self._live_row(session, name)
            if row.auth_mode != "key":
                raise ConflictError(f"endpoint {name!r} uses {row.auth_mode} auth, not keys")
            row.key_generations = {**row.key_generations, slot: row.key_generations[slot] + 1}
            row.key_hashes = self._key_hashes(row)
            row.updated_at = self.now()
            self._write_config(row)
        return self.endpoint_keys(name)

    def endpoint_token(self, name: str, *, ttl_s: int = 3600, subject: str = "owner") -> str:
        """A signed token for token-auth endpoint `name` only, valid for `ttl_s` seconds."""
        endpoint = self.get_endpoint(name)
        if endpoint.auth_mode != "token":
            raise ConflictError(f"endpoint {name!r} uses {endpoint.auth_mode} auth, not tokens")
        if not 1 <= ttl_s <= MAX_TOKEN_TTL_S:
            raise InvalidInputError("a token lives between 1 second and 24 hours")
        return issue_token(
            self.secrets.token_private_key,
            subject,
            role="scorer",
            audience=endpoint_audience(endpoint.id),
            ttl_s=ttl_s,
        )

    # --- calling it ---------------------------------------------------------------------------

    def invoke_endpoint(
        self, name: str, records: list[dict[str, Any]], *, method: str = "predict"
    ) -> dict[str, Any]:
        """Score `records` at the endpoint as a client would, with the owner's credentials."""
        endpoint = self.get_endpoint(name)
        body = json.dumps({"data": records, "method": method}, default=str).encode()
        request = urllib.request.Request(
            endpoint.scoring_uri,
            data=body,
            headers={"Content-Type": "application/json", **self.endpoint_auth_header(name)},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answer: dict[str, Any] = json.loads(response.read())
                return answer
        except urllib.error.HTTPError as exc:
            body = exc.read()
            message = f"endpoint {name!r} answered {exc.code}: {body.decode(errors='replace')}"
            raise answer_error(exc.code, message, body) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ConflictError(
                f"endpoint {name!r} does not answer at {endpoint.scoring_uri}: {exc}"
            ) from None

    def endpoint_auth_header(self, name: str) -> dict[str, str]:
        """The `Authorization` header the owner calls the endpoint with (empty if open)."""
        endpoint = self.get_endpoint(name)
        if endpoint.auth_mode == "key":
            return {"Authorization": f"Bearer {self.endpoint_keys(name).primary_key}"}
        if endpoint.auth_mode == "token":
            return {"Authorization": f"Bearer {self.endpoint_token(name)}"}
        return {}

    def endpoint_bench_target(
        self, name: str, *, rows: int = 1, proba: bool = False
    ) -> BenchTarget:
        """The request a benchmark repeats: the model's example row `rows` times, as the owner."""
        ws: WorkspaceAPI = self  # type: ignore[assignment]
        return bench_target(ws, name, rows=rows, proba=proba)

    def bench_endpoint(
        self, name: str, load: BenchLoad, *, rows: int = 1, proba: bool = False
    ) -> BenchResult:
        """Send the example request as `load` says; Apache Benchmark's figures of the run."""
        return run_bench(self.endpoint_bench_target(name, rows=rows, proba=proba), load)

    # --- what the supervisor reads and reports ---------------------------------------------

    def endpoint_dir(self, name: str) -> Path:
        return self.artifacts.path(f"endpoints/{name}")

    def endpoint_config_path(self, name: str) -> Path:
        return self.endpoint_dir(name) / "config.json"

    def endpoint_log_path(self, name: str) -> Path:
        return self.endpoint_dir(name) / "service.log"

    def endpoint_logs(self, name: str, *, tail: int = 100) -> list[str]:
        """The last `tail` lines of the service's own log (start-up, errors, restarts)."""
        self.get_endpoint(name)
        path = self.endpoint_log_path(name)
        if not path.exists():
            return []
        lines = path.read_text(errors="replace").splitlines()
        return lines[-tail:] if tail > 0 else lines

    def endpoint_telemetry(
        self, name: str, *, since: str = "1h", bucket_s: int | None = None
    ) -> TelemetrySummary:
        """Requests, error rate and p50/p95/p99 latency per time bucket, from the request log."""
        self.get_endpoint(name)
        start = datetime.now(UTC) - parse_duration(since)
        return summarize(self.endpoint_dir(name) / "requests", since=start, bucket_s=bucket_s)

    def endpoint_rows(self) -> list[EndpointRow]:
        """Every endpoint row the supervisor must look after (deleting ones included)."""
        with self.store.read() as session:
            return q.endpoints(session)

    def report_endpoint(self, name: str, **changes: Any) -> None:
        """The supervisor records what it saw (state, pids, restarts, failure reason)."""
        with self.store.write() as session:
            row = q.find_endpoint(session, name)
            if row is None:
                return
            for key, value in changes.items():
                setattr(row, key, value)
            if changes.get("state") == EndpointState.HEALTHY.value and row.healthy_at is None:
                row.healthy_at = self.now()
            row.updated_at = self.now()

    # --- helpers -----------------------------------------------------------------------------

    def _key_hashes(self, row: EndpointRow) -> dict[str, str]:
        secrets = self.secrets
        return {
            slot: hash_secret(secrets.endpoint_key(row.id, slot, row.key_generations[slot]))
            for slot in SLOTS
        }

    def rewrite_endpoint_configs(self) -> int:
        """Write every live endpoint's config again (it carries the token revocations); how
        many were written. One that cannot be written is logged and skipped."""
        written = 0
        for row in self.endpoint_rows():
            if row.state == EndpointState.DELETED or row.desired == "deleted":
                continue
            try:
                self._write_config(row)
                written += 1
            except (ShipyardError, OSError) as exc:
                log.warning("endpoint %s: config not rewritten: %s", row.name, exc)
        return written

    def _write_config(self, row: EndpointRow) -> None:
        model_path = self.model_folder(row.model_name, row.model_version)  # type: ignore[attr-defined]
        share_model_with_runner(model_path)  # before the config names it: a running process swaps
        folder = self.endpoint_dir(row.name)
        folder.mkdir(parents=True, exist_ok=True)
        config = EndpointConfig(
            name=row.name,
            model=f"{row.model_name}:{row.model_version}",
            model_path=str(model_path),
            auth_mode=row.auth_mode,
            key_hashes=tuple(row.key_hashes[s] for s in SLOTS) if row.auth_mode == "key" else (),
            token_public_key=self.secrets.token_public_key if row.auth_mode == "token" else None,
            model_public_key=self.secrets.token_public_key,
            token_audiences=(endpoint_audience(row.id),),
            revoked=self.token_revocations() if row.auth_mode == "token" else {},
            logging=row.logging,
            log_dir=str((folder / "requests").resolve()),
            sample_rate=row.sample_rate,
        )
        config.write(folder / "config.json")

    def _live_row(self, session: Any, name: str) -> EndpointRow:
        row = q.find_endpoint(session, name)
        if row is None or row.state == EndpointState.DELETED or row.desired == "deleted":
            raise NotFoundError(f"no endpoint named {name!r}")
        return row

    def _serves(self, endpoint: Endpoint, model: str) -> bool:
        if endpoint.state is EndpointState.FAILED:
            return True
        return served_model(endpoint.host, endpoint.port) == model

    def _wait(
        self, name: str, done: Callable[[Endpoint], bool], wait_s: float, what: str
    ) -> Endpoint:
        deadline = time.monotonic() + wait_s
        while True:
            with self.store.read() as session:
                row = q.find_endpoint(session, name)
                if row is None:
                    raise NotFoundError(f"no endpoint named {name!r}")
                endpoint = _entity(row)
            if done(endpoint):
                if endpoint.state is EndpointState.FAILED:
                    raise ConflictError(
                        f"endpoint {name!r} failed: {endpoint.failure_reason or 'see its logs'} "
                        f"(shipyard endpoint logs {name})"
                    )
                return endpoint
            if time.monotonic() > deadline:
                raise ConflictError(
                    f"endpoint {name!r} did not {what} within {wait_s:.0f} s "
                    f"(state {endpoint.state.value}; shipyard endpoint logs {name})"
                )
            time.sleep(0.1)


def bench_target(ws: WorkspaceAPI, name: str, *, rows: int = 1, proba: bool = False) -> BenchTarget:
    """The example-row request of endpoint `name`, with the caller's credentials.

    A function of the workspace API, so the remote workspace builds the same request.
    """
    from shipyard.serving.payloads import MAX_ROWS  # NumPy: not for every workspace opened

    if not 1 <= rows <= MAX_ROWS:
        raise InvalidInputError(f"rows must be between 1 and {MAX_ROWS}")
    endpoint = ws.get_endpoint(name)
    example = ws.get_model(endpoint.model).descriptor.get("example")
    if not isinstance(example, dict) or not example:
        raise InvalidInputError(f"model {endpoint.model} has no example row to send")
    document: dict[str, Any] = {"data": [example] * rows}
    if proba:
        document["method"] = "predict_proba"
    body = json.dumps(document, default=str).encode()
    return BenchTarget(endpoint.scoring_uri, body, ws.endpoint_auth_header(name))


def _check_settings(auth_mode: str, workers: int, sample_rate: float) -> None:
    if auth_mode not in AUTH_MODES:
        raise InvalidInputError(f"auth must be one of {', '.join(AUTH_MODES)}, not {auth_mode!r}")
    if not 1 <= workers <= MAX_WORKERS:
        raise InvalidInputError(f"workers must be between 1 and {MAX_WORKERS}")
    if not 0.0 <= sample_rate <= 1.0:
        raise InvalidInputError("the payload sample rate must be between 0 and 1")


def _check_address(host: str, port: int | None, allowed: frozenset[str] | None) -> None:
    """A host that is an IPv4 address or a host name, allowed here; a port in range."""
    try:
        address: ipaddress.IPv4Address | None = ipaddress.IPv4Address(host)
    except ValueError:
        address = None
        # IPv6 literals too: endpoint addresses are built as http://HOST:PORT. A name
        # ending in digits would be a malformed IPv4 address (RFC 3696: no numeric TLD).
        numeric = host.rstrip(".").rpartition(".")[2].isdigit()
        if len(host) > 253 or numeric or not _HOSTNAME.fullmatch(host):
            raise InvalidInputError(
                f"host must be an IPv4 address or a host name, not {host[:80]!r}"
            ) from None
    loopback = address.is_loopback if address is not None else host.lower() == "localhost"
    if allowed is not None and not loopback and host not in allowed:
        raise PermissionDeniedError(
            f"endpoints here listen on loopback only; host {host!r} needs the owner's "
            f"consent: shipyard server start --endpoint-host {host}"
        )
    if port is not None and not MIN_PORT <= port <= MAX_PORT:
        raise InvalidInputError(f"port must be between {MIN_PORT} and {MAX_PORT}, not {port}")


def _claim_port(host: str, port: int | None, holders: Mapping[int, str]) -> int:
    """`port` if nobody holds it (409 naming who does), else a free one."""
    if port is None:
        return _free_port(host, holders)
    holder = holders.get(port)
    if holder is not None:
        who = holder if holder.startswith("the ") else f"endpoint {holder!r}"
        raise ConflictError(f"port {port} is taken by {who}")
    try:
        listen_socket(host, port).close()  # free right now? (the supervisor binds it soon)
    except ConflictError:
        program = port_holder(port) or "another program"
        raise ConflictError(f"port {port} on {host} is in use by {program}") from None
    return port


def _free_port(host: str, taken: Mapping[int, str]) -> int:
    for _ in range(50):
        with listen_socket(host, 0) as probe:
            port = int(probe.getsockname()[1])
        if port not in taken and port >= MIN_PORT:
            return port
    raise ConflictError("no free port found")  # pragma: no cover


def _entity(row: EndpointRow) -> Endpoint:
    base = f"http://{row.host}:{row.port}"
    return Endpoint(
        id=row.id,
        name=row.name,
        state=EndpointState(row.state),
        model=f"{row.model_name}:{row.model_version}",
        scoring_uri=f"{base}/score",
        swagger_uri=f"{base}/swagger.json",
        health_uri=f"{base}/health",
        host=row.host,
        port=row.port,
        workers=row.workers,
        auth_mode=row.auth_mode,
        logging=row.logging,
        sample_rate=row.sample_rate,
        restarts=row.restarts,
        failure_reason=row.failure_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        healthy_at=row.healthy_at,
    )
