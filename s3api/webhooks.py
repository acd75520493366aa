"""Webhooks: events written to the outbox in the transaction of the change they tell about (:func:`emit`), then
delivered by a periodic task to each configured endpoint (``webhooks`` in the config).

The body is ``{"Id": <event id>, "Type": "order.paid", "CreatedAt": "…Z", "Data": {...}}``, exactly the bytes
stored in ``webhook_deliveries.payload``; ``Data`` holds names, ids, amounts and dates, never a secret.

Delivery (:func:`deliver_due`, the periodic task ``webhooks_deliver``): one POST of the stored body per
(event, endpoint) with ``Content-Type: application/json``, ``X-S3api-Signature: sha256=<hex HMAC-SHA256 of the
body with the endpoint's secret>``, ``X-S3api-Event-Id`` (the same for every endpoint of one event: receivers
de-duplicate on it), ``X-S3api-Event-Type`` and ``X-S3api-Delivery-Id``. A 2xx answer delivers it; anything else
(another status, a redirect, a refused connection, a timeout of :data:`TIMEOUT` seconds) is an attempt that
failed, retried after :func:`backoff` (1 min, doubling, at most 1 h) until a day after the event: then the
delivery is ``failed``. A run spends at most :data:`BUDGET` seconds, and an endpoint that failed once in a run gets
no more attempts in it (a dead receiver costs one timeout per run, and never holds up the other periodic tasks).
Events carry no order: receivers order by ``CreatedAt`` if they need to. Delivery is at least once: rows are
claimed with a lease (:data:`LEASE`), so a worker that dies mid-POST leaves its rows due again, and two workers
never claim one row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite writes are serialised). Webhooks are
POSTed directly (no proxy, no redirects followed). The secret signs; it is never sent, stored in a row or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import re
import secrets
import socket
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from s3api.config import Settings
from s3api.db.models import WebhookDelivery
from s3api.db.pages import decode_token, encode_token
from s3api.db.session import Database

log = logging.getLogger("s3api.webhooks")

#: every event type the service emits (``webhooks.<name>.events`` may name a subset)
EVENT_TYPES = (
    "order.created",
    "order.paid",
    "order.failed",
    "plan.changed",
    "tenant.created",
    "tenant.plan_changed",
    "tenant.suspended",
    "tenant.resumed",
    "tenant.deletion_scheduled",
    "tenant.deletion_canceled",
    "tenant.terminated",
    "quota.alert",
    "operation.done",
    "usage.day",
)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def emit(session: Session, settings: Settings, event_type: str, data: dict[str, Any]) -> str:
    """Add one event to the outbox, one row per endpoint that wants it, in ``session``'s transaction (it commits
    or rolls back with the change). Returns the event id (also when no endpoint is configured)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    event_id = "evt-" + secrets.token_hex(12)
    when = datetime.now(UTC)
    body = json.dumps(
        {"Id": event_id, "Type": event_type, "CreatedAt": _iso(when), "Data": data},
        separators=(",", ":"),
        sort_keys=True,
    )
    for hook in settings.webhooks.values():
        if hook.wants(event_type):
            session.add(
                WebhookDelivery(
                    id="whd-" + secrets.token_hex(12),
                    event_id=event_id,
                    event_type=event_type,
                    endpoint=hook.name,
                    payload=body,
                    status="pending",
                    attempts=0,
                    next_attempt_at=when,
                    created_at=when,
                )
            )
    return event_id


# --- delivery ---------------------------------------------------------------------------------------------------

#: seconds one POST may take (connect and answer)
TIMEOUT = 10.0
#: a claimed row is due again after this (its worker died mid-POST): delivery is at least once
LEASE = timedelta(seconds=120)
#: a delivery not done this long after its event is ``failed``
GIVE_UP = timedelta(days=1)
#: rows claimed at a time
BATCH = 100
#: seconds one run of the task may spend delivering (what is left waits for the next run). BUDGET + TIMEOUT stays
#: under LEASE: a run's claimed rows are recorded before another run could take them again.
BUDGET = 30.0
#: delivered and failed rows are kept this long (the task purges older ones)
KEEP = timedelta(days=30)
DELIVERY_ID = re.compile(r"whd-[0-9a-f]{24}")
STATUSES = ("pending", "delivered", "failed")
SIGNATURE_HEADER = "X-S3api-Signature"
EVENT_ID_HEADER = "X-S3api-Event-Id"

