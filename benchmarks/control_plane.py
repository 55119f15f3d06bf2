"""Control-plane speed: listing runs and job pickup through a real server, 8 clients.

For each backend (a SQLite workspace, or a fresh schema on the PostgreSQL server that is
dropped afterwards) a workspace is seeded with `--runs` completed runs of 5 metrics each
(bulk-inserted through the store, as benchmarks/store.py does: a shortcut for setup
only; on PostgreSQL then `VACUUM ANALYZE`, as autovacuum would do within a minute), a
tiny dataset and a contributor principal. Then `shipyard server start` runs on
a free 127.0.0.1 port with `--api-processes` API processes (default 2, one per core of
the machine these figures are for) and `--workers` job workers, and the benchmark logs in with the
principal's client credentials (`POST /api/v1/auth/token`) like any automation would.

Measured per repeat, over HTTP/1.1 keep-alive connections (`shipyard.serving.bench`, a
load generator cheap enough to share the machine with the server):

- list_runs: `GET /api/v1/runs?max_results=100` from `--clients` concurrent clients,
  `--requests` each: latency p50/p95/p99 and requests/s (target: p50 < 20 ms at 8
  clients). Also from one client, for reference. The server answers a repeated query
  from its answer cache while no run changes (`shipyard/server/cache.py`).
- list_runs_uncached: the same, first, from a server over the same workspace started
  with SHIPYARD_ANSWER_CACHE=off: what a listing costs when every one is computed.
- job_pickup: `--jobs` AutoML jobs (one trial of a linear model on a 200-row frame)
  submitted one at a time through `POST /api/v1/jobs/automl` while the clients keep
  listing runs; pickup is the job's `claimed_at - created_at` as the server recorded
  them (target: p50 < 500 ms). The next job is submitted once the previous one ended,
  after a random pause, so submissions fall anywhere in the workers' poll cycle.
  `seen_ms` is when the submitting client saw the job running (it polls every 20 ms).

Before measuring, one job (which waits for the worker to start and load the AutoML code)
and a few listings warm the server up. Figures are the medians over `--repeat` repeats of
each repeat's percentiles.

    python benchmarks/control_plane.py                    # both backends, 3 repeats
    python benchmarks/control_plane.py --backend sqlite --repeat 5
Results are printed and saved as JSON (--json; by default
benchmarks/results/control_plane.json).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from sqlalchemy import text
from store import add_common_options, backends, save_report, seed_runs  # the same setup

from shipyard.core.schemas import PrincipalCredentials
from shipyard.serving.bench import BenchLoad, BenchResult, BenchTarget, run_bench
from shipyard.workspace import LocalWorkspace

RESULTS = Path(__file__).parent / "results" / "control_plane.json"
TARGET_LIST_P50_MS = 20.0
TARGET_PICKUP_P50_MS = 500.0
START_DEADLINE_S = 90.0
STOP_TIMEOUT_S = 30.0
JOB_DEADLINE_S = 120.0
SEEN_POLL_S = 0.02
DATASET = "bench-tiny"
JOB_SETTINGS = {"target": "y", "max_trials": 1, "allowed_learners": ["linear"], "n_jobs": 1}
PAGE = 100


@dataclass(frozen=True)
class Target:
    """A running server and how to call it as the benchmark's principal."""

    url: str
    headers: dict[str, str]

    def list_runs(self) -> BenchTarget:
        url = f"{self.url}/api/v1/runs?max_results={PAGE}"
        return BenchTarget(url, b"", headers=self.headers, method="GET")


# --- setup ----------------------------------------------------------------------------------


