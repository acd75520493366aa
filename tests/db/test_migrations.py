"""The models and the migrations agree, on SQLite and PostgreSQL; migrating is locked and idempotent; the
SQLite engine runs in WAL with a busy timeout and begins writes with BEGIN IMMEDIATE."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from subprocess import PIPE

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from s3api.config import DatabaseSettings
from s3api.db import migrate
from s3api.db.engine import make_engine
from s3api.db.models import Base, include_name
from s3api.db.session import Database

ROOT = Path(__file__).resolve().parents[2]


def test_models_and_migrations_agree(migrated: DatabaseSettings) -> None:
    engine = make_engine(migrated)
    try:
        with engine.connect() as conn:
            opts = {"compare_type": True, "include_name": include_name}
            diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
            assert migrate.current_revision(conn) == migrate.head()
            tables = sorted(sa.inspect(conn).get_table_names())
            ours = [t for t in tables if not t.startswith("procrastinate_")]
            assert ours == [
                "alembic_version",
                "api_keys",
                "audit_events",
                "bucket_quotas",
                "idempotency_keys",
                "operations",
                "orders",
                "plan_revisions",
                "plans",
                "quota_alerts",
                "share_links",
                "signers",
                "tenants",
                "usage_samples",
                "webhook_deliveries",
            ]
            if migrated.is_sqlite:
                assert ours == tables
            else:  # the job queue's schema comes with ours, in the same upgrade
                assert "procrastinate_jobs" in tables and "procrastinate_periodic_defers" in tables
    finally:
        engine.dispose()
    assert diff == []


def test_the_comparison_sees_a_missing_migration(migrated: DatabaseSettings) -> None:
    """The agreement test can fail: a column the migrations lack is a difference."""
    metadata = sa.MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    sa.Table("api_keys", metadata, sa.Column("extra", sa.String(8)), extend_existing=True)
    engine = make_engine(migrated)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": include_name}), metadata)
    finally:
        engine.dispose()
    assert [d[0] for d in diff] == ["add_column"]


def test_upgrade_is_idempotent_and_current_reports_it(database: DatabaseSettings) -> None:
    assert migrate.current(database) is None
    assert migrate.upgrade(database) == migrate.head()
    assert migrate.upgrade(database) == migrate.head()
    assert migrate.current(database) == migrate.head()


def _migrate_at_once(database: DatabaseSettings, n: int = 3) -> list[subprocess.CompletedProcess[str]]:
    env = {**os.environ, "S3API_DATABASE_URL": database.url, "PYTHONPATH": str(ROOT)}
    env.pop("S3API_CONFIG", None)
    # each process waits for a file to appear before it connects: they start migrating together
    go = Path(database.data_dir or "/tmp") / f"go-{os.getpid()}-{id(database)}"
    code = (  # everything imported and the migration scripts read before the signal: the upgrades overlap
        "import os, sys, time\n"
        "import alembic.command, alembic.runtime.migration, psycopg, sqlalchemy\n"
        "from s3api.cli import main\n"
        "from s3api.db import migrate, models\n"
        "migrate.head()\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.001)\n"
        "sys.exit(main(['db', 'upgrade']))\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=PIPE, stderr=PIPE, text=True) for _ in range(n)
    ]
    time.sleep(2.5)  # all imported and polling
    go.parent.mkdir(parents=True, exist_ok=True)
    go.write_text("go")
    try:
        results = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
        return results
    finally:
        go.unlink()


def test_two_processes_migrate_one_fresh_postgresql_database_at_once(postgres: DatabaseSettings) -> None:
    results = _migrate_at_once(postgres)
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    assert all(r.stdout.strip() == f"{migrate.head()} (head)" for r in results), [r.stdout for r in results]
    assert migrate.current(postgres) == migrate.head()


def test_two_processes_migrate_one_fresh_sqlite_file_at_once(tmp_path: Path) -> None:
    database = DatabaseSettings(url=f"sqlite:///{tmp_path}/s3api.db", data_dir=str(tmp_path))
    results = _migrate_at_once(database)
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    assert migrate.current(database) == migrate.head()


def test_sqlite_file_runs_in_wal_with_a_busy_timeout_and_writes_begin_immediate(tmp_path: Path) -> None:
    database = DatabaseSettings(url=f"sqlite:///{tmp_path}/d/s3api.db", data_dir=str(tmp_path / "d"))
    migrate.upgrade(database)
    db = Database(database)
    statements: list[str] = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda *a, **k: statements.append(a[2]))
    with db.read() as session:
        assert session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(sa.text("PRAGMA busy_timeout")).scalar() == 5000
    with db.write() as session:
        session.execute(sa.text("SELECT count(*) FROM api_keys"))
    assert "BEGIN DEFERRED" in statements and "BEGIN IMMEDIATE" in statements
    assert statements.index("BEGIN DEFERRED") < statements.index("BEGIN IMMEDIATE")
    db.dispose()


def test_the_engine_is_made_once_per_process_and_lazily(tmp_path: Path) -> None:
    database = DatabaseSettings(url=f"sqlite:///{tmp_path}/lazy/s3api.db", data_dir=str(tmp_path / "lazy"))
    db = Database(database)
    assert not (tmp_path / "lazy").exists()  # nothing until first use
    first = db.engine
    assert db.engine is first
    db._pid = -1  # as if forked: the child makes its own
    assert db.engine is not first
    db.dispose()


def test_the_migrations_ship_inside_the_package() -> None:
    """setup.cfg's package_data carries them into the wheel and an editable install."""
    text = (ROOT / "setup.cfg").read_text()
    assert "s3api.db =" in text and "migrations/versions/*.py" in text and "migrations/script.py.mako" in text
    assert (ROOT / "s3api/db/migrations/versions/0001_api_keys.py").exists()
