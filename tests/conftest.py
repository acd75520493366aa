"""Shared fixtures: a fresh in-process AWS (moto) per test, a seeded account, an app, a client."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import uuid
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from moto import mock_aws
from sqlalchemy import event as sa_event

import s3api
from s3api import create_app, embedded
from s3api.aws import clients as aws_clients
from s3api.aws import permissions, translate
from s3api.config import DatabaseSettings, Settings, from_mapping
from s3api.db.models import AuditEvent
from s3api.logs import JsonFormatter

TOKEN = "test-token-0123456789abcdef"
DOMAIN = "example.test"

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def _list_service_specific_credentials(self: Any) -> Any:
    """moto 5.2.5 lacks ListServiceSpecificCredentials (and its creation): answer as AWS does for a user
    without any (NoSuchEntity for a missing user). Tests of a user *with* one stub the call."""
    from moto.core.responses import ActionResult

    self.backend.get_user(self._get_param("UserName"))
    return ActionResult({"ServiceSpecificCredentials": []})


@pytest.fixture(autouse=True)
def _moto_service_specific_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.iam.responses import IamResponse

    if not hasattr(IamResponse, "list_service_specific_credentials"):
        monkeypatch.setattr(
            IamResponse, "list_service_specific_credentials", _list_service_specific_credentials, raising=False
        )


UNDECLARED: list[str] = []
_OURS, _TESTS = os.path.dirname(s3api.__file__) + os.sep, os.path.dirname(__file__) + os.sep


def _made_by_service() -> bool:
    """True when the innermost caller outside the libraries is the service's code, not a test's own setup."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith(_OURS):
            return True
        if frame.f_code.co_filename.startswith(_TESTS):
            return False
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _check_declared(model: Any, **_: Any) -> None:
    """Every AWS call the service makes is declared by the gateway function making it (s3api.aws.permissions).
    before-parameter-build: botocore sends it for stubbed calls too (Stubber answers before-call first)."""
    service, operation = model.service_model.service_name, model.name
    if (service, operation) in permissions.OUTSIDE_GATEWAYS:  # the client machinery's, inside a gateway or not
        return
    declared = translate.current_gateway()
    if declared is not None:
        if service != declared.service or operation not in declared.operations:
            UNDECLARED.append(f"{service}:{operation} by {declared.name} (declares {sorted(declared.operations)})")
    elif _made_by_service():
        UNDECLARED.append(f"{service}:{operation} outside any gateway function")


# every Clients() made in this session (each app's) checks its calls
aws_clients.BASE_HOOKS = (*aws_clients.BASE_HOOKS, ("before-parameter-build", _check_declared))


@pytest.fixture(autouse=True)
def declared_calls_only() -> Iterator[None]:
    UNDECLARED.clear()
    yield
    assert not UNDECLARED, f"AWS calls not declared in their @gateway (s3api/aws/permissions.py): {UNDECLARED}"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "S3API_CONFIG", "S3API_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


@pytest.fixture
def seed(aws: None) -> dict[str, str]:
    return embedded.seed(None, DOMAIN)


def make_settings(seed: dict[str, str] | None = None, **account: Any) -> Settings:
    acct: dict[str, Any] = {
        "account_id": embedded.ACCOUNT_ID,
        "region": "us-east-1",
        "s3_addressing_style": "path",
        "access_key_id": "testing",
        "secret_access_key": "testing",
    }
    if seed:
        acct["access_log"] = {"bucket": embedded.LOG_BUCKET, "prefix": "s3"}
        acct["domains"] = {
            DOMAIN: {"certificate_arn": seed["certificate_arn"], "hosted_zone_id": seed["hosted_zone_id"]}
        }
    acct.update(account)
    raw = {"org": "test", "accounts": {"local": acct}, "tokens": {"test": TOKEN}, "database_url": "sqlite://"}
    return from_mapping(raw, env={})  # the database: in memory, made (and migrated) only if a request needs it


@pytest.fixture
def settings(seed: dict[str, str]) -> Settings:
    return make_settings(seed)


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


SECRETS_SEEN: set[str] = set()


def _collect_secrets(value: Any) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str) and (k in ("SecretAccessKey", "SessionToken") or v.startswith("s3k_")):
                SECRETS_SEEN.add(v)
            else:
                _collect_secrets(v)
    elif isinstance(value, list):
        for v in value:
            _collect_secrets(v)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(JsonFormatter().format(record))


#: every audit event any test's app inserts (on any database), as text: scanned for secrets after each test
AUDIT_INSERTED: list[str] = []


@sa_event.listens_for(AuditEvent, "before_insert", propagate=True)
def _audit_inserted(mapper: Any, connection: Any, target: AuditEvent) -> None:
    AUDIT_INSERTED.append(json.dumps({c.key: getattr(target, c.key) for c in mapper.column_attrs}, default=str))


def secret_problems(lines: list[str], secrets: set[str], what: str) -> list[str]:
    """What in ``lines`` is a secret: the config token, a bcrypt header, an issued secret (access key or API key,
    or an API key's secret part)."""
    text = "\n".join(lines)
    problems = []
    if TOKEN in text:
        problems.append(f"the API token reached {what}")
    if "$2b$" in text or "$2a$" in text:
        problems.append(f"a bcrypt header reached {what}")
    for secret in secrets:
        parts = [secret, secret.split("_", 2)[2]] if secret.startswith("s3k_") and secret.count("_") >= 2 else [secret]
        if any(p in text for p in parts):
            problems.append(f"an issued secret (access key or API key) reached {what}")
    return problems


