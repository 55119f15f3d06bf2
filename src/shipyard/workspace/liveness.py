"""Noticing runs whose process died: an owner stamp, a heartbeat, and a check on access.

Each process that runs something stamps its runs with an owner (`host:pid:start`) and,
while any of them is running, a background thread refreshes their heartbeat. Whoever reads
runs next checks the owners of running runs: a process on this host that is gone (or whose
pid now belongs to another program, told apart by its start time) fails its runs at once;
anything whose heartbeat is older than the timeout fails with that reason. A run started
over REST belongs to its client (`remote:<principal>:<session>`), which beats for it
through the server; only the heartbeat's age tells whether it is still there.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from shipyard.core.heartbeat import HEARTBEAT_INTERVAL_S as HEARTBEAT_INTERVAL_S
from shipyard.core.heartbeat import Heartbeat as Heartbeat

HEARTBEAT_TIMEOUT_S = 60.0
PARENT_PID_ENV = "SHIPYARD_PARENT_PID"


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


def when_parent_exits(callback: Callable[[], None], interval_s: float = 1.0) -> None:
    """Call `callback` (once, from a daemon thread) when this process's parent is gone.

    A server's child processes (job workers, further API processes) run this, so that a
    server killed outright (SIGKILL, no chance to stop them) takes them along instead of
    leaving them behind, still holding its port and its jobs. The parent is the pid in
    `$SHIPYARD_PARENT_PID` if the parent set it (a parent killed while the child was
    still starting is noticed too), else the current parent.
    """
    named = os.environ.get(PARENT_PID_ENV, "")
    parent = int(named) if named.isdigit() else os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        callback()

    threading.Thread(target=watch, name="shipyard-parent-watch", daemon=True).start()
