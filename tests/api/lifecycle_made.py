"""What the orders and life-cycle tests make: plan rows, a tiny tenant (its row, buckets tagged ``s3api:tenant``
with objects, an IAM user with a key standing in for its credentials, a ``tenant`` API key), and stand-ins for
the other pieces' interfaces that are not on this branch:

- ``control.tenants.validate_new`` (:func:`fake_validate_new`: plan exists / active / sold in the location, the
  location is the account's, the first bucket free) and ``control.tenants.start_create`` (:func:`fake_start_create`:
  an operation of a stand-in kind that makes the first bucket and the API key and sets the tenant active);
- ``provisioning.tenants.credentials.delete`` (:func:`fake_credentials_delete`: removes the stand-in IAM user,
  idempotent, through the app's clients so fault injection sees its calls).

:func:`use_stand_ins` installs them with ``monkeypatch``. After the merge the integrator runs these tests against
the real ``validate_new``/``start_create`` with ``S3API_REAL_TENANTS=1`` (the credentials stand-in always stays: the
tenants made here by hand have a stand-in IAM user).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from flask import Flask
from sqlalchemy import select

from s3api.aws.clients import AccountAws
from s3api.db.models import Operation, Plan, Tenant, WebhookDelivery
from s3api.db.plans import PlanStore
from s3api.db.tenants import NewTenant, TenantStore
from s3api.errors import BadRequest, Conflict
from s3api.jobs import kinds, operations
from s3api.jobs.kinds import Context, Kind
from s3api.provisioning.tenants import credentials, ownership
from tests.conftest import Client

BUCKETS = "/v1/s3/local/buckets"
NOW = datetime.now(UTC)


def env_of(app_or_client: Any) -> Any:
    app = app_or_client.raw.application if isinstance(app_or_client, Client) else app_or_client
    return app.extensions["s3api"]


def make_plan(
    app_or_client: Any,
    name: str,
    *,
    monthly: str = "9.90",
    currency: str = "EUR",
    location: str = "local",
    active: bool = True,
    locations: list[str] | None = None,
) -> None:
    """A plan row (the plans piece owns their API): free when ``monthly`` is 0."""
    db = env_of(app_or_client).db
    with db.write() as session:
        session.add(
            Plan(
                name=name,
                active=active,
                test_only=False,
                storage_type="Standard",
                locations=json.dumps(locations or [location]),
                quota_bytes=10 * 2**30,
                max_buckets=5,
                bandwidth_bytes_per_month=None,
                prices=json.dumps(
                    [
                        {
                            "Location": location,
                            "Currency": currency,
                            "Monthly": monthly,
                            "StorageOverPerGb": "0.02",
                            "TrafficOverPerGb": "0.01",
                        }
                    ]
                ),
                revision=1,
                created_at=NOW,
                updated_at=NOW,
            )
        )


def tag_for_tenant(s3: Any, bucket: str, tenant_id: str) -> None:
    tags = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    tags.append({"Key": ownership.TAG_KEY, "Value": tenant_id})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})


def s3_client() -> Any:
    return boto3.client("s3", region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))


def iam_user(tenant_id: str) -> str:
    return f"s3t-{tenant_id}"


@dataclass
class Made:
    id: str
    buckets: list[str]
    api_key: str
    key_id: str
    extra: dict[str, Any] = field(default_factory=dict)


def make_tenant(
    client: Client,
    plan: str,
    *,
    status: str = "active",
    buckets: tuple[str, ...] = (),
    objects: int = 3,
    versions: bool = True,
    paid_until: datetime | None = None,
) -> Made:
    """A tenant row, its buckets (made by the API, then tagged for it) with ``objects`` objects (and, with
    ``versions``, a second version and a delete marker), an IAM user with a key (its credentials' stand-in) and a
    ``tenant`` API key."""
    env = env_of(client)
    row = TenantStore(env.db).create(
        NewTenant(
            account="local",
            location="local",
            plan=plan,
            email="customer@example.org",
            status=status,
            client_id="crm-1",
            billing="eu",
            first_bucket=buckets[0] if buckets else None,
        )
    )
    if paid_until is not None:
        TenantStore(env.db).update(row.id, next_charge_at=paid_until, activated_at=NOW)
    s3 = s3_client()
    for name in buckets:
        r = client.post(BUCKETS, json={"BucketInput": {"Bucket": name}})
        assert r.status_code == 200, r.json
        tag_for_tenant(s3, name, row.id)
        if versions:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        for i in range(objects):
            s3.put_object(Bucket=name, Key=f"o/{i}", Body=b"x")
        if versions and objects:
            s3.put_object(Bucket=name, Key="o/0", Body=b"y")
            s3.delete_object(Bucket=name, Key="o/1")
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName=iam_user(row.id))
    iam.create_access_key(UserName=iam_user(row.id))
    iam.put_user_policy(UserName=iam_user(row.id), PolicyName="tenant", PolicyDocument=json.dumps(_policy(buckets)))
    key = env.keys.create(f"tenant {row.id}", "tenant", row.id)
    return Made(row.id, list(buckets), key["Key"], key["Id"])


def _policy(buckets: tuple[str, ...]) -> dict[str, Any]:
    resources = [f"arn:aws:s3:::{b}" for b in buckets] + [f"arn:aws:s3:::{b}/*" for b in buckets]
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": resources or "*"}]}


# --- stand-ins for the interfaces of other pieces --------------------------------------------------------------


def fake_credentials_delete(aws: AccountAws, tenant_id: str) -> None:
    """``credentials.delete``'s stand-in: the tenant's IAM user with its keys and inline policy, idempotent (a
    missing user or key is done). Through the app's clients: fault injection counts and fails these calls."""
    iam = aws.iam
    user = iam_user(tenant_id)
    try:
        keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchEntity":
            return
        raise
    for key in keys:
        _missing_ok(lambda k=key: iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"]))
    for name in iam.list_user_policies(UserName=user)["PolicyNames"]:
        _missing_ok(lambda n=name: iam.delete_user_policy(UserName=user, PolicyName=n))
    _missing_ok(lambda: iam.delete_user(UserName=user))


def _missing_ok(call: Any) -> None:
    try:
        call()
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchEntity":
            raise


def fake_validate_new(env: Any, body: dict[str, Any]) -> NewTenant:
    """``control.tenants.validate_new``'s stand-in: the plan (404 unknown, 400 inactive, 400 not sold there), the
    location (400 unless the account's), the first bucket free (409)."""
    plan = PlanStore(env.db).get(body["Plan"])
    if not plan.active:
        raise BadRequest(f"plan '{plan.name}' is not active")
    accounts = {a.location_code: a for a in env.settings.accounts.values()}
    location = body["Location"]
    if location not in accounts:
        raise BadRequest(f"no configured account has location '{location}'")
    if not plan.sold_in(location):
        raise BadRequest(f"plan '{plan.name}' is not sold in '{location}'")
    try:
        s3_client().head_bucket(Bucket=body["Bucket"])
        raise Conflict(f"bucket '{body['Bucket']}' exists")
    except ClientError:
        pass
    return NewTenant(
        account=accounts[location].name,
        location=location,
        plan=plan.name,
        email=body["Email"],
        status="pending_payment",
        client_id=body.get("ClientId"),
        billing=body.get("Billing"),
        tester=bool(body.get("Tester")),
        first_bucket=body["Bucket"],
    )


FAKE_CREATE = "tenant.create"


def _fake_create_run(ctx: Context) -> dict[str, Any]:
    tenant_id = ctx.params["Tenant"]
    store = TenantStore(ctx.store.db)
    row = store.get(tenant_id)
    s3 = ctx.aws.s3
    s3.create_bucket(Bucket=row.first_bucket)
    s3.put_bucket_tagging(
        Bucket=row.first_bucket,
        Tagging={"TagSet": [ctx.aws.settings.org_tag, {"Key": ownership.TAG_KEY, "Value": tenant_id}]},
    )
    store.update(tenant_id, status="active", activated_at=datetime.now(UTC))
    return {"Tenant": tenant_id}


def _tenant_lock(account: str, params: Any) -> str:
    return f"tenant:{account}/{params['Tenant']}"


def fake_start_create(env: Any, starter: Any, tenant_id: str) -> Operation:
    """``control.tenants.start_create``'s stand-in: the operation ``tenant.create`` of a stand-in kind."""
    row = TenantStore(env.db).get(tenant_id)
    assert row.status == "provisioning", row.status
    aws = env.aws(row.account)
    op, _ = operations.start(env, FAKE_CREATE, aws, {"Tenant": tenant_id}, starter)
    return op


def _originals() -> dict[str, Any]:
    from s3api.control import tenants

    kinds.load()
    return {
        "validate_new": getattr(tenants, "validate_new", None),
        "start_create": getattr(tenants, "start_create", None),
        "kind": kinds.KINDS.get(FAKE_CREATE),
        "delete": credentials.delete,
    }


#: the real interfaces as imported, before any test replaced them
REAL = _originals()


def use_real(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put the real interfaces back (after :func:`use_stand_ins`)."""
    from s3api.control import tenants

    monkeypatch.setattr(tenants, "validate_new", REAL["validate_new"], raising=False)
    monkeypatch.setattr(tenants, "start_create", REAL["start_create"], raising=False)
    if REAL["kind"] is not None:
        monkeypatch.setitem(kinds.KINDS, FAKE_CREATE, REAL["kind"])
    monkeypatch.setattr(credentials, "delete", REAL["delete"])


def use_stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    from s3api.control import tenants

    real = os.environ.get("S3API_REAL_TENANTS") == "1"
    if not real or not hasattr(tenants, "validate_new"):
        monkeypatch.setattr(tenants, "validate_new", fake_validate_new, raising=False)
        monkeypatch.setattr(tenants, "start_create", fake_start_create, raising=False)
        kinds.load()
        monkeypatch.setitem(
            kinds.KINDS,
            FAKE_CREATE,
            Kind(FAKE_CREATE, _fake_create_run, _tenant_lock, _tenant_lock),
        )
    # the fake tenants of these tests have a stand-in IAM user: always removed by the stand-in
    monkeypatch.setattr(credentials, "delete", fake_credentials_delete)


# --- reading back -----------------------------------------------------------------------------------------------


def tenant_row(client: Client, tenant_id: str) -> Tenant:
    return TenantStore(env_of(client).db).get(tenant_id)


def webhook_events(client: Client) -> list[dict[str, Any]]:
    """The outbox's events (one endpoint is configured), oldest first, as their bodies."""
    with env_of(client).db.read() as session:
        rows = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at, WebhookDelivery.id))
        return [json.loads(r.payload) for r in rows]


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["Type"] for e in events]


def past(seconds: int = 60) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


def future(days: int = 10) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def close_app(app: Flask) -> None:
    """Give the database connections back (a test PostgreSQL serves several suites at once): the app's engine and
    the job queue's deferrer of its URL."""
    from s3api.jobs import operations as ops

    env = app.extensions["s3api"]
    deferrer = ops._DEFERRERS.pop(env.settings.database.url, None)
    if deferrer is not None:
        deferrer.close()
    env.db.dispose()


def lifecycle_app(seed: dict[str, str], database: Any, **overrides: Any) -> Flask:
    """The app on ``database`` with one webhook endpoint (every event goes to the outbox)."""
    from s3api import create_app
    from s3api.config import Webhook
    from tests.conftest import make_settings

    if not database.url.startswith("sqlite"):  # several replicas: the service's own secrets need configured keys
        overrides.setdefault("secret_keys", (bytes(range(32)),))
    settings = make_settings(seed).with_overrides(
        database=database,
        webhooks={"billing": Webhook(name="billing", url="http://127.0.0.1:9/hook", secret="whsec-test")},
        operation_retry_seconds=0.0,
        **overrides,
    )
    return create_app(settings)
