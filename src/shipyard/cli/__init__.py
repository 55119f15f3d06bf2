"""The `shipyard` command line: parses arguments, calls the engines, renders with Rich.

One module per area (`automl.py`, `predict.py`, `demo.py`), the shared Rich renderables in
`render.py` and table files in `_io.py`; `main.py` assembles the app and maps errors to
exit codes. It may import every layer below it and holds no rule of its own.
"""
