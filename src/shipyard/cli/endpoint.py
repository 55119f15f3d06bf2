"""`shipyard endpoint`: deploy a registered model as a REST endpoint, call it, watch it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shipyard.cli import render
from shipyard.cli._options import JsonOption
from shipyard.cli._workspace import (
    ConfigOption,
    DbOption,
    ServerOption,
    WorkspaceOption,
    open_workspace,
    workspace_flags,
)
from shipyard.core.errors import InvalidInputError

if TYPE_CHECKING:
    from shipyard.core.schemas import Endpoint, TelemetrySummary
    from shipyard.serving.bench import BenchResult

app = typer.Typer(
    name="endpoint",
    help="Real-time endpoints: a registered model served over authenticated REST.",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="Endpoint name.")]
STATE_STYLES = {"healthy": "green", "creating": "cyan", "unhealthy": "yellow", "failed": "red"}


def _on_off(value: str | None) -> bool | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in ("on", "true", "yes", "1"):
        return True
    if lowered in ("off", "false", "no", "0"):
        return False
    raise InvalidInputError(f"--logging takes on or off, not {value!r}")


@app.command("deploy")
def deploy(
    name: NameArgument,
    model: Annotated[
        str, typer.Option("--model", metavar="MODEL[:VERSION]", help="The registered model.")
    ],
    auth: Annotated[
        str, typer.Option("--auth", metavar="key|token|none", help="How callers authenticate.")
    ] = "key",
    workers: Annotated[int, typer.Option(min=1, max=16, help="Serving processes.")] = 1,
    logging: Annotated[
        bool, typer.Option("--logging/--no-logging", help="Record every request (telemetry).")
    ] = False,
    sample_rate: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of logged requests whose payload is kept."),
    ] = 0.0,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default: a free one).")
    ] = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deploy MODEL as endpoint NAME; returns once it answers its health check.

    The endpoint keeps running after this command exits (a background supervisor owns
    it, restarting it if it dies); `shipyard endpoint delete NAME` stops it.
    """
    with open_workspace(workspace, db, server, config) as ws:
        endpoint = ws.deploy_endpoint(
            name,
            model,
            auth_mode=auth,
            workers=workers,
            logging=logging,
            sample_rate=sample_rate,
            host=host,
            port=port,
        )
    if as_json:
        render.echo_json(endpoint)
        return
    console = Console()
    console.print(f"Endpoint {endpoint.name} is {endpoint.state.value}: {endpoint.scoring_uri}")
    flags = workspace_flags(workspace, db, server, config)
    console.print(f"Call it: shipyard endpoint show {name}{flags}  (client code and keys)")


