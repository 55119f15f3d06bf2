"""Ports and slow clients (issue 10, findings 2 and 7), against real processes on 127.0.0.1.

Each attack first, then the refusal: an endpoint deployed onto another's port, a process
joining an endpoint's or the server's port with SO_REUSEPORT, impossible ports and hosts,
a wildcard host from a contributor, clients that never finish their headers or body, and
300 stalled clients against a server started with a 256-descriptor limit.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.core.errors import ConflictError, InvalidInputError, PermissionDeniedError
from shipyard.workspace import LocalWorkspace
from tests.fixtures.automl import fast_settings, make_frame
from tests.fixtures.servers import Server, credentials, free_port, wait_until

# Servers and endpoints start in most tests: ~60 s each on a busy 2-core machine.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240)]
pytest_plugins = ["tests.fixtures.endpoints"]
SHORT_TIMEOUT_S = 2.0
SYS_PIDFD_GETFD = 438  # the same number on every Linux architecture (asm-generic)


# --- helpers ---------------------------------------------------------------------------------


def join_with_reuseport(port: int) -> OSError | None:
    """Try to listen on 127.0.0.1:`port` as an intruder would (SO_REUSEPORT); the error."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen()
    except OSError as exc:
        return exc
    finally:
        sock.close()
    return None


def stall(
    port: int, count: int, data: bytes = b"GET / HTTP/1.1\r\nHost: x\r\n"
) -> list[socket.socket]:
    """`count` connections that send `data` (unfinished headers) and then nothing."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(data)
        sockets.append(sock)
    return sockets


def answer_of(sock: socket.socket, timeout_s: float = 20.0) -> tuple[bytes, float]:
    """Everything `sock` receives until the server closes it, and how long that took."""
    start = time.monotonic()
    sock.settimeout(timeout_s)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return received, time.monotonic() - start


def soft_and_hard_nofile(pid: int) -> tuple[int, int]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no descriptor limit in /proc")


def nodelay_of(pid: int, peer: tuple[str, int]) -> int | None:
    """TCP_NODELAY of the connection process `pid` accepted from `peer` (pidfd_getfd)."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if not os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                    continue
            except OSError:
                continue
            copy = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(fd), 0)
            if copy < 0:
                continue
            with socket.socket(fileno=copy) as sock:
                try:
                    if sock.getpeername() == peer:
                        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                except OSError:
                    continue
    finally:
        os.close(pidfd)
    return None


def seed(folder: Path) -> Path:
    """A workspace with model `toy-model:1` (a linear AutoML run on a toy frame)."""
    with LocalWorkspace.open(folder) as ws:
        ws.register_dataset("toy", make_frame("binary", seed=0))
        run = ws.automl("toy", fast_settings(allowed_learners=("linear",), seed=0))
        ws.register_model("toy-model", run.id)
    return folder


class StartedServer(Server):
    """`shipyard server start` with extra environment and, optionally, a descriptor limit."""

    def __init__(
        self, folder: Path, log: Path, *options: str, env: dict[str, str], nofile: int | None
    ) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        argv = [sys.executable, "-m", "shipyard.cli.main", "server", "start"]
        argv += ["--port", str(self.port), "--workspace", str(folder), *options]
        if nofile is not None:
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            argv = ["prlimit", f"--nofile={nofile}:{hard}", *argv]
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **env},
            )
        self.http = httpx.Client(base_url=self.url, timeout=120)
        self._wait_ready()


def contributor(server: Server) -> dict[str, str]:
    owner = server.login(**credentials(server.folder))
    body = {"name": f"contrib-{time.monotonic_ns()}", "role": "contributor"}
    created = server.http.post("/api/v1/principals", headers=owner, json=body)
    assert created.status_code == 201, created.text
    return server.login(created.json()["client_id"], created.json()["client_secret"])


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartedServer]:
    """Two API processes; headers and bodies time out after 2 s (loopback endpoints only)."""
    root = tmp_path_factory.mktemp("short")
    timeouts = {"SHIPYARD_HEADER_TIMEOUT_S": "2", "SHIPYARD_BODY_TIMEOUT_S": "2"}
    server = StartedServer(
        seed(root / "ws"), root / "server.log", "--api-processes", "2", env=timeouts, nofile=None
    )
    try:
        yield server
    finally:
        server.delete_endpoints()
        assert server.stop(), server.output()


# --- endpoints in this workspace (supervisor in this process) --------------------------------


