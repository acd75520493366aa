"""Webhooks: events written to the outbox in the transaction of the change they tell about (:func:`emit`), then
delivered by a periodic task to each configured endpoint (``webhooks`` in the config).

The body is ``{"Id": <event id>, "Type": "order.paid", "CreatedAt": "…Z", "Data": {...}}``, exactly the bytes
stored in ``webhook_deliveries.payload``; ``Data`` holds names, ids, amounts and dates, never a secret.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from s3api.config import Settings
from s3api.db.models import WebhookDelivery

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
