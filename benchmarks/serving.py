"""Scoring speed, side by side: the Bank Marketing model served by Shipyard and by MLflow.

One model (trained here with a 60 s AutoML budget, or reused with `--model DIR`) is
registered in a temporary workspace and deployed with key auth in three ways: one
worker with request logging off, one worker with logging on (the cost of telemetry,
target < 10%), and two workers. The same model is saved as an `mlflow.pyfunc` model
wrapping Shipyard's `TabularModel` and served by `mlflow models serve --env-manager
local -w 1` (MLflow's own scoring server). All servers run at once and every repeat
measures each in turn, so a busy moment of the machine hits them alike.

Measured per server and repeat:
- Apache Benchmark (`ab`, Debian package apache2-utils), single-row requests at 1, 8 and
  32 concurrent clients, with keep-alive (`-k`) and without; latency percentiles from
  ab's `-e` file (fractional ms).
  ab speaks HTTP/1.0, and uvicorn (under both servers) closes an HTTP/1.0 connection
  after each answer: `-k` reuses none (`keep_alive_requests` is 0), so both ab rows are
  a connection per request.
- wrk (Debian package wrk), HTTP/1.1 keep-alive, the same concurrencies, if installed.
- Shipyard's own load generator (`shipyard.serving.bench`) at 8 clients, as a cross-check.
- One 1,000-row request: the median latency of several, one at a time.

Targets (Shipyard, one worker, logging off): at 8 clients >= 1,400 requests/s with
p99 < 10 ms; a 1,000-row request < 20 ms; logging on costs < 10% of requests/s.
The load generator runs on the same machine as the servers and competes with them for
its cores: the figures are what this machine does with both, not a server's ceiling.

    python benchmarks/serving.py                      # trains the model (60 s), 3 repeats
    python benchmarks/serving.py --model /tmp/bank-model --repeat 5
Needs MLflow for its half (`pip install mlflow`; not a Shipyard dependency): without it,
only Shipyard is measured. Results are printed and saved as JSON (--json; by default
benchmarks/results/serving.json).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.automl import AutoMLSettings, load_model, run_automl
from shipyard.core.schemas import RunStatus
from shipyard.datasets import BANK_MARKETING_TARGET, load_bank_marketing
from shipyard.serving.bench import BenchLoad, BenchTarget, run_bench
from shipyard.workspace import LocalWorkspace

RESULTS = Path(__file__).parent / "results" / "serving.json"
CONCURRENCY = (1, 8, 32)
TARGET_RPS_AT_8 = 1400.0
TARGET_P99_MS_AT_8 = 10.0
TARGET_1000_ROWS_MS = 20.0
TARGET_LOGGING_COST = 0.10
LARGE_ROWS = 1000


@dataclass
class Server:
    """A running server under test and the requests it is sent."""

    name: str
    url: str
    headers: dict[str, str]
    one_row: bytes
    many_rows: bytes
    requests: int  # per ab run; slow servers get fewer (and a time limit)
    info: dict[str, Any] = field(default_factory=dict)


# --- tools ----------------------------------------------------------------------------------


def find_tool(command: str, package: str, *, install: bool) -> str | None:
    """The tool's path; installed with apt-get when missing, if allowed and root."""
    found = shutil.which(command)
    if found or not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print(f"{command} is missing: apt-get install -y {package}", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=False)
    if not shutil.which(command):  # the package lists may be stale
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], check=False)
    return shutil.which(command)


def find_mlflow() -> str | None:
    """The `mlflow` CLI of this interpreter's environment, if MLflow is importable."""
    if importlib.util.find_spec("mlflow") is None:
        return None
    beside = Path(sys.executable).parent / "mlflow"
    return str(beside) if beside.exists() else shutil.which("mlflow")


# --- the model --------------------------------------------------------------------------------


def trained_model(folder: Path | None, budget_s: float, seed: int, scratch: Path) -> Path:
    """A saved Bank Marketing model: `folder` if it holds one, else trained (and kept there)."""
    if folder is not None and (folder / "descriptor.json").exists():
        print(f"reusing the model in {folder}", flush=True)
        return folder
    target = folder or scratch / "model"
    print(f"training the Bank Marketing model ({budget_s:g} s AutoML budget)...", flush=True)
    settings = AutoMLSettings(target=BANK_MARKETING_TARGET, budget_s=budget_s, seed=seed)
    result = run_automl(load_bank_marketing(), settings)
    result.save(target)
    return target


