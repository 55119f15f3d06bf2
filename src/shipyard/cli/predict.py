"""`shipyard predict`: score a table with a saved model and write the predictions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


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
    from shipyard.cli import _scoring  # the model's libraries load here

    _scoring.score_file(model, data, output, proba=proba, raw_csv=raw_csv)
