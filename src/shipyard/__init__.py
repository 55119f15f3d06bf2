"""Shipyard: self-hosted AutoML and MLOps for tabular data.

Shipyard takes a tabular dataset to an authenticated, monitored, benchmarked prediction
service and a published, REST-triggerable pipeline, on one machine by default and on a Ray
cluster when one machine is not enough.

The root package holds the version, the bundled demo dataset (`shipyard.datasets`) and
`shipyard.Workspace` (from `shipyard.sdk`), the SDK's entry point. Capabilities live in
subpackages whose imports point down (`cli` -> `server` -> `client`/`workspace` ->
engines -> `store`/`auth`/`telemetry` -> `core`), as checked by import-linter.
"""

import importlib

__version__: str  # read from the installed package's metadata on first use (see below)


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("shipyard")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> object:
    # `importlib.metadata` costs a command-line start a tenth of a second: the version is
    # read when asked for (`--version`, the server's OpenAPI document) and kept.
    if name == "__version__":
        found = globals()["__version__"] = _installed_version()
        return found
    # `shipyard.Workspace` without importing the store and the engines on `import shipyard`;
    # through importlib so that importing any subpackage does not count as importing the
    # SDK (the layer contracts would see every package depend on the top layer).
    if name == "Workspace":
        workspace: object = importlib.import_module("shipyard.sdk").Workspace
        return workspace
    raise AttributeError(f"module 'shipyard' has no attribute {name!r}")


__all__ = ["Workspace", "__version__"]