@app.command("list")
def list_endpoints(
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List endpoints with their state, model and scoring URI."""
    with open_workspace(workspace, db, server, config) as ws:
        endpoints = ws.list_endpoints()
    if as_json:
        render.echo_json(render.listing(endpoints, len(endpoints)))
        return
    table = Table(title="Endpoints")
    for column in ("name", "state", "model", "auth", "logging", "scoring URI"):
        table.add_column(column)
    for e in endpoints:
        table.add_row(
            e.name,
            f"[{STATE_STYLES.get(e.state.value, '')}]{e.state.value}[/]",
            e.model,
            e.auth_mode,
            "on" if e.logging else "off",
            e.scoring_uri,
        )
    Console().print(table)


@app.command("show")
def show(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show an endpoint: state, URIs, model, auth, logging, and client code to call it."""
    with open_workspace(workspace, db, server, config) as ws:
        endpoint = ws.get_endpoint(name)
        example = ws.get_model(endpoint.model).descriptor.get("example") or {}
    if as_json:
        render.echo_json(endpoint)
        return
    from rich.syntax import Syntax  # Pygments: for this command only

    console = Console()
    console.print(render.fields_table(f"Endpoint {name}", _fields(endpoint)))
    flags = workspace_flags(workspace, db, server, config)
    console.print(
        f"\nPython (requests); the key comes from `shipyard endpoint keys {name}{flags}`:"
    )
    console.print(Syntax(python_client(endpoint, example), "python", word_wrap=True))
    console.print("\ncurl:")
    console.print(Syntax(curl_client(endpoint, example), "bash", word_wrap=True))


def _fields(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "state": endpoint.state.value,
        "model": endpoint.model,
        "scoring URI": endpoint.scoring_uri,
        "swagger URI": endpoint.swagger_uri,
        "auth": endpoint.auth_mode,
        "logging": f"on (payload sample {endpoint.sample_rate:.0%})" if endpoint.logging else "off",
        "workers": endpoint.workers,
        "restarts": endpoint.restarts,
        "failure": endpoint.failure_reason or "—",
        "healthy since": render.when(endpoint.healthy_at),
    }


def _auth_line(endpoint: Endpoint) -> str:
    if endpoint.auth_mode == "none":
        return ""
    what = "KEY" if endpoint.auth_mode == "key" else "TOKEN"
    return f'headers["Authorization"] = "Bearer " + os.environ["SHIPYARD_{what}"]\n'


def python_client(endpoint: Endpoint, example: dict[str, Any]) -> str:
    """Ready-to-run Python that scores the example row at the endpoint."""
    body = json.dumps({"data": [example]}, indent=4, default=str)
    return (
        "import os\n\nimport requests\n\n"
        f'url = "{endpoint.scoring_uri}"\n'
        'headers = {"Content-Type": "application/json"}\n'
        f"{_auth_line(endpoint)}"
        f"body = {body}\n"
        "response = requests.post(url, json=body, headers=headers, timeout=30)\n"
        "response.raise_for_status()\n"
        'print(response.json()["result"])\n'
    )


def curl_client(endpoint: Endpoint, example: dict[str, Any]) -> str:
    """A curl command line that scores the example row."""
    body = json.dumps({"data": [example]}, default=str).replace("'", "'\\''")
    auth = ""
    if endpoint.auth_mode != "none":
        what = "KEY" if endpoint.auth_mode == "key" else "TOKEN"
        auth = f' -H "Authorization: Bearer $SHIPYARD_{what}"'
    return (
        f"curl -s -X POST {endpoint.scoring_uri} -H 'Content-Type: application/json'{auth} "
        f"-d '{body}'"
    )


@app.command("update")
def update(
    name: NameArgument,
    model: Annotated[
        str | None,
        typer.Option("--model", metavar="MODEL[:VERSION]", help="Roll over to this model."),
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=16, help="Serving processes.")] = None,
    logging: Annotated[
        str | None, typer.Option("--logging", metavar="on|off", help="Request logging.")
    ] = None,
    sample_rate: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Share of logged requests whose payload is kept."),
    ] = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a running endpoint with no downtime: model version, workers, logging."""
    with open_workspace(workspace, db, server, config) as ws:
        endpoint = ws.update_endpoint(
            name, model=model, workers=workers, logging=_on_off(logging), sample_rate=sample_rate
        )
    if as_json:
        render.echo_json(endpoint)
        return
    logged = "on" if endpoint.logging else "off"
    Console().print(
        f"Endpoint {name}: {endpoint.model}, {endpoint.workers} worker(s), logging {logged}"
    )


@app.command("delete")
def delete(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
) -> None:
    """Stop the endpoint's processes and free its port."""
    with open_workspace(workspace, db, server, config) as ws:
        ws.delete_endpoint(name)
    Console().print(f"Endpoint {name} deleted.")


