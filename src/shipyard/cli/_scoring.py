"""What `shipyard predict` does: load a saved model, check the rows, write predictions.

Apart from `predict.py`, which declares the command, so that pandas and the model's
libraries load only when a command scores rows (`predict`, `demo`).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
from rich.console import Console

from shipyard.automl.model import TabularModel, load_model
from shipyard.cli import render
from shipyard.cli._csv_cells import escape_formulas
from shipyard.workspace.files import PARQUET_SUFFIXES, read_table, write_table

_SHOWN_VALUES = 5


def score_file(model: Path, data: Path, output: Path, *, proba: bool, raw_csv: bool) -> None:
    """Score the table `data` with the model saved in folder `model`; write `output`."""
    out, err = render.consoles()
    fitted = load_quietly(model, err)
    features = model_input(fitted, read_table(data), err)
    table = predictions(fitted, features, proba=proba)
    if output.suffix.lower() not in PARQUET_SUFFIXES and not raw_csv:
        table = escape_formulas(table)
    write_table(table, output)
    out.print(f"Wrote {len(table)} predictions to {output}", soft_wrap=True, highlight=False)


def load_quietly(folder: Path, err: Console) -> TabularModel:
    """Load a saved model, turning its warnings (library version drift) into yellow lines."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = load_model(folder)
    for warning in caught:
        render.warn(err, str(warning.message))
    return fitted


def model_input(fitted: TabularModel, frame: pd.DataFrame, err: Console) -> pd.DataFrame:
    """The rows without the model's target column, after warning about what gets ignored."""
    target = fitted.descriptor.get("target")
    features = frame.drop(columns=[target]) if target in frame.columns else frame
    for message in fitted.schema.check_columns(features):
        render.warn(err, message)
    for column, values in fitted.featurizer.unseen_categories(features).items():
        shown = ", ".join(repr(v) for v in values[:_SHOWN_VALUES])
        more = f" and {len(values) - _SHOWN_VALUES} more" if len(values) > _SHOWN_VALUES else ""
        render.warn(
            err,
            f"column {column!r} has {len(values)} value(s) never seen in "
            f"training: {shown}{more}; they are scored as an unknown category",
        )
    return features


def predictions(fitted: TabularModel, features: pd.DataFrame, *, proba: bool) -> pd.DataFrame:
    """A `prediction` column, preceded by `proba_<class>` columns when asked."""
    labels = fitted.predict(features)
    if not proba:
        return pd.DataFrame({"prediction": labels})
    probabilities = fitted.predict_proba(features)
    classes = [] if fitted.classes_ is None else fitted.classes_.tolist()
    columns = {f"proba_{c}": probabilities[:, i] for i, c in enumerate(classes)}
    return pd.DataFrame({**columns, "prediction": labels})