#: ``post(url, body, headers, timeout) -> HTTP status``; raises OSError (refused, timeout, unreachable)
Post = Callable[[str, bytes, Mapping[str, str], float], int]


def signature(secret: str, body: bytes) -> str:
    """The ``X-S3api-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of the body with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 1 min, 2, 4, ... at most 1 h."""
    return timedelta(seconds=min(3600, 60 * 2 ** max(0, attempts - 1)))


def http_post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """POST ``body`` to ``url`` (http or https, as the configuration allows): the answer's status (its body is read
    up to 64 KiB and dropped). A redirect is an answer like any other, never followed; no proxy is used."""
    parts = urllib.parse.urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname or "", parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers={**headers, "Content-Length": str(len(body))})
        answer = connection.getresponse()
        answer.read(65536)
        return int(answer.status)
    finally:
        connection.close()


@dataclass(frozen=True)
class _Claimed:
    id: str
    endpoint: str
    event_id: str
    event_type: str
    payload: str
    created_at: datetime


def _why(exc: BaseException) -> str:
    """A failed attempt's reason without the URL (it can hold credentials) or the receiver's text."""
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timeout"
    return type(exc).__name__


def claim(db: Database, when: datetime, limit: int = BATCH, skip: Iterable[str] = ()) -> list[_Claimed]:
    """Due pending deliveries (not to the endpoints in ``skip``), oldest due first, leased to this run
    (:data:`LEASE`)."""
    query = select(WebhookDelivery).where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= when)
    if skip:
        query = query.where(WebhookDelivery.endpoint.not_in(list(skip)))
    query = query.order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
    query = query.with_for_update(skip_locked=True)
    with db.write() as session:
        rows = list(session.scalars(query))
        for row in rows:
            row.next_attempt_at = when + LEASE
        return [_Claimed(r.id, r.endpoint, r.event_id, r.event_type, r.payload, r.created_at) for r in rows]


@dataclass(frozen=True)
class _Attempt:
    claimed: _Claimed
    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _record(db: Database, attempts: list[_Attempt], when: datetime) -> list[str]:
    """Write a batch's attempts in one transaction (a crash before it: those rows are due again once their lease
    ends, and delivered again: at least once); each delivery's new status."""
    if not attempts:
        return []
    with db.write() as session:
        ids = [a.claimed.id for a in attempts]
        found = {r.id: r for r in session.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))}
        return [_finish(found.get(a.claimed.id), a.claimed, when, a.status, a.error) for a in attempts]


def _finish(
    row: WebhookDelivery | None, claimed: _Claimed, when: datetime, status: int | None, error: str | None
) -> str:
    """Record one attempt on its row; the delivery's new status."""
    if row is None or row.status != "pending":
        return row.status if row is not None else "gone"
    row.attempts += 1
    row.last_status = status
    if status is not None and 200 <= status < 300:
        row.status, row.delivered_at, row.last_error = "delivered", when, None
        return row.status
    row.last_error = (error or f"HTTP {status}")[:512]
    due = when + backoff(row.attempts)
    if error == "endpoint not configured" or due > claimed.created_at + GIVE_UP:
        row.status = "failed"
    else:
        row.next_attempt_at = due
    return row.status


def release(db: Database, ids: Iterable[str], when: datetime) -> None:
    """Give back claimed rows no attempt was made for: due again (at the next run), attempts unchanged."""
    ids = list(ids)
    if not ids:
        return
    with db.write() as session:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == "pending")
            .values(next_attempt_at=when)
        )


def expire(db: Database, when: datetime) -> int:
    """Pending deliveries of events more than :data:`GIVE_UP` old are ``failed`` (also those never attempted,
    behind a receiver that kept failing); how many."""
    with db.write() as session:
        result = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.created_at < when - GIVE_UP)
            .values(status="failed", last_error=func.coalesce(WebhookDelivery.last_error, "not delivered within a day"))
        )
        return int(getattr(result, "rowcount", 0) or 0)


