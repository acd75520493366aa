"""Tables, as typed SQLAlchemy 2 models. The metadata's naming convention names every constraint and index, so
migrations (and SQLite's batch mode, which rebuilds tables) can refer to them by name.

Times are stored in UTC: :class:`UTCDateTime` gives back aware datetimes on SQLite (which keeps no zone) and
PostgreSQL (``timestamp with time zone``) alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy import false as sa_false
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
        CheckConstraint("status IN ('NotStarted', 'Running', 'Succeeded', 'Failed', 'Canceled')", name="status"),
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


class Plan(Base):
    """What a tenant buys: limits (``quota_bytes``, ``max_buckets``, ``bandwidth_bytes_per_month``; NULL =
    unlimited), the S3 storage class its buckets' objects get (``storage_type``), where it is sold
    (``locations``: JSON list of location codes) and ``prices`` (JSON list of ``{Location, Currency, Monthly,
    StorageOverPerGb, TrafficOverPerGb}`` with decimal strings). ``revision`` counts its changes (each one is a
    :class:`PlanRevision`). A plan is *free* when no price has a non-zero ``Monthly``. Plans are never deleted
    while a tenant uses them: they are deactivated."""

    __tablename__ = "plans"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    active: Mapped[bool] = mapped_column(default=True)
    test_only: Mapped[bool] = mapped_column(default=False)
    storage_type: Mapped[str] = mapped_column(String(32))
    locations: Mapped[str] = mapped_column(Text)  # JSON list
    quota_bytes: Mapped[int | None] = mapped_column(BigInteger)
    max_buckets: Mapped[int | None] = mapped_column(Integer)
    bandwidth_bytes_per_month: Mapped[int | None] = mapped_column(BigInteger)
    #: percents of QuotaBytes that alert (JSON list; NULL: 75, 90, 100), what going over the bandwidth does
    #: (``none``, ``alert``, ``block``: a website's reads denied until the month ends), the longest share link
    alert_thresholds: Mapped[str | None] = mapped_column(String(64))
    bandwidth_action: Mapped[str] = mapped_column(String(8), default="alert", server_default="alert")
    max_link_seconds: Mapped[int | None] = mapped_column(Integer)
    #: S3 request metrics switched on for its tenants' buckets (traffic of plain buckets; CloudWatch bills it)
    request_metrics: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    prices: Mapped[str] = mapped_column(Text)  # JSON list
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: set by DELETE of a plan no live tenant uses (migration 0005_plans): the row and its revisions stay (old
    #: tenants and orders name it, the history is append-only), the name is never reused
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PlanRevision(Base):
    """One change of a plan, append-only: who, when, and per changed field its old and new value
    (``changes``: JSON ``{Field: {"Old": …, "New": …}}``; revision 1 is the creation, old values null)."""

    __tablename__ = "plan_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan: Mapped[str] = mapped_column(String(64), ForeignKey("plans.name"))
    revision: Mapped[int] = mapped_column(Integer)
    time: Mapped[datetime] = mapped_column(UTCDateTime())
    caller_id: Mapped[str | None] = mapped_column(String(16))
    caller_name: Mapped[str | None] = mapped_column(String(128))
    changes: Mapped[str] = mapped_column(Text)  # JSON

    __table_args__ = (Index(None, "plan", "revision", unique=True),)


class Tenant(Base):
    """A customer's S3 account: which configured ``account`` (and its ``location``) it lives in, its plan and
    status, the provider's references (``email``, ``client_id``, ``billing``), service dates, and the names of
    what it owns in AWS that AWS cannot list by tenant (``iam_user``, the current ``access_key_id``). Its
    buckets are not here: a bucket's owner is its ``s3api:tenant`` tag. ``sealed_secret`` holds the S3 secret
    only when the operator configured encryption keys (:mod:`s3api.sealing`). Terminated tenants stay."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(64))
    plan: Mapped[str] = mapped_column(String(64), ForeignKey("plans.name"))
    status: Mapped[str] = mapped_column(String(16))
    email: Mapped[str] = mapped_column(String(254))
    client_id: Mapped[str | None] = mapped_column(String(128))
    billing: Mapped[str | None] = mapped_column(String(128))
    tester: Mapped[bool] = mapped_column(default=False)
    first_bucket: Mapped[str | None] = mapped_column(String(63))
    iam_user: Mapped[str | None] = mapped_column(String(64))
    access_key_id: Mapped[str | None] = mapped_column(String(128))
    sealed_secret: Mapped[str | None] = mapped_column(Text)
    api_key_id: Mapped[str | None] = mapped_column(String(16))
    operation_id: Mapped[str | None] = mapped_column(String(40))
    deletion_reason: Mapped[str | None] = mapped_column(String(512))
    resume_status: Mapped[str | None] = mapped_column(String(16))  # what cancel-deletion goes back to (0005)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_charge_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    terminate_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(
            "status IN ('provisioning', 'pending_payment', 'active', 'suspended', 'cancelling', 'terminating', "
            "'terminated', 'failed')",
            name="status",
        ),
        Index(None, "created_at", "id"),
        Index(None, "status", "cancel_at"),
        Index(None, "client_id"),
        Index(None, "email"),
        Index(None, "plan"),
    )


