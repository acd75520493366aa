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
delivery is ``failed``. Delivery is at least once: rows are claimed with a lease (:data:`LEASE`), so a worker that
dies mid-POST leaves its rows due again, and two workers never claim one row (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite writes are serialised). Webhooks are POSTed directly (no proxy, no redirects followed). The
secret signs; it is never sent, stored in a row or logged.
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
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select
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
#: rows claimed per run of the task (the rest wait for the next run)
BATCH = 100
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


def claim(db: Database, when: datetime, limit: int = BATCH) -> list[_Claimed]:
    """Due pending deliveries, oldest due first, leased to this run (:data:`LEASE`)."""
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= when)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    with db.write() as session:
        rows = list(session.scalars(query))
        for row in rows:
            row.next_attempt_at = when + LEASE
        return [_Claimed(r.id, r.endpoint, r.event_id, r.event_type, r.payload, r.created_at) for r in rows]


def _finish(db: Database, claimed: _Claimed, when: datetime, status: int | None, error: str | None) -> str:
    """Record one attempt; the delivery's new status."""
    with db.write() as session:
        row = session.get(WebhookDelivery, claimed.id)
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


def deliver_due(
    settings: Settings,
    db: Database,
    *,
    when: datetime | None = None,
    limit: int = BATCH,
    post: Post = http_post,
) -> int:
    """One run of the delivery task: POST every due delivery (up to ``limit``); how many were delivered."""
    when = when or datetime.now(UTC)
    delivered = 0
    for claimed in claim(db, when, limit):
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
        outcome = _finish(db, claimed, when, status, error)
        if outcome == "delivered":
            delivered += 1
        else:
            log.warning(
                "webhook not delivered",
                extra={"delivery": claimed.id, "endpoint": claimed.endpoint, "status": status, "error": error,
                       "outcome": outcome},
            )  # fmt: skip
    return delivered


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
