"""The server's memory under the upload attacks of issue 10 (finding 3), against a real server.

`shipyard server start` runs on a free 127.0.0.1 port over a fresh workspace (default
bounds: 64 MiB uploads, 2,000 columns) and the owner, logged in with client credentials,
sends each attack as a multipart `POST /api/v1/datasets`:

- gzip_bomb: a gzip of ~0.5 MB holding 400 MB of CSV text (`bomb.csv.gz`);
- one_field: a 150 MB CSV whose single row is one 150 MB field;
- wide: a 1.3 MB CSV of 100,000 columns (a header and three rows);
- at_cap: a legitimate 47 MB CSV (8 numeric and 2 text columns), accepted: what
  registering a table at the default bound costs, for reference (no target);
- at_cap_x4: four of those at once (the server reads one upload at a time per API
  process; the others wait, spooled to disk), for reference.

Before each attack the peak resident memory (VmHWM) of the server and its child processes
is reset (`echo 5 > /proc/PID/clear_refs`, root or the server's own user); after the
answer it is read back. Reported per attack: the status and error, seconds to answer, the
largest VmHWM of one process and the sum over them, and whether it is under the target
(500 MB) for the three attacks. Payloads are written to a temporary folder and streamed
from disk, so the client's memory does not count.

    python benchmarks/upload_attacks.py                      # all four
    python benchmarks/upload_attacks.py --attacks gzip_bomb --json /tmp/out.json
Results are printed and saved as JSON (--json; by default
benchmarks/results/upload_attacks.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

RESULTS = Path(__file__).parent / "results" / "upload_attacks.json"
TARGET_MB = 500
START_DEADLINE_S = 90.0
MB = 1_000_000
ATTACKS = ("gzip_bomb", "one_field", "wide", "at_cap", "at_cap_x4")
AT_ONCE = {"at_cap_x4": 4}


def _write_gzip_bomb(path: Path) -> None:
    line = b"0,0,0,0,0,0,0,0,0,0\n"
    block = line * (MB // len(line))
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    with path.open("wb") as out:
        out.write(packer.compress(b"a,b,c,d,e,f,g,h,i,j\n"))
        for _ in range(400):
            out.write(packer.compress(block))
        out.write(packer.flush())


def _write_one_field(path: Path) -> None:
    with path.open("wb") as out:
        out.write(b"text\n")
        for _ in range(150):
            out.write(b"x" * MB)
        out.write(b"\n")


def _write_wide(path: Path) -> None:
    row = ",".join("0" for _ in range(100_000)) + "\n"
    with path.open("w") as out:
        out.write(",".join(f"c{i}" for i in range(100_000)) + "\n")
        out.write(row * 3)


def _write_at_cap(path: Path) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    rows = 550_000
    frame = pd.DataFrame(rng.normal(size=(rows, 8)).round(6), columns=[f"x{i}" for i in range(8)])
    frame["city"] = rng.choice(["Lisbon", "Porto", "Braga", "Faro"], size=rows)
    frame["code"] = rng.integers(0, 10_000, size=rows).astype(str)
    frame.to_csv(path, index=False)


PAYLOADS: dict[str, tuple[str, Callable[[Path], None]]] = {
    "gzip_bomb": ("bomb.csv.gz", _write_gzip_bomb),
    "one_field": ("one-field.csv", _write_one_field),
    "wide": ("wide.csv", _write_wide),
    "at_cap": ("at-cap.csv", _write_at_cap),
    "at_cap_x4": ("at-cap.csv", _write_at_cap),
}


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(folder: Path, *options: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`shipyard server start` on a free port over `folder`; stopped on exit."""
    port = free_port()
    argv = [sys.executable, "-m", "shipyard.cli.main", "server", "start"]
    argv += ["--port", str(port), "--workspace", str(folder), *options]
    log = (folder.parent / "server.log").open("ab")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start in time")
            time.sleep(0.2)
        yield process, url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)
        log.close()