class Order(Base):
    """A paid plan bought for a tenant: ``amount`` (decimal string) in ``currency``, ``status`` pending until
    the billing system says ``paid`` (which provisions the tenant) or ``failed``."""

    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), ForeignKey("tenants.id"))
    plan: Mapped[str] = mapped_column(String(64), ForeignKey("plans.name"))
    amount: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(128))  # the billing system's payment reference
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'paid', 'failed', 'canceled')", name="status"),
        Index(None, "created_at", "id"),
        Index(None, "tenant"),
    )


class WebhookDelivery(Base):
    """The outbox: one event for one configured endpoint, written in the transaction of the change it tells
    about, delivered by a periodic task (POST, ``X-S3api-Signature``), retried with backoff for a day.
    ``event_id`` is the same for every endpoint of one event (receivers de-duplicate on it)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(64))
    endpoint: Mapped[str] = mapped_column(String(64))  # the configured endpoint's name
    payload: Mapped[str] = mapped_column(Text)  # the JSON body, exactly as sent and signed
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(512))
    last_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "created_at", "id"),
        Index(None, "event_type", "created_at"),
    )


class ShareLink(Base):
    """A presigned link we issued: what it opens (``bucket``, ``key``, ``method``), until when, who asked, the
    ``share`` it belongs to and the ``signer`` (IAM user and access key id) whose key signed it. Never the
    signature. ``revoked_at`` once its signer key was taken away. Purged some days after expiry."""

    __tablename__ = "share_links"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    bucket: Mapped[str] = mapped_column(String(63))
    key: Mapped[str] = mapped_column(String(1024))
    method: Mapped[str] = mapped_column(String(8))
    share: Mapped[str | None] = mapped_column(String(128))
    signer: Mapped[str] = mapped_column(String(64))
    signer_key_id: Mapped[str] = mapped_column(String(128))
    tenant: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index(None, "account", "bucket", "created_at", "id"),
        Index(None, "signer_key_id"),
        Index(None, "account", "bucket", "share"),
        Index(None, "expires_at"),
    )


class Signer(Base):
    """A signer identity of one bucket (an IAM user allowed only GetObject/PutObject on the bucket's objects)
    and its current access key; the secret is sealed (:mod:`s3api.sealing`), needed to sign later links."""

    __tablename__ = "signers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    bucket: Mapped[str] = mapped_column(String(63))
    share: Mapped[str | None] = mapped_column(String(128))
    iam_user: Mapped[str] = mapped_column(String(64))
    access_key_id: Mapped[str | None] = mapped_column(String(128))
    sealed_secret: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    key_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index(None, "account", "bucket", "share"),)


class UsageSample(Base):
    """One day of one bucket's usage (design note: usage samples are state AWS cannot hold as history):
    storage by storage class, objects, and where the source has it traffic and requests, each with its
    ``source`` (``listing``, ``cloudwatch``, ``request-metrics``, ``cloudfront``) and ``as_of``. ``tenant`` is the
    bucket's owner (its tag) when the day was sampled: a tenant's history survives its buckets. A listing that a
    run's budget cut short is ``complete = false`` with the ``resume_token`` the next run continues from."""

    __tablename__ = "usage_samples"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(63), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD (UTC)
    tenant: Mapped[str | None] = mapped_column(String(64))
    storage_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    objects: Mapped[int] = mapped_column(BigInteger, default=0)
    by_class: Mapped[str] = mapped_column(Text, default="{}")  # JSON {class: [objects, bytes]}
    bytes_downloaded: Mapped[int | None] = mapped_column(BigInteger)
    bytes_uploaded: Mapped[int | None] = mapped_column(BigInteger)
    requests: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))
    traffic_source: Mapped[str | None] = mapped_column(String(16))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    complete: Mapped[bool] = mapped_column(default=False)
    resume_token: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index(None, "tenant", "day"), Index(None, "day"))


class BucketQuota(Base):
    """A storage quota an admin set on one bucket (a tenant's quota is its plan's ``quota_bytes``): the limit and
    the alert thresholds in percent. Whether writes are denied is not here: it is the bucket policy's statement
    (read back from AWS)."""

    __tablename__ = "bucket_quotas"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(63), primary_key=True)
    quota_bytes: Mapped[int] = mapped_column(BigInteger)
    thresholds: Mapped[str] = mapped_column(String(64))  # JSON list of percents, ascending
    set_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class QuotaAlert(Base):
    """One crossing of a threshold by a subject (``tenant:<id>`` or ``bucket:<account>/<bucket>``): storage, or
    bandwidth within a month (``period``). Sent once (webhook ``quota.alert`` and an audit event, in the same
    transaction); ``cleared_at`` when usage fell back below, so that the next crossing alerts again."""

    __tablename__ = "quota_alerts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    threshold: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(7), default="")
    used_bytes: Mapped[int] = mapped_column(BigInteger)
    limit_bytes: Mapped[int] = mapped_column(BigInteger)
    projected_day: Mapped[str | None] = mapped_column(String(10))
    crossed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("kind IN ('storage', 'bandwidth')", name="kind"),
        Index(None, "subject", "kind", "cleared_at"),
    )