@pytest.fixture(autouse=True)
def no_secrets_in_logs() -> Iterator[None]:
    """Every test runs with log capture: no token, bcrypt header or issued secret key may reach a log line, nor
    any audit event the test's apps write."""
    capture = _Capture()
    root = logging.getLogger()
    root.addHandler(capture)
    SECRETS_SEEN.clear()
    AUDIT_INSERTED.clear()
    try:
        yield
    finally:
        root.removeHandler(capture)
    assert not secret_problems(capture.lines, SECRETS_SEEN, "a log line")
    assert not secret_problems(AUDIT_INSERTED, SECRETS_SEEN, "an audit event")


class Client:
    """The test client with the token sent on every call (``auth=False`` to leave it out).

    Secrets in responses are remembered so the log check can look for them."""

    def __init__(self, client: FlaskClient) -> None:
        self.raw = client

    def open(
        self, method: str, path: str, *, auth: bool = True, headers: dict[str, str] | None = None, **kw: Any
    ) -> Any:
        hdrs = {"X-Auth-Token": TOKEN} if auth else {}
        hdrs.update(headers or {})
        response = self.raw.open(path, method=method, headers=hdrs, **kw)
        if response.is_json:
            _collect_secrets(response.get_json(silent=True))
        return response

    def get(self, path: str, **kw: Any) -> Any:
        return self.open("GET", path, **kw)

    def head(self, path: str, **kw: Any) -> Any:
        return self.open("HEAD", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.open("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.open("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self.open("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.open("DELETE", path, **kw)


@pytest.fixture
def client(app: Flask) -> Client:
    return Client(app.test_client())


# --- databases: SQLite always, PostgreSQL where it answers (under CI=true it must) ----------------------------

PG_URL = os.environ.get("S3API_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_SKIP = "PostgreSQL tests skipped"
_PG: dict[str, Any] = {}


def _pg_problem() -> str | None:
    """Why the test PostgreSQL cannot be used (probed once per session), or None."""
    if "problem" not in _PG:
        import sqlalchemy as sa

        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            _PG["problem"] = None
        except Exception as exc:  # any failure to reach it: the reason, without the URL's password
            _PG["problem"] = type(exc).__name__
        finally:
            engine.dispose()
    return _PG["problem"]


def _pg_where() -> str:
    import sqlalchemy as sa

    return sa.make_url(PG_URL).render_as_string(hide_password=True)


def pytest_configure(config: Any) -> None:
    from s3api import emulator

    emulator.patch()  # the emulator as strict as the embedded one: inactive access keys are refused


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _PG.get("problem"):
        outcome = "FAILED (CI=true: they must run)" if os.environ.get("CI") == "true" else "skipped"
        terminalreporter.write_line(
            f"PostgreSQL tests {outcome}: no server at {_pg_where()} ({_PG['problem']}); set S3API_TEST_DATABASE_URL"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    """Under ``CI=true`` a PostgreSQL test that was skipped is a failure: CI must run them."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and os.environ.get("CI") == "true" and PG_SKIP in str(report.longrepr):
        report.outcome = "failed"


@contextlib.contextmanager
def _postgres_schema() -> Iterator[DatabaseSettings]:
    """A fresh schema of the test database, first in the search path of every connection of the URL."""
    import sqlalchemy as sa

    problem = _pg_problem()
    if problem:
        pytest.skip(f"{PG_SKIP}: no server at {_pg_where()} ({problem})")
    schema = "t_" + uuid.uuid4().hex[:16]
    engine = sa.create_engine(PG_URL, pool_pre_ping=True)  # a test may drop every connection (an outage)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    # application_name marks every connection of this test: those still open at the end (the app's pools, a
    # worker's) are closed server-side, so that a long run never exhausts the server's max_connections
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}", "application_name": schema})
    try:
        yield DatabaseSettings(url=url.render_as_string(hide_password=False), data_dir="")
    finally:
        with engine.begin() as conn:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": schema},
            )
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def postgres() -> Iterator[DatabaseSettings]:
    with _postgres_schema() as database:
        yield database


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[DatabaseSettings]:
    """An empty database (not migrated): a fresh SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield DatabaseSettings(url=f"sqlite:///{tmp_path}/data/s3api.db", data_dir=str(tmp_path / "data"))
    else:
        with _postgres_schema() as database:
            yield database


@pytest.fixture
def migrated(database: DatabaseSettings) -> DatabaseSettings:
    from s3api.db import migrate

    migrate.upgrade(database)
    return database


@pytest.fixture
def db_app(seed: dict[str, str], migrated: DatabaseSettings) -> Flask:
    """The app on a migrated database of each kind (the ``app`` fixture's is in memory, made on first use). On
    PostgreSQL with ``secret_keys``: several replicas seal the service's own secrets (signers, handovers) only so."""
    keys = () if migrated.url.startswith("sqlite") else (bytes(range(32)),)
    return create_app(make_settings(seed).with_overrides(database=migrated, secret_keys=keys))


@pytest.fixture
def db_client(db_app: Flask) -> Client:
    return Client(db_app.test_client())