def family(pid: int) -> list[int]:
    """`pid` and its descendants."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            children = (task / "children").read_text().split() if task.exists() else []
            queue.extend(int(c) for c in children)
    return found


def reset_peaks(pids: list[int]) -> None:
    """Make each process's VmHWM its current RSS (Linux `clear_refs` 5)."""
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def peaks_mb(pids: list[int]) -> dict[int, float]:
    """VmHWM in MB of each process still alive."""
    found = {}
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                found[pid] = int(line.split()[1]) * 1024 / MB
    return found


def login(url: str, folder: Path) -> dict[str, str]:
    """A bearer header for the owner whose credentials the first start saved."""
    config = json.loads((folder / "config.json").read_text())
    form = {
        "grant_type": "client_credentials",
        "client_id": config["client_id"],
        "client_secret": config["client_secret"],
    }
    answer = httpx.post(f"{url}/api/v1/auth/token", data=form, timeout=30)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _post(url: str, auth: dict[str, str], name: str, payload: Path) -> httpx.Response:
    with payload.open("rb") as handle:
        return httpx.post(
            f"{url}/api/v1/datasets",
            headers=auth,
            data={"name": name},
            files={"file": (payload.name, handle, "application/octet-stream")},
            timeout=600,
        )


def attack(
    name: str, payload: Path, process: subprocess.Popen[bytes], url: str, auth: dict[str, str]
) -> dict[str, Any]:
    """Send one payload (or several at once); the answers and the server's peak memory."""
    pids = family(process.pid)
    reset_peaks(pids)
    before = sum(peaks_mb(pids).values())
    started = time.perf_counter()
    names = [f"attack-{name.replace('_', '-')}-{i}" for i in range(AT_ONCE.get(name, 1))]
    with ThreadPoolExecutor(len(names)) as pool:
        answers = list(pool.map(lambda n: _post(url, auth, n, payload), names))
    seconds = time.perf_counter() - started
    peaks = peaks_mb(family(process.pid))
    answer = answers[0]
    body = answer.json() if answer.headers.get("content-type") == "application/json" else {}
    result = {
        "attack": name,
        "payload_mb": round(payload.stat().st_size / MB, 2),
        "status": answer.status_code,
        "statuses": [a.status_code for a in answers],
        "error": body.get("error"),
        "seconds": round(seconds, 2),
        "rss_before_mb": round(before, 1),
        "peak_rss_max_mb": round(max(peaks.values()), 1),
        "peak_rss_sum_mb": round(sum(peaks.values()), 1),
        "processes": len(peaks),
    }
    if not name.startswith("at_cap"):
        result["under_target"] = result["peak_rss_sum_mb"] < TARGET_MB
    return result


def run(names: list[str], options: list[str], workdir: Path | None = None) -> dict[str, Any]:
    """Each attack against one server, its peak memory reset before each."""
    with tempfile.TemporaryDirectory(prefix="shipyard-attacks-", dir=workdir) as tmp:
        folder = Path(tmp) / "ws"
        payloads = {}
        for name in names:
            filename, write = PAYLOADS[name]
            payloads[name] = Path(tmp) / filename
            write(payloads[name])
        results = []
        with server(folder, *options) as (process, url):
            auth = login(url, folder)
            for name in names:
                results.append(attack(name, payloads[name], process, url, auth))
                print(json.dumps(results[-1]), flush=True)
    return {
        "benchmark": "upload_attacks",
        "target_mb": TARGET_MB,
        "server_options": options,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "results": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attacks", nargs="+", choices=ATTACKS, default=list(ATTACKS))
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to save the results")
    parser.add_argument(
        "--server-option", action="append", default=[], help="passed to server start"
    )
    parser.add_argument("--workdir", type=Path, help="where payloads and the workspace go")
    args = parser.parse_args(argv)
    report = run(args.attacks, args.server_option, args.workdir)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    failed = [r for r in report["results"] if r.get("under_target") is False]
    print(f"saved {args.json}; over {TARGET_MB} MB: {[r['attack'] for r in failed] or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
