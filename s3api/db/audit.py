"""The audit trail's storage: add an event (inside the caller's transaction, or in its own), query it newest
first with filters and page tokens, stream it in bounded batches, purge what is older than the retention.

An event is a plain dict of column values (:func:`new_event` fills the id and the time). What goes in is the
web layer's business (:mod:`s3api.audit`): this module never sees a request, a header or a body.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from s3api.db.models import AuditEvent
from s3api.db.pages import decode_token, encode_token
from s3api.db.session import Database
from s3api.errors import ServiceUnavailable

#: ``started``: the event of a request whose AWS work began and whose end could not be recorded (status 0).
OUTCOMES = ("ok", "refused", "failed", "rolled_back", "started", "replayed")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
STREAM_BATCH = 500


def now() -> datetime:
    return datetime.now(UTC)


def new_event(**fields: Any) -> AuditEvent:
    fields.setdefault("id", uuid.uuid4().hex)
    fields.setdefault("time", now())
    return AuditEvent(**fields)


def record(row: AuditEvent) -> dict[str, Any]:
    """An event as the API shows it."""
    return {
        "Id": row.id,
        "Time": row.time,
        "CallerId": row.caller_id,
        "CallerName": row.caller_name,
        "Role": row.role,
        "Tenant": row.tenant,
        "SourceAddress": row.source,
        "UserAgent": row.user_agent,
        "Action": row.action,
        "Resource": row.resource,
        "Status": row.status,
        "ErrorCode": row.error_code,
        "Outcome": row.outcome,
        "RequestId": row.request_id,
        "OperationId": row.operation_id,
        "Reason": row.reason,
        "Input": json.loads(row.input) if row.input else None,
        "Detail": json.loads(row.detail) if row.detail else None,
    }


#: An event id (uuid4 hex).
EVENT_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Filters:
    caller: str | None = None  # a key id, or the name of a caller (config token or key)
    tenant: str | None = None
    action: str | None = None  # a prefix: "bucket." matches bucket.create and bucket.delete
    resource: str | None = None
    outcome: str | None = None  # one of OUTCOMES, or an HTTP status
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, query: Select[tuple[AuditEvent]]) -> Select[tuple[AuditEvent]]:
        if self.caller is not None:
            query = query.where(or_(AuditEvent.caller_id == self.caller, AuditEvent.caller_name == self.caller))
        if self.tenant is not None:
            query = query.where(AuditEvent.tenant == self.tenant)
        if self.action is not None:
            query = query.where(AuditEvent.action.startswith(self.action, autoescape=True))
        if self.resource is not None:
            query = query.where(AuditEvent.resource == self.resource)
        if self.outcome is not None:
            if self.outcome.isdigit():
                query = query.where(AuditEvent.status == int(self.outcome))
            else:
                query = query.where(AuditEvent.outcome == self.outcome)
        if self.since is not None:
            query = query.where(AuditEvent.time >= self.since)
        if self.until is not None:
            query = query.where(AuditEvent.time < self.until)
        return query


def _after(when: datetime, event_id: str) -> Any:
    return or_(AuditEvent.time < when, and_(AuditEvent.time == when, AuditEvent.id < event_id))


def _newest_first(filters: Filters) -> Select[tuple[AuditEvent]]:
    return filters.apply(select(AuditEvent)).order_by(AuditEvent.time.desc(), AuditEvent.id.desc())


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("the database is unavailable, retry later")


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def add(session: Session, event: AuditEvent) -> None:
        """Add the event to the caller's transaction: it commits (or not) with the change it describes."""
        session.add(event)

    def write(self, event: AuditEvent) -> None:
        """The event in a transaction of its own. Raises SQLAlchemyError: the caller decides what a failure
        means (the web layer logs and counts it; the request's answer stands)."""
        with self.db.write() as session:
            session.add(event)

    def finish(self, event: AuditEvent) -> None:
        """The end of a request whose event :meth:`write` recorded as ``started``: the same row takes the final
        fields (one event per request). Raises SQLAlchemyError, as :meth:`write`."""
        with self.db.write() as session:
            session.merge(event)

    def page(
        self, filters: Filters, page_size: int = DEFAULT_PAGE_SIZE, page_token: str | None = None
    ) -> dict[str, Any]:
        """Newest first: ``{"Events": [...], "NextPageToken": token or None}``."""
        query = _newest_first(filters)
        if page_token:
            query = query.where(_after(*decode_token(page_token, EVENT_ID)))
        try:
            with self.db.read() as session:
                rows = list(session.scalars(query.limit(page_size + 1)))
        except SQLAlchemyError:
            raise _unavailable() from None
        more = len(rows) > page_size
        rows = rows[:page_size]
        token = encode_token(rows[-1].time, rows[-1].id) if more and rows else None
        return {"Events": [record(r) for r in rows], "NextPageToken": token}

    def stream(
        self, filters: Filters, page_token: str | None = None, batch: int = STREAM_BATCH
    ) -> Iterator[dict[str, Any]]:
        """Every matching event (after ``page_token``'s), newest first, read ``batch`` rows at a time (keyset
        pages, one short read transaction each): memory stays bounded whatever the trail holds. Raises
        SQLAlchemyError when a batch cannot be read."""
        position = decode_token(page_token, EVENT_ID) if page_token else None
        while True:
            query = _newest_first(filters)
            if position is not None:
                query = query.where(_after(*position))
            with self.db.read() as session:
                rows = list(session.scalars(query.limit(batch)))
            for row in rows:
                yield record(row)
            if len(rows) < batch:
                return
            position = (rows[-1].time, rows[-1].id)

    def purge(self, retention_days: int, when: datetime | None = None) -> int:
        """Delete the events older than ``retention_days`` before ``when`` (now); the number deleted."""
        cutoff = (when or now()) - timedelta(days=retention_days)
        with self.db.write() as session:
            result = session.execute(delete(AuditEvent).where(AuditEvent.time < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)
