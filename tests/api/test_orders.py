"""Orders: ``POST /v1/s3/orders`` (a paid plan for a new tenant), ``.../paid`` (provisioned by an operation),
``.../failed``, list and show; webhooks and audit events in the change's transaction; bad input changes nothing.
On SQLite and PostgreSQL.

``control.tenants.validate_new`` / ``start_create`` are the tenants piece's: stand-ins here
(:mod:`tests.api.lifecycle_made`), the real ones with ``S3API_REAL_TENANTS=1`` after the merge.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from s3api.config import DatabaseSettings
from s3api.control import lifecycle
from s3api.db.audit import AuditLog, Filters
from s3api.db.models import Order, Tenant, WebhookDelivery
from s3api.jobs import local
from s3api.schemas.audit import AuditEventSchema
from tests.api import lifecycle_made as made
from tests.conftest import Client

ORDERS = "/v1/s3/orders"


@pytest.fixture(autouse=True)
def _stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    made.use_stand_ins(monkeypatch)


@pytest.fixture
def lc_app(seed: dict[str, str], migrated: DatabaseSettings) -> Iterator[Flask]:
    app = made.lifecycle_app(seed, migrated)
    yield app
    made.close_app(app)


@pytest.fixture
def lc(lc_app: Flask) -> Iterator[Client]:
    client = Client(lc_app.test_client())
    made.make_plan(client, "free", monthly="0")
    made.make_plan(client, "pro", monthly="9.90")
    made.make_plan(client, "old", monthly="5", active=False)
    made.make_plan(client, "far", monthly="5", location="mars", locations=["mars"])
    yield client


def order_body(**changes: Any) -> dict[str, Any]:
    body = {
        "Plan": "pro",
        "Location": "local",
        "Email": "customer@example.org",
        "ClientId": "crm-7",
        "Billing": "eu-west",
        "Bucket": "cust-first",
        "Amount": "9.90",
        "Currency": "EUR",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def counts(client: Client) -> tuple[int, int, int]:
    with made.env_of(client).db.read() as session:
        return (
            session.scalar(select(func.count()).select_from(Tenant)) or 0,
            session.scalar(select(func.count()).select_from(Order)) or 0,
            session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0,
        )


def events(client: Client, action: str) -> list[dict[str, Any]]:
    trail: AuditLog = client.raw.application.extensions["s3api.audit"]
    found = [AuditEventSchema().dump(e) for e in reversed(list(trail.stream(Filters())))]
    return [e for e in found if e["Action"] == action]


def test_paid_order_life(lc: Client) -> None:
    r = lc.post(ORDERS, json=order_body(Amount="9.9"))  # the same amount, written otherwise
    assert r.status_code == 201, r.json
    order = r.json
    assert order["Id"].startswith("ord-") and order["Tenant"].startswith("t-")
    assert (order["Plan"], order["Amount"], order["Currency"], order["Status"]) == ("pro", "9.90", "EUR", "pending")
    assert order["TenantStatus"] == "pending_payment" and order["PaidAt"] is None
    row = made.tenant_row(lc, order["Tenant"])
    assert (row.status, row.plan, row.email, row.client_id, row.billing, row.first_bucket) == (
        "pending_payment",
        "pro",
        "customer@example.org",
        "crm-7",
        "eu-west",
        "cust-first",
    )
    assert "cust-first" not in {b["Name"] for b in made.s3_client().list_buckets()["Buckets"]}  # not before paid
    (created,) = made.webhook_events(lc)
    assert created["Type"] == "order.created" and created["Data"]["Order"]["Id"] == order["Id"]
    assert created["Data"]["Tenant"] == {
        "Id": order["Tenant"],
        "Status": "pending_payment",
        "ClientId": "crm-7",
        "Billing": "eu-west",
        "Location": "local",
        "NextChargeAt": None,
    }
    assert "customer@example.org" not in str(created)  # personal data stays out of webhooks
    (audited,) = events(lc, "order.create")
    assert (audited["Status"], audited["Resource"], audited["Outcome"]) == (201, f"orders/{order['Id']}", "ok")
    assert audited["Input"]["Body"] == {
        "Plan": "pro",
        "Location": "local",
        "Bucket": "cust-first",
        "Amount": "9.9",
        "Currency": "EUR",
    }

    assert lc.get(f"{ORDERS}/{order['Id']}").json["Status"] == "pending"
    before = datetime.now(UTC)
    r = lc.post(f"{ORDERS}/{order['Id']}/paid", json={"Reference": "pay-123"})
    assert r.status_code == 202, r.json
    op = r.json
    assert op["Kind"] == "tenant.create" and r.headers["Location"] == f"/v1/s3/operations/{op['Id']}"
    shown = lc.get(f"{ORDERS}/{order['Id']}").json
    assert (shown["Status"], shown["Reference"]) == ("paid", "pay-123") and shown["PaidAt"]
    row = made.tenant_row(lc, order["Tenant"])
    assert row.status == "provisioning" and row.operation_id == op["Id"]
    assert row.next_charge_at is not None
    assert row.next_charge_at.date() == lifecycle.add_month(before).date()  # one paid month
    paid = made.webhook_events(lc)[-1]
    assert paid["Type"] == "order.paid" and paid["Data"]["Order"]["Status"] == "paid"
    assert paid["Data"]["Tenant"]["Status"] == "provisioning" and paid["Data"]["Tenant"]["NextChargeAt"]
    (audited,) = events(lc, "order.paid")
    assert (audited["Status"], audited["OperationId"]) == (202, op["Id"])

    # a repeat (the billing system retries): the same operation, nothing more
    again = lc.post(f"{ORDERS}/{order['Id']}/paid", json={"Reference": "pay-123"})
    assert again.status_code == 202 and again.json["Id"] == op["Id"]
    assert made.types(made.webhook_events(lc)) == ["order.created", "order.paid"]

    assert local.drain(made.env_of(lc)) == 1
    assert made.tenant_row(lc, order["Tenant"]).status == "active"
    assert lc.post(f"{ORDERS}/{order['Id']}/failed").status_code == 409  # paid: delete the tenant instead


@pytest.mark.parametrize(
    ("changes", "status", "says"),
    [
        ({"Amount": "9.91"}, 400, "9.90 EUR"),
        ({"Amount": "99"}, 400, "is not the price"),
        ({"Currency": "USD"}, 400, "no price in USD"),
        ({"Plan": "free", "Amount": "0"}, 400, "POST /v1/s3/tenants"),
        ({"Plan": "nope"}, 404, "not found"),
        ({"Plan": "old", "Amount": "5"}, 400, "not active"),
        ({"Plan": "far", "Amount": "5"}, 400, "not sold"),
        ({"Location": "mars", "Plan": "far", "Amount": "5"}, 400, "location 'mars'"),
        ({"Email": "not-an-email"}, 400, "Email"),
        ({"Amount": "9,90"}, 400, "Amount"),
        ({"Amount": 9.9}, 400, "Amount"),
        ({"Amount": "-9.90"}, 400, "Amount"),
        ({"Currency": "eur"}, 400, "Currency"),
        ({"Amount": None}, 400, "Amount"),
        ({"Bucket": None}, 400, "Bucket"),
        ({"Tester": "yes"}, 400, "Tester"),
        ({"Extra": 1}, 400, "Extra"),
    ],
)
def test_bad_orders_create_nothing(lc: Client, changes: dict[str, Any], status: int, says: str) -> None:
    r = lc.post(ORDERS, json=order_body(**changes))
    assert r.status_code == status, r.json
    assert says in str(r.json), r.json
    assert counts(lc) == (0, 0, 0)


def test_taken_bucket_name_is_409_and_creates_nothing(lc: Client) -> None:
    assert lc.post(made.BUCKETS, json={"BucketInput": {"Bucket": "cust-first"}}).status_code == 200
    r = lc.post(ORDERS, json=order_body())
    assert r.status_code == 409, r.json
    assert counts(lc) == (0, 0, 0)


def test_webhook_and_order_share_one_transaction(lc: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """The outbox write failing undoes the order and its tenant: all or nothing."""
    from s3api import webhooks

    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("outbox write failed")

    monkeypatch.setattr(webhooks, "emit", broken)
    r = lc.post(ORDERS, json=order_body())
    assert r.status_code == 500
    assert counts(lc) == (0, 0, 0)
    monkeypatch.undo()
    made.use_stand_ins(monkeypatch)
    order = lc.post(ORDERS, json=order_body()).json
    monkeypatch.setattr(webhooks, "emit", broken)
    assert lc.post(f"{ORDERS}/{order['Id']}/paid").status_code == 500
    assert lc.get(f"{ORDERS}/{order['Id']}").json["Status"] == "pending"
    assert made.tenant_row(lc, order["Tenant"]).status == "pending_payment"


def test_failed_order(lc: Client) -> None:
    order = lc.post(ORDERS, json=order_body()).json
    r = lc.post(f"{ORDERS}/{order['Id']}/failed", json={"Reason": "card declined"})
    assert r.status_code == 200, r.json
    assert r.json["Status"] == "failed"
    assert made.tenant_row(lc, order["Tenant"]).status == "failed"
    assert made.types(made.webhook_events(lc)) == ["order.created", "order.failed"]
    (audited,) = events(lc, "order.failed")
    assert (audited["Reason"], audited["Resource"]) == ("card declined", f"orders/{order['Id']}/failed")
    assert lc.post(f"{ORDERS}/{order['Id']}/failed").status_code == 200  # a repeat answers as it is
    assert len(made.webhook_events(lc)) == 2
    r = lc.post(f"{ORDERS}/{order['Id']}/paid")
    assert r.status_code == 409 and "failed" in r.json["message"]
    assert lc.get("/v1/s3/operations").json["Operations"] == []


def test_unknown_orders_and_bad_bodies(lc: Client) -> None:
    for bad in ("ord-" + "0" * 24, "nope"):
        assert lc.get(f"{ORDERS}/{bad}").status_code == 404
        assert lc.post(f"{ORDERS}/{bad}/paid").status_code == 404
        assert lc.post(f"{ORDERS}/{bad}/failed").status_code == 404
    order = lc.post(ORDERS, json=order_body()).json
    assert lc.post(f"{ORDERS}/{order['Id']}/paid", json={"Reference": "\n"}).status_code == 400
    assert lc.post(f"{ORDERS}/{order['Id']}/paid", json={"Other": 1}).status_code == 400
    assert lc.get(f"{ORDERS}/{order['Id']}").json["Status"] == "pending"


def test_paid_repeat_after_a_lost_start_starts_it(lc: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first /paid committed, then died before the operation was started: a repeat starts it (after
    RESTART_AFTER; before, 409 says to retry)."""
    from s3api.control import orders, tenants
    from s3api.errors import ServiceUnavailable

    order = lc.post(ORDERS, json=order_body()).json
    real = tenants.start_create

    def dies(*args: Any) -> Any:
        raise ServiceUnavailable("database away")

    monkeypatch.setattr(tenants, "start_create", dies, raising=False)
    assert lc.post(f"{ORDERS}/{order['Id']}/paid").status_code == 503
    monkeypatch.setattr(tenants, "start_create", real, raising=False)
    r = lc.post(f"{ORDERS}/{order['Id']}/paid")
    assert r.status_code == 409 and r.headers["Retry-After"] == "60"
    monkeypatch.setattr(orders, "RESTART_AFTER", orders.RESTART_AFTER * 0)
    r = lc.post(f"{ORDERS}/{order['Id']}/paid")
    assert r.status_code == 202 and r.json["Kind"] == "tenant.create"
    assert made.types(made.webhook_events(lc)) == ["order.created", "order.paid"]


