"""Engines for the two databases we run on.

- **SQLite** (the embedded default): a file in ``data_dir`` (created on first use), WAL, a busy timeout, foreign
  keys on. pysqlite's own transaction handling is switched off and we emit ``BEGIN`` ourselves, so a write
  session starts with ``BEGIN IMMEDIATE`` (it takes the write lock up front: two writers wait on the busy timeout
  instead of failing on a lock upgrade; SQLite ignores ``SELECT ... FOR UPDATE``). ``sqlite://`` is one
  in-memory database shared by the process's threads (tests).
- **PostgreSQL** (``postgresql+psycopg://``, psycopg 3): a small pool with pre-ping and a connect timeout.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from s3api.config import DatabaseSettings

BUSY_TIMEOUT_MS = 5000
CONNECT_TIMEOUT_S = 5
#: execution option naming how a SQLite transaction begins: ``DEFERRED`` (reads) or ``IMMEDIATE`` (writes)
SQLITE_BEGIN = "sqlite_begin"


def make_engine(settings: DatabaseSettings) -> Engine:
    if not settings.is_sqlite:
        return create_engine(
            settings.url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=5,
            pool_timeout=10,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
        )
    path = settings.sqlite_path
    if path is None:
        engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        engine = create_engine(
            settings.url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
        )
    _sqlite_events(engine, wal=path is not None)
    return engine


def _sqlite_events(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {'IMMEDIATE' if mode == 'IMMEDIATE' else 'DEFERRED'}")


def for_writes(engine: Engine) -> Engine:
    """The same engine (same pool), whose transactions begin with ``BEGIN IMMEDIATE`` on SQLite."""
    return engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