def deliver_due(
    settings: Settings,
    db: Database,
    *,
    when: datetime | None = None,
    limit: int = BATCH,
    budget: float = BUDGET,
    post: Post = http_post,
) -> int:
    """One run of the delivery task: POST the due deliveries, batch after batch, for at most ``budget`` seconds
    (the periodic tasks share one thread: a slow receiver must not hold the others up); how many were delivered.
    An endpoint whose attempt fails gets no further attempt in this run: its other rows wait for the next run
    (so a dead receiver costs one timeout per run, not one per event)."""
    when = when or datetime.now(UTC)
    started = time.monotonic()
    expire(db, when)
    down: set[str] = set()
    delivered = 0
    while time.monotonic() - started < budget:
        batch = claim(db, when, limit, skip=down)
        if not batch:
            break
        skipped: list[str] = []
        made: list[_Attempt] = []
        for claimed in batch:
            if claimed.endpoint in down or time.monotonic() - started >= budget:
                skipped.append(claimed.id)
                continue
            attempt = _attempt(settings, claimed, post)
            made.append(attempt)
            if not attempt.ok:
                down.add(claimed.endpoint)
        for attempt, outcome in zip(made, _record(db, made, when), strict=True):
            if outcome == "delivered":
                delivered += 1
            else:
                log.warning(
                    "webhook not delivered",
                    extra={"delivery": attempt.claimed.id, "endpoint": attempt.claimed.endpoint,
                           "status": attempt.status, "error": attempt.error, "outcome": outcome},
                )  # fmt: skip
        release(db, skipped, when)
    return delivered


def _attempt(settings: Settings, claimed: _Claimed, post: Post) -> _Attempt:
    """One POST of one delivery (not recorded yet)."""
    hook = settings.webhooks.get(claimed.endpoint)
    status: int | None = None
    error: str | None = None
    if hook is None:
        error = "endpoint not configured"
    else:
        body = claimed.payload.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "s3api-webhooks",
            SIGNATURE_HEADER: signature(hook.secret, body),
            EVENT_ID_HEADER: claimed.event_id,
            "X-S3api-Event-Type": claimed.event_type,
            "X-S3api-Delivery-Id": claimed.id,
        }
        try:
            status = post(hook.url, body, headers, TIMEOUT)
        except (OSError, ValueError, http.client.HTTPException) as exc:  # refused, unreachable, timeout, garbage
            error = _why(exc)
    return _Attempt(claimed, status, error)


def purge(db: Database, when: datetime | None = None) -> int:
    """Delete delivered and failed rows older than :data:`KEEP`; how many."""
    cutoff = (when or datetime.now(UTC)) - KEEP
    with db.write() as session:
        result = session.execute(
            delete(WebhookDelivery).where(WebhookDelivery.status != "pending", WebhookDelivery.created_at < cutoff)
        )
        return int(getattr(result, "rowcount", 0) or 0)


# --- reading --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    event_type: str | None = None
    endpoint: str | None = None
    event_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def record(row: WebhookDelivery) -> dict[str, Any]:
    """A delivery as the API shows it: its state and the event it carries (never a signature or secret)."""
    return {
        "Id": row.id,
        "EventId": row.event_id,
        "EventType": row.event_type,
        "Endpoint": row.endpoint,
        "Status": row.status,
        "Attempts": row.attempts,
        "NextAttemptAt": row.next_attempt_at if row.status == "pending" else None,
        "LastStatus": row.last_status,
        "LastError": row.last_error,
        "CreatedAt": row.created_at,
        "DeliveredAt": row.delivered_at,
        "Event": json.loads(row.payload),
    }


def page(db: Database, filters: Filters, page_size: int = 50, page_token: str | None = None) -> dict[str, Any]:
    """Deliveries newest first: ``{"Deliveries": [...], "NextPageToken": token or None}``."""
    query = select(WebhookDelivery)
    if filters.status is not None:
        query = query.where(WebhookDelivery.status == filters.status)
    if filters.event_type is not None:
        query = query.where(WebhookDelivery.event_type == filters.event_type)
    if filters.endpoint is not None:
        query = query.where(WebhookDelivery.endpoint == filters.endpoint)
    if filters.event_id is not None:
        query = query.where(WebhookDelivery.event_id == filters.event_id)
    if filters.since is not None:
        query = query.where(WebhookDelivery.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(WebhookDelivery.created_at < filters.until)
    if page_token:
        created, row_id = decode_token(page_token, DELIVERY_ID)
        query = query.where(
            or_(
                WebhookDelivery.created_at < created,
                and_(WebhookDelivery.created_at == created, WebhookDelivery.id < row_id),
            )
        )
    query = query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(page_size + 1)
    with db.read() as session:
        rows = list(session.scalars(query))
    more = len(rows) > page_size
    rows = rows[:page_size]
    token = encode_token(rows[-1].created_at, rows[-1].id) if more and rows else None
    return {"Deliveries": [record(r) for r in rows], "NextPageToken": token}
