"""Tests for greedy ensemble selection and stacking in `shipyard.automl.ensemble`."""

from __future__ import annotations

import numpy as np
import pytest

from shipyard.automl import metrics
from shipyard.automl.ensemble import (
    Candidate,
    SelectionLimits,
    Stacker,
    blend,
    greedy_selection,
)

ROWS = 120
ACCURACY = metrics.get_metric("accuracy", "classification")
R2 = metrics.get_metric("r2", "regression")


@pytest.fixture
def y(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, ROWS)


def confident_on(
    y: np.ndarray, rows: slice, right: float = 0.9, elsewhere: float = 0.4
) -> np.ndarray:
    """(n, 2) probabilities: `right` on the true class over `rows`, `elsewhere` on the rest."""
    p_true = np.full(len(y), elsewhere)
    p_true[rows] = right
    p_one = np.where(y == 1, p_true, 1.0 - p_true)
    return np.column_stack([1.0 - p_one, p_one])


def halves(y: np.ndarray) -> list[Candidate]:
    """Keys 10 and 11 are each right on one half only; key 12 is always wrong."""
    half = len(y) // 2
    return [
        Candidate(10, confident_on(y, slice(0, half)), latency_ms=1.0),
        Candidate(11, confident_on(y, slice(half, None)), latency_ms=5.0),
        Candidate(12, confident_on(y, slice(0, 0), elsewhere=0.3), latency_ms=0.1),
    ]


def test_no_candidates_give_no_ensemble(y: np.ndarray) -> None:
    assert greedy_selection([], y, ACCURACY, SelectionLimits()) == {}


def test_two_complementary_models_are_chosen_equally(y: np.ndarray) -> None:
    cands = halves(y)
    assert metrics.score(ACCURACY, y, cands[0].predictions) == pytest.approx(0.5)
    weights = greedy_selection(cands, y, ACCURACY, SelectionLimits())
    assert weights == pytest.approx({10: 0.5, 11: 0.5})
    chosen = blend([cands[0].predictions, cands[1].predictions], [weights[10], weights[11]])
    assert metrics.score(ACCURACY, y, chosen) == 1.0


def test_three_models_right_on_one_third_each(y: np.ndarray) -> None:
    third = len(y) // 3
    cands = [
        Candidate(k, confident_on(y, slice(k * third, (k + 1) * third)), latency_ms=0.0)
        for k in range(3)
    ]
    weights = greedy_selection(cands, y, ACCURACY, SelectionLimits(max_members=3))
    assert weights == pytest.approx({0: 1 / 3, 1: 1 / 3, 2: 1 / 3})


@pytest.mark.parametrize("max_members", [1, 2])
def test_max_members_is_respected(y: np.ndarray, max_members: int) -> None:
    third = len(y) // 3
    cands = [
        Candidate(k, confident_on(y, slice(k * third, (k + 1) * third)), latency_ms=0.0)
        for k in range(3)
    ]
    weights = greedy_selection(cands, y, ACCURACY, SelectionLimits(max_members=max_members))
    assert len(weights) == max_members
    assert sum(weights.values()) == pytest.approx(1.0)


def test_max_latency_keeps_slow_models_out(y: np.ndarray) -> None:
    cands = halves(y)
    # 10 (1 ms) + 11 (5 ms) would be perfect, but only 3 ms are allowed
    weights = greedy_selection(cands, y, ACCURACY, SelectionLimits(max_latency_ms=3.0))
    assert 11 not in weights
    assert sum(c.latency_ms for c in cands if c.key in weights) <= 3.0
    assert weights == {10: 1.0}  # the always-wrong model does not help either
    roomy = greedy_selection(cands, y, ACCURACY, SelectionLimits(max_latency_ms=6.0))
    assert roomy == pytest.approx({10: 0.5, 11: 0.5})


def test_best_single_model_alone_when_no_addition_helps(seed: int) -> None:
    rng = np.random.default_rng(seed)
    target = rng.normal(size=ROWS)
    # every model overshoots the same way: any average is worse than the best one
    cands = [
        Candidate(7, target + 2.0, latency_ms=0.0),
        Candidate(8, target + 0.1, latency_ms=0.0),
        Candidate(9, target + 1.0, latency_ms=0.0),
    ]
    assert greedy_selection(cands, target, R2, SelectionLimits()) == {8: 1.0}


def test_rounds_bound_the_weights(y: np.ndarray) -> None:
    third = len(y) // 3
    cands = [
        Candidate(k, confident_on(y, slice(k * third, (k + 1) * third)), latency_ms=0.0)
        for k in range(3)
    ]
    # two rounds: at most two picks, so at most two members with weights in halves
    weights = greedy_selection(cands, y, ACCURACY, SelectionLimits(rounds=2))
    assert len(weights) == 2
    assert set(weights.values()) == {0.5}


def test_blend_is_the_weighted_average() -> None:
    a, b = np.array([[0.2, 0.8], [1.0, 0.0]]), np.array([[0.6, 0.4], [0.0, 1.0]])
    np.testing.assert_allclose(blend([a, b], [0.75, 0.25]), [[0.3, 0.7], [0.75, 0.25]])


# --- stacking ---------------------------------------------------------------------------------


def members_for(task: str, n_classes: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """One informative and one noisy member's out-of-fold predictions, and the target."""
    rng = np.random.default_rng(seed)
    if task == "regression":
        y = rng.normal(size=ROWS)
        return [y + rng.normal(scale=0.2, size=ROWS), rng.normal(size=ROWS)], y
    codes = rng.permutation(np.arange(ROWS) % n_classes)

    def proba(strength: float) -> np.ndarray:
        logits = rng.normal(size=(ROWS, n_classes))
        logits[np.arange(ROWS), codes] += strength
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    return [proba(4.0), proba(0.0)], codes


@pytest.mark.parametrize(
    ("task", "n_classes"),
    [("classification", 2), ("classification", 3), ("regression", 0)],
    ids=["binary", "multiclass", "regression"],
)
def test_stacker_shapes(task: str, n_classes: int, seed: int) -> None:
    preds, y = members_for(task, n_classes, seed)
    stacker = Stacker(task, seed)
    oof = stacker.cross_validate(preds, y)
    fitted = stacker.fit(preds, y)
    assert fitted is stacker
    out = stacker.predict(preds)
    expected = (ROWS,) if task == "regression" else (ROWS, n_classes)
    assert oof.shape == expected
    assert out.shape == expected
    if task == "regression":
        assert metrics.score(R2, y, oof) > 0.8  # it leans on the informative member
    else:
        np.testing.assert_allclose(oof.sum(axis=1), 1.0)
        np.testing.assert_allclose(out.sum(axis=1), 1.0)
        assert metrics.score(ACCURACY, y, oof) > 0.8


def test_stacker_features_are_log_odds_and_drop_a_redundant_binary_column() -> None:
    p = np.array([[0.5, 0.5], [0.2, 0.8]])
    Z = Stacker("classification", 0).features([p, p])
    assert Z.shape == (2, 2)
    np.testing.assert_allclose(Z[:, 0], [0.0, np.log(4.0)])


def test_unfitted_stacker_refuses_to_predict() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        Stacker("regression", 0).predict([np.zeros(3)])
