"""Noticing runs whose process died: an owner stamp, a heartbeat, and a check on access.

Each process that runs something stamps its runs with an owner (`host:pid:start`) and,
while any of them is running, a background thread refreshes their heartbeat. Whoever reads
runs next checks the owners of running runs: a process on this host that is gone (or whose
pid now belongs to another program, told apart by its start time) fails its runs at once;
anything whose heartbeat is older than the timeout fails with that reason.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

HEARTBEAT_INTERVAL_S = 5.0
HEARTBEAT_TIMEOUT_S = 60.0


def process_start(pid: int) -> str:
    """The kernel's start time of `pid` (clock ticks since boot), or "" if unknown."""
    fields = _stat(pid)
    return fields[19] if len(fields) > 19 else ""


def _stat(pid: int) -> list[str]:
    """The fields of `/proc/<pid>/stat` from the state on, or [] where there is none."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            # The command name (field 2) may hold spaces; the fields after ')' do not.
            return handle.read().rpartition(")")[2].split()
    except OSError:
        return []


def current_owner() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{process_start(pid)}"


def dead_reason(
    owner: str | None, heartbeat_at: datetime | None, now: datetime, timeout_s: float
) -> str | None:
    """Why the runs of `owner` cannot still be running, or None if they may be."""
    if owner:
        host, _, rest = owner.partition(":")
        pid_text, _, started = rest.partition(":")
        if host == socket.gethostname() and pid_text.isdigit():
            pid = int(pid_text)
            if not process_alive(pid) or (started and process_start(pid) != started):
                return f"the process that ran it (pid {pid} on {host}) ended without finishing it"
    if heartbeat_at is not None and now - heartbeat_at > timedelta(seconds=timeout_s):
        return (
            f"no heartbeat since {heartbeat_at:%Y-%m-%d %H:%M:%S} UTC "
            f"(more than {timeout_s:.0f} s): its process is presumed dead"
        )
    return None


def process_alive(pid: int) -> bool:
    """Whether `pid` is a live process of this host (a zombie is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    # A killed process that its parent has not reaped yet still answers signal 0, as a
    # zombie ("Z") or while being torn down ("X"); it will never write again.
    state = _stat(pid)[:1]
    return state not in (["Z"], ["X"])


class Heartbeat:
    """A daemon thread that calls `beat()` every `interval_s` while it has runs to keep alive.

    `beat()` returns how many runs it refreshed; at zero the thread ends (no writes from an
    idle process) and the next `start()` begins a new one.
    """

    def __init__(self, beat: Callable[[], int], interval_s: float = HEARTBEAT_INTERVAL_S) -> None:
        self._beat = beat
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._kicked = False  # start() was called since the last beat

    def start(self) -> None:
        with self._lock:
            self._kicked = True
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name="shipyard-heartbeat", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)

    @property
    def is_running(self) -> bool:
        return self._thread is not None

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                refreshed = self._beat()
            except Exception:  # a missed beat must not kill the run
                continue
            with self._lock:
                idle = refreshed == 0 and not self._kicked
                self._kicked = False
                if idle and self._thread is threading.current_thread():
                    self._thread = None  # a later start() begins a new thread
                    return
