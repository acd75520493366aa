"""What one process holds of the database: one engine, created lazily on first use (so after gunicorn forks the
workers; a process that finds an engine made by its parent makes its own) and cached, never one per request;
a session per unit of work (a view's one call; the key check's lookup, when its cache misses), never shared
between requests or threads.

``read()`` opens a session whose transaction begins on first use; ``write()`` one that commits at the end (or
rolls back on error) and begins with ``BEGIN IMMEDIATE`` on SQLite. An in-memory SQLite database (``sqlite://``,
for tests) is migrated when its engine is made: nothing else could have done it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from s3api.config import DatabaseSettings
from s3api.db import migrate
from s3api.db.engine import for_writes, make_engine


class Database:
    def __init__(self, settings: DatabaseSettings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._writer: Engine | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

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
                engine = make_engine(self.settings)
                if self.settings.is_sqlite and self.settings.sqlite_path is None:
                    migrate.upgrade_engine(engine, self.settings)
                self._writer = for_writes(engine)
                self._engine, self._pid = engine, pid
            return self._engine

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        self.engine  # noqa: B018 (makes the writer too)
        assert self._writer is not None
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    def dispose(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
            self._engine = self._writer = None
