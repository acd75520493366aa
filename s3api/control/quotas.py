"""Quotas: soft limits that alert before the limit and a hard limit that denies writes at it.

A *subject* is what a quota applies to: one bucket (an admin's ``PUT .../buckets/{bucket}/quota``) or a tenant
(its plan's ``QuotaBytes`` over all its buckets, registered in :data:`SUBJECTS` by the tenancy code). Its usage is
the newest daily total of its samples (:mod:`s3api.control.usage`), so enforcement is as fresh as the samples:
at most ``usage_refresh_seconds`` plus one sampling period behind (README, Quotas).

Each check (:func:`check`, run after every sampling run of an account and when a quota changes):

- every threshold (percent, default 75, 90, 100; 100 is always one) crossed since the last check is sent once:
  a ``quota.alert`` webhook and an audit event, in the transaction that records the crossing
  (:class:`~s3api.db.models.QuotaAlert`); a threshold fallen back below is cleared, so the next crossing alerts
  again. Each alert carries the projection: at the last 7 days' growth, the day the quota is reached.
- at 100 % every bucket of the subject gets the deny statement of :mod:`s3api.provisioning.quota_guard` (checked
  again each run: a statement removed by hand comes back); below it, once the 100 % alert clears, the statement
  is taken away. AWS first, then the database: a failure in between is repaired by the next check.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from s3api import webhooks
from s3api.aws.clients import AccountAws
from s3api.config import Settings
from s3api.control import usage
from s3api.db.audit import new_event
from s3api.db.models import Plan, QuotaAlert, Tenant
from s3api.db.quotas import QuotaStore
from s3api.db.session import Database
from s3api.db.usage import UsageStore, iso
from s3api.errors import BadRequest, NotFound
from s3api.provisioning import objects, periodic, quota_guard

log = logging.getLogger("s3api.quotas")

DEFAULT_THRESHOLDS = (75, 90, 100)
GROWTH_DAYS = 7
HARD = 100


@dataclass(frozen=True)
class Env:
    settings: Settings
    db: Database
    quotas: QuotaStore
    usage: UsageStore

    @classmethod
    def of(cls, settings: Settings, db: Database) -> Env:
        return cls(settings, db, QuotaStore(db), UsageStore(db))


def env(rt: Any) -> Env:
    """The quota environment of a web process's runtime (its database and stores)."""
    return Env(rt.settings, rt.db, rt.quotas, rt.usage)


_ENVS: dict[str, Env] = {}


def env_for(settings: Settings) -> Env:
    """The process's quota environment of the configured database (periodic tasks get only ``aws``)."""
    found = _ENVS.get(settings.database.url)
    if found is None:
        found = _ENVS.setdefault(settings.database.url, Env.of(settings, Database(settings.database)))
    return found


@dataclass(frozen=True)
class Subject:
    name: str  # "bucket:<account>/<bucket>" or "tenant:<id>"
    account: str
    buckets: tuple[str, ...]
    quota_bytes: int
    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS
    tenant: str | None = None
    series: list[dict[str, Any]] = field(default_factory=list)  # daily totals, oldest first

    @property
    def complete(self) -> list[dict[str, Any]]:
        """The days whose every sample is finished (a day still being listed does not count yet)."""
        return [d for d in self.series if d.get("Complete", True)]

    @property
    def used(self) -> int:
        days = self.complete
        return int(days[-1]["StorageBytes"]) if days else 0

    @property
    def as_of(self) -> str | None:
        days = self.complete
        return days[-1]["AsOf"] if days else None

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.quota_bytes if self.quota_bytes > 0 else math.inf


#: where subjects come from, per account: ``fn(aws, env, day) -> [Subject]`` (tenants register theirs)
SUBJECTS: list[Callable[[AccountAws, Env, date], list[Subject]]] = []


def thresholds_of(values: Any) -> tuple[int, ...]:
    """Percents, ascending, 100 always among them (the hard limit)."""
    found = sorted({int(v) for v in (values or DEFAULT_THRESHOLDS)} | {HARD})
    return tuple(found)


