"""The endpoint supervisor: keeps every endpoint's processes running, healthy and current.

One supervisor per workspace (an exclusive lock on `supervisor.lock` in the workspace
folder). It is started on demand by `deploy_endpoint` as a background process and exits
once no endpoint is left; the control-plane server runs it in-process instead. Each round
it compares each endpoint row with the processes it runs: starts missing processes
(restarting crashed ones with exponential backoff, marking the endpoint failed after
repeated crashes), health-checks them, stops surplus or deleted ones, and writes the
state it sees back into the row. Endpoint processes outlive a supervisor that dies; the
next one adopts them by pid.

Sockets: the supervisor binds each endpoint's listening socket once (no SO_REUSEPORT, so
no other process can join the port) and every process of the endpoint inherits it; the
supervisor keeps it open while the endpoint lives, so a crashed process is replaced on
the same socket, and closes it when the endpoint is deleted or failed, freeing the port.
A new supervisor cannot take over the socket of processes it adopted (they hold the
port, and nobody can bind it again while they live): it leaves them serving, and when one
of them exits or more workers are wanted it stops the adopted ones, binds the port afresh
and starts the whole set, a short gap in that one endpoint's service.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from shipyard.core.errors import ShipyardError
from shipyard.core.schemas import EndpointState
from shipyard.core.settings import DB_URL_ENV
from shipyard.serving.sockets import listen_socket
from shipyard.store.tables import EndpointRow
from shipyard.workspace._health import health
from shipyard.workspace._privileges import (
    Runner,
    RunnerError,
    child_env,
    endpoint_runner,
    give_endpoint,
    open_private,
)
from shipyard.workspace.liveness import process_alive

if TYPE_CHECKING:
    from shipyard.workspace.local import LocalWorkspace

LOCK_FILE = "supervisor.lock"
LOG_FILE = "supervisor.log"
ROUND_S = 0.5
MAX_CRASHES = 5  # consecutive crashes without becoming healthy: the endpoint has failed
MAX_BACKOFF_S = 30.0
STOP_GRACE_S = 10.0
IDLE_EXIT_S = 30.0
log = logging.getLogger("shipyard.supervisor")


@dataclass
class _Endpoint:
    """What the supervisor knows of one endpoint's processes."""

    pids: list[int] = field(default_factory=list)
    crashes: int = 0
    restarts: int = 0
    next_start: float = 0.0
    healthy: bool = False
    last_error: str | None = None
    sock: socket.socket | None = None  # the listening socket, once this supervisor bound it


