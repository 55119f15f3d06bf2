"""Options that many commands share, declared once so their names and help agree."""

from __future__ import annotations

from typing import Annotated

import typer

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document instead of tables.")
]
LimitOption = Annotated[
    int, typer.Option("--limit", metavar="N", min=1, max=1000, help="Show at most N items.")
]
PageTokenOption = Annotated[
    str | None,
    typer.Option(
        "--page-token",
        metavar="T",
        help="Show the page a previous listing named as its next page.",
        show_default=False,
    ),
]
