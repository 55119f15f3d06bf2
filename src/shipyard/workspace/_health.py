"""Asking an endpoint process whether it is up, and which model it serves."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

HEALTH_TIMEOUT_S = 2.0


def health(host: str, port: int, timeout_s: float = HEALTH_TIMEOUT_S) -> dict[str, object] | None:
    """The endpoint's `/health` answer, or None if it does not answer 200 in time."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/health", timeout=timeout_s) as response:
            if response.status != 200:
                return None
            data = json.loads(response.read())
    except (OSError, urllib.error.URLError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def served_model(host: str, port: int) -> str | None:
    """The `NAME:VERSION` the endpoint currently serves, if it answers."""
    answer = health(host, port)
    model = None if answer is None else answer.get("model")
    return model if isinstance(model, str) else None
