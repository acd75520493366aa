"""Tenants through the API, on SQLite and PostgreSQL: create (an operation; the secrets once), bad input that
creates nothing, list with filters and pages, show, plan change with its webhook, credentials (rotate, key status,
reveal), suspension."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from sqlalchemy import func, select

from s3api import auth
from s3api.db.models import ApiKey, AuditEvent, Operation, Tenant, WebhookDelivery
from s3api.provisioning.tenants import credentials, ownership
from tests.api.tenancy_fixtures import TENANTS, body, make_tenant, run_operations, tapp, tclient, tenancy_app
from tests.conftest import Client, make_settings

__all__ = ["tapp", "tclient"]


def db_of(app: Any) -> Any:
    return app.extensions["s3api"].db


def count(app: Any, model: Any, *where: Any) -> int:
    with db_of(app).read() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def s3_of(key_id: str, secret: str) -> Any:
    return boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}),
    )


def test_create_answers_an_operation_that_makes_the_tenant(tapp, tclient, s3):
    made = make_tenant(tclient, tapp)
    tid = made["Id"]
    # the secrets once: the next read of the operation has none
    again = tclient.get(f"/v1/s3/operations/{made['Operation']}").json["Result"]
    assert again["SecretsShown"] is True and "SecretAccessKey" not in again["Credentials"]
    assert "Key" not in again["ApiKey"] and "Handover" not in again
    with db_of(tapp).read() as session:
        stored = session.get(Operation, made["Operation"]).result
    assert made["SecretAccessKey"] not in stored and made["ApiKey"] not in stored
    # the row, the bucket (tagged), the credentials, the API key
    shown = tclient.get(f"{TENANTS}/{tid}")
    assert shown.status_code == 200, shown.json
    t = shown.json
    assert t["Status"] == "active" and t["Plan"] == "free" and t["Location"] == "local"
    assert [b["Name"] for b in t["Buckets"]] == ["acme-data"]
    assert t["Credentials"]["AccessKeyId"] == made["AccessKeyId"]
    assert [k["AccessKeyId"] for k in t["Credentials"]["Keys"]] == [made["AccessKeyId"]]
    assert t["Endpoint"] and t["ActivatedAt"].endswith("Z") and t["Quota"]["MaxBuckets"] == 5
    assert "SecretAccessKey" not in json.dumps(t)
    assert ownership.owner(tapp.extensions["s3api"].aws("local"), "acme-data") == tid
    s3_of(made["AccessKeyId"], made["SecretAccessKey"]).put_object(Bucket="acme-data", Key="a", Body=b"a")
    view = tapp.extensions["s3api"].keys.verifier.verify(made["ApiKey"])
    assert view is not None and view.role == "tenant" and view.tenant == tid
    # the webhook and the audit trail (the secret read included), never a secret
    assert count(tapp, WebhookDelivery, WebhookDelivery.event_type == "tenant.created") == 1
    assert count(tapp, AuditEvent, AuditEvent.action == "tenant.secrets_shown") == 1
    assert count(tapp, AuditEvent, AuditEvent.action == "tenant.create") == 1
    with db_of(tapp).read() as session:
        payloads = [w.payload for w in session.scalars(select(WebhookDelivery))]
    assert payloads and not any(made["SecretAccessKey"] in p or made["ApiKey"] in p for p in payloads)
    listed = json.dumps(tclient.get("/v1/s3/operations?kind=tenant.create").json)
    assert "Handover" not in listed and made["SecretAccessKey"] not in listed


def test_the_handover_is_never_in_a_listing_before_it_is_taken(tapp, tclient):
    r = tclient.post(TENANTS, json=body())
    run_operations(tapp)
    listed = tclient.get("/v1/s3/operations?kind=tenant.create").json["Operations"]
    assert [o["Id"] for o in listed] == [r.json["Id"]]
    assert "Handover" not in listed[0]["Result"] and "SecretAccessKey" not in listed[0]["Result"]["Credentials"]
    assert tclient.get(f"/v1/s3/operations/{r.json['Id']}").json["Result"]["Credentials"]["SecretAccessKey"]


def test_usage_is_included_on_request(tapp, tclient, s3):
    made = make_tenant(tclient, tapp)
    s3.put_object(Bucket="acme-data", Key="x", Body=b"12345")
    t = tclient.get(f"{TENANTS}/{made['Id']}?include=usage").json
    assert t["Buckets"][0]["Usage"]["Objects"] == 1 and t["Buckets"][0]["Usage"]["Bytes"] == 5
    assert tclient.get(f"{TENANTS}/{made['Id']}?include=everything").status_code == 400


def test_a_reader_does_not_take_the_secrets(tapp, tclient):
    r = tclient.post(TENANTS, json=body())
    run_operations(tapp)
    reader = tapp.extensions["s3api"].keys.create("r", "reader")["Key"]
    seen = tclient.get(f"/v1/s3/operations/{r.json['Id']}", auth=False, headers={"X-Auth-Token": reader}).json
    assert "SecretAccessKey" not in seen["Result"]["Credentials"] and seen["Result"]["SecretsShown"] is False
    admin = tclient.get(f"/v1/s3/operations/{r.json['Id']}").json
    assert admin["Result"]["Credentials"]["SecretAccessKey"]


BAD = [
    ({"Plan": "nope"}, 404, "not found"),
    ({"Plan": "retired"}, 400, "not active"),
    ({"Plan": "lab"}, 400, "test plan"),
    ({"Plan": "elsewhere"}, 400, "not sold"),
    ({"Plan": "paid"}, 400, "POST /v1/s3/orders"),
    ({"Location": "mars"}, 400, "location"),
    ({"Email": "not-an-email"}, 400, "Email"),
    ({"Bucket": "Bad_Name"}, 400, "Bucket"),
    ({"Tester": "yes"}, 400, "Tester"),
    ({"Surprise": 1}, 400, "Surprise"),
    ({"Bucket": "taken-bucket"}, 409, "already exists"),
]


@pytest.mark.parametrize(("change", "status", "says"), BAD, ids=[str(b[0]) for b in BAD])
def test_bad_input_creates_nothing(tapp, tclient, s3, change, status, says):
    s3.create_bucket(Bucket="taken-bucket")
    before = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
    r = tclient.post(TENANTS, json={**body(), **change})
    assert r.status_code == status, r.json
    assert says in json.dumps(r.json)
    assert count(tapp, Tenant) == 0 and count(tapp, Operation) == 0 and count(tapp, ApiKey) == 0
    assert sorted(b["Name"] for b in s3.list_buckets()["Buckets"]) == before


def test_a_test_plan_for_a_tester(tapp, tclient):
    made = make_tenant(tclient, tapp, Plan="lab", Tester=True)
    assert tclient.get(f"{TENANTS}/{made['Id']}").json["Tester"] is True


def test_two_tenants_never_claim_one_first_bucket(tapp, tclient):
    assert tclient.post(TENANTS, json=body("shared-name")).status_code == 202
    second = tclient.post(TENANTS, json=body("shared-name"))
    assert second.status_code == 409 and "being created" in second.json["message"]


def test_a_failed_create_leaves_a_failed_row_and_nothing_else(tapp, tclient, s3):
    r = tclient.post(TENANTS, json=body("late-taken"))
    s3.create_bucket(Bucket="late-taken")  # taken between the request and the operation (another account, say)
    s3.put_object(Bucket="late-taken", Key="theirs", Body=b"x")
    run_operations(tapp)
    op = tclient.get(f"/v1/s3/operations/{r.json['Id']}").json
    assert op["Status"] == "Failed" and op["Error"]["status"] == 409, op
    rows = tclient.get(f"{TENANTS}?status=failed").json["Tenants"]
    assert len(rows) == 1 and count(tapp, ApiKey) == 0
    assert s3.get_object(Bucket="late-taken", Key="theirs")["Body"].read() == b"x"  # never touched
    iam = boto3.client("iam", region_name="us-east-1")
    assert not [u for u in iam.list_users()["Users"] if u["UserName"].startswith("s3api-tenant-")]


def test_list_filters_order_and_pages(tapp, tclient, s3):
    ids = [make_tenant(tclient, tapp, f"list-b{i}", ClientId=f"client-{i % 2}", Billing="eu")["Id"] for i in range(3)]
    newest = tclient.get(TENANTS).json
    assert [t["Id"] for t in newest["Tenants"]] == ids[::-1] and newest["NextPageToken"] is None
    oldest = tclient.get(f"{TENANTS}?order_by=CreatedAt&page_size=2").json
    assert [t["Id"] for t in oldest["Tenants"]] == ids[:2]
    rest = tclient.get(f"{TENANTS}?order_by=CreatedAt&page_size=2&page_token={oldest['NextPageToken']}").json
    assert [t["Id"] for t in rest["Tenants"]] == ids[2:] and rest["NextPageToken"] is None
    assert {t["Id"] for t in tclient.get(f"{TENANTS}?client_id=client-0").json["Tenants"]} == {ids[0], ids[2]}
    assert [t["Id"] for t in tclient.get(f"{TENANTS}?bucket=list-b1").json["Tenants"]] == [ids[1]]
    assert tclient.get(f"{TENANTS}?bucket=no-such-bucket").json["Tenants"] == []
    assert len(tclient.get(f"{TENANTS}?plan=free&status=active&location=local&billing=eu").json["Tenants"]) == 3
    assert tclient.get(f"{TENANTS}?storage_type=DeepArchive").json["Tenants"] == []
    assert len(tclient.get(f"{TENANTS}?storage_type=Standard&email=ops@acme.example").json["Tenants"]) == 3
    assert [t["Id"] for t in tclient.get(f"{TENANTS}?tenant={ids[1]}").json["Tenants"]] == [ids[1]]
    for bad in ("colour=red", "order_by=Name", "page_size=0", "page_token=zzz", "status=sleeping"):
        assert tclient.get(f"{TENANTS}?{bad}").status_code == 400, bad
    assert "Buckets" not in newest["Tenants"][0]  # a list reads no AWS


def test_get_unknown_tenant_is_404(tclient):
    assert tclient.get(f"{TENANTS}/t-0000000000000000").status_code == 404
    assert tclient.get(f"{TENANTS}/nonsense").status_code == 404


def test_plan_change_is_audited_with_a_webhook(tapp, tclient, s3):
    tid = make_tenant(tclient, tapp)["Id"]
    r = tclient.patch(f"{TENANTS}/{tid}", json={"Plan": "archive", "Billing": "group-b"})
    assert r.status_code == 200, r.json
    assert r.json["Plan"] == "archive" and r.json["Billing"] == "group-b" and r.json["StorageType"] == "DeepArchive"
    with db_of(tapp).read() as session:
        hooks = session.scalars(select(WebhookDelivery).where(WebhookDelivery.event_type == "tenant.plan_changed"))
        payloads = [json.loads(h.payload) for h in hooks]
    assert [p["Data"]["Plan"] for p in payloads] == ["archive"] and payloads[0]["Data"]["OldPlan"] == "free"
    assert count(tapp, AuditEvent, AuditEvent.action == "tenant.update", AuditEvent.status == 200) == 1
    s3.create_bucket(Bucket="second-one")
    s3.put_bucket_tagging(Bucket="second-one", Tagging={"TagSet": [{"Key": "s3api:tenant", "Value": tid}]})
    back = tclient.patch(f"{TENANTS}/{tid}", json={"Plan": "free"})
    assert back.status_code == 200
    again = tclient.patch(f"{TENANTS}/{tid}", json={"Plan": "archive"})  # two buckets, the plan allows one
    assert again.status_code == 409 and "delete some" in again.json["message"]
    for bad in ({}, {"Plan": "nope"}, {"Plan": "retired"}, {"Email": "x"}, {"Colour": "red"}):
        assert tclient.patch(f"{TENANTS}/{tid}", json=bad).status_code in (400, 404), bad
    assert tclient.get(f"{TENANTS}/{tid}").json["Plan"] == "free"


def test_rotate_key_status_and_reveal_without_keys(tapp, tclient):
    made = make_tenant(tclient, tapp)
    tid = made["Id"]
    r = tclient.post(f"{TENANTS}/{tid}/credentials/rotate", json={"GraceSeconds": 300})
    assert r.status_code == 200, r.json
    new_id = r.json["AccessKeyId"]
    keys = tclient.get(f"{TENANTS}/{tid}").json["Credentials"]
    assert keys["AccessKeyId"] == new_id and {k["AccessKeyId"] for k in keys["Keys"]} == {made["AccessKeyId"], new_id}
    off = tclient.patch(f"{TENANTS}/{tid}/credentials/{made['AccessKeyId']}", json={"Status": "Inactive"})
    assert off.status_code == 200 and off.json["Status"] == "Inactive"
    states = {k["AccessKeyId"]: k["Status"] for k in tclient.get(f"{TENANTS}/{tid}").json["Credentials"]["Keys"]}
    assert states == {made["AccessKeyId"]: "Inactive", new_id: "Active"}
    assert (
        tclient.patch(f"{TENANTS}/{tid}/credentials/{made['AccessKeyId']}", json={"Status": "Active"}).status_code
        == 200
    )
    assert (
        tclient.patch(f"{TENANTS}/{tid}/credentials/AKIAOTHERUSERKEY0000", json={"Status": "Active"}).status_code == 404
    )
    assert tclient.patch(f"{TENANTS}/{tid}/credentials/{new_id}", json={"Status": "Off"}).status_code == 400
    assert tclient.post(f"{TENANTS}/{tid}/credentials/rotate", json={"GraceSeconds": -1}).status_code == 400
    revealed = tclient.post(f"{TENANTS}/{tid}/credentials/reveal")
    if tapp.extensions["s3api"].settings.secret_keys:  # PostgreSQL: its handover needs them, so they are kept
        assert revealed.status_code == 200 and revealed.json["SecretAccessKey"] == r.json["SecretAccessKey"]
    else:  # the embedded default: not kept, so not shown again
        assert revealed.status_code == 409 and "rotate" in revealed.json["message"]
        assert count(tapp, AuditEvent, AuditEvent.action == "tenant.secret_reveal", AuditEvent.status == 409) == 1
    again = tclient.post(f"{TENANTS}/{tid}/credentials/rotate", json={})
    assert again.status_code == 200  # no grace: the old keys go
    assert [k["AccessKeyId"] for k in tclient.get(f"{TENANTS}/{tid}").json["Credentials"]["Keys"]] == [
        again.json["AccessKeyId"]
    ]


def test_reveal_with_configured_secret_keys(seed, migrated):
    app = tenancy_app(make_settings(seed), migrated, secret_keys=True)
    client = Client(app.test_client())
    made = make_tenant(client, app)
    r = client.post(f"{TENANTS}/{made['Id']}/credentials/reveal")
    assert r.status_code == 200, r.json
    assert r.json["SecretAccessKey"] == made["SecretAccessKey"]
    rotated = client.post(f"{TENANTS}/{made['Id']}/credentials/rotate", json={}).json
    assert (
        client.post(f"{TENANTS}/{made['Id']}/credentials/reveal").json["SecretAccessKey"] == rotated["SecretAccessKey"]
    )
    with db_of(app).read() as session:
        sealed = session.get(Tenant, made["Id"]).sealed_secret
    assert sealed and rotated["SecretAccessKey"] not in sealed
    assert count(app, AuditEvent, AuditEvent.action == "tenant.secret_reveal", AuditEvent.status == 200) == 2


def test_suspend_and_resume(tapp, tclient):
    made = make_tenant(tclient, tapp)
    tid = made["Id"]
    r = tclient.post(f"{TENANTS}/{tid}/suspend")
    assert r.status_code == 200 and r.json["Status"] == "suspended", r.json
    aws = tapp.extensions["s3api"].aws("local")
    assert credentials.is_suspended(aws, tid)
    assert tclient.post(f"{TENANTS}/{tid}/suspend").status_code == 200  # idempotent
    assert tclient.post(f"{TENANTS}/{tid}/resume").json["Status"] == "active"
    assert not credentials.is_suspended(aws, tid)
    assert count(tapp, WebhookDelivery, WebhookDelivery.event_type == "tenant.suspended") == 1
    assert count(tapp, WebhookDelivery, WebhookDelivery.event_type == "tenant.resumed") == 1
    assert tclient.post(f"{TENANTS}/t-0000000000000000/suspend").status_code == 404


def test_a_tenant_key_sees_its_own_tenant_only(tapp, tclient, monkeypatch):
    """Which routes a tenant key may call is the isolation work's (auth.authorize); here that table is stood in
    for by one rule: GET of a tenant. Another tenant is 404, not 403."""
    mine, theirs = make_tenant(tclient, tapp, "mine-data"), make_tenant(tclient, tapp, "their-data")
    real = auth.authorize

    def authorize(caller: Any, method: str, endpoint: str | None, resource: Any = None) -> None:
        if caller.role == "tenant" and method == "GET" and endpoint == "tenants.Tenant":
            return
        real(caller, method, endpoint, resource)

    monkeypatch.setattr(auth, "authorize", authorize)
    as_tenant = {"X-Auth-Token": mine["ApiKey"]}
    own = tclient.get(f"{TENANTS}/{mine['Id']}", auth=False, headers=as_tenant)
    assert own.status_code == 200 and own.json["Id"] == mine["Id"]
    other = tclient.get(f"{TENANTS}/{theirs['Id']}", auth=False, headers=as_tenant)
    assert other.status_code == 404
    assert tclient.get(TENANTS, auth=False, headers=as_tenant).status_code == 403
    assert tclient.post(f"{TENANTS}/{mine['Id']}/suspend", auth=False, headers=as_tenant).status_code == 403


def test_idempotent_create(tapp, tclient):
    headers = {"Idempotency-Key": "create-acme-1"}
    first = tclient.post(TENANTS, json=body(), headers=headers)
    again = tclient.post(TENANTS, json=body(), headers=headers)
    assert first.status_code == again.status_code == 202 and first.json["Id"] == again.json["Id"]
    assert count(tapp, Tenant) == 1


def test_a_create_canceled_before_it_started_fails_the_tenant_and_frees_the_bucket(tapp, tclient):
    r = tclient.post(TENANTS, json=body("cancel-me"))
    tenant_id = r.json["Target"].rsplit("/", 1)[1]
    assert tclient.post(f"/v1/s3/operations/{r.json['Id']}/cancel").json["Status"] == "Canceled"
    assert tclient.get(f"{TENANTS}/{tenant_id}").json["Status"] == "failed"
    again = tclient.post(TENANTS, json=body("cancel-me"))
    assert again.status_code == 202, again.json
    assert run_operations(tapp) == 1
    assert tclient.get(f"/v1/s3/operations/{again.json['Id']}").json["Status"] == "Succeeded"


def test_postgresql_without_secret_keys_refuses_before_anything_is_made(seed, postgres, s3):
    from s3api import create_app
    from s3api.db import migrate
    from tests.api.tenancy_fixtures import add_plan

    migrate.upgrade(postgres)
    app = create_app(make_settings(seed).with_overrides(database=postgres))
    add_plan(app, "free")
    try:
        r = Client(app.test_client()).post(TENANTS, json=body("never-made"))
        assert r.status_code == 503 and "secret_keys" in r.json["message"], r.json
        assert count(app, Tenant) == 0 and count(app, Operation) == 0
        assert "never-made" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        app.extensions["s3api"].db.dispose()
