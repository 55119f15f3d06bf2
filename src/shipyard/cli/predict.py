"""`shipyard predict`: score a table with a saved model and write the predictions."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console

from shipyard.automl import TabularModel, load_model
from shipyard.cli import render
from shipyard.cli._csv_cells import escape_formulas
from shipyard.workspace.files import PARQUET_SUFFIXES, read_table, write_table

_SHOWN_VALUES = 5


def predict(
    model: Annotated[Path, typer.Option("--model", help="Folder of a saved model.")],
    data: Annotated[Path, typer.Option("--data", help="Rows to score (CSV or Parquet).")],
    output: Annotated[
        Path,
        typer.Option("--output", help="File to write (CSV, or Parquet if it ends in .parquet)."),
    ],
    proba: Annotated[
        bool, typer.Option("--proba", help="Also write one proba_<class> column per class.")
    ] = False,
    raw_csv: Annotated[
        bool,
        typer.Option(
            "--raw-csv",
            help="Write text cells as they are. By default a CSV cell starting with = + - @ "
            "(or a tab or carriage return) gets a leading ' so spreadsheets do not run it.",
        ),
    ] = False,
) -> None:
    """Score a CSV or Parquet table with a saved model; one output row per input row.

    Writes a `prediction` column (with --proba, first one `proba_<class>` column per
    class) in the order of the input rows. Columns the model does not read, including
    its target, are ignored; categories it never saw in training are warned about. In a
    CSV, text a spreadsheet would run as a formula gets a leading ' (not with --raw-csv).
    """
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
