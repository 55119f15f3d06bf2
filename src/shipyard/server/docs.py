"""Swagger UI at `/docs`, from the assets installed with `swagger-ui-py` (never a CDN).

Machines may be offline, so the page and everything it loads come from this server:
the page is rendered here and the Swagger UI 5 bundle (which reads the OpenAPI 3.1 that
FastAPI emits) is served from the package's static folder under `/docs/static`.
"""

from __future__ import annotations

import html
import importlib.util
import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
STATIC_PATH = "/docs/static"
ASSETS_PACKAGE = "swagger_ui"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{static}/swagger-ui.css">
<link rel="icon" type="image/png" href="{static}/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{static}/swagger-ui-bundle.js" charset="utf-8"></script>
<script>
window.onload = function () {{
  window.ui = SwaggerUIBundle({config});
}};
</script>
</body>
</html>
"""


def assets_dir() -> Path:
    """The static folder of the installed Swagger UI package."""
    spec = importlib.util.find_spec(ASSETS_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise RuntimeError("Swagger UI assets are missing: pip install swagger-ui-py")
    return Path(locations[0]) / "static"


def docs_page(title: str, openapi_url: str) -> str:
    """The HTML of the docs page (no address outside this server)."""
    config = {
        "url": openapi_url,
        "dom_id": "#swagger-ui",
        "deepLinking": True,
        "persistAuthorization": False,
        "validatorUrl": None,  # the default validator is a remote service
    }
    return _PAGE.format(title=html.escape(title), static=STATIC_PATH, config=json.dumps(config))


def install_docs(app: FastAPI) -> None:
    """Serve the docs page and its assets."""
    page = docs_page(f"{app.title} API", app.openapi_url or "/openapi.json")
    app.mount(STATIC_PATH, StaticFiles(directory=assets_dir()), name="swagger-ui")

    @app.get(DOCS_PATH, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)
