"""The scoring service: one model behind an authenticated, documented, monitored REST API.

The one engine that is a web app (Starlette on uvicorn). It knows a model only through
`core.interface.ScoringModel` and its settings through `EndpointConfig` (a JSON file the
workspace writes); it never imports the store or the AutoML engine. Pure parts
(`payloads`, `predict`, `openapi`) are tested without a socket; `app` adapts them.
"""
