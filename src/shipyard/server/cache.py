"""Answers kept for as long as the data behind them is unchanged.

A dashboard or a script polling `GET /api/v1/runs` asks the same question again and
again; between two writes the answer is the same bytes. `AnswerCache` keeps the
serialized answer of each query under the workspace's change token read *before* the
answer was computed, and gives it back while the token is the same, so a repeat costs
the token's read (one short query) instead of the listing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

MAX_ENTRIES = 256
MAX_BODY_BYTES = 1 << 20  # larger answers are not kept


class AnswerCache:
    """Serialized answers by query, each valid for one change token (least recently used
    entries go first)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str, token: str) -> bytes | None:
        """The answer to `key` if it was computed under `token`, else None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != token:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: str, token: str, body: bytes) -> None:
        """Keep `body` as the answer to `key` under `token` (a token read before it)."""
        if len(body) > MAX_BODY_BYTES:
            return
        with self._lock:
            self._entries[key] = (token, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