def bucket_subjects(aws: AccountAws, env: Env, day: date) -> list[Subject]:
    """The account's bucket quotas, each with its bucket's last :data:`GROWTH_DAYS` + 1 days of samples."""
    start = (day - timedelta(days=GROWTH_DAYS)).isoformat()
    found = []
    for row in env.quotas.bucket_quotas(aws.account.name):
        rows = env.usage.series(aws.account.name, row.bucket, start, day.isoformat())
        found.append(
            Subject(
                name=f"bucket:{aws.account.name}/{row.bucket}",
                account=aws.account.name,
                buckets=(row.bucket,),
                quota_bytes=row.quota_bytes,
                thresholds=thresholds_of(json.loads(row.thresholds)),
                tenant=rows[-1].tenant if rows else None,
                series=usage.totals(rows, "day"),
            )
        )
    return found


SUBJECTS.append(bucket_subjects)

#: tenants whose quota is enforced (a terminated, failed or unprovisioned tenant has nothing to guard)
GUARDED = ("active", "suspended", "cancelling")


def tenant_subjects(aws: AccountAws, env: Env, day: date) -> list[Subject]:
    """The account's tenants on a plan with ``QuotaBytes``: all their buckets together (the buckets and their
    owner as sampled, so no AWS call), with the last :data:`GROWTH_DAYS` + 1 days of daily totals."""
    start = (day - timedelta(days=GROWTH_DAYS)).isoformat()
    with env.db.read() as session:
        found = session.execute(
            select(Tenant.id, Plan.quota_bytes, Plan.alert_thresholds)
            .join(Plan, Plan.name == Tenant.plan)
            .where(Tenant.account == aws.account.name, Tenant.status.in_(GUARDED), Plan.quota_bytes.is_not(None))
            .order_by(Tenant.id)
        ).all()
    subjects = []
    for tenant_id, quota, thresholds in found:
        rows = env.usage.tenant_series(tenant_id, start, day.isoformat())
        last_day = rows[-1].day if rows else None
        buckets = tuple(sorted({r.bucket for r in rows if r.day == last_day and r.account == aws.account.name}))
        subjects.append(
            Subject(
                name=f"tenant:{tenant_id}",
                account=aws.account.name,
                buckets=buckets,
                quota_bytes=int(quota),
                thresholds=thresholds_of(json.loads(thresholds) if thresholds else None),
                tenant=tenant_id,
                series=usage.totals(rows, "day"),
            )
        )
    return subjects


SUBJECTS.append(tenant_subjects)


# --- bandwidth: a plan's BandwidthBytesPerMonth over the tenant's websites ---------------------------------------


@dataclass(frozen=True)
class Bandwidth:
    """A tenant's traffic this month (its buckets' samples with a traffic source) against its plan's
    ``BandwidthBytesPerMonth``; ``action`` is the plan's ``BandwidthAction`` (``alert`` or ``block``)."""

    tenant: str
    period: str  # YYYY-MM
    limit: int
    used: int
    action: str
    sites: tuple[str, ...]  # buckets with CloudFront traffic this month (websites)
    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS

    @property
    def name(self) -> str:
        return f"tenant:{self.tenant}"

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.limit if self.limit > 0 else math.inf


def bandwidth_subjects(aws: AccountAws, env: Env, day: date) -> list[Bandwidth]:
    """The account's guarded tenants on a plan with a bandwidth limit and an action other than ``none``."""
    start = day.replace(day=1).isoformat()
    with env.db.read() as session:
        found = session.execute(
            select(Tenant.id, Plan.bandwidth_bytes_per_month, Plan.bandwidth_action, Plan.alert_thresholds)
            .join(Plan, Plan.name == Tenant.plan)
            .where(
                Tenant.account == aws.account.name,
                Tenant.status.in_(GUARDED),
                Plan.bandwidth_bytes_per_month.is_not(None),
                Plan.bandwidth_action != "none",
            )
            .order_by(Tenant.id)
        ).all()
    subjects = []
    for tenant_id, limit, action, thresholds in found:
        rows = env.usage.tenant_series(tenant_id, start, day.isoformat())
        subjects.append(
            Bandwidth(
                tenant=tenant_id,
                period=start[:7],
                limit=int(limit),
                used=sum(r.bytes_downloaded or 0 for r in rows),
                action=action,
                sites=tuple(sorted({r.bucket for r in rows if r.traffic_source == "cloudfront"})),
                thresholds=thresholds_of(json.loads(thresholds) if thresholds else None),
            )
        )
    return subjects


