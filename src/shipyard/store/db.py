"""Opening the database: engines, sessions, SQLite settings and schema migrations.

SQLite is the embedded default. It runs in WAL mode (readers never wait for the writer)
with foreign keys on, and every write transaction starts with `BEGIN IMMEDIATE`, so two
processes writing at once queue on the database lock (up to `busy_timeout`) instead of
failing with "database is locked" when a read lock cannot be upgraded mid-transaction.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker

from shipyard.core.errors import ConflictError, InvalidInputError, ServiceUnavailableError

SQLITE_BUSY_TIMEOUT_MS = 30_000


class StoreUnavailableError(ServiceUnavailableError):
    """The database cannot be reached or opened."""


class ConstraintError(ConflictError):
    """A write broke a constraint: usually another writer took the same name or version
    number first (callers retry), or a row it refers to is gone."""


class Store:
    """A database behind two session factories: one for reads, one for writes."""

    def __init__(self, url: str, read_engine: Engine, write_engine: Engine) -> None:
        self.url = url
        self.read_engine = read_engine
        self.write_engine = write_engine
        self._read = sessionmaker(read_engine, expire_on_commit=False)
        self._write = sessionmaker(write_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; nothing it does is committed."""
        try:
            with self._read() as session:
                yield session
        except DataError as exc:
            raise _unstorable(exc) from exc

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any error.

        A constraint violation (often another writer taking the same name or number first)
        becomes `ConstraintError`, which callers may retry.
        """
        try:
            with self._write() as session, session.begin():
                yield session
        except IntegrityError as exc:
            raise ConstraintError(f"the write broke a database constraint: {exc.orig}") from exc
        except DataError as exc:
            raise _unstorable(exc) from exc

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            self.write_engine.dispose()


def _unstorable(exc: DataError) -> InvalidInputError:
    """A value the database refuses (PostgreSQL: a NUL character in text, a number out of
    range) came from the caller's input: a 4xx naming it, not a 500 (issue 10)."""
    return InvalidInputError(f"a value the database cannot hold: {str(exc.orig).strip()}")


def open_store(url: str, *, upgrade: bool = True) -> Store:
    """Connect to `url`, bring its schema to the latest migration, and return the store."""
    from shipyard.store.migrations import check_and_upgrade

    store = _connect(url)
    try:
        check_and_upgrade(store, upgrade=upgrade)
    except OperationalError as exc:
        store.dispose()
        raise StoreUnavailableError(f"cannot open the database {_safe(url)}: {exc.orig}") from exc
    except BaseException:
        store.dispose()
        raise
    return store


def _connect(url: str) -> Store:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidInputError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        _private_sqlite_file(parsed.database)
        return Store(url, _sqlite_engine(url, immediate=False), _sqlite_engine(url, immediate=True))
    try:
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=5, max_overflow=10, json_deserializer=json_loads
        )
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise InvalidInputError(
            f"unsupported database URL {_safe(url)}: use sqlite:///PATH or "
            f"postgresql+psycopg://USER@HOST/DB ({exc})"
        ) from exc
    return Store(url, engine, engine)


def _private_sqlite_file(database: str | None) -> None:
    """Create the SQLite file with mode 0600 before SQLite does (it would use 0644): SQLite
    gives its `-wal` and `-shm` files the database file's mode, so they are 0600 too. A
    database made before this rule gets 0600 on its three files here."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError:
        return  # a missing folder or no access: SQLite itself says so, with the path
    for path in (database, f"{database}-wal", f"{database}-shm"):
        try:
            info = os.stat(path)
        except FileNotFoundError:
            continue
        if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(path, 0o600)


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        json_deserializer=json_loads,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event, not the driver, decide when transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


def json_loads(text: str | bytes) -> Any:
    """A JSON column's value: orjson reads a page of runs' params several times faster than
    `json`, which still reads what orjson refuses (`NaN`, integers beyond 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _safe(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid url>"
