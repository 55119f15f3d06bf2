"""The scoring service: one model behind an authenticated, documented, monitored REST API.

The one engine that is a web app (raw ASGI on uvicorn). It knows a model only through
`core.interface.ScoringModel` and its settings through `EndpointConfig` (a JSON file the
workspace writes and rewrites); the workspace injects the model loader. It may import
`core`, `auth` and `telemetry`, never the store or the AutoML engine. Pure parts
(`payloads`, `predict`, `openapi`) are tested without a socket; `app` adapts them, with
`credentials` (who calls), `runtime` (hot reload of config and model) and `batching`
(one model call for concurrent requests).

    from shipyard.serving.app import create_scoring_app
    app = create_scoring_app("endpoints/bank/config.json", load_model)
"""
