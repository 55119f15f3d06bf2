"""CSV cells a spreadsheet would run as formulas, defused (OWASP "CSV injection").

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed
with a single quote, so Excel, LibreOffice and Google Sheets show it as text instead of
evaluating it (`=cmd|' /C calc'!A0`). Numbers are never changed: only text cells are,
and text that is a plain number (`-1.5`) is left as it is, since no spreadsheet runs it.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def escape_cell(value: Any) -> Any:
    """`value`, with a quote before it when it is text a spreadsheet would run."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and _PLAIN_NUMBER.fullmatch(value) is None
    ):
        return "'" + value
    return value


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells and column names cannot run as formulas."""
    out = frame.rename(columns=escape_cell)
    for index, dtype in enumerate(out.dtypes):
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            continue  # numbers stay numbers (-1.5 is not a formula)
        out.isetitem(index, out.iloc[:, index].map(escape_cell).to_numpy())
    return out