def register(ws: LocalWorkspace, model_dir: Path) -> str:
    """Register a saved model folder as `bank-marketing:1` (through a completed run)."""
    run = ws.create_run("serving-benchmark", name="bank marketing model", kind="automl")
    key = f"runs/{run.id}/model"
    with ws.artifacts.stage_dir(key) as staged:
        shutil.copytree(model_dir, staged, dirs_exist_ok=True)
    with ws.store.write() as session:  # what recording an AutoML run does
        ws._row(session, run.id).model_path = key
    ws.finish_run(run.id, RunStatus.COMPLETED)
    return ws.register_model("bank-marketing", run.id).ref


def example_rows(model_dir: Path) -> tuple[list[Any], list[Any]]:
    """The model's example row, once and 1,000 times."""
    example = json.loads((model_dir / "descriptor.json").read_text())["example"]
    return [example], [example] * LARGE_ROWS


# --- the servers ----------------------------------------------------------------------------


@contextmanager
def shipyard_servers(
    ws: LocalWorkspace, model: str, one: list[Any], many: list[Any], args: argparse.Namespace
) -> Iterator[list[Server]]:
    """Three endpoints of the model: logging off, logging on, two workers."""
    variants = [
        ("shipyard", {"workers": 1, "logging": False}),
        ("shipyard, logging on", {"workers": 1, "logging": True, "sample_rate": args.sample}),
        ("shipyard, 2 workers", {"workers": 2, "logging": False}),
    ]
    servers = []
    try:
        for i, (label, settings) in enumerate(variants):
            name = f"bench-{i}"
            endpoint = ws.deploy_endpoint(name, model, auth_mode="key", **settings)
            headers = ws.endpoint_auth_header(name)
            servers.append(
                Server(
                    label,
                    endpoint.scoring_uri,
                    headers,
                    json.dumps({"data": one}).encode(),
                    json.dumps({"data": many}).encode(),
                    args.requests,
                    {"endpoint": name, "auth": "key", **settings},
                )
            )
        yield servers
    finally:
        for endpoint in ws.list_endpoints():
            ws.delete_endpoint(endpoint.name)


def save_mlflow_model(model_dir: Path, target: Path) -> Path:
    """The model as an `mlflow.pyfunc` model that wraps Shipyard's `TabularModel`."""
    import mlflow.pyfunc

    class ShipyardModel(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def load_context(self, context: Any) -> None:
            self.model = load_model(context.artifacts["model"])

        # no type hints: MLflow reads them as a signature, and these would not fit one
        def predict(self, context, model_input, params=None):  # noqa: ARG002
            return self.model.predict(model_input)

    mlflow.pyfunc.save_model(
        str(target),
        python_model=ShipyardModel(),
        artifacts={"model": str(model_dir)},
        pip_requirements=["shipyard"],  # skips MLflow's slow requirement inference
    )
    return target


@contextmanager
def mlflow_server(
    mlflow: str, model_dir: Path, one: list[Any], many: list[Any], args: argparse.Namespace
) -> Iterator[Server]:
    """`mlflow models serve` of the same model, one worker, until the block ends."""
    folder = Path(tempfile.mkdtemp(prefix="shipyard-bench-mlflow-"))
    path = save_mlflow_model(model_dir, folder / "model")
    port = free_port()
    command = [mlflow, "models", "serve", "-m", str(path), "-h", "127.0.0.1", "-p", str(port)]
    command += ["--env-manager", "local", "-w", "1"]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/ping", process, folder / "server.log")
        yield Server(
            "mlflow",
            f"http://127.0.0.1:{port}/invocations",
            {},
            json.dumps({"dataframe_records": one}).encode(),
            json.dumps({"dataframe_records": many}).encode(),
            args.mlflow_requests,
            {"workers": 1, "command": "mlflow models serve --env-manager local -w 1"},
        )
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # its group: the CLI and its uvicorn
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 180
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the MLflow server exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the MLflow server did not answer {url} in {timeout_s:.0f} s")


# --- the load generators --------------------------------------------------------------------


def ab_run(
    ab: str, server: Server, scratch: Path, concurrency: int, keep_alive: bool, limit_s: float
) -> dict[str, Any]:
    """One Apache Benchmark run of single-row requests."""
    payload, percentiles = scratch / "payload.json", scratch / "ab-percentiles.csv"
    payload.write_bytes(server.one_row)
    command = [ab, "-q", "-t", f"{limit_s:g}", "-n", str(server.requests), "-c", str(concurrency)]
    command += ["-k"] if keep_alive else []
    command += ["-p", str(payload), "-T", "application/json", "-e", str(percentiles)]
    for name, value in server.headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run([*command, server.url], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip()[-500:]}
    return parse_ab(done.stdout, percentiles)


def parse_ab(text: str, percentiles_csv: Path) -> dict[str, Any]:
    """Requests/s, counts and percentiles (fractional ms, from the `-e` file) of ab's output."""

    def number(label: str, default: float = 0.0) -> float:
        found = re.search(rf"^{re.escape(label)}:\s+([\d.]+)", text, re.MULTILINE)
        return float(found.group(1)) if found else default

    with percentiles_csv.open() as handle:
        table = {int(float(row[0])): float(row[1]) for row in list(csv.reader(handle))[1:]}
    longest = re.search(r"^\s*100%\s+(\d+)", text, re.MULTILINE)
    return {
        "requests_per_s": number("Requests per second"),
        "complete": int(number("Complete requests")),
        "failed": int(number("Failed requests")) + int(number("Non-2xx responses")),
        "time_taken_s": number("Time taken for tests"),
        "mean_ms": number("Time per request"),
        **{f"p{p}_ms": table.get(p) for p in (50, 90, 99)},
        "p100_ms": float(longest.group(1)) if longest else None,
        "keep_alive_requests": int(number("Keep-Alive requests")),
    }


def wrk_run(
    wrk: str, server: Server, scratch: Path, concurrency: int, duration_s: float
) -> dict[str, Any]:
    """One wrk run (keep-alive) of single-row requests, one load-generator thread."""
    script = scratch / "post.lua"
    headers = {"Content-Type": "application/json", **server.headers}
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{server.one_row.decode()}]==]"]
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    command = [wrk, "-t1", f"-c{concurrency}", f"-d{duration_s:g}s", "--latency", "-s", str(script)]
    done = subprocess.run([*command, server.url], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip()[-500:]}
    return parse_wrk(done.stdout)