def check_bandwidth(aws: AccountAws, env: Env, subject: Bandwidth) -> dict[str, Any]:
    """Alerts once per threshold crossed this month (``kind: bandwidth``, ``period``: the month); with ``block``,
    at 100 % the tenant's websites' reads are denied (:data:`quota_guard.BANDWIDTH_SID`) until the month ends.
    Alerts of an earlier month are cleared, and their block lifted, at the first check of a new month."""
    opened = env.quotas.open_alerts(subject.name, "bandwidth")
    old = [a for a in opened if a.period != subject.period]
    current = {a.threshold: a for a in opened if a.period == subject.period}
    denied = allowed = 0
    if old and any(a.threshold >= HARD for a in old) and HARD not in current:
        for bucket in subject.sites or _blocked_sites(env, subject.tenant):
            with _gone_ok():
                allowed += quota_guard.allow(aws, bucket, quota_guard.BANDWIDTH_SID)
    if subject.action == "block" and subject.percent >= HARD:
        for bucket in subject.sites:
            with _gone_ok():
                denied += quota_guard.deny(aws, bucket, quota_guard.BANDWIDTH_SID)
    crossed = [t for t in subject.thresholds if subject.percent >= t and t not in current]
    if crossed or old:
        when = datetime.now(UTC)
        with env.db.write() as session:
            for alert in env.quotas.open_in(session, subject.name, "bandwidth"):
                if alert.period != subject.period:
                    alert.cleared_at = when
            for threshold in crossed:
                session.add(
                    QuotaAlert(
                        id="qa-" + secrets.token_hex(12),
                        subject=subject.name,
                        kind="bandwidth",
                        threshold=threshold,
                        period=subject.period,
                        used_bytes=subject.used,
                        limit_bytes=subject.limit,
                        crossed_at=when,
                    )
                )
                blocked = subject.action == "block" and threshold >= HARD
                data = {
                    "Subject": subject.name,
                    "Tenant": subject.tenant,
                    "Buckets": list(subject.sites),
                    "Kind": "bandwidth",
                    "Period": subject.period,
                    "Threshold": threshold,
                    "UsedBytes": subject.used,
                    "QuotaBytes": subject.limit,
                    "Percent": round(subject.percent, 1),
                    "ReadsDenied": blocked,
                }
                reason = f"traffic at {data['Percent']}% of the month's bandwidth (threshold {threshold}%)"
                _alert(session, env, data, reason, ("Kind", "Threshold", "UsedBytes", "QuotaBytes"))
    return {"Alerts": crossed, "Denied": denied, "Allowed": allowed}


def _blocked_sites(env: Env, tenant: str) -> list[str]:
    """The buckets the tenant had traffic on last month (a new month has no sample with traffic yet)."""
    today_ = datetime.now(UTC).date()
    start = (today_.replace(day=1) - timedelta(days=1)).replace(day=1).isoformat()
    rows = env.usage.tenant_series(tenant, start, today_.isoformat())
    return sorted({r.bucket for r in rows if r.traffic_source == "cloudfront"})


class _gone_ok:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        return kind is not None and issubclass(kind, NotFound)


def tenant_status(env: Env, tenant_id: str, quota_bytes: int | None) -> dict[str, Any]:
    """What a tenant answer shows of its quota: ``{QuotaBytes, UsedBytes, Percent, AsOf, Alerts, Projection,
    Metering}`` (database only)."""
    today_ = datetime.now(UTC).date()
    rows = env.usage.tenant_series(tenant_id, (today_ - timedelta(days=GROWTH_DAYS)).isoformat(), today_.isoformat())
    subject = Subject(
        name=f"tenant:{tenant_id}",
        account="",
        buckets=(),
        quota_bytes=quota_bytes or 0,
        tenant=tenant_id,
        series=usage.totals(rows, "day"),
    )
    return {
        "QuotaBytes": quota_bytes,
        "UsedBytes": subject.used,
        "Percent": round(subject.percent, 1) if quota_bytes else None,
        "AsOf": subject.as_of,
        "Alerts": alerts_shape(env, subject.name),
        "Projection": projection(subject) if quota_bytes else None,
        "Metering": usage.tenant_metering(env.usage, tenant_id),
    }


