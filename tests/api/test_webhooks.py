"""Webhook delivery: the outbox's rows POSTed to a receiver on 127.0.0.1, signed; retries with backoff, a day's
limit, leases; ``GET /v1/s3/webhooks/deliveries``. On SQLite and PostgreSQL.

Time is passed to :func:`s3api.webhooks.deliver_due` (``when=``) instead of waiting: a retry "a minute later" is
a call with ``when`` a minute later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from s3api import create_app, webhooks
from s3api.config import Webhook
from s3api.db.models import WebhookDelivery
from s3api.jobs import schedule
from tests.conftest import Client, make_settings

PLANS = "/v1/s3/plans"
DELIVERIES = "/v1/s3/webhooks/deliveries"
SECRET = "whsec-0123456789abcdef-0123456789abcdef"


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 answering each POST with the next of ``statuses`` (then 200)."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": raw})
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.url + "/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), r.handler())
    r.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield r
    finally:
        server.shutdown()
        server.server_close()


def _app(seed: dict[str, str], migrated: Any, hooks: dict[str, Webhook]) -> Flask:
    return create_app(make_settings(seed).with_overrides(database=migrated, webhooks=hooks))


@pytest.fixture
def app_with(seed: dict[str, str], migrated: Any, receiver: Receiver) -> Flask:
    return _app(seed, migrated, {"billing": Webhook(name="billing", url=receiver.url + "/hook", secret=SECRET)})


@pytest.fixture
def hclient(app_with: Flask) -> Client:
    return Client(app_with.test_client())


def rt(app: Flask) -> Any:
    return app.extensions["s3api"]


def change_a_plan(client: Client, name: str = "basic") -> None:
    made = client.post(PLANS, json={"Name": name, "StorageType": "Standard", "Locations": ["local"]})
    assert made.status_code == 201, made.get_json()
    assert client.patch(f"{PLANS}/{name}", json={"MaxBuckets": 4}).status_code == 200


def rows(app: Flask) -> list[WebhookDelivery]:
    with rt(app).db.read() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at)))


def deliver(app: Flask, when: datetime | None = None) -> int:
    return webhooks.deliver_due(rt(app).settings, rt(app).db, when=when)


def test_a_change_is_delivered_signed_once(app_with: Flask, hclient: Client, receiver: Receiver) -> None:
    change_a_plan(hclient)
    (row,) = rows(app_with)
    assert deliver(app_with) == 1
    (got,) = receiver.received
    assert got["path"] == "/hook" and got["body"] == row.payload.encode()
    expected = "sha256=" + hmac.new(SECRET.encode(), got["body"], hashlib.sha256).hexdigest()
    assert got["headers"]["X-S3api-Signature"] == expected
    assert got["headers"]["X-S3api-Event-Id"] == row.event_id == json.loads(got["body"])["Id"]
    assert got["headers"]["X-S3api-Event-Type"] == "plan.changed"
    assert got["headers"]["Content-Type"] == "application/json"
    assert SECRET not in json.dumps(got["headers"])  # the secret signs, it is never sent
    (done,) = rows(app_with)
    assert done.status == "delivered" and done.attempts == 1 and done.last_status == 200 and done.delivered_at
    assert deliver(app_with) == 0 and len(receiver.received) == 1  # never twice
    listed = hclient.get(DELIVERIES).get_json()["Deliveries"]
    assert [(d["Status"], d["EventType"], d["Attempts"], d["NextAttemptAt"]) for d in listed] == [
        ("delivered", "plan.changed", 1, None)
    ]
    assert listed[0]["Event"]["Data"]["Plan"] == "basic" and listed[0]["DeliveredAt"].endswith("Z")


def test_a_wrong_secret_does_not_verify(app_with: Flask, hclient: Client, receiver: Receiver) -> None:
    """The check a receiver makes can fail: another secret gives another signature."""
    change_a_plan(hclient)
    deliver(app_with)
    got = receiver.received[0]
    wrong = "sha256=" + hmac.new(b"another-secret-0123456789", got["body"], hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(wrong, got["headers"]["X-S3api-Signature"])
    assert webhooks.signature(SECRET, got["body"]) == got["headers"]["X-S3api-Signature"]


def test_failures_retry_with_backoff_until_delivered(app_with: Flask, hclient: Client, receiver: Receiver) -> None:
    change_a_plan(hclient)
    receiver.statuses = [500, 503]
    start = rows(app_with)[0].created_at
    assert deliver(app_with, start) == 0
    (row,) = rows(app_with)
    assert (row.status, row.attempts, row.last_status, row.last_error) == ("pending", 1, 500, "HTTP 500")
    assert row.next_attempt_at == start + timedelta(minutes=1)
    assert deliver(app_with, start + timedelta(seconds=59)) == 0 and len(receiver.received) == 1  # not yet due
    assert deliver(app_with, start + timedelta(minutes=1)) == 0
    (row,) = rows(app_with)
    assert row.attempts == 2 and row.next_attempt_at == start + timedelta(minutes=3)  # then 2 minutes
    assert deliver(app_with, start + timedelta(minutes=3)) == 1
    (row,) = rows(app_with)
    assert (row.status, row.attempts, row.last_status, row.last_error) == ("delivered", 3, 200, None)
    assert len({r["headers"]["X-S3api-Event-Id"] for r in receiver.received}) == 1  # one event, three attempts


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [webhooks.backoff(n).total_seconds() for n in (1, 2, 3, 6, 7, 20)] == [60, 120, 240, 1920, 3600, 3600]


def test_after_a_day_it_fails(app_with: Flask, hclient: Client, receiver: Receiver) -> None:
    change_a_plan(hclient)
    start = rows(app_with)[0].created_at
    receiver.statuses = [500] * 100
    when = start
    for _ in range(100):
        deliver(app_with, when)
        (row,) = rows(app_with)
        if row.status != "pending":
            break
        when = row.next_attempt_at
    assert row.status == "failed" and row.last_status == 500
    assert when - start <= timedelta(days=1) and row.attempts > 20  # retried all day long, then given up
    assert deliver(app_with, when + timedelta(days=1)) == 0
    failed = hclient.get(f"{DELIVERIES}?status=failed").get_json()["Deliveries"]
    assert [d["Id"] for d in failed] == [row.id] and failed[0]["NextAttemptAt"] is None


def test_refused_connections_redirects_and_timeouts_are_failed_attempts(
    seed: dict[str, str], migrated: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    hooks = {
        "closed": Webhook(name="closed", url=f"http://127.0.0.1:{closed}/x", secret=SECRET),
        "moved": Webhook(name="moved", url=receiver.url + "/moved", secret=SECRET),
    }
    app = _app(seed, migrated, hooks)
    change_a_plan(Client(app.test_client()))
    receiver.statuses = [302]
    deliver(app)
    by_endpoint = {r.endpoint: r for r in rows(app)}
    assert by_endpoint["closed"].last_error == "ConnectionRefusedError"
    assert by_endpoint["closed"].last_status is None and by_endpoint["closed"].status == "pending"
    assert by_endpoint["moved"].last_status == 302 and by_endpoint["moved"].status == "pending"
    assert [r["path"] for r in receiver.received] == ["/moved"]  # the redirect was not followed
    monkeypatch.setattr(webhooks, "TIMEOUT", 0.3)
    receiver.delay = 1.0
    deliver(app, by_endpoint["moved"].next_attempt_at)
    moved = next(r for r in rows(app) if r.endpoint == "moved")
    assert moved.last_error == "timeout" and moved.attempts == 2 and moved.status == "pending"


def test_a_failing_endpoint_gets_one_attempt_per_run_and_the_others_go_on(
    seed: dict[str, str], migrated: Any, receiver: Receiver
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    hooks = {
        "dead": Webhook(name="dead", url=f"http://127.0.0.1:{closed}/x", secret=SECRET),
        "live": Webhook(name="live", url=receiver.url + "/live", secret=SECRET),
    }
    app = _app(seed, migrated, hooks)
    client = Client(app.test_client())
    for n in range(4):
        change_a_plan(client, f"p{n}")
    assert deliver(app) == 4
    dead = [r for r in rows(app) if r.endpoint == "dead"]
    assert sorted(r.attempts for r in dead) == [0, 0, 0, 1]  # one attempt, the rest wait (not leased)
    assert all(r.status == "pending" for r in dead)
    now = datetime.now(UTC)
    assert all(r.next_attempt_at <= now for r in dead if r.attempts == 0)
    assert len(receiver.received) == 4


def test_a_run_stops_at_its_budget(app_with: Flask, hclient: Client, receiver: Receiver) -> None:
    for n in range(3):
        change_a_plan(hclient, f"p{n}")
    receiver.delay = 0.3
    env = rt(app_with)
    assert webhooks.deliver_due(env.settings, env.db, budget=0.2) == 1  # the first POST outlasts the budget
    assert sorted(r.status for r in rows(app_with)) == ["delivered", "pending", "pending"]
    receiver.delay = 0.0
    assert deliver(app_with) == 2


def test_events_older_than_a_day_fail_even_if_never_tried(app_with: Flask, hclient: Client) -> None:
    change_a_plan(hclient)
    (row,) = rows(app_with)
    assert deliver(app_with, row.created_at + timedelta(days=1, seconds=1)) == 0
    (row,) = rows(app_with)
    assert (row.status, row.attempts, row.last_error) == ("failed", 0, "not delivered within a day")


def test_every_endpoint_gets_its_own_row_of_one_event(seed: dict[str, str], migrated: Any, receiver: Receiver) -> None:
    hooks = {
        "billing": Webhook(name="billing", url=receiver.url + "/a", secret=SECRET),
        "crm": Webhook(name="crm", url=receiver.url + "/b", secret="crm-secret-0123456789"),
        "orders-only": Webhook(name="orders-only", url=receiver.url + "/c", secret=SECRET, events=("order.paid",)),
    }
    app = _app(seed, migrated, hooks)
    change_a_plan(Client(app.test_client()))
    made = rows(app)
    assert sorted(r.endpoint for r in made) == ["billing", "crm"]
    assert len({r.event_id for r in made}) == 1
    assert deliver(app) == 2
    signatures = {r["path"]: r["headers"]["X-S3api-Signature"] for r in receiver.received}
    body = made[0].payload.encode()
    crm = webhooks.signature("crm-secret-0123456789", body)
    assert signatures == {"/a": webhooks.signature(SECRET, body), "/b": crm}


def test_an_endpoint_no_longer_configured_fails_at_once(
    seed: dict[str, str], migrated: Any, receiver: Receiver
) -> None:
    app = _app(seed, migrated, {"gone": Webhook(name="gone", url=receiver.url, secret=SECRET)})
    change_a_plan(Client(app.test_client()))
    later = _app(seed, migrated, {})
    assert deliver(later) == 0
    (row,) = rows(later)
    assert (row.status, row.last_error, row.attempts) == ("failed", "endpoint not configured", 1)
    assert receiver.received == []


def test_a_claim_is_a_lease(app_with: Flask, hclient: Client, receiver: Receiver) -> None:
    """A worker that claimed rows and died: they are due again once the lease is over (at least once)."""
    change_a_plan(hclient)
    now = datetime.now(UTC)
    (claimed,) = webhooks.claim(rt(app_with).db, now)
    assert webhooks.claim(rt(app_with).db, now) == []  # nobody else takes it meanwhile
    assert deliver(app_with, now + timedelta(seconds=60)) == 0 and receiver.received == []
    assert deliver(app_with, now + webhooks.LEASE) == 1
    assert [r["headers"]["X-S3api-Delivery-Id"] for r in receiver.received] == [claimed.id]


def test_the_periodic_task_delivers(app_with: Flask, hclient: Client, receiver: Receiver) -> None:
    change_a_plan(hclient)
    tasks = schedule.tasks(rt(app_with), engine="local")
    assert {"webhooks_deliver", "webhooks_purge"} <= set(tasks)
    assert tasks["webhooks_deliver"](0) == 1 and len(receiver.received) == 1
    assert tasks["webhooks_purge"](0) == 0  # delivered just now: kept 30 days


def test_purge_keeps_pending_and_recent_rows(app_with: Flask, hclient: Client, receiver: Receiver) -> None:
    change_a_plan(hclient, "one")
    change_a_plan(hclient, "two")
    deliver(app_with)
    receiver.statuses = [500]
    change_a_plan(hclient, "three")
    deliver(app_with)
    db = rt(app_with).db
    assert webhooks.purge(db, datetime.now(UTC) + timedelta(days=29)) == 0
    assert webhooks.purge(db, datetime.now(UTC) + timedelta(days=31)) == 2  # the delivered ones
    assert [r.status for r in rows(app_with)] == ["pending"]


# --- the deliveries list ---------------------------------------------------------------------------------------


def test_deliveries_filter_and_page(app_with: Flask, hclient: Client, receiver: Receiver) -> None:
    for n in range(3):
        change_a_plan(hclient, f"p{n}")
    deliver(app_with)
    for n in range(3, 5):
        change_a_plan(hclient, f"p{n}")
    receiver.statuses = [500]
    deliver(app_with)  # p3 fails: p4 waits for the next run
    everything = hclient.get(DELIVERIES).get_json()["Deliveries"]
    assert [d["Event"]["Data"]["Plan"] for d in everything] == ["p4", "p3", "p2", "p1", "p0"]  # newest first
    seen: list[str] = []
    token = None
    while True:
        page = hclient.get(DELIVERIES + "?page_size=2" + (f"&page_token={token}" if token else "")).get_json()
        seen += [d["Id"] for d in page["Deliveries"]]
        token = page["NextPageToken"]
        if not token:
            break
    assert seen == [d["Id"] for d in everything]
    assert len(hclient.get(f"{DELIVERIES}?status=pending").get_json()["Deliveries"]) == 2
    assert len(hclient.get(f"{DELIVERIES}?status=delivered&endpoint=billing").get_json()["Deliveries"]) == 3
    assert hclient.get(f"{DELIVERIES}?endpoint=other").get_json()["Deliveries"] == []
    one = everything[0]["EventId"]
    assert [d["EventId"] for d in hclient.get(f"{DELIVERIES}?event_id={one}").get_json()["Deliveries"]] == [one]
    assert len(hclient.get(f"{DELIVERIES}?event_type=plan.changed").get_json()["Deliveries"]) == 5
    assert hclient.get(f"{DELIVERIES}?event_type=order.paid").get_json()["Deliveries"] == []
    future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert hclient.get(f"{DELIVERIES}?since={future}").get_json()["Deliveries"] == []
    assert len(hclient.get(f"{DELIVERIES}?until={future}").get_json()["Deliveries"]) == 5


@pytest.mark.parametrize(
    "query",
    ["?status=lost", "?colour=x", "?page_size=0", "?page_token=abc", "?event_id=evt-1", "?since=yesterday",
     "?since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z", "?endpoint=Bad!"],
)  # fmt: skip
def test_bad_delivery_queries_are_400(hclient: Client, query: str) -> None:
    answer = hclient.get(DELIVERIES + query)
    assert answer.status_code == 400 and answer.get_json()["code"] == "BadRequest"


def test_a_delivery_carries_no_secret(app_with: Flask, hclient: Client, receiver: Receiver) -> None:
    change_a_plan(hclient)
    receiver.statuses = [500]
    deliver(app_with)
    (row,) = rows(app_with)
    text = json.dumps({c: str(getattr(row, c)) for c in ("payload", "last_error", "endpoint", "event_type")})
    assert SECRET not in text and "sha256=" not in text
    assert SECRET not in json.dumps(hclient.get(DELIVERIES).get_json())