@app.command("keys")
def keys(
    name: NameArgument,
    regenerate: Annotated[
        str | None,
        typer.Option(
            "--regenerate",
            metavar="primary|secondary",
            help="Replace this key; the old one stops working at once.",
        ),
    ] = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show (or regenerate) the endpoint's two keys. Workspace owner only."""
    with open_workspace(workspace, db, server, config) as ws:
        pair = (
            ws.regenerate_endpoint_key(name, regenerate) if regenerate else ws.endpoint_keys(name)
        )
    if as_json:
        render.echo_json(pair)
        return
    console = Console()
    console.print(f"primary:   {pair.primary_key}", highlight=False, soft_wrap=True)
    console.print(f"secondary: {pair.secondary_key}", highlight=False, soft_wrap=True)


@app.command("token")
def token(
    name: NameArgument,
    ttl: Annotated[int, typer.Option(min=1, max=86_400, help="Lifetime in seconds.")] = 3600,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
) -> None:
    """Print a short-lived bearer token for a token-auth endpoint."""
    with open_workspace(workspace, db, server, config) as ws:
        typer.echo(ws.endpoint_token(name, ttl_s=ttl))


@app.command("logs")
def logs(
    name: NameArgument,
    tail: Annotated[int, typer.Option(min=1, help="Show the last N lines.")] = 100,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
) -> None:
    """The service's own log: start-up, errors, restarts."""
    with open_workspace(workspace, db, server, config) as ws:
        for line in ws.endpoint_logs(name, tail=tail):
            typer.echo(line)


@app.command("telemetry")
def telemetry(
    name: NameArgument,
    since: Annotated[str, typer.Option(metavar="DURATION", help="30s, 15m, 1h, 2d, 1w.")] = "1h",
    bucket: Annotated[
        int | None, typer.Option(metavar="SECONDS", min=1, help="Bucket width (default: ~24).")
    ] = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Requests, error rate and p50/p95/p99 latency per time bucket (needs logging on)."""
    with open_workspace(workspace, db, server, config) as ws:
        endpoint = ws.get_endpoint(name)
        summary = ws.endpoint_telemetry(name, since=since, bucket_s=bucket)
    if as_json:
        render.echo_json(summary.to_dict())
        return
    table = telemetry_table(summary, f"Endpoint {name}, last {since}")
    console = Console()
    console.print(table)
    if not endpoint.logging:
        render.warn(console, f"logging is off: shipyard endpoint update {name} --logging on")


def telemetry_table(summary: TelemetrySummary, title: str) -> Table:
    """Requests, errors and latency percentiles per bucket, then the total."""
    table = Table(title=f"{title}, {summary.bucket_s} s buckets", title_justify="left")
    for column in ("from", "requests", "errors", "error rate", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="right" if column != "from" else "left")
    for b in [*summary.buckets, summary.total]:
        table.add_row(
            "total" if b is summary.total else render.when(b.start),
            str(b.requests),
            str(b.failed),
            f"{b.error_rate:.1%}",
            render.fmt(b.p50_ms, 2),
            render.fmt(b.p95_ms, 2),
            render.fmt(b.p99_ms, 2),
        )
    return table


@app.command("invoke")
def invoke(
    name: NameArgument,
    data: Annotated[
        Path,
        typer.Option("--data", metavar="rows.json|rows.csv", help="Rows to score.", exists=False),
    ],
    proba: Annotated[bool, typer.Option("--proba", help="Class probabilities.")] = False,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
) -> None:
    """Score the rows of a JSON or CSV file at the endpoint and print the answer."""
    records = read_records(data)
    with open_workspace(workspace, db, server, config) as ws:
        answer = ws.invoke_endpoint(name, records, method="predict_proba" if proba else "predict")
    render.echo_json(answer)


@app.command("bench")
def bench(
    name: NameArgument,
    requests: Annotated[
        int, typer.Option("-n", "--requests", min=1, max=10_000_000, help="Requests to send.")
    ] = 1000,
    concurrency: Annotated[
        int, typer.Option("-c", "--concurrency", min=1, max=1000, help="Concurrent clients.")
    ] = 8,
    rows: Annotated[
        int, typer.Option(min=1, max=10_000, help="Rows per request (the model's example).")
    ] = 1,
    proba: Annotated[bool, typer.Option("--proba", help="Ask for class probabilities.")] = False,
    keep_alive: Annotated[
        bool,
        typer.Option("--keep-alive/--no-keep-alive", help="Reuse each client's connection."),
    ] = True,
    emit_ab: Annotated[
        Path | None,
        typer.Option(
            "--emit-ab",
            metavar="DIR",
            help="Write payload.json and ab.sh (Apache Benchmark, same request) and exit.",
        ),
    ] = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Measure the endpoint: requests/s, latency percentiles, failed requests (as ab does).

    Each of the -c clients sends the model's example row on its own connection until -n
    requests are answered; a non-2xx answer or a broken exchange counts as failed. The
    load generator runs on this machine, so it shares the CPU with a local endpoint.
    """
    from shipyard.serving.bench import BenchLoad, write_ab_files  # asyncio: for this command

    load = BenchLoad(requests=requests, concurrency=concurrency, keep_alive=keep_alive)
    with open_workspace(workspace, db, server, config) as ws:
        if emit_ab is not None:
            target = ws.endpoint_bench_target(name, rows=rows, proba=proba)
        else:
            result = ws.bench_endpoint(name, load, rows=rows, proba=proba)
    if emit_ab is not None:
        script, command = write_ab_files(target, load, emit_ab)
        out, err = render.consoles()
        if target.headers:
            render.warn(
                err, f"{script} holds the endpoint's credentials (mode 600): keep it private"
            )
        render.say(out, f"wrote {emit_ab / 'payload.json'} and {script}; from {emit_ab}, run:")
        render.say(out, command)
        return
    if as_json:
        render.echo_json(result.to_dict())
        return
    console = Console()
    console.print(render.fields_table(f"Benchmark of endpoint {name}", _bench_fields(result)))
    percentiles = Table(title="Requests served within (ms)", title_justify="left")
    for p in result.percentiles_ms():
        percentiles.add_column(f"{p}%", justify="right")
    percentiles.add_row(*(render.fmt(v, 2) for v in result.percentiles_ms().values()))
    console.print(percentiles)
    if result.failed:
        render.warn(console, f"{result.failed} request(s) failed: {_failures(result)}")


def _bench_fields(result: BenchResult) -> dict[str, Any]:
    received, sent = result.transfer_kb_s()
    return {
        "URL": result.url,
        "concurrency level": result.concurrency,
        "keep-alive": "yes" if result.keep_alive else "no",
        "time taken": f"{result.time_taken_s:.3f} s",
        "complete requests": result.complete,
        "failed requests": result.failed,
        "non-2xx responses": result.non_2xx or None,
        "total transferred": f"{result.bytes_received:,} bytes",
        "body transferred": f"{result.body_bytes_received:,} bytes",
        "requests per second": f"{result.requests_per_s:,.1f} per second (mean)",
        "time per request": f"{render.fmt(result.time_per_request_ms, 3)} ms (mean)",
        "time per request, all clients": (
            f"{render.fmt(result.time_per_request_all_ms, 3)} ms (mean, across all "
            "concurrent requests)"
        ),
        "latency": f"{render.fmt(result.mean_ms, 3)} ms (mean)",
        "transfer rate": f"{received:,.1f} KB/s received, {sent:,.1f} KB/s sent",
    }


def _failures(result: BenchResult) -> str:
    parts = [f"{n} x {status}" for status, n in sorted(result.statuses.items()) if status >= 300]
    if result.errors:
        parts.append(f"{result.errors} broken ({result.first_error})")
    return ", ".join(parts)


def read_records(path: Path) -> list[dict[str, Any]]:
    """Rows from a JSON file (a list of objects, or {"data": [...]}) or a table file."""
    if path.suffix.lower() != ".json":
        from shipyard.workspace.files import read_table  # pandas: for table files only

        frame = read_table(path)
        rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
        return rows
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise InvalidInputError(f"no such file: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path} is not valid JSON: {exc}") from None
    if isinstance(value, dict):
        inputs = value.get("Inputs")
        value = inputs.get("data") if isinstance(inputs, dict) else value.get("data")
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value) or not value:
        raise InvalidInputError(f'{path} must hold a list of rows (objects) or {{"data": [...]}}')
    return value
