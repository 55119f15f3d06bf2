"""The scoring app: a lean ASGI callable over the pure scoring core.

`create_scoring_app(config_path, load_model)` reads the endpoint's config, loads its model
and returns the app; uvicorn (or any ASGI server) runs it. No framework sits between the
server and the routes: a request costs a dict lookup to route, one `os.stat` to notice a
changed config, the credential check, orjson both ways and the model call, which
concurrent requests share (`batching`).

Routes: `POST /score` (`?method=predict_proba`), `POST /invocations`,
`POST /v2/models/{name}/infer`, `GET /v2/models/{name}`, `GET /swagger.json` and
`GET /metrics` need credentials unless the auth mode is `none`; `GET /health`,
`GET /v2/health/live|ready`, `GET /v2/models/{name}/ready` and `GET /v2` are public.
Errors are `{"error": "..."}`: 400 unreadable body, 401 credentials (with
`WWW-Authenticate: Bearer`), 404 route or model name, 405 method, 413 body over
`max_body_bytes`, 422 rows that do not fit the model, 500 a model failure on valid rows
(`"type": "ModelError"`) or a bug (`"type": "ServerError"`); a 500 also names its
`request_id`. The statuses are the error classes' (`core/errors.py`).
Every answer carries `x-request-id` (the caller's, if it sent a usable one).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import orjson

from shipyard.core.errors import AuthenticationError, NotFoundError, ServerError
from shipyard.core.ids import is_request_id
from shipyard.serving._asgi import (
    ClientGoneError,
    Receive,
    Scope,
    Send,
    decode_json,
    query_param,
    read_body,
)
from shipyard.serving.batching import MicroBatcher
from shipyard.serving.config import EndpointConfig
from shipyard.serving.openapi import build_openapi
from shipyard.serving.payloads import (
    ScoringRequest,
    parse_invocations,
    parse_score,
    parse_v2,
)
from shipyard.serving.predict import (
    invocations_answer,
    message_of,
    score_answer,
    status_of,
    type_of,
    v2_answer,
    v2_request_id,
)
from shipyard.serving.runtime import ModelLoader, Runtime, ServedModel
from shipyard.telemetry.metrics import CONTENT_TYPE as METRICS_TYPE
from shipyard.telemetry.metrics import ServingMetrics
from shipyard.telemetry.request_log import RequestLog

Answer = tuple[int, bytes, bytes]  # status, body, content type

JSON_TYPE = b"application/json"
WATCH_INTERVAL_S = 0.5
CLIENT_GONE = 499  # recorded, never sent: the nginx convention for "client closed request"
_V2_PREFIX = "/v2/models/"

logger = logging.getLogger("shipyard.serving")


class _Call:
    """One request as the routes see it (slots: made once per request)."""

    __slots__ = (
        "authorization",
        "caller",
        "error",
        "length",
        "name",
        "receive",
        "request_id",
        "rows",
        "sample",
        "scope",
    )

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope, self.receive = scope, receive
        self.authorization: bytes | None = None
        self.length: bytes | None = None
        self.request_id = b""
        self.name = ""  # the model name of a /v2/models/{name}/... route
        self.caller: str | None = None
        self.rows = 0
        self.error: str | None = None
        self.sample: tuple[Any, Any] | None = None


Handler = Callable[[_Call], Awaitable[Answer]]


class _Route(NamedTuple):
    method: str
    handler: Handler
    label: str  # the route template: the metrics label and the log's `route`
    guarded: bool  # needs credentials unless the auth mode is none
    scoring: bool  # recorded in the request log


def create_scoring_app(config_path: str | Path, load_model: ModelLoader) -> ScoringApp:
    """The ASGI app of the endpoint whose config is at `config_path`, its model loaded.

    Args:
        load_model: reads a model folder (the config's `model_path`) into a `ScoringModel`.
    """
    app = ScoringApp(Runtime.open(config_path, load_model))
    config = app.runtime.config
    logger.info(
        "endpoint %s: serving model %s (auth %s, request logging %s, pid %d)",
        config.name,
        app.runtime.served.ref,
        config.auth_mode,
        "on" if config.logging else "off",
        os.getpid(),
    )
    return app


class ScoringApp:
    """The scoring service of one endpoint, as an ASGI application."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.metrics = ServingMetrics()
        self.batcher = MicroBatcher()
        self.request_log: RequestLog | None = None
        self._random = random.Random()
        self._ids = itertools.count(1)
        self._id_prefix = secrets.token_hex(4)
        self._openapi: tuple[ServedModel, str, str, bytes] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._routes = {
            "/score": _Route("POST", self._score, "/score", True, True),
            "/invocations": _Route("POST", self._invocations, "/invocations", True, True),
            "/health": _Route("GET", self._health, "/health", False, False),
            "/v2/health/live": _Route("GET", self._live, "/v2/health/live", False, False),
            "/v2/health/ready": _Route("GET", self._ready, "/v2/health/ready", False, False),
            "/v2": _Route("GET", self._server_metadata, "/v2", False, False),
            "/swagger.json": _Route("GET", self._swagger, "/swagger.json", True, False),
            "/metrics": _Route("GET", self._metrics, "/metrics", True, False),
        }
        self._model_routes = {  # /v2/models/{name}/<tail>
            "infer": _Route("POST", self._v2_infer, "/v2/models/{name}/infer", True, True),
            "ready": _Route("GET", self._ready, "/v2/models/{name}/ready", False, False),
            "": _Route("GET", self._v2_metadata, "/v2/models/{name}", True, False),
        }
        runtime.on_config = self._config_changed
        runtime.on_model = self._model_changed
        self._config_changed(runtime.config)
        self._model_changed(runtime.served)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    def close(self) -> None:
        """Write the request log's last records and stop its thread."""
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        if self.request_log is not None:
            self.request_log.close()
            self.request_log = None

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started, wall = time.perf_counter(), time.time()
        call = _Call(scope, receive)
        request_id = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                call.authorization = value
            elif key == b"content-length":
                call.length = value
            elif key == b"x-request-id":
                request_id = value
        if request_id is None or not is_request_id(request_id):
            request_id = f"{self._id_prefix}-{next(self._ids):x}".encode()
        call.request_id = request_id
        self.runtime.refresh()
        route = self._route(scope["path"], call)
        headers = [(b"x-request-id", request_id)]
        if route is None:
            status, body, kind = _error(
                NotFoundError.status, f"no route {scope['method']} {scope['path']}"
            )
            label = "unmatched"
        else:
            label = route.label
            status, body, kind = await self._answer(route, call, headers)
        headers.append((b"content-type", kind))
        headers.append((b"content-length", str(len(body)).encode()))
        if status != CLIENT_GONE:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        latency_s = time.perf_counter() - started
        self.metrics.observe(label, status, latency_s, call.rows)
        log = self.request_log
        if log is not None and route is not None and route.scoring:
            log.record(self._entry(call, label, status, latency_s, wall))

    def _route(self, path: str, call: _Call) -> _Route | None:
        route = self._routes.get(path)
        if route is not None or not path.startswith(_V2_PREFIX):
            return route
        rest = path[len(_V2_PREFIX) :]
        name, _, tail = rest.partition("/")
        call.name = name
        if not name:
            return None
        return self._model_routes.get(tail)

    async def _answer(
        self, route: _Route, call: _Call, headers: list[tuple[bytes, bytes]]
    ) -> Answer:
        if call.scope["method"] != route.method:
            headers.append((b"allow", route.method.encode()))
            return _error(405, f"{call.scope['method']} is not allowed here; use {route.method}")
        try:
            if route.guarded:
                call.caller = self.runtime.auth.caller(call.authorization)
            return await route.handler(call)
        except AuthenticationError as exc:
            headers.append((b"www-authenticate", b'Bearer realm="shipyard"'))
            return _error(exc.status, str(exc))
        except Exception:
            rid = call.request_id.decode()
            logger.exception("request %s failed", rid)
            message = f"internal error; request id {rid} (see the endpoint's logs)"
            return _error(ServerError.status, message, ServerError.__name__, rid)

    async def _score(self, call: _Call) -> Answer:
        method = query_param(call.scope, "method")
        return await self._scoring(
            call,
            lambda document: parse_score(document, method),
            lambda out, request, served, _: score_answer(out, request.method, served.classes),
        )

    async def _invocations(self, call: _Call) -> Answer:
        return await self._scoring(
            call,
            parse_invocations,
            lambda out, request, served, _: invocations_answer(out, request.method, served.classes),
        )

    async def _v2_infer(self, call: _Call) -> Answer:
        if self._unknown_model(call.name):
            return _error(NotFoundError.status, self._unknown_model(call.name))

        def render(out: np.ndarray, request: ScoringRequest, served: ServedModel, doc: Any) -> Any:
            rid = v2_request_id(doc) or call.request_id.decode()
            model = served.name_version
            return v2_answer(out, request.method, served.classes, model=model, request_id=rid)

        return await self._scoring(call, parse_v2, render)

    async def _scoring(
        self,
        call: _Call,
        parse: Callable[[Any], ScoringRequest],
        render: Callable[[np.ndarray, ScoringRequest, ServedModel, Any], Any],
    ) -> Answer:
        config = self.runtime.config
        document: Any = None
        try:
            body = await read_body(call.receive, call.length, config.max_body_bytes)
            document = decode_json(body)
            request = parse(document)
            served = self.runtime.served
            out = await self.batcher.predict(served.model, request)
            answer = render(out, request, served, document)
        except ClientGoneError:
            call.error = "the client closed the connection"
            return CLIENT_GONE, b"", JSON_TYPE
        except Exception as exc:
            status = status_of(exc)
            call.error = message_of(exc)
            if status < 500:
                return _error(status, call.error)
            rid = call.request_id.decode()
            logger.error("request %s: %s", rid, call.error, exc_info=exc)
            return _error(status, call.error, type_of(exc), rid)
        call.rows = len(request.records)
        if config.logging and self._random.random() < config.sample_rate:
            call.sample = (document, answer)
        return 200, orjson.dumps(answer), JSON_TYPE

    def _unknown_model(self, name: str) -> str:
        served_name = self.runtime.served.name_version[0]
        if name in (served_name, self.runtime.config.name):
            return ""
        return f"no model named {name!r} here; this endpoint serves {served_name!r}"

    async def _health(self, call: _Call) -> Answer:
        """Up or not, and the model served (the supervisor checks a swap by it; the public
        `/v2/models/{name}/ready` tells it too). Callers with the endpoint's credentials
        also see the model loading, why the last one failed, and the settings (issue 10:
        the public answer carries no process id or configuration)."""
        config, runtime = self.runtime.config, self.runtime
        health: dict[str, object] = {"status": "ok", "model": runtime.served.ref}
        if config.auth_mode == "none" or call.authorization is not None:
            try:
                self.runtime.auth.caller(call.authorization)
            except AuthenticationError:
                return 200, orjson.dumps(health), JSON_TYPE
            health |= {
                "endpoint": config.name,
                "loading": runtime.loading,
                "load_error": runtime.load_error,
                "auth_mode": config.auth_mode,
                "logging": config.logging,
            }
        return 200, orjson.dumps(health), JSON_TYPE

    async def _live(self, _call: _Call) -> Answer:
        return 200, b'{"live":true}', JSON_TYPE

    async def _ready(self, call: _Call) -> Answer:
        if call.name and self._unknown_model(call.name):
            return _error(NotFoundError.status, self._unknown_model(call.name))
        return 200, b'{"ready":true}', JSON_TYPE

    async def _server_metadata(self, _call: _Call) -> Answer:
        return 200, b'{"name":"shipyard","version":"1","extensions":[]}', JSON_TYPE

    async def _v2_metadata(self, call: _Call) -> Answer:
        if self._unknown_model(call.name):
            return _error(NotFoundError.status, self._unknown_model(call.name))
        return 200, self.runtime.served.metadata, JSON_TYPE

    async def _swagger(self, _call: _Call) -> Answer:
        config, served = self.runtime.config, self.runtime.served
        cached = self._openapi
        if (
            cached is None
            or cached[0] is not served
            or cached[1:3] != (config.name, config.auth_mode)
        ):
            document = build_openapi(
                served.model.descriptor or {},
                endpoint=config.name,
                model_ref=served.ref,
                auth_mode=config.auth_mode,
                example_output=served.example_output,
            )
            cached = self._openapi = (served, config.name, config.auth_mode, orjson.dumps(document))
        return 200, cached[3], JSON_TYPE

    async def _metrics(self, _call: _Call) -> Answer:
        return 200, self.metrics.render(), METRICS_TYPE.encode()

    def _entry(
        self, call: _Call, route: str, status: int, latency_s: float, wall: float
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "ts": wall,
            "request_id": call.request_id.decode(),
            "route": route,
            "status": status,
            "latency_ms": round(latency_s * 1000, 3),
            "caller": call.caller,
            "rows": call.rows,
            "model": self.runtime.served.ref,
        }
        if call.error is not None:
            entry["error"] = call.error
        if call.sample is not None:
            entry["payload"], entry["output"] = call.sample
        return entry

    def _config_changed(self, config: EndpointConfig) -> None:
        directory = Path(config.log_dir or self.runtime.config_path.parent / "requests")
        log = self.request_log
        if log is not None and (not config.logging or log.directory != directory):
            log.close()
            self.request_log = log = None
        if config.logging and log is None:
            try:
                self.request_log = RequestLog.open(directory)
            except OSError as exc:
                logger.error("request logging stays off: cannot use %s: %s", directory, exc)

    def _model_changed(self, served: ServedModel) -> None:
        self.metrics.set_model(served.ref)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._watcher = asyncio.create_task(self._watch())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _watch(self) -> None:
        # Idle processes pick up a new config too (a new model loads before traffic asks).
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            with contextlib.suppress(Exception):
                self.runtime.refresh(deep=True)


def _error(
    status: int, message: str, error_type: str | None = None, request_id: str | None = None
) -> Answer:
    """An error answer; a 5xx names its error class and request id (add-only fields)."""
    body: dict[str, str] = {"error": message}
    if error_type is not None:
        body["type"] = error_type
    if request_id is not None:
        body["request_id"] = request_id
    return status, orjson.dumps(body), JSON_TYPE
