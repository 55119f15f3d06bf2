"""What `shipyard demo` does, step by step (`demo.py` declares the command and its options).

A small composition of the steps other commands offer (register a dataset, run AutoML
recorded in the workspace, register the best model, load it and predict, deploy it as a
key-auth endpoint, switch logging on, call it, benchmark it, show its telemetry; then
serve the workspace over REST and use it as a service principal), so each new area of
the story adds one step here. The endpoint and the server are left running unless
`--exit`. Apart from the command so that the engine loads only when the demo runs.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from rich.console import Console
from rich.table import Table

from shipyard.automl import AutoMLResult, AutoMLSettings
from shipyard.cli import render
from shipyard.cli._automl_run import live_progress, save_result, show_result
from shipyard.cli._demo_server import PRINCIPAL, PRINCIPAL_FILE, find_or_start, team_story
from shipyard.cli._scoring import load_quietly, model_input, predictions
from shipyard.cli._workspace import open_local_workspace, workspace_dir, workspace_flags
from shipyard.cli.dataset import balance_table
from shipyard.cli.endpoint import telemetry_table
from shipyard.core.schemas import Dataset, Endpoint, ModelVersion
from shipyard.datasets import BANK_MARKETING_CITATION, BANK_MARKETING_TARGET, load_bank_marketing
from shipyard.serving.bench import BenchLoad
from shipyard.workspace import LocalWorkspace
from shipyard.workspace.automl import AutoMLRun

if TYPE_CHECKING:
    from shipyard.cli.demo import DemoOptions

HELD_BACK_PER_CLASS = 3
DEMO_METRIC = "AUC_weighted"  # about 11% "yes": accuracy would praise always saying "no"
DATASET_NAME = "bankmarketing"
EXPERIMENT_NAME = "bankmarketing-automl"
MODEL_NAME = "bankmarketing-model"
ENDPOINT_NAME = "bankmarketing"
BENCH_REQUESTS = 1000
BENCH_CLIENTS = 8
_SHOWN_FEATURES = 2


@dataclass(frozen=True)
class Recorded:
    """What the demo leaves in the workspace."""

    dataset: Dataset
    automl: AutoMLRun
    model: ModelVersion


def tell(options: DemoOptions) -> None:
    """The story of `shipyard demo` with its `options`, on the bundled data."""
    budget, output, max_trials = options.budget, options.output, options.max_trials
    exit_when_done, workspace, db = options.exit_when_done, options.workspace, options.db
    console, err = render.consoles()
    training, held_back = hold_back(load_bank_marketing())
    console.rule("Shipyard demo: Bank Marketing (will the client subscribe a term deposit?)")
    console.print(
        f"{len(training):,} rows to train on, {len(held_back)} held back to score; "
        f"budget {budget:.0f}s, primary metric {DEMO_METRIC}",
        highlight=False,
    )
    settings = AutoMLSettings(
        target=BANK_MARKETING_TARGET,
        primary_metric=DEMO_METRIC,
        budget_s=budget,
        max_trials=max_trials,
    )
    flags = workspace_flags(workspace, db)
    folder = workspace_dir(workspace)
    # With --exit, what the demo started stops however it ends (a failed step included).
    with contextlib.ExitStack() as started:
        with open_local_workspace(workspace, db) as ws:
            recorded = record_story(ws, console, training, settings)
            result = recorded.automl.result
            show_result(console, result)
            saved = save_result(console, result, output)
            score_held_back(console, err, saved, held_back, result)
            show_recorded(console, recorded, folder, flags)
            endpoint = serve_story(ws, console, recorded.model, held_back)
        if exit_when_done:
            started.callback(_delete_endpoint, workspace, db, endpoint.name)
        console.rule("A team: the workspace over REST, used by a service principal")
        server = find_or_start(console, folder, db)
        if exit_when_done:
            started.callback(server.stop)
        team_story(console, folder, recorded.dataset.ref, server)
    if exit_when_done:
        render.say(console, f"Endpoint {endpoint.name} and the server stopped (--exit).")
    console.print(f"Data: {BANK_MARKETING_CITATION}", soft_wrap=True, highlight=False)
    if not exit_when_done:
        render.say(
            console,
            f"Endpoint {endpoint.name} keeps running at {endpoint.scoring_uri}, and the "
            f"Shipyard server at {server.url} (Swagger UI: {server.url}/docs). Try:",
            f"  shipyard endpoint show {endpoint.name}{flags}      (client code)",
            f"  shipyard endpoint bench {endpoint.name} -n 2000 -c 8{flags}",
            f"  shipyard run list --config {folder / PRINCIPAL_FILE}   (as {PRINCIPAL})",
            f"  shipyard endpoint delete {endpoint.name}{flags}    (stops it)",
            f"  kill {server.pid}    (stops the server)"
            if server.pid
            else "  (the server was already running)",
        )


def _delete_endpoint(workspace: Path | None, db: str | None, name: str) -> None:
    with open_local_workspace(workspace, db) as ws:
        ws.delete_endpoint(name)


def record_story(
    ws: LocalWorkspace, console: Console, training: pd.DataFrame, settings: AutoMLSettings
) -> Recorded:
    """Register the data, run AutoML on it with the live view, register the best model."""
    dataset = ws.register_dataset(
        DATASET_NAME,
        training,
        description="Bank Marketing (UCI), without the rows the demo holds back to score",
        target=BANK_MARKETING_TARGET,
    )
    render.say(
        console,
        f"Registered dataset {dataset.ref}: {dataset.rows:,} rows, {dataset.columns} columns",
    )
    balance = ws.profile_dataset(dataset.ref, BANK_MARKETING_TARGET).class_balance
    if balance:
        console.print(balance_table(BANK_MARKETING_TARGET, balance))
    with live_progress(console, settings) as progress:
        automl = ws.automl(dataset.ref, settings, experiment=EXPERIMENT_NAME, callback=progress)
    model = ws.register_model(
        MODEL_NAME, automl.id, description="Will the client subscribe a term deposit?"
    )
    return Recorded(dataset=dataset, automl=automl, model=model)


def serve_story(
    ws: LocalWorkspace, console: Console, model: ModelVersion, held_back: pd.DataFrame
) -> Endpoint:
    """Deploy the model with key auth, switch logging on, call it, benchmark it, telemetry."""
    existing = {e.name for e in ws.list_endpoints()}
    if ENDPOINT_NAME in existing:
        endpoint = ws.update_endpoint(ENDPOINT_NAME, model=model.ref)
        render.say(console, f"Endpoint {ENDPOINT_NAME} rolled over to {model.ref}")
    else:
        with console.status(f"Deploying {model.ref} as endpoint {ENDPOINT_NAME} (key auth)"):
            endpoint = ws.deploy_endpoint(ENDPOINT_NAME, model.ref, auth_mode="key")
        render.say(
            console, f"Endpoint {ENDPOINT_NAME} is {endpoint.state.value}: {endpoint.scoring_uri}"
        )
    endpoint = ws.update_endpoint(ENDPOINT_NAME, logging=True, sample_rate=0.01)
    render.say(console, "Request logging switched on (no restart)")
    two = held_back.groupby(BANK_MARKETING_TARGET, group_keys=False).head(1)
    records = json.loads(two.drop(columns=BANK_MARKETING_TARGET).to_json(orient="records"))
    answer = ws.invoke_endpoint(ENDPOINT_NAME, records, method="predict_proba")
    table = Table(title="Two records scored over REST (POST /score)", title_justify="left")
    for column in ("actual", *answer["result"][0]):
        table.add_column(column)
    for actual, probabilities in zip(two[BANK_MARKETING_TARGET], answer["result"], strict=True):
        table.add_row(str(actual), *(f"{p:.3f}" for p in probabilities.values()))
    console.print(table)
    with console.status(f"Benchmark: {BENCH_REQUESTS} one-row requests, {BENCH_CLIENTS} clients"):
        bench = ws.bench_endpoint(
            ENDPOINT_NAME, BenchLoad(requests=BENCH_REQUESTS, concurrency=BENCH_CLIENTS)
        )
    percentiles = bench.percentiles_ms()
    console.print(
        render.fields_table(
            f"Benchmark of endpoint {ENDPOINT_NAME}",
            {
                "requests per second": f"{bench.requests_per_s:,.0f}",
                "failed requests": bench.failed,
                "latency p50": f"{render.fmt(percentiles.get(50), 2)} ms",
                "latency p99": f"{render.fmt(percentiles.get(99), 2)} ms",
            },
        )
    )
    time.sleep(1.5)  # the request log is written in batches, off the request path
    summary = ws.endpoint_telemetry(ENDPOINT_NAME, since="5m")
    console.print(telemetry_table(summary, f"Telemetry of endpoint {ENDPOINT_NAME}"))
    return endpoint


def show_recorded(console: Console, recorded: Recorded, folder: Path, flags: str) -> None:
    """What the demo recorded in the workspace, and the commands that show each (one a line)."""
    run, model, dataset = recorded.automl.run, recorded.model, recorded.dataset
    render.say(
        console,
        f"Recorded in the workspace {folder}: dataset {dataset.ref}, AutoML run {run.id} "
        f"(experiment {run.experiment}), model {model.ref}. Look at them with:",
        f"  shipyard dataset show {dataset.ref}{flags}",
        f"  shipyard run show {run.id}{flags}",
        f"  shipyard model show {model.ref}{flags}",
    )


def hold_back(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows to train on, and a few of each class kept aside to score at the end."""
    held_back = frame.groupby(BANK_MARKETING_TARGET, group_keys=False).sample(
        HELD_BACK_PER_CLASS, random_state=0
    )
    return frame.drop(index=held_back.index), held_back


def score_held_back(
    console: Console, err: Console, folder: Path, rows: pd.DataFrame, result: AutoMLResult
) -> None:
    """Load the saved model back and show its predictions next to the true outcomes."""
    model = load_quietly(folder, err)
    scored = predictions(model, model_input(model, rows, err), proba=True)
    shown = [str(row["column"]) for row in result.importance[:_SHOWN_FEATURES]]
    table = Table(title=f"The saved model on {len(rows)} held-back rows", title_justify="left")
    for name in [*shown, "actual", *scored.columns]:
        table.add_column(name)
    target = result.settings.target
    for (_, row), (_, out) in zip(rows.iterrows(), scored.iterrows(), strict=True):
        cells = [str(row[c]) for c in shown] + [str(row[target])]
        cells += [f"{v:.3f}" if isinstance(v, float) else str(v) for v in out.tolist()]
        table.add_row(*cells)
    console.print(table)
