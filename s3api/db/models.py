"""Tables, as typed SQLAlchemy 2 models. The metadata's naming convention names every constraint and index, so
migrations (and SQLite's batch mode, which rebuilds tables) can refer to them by name.

Times are stored in UTC: :class:`UTCDateTime` gives back aware datetimes on SQLite (which keeps no zone) and
PostgreSQL (``timestamp with time zone``) alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Dialect, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's filter: the job queue's own tables (procrastinate's, on PostgreSQL) are not ours to compare."""
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime in, an aware UTC datetime out; a naive datetime is a programming error."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware (UTC) datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ApiKey(Base):
    """A caller: ``s3k_<id>_<secret>``; only the id and the SHA-256 of the secret are stored (the secret is 32
    random bytes: a slow hash would add nothing). Revoked keys stay, with ``revoked_at``."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    tenant: Mapped[str | None] = mapped_column(String(64))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("role IN ('admin', 'reader', 'tenant')", name="role"),
        Index(None, "created_at", "id"),  # the list's order and its page tokens
        Index(None, "tenant"),
    )


class AuditEvent(Base):
    """One audited request: who (key id and name, role, tenant, address, user agent), what (action, resource,
    a redacted summary of the input, the reason given), how it ended (status, error code, outcome: ``ok``,
    ``refused``, ``failed`` or ``rolled_back`` with the undone steps in ``detail``). Append-only; never a secret."""

    __tablename__ = "audit_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime())
    caller_id: Mapped[str | None] = mapped_column(String(16))
    caller_name: Mapped[str | None] = mapped_column(String(128))
    role: Mapped[str | None] = mapped_column(String(16))
    tenant: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(1400))
    status: Mapped[int] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(64))
    operation_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(512))
    input: Mapped[str | None] = mapped_column(Text)  # JSON: whitelisted fields only
    detail: Mapped[str | None] = mapped_column(Text)  # JSON: the workflow's rollback, when there was one

    __table_args__ = (
        Index(None, "time", "id"),  # newest first, page tokens, retention
        Index(None, "action", "time"),
        Index(None, "caller_id", "time"),
        Index(None, "resource", "time"),
        Index(None, "tenant", "time"),
    )


class Operation(Base):
    """Long work, finished by whichever worker claims it: what it does (``kind``, ``target``, the task's
    ``params``: names and numbers, never a secret), where it stands (``status``: NotStarted, Running,
    Succeeded, Failed, Canceled; ``progress``: counters), how it ended (``error``: our JSON envelope;
    ``result``) and who started it. JSON columns are text. Kept 30 days after they end (a periodic purge).

    ``lock`` is the target the operation acts on (``bucket:<account>/<name>``): two operations with one lock
    never run at once. ``dedupe`` is set while an operation that must not run twice (a recount) is unfinished:
    a unique index makes a second start find the first. ``run_after`` and ``attempts`` carry the retries of the
    in-process runner (SQLite); on PostgreSQL procrastinate retries and ``job_id`` names its job."""

    __tablename__ = "operations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    account: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(1400))
    lock: Mapped[str] = mapped_column(String(1400))
    dedupe: Mapped[str | None] = mapped_column(String(1500))
    status: Mapped[str] = mapped_column(String(16))
    params: Mapped[str] = mapped_column(Text)
    progress: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime())
    job_id: Mapped[int | None] = mapped_column(Integer)
    caller_id: Mapped[str | None] = mapped_column(String(16))
    caller_name: Mapped[str | None] = mapped_column(String(128))
    tenant: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(
            "status IN ('NotStarted', 'Running', 'Succeeded', 'Failed', 'Canceled')", name="status"
        ),
        Index(None, "created_at", "id"),  # the list's order and its page tokens
        Index(None, "status", "run_after"),  # the in-process runner's claim
        Index(None, "lock", "status"),
        Index(None, "kind", "created_at"),
        Index(None, "dedupe", unique=True),  # NULLs are distinct on SQLite and PostgreSQL alike
    )


class IdempotencyRecord(Base):
    """An ``Idempotency-Key`` seen from one caller: the request it came with (method, path, a SHA-256 of the
    body) and, once answered, the answer (status, headers we replay, body). ``state`` is ``in_flight`` until
    the first request ends. Kept 24 hours (a periodic purge)."""

    __tablename__ = "idempotency_keys"

    caller: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(2048))
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    status: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[str | None] = mapped_column(Text)  # JSON
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("state IN ('in_flight', 'done')", name="state"),
        Index(None, "expires_at"),
    )
