"""The job engine through the app: operation rows, the in-process runner (``local.drain``), retries, cancel,
locks, dedupe, the operations routes; on SQLite and PostgreSQL (``db_app``)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from s3api import create_app
from s3api.config import DatabaseSettings
from s3api.db import migrate
from s3api.db.models import AuditEvent, Operation
from s3api.errors import Conflict, ServiceUnavailable
from s3api.jobs import execute, kinds, local
from s3api.jobs.operations import Starter, start
from s3api.provisioning.progress import Canceled
from tests.conftest import Client, make_settings

ATTEMPTS: dict[str, int] = {}


@kinds.kind("test.count", target=lambda account, p: f"test:{account}/{p['Name']}")
def _count(ctx: kinds.Context) -> dict[str, Any]:
    """Counts to N, a checkpoint per step; fails with a 503 on its first FailTimes attempts, or raises a final
    409 (Final), or asks for its own cancel at step CancelAt."""
    name = ctx.params["Name"]
    ATTEMPTS[name] = ATTEMPTS.get(name, 0) + 1
    if ATTEMPTS[name] <= ctx.params.get("FailTimes", 0):
        raise ServiceUnavailable("the backend is down")
    if ctx.params.get("Final"):
        raise Conflict("no retry can help")
    while ctx.counters.get("Done", 0) < ctx.params["N"]:
        ctx.add(Done=1)
        if ctx.counters["Done"] == ctx.params.get("CancelAt"):
            ctx.store.request_cancel(ctx.op_id)
        ctx.checkpoint()
    return {"Counted": ctx.counters["Done"]}


@kinds.kind("test.once", target=lambda account, p: f"test:{account}/{p['Name']}", dedupe=True)
def _once(ctx: kinds.Context) -> dict[str, Any]:
    return {"Ran": True}


def _env(app: Flask) -> Any:
    return app.extensions["s3api"]


def _start(app: Flask, kind: str = "test.count", **params: Any) -> Operation:
    env = _env(app)
    op, _ = start(env, kind, env.aws("local"), params, Starter(caller_name="test", request_id="r1"))
    return op


@pytest.fixture(autouse=True)
def _fresh_attempts() -> None:
    ATTEMPTS.clear()


def test_an_operation_runs_to_success_and_is_shown(db_app: Flask, db_client: Client) -> None:
    op = _start(db_app, Name="a", N=3)
    shown = db_client.get(f"/v1/s3/operations/{op.id}")
    assert shown.status_code == 200
    assert shown.headers["Retry-After"] == "2"
    body = shown.get_json()
    assert (body["Status"], body["Done"], body["Kind"], body["Target"]) == (
        "NotStarted",
        False,
        "test.count",
        "test:local/a",
    )
    assert body["Caller"] == {"Id": None, "Name": "test", "Tenant": None}

    assert local.drain(_env(db_app)) == 1
    done = db_client.get(f"/v1/s3/operations/{op.id}")
    assert "Retry-After" not in done.headers
    body = done.get_json()
    assert (body["Status"], body["Done"], body["Progress"], body["Result"], body["Error"]) == (
        "Succeeded",
        True,
        {"Done": 3},
        {"Counted": 3},
        None,
    )
    assert body["Attempts"] == 1 and body["FinishedAt"].endswith("Z")
    with _env(db_app).db.read() as session:
        events = list(session.scalars(sa.select(AuditEvent).where(AuditEvent.operation_id == op.id)))
    assert [(e.action, e.outcome, e.resource, e.request_id) for e in events] == [
        ("operation.end", "ok", "test:local/a", "r1")
    ]


def test_a_failing_attempt_is_retried_until_it_succeeds(db_app: Flask, db_client: Client) -> None:
    env = _env(db_app)
    env.settings = env.settings.with_overrides(operation_retry_seconds=0)
    op = _start(db_app, Name="b", N=2, FailTimes=2)
    assert local.drain(env) == 3  # two failed attempts, each due again at once, then success
    body = db_client.get(f"/v1/s3/operations/{op.id}").get_json()
    assert (body["Status"], body["Attempts"], body["Progress"]) == ("Succeeded", 3, {"Done": 2})


def test_a_task_that_keeps_failing_ends_failed_with_our_envelope_and_is_audited(
    db_app: Flask, db_client: Client
) -> None:
    env = _env(db_app)
    env.settings = env.settings.with_overrides(operation_retry_seconds=0, operation_attempts=3)
    op = _start(db_app, Name="c", N=1, FailTimes=99)
    assert local.drain(env) == 3
    body = db_client.get(f"/v1/s3/operations/{op.id}").get_json()
    assert body["Status"] == "Failed" and body["Attempts"] == 3
    assert body["Error"] == {"code": "ServiceUnavailable", "message": "the backend is down", "status": 503}
    with env.db.read() as session:
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.operation_id == op.id)).one()
    assert (event.action, event.outcome, event.status, event.error_code) == (
        "operation.end",
        "failed",
        503,
        "ServiceUnavailable",
    )


def test_a_retry_waits_for_its_backoff(db_app: Flask) -> None:
    env = _env(db_app)
    env.settings = env.settings.with_overrides(operation_retry_seconds=60)
    op = _start(db_app, Name="d", N=1, FailTimes=1)
    assert local.drain(env) == 1  # the retry is due in 60 s: not now
    row = env.operations.get(op.id)
    assert row.status == "NotStarted" and row.attempts == 1
    assert json.loads(row.error)["code"] == "ServiceUnavailable"
    assert execute.retry_delay(env.settings, 1) == 60 and execute.retry_delay(env.settings, 4) == 300


def test_an_error_no_retry_can_cure_fails_at_once(db_app: Flask, db_client: Client) -> None:
    op = _start(db_app, Name="e", N=1, Final=True)
    assert local.drain(_env(db_app)) == 1
    body = db_client.get(f"/v1/s3/operations/{op.id}").get_json()
    assert (body["Status"], body["Attempts"], body["Error"]["code"]) == ("Failed", 1, "Conflict")


def test_cancel_before_start_and_while_running(db_app: Flask, db_client: Client) -> None:
    waiting = _start(db_app, Name="f", N=1)
    answer = db_client.post(f"/v1/s3/operations/{waiting.id}/cancel")
    assert answer.status_code == 202 and answer.get_json()["Status"] == "Canceled"
    assert db_client.post(f"/v1/s3/operations/{waiting.id}/cancel").status_code == 409  # ended

    running = _start(db_app, Name="g", N=10, CancelAt=4)
    local.drain(_env(db_app))
    body = db_client.get(f"/v1/s3/operations/{running.id}").get_json()
    assert body["Status"] == "Canceled" and body["Progress"] == {"Done": 4}  # stopped at the checkpoint
    assert "stays done" in body["Result"]["Canceled"]
    assert _env(db_app).operations.get(waiting.id).status == "Canceled"
    assert ATTEMPTS.get("f") is None  # canceled before it started: never ran


def test_two_operations_on_one_target_never_run_at_once(db_app: Flask) -> None:
    env = _env(db_app)
    first, second = _start(db_app, Name="h", N=1), _start(db_app, Name="h", N=1)
    other = _start(db_app, Name="i", N=1)
    claimed = env.operations.claim_next()
    assert claimed is not None and claimed.id == first.id
    again = env.operations.claim_next(exclude={first.id})
    assert again is not None and again.id == other.id  # the second on "h" waits: its lock is held
    assert env.operations.claim_next(exclude={first.id, other.id}) is None
    with pytest.raises(Conflict) as refused:
        start(env, "test.count", env.aws("local"), {"Name": "h", "N": 1}, Starter(), if_busy="conflict")
    assert refused.value.errors == {"OperationId": first.id}
    execute.run(env, claimed)
    third = env.operations.claim_next()
    assert third is not None and third.id == second.id


def test_a_deduplicated_kind_returns_the_unfinished_one(db_app: Flask) -> None:
    env = _env(db_app)
    first = _start(db_app, "test.once", Name="j")
    again, created = start(env, "test.once", env.aws("local"), {"Name": "j"}, Starter())
    assert (again.id, created) == (first.id, False)
    local.drain(env)
    later, created = start(env, "test.once", env.aws("local"), {"Name": "j"}, Starter())
    assert created and later.id != first.id  # the first has ended: a new one starts


def test_a_stopping_worker_puts_the_operation_back_uncounted(db_app: Flask) -> None:
    env = _env(db_app)
    op = _start(db_app, Name="k", N=5)
    claimed = env.operations.claim_next()
    assert claimed is not None
    outcome = execute.run(env, claimed, stopping=lambda: True)
    assert outcome.status is None
    row = env.operations.get(op.id)
    assert (row.status, row.attempts, json.loads(row.progress)) == ("NotStarted", 0, {"Done": 1})
    local.drain(env)
    assert env.operations.get(op.id).status == "Succeeded"
    assert json.loads(env.operations.get(op.id).progress) == {"Done": 5}  # resumed from 1, not from 0


def test_a_runner_at_start_resumes_what_a_dead_one_left_running(db_app: Flask) -> None:
    env = _env(db_app)
    op = _start(db_app, Name="l", N=2)
    assert env.operations.claim_next() is not None  # "Running", and then the runner died
    assert env.operations.release_running() == 1
    local.drain(env)
    assert env.operations.get(op.id).status == "Succeeded"


def test_list_filters_pages_and_refusals(db_app: Flask, db_client: Client) -> None:
    ops = [_start(db_app, Name=f"m{i}", N=1) for i in range(3)]
    _start(db_app, "test.once", Name="n")
    page = db_client.get("/v1/s3/operations?kind=test.count&page_size=2").get_json()
    assert [o["Id"] for o in page["Operations"]] == [ops[2].id, ops[1].id]
    rest = db_client.get(f"/v1/s3/operations?kind=test.count&page_size=2&page_token={page['NextPageToken']}")
    assert [o["Id"] for o in rest.get_json()["Operations"]] == [ops[0].id]
    assert rest.get_json()["NextPageToken"] is None
    by_target = db_client.get("/v1/s3/operations?target=test:local/m1").get_json()["Operations"]
    assert [o["Id"] for o in by_target] == [ops[1].id]
    assert db_client.get("/v1/s3/operations?status=Succeeded").get_json()["Operations"] == []
    assert db_client.get("/v1/s3/operations?colour=red").status_code == 400
    assert db_client.get("/v1/s3/operations?status=Done").status_code == 400
    assert db_client.get("/v1/s3/operations?page_token=nope").status_code == 400
    assert db_client.get("/v1/s3/operations/op-000000000000000000000000").status_code == 404
    assert db_client.get("/v1/s3/operations/../keys").status_code in (400, 404)
    missing = db_client.post("/v1/s3/operations/nope/cancel")
    assert missing.status_code == 404 and missing.get_json()["code"] == "NotFound"


def test_a_reader_sees_operations_but_cannot_cancel(db_app: Flask, db_client: Client) -> None:
    op = _start(db_app, Name="o", N=1)
    reader = db_client.post("/v1/s3/keys", json={"Name": "r", "Role": "reader"}).get_json()["Key"]
    headers = {"X-Auth-Token": reader}
    assert db_client.get(f"/v1/s3/operations/{op.id}", auth=False, headers=headers).status_code == 200
    assert db_client.post(f"/v1/s3/operations/{op.id}/cancel", auth=False, headers=headers).status_code == 403
    assert _env(db_app).operations.get(op.id).status == "NotStarted"


def test_a_canceled_task_raising_canceled_itself_is_canceled(db_app: Flask) -> None:
    @kinds.kind("test.cancels", target=lambda account, p: "test:x")
    def _cancels(ctx: kinds.Context) -> None:
        raise Canceled("stopped by its own rule: nothing to undo")

    env = _env(db_app)
    op, _ = start(env, "test.cancels", env.aws("local"), {}, Starter())
    local.drain(env)
    row = env.operations.get(op.id)
    assert row.status == "Canceled" and json.loads(row.result) == {
        "Canceled": "stopped by its own rule: nothing to undo"
    }


def test_postgresql_queues_a_procrastinate_job_per_operation(seed: dict[str, str], postgres: DatabaseSettings) -> None:
    migrate.upgrade(postgres)
    app = create_app(make_settings(seed).with_overrides(database=postgres))
    env = _env(app)
    op = _start(app, Name="p", N=1)
    with env.db.read() as session:
        job = session.execute(
            sa.text("SELECT task_name, lock, queueing_lock, status, args FROM procrastinate_jobs")
        ).one()
    assert (job.task_name, job.lock, job.queueing_lock, job.status) == (
        "s3api.run_operation",
        "test:local/p",
        op.id,
        "todo",
    )
    assert job.args == {"operation_id": op.id}


def test_a_checkpoint_waits_out_a_short_database_outage(db_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The AWS work a counter counts is done: a save that finds the database away is tried again (here twice)
    instead of failing the attempt and losing the count."""
    env = _env(db_app)
    op = _start(db_app, Name="q", N=3)
    real = env.operations.save_progress
    failures = iter([True, True])

    def flaky(op_id: str, progress: dict[str, int]) -> bool:
        if next(failures, False):
            raise ServiceUnavailable("the database is unreachable, retry later")
        return real(op_id, progress)

    monkeypatch.setattr(env.operations, "save_progress", flaky)
    monkeypatch.setattr(kinds.time, "sleep", lambda seconds: None)
    local.drain(env)
    row = env.operations.get(op.id)
    assert (row.status, row.attempts, json.loads(row.progress)) == ("Succeeded", 1, {"Done": 3})


