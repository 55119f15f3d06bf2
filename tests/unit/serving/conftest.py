"""Scoring-service fixtures: two tiny real models per session, an endpoint config per test.

Model A is the session's binary model (linear and XGBoost on `make_frame("binary", 0)`);
model B learns the opposite labels, so a swap from A to B flips the answers. Apps are
driven in process through `httpx.ASGITransport`, with `automl.load_model` as the loader.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from shipyard.auth import SigningKeys, hash_secret, new_signing_keys
from shipyard.automl import TabularModel, load_model, run_automl
from shipyard.serving.app import ScoringApp
from shipyard.serving.config import EndpointConfig
from tests.fixtures.automl import fast_settings, make_frame
from tests.unit.serving._support import PRIMARY, SECONDARY, Endpoint


@dataclass(frozen=True)
class Models:
    """Where the session's two models are saved, and the rows they were trained on."""

    a: Path
    b: Path
    frame: pd.DataFrame


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    folder = tmp_path_factory.mktemp("models")
    frame = make_frame("binary", seed=0)
    settings = fast_settings(allowed_learners=("linear", "xgboost"), seed=0)
    run_automl(frame, settings).model.save(folder / "a")
    flipped = frame.assign(y=np.where(frame["y"] == "yes", "no", "yes"))
    run_automl(flipped, fast_settings(allowed_learners=("linear",), seed=0)).model.save(
        folder / "b"
    )
    return Models(folder / "a", folder / "b", frame)


@pytest.fixture(scope="session")
def model_a(models: Models) -> TabularModel:
    return load_model(models.a)


@pytest.fixture(scope="session")
def model_b(models: Models) -> TabularModel:
    return load_model(models.b)


@pytest.fixture(scope="session")
def rows() -> list[dict[str, Any]]:
    """Five unseen rows as JSON records (the shape clients send)."""
    frame = make_frame("binary", seed=7, rows=5).drop(columns=["y"])
    records: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return records


@pytest.fixture(scope="session")
def signing_keys() -> SigningKeys:
    return new_signing_keys()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def endpoint(tmp_path: Path, models: Models, signing_keys: SigningKeys) -> Endpoint:
    config = EndpointConfig(
        name="bank",
        model="bank:1",
        model_path=str(models.a),
        auth_mode="key",
        key_hashes=(hash_secret(PRIMARY), hash_secret(SECONDARY)),
        token_public_key=signing_keys.public_pem,
        token_audiences=("endpoint:bank", "shipyard"),
        log_dir=str(tmp_path / "requests"),
    )
    found = Endpoint(tmp_path / "config.json", config)
    found.write()
    return found


@pytest.fixture
def app(endpoint: Endpoint) -> Iterator[ScoringApp]:
    scoring = endpoint.create_app()
    yield scoring
    scoring.close()


@pytest.fixture
async def client(app: ScoringApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://endpoint") as found:
        yield found
