"""``GET /v1/s3/ready``: readiness for load balancers (``ping`` stays liveness). Public, in the OpenAPI document;
200 when the database answers and every account's backend answers one cheap call, else 503 in the JSON envelope
naming the failed check (no secrets); the answer is reused for ~1.5 s, so polling does not hammer AWS."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask

from s3api import auth, create_app
from s3api.config import RESERVED_ACCOUNT_NAMES, DatabaseSettings
from s3api.db import migrate
from s3api.views import system
from tests.conftest import Client, make_settings
from tests.db.test_faults import PASSWORD, TIMEOUT, UNREACHABLE, app_on, closed_port, postgresql_through_proxy
from tests.faults import aws_calls

READY = "/v1/s3/ready"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def with_clock(app: Flask) -> Clock:
    """The app's readiness with a clock the test moves (before its first ready request)."""
    clock = Clock()
    app.extensions["s3api.ready"] = system.Readiness(app.extensions["s3api"], clock=clock)
    return clock


def check(ready: bool, error: str | None = None) -> dict[str, Any]:
    return {"Ready": ready, "Error": error}


def checks(body: dict[str, Any]) -> dict[str, Any]:
    """The checks without their timings (asserted to be numbers)."""
    out: dict[str, Any] = {}
    for name, c in [("Database", body["Checks"]["Database"])] + sorted(body["Checks"]["Accounts"].items()):
        assert isinstance(c.pop("Seconds"), float) and set(c) == {"Ready", "Error"}
        out[name] = c
    return out


def assert_not_ready(r: Any, message: str) -> dict[str, Any]:
    assert r.status_code == 503, r.json
    assert r.json["code"] == "ServiceUnavailable" and r.json["status"] == 503 and r.json["message"] == message
    assert r.json["Ready"] is False and r.json["request_id"] == r.headers["X-Request-Id"]
    assert r.headers["Retry-After"] == str(system.READY_RETRY_AFTER)
    text = r.get_data(as_text=True)
    assert PASSWORD not in text and "127.0.0.1" not in text and "psycopg" not in text
    return checks(r.json)


def test_ready_is_public_reserved_cors_and_documented(app: Flask, client: Client) -> None:
    assert "system.Ready" in auth.PUBLIC_ENDPOINTS and RESERVED_ACCOUNT_NAMES["ready"] == READY
    r = client.get(READY, auth=False)
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.json["Ready"] is True and set(r.json) == {"Ready", "Checks"}
    assert checks(r.json) == {"Database": check(True), "local": check(True)}
    operation = client.get("/v1/s3/openapi.json", auth=False).json["paths"][READY]["get"]
    assert operation["security"] == [] and {"200", "503"} <= set(operation["responses"])


def test_one_backend_call_per_account_and_the_answer_is_reused(app: Flask, client: Client) -> None:
    clock = with_clock(app)
    with aws_calls(app) as calls:
        for _ in range(5):  # a load balancer polling several times a second
            assert client.get(READY, auth=False).status_code == 200
        assert calls.calls == ["s3:ListBuckets"]
        clock.now += system.READY_CACHE_SECONDS - 0.01
        assert client.get(READY, auth=False).status_code == 200
        assert calls.calls == ["s3:ListBuckets"]
        clock.now += 0.02
        assert client.get(READY, auth=False).status_code == 200
        assert calls.calls == ["s3:ListBuckets"] * 2


def test_concurrent_ready_requests_share_one_check(app: Flask) -> None:
    def slow(model: Any, **_: Any) -> None:
        time.sleep(0.2)

    results: list[int] = []
    with aws_calls(app) as calls:
        app.extensions["s3api"].clients.add_hook("before-call", slow)
        threads = [
            threading.Thread(target=lambda: results.append(app.test_client().get(READY).status_code)) for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [200] * 4 and calls.calls == ["s3:ListBuckets"]


def test_ready_is_503_when_the_backend_is_unreachable(seed: dict[str, str]) -> None:
    app = create_app(make_settings(seed, endpoint_url=f"http://127.0.0.1:{closed_port()}"))
    client = Client(app.test_client())
    attempts: list[str] = []  # before-send: once per HTTP attempt (before-call is once per call, retries inside)
    app.extensions["s3api"].clients.add_hook("before-send", lambda request, **_: attempts.append(request.url))
    started = time.perf_counter()
    r = client.get(READY, auth=False)
    assert time.perf_counter() - started < 3  # the probe client: short timeouts,
    assert len(attempts) == 1  # and no retries
    assert assert_not_ready(r, "not ready: account local") == {
        "Database": check(True),
        "local": check(False, "ServiceUnavailable: s3 is unreachable, retry later"),
    }
    assert client.get("/v1/s3/ping", auth=False).status_code == 200  # liveness: still alive


def test_ready_is_503_when_the_backend_refuses_the_service(app: Flask, client: Client) -> None:
    with aws_calls(app, k=1, code="AccessDenied", status=403):
        r = client.get(READY, auth=False)
    assert assert_not_ready(r, "not ready: account local")["local"] == check(
        False, "Forbidden: s3: AccessDenied: the service's AWS identity was denied this action"
    )


def test_ready_is_503_until_the_sqlite_database_is_back(seed: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    data = blocker / "data"
    database = DatabaseSettings(url=f"sqlite:///{data}/s3api.db", data_dir=str(data), timeout=TIMEOUT)
    app = app_on(seed, database)
    clock = with_clock(app)
    client = Client(app.test_client())
    r = client.get(READY, auth=False)
    assert assert_not_ready(r, "not ready: database") == {
        "Database": check(False, f"ServiceUnavailable: {UNREACHABLE}"),
        "local": check(True),
    }
    blocker.unlink()
    migrate.upgrade(database)
    assert client.get(READY, auth=False).status_code == 503  # the answer of the last 1.5 s
    clock.now += system.READY_CACHE_SECONDS
    assert client.get(READY, auth=False).status_code == 200
    app.extensions["s3api"].db.dispose()


def test_ready_is_503_until_postgresql_is_back(seed: dict[str, str], postgres: DatabaseSettings) -> None:
    migrate.upgrade(postgres)
    with postgresql_through_proxy(postgres) as (database, proxy):
        app = app_on(seed, database)
        clock = with_clock(app)
        client = Client(app.test_client())
        try:
            r = client.get(READY, auth=False)
            assert assert_not_ready(r, "not ready: database")["Database"] == check(
                False, f"ServiceUnavailable: {UNREACHABLE}"
            )
            proxy.start()
            clock.now += system.READY_CACHE_SECONDS
            assert client.get(READY, auth=False).status_code == 200
        finally:
            app.extensions["s3api"].db.dispose()


def test_ready_on_a_migrated_database_of_each_kind(db_client: Client) -> None:
    r = db_client.get(READY, auth=False)
    assert r.status_code == 200 and r.json["Ready"] is True