def tiny_frame(seed: int, rows: int = 200) -> pd.DataFrame:
    """200 rows whose target `y` depends on `x1` and `color`."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=rows)
    color = rng.choice(["red", "green", "blue"], size=rows)
    signal_ = x1 + 1.5 * (color == "red") - 0.75
    y = np.where(signal_ > 0, "yes", "no")
    return pd.DataFrame({"x1": x1, "x2": rng.normal(size=rows), "color": color, "y": y})


def prepare(folder: Path, db_url: str, runs: int, seed: int) -> PrincipalCredentials:
    """Seed the workspace: runs, the jobs' dataset, and the principal to log in as."""
    with LocalWorkspace.open(folder, db_url=db_url) as ws:
        setup_s = seed_runs(ws, runs, seed)
        ws.register_dataset(DATASET, tiny_frame(seed))
        credentials = ws.create_principal("bench", "contributor")
        if ws.store.dialect == "postgresql":
            # What autovacuum does within a minute of a bulk insert: without statistics the
            # planner scans every latest metric for a page's 100 runs instead of the index.
            with ws.store.write_engine.connect() as connection:
                autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
                autocommit.execute(text("VACUUM ANALYZE"))
    print(f"  {runs:,} runs set up in {setup_s:.1f} s", flush=True)
    return credentials


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server(
    folder: Path, db_url: str, args: argparse.Namespace, log: Path, *, cache: bool = True
) -> Iterator[str]:
    """`shipyard server start` on a free port until the block ends; its URL."""
    port = free_port()
    env = {**os.environ, "SHIPYARD_ANSWER_CACHE": "on" if cache else "off"}
    argv = [sys.executable, "-m", "shipyard.cli.main", "server", "start", "--port", str(port)]
    argv += ["--workspace", str(folder), "--db", db_url, "--workers", str(args.workers)]
    argv += ["--api-processes", str(args.api_processes)]
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, log)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer within {START_DEADLINE_S:.0f} s")


def login(url: str, credentials: PrincipalCredentials) -> dict[str, str]:
    """The client-credentials grant, as automation does it."""
    form = {
        "grant_type": "client_credentials",
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
    }
    answer = httpx.post(f"{url}/api/v1/auth/token", data=form, timeout=30)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


# --- measurements ---------------------------------------------------------------------------


def latency_summary(result: BenchResult) -> dict[str, Any]:
    if result.failed:
        raise SystemExit(f"{result.failed} listing requests failed: {result.first_error}")
    p = result.percentiles_ms()
    return {
        "requests": result.complete,
        "p50_ms": p[50],
        "p95_ms": p[95],
        "p99_ms": p[99],
        "requests_per_s": result.requests_per_s,
        "body_bytes": result.body_bytes_received / max(1, result.complete),
    }


def list_runs(target: Target, clients: int, requests: int) -> dict[str, Any]:
    """`requests` listings from each of `clients` clients at once."""
    load = BenchLoad(requests=clients * requests, concurrency=clients)
    return latency_summary(run_bench(target.list_runs(), load))


class BackgroundLoad:
    """Clients listing runs in a thread until stopped: the load that jobs are submitted under."""

    def __init__(self, target: Target, clients: int) -> None:
        self.target = target
        self.load = BenchLoad(requests=clients * 20, concurrency=clients)
        self.results: list[BenchResult] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load", daemon=True)

    def __enter__(self) -> BackgroundLoad:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        request = self.target.list_runs()
        while not self._stop.is_set():
            self.results.append(run_bench(request, self.load))

    def summary(self) -> dict[str, Any]:
        latencies = [ms for r in self.results for ms in r.latencies_ms]
        failed = sum(r.failed for r in self.results)
        if failed:
            raise SystemExit(f"{failed} listing requests failed under job load")
        return {"requests": len(latencies), "p50_ms": statistics.median(latencies)}