class Supervisor:
    """Runs the endpoints of one workspace."""

    def __init__(self, ws: LocalWorkspace) -> None:
        self.ws = ws
        self.endpoints: dict[str, _Endpoint] = {}
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._run_as: list[Runner | None] = []  # who endpoint processes run as, found once
        self._shared: dict[str, int] = {}  # endpoint -> config mtime last given to the runner

    def run(
        self, stop: threading.Event | None = None, *, idle_exit_s: float | None = IDLE_EXIT_S
    ) -> None:
        """Supervise until `stop` is set or, with `idle_exit_s`, nothing was left that long."""
        stop = stop or threading.Event()
        idle_since: float | None = None
        try:
            while not stop.is_set():
                active = self.step()
                now = time.monotonic()
                idle_since = None if active else (idle_since or now)
                if (
                    idle_exit_s is not None
                    and idle_since is not None
                    and now - idle_since > idle_exit_s
                ):
                    log.info("no endpoint left to supervise: exiting")
                    return
                stop.wait(ROUND_S)
        finally:  # the processes keep their copies; the next supervisor adopts them
            for known in self.endpoints.values():
                _close(known)

    def step(self) -> int:
        """One round over every endpoint; returns how many are still to be served."""
        self._reap()
        active = 0
        for row in self.ws.endpoint_rows():
            try:
                if row.desired == "deleted":
                    self._delete(row)
                else:
                    active += 1
                    self._serve(row)
            except Exception:  # one broken endpoint must not stop the others
                log.exception("supervising endpoint %s", row.name)
        return active

    # --- one endpoint --------------------------------------------------------------------

    def _serve(self, row: EndpointRow) -> None:
        self._keep_shared(row)
        known = self.endpoints.setdefault(row.name, self._adopt(row))
        alive = [pid for pid in known.pids if self._alive(pid)]
        if len(alive) < len(known.pids):
            known.crashes += 1
            known.healthy = False
            known.next_start = time.monotonic() + min(MAX_BACKOFF_S, 0.5 * 2**known.crashes)
            known.last_error = _tail(self.ws.endpoint_log_path(row.name))
            self._event(
                row.name,
                f"process exited; restart {known.crashes} in "
                f"{known.next_start - time.monotonic():.1f} s",
            )
        known.pids = alive
        if known.crashes >= MAX_CRASHES and not known.healthy:
            if row.state != EndpointState.FAILED:
                self._stop(row.name, known.pids)
                known.pids = []
                _close(known)  # a failed endpoint frees its port
                reason = f"crashed {known.crashes} times in a row; last output: {known.last_error}"
                self.ws.report_endpoint(
                    row.name, state=EndpointState.FAILED.value, pids={}, failure_reason=reason
                )
            return
        if (
            len(known.pids) < row.workers
            and time.monotonic() >= known.next_start
            and (sock := self._listening(row, known)) is not None
        ):
            if known.pids or known.crashes:
                known.restarts += 1
            known.pids += [self._start(row, sock) for _ in range(row.workers - len(known.pids))]
        elif len(known.pids) > row.workers:
            surplus = known.pids[row.workers :]
            known.pids = known.pids[: row.workers]
            self._stop(row.name, surplus)
        answer = health(row.host, row.port, timeout_s=1.0) if known.pids else None
        state = self._state(row, known, answer is not None)
        changes: dict[str, object] = {"pids": {"pids": known.pids}, "restarts": known.restarts}
        if state.value != row.state:
            changes["state"] = state.value
            self._event(row.name, f"state {row.state} -> {state.value}")
        if state is EndpointState.HEALTHY:
            changes["failure_reason"] = None
        if (
            changes.get("state")
            or row.pids.get("pids") != known.pids
            or row.restarts != known.restarts
        ):
            self.ws.report_endpoint(row.name, **changes)

    def _state(self, row: EndpointRow, known: _Endpoint, answers: bool) -> EndpointState:
        if answers:
            known.healthy = True
            known.crashes = 0
            return EndpointState.HEALTHY
        if row.state == EndpointState.CREATING and (known.pids or known.crashes == 0):
            return EndpointState.CREATING
        return EndpointState.UNHEALTHY

    def _delete(self, row: EndpointRow) -> None:
        known = self.endpoints.pop(row.name, None) or self._adopt(row)
        self._stop(row.name, known.pids)
        _close(known)
        self.ws.report_endpoint(row.name, state=EndpointState.DELETED.value, pids={})
        self._event(row.name, "deleted: processes stopped, port freed")

    def _listening(self, row: EndpointRow, known: _Endpoint) -> socket.socket | None:
        """The endpoint's listening socket, bound now if this supervisor has none yet; None
        (counted as a crash, so retried with backoff) if the port cannot be bound."""
        if known.sock is not None:
            return known.sock
        if known.pids:  # adopted processes hold the port: replace them (module docstring)
            self._event(row.name, "replacing adopted processes to bind the port afresh")
            self._stop(row.name, known.pids)
            known.pids = []
        try:
            known.sock = listen_socket(row.host, row.port)
        except ShipyardError as exc:
            known.crashes += 1
            known.next_start = time.monotonic() + min(MAX_BACKOFF_S, 0.5 * 2**known.crashes)
            known.last_error = str(exc)
            self._event(row.name, f"{exc}; retry {known.crashes}")
            return None
        return known.sock

    # --- processes -------------------------------------------------------------------------

    def _start(self, row: EndpointRow, sock: socket.socket) -> int:
        log_path = self.ws.endpoint_log_path(row.name)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        runner = self._runner(row)
        with open_private(log_path) as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "shipyard.workspace.endpoint_process",
                    "--config",
                    str(self.ws.endpoint_config_path(row.name)),
                    "--fd",
                    str(sock.fileno()),
                ],
                pass_fds=(sock.fileno(),),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # survives the supervisor
                env=child_env(runner),
                **(runner.popen_options() if runner is not None else {}),
            )
        self._children[process.pid] = process
        self._event(row.name, f"started process {process.pid} on {row.host}:{row.port}")
        return process.pid

    def _stop(self, name: str, pids: list[int]) -> None:
        for pid in pids:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while any(self._alive(p) for p in pids) and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.05)
        for pid in pids:
            if self._alive(pid):
                _signal(pid, signal.SIGKILL)
                process = self._children.get(pid)
                if process is not None:
                    process.wait(timeout=STOP_GRACE_S)
        self._reap()
        if pids:
            self._event(name, f"stopped processes {pids}")

    def _alive(self, pid: int) -> bool:
        process = self._children.get(pid)
        if process is not None:
            return process.poll() is None
        return process_alive(pid)  # adopted from an earlier supervisor

    def _adopt(self, row: EndpointRow) -> _Endpoint:
        pids = [p for p in (row.pids or {}).get("pids", []) if process_alive(p)]
        return _Endpoint(pids=pids, restarts=row.restarts)

    def _reap(self) -> None:
        for pid, process in list(self._children.items()):
            if process.poll() is not None:
                del self._children[pid]

    def _event(self, name: str, message: str) -> None:
        log.info("%s: %s", name, message)
        path = self.ws.endpoint_log_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        with open_private(path, "a") as out:
            out.write(f"{stamp} INFO shipyard.supervisor {message}\n")

    def _runner(self, row: EndpointRow) -> Runner | None:
        """Who the endpoint's processes run as (see `_privileges`), its folder made ready;
        an endpoint whose processes could not start that way fails at once, saying why."""
        try:
            if not self._run_as:
                self._run_as.append(endpoint_runner(self.ws.folder))
            runner = self._run_as[0]
            if runner is not None:
                give_endpoint(runner, self.ws.endpoint_config_path(row.name))
        except (RunnerError, OSError) as exc:
            known = self.endpoints.setdefault(row.name, _Endpoint())
            known.crashes, known.healthy, known.last_error = MAX_CRASHES, False, str(exc)
            _close(known)  # a failed endpoint frees its port
            self._event(row.name, f"cannot start: {exc}")
            self.ws.report_endpoint(
                row.name, state=EndpointState.FAILED.value, pids={}, failure_reason=str(exc)
            )
            raise
        return runner

    def _keep_shared(self, row: EndpointRow) -> None:
        """A config the workspace rewrote (another model version) is given to the runner
        again, so a running endpoint can read the model it is told to swap to."""
        runner = self._run_as[0] if self._run_as else None
        config = self.ws.endpoint_config_path(row.name)
        try:
            stamp = config.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if runner is None or self._shared.get(row.name) == stamp:
            return
        self._shared[row.name] = stamp
        try:
            give_endpoint(runner, config)
        except (RunnerError, OSError) as exc:
            self._event(row.name, f"its processes cannot read their new settings: {exc}")


