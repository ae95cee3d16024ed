"""Database connections: SQLite (WAL) by default, PostgreSQL when RENSHI_DATABASE_URL says so."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

DEFAULT_URL = "sqlite:///renshi.db"


def database_url() -> str:
    return os.environ.get("RENSHI_DATABASE_URL", DEFAULT_URL)


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Build an engine whose transactions behave the same on both databases.

    SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE``: a write transaction takes the
    write lock at its start, so two writers queue instead of failing with "database is
    locked" when a read-then-write upgrade collides. Read-only work goes through
    :func:`reader`. PostgreSQL URLs are mapped to
    the psycopg 3 driver.
    """
    url = url or database_url()
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed, connect_args={"timeout": 30, "factory": _QueuedWriter}, **kwargs
        )
        _tune_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


_WRITE_LOCKS: dict[str, threading.RLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(path: str) -> threading.RLock:
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(os.path.abspath(path), threading.RLock())


class _QueuedWriter(sqlite3.Connection):
    """A SQLite connection whose write transactions queue on an in-process lock.

    SQLite lets one writer in at a time; the others wait in its busy handler, which sleeps in
    growing steps (up to 100 ms) between tries, so under concurrent load a writer can sleep
    long after the database came free. Queuing writers of the same process on a lock hands the
    database over the moment the previous commit ends; the busy timeout remains the fallback
    for writers in other processes (the CLI beside the server).
    """

    write_lock: threading.RLock
    holding: bool = False

    def begin_write(self) -> None:
        self.write_lock.acquire()
        self.holding = True
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        if self.holding:
            self.holding = False
            self.write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()


def _tune_sqlite(engine: Engine) -> None:
    database = engine.url.database or ":memory:"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        dbapi_conn.write_lock = _write_lock(database)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.connection.dbapi_connection.begin_write()


def reader(engine: Engine) -> Engine:
    """The same engine for read-only work: on SQLite its transactions do not take the write
    lock, so readers never queue behind writers (WAL gives them a snapshot)."""
    return engine.execution_options(readonly=True)