def projection(subject: Subject) -> dict[str, Any] | None:
    """``{GrowthBytesPerDay, ReachedOn}``: the last days' growth (first to last sample of the window) and the day
    the quota is reached at that pace; None without growth or with fewer than two days."""
    series = subject.complete
    if len(series) < 2:
        return None
    first, last = series[0], series[-1]
    days = (date.fromisoformat(last["Period"]) - date.fromisoformat(first["Period"])).days
    growth = (last["StorageBytes"] - first["StorageBytes"]) / days if days > 0 else 0
    if growth <= 0:
        return None
    if subject.used >= subject.quota_bytes:
        reached = date.fromisoformat(last["Period"])
    else:
        reached = date.fromisoformat(last["Period"]) + timedelta(
            days=math.ceil((subject.quota_bytes - subject.used) / growth)
        )
    return {"GrowthBytesPerDay": int(growth), "ReachedOn": reached.isoformat()}


def check(aws: AccountAws, env: Env, subject: Subject) -> dict[str, Any]:
    """One check of ``subject``: alerts sent, writes denied or allowed again. What it did:
    ``{Alerts: [thresholds newly crossed], Cleared: [...], Denied: n buckets, Allowed: n buckets}``."""
    percent = subject.percent
    opened = {a.threshold: a for a in env.quotas.open_alerts(subject.name)}
    denied = allowed = 0
    if percent >= HARD:
        for bucket in subject.buckets:  # AWS first: a failure here leaves the database saying "not yet"
            try:
                denied += quota_guard.deny_writes(aws, bucket)
            except NotFound:
                continue
    elif HARD in opened:
        for bucket in subject.buckets:
            try:
                allowed += quota_guard.allow_writes(aws, bucket)
            except NotFound:
                continue
    crossed = [t for t in subject.thresholds if percent >= t and t not in opened]
    cleared = [t for t in opened if percent < t]
    if crossed or cleared:
        _record(env, subject, crossed, cleared)
    return {"Alerts": crossed, "Cleared": sorted(cleared), "Denied": denied, "Allowed": allowed}


def _record(env: Env, subject: Subject, crossed: list[int], cleared: list[int]) -> None:
    when = datetime.now(UTC)
    projected = projection(subject)
    with env.db.write() as session:
        for alert in env.quotas.open_in(session, subject.name):
            if alert.threshold in cleared:
                alert.cleared_at = when
        for threshold in crossed:
            session.add(
                QuotaAlert(
                    id="qa-" + secrets.token_hex(12),
                    subject=subject.name,
                    kind="storage",
                    threshold=threshold,
                    period="",
                    used_bytes=subject.used,
                    limit_bytes=subject.quota_bytes,
                    projected_day=projected["ReachedOn"] if projected else None,
                    crossed_at=when,
                )
            )
            data = {
                "Subject": subject.name,
                "Tenant": subject.tenant,
                "Buckets": list(subject.buckets),
                "Kind": "storage",
                "Threshold": threshold,
                "UsedBytes": subject.used,
                "QuotaBytes": subject.quota_bytes,
                "Percent": round(subject.percent, 1),
                "WritesDenied": threshold >= HARD,
                "Projection": projected,
                "AsOf": subject.as_of,
            }
            reason = f"storage at {data['Percent']}% of the quota (threshold {threshold}%)"
            _alert(session, env, data, reason, ("Threshold", "UsedBytes", "QuotaBytes", "WritesDenied"))
    for threshold in crossed:
        log.info("quota alert", extra={"subject": subject.name, "threshold": threshold})


def _alert(session: Any, env: Env, data: dict[str, Any], reason: str, shown: tuple[str, ...]) -> None:
    """One crossing told: the ``quota.alert`` webhook and its audit event (caller ``system``), in ``session``."""
    webhooks.emit(session, env.settings, "quota.alert", data)
    session.add(
        new_event(
            caller_name="system",
            tenant=data["Tenant"],
            action="quota.alert",
            resource=data["Subject"],
            status=200,
            outcome="ok",
            reason=reason,
            input=json.dumps({k: data[k] for k in shown}),
        )
    )


