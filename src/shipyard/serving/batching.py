"""Adaptive micro-batching: the requests that reach the model in one event-loop turn share a call.

A model call has a fixed cost (input checks, the learners' own overhead) that dwarfs the
cost of one more row, so under concurrent load one call for eight single-row requests is
nearly eight times cheaper than eight calls. Nothing waits for a batch to fill: the first
request of a turn schedules the model call for the end of that turn (`call_soon`), and
every request that arrives before then joins it. A lone request pays one loop turn.
The model runs on the event loop's thread, so it is never called concurrently.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np

from shipyard.core.interface import ScoringModel
from shipyard.serving.payloads import ScoringRequest
from shipyard.serving.predict import predict_many

logger = logging.getLogger("shipyard.serving")

_Pending = tuple[ScoringModel, ScoringRequest, "asyncio.Future[np.ndarray]"]


class MicroBatcher:
    """Scores the requests queued in one event-loop turn together, per model."""

    def __init__(self) -> None:
        self._pending: list[_Pending] = []
        self.calls = 0  # model calls made (predict_many batches), for tests and tuning

    async def predict(self, model: ScoringModel, request: ScoringRequest) -> np.ndarray:
        """The request's predictions; raises what scoring it alone would raise."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[np.ndarray] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((model, request, future))
        return await future

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        try:
            for model, group in _by_model(pending):
                self.calls += 1
                outcomes = predict_many(model, [request for _, request, _ in group])
                for (_, _, future), outcome in zip(group, outcomes, strict=True):
                    if future.done():  # the caller went away
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        except Exception as exc:  # a bug here must not leave callers waiting forever
            logger.exception("micro-batch failed")
            for _, _, future in pending:
                if not future.done():
                    future.set_exception(exc)


def _by_model(pending: list[_Pending]) -> list[tuple[ScoringModel, list[_Pending]]]:
    # Usually one model; two only while a new model is being swapped in.
    groups: dict[int, tuple[ScoringModel, list[_Pending]]] = {}
    for item in pending:
        groups.setdefault(id(item[0]), (item[0], []))[1].append(item)
    return list(groups.values())
