"""Tenants made directly for tests: a plan row, a tenant row, its tagged buckets and a ``tenant`` API key.

By default no IAM is made (the tenant's S3 credentials are the tenancy work's: ``credentials.create``); the
buckets are created in the test's moto with the organisation tag and ``s3api:tenant=<id>``, as a tenant bucket
made by the service carries them. ``with_credentials=True`` also calls the real ``credentials.create`` for them
(on the isolation branch it raises NotImplementedError) and keeps the S3 key in :data:`S3_KEYS`.
``make_tenant`` takes the app or a test client (either finds the runtime).

    tenant_id, key, buckets = make_tenant(app, buckets=["acme-data"], max_buckets=3)
    client.get("/v1/s3/local/buckets", headers={"X-Auth-Token": key})
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from flask import Flask

from s3api.db.models import Plan
from s3api.db.tenants import NewTenant, TenantStore, new_id
from s3api.provisioning.steps import Transaction
from s3api.provisioning.tenants import credentials
from s3api.provisioning.tenants.ownership import TAG_KEY
from s3api.runtime import Runtime

#: tenant id -> (access key id, secret) of the S3 credentials made with ``with_credentials=True``
S3_KEYS: dict[str, tuple[str, str]] = {}


def runtime_of(app_or_client: Any) -> Runtime:
    app: Flask = (
        getattr(app_or_client, "application", None)
        or getattr(getattr(app_or_client, "raw", None), "application", None)
        or app_or_client
    )
    rt: Runtime = app.extensions["s3api"]
    return rt


def make_plan(
    app_or_client: Any,
    name: str = "starter",
    *,
    max_buckets: int | None = 5,
    storage_type: str = "Standard",
    locations: Sequence[str] = ("local",),
    active: bool = True,
) -> str:
    """A plan row (free: price 0), unless one of that name is there already; answers its name."""
    rt = runtime_of(app_or_client)
    when = datetime.now(UTC)
    with rt.db.write() as session:
        if session.get(Plan, name) is None:
            prices = [{"Location": loc, "Currency": "EUR", "Monthly": "0.00"} for loc in locations]
            session.add(
                Plan(
                    name=name,
                    active=active,
                    test_only=False,
                    storage_type=storage_type,
                    locations=json.dumps(list(locations)),
                    quota_bytes=None,
                    max_buckets=max_buckets,
                    bandwidth_bytes_per_month=None,
                    prices=json.dumps(prices),
                    revision=1,
                    created_at=when,
                    updated_at=when,
                )
            )
    return name


def s3_client() -> Any:
    return boto3.client("s3", region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))


def make_bucket(app_or_client: Any, bucket: str, tenant_id: str | None) -> None:
    """A managed bucket in moto (organisation tag), tagged for ``tenant_id`` unless None."""
    rt = runtime_of(app_or_client)
    tags = [dict(rt.settings.org_tag)]
    if tenant_id is not None:
        tags.append({"Key": TAG_KEY, "Value": tenant_id})
    s3 = s3_client()
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})


def make_tenant(
    app_or_client: Any,
    *,
    buckets: Sequence[str] = (),
    plan: str = "starter",
    max_buckets: int | None = 5,
    storage_type: str = "Standard",
    account: str = "local",
    status: str = "active",
    email: str = "owner@example.test",
    tester: bool = False,
    with_credentials: bool = True,
) -> tuple[str, str, list[str]]:
    """``(tenant_id, api_key_token, buckets)``: the plan (made when missing), an ``active`` tenant row in
    ``account``, its buckets (tagged) and an API key with role ``tenant``."""
    rt = runtime_of(app_or_client)
    make_plan(app_or_client, plan, max_buckets=max_buckets, storage_type=storage_type, locations=(account,))
    tenant_id = new_id()
    TenantStore(rt.db).create(
        NewTenant(
            id=tenant_id,
            account=account,
            location=account,
            plan=plan,
            email=email,
            status=status,
            tester=tester,
            first_bucket=buckets[0] if buckets else None,
        )
    )
    for bucket in buckets:
        make_bucket(app_or_client, bucket, tenant_id)
    if with_credentials:
        with Transaction("test_tenant_credentials") as tx:
            S3_KEYS[tenant_id] = credentials.create(rt.aws(account), tenant_id, list(buckets), tx)
        TenantStore(rt.db).update(tenant_id, access_key_id=S3_KEYS[tenant_id][0])
    key = rt.keys.create(f"tenant {tenant_id}", "tenant", tenant=tenant_id)
    TenantStore(rt.db).update(tenant_id, api_key_id=key["Id"])
    return tenant_id, str(key["Key"]), list(buckets)