def test_a_longer_outage_fails_the_attempt_which_is_retried(db_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _env(db_app)
    env.settings = env.settings.with_overrides(operation_retry_seconds=0)
    op = _start(db_app, Name="r", N=1)
    real = env.operations.save_progress
    calls = {"n": 0}

    def down_first(op_id: str, progress: dict[str, int]) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ServiceUnavailable("the database is unreachable, retry later")
        return real(op_id, progress)

    monkeypatch.setattr(env.operations, "save_progress", down_first)
    monkeypatch.setattr(kinds, "OUTAGE_SECONDS", 0.0)  # no waiting: the first failure fails the attempt
    local.drain(env)
    row = env.operations.get(op.id)
    assert (row.status, row.attempts) == ("Succeeded", 2)


def test_unqueued_finds_due_rows_left_without_a_job(db_app: Flask) -> None:
    """What the periodic requeue (PostgreSQL) queues again: NotStarted and due rows not touched for a while."""
    env = _env(db_app)
    old, fresh = _start(db_app, Name="s", N=1), _start(db_app, Name="t", N=1)
    with env.db.write() as session:
        row = session.get(Operation, old.id)
        assert row is not None
        row.updated_at = row.updated_at - timedelta(minutes=5)
    assert [op.id for op in env.operations.unqueued(older_than=60)] == [old.id]
    assert fresh.id not in {op.id for op in env.operations.unqueued(older_than=60)}
