"""What the tenants tests share: an app on each database kind (with sealing keys where PostgreSQL needs them),
plan rows, a tenant made through the API and its operation run here."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask

from s3api import create_app
from s3api.config import DatabaseSettings, Settings, Webhook
from s3api.db.models import Plan
from s3api.jobs import local
from tests.conftest import Client, make_settings

FREE = "free"
PAID = "paid"
TENANTS = "/v1/s3/tenants"
HOOK = Webhook(name="billing", url="http://127.0.0.1:9/hook", secret="whsec-test")


def add_plan(
    app: Flask,
    name: str,
    *,
    monthly: str = "0",
    active: bool = True,
    test_only: bool = False,
    locations: tuple[str, ...] = ("local",),
    max_buckets: int | None = 5,
    storage_type: str = "Standard",
) -> None:
    when = datetime.now(UTC)
    prices = [{"Location": loc, "Currency": "EUR", "Monthly": monthly} for loc in locations]
    with app.extensions["s3api"].db.write() as session:
        session.add(
            Plan(
                name=name,
                active=active,
                test_only=test_only,
                storage_type=storage_type,
                locations=json.dumps(list(locations)),
                quota_bytes=10**9,
                max_buckets=max_buckets,
                bandwidth_bytes_per_month=None,
                prices=json.dumps(prices),
                revision=1,
                created_at=when,
                updated_at=when,
            )
        )


def tenancy_app(settings: Settings, database: DatabaseSettings, *, secret_keys: bool = False) -> Flask:
    keys = (os.urandom(32),) if secret_keys or not database.url.startswith("sqlite") else ()
    app = create_app(settings.with_overrides(database=database, secret_keys=keys, webhooks={"billing": HOOK}))
    add_plan(app, FREE)
    add_plan(app, PAID, monthly="9.90")
    add_plan(app, "retired", active=False)
    add_plan(app, "lab", test_only=True)
    add_plan(app, "elsewhere", locations=("mars",))
    add_plan(app, "archive", storage_type="DeepArchive", max_buckets=1)
    return app


@pytest.fixture
def tapp(seed: dict[str, str], migrated: DatabaseSettings) -> Iterator[Flask]:
    app = tenancy_app(make_settings(seed), migrated)
    yield app
    app.extensions["s3api"].db.dispose()  # PostgreSQL's connections are shared by every test run on the machine


@pytest.fixture
def tclient(tapp: Flask) -> Client:
    return Client(tapp.test_client())


def body(bucket: str = "acme-data", **extra: Any) -> dict[str, Any]:
    return {
        "Plan": FREE,
        "Location": "local",
        "Email": "ops@acme.example",
        "ClientId": "c-1",
        "Bucket": bucket,
        **extra,
    }


def run_operations(app: Flask) -> int:
    return local.drain(app.extensions["s3api"])


def make_tenant(client: Client, app: Flask, bucket: str = "acme-data", **extra: Any) -> dict[str, Any]:
    """A tenant through the API: POST, the operation run here, the secrets taken once. ``{Id, Operation,
    AccessKeyId, SecretAccessKey, ApiKey}``."""
    r = client.post(TENANTS, json=body(bucket, **extra))
    assert r.status_code == 202, r.json
    op_id = r.json["Id"]
    assert run_operations(app) >= 1
    op = client.get(f"/v1/s3/operations/{op_id}")
    assert op.status_code == 200 and op.json["Status"] == "Succeeded", op.json
    result = op.json["Result"]
    return {
        "Id": result["Tenant"],
        "Operation": op_id,
        "AccessKeyId": result["Credentials"]["AccessKeyId"],
        "SecretAccessKey": result["Credentials"]["SecretAccessKey"],
        "ApiKey": result["ApiKey"]["Key"],
    }


def file_database(tmp_path: Any) -> DatabaseSettings:
    """A migrated SQLite file in ``tmp_path``."""
    from s3api.db import migrate

    database = DatabaseSettings(url=f"sqlite:///{tmp_path}/data/s3api.db", data_dir=str(tmp_path / "data"))
    migrate.upgrade(database)
    return database
