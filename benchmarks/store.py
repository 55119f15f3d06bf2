"""Workspace store speed on SQLite and PostgreSQL: listing runs, logging metrics, registering.

For each backend, in a fresh workspace (a temporary SQLite file, or a fresh schema on the
PostgreSQL server that is dropped afterwards):

- list_runs_page: `ws.list_runs(max_results=50)`, one page of runs with their latest
  metrics, newest first, out of `--runs` runs of 5 metrics each (target: p50 < 50 ms on
  SQLite). Also timed: the page of one experiment, and the page ordered by a metric.
- log_metrics_1000: `ws.log_metrics(run, {1,000 keys})`, one call (target < 1 s); and
  `ws.log_metric_series(run, key, 1,000 values)`.
- register_bank_marketing: `ws.register_dataset(name, csv)` of the bundled Bank Marketing
  rows written as a plain CSV (32,950 rows, 21 columns; target < 3 s).

The runs are set up with bulk inserts through the store (a shortcut for setup only: the
workspace API writes one transaction per call). Each list operation is timed `--calls`
times per repeat after a warm-up; the others once per repeat, each on fresh content.

    python benchmarks/store.py                        # both backends, 10,000 runs, 5 repeats
    python benchmarks/store.py --backend sqlite --repeat 3
Results are printed and saved as JSON (--json; by default benchmarks/results/store.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.exc import OperationalError

from shipyard.core.schemas import Page, Run
from shipyard.datasets import load_bank_marketing
from shipyard.store.tables import ExperimentRow, LatestMetricRow, MetricRow, RunRow
from shipyard.workspace import LocalWorkspace

RESULTS = Path(__file__).parent / "results" / "store.json"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
METRICS = ("accuracy", "AUC_weighted", "log_loss", "f1", "fit_time_s")
EXPERIMENTS = 20
TARGETS_MS = {
    ("sqlite", "list_runs_page"): 50.0,
    ("sqlite", "log_metrics_1000"): 1000.0,
    ("postgresql", "log_metrics_1000"): 1000.0,
    ("sqlite", "register_bank_marketing"): 3000.0,
    ("postgresql", "register_bank_marketing"): 3000.0,
}


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'shipyard.db'}"


@contextmanager
def postgres_url(server: str) -> Iterator[str]:
    """A fresh schema on `server`, dropped at the end."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as admin:
        admin.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield f"{server}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def seed_runs(ws: LocalWorkspace, count: int, seed: int) -> float:
    """Insert `count` completed runs with 5 metrics each in bulk; returns the seconds taken."""
    started = time.perf_counter()
    rng = random.Random(seed)
    now = datetime.now(UTC)
    experiments = [
        {"id": f"exp_bench{i}", "name": f"bench-{i}", "description": None, "created_at": now}
        for i in range(EXPERIMENTS)
    ]
    runs, metrics, latest = [], [], []
    for i in range(count):
        run_id = f"run_bench{i:07d}"
        at = now - timedelta(seconds=count - i)
        runs.append(_run_row(run_id, f"exp_bench{i % EXPERIMENTS}", i, at))
        for key in METRICS:
            value = rng.random()
            metrics.append(
                {"run_id": run_id, "key": key, "value": value, "step": 0, "timestamp": at}
            )
            latest.append({"run_id": run_id, "key": key, "value": value, "step": 0})
    with ws.store.write() as session:
        session.execute(insert(ExperimentRow), experiments)
        session.execute(insert(RunRow), runs)
        session.execute(insert(MetricRow), metrics)
        session.execute(insert(LatestMetricRow), latest)
    return time.perf_counter() - started


def _run_row(run_id: str, experiment_id: str, number: int, at: datetime) -> dict[str, Any]:
    return {
        "id": run_id,
        "experiment_id": experiment_id,
        "parent_id": None,
        "name": f"trial {number}",
        "kind": "trial",
        "status": "completed",
        "params": {"learner": "lightgbm", "num_leaves": 31 + number % 64},
        "tags": {"learner": "lightgbm"},
        "created_at": at,
        "started_at": at,
        "ended_at": at,
    }


def timed_ms(call: Callable[..., object], *args: object) -> float:
    started = time.perf_counter()
    call(*args)
    return (time.perf_counter() - started) * 1000.0


def time_listing(ws: LocalWorkspace, repeat: int, calls: int) -> dict[str, list[float]]:
    listings: dict[str, Callable[[], Page[Run]]] = {
        "list_runs_page": lambda: ws.list_runs(max_results=50),
        "list_runs_page_experiment": lambda: ws.list_runs(experiment="bench-3", max_results=50),
        "list_runs_page_by_metric": lambda: ws.list_runs(
            order_by="metrics.AUC_weighted desc", max_results=50
        ),
    }
    samples: dict[str, list[float]] = {}
    for name, call in listings.items():
        page = call()  # and a warm-up
        if len(page.items) != 50 or len(page.items[0].metrics) != len(METRICS):
            raise SystemExit(f"{name} returned a short page: the runs were not set up")
        samples[name] = [timed_ms(call) for _ in range(repeat * calls)]
    return samples