def test_list_filters_and_pages(lc: Client) -> None:
    made_ids = []
    for i in range(5):
        made_ids.append(lc.post(ORDERS, json=order_body(Bucket=f"cust-b{i}")).json["Id"])
    lc.post(f"{ORDERS}/{made_ids[1]}/failed")
    seen: list[str] = []
    token = None
    while True:
        r = lc.get(ORDERS, query_string={"page_size": 2, **({"page_token": token} if token else {})})
        assert r.status_code == 200, r.json
        seen += [o["Id"] for o in r.json["Orders"]]
        token = r.json["NextPageToken"]
        if not token:
            break
    assert seen == list(reversed(made_ids))  # newest first, each once
    failed = lc.get(ORDERS, query_string={"status": "failed"}).json["Orders"]
    assert [o["Id"] for o in failed] == [made_ids[1]]
    one = lc.get(f"{ORDERS}/{made_ids[3]}").json
    assert [o["Id"] for o in lc.get(ORDERS, query_string={"tenant": one["Tenant"]}).json["Orders"]] == [made_ids[3]]
    assert len(lc.get(ORDERS, query_string={"plan": "pro"}).json["Orders"]) == 5
    for bad in ({"page_size": 0}, {"page_size": 1001}, {"page_token": "bogus"}, {"status": "x"}, {"other": 1}):
        r = lc.get(ORDERS, query_string=bad)
        assert r.status_code == 400, (bad, r.json)


def test_reader_lists_but_cannot_order(lc: Client) -> None:
    reader = made.env_of(lc).keys.create("reader", "reader")["Key"]
    hdr = {"X-Auth-Token": reader}
    assert lc.get(ORDERS, headers=hdr, auth=False).status_code == 200
    assert lc.post(ORDERS, json=order_body(), headers=hdr, auth=False).status_code == 403
    assert counts(lc) == (0, 0, 0)


def test_idempotency_key_replays_the_order(lc: Client) -> None:
    hdr = {"Idempotency-Key": "order-1"}
    first = lc.post(ORDERS, json=order_body(), headers=hdr)
    second = lc.post(ORDERS, json=order_body(), headers=hdr)
    assert first.status_code == second.status_code == 201
    assert first.json["Id"] == second.json["Id"] and second.headers.get("Idempotent-Replayed")
    assert counts(lc)[:2] == (1, 1)
