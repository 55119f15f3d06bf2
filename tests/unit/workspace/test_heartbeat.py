from __future__ import annotations

import time

from shipyard.workspace.liveness import Heartbeat


def _wait(condition, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


def test_the_heartbeat_beats_while_there_are_runs_and_stops_when_idle():
    counts = [2, 1, 0]
    beats: list[int] = []

    def beat() -> int:
        value = counts.pop(0) if counts else 0
        beats.append(value)
        return value

    heartbeat = Heartbeat(beat, interval_s=0.01)
    heartbeat.start()
    assert heartbeat.is_running
    assert _wait(lambda: not heartbeat.is_running)
    assert beats == [2, 1, 0]
    counts[:] = [1, 0]
    heartbeat.start()  # a new run: beating resumes
    assert _wait(lambda: not heartbeat.is_running)
    assert beats == [2, 1, 0, 1, 0]
    heartbeat.stop()


def test_a_start_during_an_idle_beat_keeps_the_heartbeat_going():
    beats: list[int] = []
    heartbeat: Heartbeat

    def beat() -> int:
        beats.append(0)
        if len(beats) == 1:
            heartbeat.start()  # a run started while this beat found none
        return 0

    heartbeat = Heartbeat(beat, interval_s=0.01)
    heartbeat.start()
    assert _wait(lambda: not heartbeat.is_running)
    assert len(beats) == 2  # the kicked round beat once more before going idle
    heartbeat.stop()
