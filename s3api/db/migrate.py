"""Alembic, run from code: ``s3api db upgrade`` / ``current``, ``s3api serve`` (in the gunicorn master, before the
workers fork) and ``s3api keys ...`` migrate through :func:`upgrade`.

Replicas starting together must not race: the upgrade runs under a lock, a PostgreSQL advisory lock (held by
the migrating connection; the others wait, then find the schema at head and do nothing) or, on SQLite, an
exclusive ``flock`` on ``<database file>.lock``. The migration scripts ship inside the package
(``s3api/db/migrations``), so an installed wheel carries them.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from s3api.config import DatabaseSettings
from s3api.db.engine import SQLITE_BEGIN, make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: pg_advisory_lock key of the schema migration (any constant; "s3api" in ASCII)
ADVISORY_LOCK_KEY = 0x7333617069


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head() -> str | None:
    """The newest revision the package ships."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_connection(connection: Connection, revision: str = "head") -> None:
    """Migrate on ``connection`` (no lock: the caller holds it, or the database is private to the process)."""
    command.upgrade(alembic_config(connection), revision)
    connection.commit()


@contextmanager
def _sqlite_file_lock(settings: DatabaseSettings) -> Iterator[None]:
    path = settings.sqlite_path
    if path is None:  # in memory: nobody else can see it
        yield
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def upgrade_engine(engine: Engine, settings: DatabaseSettings, revision: str = "head") -> None:
    """Migrate the database of ``engine`` under the lock of its kind."""
    if settings.is_sqlite:
        with _sqlite_file_lock(settings), engine.connect() as conn:
            upgrade_connection(conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}), revision)
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        conn.commit()
        try:
            upgrade_connection(conn, revision)
        finally:
            conn.rollback()
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
            conn.commit()


def upgrade(settings: DatabaseSettings, revision: str = "head") -> str | None:
    """Migrate the configured database to ``revision`` under the lock; the revision it is at afterwards. The
    engine is this call's own and disposed before returning (the gunicorn master forks after this)."""
    engine = make_engine(settings)
    try:
        upgrade_engine(engine, settings, revision)
        with engine.connect() as conn:
            return current_revision(conn)
    finally:
        engine.dispose()


def current(settings: DatabaseSettings) -> str | None:
    """The revision the configured database is at (None: never migrated)."""
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            return current_revision(conn)
    finally:
        engine.dispose()