def time_writes(ws: LocalWorkspace, repeat: int, csv: Path) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {
        "log_metrics_1000": [],
        "log_metric_series_1000": [],
        "register_bank_marketing": [],
    }
    for r in range(repeat):
        run = ws.create_run("bench-writes", name=f"writes {r}")
        values = {f"m{i:04d}": r + i / 1000 for i in range(1000)}
        samples["log_metrics_1000"].append(timed_ms(ws.log_metrics, run.id, values))
        series = [r + i / 1000 for i in range(1000)]
        samples["log_metric_series_1000"].append(
            timed_ms(ws.log_metric_series, run.id, "loss", series)
        )
        ws.finish_run(run.id)
        # A new dataset each time, so that nothing is skipped as a duplicate.
        samples["register_bank_marketing"].append(timed_ms(ws.register_dataset, f"bank-{r}", csv))
    return samples


def bench_backend(url: str, args: argparse.Namespace, csv: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-ws-") as folder:
        ws = LocalWorkspace.open(folder, db_url=url)
        try:
            dialect = ws.store.dialect
            setup_s = seed_runs(ws, args.runs, args.seed)
            samples = time_listing(ws, args.repeat, args.calls) | time_writes(ws, args.repeat, csv)
        finally:
            ws.close()
    rows = [summarize(dialect, name, values) for name, values in samples.items()]
    return {"backend": dialect, "runs": args.runs, "setup_s": setup_s, "results": rows}


def summarize(backend: str, operation: str, values_ms: list[float]) -> dict[str, Any]:
    ordered = sorted(values_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    target = TARGETS_MS.get((backend, operation))
    p50 = statistics.median(ordered)
    return {
        "operation": operation,
        "samples": len(ordered),
        "p50_ms": p50,
        "p95_ms": p95,
        "min_ms": ordered[0],
        "max_ms": ordered[-1],
        "target_p50_ms": target,
        "meets_target": None if target is None else p50 < target,
    }


def print_table(report: dict[str, Any]) -> None:
    header = f"{'backend':<11}{'operation':<28}{'n':>4}{'p50 ms':>10}{'p95 ms':>10}{'target':>10}"
    print(header)
    print("-" * len(header))
    for backend in report["backends"]:
        for row in backend["results"]:
            target = row["target_p50_ms"]
            verdict = (
                "" if target is None else f"<{target:g} {'ok' if row['meets_target'] else 'MISS'}"
            )
            print(
                f"{backend['backend']:<11}{row['operation']:<28}{row['samples']:>4}"
                f"{row['p50_ms']:>10.1f}{row['p95_ms']:>10.1f}{verdict:>10}"
            )


def bank_marketing_csv(folder: Path) -> Path:
    path = folder / "bankmarketing.csv"
    load_bank_marketing().to_csv(path, index=False)
    return path


def backends(choice: str, server: str) -> Iterator[tuple[str, Callable[[], Any]]]:
    """(name, context manager of a fresh URL) for each backend to measure."""
    if choice in ("sqlite", "both"):
        yield "sqlite", sqlite_url
    if choice in ("postgres", "both"):
        try:
            engine = create_engine(server)
            with engine.connect():
                pass
            engine.dispose()
        except OperationalError as exc:
            if choice == "postgres":
                raise SystemExit(f"PostgreSQL at {server} is unreachable: {exc.orig}") from exc
            print(f"skipping PostgreSQL: {server} is unreachable")
            return
        yield "postgres", lambda: postgres_url(server)


def add_common_options(parser: argparse.ArgumentParser, results: Path) -> None:
    """--backend, --seed, --postgres-url and --json: the options every store-backed
    benchmark takes (this one and control_plane.py)."""
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("SHIPYARD_BENCH_POSTGRES", POSTGRES_URL)
    )
    parser.add_argument("--json", type=Path, default=results, help="JSON file to write")


def save_report(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    print(f"saved {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_options(parser, RESULTS)
    parser.add_argument("--runs", type=int, default=10_000, help="runs to list from")
    parser.add_argument("--repeat", type=int, default=5, help="repeats of every measurement")
    parser.add_argument("--calls", type=int, default=20, help="list calls per repeat")
    args = parser.parse_args()

    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count()},
        "settings": {"runs": args.runs, "repeat": args.repeat, "calls": args.calls},
        "backends": [],
    }
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-csv-") as folder:
        csv = bank_marketing_csv(Path(folder))
        for name, fresh_url in backends(args.backend, args.postgres_url):
            with fresh_url() as url:
                result = bench_backend(url, args, csv)
            print(f"{name}: {args.runs:,} runs set up in {result['setup_s']:.1f} s", flush=True)
            report["backends"].append(result)
    print_table(report)
    save_report(report, args.json)


if __name__ == "__main__":
    main()
