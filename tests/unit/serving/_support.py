"""Constants and helpers shared by the scoring-service tests (fixtures are in conftest)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from shipyard.automl import load_model
from shipyard.serving.app import ScoringApp, create_scoring_app
from shipyard.serving.config import EndpointConfig

PRIMARY, SECONDARY = "sk-primary-0123456789", "sk-secondary-0123456789"
BEARER = {"Authorization": f"Bearer {PRIMARY}"}


@dataclass
class Endpoint:
    """An endpoint's config file, rewritten the way the workspace does."""

    path: Path
    config: EndpointConfig

    def write(self, **changes: Any) -> EndpointConfig:
        self.config = replace(self.config, **changes)
        self.config.write(self.path)
        return self.config

    def create_app(self) -> ScoringApp:
        return create_scoring_app(self.path, load_model)


def log_lines(folder: str | Path) -> list[dict[str, Any]]:
    """Every record of the request log files in `folder`."""
    return [
        json.loads(line)
        for path in sorted(Path(folder).glob("requests-*.jsonl"))
        for line in path.read_text().splitlines()
    ]