def test_an_endpoint_on_a_taken_port_is_refused_at_once_and_nobody_joins_its_port(
    served_workspace,
):
    ws: LocalWorkspace = served_workspace
    victim = ws.deploy_endpoint("victim", "toy-model:1", workers=2)
    started = time.monotonic()
    with pytest.raises(ConflictError, match=f"port {victim.port} is taken by endpoint 'victim'"):
        ws.deploy_endpoint("intruder", "toy-model:1", auth_mode="none", port=victim.port)
    assert time.monotonic() - started < 5
    joined = join_with_reuseport(victim.port)
    assert joined is not None
    assert joined.errno == errno.EADDRINUSE
    with socket.create_server(("127.0.0.1", 0)) as other:  # a port another program holds
        taken = other.getsockname()[1]
        with pytest.raises(ConflictError, match=f"port {taken} on 127.0.0.1 is in use by process"):
            ws.deploy_endpoint("intruder", "toy-model:1", auth_mode="none", port=taken)

    pids = next(r.pids["pids"] for r in ws.endpoint_rows() if r.name == "victim")
    os.kill(pids[0], signal.SIGKILL)  # a crashed process comes back on the same socket

    def replaced() -> bool:
        row = next(r for r in ws.endpoint_rows() if r.name == "victim")
        return (
            row.state == "healthy"
            and len(row.pids["pids"]) == 2
            and pids[0] not in row.pids["pids"]
        )

    wait_until(replaced, 60, "the crashed process replaced")
    assert join_with_reuseport(victim.port) is not None
    ws.delete_endpoint("victim")
    assert join_with_reuseport(victim.port) is None  # deleted: the port is free again
    assert [e.name for e in ws.list_endpoints()] == []


def test_impossible_ports_and_hosts_are_refused_before_anything_starts(served_workspace):
    ws: LocalWorkspace = served_workspace
    for port in (70000, 80, 0, -1):
        with pytest.raises(InvalidInputError, match=f"between 1024 and 65535, not {port}"):
            ws.deploy_endpoint("bad", "toy-model:1", port=port)
    for host in ("not a host!", "", "a" * 300, "-lead.example", "1.2.3.4.5", "999.1.1.1", "::1"):
        with pytest.raises(InvalidInputError, match="host must be an IPv4 address or a host"):
            ws.deploy_endpoint("bad", "toy-model:1", host=host)
    ws.endpoint_hosts = frozenset()  # as a server without --endpoint-host sets it
    try:
        with pytest.raises(PermissionDeniedError, match=r"--endpoint-host 0\.0\.0\.0"):
            ws.deploy_endpoint("bad", "toy-model:1", host="0.0.0.0")
    finally:
        del ws.endpoint_hosts
    assert [e.name for e in ws.list_endpoints()] == []


def test_connections_accepted_by_an_endpoint_process_have_tcp_nodelay(served_workspace):
    ws: LocalWorkspace = served_workspace
    endpoint = ws.deploy_endpoint("quick", "toy-model:1", workers=2)
    try:
        pids = next(r.pids["pids"] for r in ws.endpoint_rows() if r.name == "quick")
        with socket.create_connection(("127.0.0.1", endpoint.port), timeout=10) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            found = [nodelay_of(pid, sock.getsockname()) for pid in pids]
        assert [flag for flag in found if flag is not None] == [1], found
    finally:
        ws.delete_endpoint("quick")


# --- the server: two API processes, 2 s timeouts ----------------------------------------------


def test_rest_refuses_taken_ports_impossible_ports_and_hosts(short):
    http, as_contributor = short.http, contributor(short)

    def deploy(**fields: object) -> httpx.Response:
        body = {"name": "ep", "model": "toy-model:1", "auth_mode": "none", **fields}
        return http.post("/api/v1/endpoints", headers=as_contributor, json=body)

    too_high = deploy(port=70000)
    assert too_high.status_code == 422
    assert "not 70000" in too_high.text
    bad_host = deploy(host="not a host!")
    assert bad_host.status_code == 422
    assert "host must be" in bad_host.text
    wildcard = deploy(host="0.0.0.0")
    assert wildcard.status_code == 403
    assert "--endpoint-host 0.0.0.0" in wildcard.text
    own_port = deploy(port=short.port)
    assert own_port.status_code == 409
    assert "the Shipyard server" in own_port.text

    first = http.post(
        "/api/v1/endpoints", headers=as_contributor, json={"name": "first", "model": "toy-model:1"}
    )
    assert first.status_code == 201, f"{first.text}\n{short.output()}"
    port = first.json()["port"]
    started = time.monotonic()
    intruder = deploy(name="intruder", port=port)
    assert intruder.status_code == 409
    assert f"port {port} is taken by endpoint 'first'" in intruder.text
    assert time.monotonic() - started < 5
    joined = join_with_reuseport(port)
    assert joined is not None
    assert joined.errno == errno.EADDRINUSE


