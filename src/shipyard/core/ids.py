"""Identifiers: a short prefix naming the kind of thing, then a time-ordered random part.

`run_0193a4c2e1f04b9e8d21` sorts by creation time (the first 12 hex digits are the
milliseconds since the epoch), so ids page and index well, and the prefix tells a reader
what an id refers to before looking it up.
"""

from __future__ import annotations

import re
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


# An incoming X-Request-ID is kept only if bounded and safe to log and echo as a header.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def is_request_id(value: str | bytes) -> bool:
    """Whether a caller's `X-Request-ID` may be used as is (1-128 of `A-Za-z0-9._:-`)."""
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return _REQUEST_ID.fullmatch(text) is not None


def new_id(kind: str) -> str:
    """A new id for an entity of `kind` (one of `PREFIXES`)."""
    millis = time.time_ns() // 1_000_000
    return f"{PREFIXES[kind]}_{millis:012x}{secrets.token_hex(5)}"