def submit_and_wait(http: httpx.Client) -> dict[str, float]:
    """Submit one job, see it claimed, wait for its end; the pickup times in ms."""
    body = {"dataset": DATASET, "settings": JOB_SETTINGS, "experiment": "bench-jobs"}
    started = time.perf_counter()
    answer = http.post("/api/v1/jobs/automl", json=body)
    answer.raise_for_status()
    job_id = answer.json()["id"]
    seen_ms = None
    deadline = time.monotonic() + JOB_DEADLINE_S
    while time.monotonic() < deadline:
        job = http.get(f"/api/v1/jobs/{job_id}").json()
        if seen_ms is None and job["status"] != "queued":
            seen_ms = (time.perf_counter() - started) * 1000
        if job["status"] in ("completed", "failed", "canceled"):
            if job["status"] != "completed":
                raise SystemExit(f"job {job_id} {job['status']}: {job['error']}")
            claimed = datetime.fromisoformat(job["claimed_at"])
            created = datetime.fromisoformat(job["created_at"])
            return {"pickup_ms": (claimed - created).total_seconds() * 1000, "seen_ms": seen_ms}
        time.sleep(SEEN_POLL_S if seen_ms is None else 0.2)
    raise SystemExit(f"job {job_id} did not end within {JOB_DEADLINE_S:.0f} s")


def job_pickups(target: Target, clients: int, jobs: int, rng: random.Random) -> dict[str, Any]:
    """Submit `jobs` jobs one after another while `clients` clients list runs."""
    samples = []
    with (
        httpx.Client(base_url=target.url, headers=target.headers, timeout=30) as http,
        BackgroundLoad(target, clients) as load,
    ):
        for _ in range(jobs):
            time.sleep(rng.uniform(0.0, 0.5))
            samples.append(submit_and_wait(http))
    pickups = [s["pickup_ms"] for s in samples]
    return {
        "jobs": jobs,
        "p50_ms": statistics.median(pickups),
        "max_ms": max(pickups),
        "seen_p50_ms": statistics.median(s["seen_ms"] for s in samples),
        "pickups_ms": pickups,
        "listing_under_load": load.summary(),
    }


def warm_up(target: Target, clients: int) -> None:
    """A first job (it waits for the workers to start and load the AutoML code) and listings."""
    with httpx.Client(base_url=target.url, headers=target.headers, timeout=30) as http:
        submit_and_wait(http)
    list_runs(target, clients, 20)


