"""`Heartbeat`: a thread that keeps something alive by beating every few seconds.

Used by a workspace for the runs of its process, and by the HTTP client for the runs it
started on a server (a run whose beats stop is failed by whoever reads runs next).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

HEARTBEAT_INTERVAL_S = 5.0
# The header through which an HTTP client names its session: the server stamps the runs
# the client starts with it, and the client's heartbeats keep those runs alive.
SESSION_HEADER = "X-Shipyard-Session"


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
