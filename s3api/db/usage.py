"""Usage samples: one row per managed bucket per day (:class:`UsageStore`). What the sampler writes and the
history routes read; a day's listing that a run's budget cut short is saved unfinished and continued."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from s3api.db.models import Plan, Tenant, UsageSample
from s3api.db.session import Database


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Partial:
    """A day's sample being made: what a listing has summed so far."""

    day: str
    tenant: str | None
    as_of: datetime
    storage_bytes: int = 0
    objects: int = 0
    by_class: dict[str, list[int]] = field(default_factory=dict)
    resume_token: str | None = None
    pages: int = 0
    complete: bool = False
    #: ``{BytesDownloaded, BytesUploaded, Requests, Source}`` of the day, when a traffic source has it
    traffic: dict[str, Any] | None = None

    def add_page(self, page: dict[str, Any]) -> None:
        self.objects += page["Objects"]
        self.storage_bytes += page["Bytes"]
        for name, (count, size) in page["ByStorageClass"].items():
            found = self.by_class.setdefault(name, [0, 0])
            found[0] += count
            found[1] += size
        self.resume_token = page["Next"]
        self.pages += 1
        self.complete = page["Next"] is None


def shape(row: UsageSample) -> dict[str, Any]:
    """The API shape of one sample."""
    by_class = json.loads(row.by_class or "{}")
    return {
        "Day": row.day,
        "StorageBytes": row.storage_bytes,
        "Objects": row.objects,
        "ByStorageClass": {name: {"Objects": n, "Bytes": b} for name, (n, b) in sorted(by_class.items())},
        "BytesDownloaded": row.bytes_downloaded,
        "BytesUploaded": row.bytes_uploaded,
        "Requests": row.requests,
        "Source": row.source,
        "TrafficSource": row.traffic_source,
        "AsOf": iso(row.as_of),
        "Complete": row.complete,
    }


class UsageStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def day_of(self, account: str, buckets: list[str], day: str) -> dict[str, UsageSample]:
        """The rows of ``day`` for these buckets (one query)."""
        if not buckets:
            return {}
        with self.db.read() as session:
            rows = session.scalars(
                select(UsageSample).where(
                    UsageSample.account == account, UsageSample.day == day, UsageSample.bucket.in_(buckets)
                )
            ).all()
        return {row.bucket: row for row in rows}

    def save(self, account: str, bucket: str, partial: Partial, source: str = "listing") -> None:
        """Insert or update the bucket's row of ``partial.day``."""
        self.save_many(account, [(bucket, partial)], source)

    def save_many(self, account: str, items: list[tuple[str, Partial]], source: str = "listing") -> None:
        """Insert or update several buckets' rows in one transaction."""
        if not items:
            return
        with self.db.write() as session:
            for bucket, partial in items:
                self._put(session, account, bucket, partial, source)

    @staticmethod
    def _put(session: Any, account: str, bucket: str, partial: Partial, source: str) -> None:
        row = session.get(UsageSample, (account, bucket, partial.day))
        if row is None:
            row = UsageSample(account=account, bucket=bucket, day=partial.day)
            session.add(row)
        row.tenant = partial.tenant
        row.storage_bytes = partial.storage_bytes
        row.objects = partial.objects
        row.by_class = json.dumps(partial.by_class, sort_keys=True)
        row.source = source
        row.as_of = partial.as_of
        row.complete = partial.complete
        row.resume_token = None if partial.complete else partial.resume_token
        row.pages = partial.pages
        traffic = partial.traffic or {}
        row.bytes_downloaded = traffic.get("BytesDownloaded")
        row.bytes_uploaded = traffic.get("BytesUploaded")
        row.requests = traffic.get("Requests")
        row.traffic_source = traffic.get("Source")

    @staticmethod
    def opened(account: str, bucket: str, partial: Partial, storage: dict[str, Any] | None) -> UsageSample:
        """A new row for the day: unlisted (``complete`` false, no pages), or finished from CloudWatch's
        ``storage`` (``{Bytes, Objects, ByStorageClass: {class: bytes}, AsOf}``)."""
        traffic = partial.traffic or {}
        row = UsageSample(
            account=account,
            bucket=bucket,
            day=partial.day,
            tenant=partial.tenant,
            storage_bytes=0,
            objects=0,
            by_class="{}",
            bytes_downloaded=traffic.get("BytesDownloaded"),
            bytes_uploaded=traffic.get("BytesUploaded"),
            requests=traffic.get("Requests"),
            traffic_source=traffic.get("Source"),
            source="listing",
            as_of=partial.as_of,
            complete=False,
            resume_token=None,
            pages=0,
        )
        if storage is not None:
            row.storage_bytes = storage["Bytes"]
            row.objects = storage["Objects"]
            row.by_class = json.dumps({k: [0, v] for k, v in storage["ByStorageClass"].items()}, sort_keys=True)
            row.source = "cloudwatch"
            row.as_of = storage["AsOf"]
            row.complete = True
        return row

    def put_many(self, rows: list[UsageSample]) -> None:
        """Insert or replace whole samples in one transaction."""
        if not rows:
            return
        with self.db.write() as session:
            for row in rows:
                session.merge(row)

    def put(self, row: UsageSample) -> None:
        """Insert or replace a whole sample (sources that answer in one go: CloudWatch)."""
        with self.db.write() as session:
            session.merge(row)

    def request_metered(self, tenants: set[str]) -> set[str]:
        """Those of ``tenants`` whose plan has ``RequestMetrics`` (one query)."""
        if not tenants:
            return set()
        with self.db.read() as session:
            found = session.scalars(
                select(Tenant.id)
                .join(Plan, Plan.name == Tenant.plan)
                .where(Tenant.id.in_(sorted(tenants)), Plan.request_metrics.is_(True))
            ).all()
        return set(found)

    def series(self, account: str, bucket: str, start: str, end: str) -> list[UsageSample]:
        """The bucket's samples from ``start`` to ``end`` (days, inclusive), oldest first."""
        with self.db.read() as session:
            return list(
                session.scalars(
                    select(UsageSample)
                    .where(
                        UsageSample.account == account,
                        UsageSample.bucket == bucket,
                        UsageSample.day >= start,
                        UsageSample.day <= end,
                    )
                    .order_by(UsageSample.day)
                ).all()
            )

    def tenant_series(self, tenant: str, start: str, end: str) -> list[UsageSample]:
        """Every sample of the tenant's buckets (by owner when sampled) from ``start`` to ``end``, oldest first."""
        with self.db.read() as session:
            return list(
                session.scalars(
                    select(UsageSample)
                    .where(UsageSample.tenant == tenant, UsageSample.day >= start, UsageSample.day <= end)
                    .order_by(UsageSample.day, UsageSample.bucket)
                ).all()
            )

    def partial(self, row: UsageSample) -> Partial:
        """An unfinished row as the sampler continues it."""
        return Partial(
            day=row.day,
            tenant=row.tenant,
            as_of=row.as_of,
            storage_bytes=row.storage_bytes,
            objects=row.objects,
            by_class={k: list(v) for k, v in json.loads(row.by_class or "{}").items()},
            resume_token=row.resume_token,
            pages=row.pages,
            complete=row.complete,
            traffic=None
            if row.traffic_source is None
            else {
                "BytesDownloaded": row.bytes_downloaded,
                "BytesUploaded": row.bytes_uploaded,
                "Requests": row.requests,
                "Source": row.traffic_source,
            },
        )


