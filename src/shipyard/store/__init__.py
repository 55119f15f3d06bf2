"""Persistence: the SQL database (SQLAlchemy 2 + Alembic) and the artifact folder.

The only package that imports SQLAlchemy. It knows rows, queries and files, not rules:
`shipyard.workspace` decides what may be written and when. Imports `shipyard.core` only.

    store = open_store("sqlite:///ws/shipyard.db")      # or postgresql+psycopg://...
    with store.write() as session: ...
"""

from sqlalchemy.orm import Session

from shipyard.store.artifacts import ArtifactStore
from shipyard.store.db import ConstraintError, Store, StoreUnavailableError, open_store

__all__ = [
    "ArtifactStore",
    "ConstraintError",
    "Session",
    "Store",
    "StoreUnavailableError",
    "open_store",
]
