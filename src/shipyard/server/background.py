"""What the server runs besides answering requests: the endpoint supervisor, job workers
and the other API processes.

The supervisor runs in a thread while the server holds the workspace's supervisor lock;
if another supervisor holds it (started by an earlier command), the thread waits and
takes over when it exits. Job workers and further API processes are child processes,
restarted if they die and stopped with the server. Endpoint processes outlive the server:
the next supervisor adopts them.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from typing import IO

from shipyard.server.settings import ServerSettings
from shipyard.workspace import LocalWorkspace
from shipyard.workspace.supervisor import Supervisor, try_lock

LOCK_RETRY_S = 2.0
WORKER_CHECK_S = 2.0
STOP_TIMEOUT_S = 30.0
log = logging.getLogger("shipyard.server")


class SupervisorThread:
    """The workspace's endpoint supervisor, in a thread of the server."""

    def __init__(self, ws: LocalWorkspace) -> None:
        self.ws = ws
        self.stop_event = threading.Event()
        self.holds_lock = threading.Event()
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self._thread.join(STOP_TIMEOUT_S)

    def _run(self) -> None:
        lock = self._acquire()
        if lock is None:
            return
        try:
            self.holds_lock.set()
            log.info("supervising the endpoints of %s", self.ws.folder)
            Supervisor(self.ws).run(self.stop_event, idle_exit_s=None)
        except Exception:
            log.exception("the endpoint supervisor stopped")
        finally:
            self.holds_lock.clear()
            lock.close()

    def _acquire(self) -> IO[str] | None:
        waiting = False
        while not self.stop_event.is_set():
            lock = try_lock(self.ws.folder)
            if lock is not None:
                return lock
            if not waiting:
                log.warning("another supervisor runs this workspace; taking over when it exits")
                waiting = True
            self.stop_event.wait(LOCK_RETRY_S)
        return None


def worker_command(settings: ServerSettings) -> list[str]:
    """The command line of one job worker for the server's workspace."""
    return [sys.executable, "-m", "shipyard.workspace.worker", *settings.child_argv()]


def api_command(settings: ServerSettings) -> list[str]:
    """The command line of one more API process, on the listening socket it inherits."""
    address = ["--host", settings.host, "--port", str(settings.port)]
    address += ["--fd", str(settings.listen_fd)]
    address += [arg for host in settings.endpoint_hosts for arg in ("--endpoint-host", host)]
    return [sys.executable, "-m", "shipyard.server.serve", *address, *settings.child_argv()]


class ChildProcesses:
    """`count` child processes running `command`, restarted when one dies, stopped with the
    server. The database URL reaches them through `env`, never the command line."""

    def __init__(
        self,
        what: str,
        command: list[str],
        count: int,
        env: dict[str, str] | None = None,
        pass_fds: tuple[int, ...] = (),
    ) -> None:
        self.what = what
        self.command = command
        self.count = count
        self.env = env
        self.pass_fds = pass_fds
        self.processes: list[subprocess.Popen[bytes]] = []
        self.restarts = 0
        self.stop_event = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=what, daemon=True)

    def start(self) -> None:
        if self.count < 1:
            return
        self.processes = [self._spawn() for _ in range(self.count)]
        self._thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_S)
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT_S)

    def _spawn(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            self.command, stdin=subprocess.DEVNULL, env=self.env, pass_fds=self.pass_fds
        )
        log.info("started %s %d", self.what, process.pid)
        return process

    def _watch(self) -> None:
        while not self.stop_event.wait(WORKER_CHECK_S):
            for i, process in enumerate(self.processes):
                if process.poll() is not None and not self.stop_event.is_set():
                    log.warning(
                        "%s %d exited with %s; restarting",
                        self.what,
                        process.pid,
                        process.returncode,
                    )
                    self.processes[i] = self._spawn()
                    self.restarts += 1  # counted once the new process is in place


class Background:
    """Everything the server runs in the background, started and stopped together."""

    def __init__(self, ws: LocalWorkspace, settings: ServerSettings) -> None:
        self.supervisor = SupervisorThread(ws) if settings.supervise else None
        env = settings.child_env()
        self.workers = ChildProcesses("job worker", worker_command(settings), settings.workers, env)
        extra_api = settings.api_processes - 1
        if extra_api and settings.listen_fd is None:
            raise RuntimeError("further API processes need the listening socket (serve())")
        fds = (settings.listen_fd,) if extra_api and settings.listen_fd is not None else ()
        self.api = ChildProcesses("API process", api_command(settings), extra_api, env, fds)

    def start(self) -> None:
        if self.supervisor is not None:
            self.supervisor.start()
        self.workers.start()
        self.api.start()

    def stop(self) -> None:
        self.api.stop()
        self.workers.stop()
        if self.supervisor is not None:
            self.supervisor.stop()
