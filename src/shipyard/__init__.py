"""Shipyard: self-hosted AutoML and MLOps for tabular data.

Shipyard takes a tabular dataset to an authenticated, monitored, benchmarked prediction
service and a published, REST-triggerable pipeline, on one machine by default and on a Ray
cluster when one machine is not enough.

The root package holds the version, the bundled demo dataset (`shipyard.datasets`) and
`shipyard.Workspace` (from `shipyard.sdk`), the SDK's entry point. Capabilities live in
subpackages whose imports point down (`cli` -> `server` -> `client`/`workspace` ->
engines -> `store`/`auth`/`telemetry` -> `core`), as checked by import-linter.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("shipyard")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0.0.0+unknown"


def __getattr__(name: str) -> object:
    # `shipyard.Workspace` without importing the store and the engines on `import shipyard`.
    if name == "Workspace":
        from shipyard.sdk import Workspace

        return Workspace
    raise AttributeError(f"module 'shipyard' has no attribute {name!r}")


__all__ = ["Workspace", "__version__"]
