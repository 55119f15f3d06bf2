"""The `shipyard` command line: parses arguments, calls the workspace, renders with Rich.

One module per area (`dataset.py`, `automl.py`, `run.py`, `model.py`, `endpoint.py`,
`predict.py`, `demo.py`), the shared Rich renderables in `render.py`, the workspace choice
in `_workspace.py`; `main.py` assembles the app and maps errors to exit codes. It may
import every layer below it and holds no rule of its own.
"""
