"""What one process holds of the database: one engine, created lazily on first use (so after gunicorn forks the
workers; a process that finds an engine made by its parent makes its own) and cached, never one per request;
a session per unit of work (a view's one call; the key check's lookup, when its cache misses), never shared
between requests or threads.

``read()`` opens a session whose transaction begins on first use; ``write()`` one that commits at the end (or
rolls back on error) and begins with ``BEGIN IMMEDIATE`` on SQLite. An in-memory SQLite database (``sqlite://``,
for tests) is migrated when its engine is made: nothing else could have done it.

A database that is down, unreachable, locked beyond the busy timeout or too slow leaves ``read()``, ``write()``
and ``ping()`` as :class:`~s3api.errors.ServiceUnavailable` (503, ``Retry-After``), through the one mapping
:func:`s3api.errors.database_unavailable`; other SQLAlchemy errors (integrity, programming) leave unchanged.
Nothing is cached about a failure: the next session tries again, so requests succeed as soon as it is back.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from s3api.config import DatabaseSettings
from s3api.db import migrate
from s3api.db.engine import for_writes, make_engine
from s3api.errors import database_unavailable


@contextmanager
def _unavailable_as_503() -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        error = database_unavailable(exc)
        if error is None:
            raise
        raise error from None


class Database:
    def __init__(self, settings: DatabaseSettings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._writer: Engine | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()
        #: An in-memory SQLite database (tests) is one connection shared by the process's threads: its sessions
        #: take turns. Files and PostgreSQL give each thread its own connection and need no such lock.
        self._shared: threading.RLock | None = (
            threading.RLock() if settings.is_sqlite and settings.sqlite_path is None else None
        )

    @property
    def engine(self) -> Engine:
        engine, pid = self._engine, os.getpid()
        if engine is not None and self._pid == pid:
            return engine
        with self._lock:
            if self._engine is not None and self._pid != pid:
                self._engine.dispose(close=False)  # the parent's connections: leave them to the parent
                self._engine = None
            if self._engine is None:
                engine = make_engine(self.settings, for_requests=True)
                if self.settings.is_sqlite and self.settings.sqlite_path is None:
                    migrate.upgrade_engine(engine, self.settings)
                self._writer = for_writes(engine)
                self._engine, self._pid = engine, pid
            return self._engine

    @contextmanager
    def _turn(self) -> Iterator[None]:
        if self._shared is None:
            yield
            return
        with self._shared:
            yield

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._turn(), _unavailable_as_503(), Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._turn(), _unavailable_as_503():
            self.engine  # noqa: B018 (makes the writer too)
            assert self._writer is not None
            with Session(self._writer, expire_on_commit=False) as session, session.begin():
                yield session

    def ping(self) -> None:
        """Readiness: ``SELECT 1`` on a connection of the pool; returns, or raises ServiceUnavailable within the
        database timeout. On SQLite a read of the schema table instead: ``SELECT 1`` never touches the file, so
        it would pass on a pooled connection while another process holds the file exclusively locked."""
        query = "SELECT count(*) FROM sqlite_master" if self.settings.is_sqlite else "SELECT 1"
        with self.read() as session:
            session.execute(text(query))

    def dispose(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
            self._engine = self._writer = None
