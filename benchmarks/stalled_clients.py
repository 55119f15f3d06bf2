"""A legitimate request among stalled clients: the server and an endpoint at 256 descriptors.

Issue 10, finding 7: clients that open a connection, send part of their headers and then
nothing were never timed out, and at a 256-descriptor limit 300 of them made a
legitimate request fail. This starts `shipyard server start` under `prlimit
--nofile=256:HARD` over a temporary workspace with a tiny model, deploys one endpoint
(one worker), and for the server (`GET /api/v1/health`) and the endpoint (`GET /health`)
measures, per repeat: the latency of one request on a fresh connection with nobody else
connected (baseline), then with `--stalled` connections open that sent
`GET / HTTP/1.1\\r\\nHost: x\\r\\n` and stalled (the request times out after 30 s).

Two limits are measured, each with its own server:
- `256:hard` (hard = this shell's hard limit): the server raises its soft limit to the
  hard one at start, so the stalled clients do not exhaust it.
- `256:256`: the hard limit too is 256, so only the header timeout frees descriptors
  (SHIPYARD_HEADER_TIMEOUT_S, 10 s by default; `--header-timeout` sets it here).

Figures are medians over `--repeat` repeats. Run it from the code to measure; the
request goes over plain sockets and REST, so an older checkout measures too (PYTHONPATH).

    python benchmarks/stalled_clients.py                 # 300 stalled, 3 repeats
    python benchmarks/stalled_clients.py --stalled 500 --repeat 5
Results are printed and saved as JSON (--json; by default
benchmarks/results/stalled_clients.json).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from shipyard.automl import AutoMLSettings
from shipyard.workspace import LocalWorkspace

RESULTS = Path(__file__).parent / "results" / "stalled_clients.json"
START_DEADLINE_S = 90.0
REQUEST_TIMEOUT_S = 30.0
STALL = b"GET / HTTP/1.1\r\nHost: x\r\n"


def prepare(folder: Path) -> None:
    """A workspace with model `tiny` (one linear trial on 200 rows)."""
    rng = np.random.default_rng(0)
    x1 = rng.normal(size=200)
    frame = pd.DataFrame({"x1": x1, "x2": rng.normal(size=200), "y": np.where(x1 > 0, "a", "b")})
    with LocalWorkspace.open(folder) as ws:
        ws.register_dataset("tiny", frame)
        settings = AutoMLSettings(target="y", max_trials=1, allowed_learners=("linear",), n_jobs=1)
        ws.register_model("tiny", ws.automl("tiny", settings).id)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(folder: Path, nofile: str, env: dict[str, str], log: Path) -> Iterator[str]:
    """`shipyard server start` under `prlimit --nofile=NOFILE` until the block ends; its URL."""
    port = free_port()
    argv = ["prlimit", f"--nofile={nofile}", sys.executable, "-m", "shipyard.cli.main"]
    argv += ["server", "start", "--port", str(port), "--workspace", str(folder)]
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env}
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"the server did not start:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)


def deploy(url: str, folder: Path) -> int:
    """Deploy model `tiny` as the owner (no auth on the endpoint); its port."""
    config = json.loads((folder / "config.json").read_text())
    form = {
        "grant_type": "client_credentials",
        "client_id": config["client_id"],
        "client_secret": config["client_secret"],
    }
    token = httpx.post(f"{url}/api/v1/auth/token", data=form, timeout=30).json()["access_token"]
    body = {"name": "tiny", "model": "tiny", "auth_mode": "none"}
    headers = {"Authorization": f"Bearer {token}"}
    answer = httpx.post(f"{url}/api/v1/endpoints", json=body, headers=headers, timeout=120)
    answer.raise_for_status()
    return int(answer.json()["port"])


def legit_ms(url: str) -> float | None:
    """One GET on a fresh connection: its latency in ms, or None if it failed."""
    started = time.perf_counter()
    try:
        with httpx.Client(timeout=REQUEST_TIMEOUT_S) as client:
            ok = client.get(url).status_code == 200
    except httpx.HTTPError:
        ok = False
    return (time.perf_counter() - started) * 1000 if ok else None


def under_stall(url: str, port: int, count: int) -> dict[str, Any]:
    """`legit_ms` while `count` stalled connections are open (and how many could open)."""
    stalled: list[socket.socket] = []
    try:
        for _ in range(count):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                sock.sendall(STALL)
                stalled.append(sock)
            except OSError:
                break
        time.sleep(0.5)
        return {"opened": len(stalled), "latency_ms": legit_ms(url)}
    finally:
        for sock in stalled:
            sock.close()


def measure(url: str, port: int, args: argparse.Namespace) -> dict[str, Any]:
    baseline = [legit_ms(url) for _ in range(args.repeat)]
    stalled = [under_stall(url, port, args.stalled) for _ in range(args.repeat)]
    latencies = [s["latency_ms"] for s in stalled]
    ok = [v for v in latencies if v is not None]
    return {
        "url": url,
        "baseline_ms": statistics.median([v for v in baseline if v is not None] or [0]),
        "stalled_clients": args.stalled,
        "opened": [s["opened"] for s in stalled],
        "succeeded": f"{len(ok)}/{len(latencies)}",
        "latency_ms": statistics.median(ok) if ok else None,
        "latencies_ms": latencies,
    }


def scenario(folder: Path, nofile: str, args: argparse.Namespace, log: Path) -> dict[str, Any]:
    env = {"SHIPYARD_HEADER_TIMEOUT_S": str(args.header_timeout)}
    with server(folder, nofile, env, log) as url:
        endpoint_port = deploy(url, folder)
        results = {
            "server": measure(f"{url}/api/v1/health", int(url.rsplit(":", 1)[1]), args),
            "endpoint": measure(f"http://127.0.0.1:{endpoint_port}/health", endpoint_port, args),
        }
        owner_cleanup(url, folder)
    return {"nofile": nofile, **results}


def owner_cleanup(url: str, folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    form = {
        "grant_type": "client_credentials",
        "client_id": config["client_id"],
        "client_secret": config["client_secret"],
    }
    token = httpx.post(f"{url}/api/v1/auth/token", data=form, timeout=30).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    httpx.delete(f"{url}/api/v1/endpoints/tiny", headers=headers, timeout=60)


def print_report(report: dict[str, Any]) -> None:
    print(f"{'limit':<10} {'target':<9} {'baseline':>9} {'stalled':>8} {'ok':>5} {'latency':>10}")
    for result in report["scenarios"]:
        for target in ("server", "endpoint"):
            row = result[target]
            latency = "failed" if row["latency_ms"] is None else f"{row['latency_ms']:.1f} ms"
            print(
                f"{result['nofile']:<10} {target:<9} {row['baseline_ms']:>6.1f} ms "
                f"{row['stalled_clients']:>8} {row['succeeded']:>5} {latency:>10}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stalled", type=int, default=300, help="stalled connections")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--header-timeout", type=float, default=10.0, help="seconds")
    parser.add_argument("--label", default="", help="a note saved with the figures")
    parser.add_argument("--json", type=Path, default=RESULTS, help="JSON file to write")
    args = parser.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count()},
        "settings": {**{k: v for k, v in vars(args).items() if k != "json"}, "hard_limit": hard},
        "scenarios": [],
    }
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-stalled-") as tmp:
        for nofile in (f"256:{hard}", "256:256"):
            folder = Path(tmp) / nofile.replace(":", "-")
            prepare(folder)
            print(f"limit {nofile}: measuring", flush=True)
            report["scenarios"].append(scenario(folder, nofile, args, Path(tmp) / "server.log"))
    print_report(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"saved {args.json}")


if __name__ == "__main__":
    main()
