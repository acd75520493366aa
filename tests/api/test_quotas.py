"""Quotas on a bucket, end to end on the embedded kind of backend (moto with IAM enforcement): a bucket user's key
writes; the bucket fills past 75 % and 100 % of its quota; each crossing is one webhook in the outbox and one audit
event; at 100 % the key's writes are denied by our bucket-policy statement (reads still work) and stay denied
when a caller replaces the bucket policy; a raised quota lets the same key write again at once.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
from moto.core import enable_iam_authentication
from sqlalchemy import select

from s3api import create_app
from s3api.config import DatabaseSettings, Webhook
from s3api.control import quotas
from s3api.db.models import AuditEvent, WebhookDelivery
from s3api.provisioning import quota_guard
from tests.api.test_users_enforced import bootstrap_admin, denied, s3_with
from tests.conftest import Client, make_settings

BUCKET = "quota-data"
PATH = f"/v1/s3/local/buckets/{BUCKET}"


class World:
    def __init__(self, app: Any, client: Client, admin: dict[str, str], user: dict[str, str]) -> None:
        self.app, self.client, self.admin, self.user = app, client, admin, user

    @property
    def rt(self) -> Any:
        return self.app.extensions["s3api"]

    def sample(self) -> int:
        """One run of the periodic task (sampling, then the quota checks)."""
        return quotas.usage_sample(self.rt.aws("local"))

    def put(self, key: str, size: int, who: dict[str, str] | None = None) -> None:
        s3_with(who or self.user).put_object(Bucket=BUCKET, Key=key, Body=b"x" * size)

    def outbox(self) -> list[dict[str, Any]]:
        with self.rt.db.read() as session:
            rows = session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.event_type == "quota.alert")
                .order_by(WebhookDelivery.created_at)
            ).all()
        return [json.loads(r.payload)["Data"] for r in rows]

    def audit(self) -> list[AuditEvent]:
        with self.rt.db.read() as session:
            return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "quota.alert")).all())


@pytest.fixture
def world(seed: dict[str, str], migrated: DatabaseSettings) -> Iterator[World]:
    """On SQLite and on PostgreSQL (``migrated``)."""
    ak, sk = bootstrap_admin()
    database = migrated
    settings = make_settings(seed, access_key_id=ak, secret_access_key=sk).with_overrides(
        database=database,
        webhooks={
            "billing": Webhook(name="billing", url="http://127.0.0.1:9/hook", secret="s", events=("quota.alert",))
        },
        usage_refresh_seconds=0,  # every run lists the buckets under a quota again (tests: no waiting)
    )
    app = create_app(settings)
    client = Client(app.test_client())
    with enable_iam_authentication():
        r = client.post("/v1/s3/local/buckets", json={"BucketInput": {"Bucket": BUCKET}})
        assert r.status_code == 200, r.json
        r = client.post(f"{PATH}/users", json={"User": {"UserName": "writer"}, "Groups": ["BktRWGrp"]})
        assert r.status_code == 200, r.json
        yield World(app, client, {"AccessKeyId": ak, "SecretAccessKey": sk}, r.json["AccessKey"])


def test_alerts_before_the_limit_denial_at_it_and_writes_again_after_the_upgrade(world: World) -> None:
    r = world.client.put(f"{PATH}/quota", json={"QuotaBytes": 1000})
    assert r.status_code == 200, r.json
    assert r.json["AlertThresholds"] == [75, 90, 100] and r.json["WritesDenied"] is False

    world.put("a.bin", 800)
    world.sample()
    assert [d["Threshold"] for d in world.outbox()] == [75]
    status = world.client.get(f"{PATH}/quota").json
    assert (status["UsedBytes"], status["Percent"], status["WritesDenied"]) == (800, 80.0, False)
    assert [a["Threshold"] for a in status["Alerts"]] == [75]
    world.put("b.bin", 120)  # 920 bytes: still allowed below 100 %
    world.sample()
    assert [d["Threshold"] for d in world.outbox()] == [75, 90]
    world.sample()  # nothing new crossed: nothing sent again
    assert len(world.outbox()) == 2

    world.put("c.bin", 200)  # 1,120 bytes: over the quota
    world.sample()
    sent = world.outbox()
    assert [d["Threshold"] for d in sent] == [75, 90, 100] and sent[-1]["WritesDenied"] is True
    assert set(sent[-1]) == {"Subject", "Tenant", "Buckets", "Kind", "Threshold", "UsedBytes", "QuotaBytes", "Percent",
                             "WritesDenied", "Projection", "AsOf"}  # fmt: skip
    events = world.audit()
    assert sorted(e.input and json.loads(e.input)["Threshold"] for e in events) == [75, 90, 100]
    assert all(e.caller_name == "system" and e.resource == f"bucket:local/{BUCKET}" for e in events)
    assert denied(s3_with(world.user).put_object, Bucket=BUCKET, Key="d.bin", Body=b"x") in ("AccessDenied", "403")
    assert s3_with(world.user).get_object(Bucket=BUCKET, Key="a.bin")["Body"].read() == b"x" * 800  # reads work
    assert world.client.get(f"{PATH}/quota").json["WritesDenied"] is True

    # a caller replacing the bucket policy keeps our statement; faking one of our Sids is refused
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:DeleteObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/keep/*",
            }
        ],
    }
    assert world.client.put(PATH, json={"BucketPolicy": json.dumps(policy)}).status_code == 200
    assert denied(s3_with(world.user).put_object, Bucket=BUCKET, Key="d.bin", Body=b"x") in ("AccessDenied", "403")
    fake = {**policy, "Statement": [{**policy["Statement"][0], "Sid": "S3apiQuotaDenyWrites"}]}
    r = world.client.put(PATH, json={"BucketPolicy": json.dumps(fake)})
    assert r.status_code == 400 and "reserved" in r.json["message"]

    r = world.client.put(f"{PATH}/quota", json={"QuotaBytes": 5000})  # the upgrade: lifted at once
    assert r.status_code == 200, r.json
    assert r.json["WritesDenied"] is False and r.json["Alerts"] == []
    world.put("d.bin", 10)
    policy_now = json.loads(s3_with(world.admin).get_bucket_policy(Bucket=BUCKET)["Policy"])
    assert [st.get("Sid") for st in policy_now["Statement"]] == [None]  # the caller's statement stays, ours went


def test_a_statement_removed_by_hand_comes_back_at_the_next_check(world: World) -> None:
    world.put("a.bin", 100)
    assert world.client.put(f"{PATH}/quota", json={"QuotaBytes": 50, "AlertThresholds": [50]}).status_code == 200
    world.sample()
    assert quota_guard.is_denied(world.rt.aws("local"), BUCKET)
    s3_with(world.admin).delete_bucket_policy(Bucket=BUCKET)
    world.sample()
    assert quota_guard.is_denied(world.rt.aws("local"), BUCKET)
    assert [d["Threshold"] for d in world.outbox()] == [50, 100]  # sent once each, not again
    assert world.client.delete(f"{PATH}/quota").status_code == 204
    assert not quota_guard.is_denied(world.rt.aws("local"), BUCKET)
    world.put("b.bin", 10)


@pytest.mark.parametrize(
    "body",
    [{}, {"QuotaBytes": 0}, {"QuotaBytes": "100"}, {"QuotaBytes": 10, "AlertThresholds": [0]},
     {"QuotaBytes": 10, "AlertThresholds": [101]}, {"QuotaBytes": 10, "Extra": 1}, {"QuotaBytes": True}],
)  # fmt: skip
def test_bad_quota_input_is_400_and_sets_nothing(world: World, body: dict[str, Any]) -> None:
    r = world.client.put(f"{PATH}/quota", json=body)
    assert r.status_code == 400, r.json
    assert world.client.get(f"{PATH}/quota").status_code == 404


def test_quota_of_an_unknown_bucket_is_404(world: World) -> None:
    assert world.client.put("/v1/s3/local/buckets/no-such-data/quota", json={"QuotaBytes": 10}).status_code == 404
    assert world.client.delete(f"{PATH}/quota").status_code == 404


def test_a_tenant_over_its_plans_quota_is_denied_on_every_bucket_and_writes_again_after_the_plan_grows(
    world: World,
) -> None:
    from datetime import UTC, datetime

    from s3api.db.models import Plan
    from s3api.db.tenants import NewTenant, TenantStore

    rt = world.rt
    when = datetime.now(UTC)
    with rt.db.write() as session:
        session.add(Plan(name="small", storage_type="Standard", locations='["local"]', prices="[]", quota_bytes=500,
                         created_at=when, updated_at=when))  # fmt: skip
    tenant = TenantStore(rt.db).create(NewTenant(account="local", location="local", plan="small", email="a@b.test",
                                                 status="active")).id  # fmt: skip
    second = "quota-more"
    assert world.client.post("/v1/s3/local/buckets", json={"BucketInput": {"Bucket": second}}).status_code == 200
    admin = s3_with(world.admin)
    for bucket in (BUCKET, second):
        tags = admin.get_bucket_tagging(Bucket=bucket)["TagSet"]
        admin.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [*tags, {"Key": "s3api:tenant", "Value": tenant}]})
    world.put("a.bin", 300)
    admin.put_object(Bucket=second, Key="b.bin", Body=b"y" * 250)  # 550 of 500 together
    world.sample()
    sent = [d for d in world.outbox() if d["Subject"] == f"tenant:{tenant}"]
    assert [d["Threshold"] for d in sent] == [75, 90, 100] and all(d["Tenant"] == tenant for d in sent)
    assert sorted(sent[-1]["Buckets"]) == [BUCKET, second]
    aws = rt.aws("local")
    assert quota_guard.is_denied(aws, BUCKET) and quota_guard.is_denied(aws, second)
    assert denied(s3_with(world.user).put_object, Bucket=BUCKET, Key="c.bin", Body=b"x") in ("AccessDenied", "403")
    status = quotas.tenant_status(quotas.env(rt), tenant, 500)
    assert status["UsedBytes"] == 550 and [a["Threshold"] for a in status["Alerts"]] == [75, 90, 100]

    with rt.db.write() as session:
        session.get(Plan, "small").quota_bytes = 10_000  # the plan grows
    world.sample()
    assert not quota_guard.is_denied(aws, BUCKET) and not quota_guard.is_denied(aws, second)
    world.put("c.bin", 10)
    assert quotas.tenant_status(quotas.env(rt), tenant, 10_000)["Alerts"] == []