def test_nobody_joins_the_servers_port(short):
    def api_processes() -> list[str]:
        out = subprocess.run(
            ["pgrep", "-f", f"shipyard.server.serve.*--port {short.port}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        return out.split()

    wait_until(api_processes, 60, "the second API process")
    joined = join_with_reuseport(short.port)
    assert joined is not None
    assert joined.errno == errno.EADDRINUSE
    for _ in range(20):  # both processes answer on the one socket
        assert short.http.get("/api/v1/health").status_code == 200


def test_slow_headers_and_slow_bodies_get_408_within_the_timeout(short):
    endpoint_port = _endpoint_port(short)
    cases = {
        "silent": (short.port, b""),
        "slow headers": (short.port, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-A: 1"),
        "slow body": (
            short.port,
            b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\ngrant_type",
        ),
        "endpoint slow body": (
            endpoint_port,
            b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            b'Content-Type: application/json\r\n\r\n{"data": [',
        ),
    }
    sockets = {name: stall(port, 1, data)[0] for name, (port, data) in cases.items()}
    for name, sock in sockets.items():
        with sock:
            received, waited_s = answer_of(sock)
        assert received.startswith(b"HTTP/1.1 408"), (name, received)
        assert waited_s < SHORT_TIMEOUT_S + 3, (name, waited_s)


def _endpoint_port(server: Server) -> int:
    """The port of an endpoint without auth (which reads any body it is sent)."""
    owner = server.login(**credentials(server.folder))
    body = {"name": "slow", "model": "toy-model:1", "auth_mode": "none"}
    deployed = server.http.post("/api/v1/endpoints", headers=owner, json=body)
    assert deployed.status_code == 201, deployed.text
    return int(deployed.json()["port"])


# --- a server started at 256 descriptors -----------------------------------------------------


def test_a_legitimate_request_succeeds_with_300_stalled_clients_at_256_descriptors(tmp_path):
    server = StartedServer(
        seed(tmp_path / "ws"),
        tmp_path / "server.log",
        "--endpoint-host",
        "0.0.0.0",
        env={"SHIPYARD_HEADER_TIMEOUT_S": "60"},  # the stalled clients stay for the test
        nofile=256,
    )
    try:
        soft, hard = soft_and_hard_nofile(server.process.pid)
        assert soft == hard > 256
        body = {"name": "wide", "model": "toy-model:1", "auth_mode": "none", "host": "0.0.0.0"}
        deployed = server.http.post("/api/v1/endpoints", headers=contributor(server), json=body)
        assert deployed.status_code == 201, f"{deployed.text}\n{server.output()}"  # allowed here
        for port, path in ((server.port, "/api/v1/health"), (deployed.json()["port"], "/health")):
            stalled = stall(port, 300)
            try:
                started = time.monotonic()
                answer = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=10)
                assert answer.status_code == 200
                assert time.monotonic() - started < 5
            finally:
                for sock in stalled:
                    sock.close()
        server.delete_endpoints()
    finally:
        assert server.stop(), server.output()


# --- a supervisor that adopted processes it did not start -------------------------------------


def test_an_adopted_endpoint_is_bound_afresh_when_one_of_its_processes_dies(tmp_path):
    folder = seed(tmp_path / "ws")
    first = StartedServer(folder, tmp_path / "first.log", env={}, nofile=None)
    owner = first.login(**credentials(folder))
    body = {"name": "kept", "model": "toy-model", "auth_mode": "none", "workers": 2}
    deployed = first.http.post("/api/v1/endpoints", headers=owner, json=body)
    assert deployed.status_code == 201, deployed.text
    assert first.stop(), first.output()

    second = StartedServer(folder, tmp_path / "second.log", env={}, nofile=None)
    try:
        with LocalWorkspace.open(folder) as ws:
            adopted = next(r.pids["pids"] for r in ws.endpoint_rows() if r.name == "kept")
            os.kill(adopted[0], signal.SIGKILL)

            def rebound() -> bool:
                row = next(r for r in ws.endpoint_rows() if r.name == "kept")
                pids = row.pids.get("pids", [])
                return row.state == "healthy" and len(pids) == 2 and not set(pids) & set(adopted)

            wait_until(rebound, 90, "the adopted processes replaced")
        port = deployed.json()["port"]
        scored = httpx.post(f"http://127.0.0.1:{port}/score", json={"data": _rows()}, timeout=30)
        assert scored.status_code == 200, scored.text
        assert join_with_reuseport(port) is not None
    finally:
        owner = second.login(**credentials(folder))
        second.http.delete("/api/v1/endpoints/kept", headers=owner)
        assert second.stop(), second.output()


def _rows() -> list[dict[str, object]]:
    frame = make_frame("binary", seed=1, rows=2).drop(columns="y")
    rows: list[dict[str, object]] = json.loads(frame.to_json(orient="records"))
    return rows
