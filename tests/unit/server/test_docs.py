"""/openapi.json is a valid OpenAPI document; /docs is Swagger UI from local assets only."""

from __future__ import annotations

import re

from openapi_spec_validator import validate


def test_the_openapi_document_is_valid_and_documents_the_entities(api):
    document = api.get("/openapi.json", None).json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    schemas = document["components"]["schemas"]
    for entity in ("Dataset", "Run", "ModelVersion", "Endpoint", "Job", "Principal", "AccessToken"):
        assert entity in schemas
    scheme = document["components"]["securitySchemes"]["ClientCredentials"]
    assert scheme["flows"]["clientCredentials"]["tokenUrl"] == "/api/v1/auth/token"
    token = document["paths"]["/api/v1/auth/token"]["post"]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]


def test_docs_reference_only_local_assets_and_they_load(api):
    page = api.get("/docs", None)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    addresses = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert addresses
    assert not re.search(r"https?://", page.text)
    assert all(a.startswith("/docs/static/") for a in addresses)
    for address in addresses:
        asset = api.get(address, None)
        assert asset.status_code == 200, address
        assert len(asset.content) > 100
    bundle = api.get("/docs/static/swagger-ui-bundle.js", None)
    # Swagger UI 5 reads the OpenAPI 3.1 that FastAPI emits (4.x does not).
    assert re.search(r'PACKAGE_VERSION:"5\.\d+\.\d+"', bundle.text)
    assert '"url": "/openapi.json"' in page.text


def test_redoc_and_the_default_cdn_pages_are_off(api):
    assert api.get("/redoc", None).status_code == 404
    assert api.get("/docs/oauth2-redirect", None).status_code == 404