def parse_wrk(text: str) -> dict[str, Any]:
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}

    def latency(p: int) -> float | None:
        found = re.search(rf"^\s*{p}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
        return float(found.group(1)) * units[found.group(2)] if found else None

    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in", text, re.MULTILINE)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    return {
        "requests_per_s": float(rps.group(1)) if rps else 0.0,
        "complete": int(total.group(1)) if total else 0,
        "failed": (int(non_2xx.group(1)) if non_2xx else 0)
        + (sum(int(g) for g in errors.groups()) if errors else 0),
        **{f"p{p}_ms": latency(p) for p in (50, 90, 99)},
    }


def bench_run(server: Server, concurrency: int, keep_alive: bool) -> dict[str, Any]:
    """One run of Shipyard's own load generator."""
    target = BenchTarget(server.url, server.one_row, server.headers)
    result = run_bench(target, BenchLoad(server.requests, concurrency, keep_alive))
    p = result.percentiles_ms()
    return {
        "requests_per_s": result.requests_per_s,
        "complete": result.complete,
        "failed": result.failed,
        "time_taken_s": result.time_taken_s,
        "mean_ms": result.mean_ms,
        "p50_ms": p[50],
        "p90_ms": p[90],
        "p99_ms": p[99],
        "p100_ms": p[100],
    }


def large_request_ms(server: Server, times: int) -> dict[str, Any]:
    """The median latency of a 1,000-row request, sent one at a time after two warm-ups."""
    target = BenchTarget(server.url, server.many_rows, server.headers)
    run_bench(target, BenchLoad(requests=2, concurrency=1))
    result = run_bench(target, BenchLoad(requests=times, concurrency=1))
    return {
        "rows": LARGE_ROWS,
        "requests": times,
        "failed": result.failed,
        "median_ms": statistics.median(result.latencies_ms) if result.latencies_ms else None,
        "min_ms": min(result.latencies_ms, default=None),
    }


