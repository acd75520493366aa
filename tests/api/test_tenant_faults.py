"""Fault injection over tenant provisioning (the operation ``tenant.create``): every failure point leaves nothing
behind in AWS (the emulator's snapshot equals the one before) nor in the database (no API key, the tenant row
``failed``, the operation Failed with our envelope); and the operation retried after a failure finishes.

A counting run learns the N AWS calls a create makes; then for every k in 1..N the k-th call fails (InternalError,
injected by a botocore before-call hook: the call never reaches the emulator). ``operation_attempts=1`` makes
the first failure final, so that each k shows what a failed create leaves. Run with ``-s`` for the figure.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from s3api.control import tenants as control
from s3api.db.models import ApiKey, Tenant
from s3api.errors import ServiceUnavailable
from s3api.jobs import local
from tests import faults
from tests.api.tenancy_fixtures import TENANTS, body, run_operations, tenancy_app
from tests.conftest import Client, make_settings

LOG_BUCKET = "s3api-access-logs-123456789012"


@pytest.fixture
def fapp(seed: dict[str, str], tmp_path: Any) -> Flask:
    settings = dataclasses.replace(make_settings(seed), log_level="warning", operation_attempts=1)
    from s3api.config import DatabaseSettings
    from s3api.db import migrate

    database = DatabaseSettings(url=f"sqlite:///{tmp_path}/data/s3api.db", data_dir=str(tmp_path / "data"))
    migrate.upgrade(database)
    return tenancy_app(settings, database)


def state() -> dict[str, Any]:
    return faults.snapshot(skip_objects_of=[LOG_BUCKET])


def keys_of(app: Flask, tenant_id: str) -> int:
    with app.extensions["s3api"].db.read() as session:
        return int(session.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.tenant == tenant_id)) or 0)


def status_of(app: Flask, tenant_id: str) -> str:
    with app.extensions["s3api"].db.read() as session:
        return str(session.get(Tenant, tenant_id).status)


def start(client: Client, bucket: str) -> tuple[str, str]:
    r = client.post(TENANTS, json=body(bucket))
    assert r.status_code == 202, r.json
    return r.json["Id"], r.json["Target"].rsplit("/", 1)[1]


def test_every_failure_point_of_tenant_create_leaves_nothing(fapp):
    client = Client(fapp.test_client())
    op_id, _ = start(client, "fault-count")
    with faults.aws_calls(fapp) as probe:
        assert run_operations(fapp) == 1
    assert client.get(f"/v1/s3/operations/{op_id}").json["Status"] == "Succeeded"
    calls = probe.calls
    assert len(calls) > 20
    for k in range(1, len(calls) + 1):
        before = state()
        op_id, tenant_id = start(client, f"fault-{k}")
        with faults.aws_calls(fapp, k) as hook:
            run_operations(fapp)
        where = f"call {k}/{len(calls)} ({calls[k - 1]})"
        assert hook.calls[:k] == calls[:k], where
        op = client.get(f"/v1/s3/operations/{op_id}").json
        assert op["Status"] == "Failed" and op["Error"]["code"] == "ServiceUnavailable", (where, op)
        assert status_of(fapp, tenant_id) == "failed", where
        assert keys_of(fapp, tenant_id) == 0, where
        assert state() == before, where
    print(f"\nfault injection: tenant.create {len(calls)} failure points")


def test_a_failed_attempt_is_retried_and_finishes(seed, migrated):
    app = tenancy_app(dataclasses.replace(make_settings(seed), operation_retry_seconds=0), migrated)
    client = Client(app.test_client())
    before = state()
    op_id, tenant_id = start(client, "retried-data")
    with faults.aws_calls(app, 20):  # the 20th call (of 23) fails: rolled back, due again
        assert local.drain(app.extensions["s3api"], limit=1) == 1
    op = client.get(f"/v1/s3/operations/{op_id}").json
    assert op["Status"] == "NotStarted" and op["Attempts"] == 1, op
    assert state() == before and keys_of(app, tenant_id) == 0 and status_of(app, tenant_id) == "provisioning"
    run_operations(app)
    done = client.get(f"/v1/s3/operations/{op_id}").json
    assert done["Status"] == "Succeeded", done
    assert done["Result"]["Credentials"]["SecretAccessKey"]
    assert status_of(app, tenant_id) == "active" and keys_of(app, tenant_id) == 1


def test_a_database_failure_at_the_end_undoes_the_aws_work(fapp, monkeypatch):
    client = Client(fapp.test_client())
    before = state()

    def down(*_: Any) -> None:
        raise ServiceUnavailable("the database is unavailable, retry later")

    monkeypatch.setattr(control, "_activate", down)
    op_id, tenant_id = start(client, "db-fails-data")
    run_operations(fapp)
    assert client.get(f"/v1/s3/operations/{op_id}").json["Status"] == "Failed"
    assert state() == before and keys_of(fapp, tenant_id) == 0 and status_of(fapp, tenant_id) == "failed"


def test_leftovers_of_a_dead_attempt_are_removed_by_the_next(fapp):
    """A worker that died after the credentials were made (no rollback ran): the next attempt starts clean."""
    client = Client(fapp.test_client())
    op_id, tenant_id = start(client, "dead-worker-data")
    aws = fapp.extensions["s3api"].aws("local")
    from s3api.provisioning.steps import Transaction
    from s3api.provisioning.tenants import credentials

    with Transaction("left") as tx:
        credentials.create(aws, tenant_id, ["dead-worker-data"], tx)
    fapp.extensions["s3api"].keys.create("left", "tenant", tenant_id)
    run_operations(fapp)
    op = client.get(f"/v1/s3/operations/{op_id}").json
    assert op["Status"] == "Succeeded", op
    assert len(credentials.keys(aws, tenant_id)) == 1 and status_of(fapp, tenant_id) == "active"
    with fapp.extensions["s3api"].db.read() as session:
        live = session.scalars(select(ApiKey).where(ApiKey.tenant == tenant_id, ApiKey.revoked_at.is_(None))).all()
    assert len(live) == 1


def _credentials_of(fapp: Flask, bucket: str) -> tuple[Client, str]:
    client = Client(fapp.test_client())
    op_id, tenant_id = start(client, bucket)
    run_operations(fapp)
    assert client.get(f"/v1/s3/operations/{op_id}").json["Status"] == "Succeeded"
    return client, tenant_id


def test_every_failure_point_of_a_rotation_with_grace_leaves_the_keys_as_they_were(fapp):
    client, tenant_id = _credentials_of(fapp, "rotate-faults")
    path = f"{TENANTS}/{tenant_id}/credentials/rotate"
    assert client.post(path, json={"GraceSeconds": 600}).status_code == 200  # the marker group exists from now on
    assert client.post(path, json={"GraceSeconds": 0}).status_code == 200  # back to one key
    with faults.aws_calls(fapp) as probe:
        first = client.post(path, json={"GraceSeconds": 600})
    assert first.status_code == 200, first.json
    assert client.post(path, json={"GraceSeconds": 0}).status_code == 200
    calls = probe.calls
    for k in range(1, len(calls) + 1):
        before = state()
        with faults.aws_calls(fapp, k):
            r = client.post(path, json={"GraceSeconds": 600})
        assert r.status_code == 503, (k, calls[k - 1], r.json)
        assert state() == before, (k, calls[k - 1])
    print(f"\nfault injection: tenant rotate {len(calls)} failure points")


def test_a_sync_that_failed_half_way_is_finished_by_the_next(fapp):
    """A sync is not a transaction: it never gives a bucket the tenant does not own and never takes a bucket's
    access before its own policy changed; a failure half-way is finished by the next sync (the bucket create
    and delete call it again on their retry)."""
    from s3api.provisioning.tenants import credentials, ownership

    client, tenant_id = _credentials_of(fapp, "sync-faults")
    aws = fapp.extensions["s3api"].aws("local")
    s3 = boto3_s3()
    names = [f"sync-extra-{i}" for i in range(3)]
    for name in names:
        s3.create_bucket(Bucket=name)
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": ownership.TAG_KEY, "Value": tenant_id}]})
    ownership.clear()  # every run reads the tags afresh (the process remembers settled owners)
    with faults.aws_calls(fapp) as probe:
        credentials.sync(aws, tenant_id)
    calls = probe.calls
    credentials.sync(aws, tenant_id, ["sync-faults"])
    for k in range(1, len(calls) + 1):
        ownership.clear()
        with faults.aws_calls(fapp, k), pytest.raises(Exception):
            credentials.sync(aws, tenant_id)
        reached = set().union(*credentials._current(aws, tenant_id).values())
        assert reached <= {"sync-faults", *names}, k
        credentials.sync(aws, tenant_id)
        assert set().union(*credentials._current(aws, tenant_id).values()) == {"sync-faults", *names}, k
        credentials.sync(aws, tenant_id, ["sync-faults"])
    print(f"\nfault injection: tenant sync {len(calls)} failure points")


def boto3_s3() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
