"""Engines for the two databases we run on.

- **SQLite** (the embedded default): a file in ``data_dir`` (created on first use; a directory that cannot be
  made is an ``OperationalError``, as a file SQLite cannot open is), WAL, a busy timeout, foreign keys on.
  pysqlite's own transaction handling is switched off and we emit ``BEGIN`` ourselves, so a write
  session starts with ``BEGIN IMMEDIATE`` (it takes the write lock up front: two writers wait on the busy timeout
  instead of failing on a lock upgrade; SQLite ignores ``SELECT ... FOR UPDATE``). ``sqlite://`` is one
  in-memory database shared by the process's threads (tests).
- **PostgreSQL** (``postgresql+psycopg://``, psycopg 3): a small pool with pre-ping, connect and pool timeouts;
  the engine requests use (``for_requests=True``) also sets ``lock_timeout`` on each connection (migrations wait
  for their advisory lock without it).

Every wait is bounded by ``DatabaseSettings.timeout`` (``database_timeout``, default 5 s): then the caller gets an
``OperationalError`` (or the pool's ``TimeoutError``), which :func:`s3api.errors.database_unavailable` maps to 503.
"""

from __future__ import annotations

import math
import os
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from s3api.config import DatabaseSettings

#: execution option naming how a SQLite transaction begins: ``DEFERRED`` (reads) or ``IMMEDIATE`` (writes)
SQLITE_BEGIN = "sqlite_begin"


def make_engine(settings: DatabaseSettings, *, for_requests: bool = False) -> Engine:
    timeout_ms = max(1, round(settings.timeout * 1000))
    if not settings.is_sqlite:
        engine = create_engine(
            settings.url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=5,
            pool_timeout=settings.timeout,
            connect_args={"connect_timeout": max(1, math.ceil(settings.timeout))},  # libpq: whole seconds
        )
        if for_requests:
            _postgresql_lock_timeout(engine, timeout_ms)
        return engine
    path = settings.sqlite_path
    busy_ms = timeout_ms
    if path is None:
        engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        directory = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:  # its text names the path: the class is enough
            raise OperationalError("create the SQLite file's directory", None, exc) from None
        engine = create_engine(settings.url, connect_args={"check_same_thread": False, "timeout": busy_ms / 1000})
    _sqlite_events(engine, wal=path is not None, busy_ms=busy_ms)
    return engine


def _postgresql_lock_timeout(engine: Engine, timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {int(timeout_ms)}")  # a session setting: it outlives the commit
        dbapi_connection.commit()


def _sqlite_events(engine: Engine, *, wal: bool, busy_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {'IMMEDIATE' if mode == 'IMMEDIATE' else 'DEFERRED'}")


def for_writes(engine: Engine) -> Engine:
    """The same engine (same pool), whose transactions begin with ``BEGIN IMMEDIATE`` on SQLite."""
    return engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