def measure(
    server: Server, tools: dict[str, str | None], scratch: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Every measurement of one server, once."""
    rows: list[dict[str, Any]] = []
    warm_up = BenchTarget(server.url, server.one_row, server.headers)
    run_bench(warm_up, BenchLoad(requests=200, concurrency=8))
    for concurrency in args.concurrency:
        for keep_alive in (True, False):
            if tools["ab"]:
                figures = ab_run(
                    tools["ab"], server, scratch, concurrency, keep_alive, args.time_limit
                )
                tool = "ab"
            else:  # no ab: our own load generator measures the same
                figures, tool = bench_run(server, concurrency, keep_alive), "serving.bench"
            rows.append(_row(server, tool, concurrency, keep_alive, figures))
        if tools["wrk"]:
            figures = wrk_run(tools["wrk"], server, scratch, concurrency, args.wrk_seconds)
            rows.append(_row(server, "wrk", concurrency, True, figures))
    if tools["ab"]:
        rows.append(_row(server, "serving.bench", 8, True, bench_run(server, 8, True)))
    rows.append({"server": server.name, "tool": "1000 rows", **large_request_ms(server, 9)})
    return rows


def _row(
    server: Server, tool: str, concurrency: int, keep_alive: bool, figures: dict[str, Any]
) -> dict[str, Any]:
    return {
        "server": server.name,
        "tool": tool,
        "concurrency": concurrency,
        "keep_alive": keep_alive,
        **figures,
    }


# --- summary --------------------------------------------------------------------------------


def summarize(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Medians over the repeats, per server, tool, concurrency and keep-alive."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for s in samples:
        key = (s["server"], s["tool"], s.get("concurrency"), s.get("keep_alive"))
        groups.setdefault(key, []).append(s)
    summary = []
    for (server, tool, concurrency, keep_alive), runs in groups.items():
        row: dict[str, Any] = {
            "server": server,
            "tool": tool,
            "concurrency": concurrency,
            "keep_alive": keep_alive,
            "runs": len(runs),
            "errors": [r["error"] for r in runs if "error" in r],
        }
        for name in ("requests_per_s", "p50_ms", "p99_ms", "median_ms", "failed"):
            values = [r[name] for r in runs if r.get(name) is not None]
            if values:
                row[name] = statistics.median(values)
                if name == "requests_per_s":
                    row["requests_per_s_runs"] = values
        summary.append(row)
    return summary


def find(summary: list[dict[str, Any]], server: str, tool: str, c: Any, k: Any) -> dict[str, Any]:
    for row in summary:
        if (row["server"], row["tool"], row["concurrency"], row["keep_alive"]) == (
            server,
            tool,
            c,
            k,
        ):
            return row
    return {}


def verdicts(summary: list[dict[str, Any]], tool: str) -> dict[str, Any]:
    """The targets, judged on the medians of `tool` (ab, or serving.bench without it)."""
    at8 = find(summary, "shipyard", tool, 8, True)
    logged = find(summary, "shipyard, logging on", tool, 8, True)
    large = find(summary, "shipyard", "1000 rows", None, None)
    cost = (
        1 - logged["requests_per_s"] / at8["requests_per_s"]
        if at8.get("requests_per_s") and logged.get("requests_per_s")
        else None
    )
    out: dict[str, Any] = {
        "rps_at_8": {"value": at8.get("requests_per_s"), "target": TARGET_RPS_AT_8},
        "p99_ms_at_8": {"value": at8.get("p99_ms"), "target": TARGET_P99_MS_AT_8},
        "ms_1000_rows": {"value": large.get("median_ms"), "target": TARGET_1000_ROWS_MS},
        "logging_cost": {"value": cost, "target": TARGET_LOGGING_COST},
    }
    for name, item in out.items():
        value = item["value"]
        higher = name == "rps_at_8"
        item["met"] = (
            None
            if value is None
            else (value >= item["target"] if higher else value < item["target"])
        )
    mlflow = find(summary, "mlflow", tool, 8, True)
    if mlflow.get("requests_per_s") and at8.get("requests_per_s"):
        out["speedup_over_mlflow_at_8"] = at8["requests_per_s"] / mlflow["requests_per_s"]
    return out


def _measured(tool: str, summary: list[dict[str, Any]]) -> bool:
    return any(row["tool"] == tool for row in summary)


def print_table(summary: list[dict[str, Any]], judged: dict[str, dict[str, Any]]) -> None:
    header = (
        f"{'server':<22}{'tool':<15}{'c':>4}{'keep':>6}{'runs':>6}"
        f"{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in summary:
        if r["tool"] == "1000 rows":
            continue
        print(
            f"{r['server']:<22}{r['tool']:<15}{r['concurrency']:>4}"
            f"{'yes' if r['keep_alive'] else 'no':>6}{r['runs']:>6}"
            f"{r.get('requests_per_s', 0):>10.1f}{_ms(r.get('p50_ms')):>9}"
            f"{_ms(r.get('p99_ms')):>9}{r.get('failed', 0):>8.0f}"
        )
    print(f"\none {LARGE_ROWS}-row request (median latency of 9, one at a time, per repeat):")
    for r in summary:
        if r["tool"] == "1000 rows":
            print(f"  {r['server']:<22}{_ms(r.get('median_ms')):>9} ms")
    for tool, verdict in judged.items():
        print(f"\ntargets (Shipyard, 1 worker, logging off; {tool} medians):")
        for name, item in verdict.items():
            if isinstance(item, dict):
                met = {True: "met", False: "MISSED", None: "not measured"}[item["met"]]
                print(f"  {name:<26}{_num(item['value']):>10}  target {item['target']:g}  {met}")
            else:
                print(f"  {name:<26}{item:>10.1f}x")
    print(
        "\nab speaks HTTP/1.0, whose connections uvicorn (both servers) closes after each"
        "\nanswer: ab -k reuses none (see keep_alive_requests); wrk keeps them alive."
    )


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


# --- main -----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a saved model folder (trained there if empty)")
    parser.add_argument("--budget", type=float, default=60.0, help="AutoML budget, seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="repeats of every measurement")
    parser.add_argument("--requests", type=int, default=2000, help="requests per ab run")
    parser.add_argument("--mlflow-requests", type=int, default=500, help="the same, MLflow")
    parser.add_argument(
        "--time-limit", type=float, default=10.0, help="seconds per ab run, at most"
    )
    parser.add_argument("--wrk-seconds", type=float, default=5.0)
    parser.add_argument("--sample", type=float, default=0.0, help="payload sample when logging")
    parser.add_argument(
        "--concurrency", type=lambda s: tuple(int(c) for c in s.split(",")), default=CONCURRENCY
    )
    parser.add_argument("--no-mlflow", action="store_true", help="measure Shipyard only")
    parser.add_argument("--no-install", action="store_true", help="never apt-get install tools")
    parser.add_argument("--json", type=Path, default=RESULTS, help="JSON file to write")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    reused = args.model is not None and (args.model / "descriptor.json").exists()
    tools = {
        "ab": find_tool("ab", "apache2-utils", install=not args.no_install),
        "wrk": find_tool("wrk", "wrk", install=not args.no_install),
    }
    if not tools["ab"]:
        print("ab (apache2-utils) is not available: measuring with shipyard.serving.bench instead")
    mlflow = None if args.no_mlflow else find_mlflow()
    if mlflow is None and not args.no_mlflow:
        print("MLflow is not installed: `pip install mlflow` to measure it too; Shipyard only")
    os.environ.setdefault("SHIPYARD_SUPERVISOR_IDLE_S", "2")  # the background supervisor's
    samples: list[dict[str, Any]] = []
    loads: list[tuple[float, float, float]] = []
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="shipyard-bench-")))
        model_dir = trained_model(args.model, args.budget, args.seed, scratch)
        one, many = example_rows(model_dir)
        ws = stack.enter_context(LocalWorkspace.open(scratch / "workspace"))
        model = register(ws, model_dir)
        servers = stack.enter_context(shipyard_servers(ws, model, one, many, args))
        if mlflow:
            servers.append(stack.enter_context(mlflow_server(mlflow, model_dir, one, many, args)))
        for repeat in range(args.repeat):
            loads.append(os.getloadavg())
            for server in servers:
                print(f"repeat {repeat + 1}/{args.repeat}: {server.name}", flush=True)
                for row in measure(server, tools, scratch, args):
                    samples.append({**row, "repeat": repeat})
        descriptor = json.loads((model_dir / "descriptor.json").read_text())
        infos = {s.name: s.info for s in servers}
    tool = "ab" if tools["ab"] else "serving.bench"
    summary = summarize(samples)
    judged = {
        t: verdicts(summary, t) for t in (tool, "wrk", "serving.bench") if _measured(t, summary)
    }
    print_table(summary, judged)
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_each_repeat": loads,
            "note": "the load generators share the machine's cores with the servers",
        },
        "tools": {k: bool(v) for k, v in tools.items()} | {"mlflow": _version("mlflow")},
        "model": {
            "learner": descriptor.get("learner"),
            "members": descriptor.get("members"),
            "libraries": descriptor.get("libraries"),
        },
        "servers": infos,
        "settings": {
            **{k: v for k, v in vars(args).items() if not isinstance(v, Path)},
            "model_reused": reused,
        },
        "targets": judged,
        "summary": summary,
        "samples": samples,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str))
    print(f"saved {args.json}")


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
