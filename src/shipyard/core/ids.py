"""Identifiers: a short prefix naming the kind of thing, then a time-ordered random part.

`run_0193a4c2e1f04b9e8d21` sorts by creation time (the first 12 hex digits are the
milliseconds since the epoch), so ids page and index well, and the prefix tells a reader
what an id refers to before looking it up.
"""

from __future__ import annotations

import secrets
import time

PREFIXES = {
    "dataset": "ds",
    "dataset_version": "dsv",
    "experiment": "exp",
    "run": "run",
    "model": "mdl",
    "model_version": "mv",
    "endpoint": "ep",
    "principal": "sp",
    "job": "job",
}


def new_id(kind: str) -> str:
    """A new id for an entity of `kind` (one of `PREFIXES`)."""
    millis = time.time_ns() // 1_000_000
    return f"{PREFIXES[kind]}_{millis:012x}{secrets.token_hex(5)}"