def metering_table(month_start: str) -> Any:
    """Per tenant, this period's (from ``month_start``) ``peak`` storage (the largest daily total of its buckets)
    and ``traffic`` (bytes downloaded, summed): a subquery to join or order by."""
    daily = (
        select(
            UsageSample.tenant.label("tenant"),
            UsageSample.day.label("day"),
            func.sum(UsageSample.storage_bytes).label("stored"),
            func.sum(func.coalesce(UsageSample.bytes_downloaded, 0)).label("down"),
            func.max(UsageSample.as_of).label("as_of"),
        )
        .where(UsageSample.tenant.is_not(None), UsageSample.day >= month_start)
        .group_by(UsageSample.tenant, UsageSample.day)
        .subquery()
    )
    return (
        select(
            daily.c.tenant,
            func.max(daily.c.stored).label("peak"),
            func.sum(daily.c.down).label("traffic"),
            func.max(daily.c.as_of).label("as_of"),
        )
        .group_by(daily.c.tenant)
        .subquery()
    )


def metering_of(db: Database, tenant_ids: list[str], month_start: str) -> dict[str, dict[str, Any]]:
    """``Metering`` of several tenants in one query: ``{id: {TrafficBytesThisPeriod, StoragePeakBytesThisPeriod,
    AsOf}}`` (zeros and AsOf null for a tenant without samples this period)."""
    found: dict[str, dict[str, Any]] = {
        t: {"TrafficBytesThisPeriod": 0, "StoragePeakBytesThisPeriod": 0, "AsOf": None} for t in tenant_ids
    }
    if not tenant_ids:
        return found
    table = metering_table(month_start)
    with db.read() as session:
        for tenant, peak, traffic, as_of in session.execute(select(table).where(table.c.tenant.in_(tenant_ids))):
            found[tenant] = {
                "TrafficBytesThisPeriod": int(traffic or 0),
                "StoragePeakBytesThisPeriod": int(peak or 0),
                "AsOf": iso(as_of) if as_of else None,
            }
    return found
