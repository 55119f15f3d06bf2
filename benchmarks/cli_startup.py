"""CLI start-up: whole-process wall time of `shipyard --help` and `shipyard run list`.

A local SQLite workspace is seeded once with `--runs` completed runs of 5 metrics each
through the workspace API (`create_run`, `log_metrics`, `set_run_status`), then each
command runs `--repeat` times as a fresh `python -m shipyard.cli.main` process (the console
script's code path) and its wall time, from start to exit, is measured. Figures are the
medians; targets: `--help` < 0.3 s, `run list` < 0.6 s. The 1-minute load average at the
start and the end is recorded, since a busy machine slows every process down.

`--before DIR` also measures another checkout's `src/` (put first on PYTHONPATH; it seeds
its own workspace, so the schema matches), each command of each checkout in turns, so a
load that comes and goes weighs on both alike: the figures before a change, under
"before". `--src DIR` measures another checkout alone.

    python benchmarks/cli_startup.py
    python benchmarks/cli_startup.py --before ../old-checkout/src
Results are printed and saved as JSON (--json; by default benchmarks/results/cli_startup.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "cli_startup.json"
TARGETS_S = {"help": 0.3, "run_list": 0.6}
METRICS = ("accuracy", "AUC_weighted", "log_loss", "f1", "fit_time_s")
EXPERIMENTS = 20


def seed_workspace(folder: Path, runs: int, seed: int) -> float:
    """`runs` completed runs with 5 metrics each, through the workspace API; seconds taken."""
    from shipyard.core.schemas import RunStatus
    from shipyard.workspace import LocalWorkspace

    started = time.perf_counter()
    rng = random.Random(seed)
    with LocalWorkspace.open(folder) as ws:
        for i in range(runs):
            run = ws.create_run(f"bench-{i % EXPERIMENTS}", name=f"run-{i}", kind="trial")
            ws.log_metrics(run.id, {key: rng.random() for key in METRICS})
            ws.set_run_status(run.id, RunStatus.COMPLETED)
    return time.perf_counter() - started


def wall_times(argv: list[str], env: dict[str, str], repeat: int) -> list[float]:
    """Seconds from start to exit of `argv`, `repeat` times; fails if a run fails."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{argv} failed:\n{done.stderr.decode(errors='replace')[-2000:]}")
    return times


def summary(times: list[float], target: float) -> dict[str, Any]:
    median = statistics.median(times)
    return {"median_s": median, "times_s": times, "target_s": target, "met": median < target}


def tree_env(src: Path | None) -> dict[str, str]:
    """The environment of a `shipyard` process of this checkout, or of the one in `src`."""
    unset = {"SHIPYARD_WORKSPACE", "SHIPYARD_CONFIG", "SHIPYARD_SERVER"}
    env = {key: value for key, value in os.environ.items() if key not in unset}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src.resolve()), env.get("PYTHONPATH", "")])
    return env


def seed(workspace: Path, env: dict[str, str], args: argparse.Namespace) -> None:
    """Seeded by the code being measured (its schema revision), in a child process."""
    argv = [sys.executable, __file__, "--seed-into", str(workspace)]
    subprocess.run([*argv, "--runs", str(args.runs), "--seed", str(args.seed)], env=env, check=True)


def measure(trees: dict[str, tuple[dict[str, str], Path]], repeat: int) -> dict[str, Any]:
    """Wall times of both commands for each tree, taken in turns so load affects all alike."""
    shipyard = [sys.executable, "-m", "shipyard.cli.main"]
    times: dict[str, dict[str, list[float]]] = {t: {"help": [], "run_list": []} for t in trees}
    for _ in range(repeat):
        for tree, (env, workspace) in trees.items():
            times[tree]["help"] += wall_times([*shipyard, "--help"], env, 1)
            list_argv = [*shipyard, "run", "list", "--workspace", str(workspace)]
            times[tree]["run_list"] += wall_times(list_argv, env, 1)
    return {
        tree: {name: summary(values, TARGETS_S[name]) for name, values in found.items()}
        for tree, found in times.items()
    }


def checkout(src: Path | None) -> str:
    """The commit a checkout's `src/` is at (this one's when None), for the record."""
    folder = src or Path(__file__).parent
    found = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or str(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2_000, help="runs in the workspace")
    parser.add_argument("--repeat", type=int, default=5, help="processes per command")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--src", type=Path, help="a checkout's src/ to measure instead")
    parser.add_argument("--before", type=Path, help="also measure this checkout's src/, in turns")
    parser.add_argument("--json", type=Path, default=RESULTS, help="JSON file to write")
    parser.add_argument("--seed-into", type=Path, help=argparse.SUPPRESS)  # the seeding child
    args = parser.parse_args()
    if args.seed_into is not None:
        setup_s = seed_workspace(args.seed_into, args.runs, args.seed)
        print(f"{args.runs:,} runs set up in {setup_s:.1f} s")
        return

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-cli-") as folder:
        trees = {"after": (tree_env(args.src), Path(folder) / "after")}
        if args.before is not None:
            trees["before"] = (tree_env(args.before), Path(folder) / "before")
        for env, workspace in trees.values():
            seed(workspace, env, args)
        results = measure(trees, args.repeat)
    settings = {"runs": args.runs, "repeat": args.repeat, "src": checkout(args.src)}
    report = {
        "machine": {"cpus": os.cpu_count(), "load_1min": [load_before, os.getloadavg()[0]]},
        "settings": settings | {"before": checkout(args.before) if args.before else None},
        **results["after"],
    }
    if "before" in results:
        report["before"] = results["before"]
    for tree, found in results.items():
        for name, result in found.items():
            verdict = "met" if result["met"] else "MISSED"
            target = f"target < {result['target_s']} s, {verdict}"
            print(f"{tree} {name}: median {result['median_s']:.3f} s ({target})")
    print(f"load average (1 min): {load_before:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"saved {args.json}")


if __name__ == "__main__":
    main()