def check_account(aws: AccountAws, env: Env, day: date | None = None) -> int:
    """Every subject of the account checked once; the alerts sent. One subject's failure does not stop the others."""
    day = day or datetime.now(UTC).date()
    sent = 0
    for source in SUBJECTS:
        for subject in source(aws, env, day):
            try:
                sent += len(check(aws, env, subject)["Alerts"])
            except Exception:
                log.exception("quota check failed", extra={"subject": subject.name})
    for bandwidth in bandwidth_subjects(aws, env, day):
        try:
            sent += len(check_bandwidth(aws, env, bandwidth)["Alerts"])
        except Exception:
            log.exception("bandwidth check failed", extra={"subject": bandwidth.name})
    return sent


def alerts_shape(env: Env, subject: str) -> list[dict[str, Any]]:
    """The subject's standing alerts (crossed, not cleared), lowest threshold first."""
    return [
        {
            "Kind": a.kind,
            "Threshold": a.threshold,
            "UsedBytes": a.used_bytes,
            "QuotaBytes": a.limit_bytes,
            "ProjectedReachedOn": a.projected_day,
            "CrossedAt": iso(a.crossed_at),
        }
        for kind in ("storage", "bandwidth")
        for a in env.quotas.open_alerts(subject, kind)
    ]


# --- a bucket's quota: the routes ----------------------------------------------------------------------------


def _bucket_subject(aws: AccountAws, env: Env, bucket: str) -> Subject:
    for subject in bucket_subjects(aws, env, datetime.now(UTC).date()):
        if subject.buckets == (bucket,):
            return subject
    raise NotFound(f"bucket '{bucket}' has no quota")


def bucket_quota_bytes(env: Env, account: str, bucket: str) -> int | None:
    """The bucket's own quota in bytes, or None (one database read, no AWS call: a list row's quota bar)."""
    row = env.quotas.bucket(account, bucket)
    return row.quota_bytes if row is not None else None


def bucket_status(aws: AccountAws, env: Env, bucket: str) -> dict[str, Any]:
    """``GET .../quota``: the limit, the usage it is measured against, the standing alerts, the projection and
    whether writes are denied now (one GetBucketPolicy). 404 without a quota."""
    objects.managed_bucket(aws, bucket)
    subject = _bucket_subject(aws, env, bucket)
    return {
        "Bucket": bucket,
        "QuotaBytes": subject.quota_bytes,
        "AlertThresholds": list(subject.thresholds),
        "UsedBytes": subject.used,
        "Percent": round(subject.percent, 1),
        "AsOf": subject.as_of,
        "WritesDenied": quota_guard.is_denied(aws, bucket),
        "Alerts": alerts_shape(env, subject.name),
        "Projection": projection(subject),
    }


def set_bucket_quota(
    aws: AccountAws, env: Env, bucket: str, quota_bytes: int, thresholds: list[int] | None, by: str | None
) -> dict[str, Any]:
    """``PUT .../quota``: set (or change) the bucket's quota and check it at once against its last sample, so a
    raised quota lifts a block now, not at the next sampling."""
    objects.managed_bucket(aws, bucket)
    if thresholds is not None and any(not 1 <= t <= HARD for t in thresholds):
        raise BadRequest("AlertThresholds: percents from 1 to 100")
    env.quotas.set_bucket(aws.account.name, bucket, quota_bytes, list(thresholds_of(thresholds)), by)
    check(aws, env, _bucket_subject(aws, env, bucket))
    return bucket_status(aws, env, bucket)


def delete_bucket_quota(aws: AccountAws, env: Env, bucket: str) -> None:
    """``DELETE .../quota``: writes allowed again (AWS first), then the quota and its alerts go."""
    objects.managed_bucket(aws, bucket)
    if env.quotas.bucket(aws.account.name, bucket) is None:
        raise NotFound(f"bucket '{bucket}' has no quota")
    quota_guard.allow_writes(aws, bucket)
    env.quotas.delete_bucket(aws.account.name, bucket)


@periodic.task("usage_sample")
def usage_sample(aws: AccountAws) -> int:
    """The account's daily usage samples (bounded per run, resumed the next run; buckets under a quota listed
    again once their sample is older than ``usage_refresh_seconds``), then every quota checked against them."""
    env = env_for(aws.settings)
    day = datetime.now(UTC).date()
    watched = frozenset(b for source in SUBJECTS for subject in source(aws, env, day) for b in subject.buckets)
    done = usage.sample(aws, env.usage, refresh=watched, refresh_seconds=aws.settings.usage_refresh_seconds)
    check_account(aws, env, day)
    return done
