"""Fault injection over tenant termination (``tenant.terminate``): every AWS call it makes fails once, in turn.

A counting run learns the N AWS calls of terminating a tenant with two buckets (versions, delete markers, an
incomplete upload, the buckets' IAM groups and policies) and its stand-in IAM user. Then, for every k in 1..N,
a fresh tenant is made the same way and terminated with its k-th call failing (InternalError, HTTP 500: the call
never reaches the emulator):

- **the operation resumes and finishes**: the engine retries the attempt (503 is not final) and the retry
  completes — status Succeeded after 2 attempts; or, with ``operation_attempts=1``, the operation gives up
  (Failed), the tenant stays ``terminating``, and the next ``tenants_terminate`` run starts a new operation that
  finishes from what is left;
- **no orphan**: afterwards the emulator holds exactly what it held before the tenant was made
  (:func:`tests.faults.snapshot`: buckets, objects, IAM users, keys, groups, members, policies, attachments), the
  tenant is ``terminated``, its API key revoked, and exactly one ``tenant.terminated`` webhook was written.

Run with ``-s`` to print the number of failure points.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from s3api.config import DatabaseSettings
from s3api.jobs import local, schedule
from s3api.provisioning import emptying
from tests import faults
from tests.api import lifecycle_made as made
from tests.conftest import Client

LOG_BUCKET = "s3api-access-logs-123456789012"
TENANTS = "/v1/s3/tenants"
BUCKETS = ("fi-one", "fi-two")


@pytest.fixture(autouse=True)
def _stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    made.use_stand_ins(monkeypatch)
    monkeypatch.setattr(emptying, "RETRY_PAUSE", 0.0)


def state() -> dict[str, Any]:
    return faults.snapshot(skip_objects_of=[LOG_BUCKET])


APPS: list[Flask] = []


@pytest.fixture(autouse=True)
def _close_apps() -> Iterator[None]:
    yield
    while APPS:
        made.close_app(APPS.pop())


def fresh(seed: dict[str, str], database: DatabaseSettings, **overrides: Any) -> tuple[Flask, Client]:
    app = made.lifecycle_app(seed, database, log_level="warning", **overrides)
    APPS.append(app)
    client = Client(app.test_client())
    made.make_plan(client, "free", monthly="0")
    return app, client


def tenant_with_everything(client: Client) -> made.Made:
    from s3api.provisioning.tenants import ownership

    # the buckets are made again under the same names, maybe within the second ListBuckets dates them by: the
    # owners this process remembers (by name and creation date) would name the previous tenant
    ownership.clear()
    tenant = made.make_tenant(client, "free", buckets=BUCKETS, objects=3)
    s3 = made.s3_client()
    upload = s3.create_multipart_upload(Bucket=BUCKETS[0], Key="mp/big")
    s3.upload_part(Bucket=BUCKETS[0], Key="mp/big", UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 1024)
    r = client.post(f"{made.BUCKETS}/{BUCKETS[1]}/users", json={"User": {"UserName": "fi-two-alice"}})
    assert r.status_code in (200, 201), r.json
    return tenant


def delete(client: Client, tenant: made.Made) -> str:
    r = client.delete(f"{TENANTS}/{tenant.id}", json={"Reason": "fault injection"})
    assert r.status_code == 202, r.json
    return str(r.json["Id"])


def terminated_cleanly(client: Client, tenant: made.Made, baseline: dict[str, Any], where: str) -> None:
    assert state() == baseline, f"{where}: AWS holds more (or less) than before the tenant was made"
    row = made.tenant_row(client, tenant.id)
    assert row.status == "terminated", (where, row.status)
    hooks = [e for e in made.webhook_events(client) if e["Data"].get("Tenant") == tenant.id]
    assert made.types(hooks) == ["tenant.deletion_scheduled", "tenant.terminated"], where
    assert made.env_of(client).keys.get(tenant.key_id)["RevokedAt"] is not None, where


def count_calls(app: Flask, client: Client, baseline: dict[str, Any]) -> list[str]:
    tenant = tenant_with_everything(client)
    op = delete(client, tenant)
    with faults.aws_calls(app) as probe:
        assert local.drain(made.env_of(client)) == 1
    assert client.get(f"/v1/s3/operations/{op}").json["Status"] == "Succeeded"
    terminated_cleanly(client, tenant, baseline, "counting run")
    assert probe.calls
    return list(probe.calls)


def test_every_failure_point_is_retried_and_finishes(seed: dict[str, str], migrated: DatabaseSettings) -> None:
    app, client = fresh(seed, migrated, operation_attempts=3)
    baseline = state()
    calls = count_calls(app, client, baseline)
    for k in range(1, len(calls) + 1):
        where = f"call {k}/{len(calls)} ({calls[k - 1]})"
        tenant = tenant_with_everything(client)
        op = delete(client, tenant)
        with faults.aws_calls(app, k) as hook:
            assert local.drain(made.env_of(client)) == 2, where  # the failed attempt, then its retry
        assert hook.calls[:k] == calls[:k], f"{where}: the calls differ from the counting run"
        assert hook.failed == calls[k - 1], where
        shown = client.get(f"/v1/s3/operations/{op}").json
        assert (shown["Status"], shown["Attempts"]) == ("Succeeded", 2), (where, shown)
        terminated_cleanly(client, tenant, baseline, where)
    print(f"\ntenant termination: {len(calls)} failure points, each retried to the end")


def test_every_failure_point_after_giving_up_is_finished_by_the_periodic_task(
    seed: dict[str, str], migrated: DatabaseSettings
) -> None:
    if migrated.url.startswith("postgresql"):
        pytest.skip("the same code path as on SQLite; the retry test above covers PostgreSQL")
    app, client = fresh(seed, migrated, operation_attempts=1)
    baseline = state()
    calls = count_calls(app, client, baseline)
    env = made.env_of(client)
    periodic = schedule.tasks(env, engine="test")["tenants_terminate"]
    for k in range(1, len(calls) + 1):
        where = f"call {k}/{len(calls)} ({calls[k - 1]})"
        tenant = tenant_with_everything(client)
        op = delete(client, tenant)
        with faults.aws_calls(app, k) as hook:
            assert local.drain(env) == 1, where
        assert hook.failed == calls[k - 1], where
        assert client.get(f"/v1/s3/operations/{op}").json["Status"] == "Failed", where
        assert made.tenant_row(client, tenant.id).status == "terminating", where  # never back to active
        assert periodic(0) == 1, where
        assert local.drain(env) == 1, where
        terminated_cleanly(client, tenant, baseline, where)
    print(f"\ntenant termination: {len(calls)} failure points, each finished by tenants_terminate")
