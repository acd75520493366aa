"""A database that is down, unreachable or locked: requests that need it answer 503 in the JSON envelope with
``Retry-After`` (an API key that cannot be checked too: 503, not 403), never 500 and never the URL or the driver's
text; requests that do not need it (ping, version, metrics, config-token requests to AWS routes) keep working;
requests succeed again as soon as the database is back. On SQLite (a path whose directory cannot be made, a write
lock and an exclusive lock held beyond the busy timeout) and PostgreSQL (a closed 127.0.0.1 port, a table lock
beyond ``lock_timeout``, the server coming back)."""

from __future__ import annotations

import contextlib
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from s3api import create_app, errors
from s3api.config import ConfigError, DatabaseSettings, database_settings
from s3api.db import migrate
from s3api.db.session import Database
from tests.conftest import Client, make_settings

#: shaped like an API key (so it is looked up), but in no database
FAKE_KEY = "s3k_0123456789abcdef_" + "a" * 43
PASSWORD = "pw-never-in-an-answer-5b1e"
TIMEOUT = 0.25  # seconds: the database timeout of these tests' apps (SQLite busy timeout, PostgreSQL lock_timeout)
UNREACHABLE = "the database is unreachable, retry later"
BUSY = "the database is busy (locked or timed out), retry later"


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound and released: refused until someone else takes it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proxy:
    """A 127.0.0.1 port that refuses connections (bound, not listening) until :meth:`start`, then forwards each
    connection to ``target``: a PostgreSQL server that goes away and comes back, without touching the server."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self._open: list[socket.socket] = []

    def start(self) -> None:
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.sock.close()
        for s in self._open:
            with contextlib.suppress(OSError):
                s.close()


def app_on(seed: dict[str, str], database: DatabaseSettings) -> Flask:
    return create_app(make_settings(seed).with_overrides(database=database))


def assert_503(r: Any, message: str | None = None) -> None:
    """A database failure as clients see it: the envelope, Retry-After, nothing of the URL or the driver."""
    assert r.status_code == 503, (r.status_code, r.get_data(as_text=True))
    assert set(r.json) == {"code", "message", "status", "request_id"}
    assert r.json["code"] == "ServiceUnavailable" and r.json["status"] == 503
    assert r.headers["Retry-After"] == str(errors.DATABASE_RETRY_AFTER)
    if message is not None:
        assert r.json["message"] == message
    text = r.get_data(as_text=True).lower()
    for leak in (PASSWORD, "psycopg", "sqlite", "127.0.0.1", "refused", "locked by", "blocker", "postgres"):
        assert leak.lower() not in text, leak


def assert_no_database_needed(client: Client) -> None:
    """What never needs the database keeps answering: public routes, and config-token requests to AWS routes."""
    for path in ("/v1/s3/ping", "/v1/s3/version", "/v1/s3/metrics"):
        assert client.get(path, auth=False).status_code == 200, path
    assert client.get("/v1/s3/accounts").json == ["local"]
    assert client.get("/v1/s3/local").status_code == 200
    assert client.get("/v1/s3/local/buckets").status_code == 200  # an AWS call, with a config token
    assert client.get("/v1/s3/whoami").json["Kind"] == "token"


@pytest.fixture
def no_directory(tmp_path: Path) -> DatabaseSettings:
    """SQLite in a directory that cannot be made: its parent is a regular file (refused even to root)."""
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    data = blocker / "data"
    return DatabaseSettings(url=f"sqlite:///{data}/s3api.db", data_dir=str(data), timeout=TIMEOUT)


def closed_postgresql() -> DatabaseSettings:
    """PostgreSQL on a closed port, with a password in the URL (it must never reach an answer or a log)."""
    url = f"postgresql+psycopg://s3api:{PASSWORD}@127.0.0.1:{closed_port()}/test"
    return DatabaseSettings(url=url, data_dir="", timeout=TIMEOUT)


@pytest.mark.parametrize("kind", ["sqlite-no-directory", "postgresql-closed-port"])
def test_an_unreachable_database_is_503_and_what_needs_none_keeps_working(
    seed: dict[str, str], no_directory: DatabaseSettings, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    database = no_directory if kind.startswith("sqlite") else closed_postgresql()
    client = Client(app_on(seed, database).test_client())
    caplog.set_level(logging.DEBUG)
    started = time.perf_counter()
    assert_503(client.get("/v1/s3/keys"), UNREACHABLE)
    assert_503(client.post("/v1/s3/keys", json={"Name": "n", "Role": "admin"}), UNREACHABLE)
    assert_503(client.get("/v1/s3/keys/0123456789abcdef"), UNREACHABLE)
    key = {"X-Auth-Token": FAKE_KEY}  # it may be valid: the client should retry, not give up (503, not 403)
    assert_503(client.get("/v1/s3/whoami", auth=False, headers=key), UNREACHABLE)
    assert_503(client.get("/v1/s3/local/buckets", auth=False, headers=key), UNREACHABLE)
    assert time.perf_counter() - started < 3  # refused at once, not after retries
    # a value not shaped like a key never reaches the database: still 403
    assert client.get("/v1/s3/local/buckets", auth=False, headers={"X-Auth-Token": "s3k_short"}).status_code == 403
    assert_no_database_needed(client)
    logged = caplog.text
    assert "database unreachable" in logged
    assert PASSWORD not in logged and "blocker" not in logged and database.url not in logged


def test_sqlite_comes_back_and_requests_succeed_at_once(seed: dict[str, str], no_directory: DatabaseSettings) -> None:
    app = app_on(seed, no_directory)
    client = Client(app.test_client())
    assert_503(client.get("/v1/s3/keys"), UNREACHABLE)
    blocker = Path(no_directory.data_dir).parent
    blocker.unlink()  # the directory can be made now, and nothing remembered the failure
    migrate.upgrade(no_directory)
    assert client.get("/v1/s3/keys").json == {"Keys": [], "NextPageToken": None}
    made = client.post("/v1/s3/keys", json={"Name": "back", "Role": "reader"}).json
    assert client.get("/v1/s3/local/buckets", auth=False, headers={"X-Auth-Token": made["Key"]}).status_code == 200
    assert client.get("/v1/s3/whoami", auth=False, headers={"X-Auth-Token": FAKE_KEY}).status_code == 403
    app.extensions["s3api"].db.dispose()


def test_an_unmigrated_sqlite_file_is_503_not_500(seed: dict[str, str], tmp_path: Path) -> None:
    empty = DatabaseSettings(url=f"sqlite:///{tmp_path}/empty.db", data_dir=str(tmp_path), timeout=TIMEOUT)
    client = Client(app_on(seed, empty).test_client())
    assert_503(client.get("/v1/s3/keys"), "the database is unavailable, retry later")


@pytest.fixture
def sqlite_file(tmp_path: Path) -> DatabaseSettings:
    database = DatabaseSettings(url=f"sqlite:///{tmp_path}/d/s3api.db", data_dir=str(tmp_path / "d"), timeout=TIMEOUT)
    migrate.upgrade(database)
    return database


def test_sqlite_write_lock_beyond_the_busy_timeout_is_503_for_writes_and_reads_go_on(
    seed: dict[str, str], sqlite_file: DatabaseSettings, caplog: pytest.LogCaptureFixture
) -> None:
    """WAL: a writer holding the lock blocks writers (503 after the busy timeout), never readers: listing, and
    checking an API key, keep working (the key's LastUsedAt write is skipped, logged)."""
    app = app_on(seed, sqlite_file)
    client = Client(app.test_client())
    made = client.post("/v1/s3/keys", json={"Name": "before", "Role": "admin"}).json
    holder = sqlite3.connect(str(sqlite_file.sqlite_path), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, held past the app's busy timeout
    try:
        started = time.perf_counter()
        assert_503(client.post("/v1/s3/keys", json={"Name": "during", "Role": "admin"}), BUSY)
        waited = time.perf_counter() - started
        assert TIMEOUT * 0.8 <= waited < TIMEOUT + 2, waited  # the configured busy timeout, not the default 5 s
        assert_503(client.delete(f"/v1/s3/keys/{made['Id']}"), BUSY)
        assert [k["Name"] for k in client.get("/v1/s3/keys").json["Keys"]] == ["before"]
        caplog.set_level(logging.WARNING)
        as_key = {"X-Auth-Token": made["Key"]}
        assert client.get("/v1/s3/local/buckets", auth=False, headers=as_key).status_code == 200
        assert f"LastUsedAt of key {made['Id']} not written: ServiceUnavailable" in caplog.text
        assert client.get("/v1/s3/whoami", auth=False, headers={"X-Auth-Token": FAKE_KEY}).status_code == 403
        assert_no_database_needed(client)
        assert client.get("/v1/s3/ready", auth=False).status_code == 200  # a writer at work is no outage
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert client.post("/v1/s3/keys", json={"Name": "after", "Role": "admin"}).status_code == 201
    app.extensions["s3api"].db.dispose()


def test_sqlite_exclusive_lock_is_503_for_an_api_key_not_403(
    seed: dict[str, str], sqlite_file: DatabaseSettings
) -> None:
    """Another process holding the file exclusively (``locking_mode=EXCLUSIVE``: a backup, the sqlite3 shell) blocks
    readers too: an API key that cannot be looked up is 503; config tokens keep working."""
    holder = sqlite3.connect(str(sqlite_file.sqlite_path), isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("DELETE FROM api_keys")  # a write: the exclusive lock is taken, and kept
    app = app_on(seed, sqlite_file)
    client = Client(app.test_client())
    try:
        key = {"X-Auth-Token": FAKE_KEY}
        assert_503(client.get("/v1/s3/local/buckets", auth=False, headers=key), BUSY)
        assert_503(client.get("/v1/s3/keys"), BUSY)
        assert_no_database_needed(client)
        ready = client.get("/v1/s3/ready", auth=False)  # its read of the schema waits on the lock too
        assert ready.status_code == 503 and ready.json["Checks"]["Database"]["Error"] == f"ServiceUnavailable: {BUSY}"
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert client.get("/v1/s3/local/buckets", auth=False, headers={"X-Auth-Token": FAKE_KEY}).status_code == 403
    assert client.get("/v1/s3/keys").status_code == 200
    app.extensions["s3api"].db.dispose()


def test_postgresql_table_lock_beyond_lock_timeout_is_503(seed: dict[str, str], postgres: DatabaseSettings) -> None:
    migrate.upgrade(postgres)
    database = DatabaseSettings(url=postgres.url, data_dir="", timeout=TIMEOUT)
    app = app_on(seed, database)
    client = Client(app.test_client())
    holder = sa.create_engine(postgres.url)
    try:
        with holder.connect() as conn:
            conn.execute(sa.text("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE"))  # held until the rollback
            started = time.perf_counter()
            assert_503(client.get("/v1/s3/keys"), BUSY)
            assert TIMEOUT * 0.8 <= time.perf_counter() - started < TIMEOUT + 2
            assert_503(client.post("/v1/s3/keys", json={"Name": "during", "Role": "admin"}), BUSY)
            assert_503(client.get("/v1/s3/local/buckets", auth=False, headers={"X-Auth-Token": FAKE_KEY}), BUSY)
            assert_no_database_needed(client)
            assert client.get("/v1/s3/ready", auth=False).status_code == 200  # SELECT 1 takes no table lock
            conn.rollback()
        assert client.get("/v1/s3/keys").status_code == 200
        assert client.get("/v1/s3/whoami", auth=False, headers={"X-Auth-Token": FAKE_KEY}).status_code == 403
    finally:
        app.extensions["s3api"].db.dispose()
        holder.dispose()


@contextlib.contextmanager
def postgresql_through_proxy(postgres: DatabaseSettings) -> Iterator[tuple[DatabaseSettings, Proxy]]:
    """The test schema reached through a :class:`Proxy` (closed until started), a password in the URL."""
    url = sa.make_url(postgres.url)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    through = url.set(host="127.0.0.1", port=proxy.port, password=PASSWORD)  # trust auth: never asked for
    try:
        yield DatabaseSettings(url=through.render_as_string(hide_password=False), data_dir="", timeout=1.0), proxy
    finally:
        proxy.close()


def test_postgresql_comes_back_and_requests_succeed_at_once(seed: dict[str, str], postgres: DatabaseSettings) -> None:
    migrate.upgrade(postgres)
    with postgresql_through_proxy(postgres) as (database, proxy):
        app = app_on(seed, database)
        client = Client(app.test_client())
        try:
            assert_503(client.get("/v1/s3/keys"), UNREACHABLE)
            assert_503(client.get("/v1/s3/whoami", auth=False, headers={"X-Auth-Token": FAKE_KEY}), UNREACHABLE)
            proxy.start()
            assert client.get("/v1/s3/keys").json == {"Keys": [], "NextPageToken": None}
            assert client.get("/v1/s3/whoami", auth=False, headers={"X-Auth-Token": FAKE_KEY}).status_code == 403
        finally:
            app.extensions["s3api"].db.dispose()


# --- the one mapping -----------------------------------------------------------------------------------------


def _operational(orig: BaseException) -> sa.exc.OperationalError:
    return sa.exc.OperationalError(f"SELECT 1 -- {PASSWORD}", {"p": PASSWORD}, orig)


def test_the_mapping_is_503_for_outages_only() -> None:
    busy = sqlite3.OperationalError(f"database is locked {PASSWORD}")
    busy.sqlite_errorcode, busy.sqlite_errorname = 5, "SQLITE_BUSY"  # type: ignore[attr-defined]
    mapped = errors.database_unavailable(_operational(busy))
    assert mapped is not None and mapped.status == 503 and mapped.message == BUSY
    assert mapped.headers == {"Retry-After": str(errors.DATABASE_RETRY_AFTER)}
    assert errors.database_unavailable(sa.exc.TimeoutError("QueuePool limit")).message == BUSY  # type: ignore[union-attr]
    assert errors.database_unavailable(_operational(FileExistsError("/x"))).message == UNREACHABLE  # type: ignore[union-attr]
    unknown = errors.database_unavailable(_operational(RuntimeError(PASSWORD)))
    assert unknown is not None and PASSWORD not in unknown.message
    # a bug or a conflict is no outage: left alone (500, or whatever its caller makes of it)
    assert errors.database_unavailable(sa.exc.IntegrityError("INSERT", {}, RuntimeError("dup"))) is None
    assert errors.database_unavailable(sa.exc.ProgrammingError("SELECT", {}, RuntimeError("syntax"))) is None
    assert errors.database_unavailable(OSError("disk")) is None


def test_the_psycopg_errors_map_by_sqlstate() -> None:
    import psycopg

    assert errors.database_unavailable(_operational(psycopg.OperationalError("no server"))).message == UNREACHABLE  # type: ignore[union-attr]
    lock = psycopg.errors.LockNotAvailable("canceling statement due to lock timeout")
    assert errors.database_unavailable(_operational(lock)).message == BUSY  # type: ignore[union-attr]


def test_a_database_error_escaping_a_session_is_503_from_the_one_handler(app: Flask, client: Client) -> None:
    def view() -> Any:
        raise _operational(sqlite3.OperationalError(f"unable to open database file {PASSWORD}"))

    app.add_url_rule("/v1/s3/local/db-fault-test", "db_fault_test", view)
    r = client.get("/v1/s3/local/db-fault-test")
    assert_503(r, "the database is unavailable, retry later")


# --- the timeout setting -------------------------------------------------------------------------------------


def test_the_database_timeout_is_configurable_and_checked() -> None:
    assert database_settings({}, {}).timeout == 5.0
    assert database_settings({"database_timeout": 0.25}, {}).timeout == 0.25
    assert database_settings({"database_timeout": 2}, {"S3API_DATABASE_TIMEOUT": "0.5"}).timeout == 0.5
    for bad in ("soon", 0, -1, 301, True, float("nan")):
        with pytest.raises(ConfigError, match="database_timeout"):
            database_settings({"database_timeout": bad}, {})
    with pytest.raises(ConfigError, match="database_timeout"):
        database_settings({}, {"S3API_DATABASE_TIMEOUT": "later"})


def test_sqlite_busy_timeout_follows_the_setting(tmp_path: Path) -> None:
    db = Database(DatabaseSettings(url=f"sqlite:///{tmp_path}/t.db", data_dir=str(tmp_path), timeout=0.25))
    with db.read() as session:
        assert session.execute(sa.text("PRAGMA busy_timeout")).scalar() == 250
    db.dispose()


def test_postgresql_lock_timeout_on_request_connections_only(postgres: DatabaseSettings) -> None:
    """Requests give up on a lock after the timeout; migrations wait for their advisory lock as long as it takes."""
    database = DatabaseSettings(url=postgres.url, data_dir="", timeout=0.3)
    db = Database(database)
    with db.read() as session:
        assert session.execute(sa.text("SHOW lock_timeout")).scalar() == "300ms"
    db.dispose()
    engine = migrate.make_engine(database)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SHOW lock_timeout")).scalar() == "0"
    engine.dispose()