def _close(known: _Endpoint) -> None:
    if known.sock is not None:
        known.sock.close()
        known.sock = None


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


# --- the supervisor process and starting it on demand ---------------------------------------


def try_lock(folder: Path) -> IO[str] | None:
    """The supervisor lock of a workspace if it is free (held until the handle closes)."""
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)  # not for the runner
    handle = open(fd, "a+")  # noqa: SIM115 - held for the process lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def ensure_running(folder: Path, db_url: str, artifacts: Path) -> None:
    """Start a background supervisor for the workspace unless one holds the lock."""
    probe = try_lock(folder)
    if probe is None:
        return
    probe.close()
    env = {**os.environ, DB_URL_ENV: db_url}
    argv = [
        sys.executable,
        "-m",
        "shipyard.workspace.supervisor",
        "--workspace",
        str(folder),
        "--artifacts",
        str(artifacts),
    ]
    with open_private(folder / LOG_FILE) as out:
        # Through a short-lived middle process, so the supervisor is nobody's child: it
        # outlives this command and leaves no zombie or unwaited process behind.
        subprocess.run(
            [sys.executable, "-c", _DETACH, *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            check=True,
            timeout=30,
        )


_DETACH = (
    "import subprocess, sys; "
    "subprocess.Popen(sys.argv[1:], start_new_session=True, stdin=subprocess.DEVNULL)"
)


def main(argv: list[str] | None = None) -> int:
    from shipyard.workspace.local import LocalWorkspace

    parser = argparse.ArgumentParser(description="Supervise the endpoints of a workspace.")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--artifacts")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    folder = Path(args.workspace)
    lock = try_lock(folder)
    if lock is None:
        log.info("another supervisor runs this workspace: exiting")
        return 0
    ws = LocalWorkspace.open(folder, db_url=os.environ.get(DB_URL_ENV), artifacts=args.artifacts)
    log.info("supervising endpoints of %s (pid %d)", folder, os.getpid())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        idle_s = float(os.environ.get("SHIPYARD_SUPERVISOR_IDLE_S", IDLE_EXIT_S))
        Supervisor(ws).run(stop, idle_exit_s=idle_s)
    finally:
        ws.close()
        lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