def listings(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    """One repeat of the listing measurements."""
    return {
        "list_runs_1_client": list_runs(target, 1, args.requests),
        "list_runs": list_runs(target, args.clients, args.requests),
    }


def bench_backend(name: str, db_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement on one backend. The listing repeats come first, so that each lists
    the same runs (from a server without its answer cache, then from one with it); the
    jobs' runs are listed only under the job load."""
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-cp-") as scratch:
        folder = Path(scratch) / "ws"
        credentials = prepare(folder, db_url, args.runs, args.seed)
        # What a listing costs when every one is computed (as when runs change between
        # requests): a server started with SHIPYARD_ANSWER_CACHE=off.
        uncached = []
        log = Path(scratch) / "server-uncached.log"
        with running_server(folder, db_url, args, log, cache=False) as url:
            target = Target(url, login(url, credentials))
            list_runs(target, args.clients, 20)  # warm-up
            for r in range(args.repeat):
                uncached.append(list_runs(target, args.clients, args.requests))
                _say(f"uncached listing {r + 1}", uncached[-1])
        with running_server(folder, db_url, args, Path(scratch) / "server.log") as url:
            target = Target(url, login(url, credentials))
            warm_up(target, args.clients)
            repeats = []
            for r in range(args.repeat):
                repeats.append(listings(target, args))
                repeats[-1]["list_runs_uncached"] = uncached[r]
                _say(f"listing {r + 1}", repeats[-1]["list_runs"])
            for r, repeat in enumerate(repeats):
                repeat["job_pickup"] = job_pickups(target, args.clients, args.jobs, rng)
                print(f"  jobs {r + 1}: pickup p50 {repeat['job_pickup']['p50_ms']:.0f} ms")
    return {"backend": name, "runs": args.runs, "repeats": repeats, "medians": medians(repeats)}


def _say(what: str, listing: dict[str, Any]) -> None:
    print(
        f"  {what}: p50 {listing['p50_ms']:.1f} ms, {listing['requests_per_s']:.0f} req/s",
        flush=True,
    )


def medians(repeats: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Each figure's median over the repeats."""
    out: dict[str, dict[str, float]] = {}
    for measurement in ("list_runs_1_client", "list_runs", "job_pickup", "list_runs_uncached"):
        figures = [r[measurement] for r in repeats]
        out[measurement] = {
            key: statistics.median(f[key] for f in figures)
            for key, value in figures[0].items()
            if isinstance(value, int | float)
        }
    out["listing_under_job_load"] = {
        "p50_ms": statistics.median(
            r["job_pickup"]["listing_under_load"]["p50_ms"] for r in repeats
        )
    }
    return out


# --- report ---------------------------------------------------------------------------------


def verdicts(report: dict[str, Any]) -> None:
    for backend in report["backends"]:
        m = backend["medians"]
        backend["targets"] = {
            "list_runs_p50_ms": {
                "target": TARGET_LIST_P50_MS,
                "measured": m["list_runs"]["p50_ms"],
                "met": m["list_runs"]["p50_ms"] < TARGET_LIST_P50_MS,
            },
            "job_pickup_p50_ms": {
                "target": TARGET_PICKUP_P50_MS,
                "measured": m["job_pickup"]["p50_ms"],
                "met": m["job_pickup"]["p50_ms"] < TARGET_PICKUP_P50_MS,
            },
        }


def print_table(report: dict[str, Any]) -> None:
    header = (
        f"{'backend':<11}{'measurement':<22}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'req/s':>8}{'target':>13}"
    )
    print(header)
    print("-" * len(header))
    for backend in report["backends"]:
        m, t = backend["medians"], backend["targets"]
        rows = [
            ("list 100, 1 client", m["list_runs_1_client"], None),
            (
                f"list 100, {report['settings']['clients']} clients",
                m["list_runs"],
                "list_runs_p50_ms",
            ),
            ("listing under jobs", m["listing_under_job_load"], None),
            ("list 100, no cache", m["list_runs_uncached"], None),
            ("job pickup", m["job_pickup"], "job_pickup_p50_ms"),
        ]
        for label, figures, target in rows:
            verdict = ""
            if target is not None:
                verdict = f"<{t[target]['target']:g} {'ok' if t[target]['met'] else 'MISS'}"
            print(
                f"{backend['backend']:<11}{label:<22}{_ms(figures.get('p50_ms'))}"
                f"{_ms(figures.get('p95_ms'))}{_ms(figures.get('p99_ms'))}"
                f"{_num(figures.get('requests_per_s'))}{verdict:>13}"
            )


def _ms(value: float | None) -> str:
    return f"{'-' if value is None else f'{value:.1f}':>9}"


def _num(value: float | None) -> str:
    return f"{'-' if value is None else f'{value:.0f}':>8}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_options(parser, RESULTS)
    parser.add_argument("--runs", type=int, default=2000, help="runs in the workspace")
    parser.add_argument("--clients", type=int, default=8, help="concurrent listing clients")
    parser.add_argument("--requests", type=int, default=100, help="listings per client")
    parser.add_argument("--jobs", type=int, default=10, help="jobs submitted per repeat")
    parser.add_argument("--workers", type=int, default=1, help="the server's job workers")
    parser.add_argument("--api-processes", type=int, default=2, help="the server's API processes")
    parser.add_argument("--repeat", type=int, default=3, help="repeats of every measurement")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count()},
        "settings": {
            k: getattr(args, k)
            for k in ("runs", "clients", "requests", "jobs", "workers", "api_processes", "repeat")
        },
        "backends": [],
    }
    for name, fresh_url in backends(args.backend, args.postgres_url):
        print(f"{name}:", flush=True)
        with fresh_url() as url:
            report["backends"].append(bench_backend(name, url, args))
    verdicts(report)
    print_table(report)
    save_report(report, args.json)


if __name__ == "__main__":
    main()
