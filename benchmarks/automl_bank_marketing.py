"""AutoML on the bundled Bank Marketing data: quality, time, memory and latency.

For each budget, one run in a fresh process (so peak memory is that run's own) reports
the best model's out-of-fold accuracy and AUC, trials run, wall time against the
budget, peak resident memory and the best model's single-row predict latency (median
over 1,000 one-row DataFrames, in process). A second run per budget trains on 80% of the
rows and scores the other 20%, which the engine never sees, against a default LightGBM
trained on the same 80%: the check that the search did not overfit its validation folds.

    python benchmarks/automl_bank_marketing.py                 # budgets 60 and 300
    python benchmarks/automl_bank_marketing.py --budgets 60 --repeats 3
Results are printed and saved as JSON (--output; by default
benchmarks/results/automl_bank_marketing.json).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

from shipyard.automl import AutoMLSettings, run_automl
from shipyard.datasets import BANK_MARKETING_TARGET, load_bank_marketing

RESULTS = Path(__file__).parent / "results" / "automl_bank_marketing.json"


def single_row_latency_ms(model: Any, frame: pd.DataFrame, n: int = 1000) -> float:
    """Median time to predict one raw row given as a one-row DataFrame."""
    rows = [frame.iloc[[i % len(frame)]] for i in range(n)]
    for row in rows[:20]:
        model.predict(row)
    times = []
    for row in rows:
        started = time.perf_counter()
        model.predict(row)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000.0


def run_full(budget: float, seed: int) -> dict[str, Any]:
    """One AutoML run on all rows: cross-validated quality, time, memory, latency."""
    data = load_bank_marketing()
    started = time.monotonic()
    result = run_automl(
        data, AutoMLSettings(target=BANK_MARKETING_TARGET, budget_s=budget, seed=seed)
    )
    elapsed = time.monotonic() - started
    m = result.report["metrics"]
    return {
        "budget_s": budget,
        "seed": seed,
        "cv_accuracy": m["accuracy"],
        "cv_auc_weighted": m["AUC_weighted"],
        "best_learner": result.best.learner,
        "best_members": result.best.params.get("members"),
        "trials": sum(1 for t in result.trials if not t.is_ensemble),
        "trials_completed": sum(
            1 for t in result.trials if t.status == "completed" and not t.is_ensemble
        ),
        "time_s": elapsed,
        "time_over_budget": elapsed / budget,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "latency_ms_single_row": single_row_latency_ms(
            result.model, data.drop(columns=[BANK_MARKETING_TARGET])
        ),
    }


def run_unseen(budget: float, seed: int) -> dict[str, Any]:
    """Train on 80% of the rows; score the other 20% against a default LightGBM."""
    data = load_bank_marketing()
    train, test = train_test_split(
        data, test_size=0.2, random_state=seed, stratify=data[BANK_MARKETING_TARGET]
    )
    result = run_automl(
        train, AutoMLSettings(target=BANK_MARKETING_TARGET, budget_s=budget, seed=seed)
    )
    y_test = test[BANK_MARKETING_TARGET].to_numpy()
    features = test.drop(columns=[BANK_MARKETING_TARGET])
    proba = result.model.predict_proba(features)[:, 1]
    baseline = _default_lightgbm(train, features, seed)
    return {
        "budget_s": budget,
        "seed": seed,
        "test_rows": len(test),
        "automl_accuracy": accuracy_score(y_test, result.model.predict(features)),
        "automl_auc": roc_auc_score(y_test == "yes", proba),
        "default_lightgbm_accuracy": accuracy_score(y_test == "yes", baseline > 0.5),
        "default_lightgbm_auc": roc_auc_score(y_test == "yes", baseline),
    }


def _default_lightgbm(train: pd.DataFrame, features: pd.DataFrame, seed: int) -> np.ndarray:
    X = train.drop(columns=[BANK_MARKETING_TARGET])
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    X = X.astype(dict.fromkeys(categorical, "category"))
    test = features.astype({c: pd.CategoricalDtype(X[c].cat.categories) for c in categorical})
    model = lgb.LGBMClassifier(random_state=seed, verbose=-1)
    model.fit(X, train[BANK_MARKETING_TARGET] == "yes")
    return np.asarray(model.predict_proba(test)[:, 1])


def _in_child(kind: str, budget: float, seed: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, "--budgets", str(budget), "--seed", str(seed)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=os.environ)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[60.0, 300.0])
    parser.add_argument("--repeats", type=int, default=1, help="runs per budget (seeds 0..)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-unseen", action="store_true", help="skip the 80/20 check")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON file to write")
    parser.add_argument("--child", choices=["full", "unseen"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run = run_full if args.child == "full" else run_unseen
        print(json.dumps(run(args.budgets[0], args.seed)))
        return
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "full": [], "unseen": []}
    for budget in args.budgets:
        for repeat in range(args.repeats):
            seed = args.seed + repeat
            row = _in_child("full", budget, seed)
            report["full"].append(row)
            print(_line("full", row), flush=True)
            if not args.no_unseen:
                row = _in_child("unseen", budget, seed)
                report["unseen"].append(row)
                print(_line("unseen", row), flush=True)
    report["summary"] = _summary(report)
    print(json.dumps(report["summary"], indent=2))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(f"saved {args.output}")


def _line(kind: str, row: dict[str, Any]) -> str:
    shown = {k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()}
    return f"{kind}: {shown}"


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    """Medians per budget over repeats."""
    out: dict[str, Any] = {}
    for kind in ("full", "unseen"):
        by_budget: dict[float, list[dict[str, Any]]] = {}
        for row in report[kind]:
            by_budget.setdefault(row["budget_s"], []).append(row)
        for budget, rows in by_budget.items():
            keys = [k for k, v in rows[0].items() if isinstance(v, int | float) and k != "seed"]
            out[f"{kind}@{budget:g}s"] = {
                k: round(statistics.median(r[k] for r in rows), 5) for k in keys
            } | {"runs": len(rows)}
    return out


if __name__ == "__main__":
    main()
