"""Usage history: one sample per managed bucket per day, made by the periodic task ``usage_sample``.

A run goes over the account's managed buckets (ListBuckets + ListGroups, as ``ManagedBuckets`` of the account
stats) and, for each one without a finished sample of the day (UTC), reads its owner once (GetBucketTagging: the
``s3api:tenant`` tag, kept on the sample so a tenant's history survives its buckets) and lists it
(``Source: listing``: ListObjectsV2, 1,000 keys a page, current objects by storage class). A run lists at most
:data:`PAGES_PER_RUN` pages over all buckets; a listing cut short is saved with its continuation token and the
next run goes on from there, so a bucket of any size is finished in ``ceil(objects / 1000 / PAGES_PER_RUN)``
runs while small buckets are not held up (pending buckets are taken least-listed first).

AWS calls per bucket and day: 1 GetBucketTagging + ceil(objects / 1,000) ListObjectsV2, plus 2 paginated list
calls per account and run. The figure is flat in the number of buckets (``bench`` section ``usage``).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from s3api.aws import cloudwatch, s3
from s3api.aws.clients import AccountAws
from s3api.db.models import UsageSample
from s3api.db.usage import Partial, UsageStore, iso, shape
from s3api.errors import ApiError, BadRequest, NotFound
from s3api.provisioning import objects
from s3api.provisioning.tenants import ownership

log = logging.getLogger("s3api.usage")

#: ListObjectsV2 pages one run reads over all buckets of an account (1,000 keys each)
PAGES_PER_RUN = 200
#: an unfinished listing is saved every this many pages (a crash loses at most that much work)
SAVE_EVERY = 20
#: samples of this many buckets are saved in one transaction
SAVE_BATCH = 50


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def sample(
    aws: AccountAws,
    store: UsageStore,
    *,
    day: str | None = None,
    budget: int = PAGES_PER_RUN,
    refresh: frozenset[str] = frozenset(),
    refresh_seconds: int = 86400,
) -> int:
    """One run over the account: samples finished by this run.

    1. Every managed bucket without a sample of the day gets one opened: its owner and website distribution from
       one GetBucketTagging, yesterday's CloudFront traffic for the websites (AWS itself only: :func:`_traffic`),
       and on a ``cloudwatch`` account its storage from S3's metrics (done at once where there are datapoints).
    2. Unfinished samples are listed, least listed first, within ``budget`` pages.

    The day's finished samples are skipped, except those of ``refresh`` (buckets under a quota) older than
    ``refresh_seconds``: these are listed again in memory, and the new figure replaces the old one only once that
    listing is complete within the run's budget."""
    day = day or today()
    account = aws.account.name
    names = objects.managed_names(aws)
    rows = store.day_of(account, names, day)
    stale = datetime.now(UTC) - timedelta(seconds=refresh_seconds)
    fresh: dict[str, Partial] = {}
    for name in sorted(refresh & set(names)):
        row = rows.get(name)
        if row is not None and row.complete and row.as_of < stale:
            fresh[name] = Partial(day=day, tenant=row.tenant, as_of=_now(), traffic=_traffic_of(row))
    opened = _open(aws, store, day, [name for name in names if name not in rows])
    rows.update(opened)
    finished = sum(1 for row in opened.values() if row.complete)
    pending = [name for name in names if name in fresh or (name in rows and not rows[name].complete)]
    pending.sort(key=lambda name: 0 if name in fresh else rows[name].pages)
    batch: list[tuple[str, Partial]] = []
    for bucket in pending:
        if budget <= 0:
            break
        partial = fresh[bucket] if bucket in fresh else store.partial(rows[bucket])
        used = _list(aws, None if bucket in fresh else store, bucket, partial, budget)
        if used < 0:  # the bucket went away
            continue
        budget -= used
        if bucket in fresh and not partial.complete:
            continue  # the refresh did not fit in this run: the older figure stands
        batch.append((bucket, partial))
        finished += partial.complete
        if len(batch) >= SAVE_BATCH:
            store.save_many(account, batch)
            batch = []
    store.save_many(account, batch)
    return finished


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _traffic_of(row: UsageSample) -> dict[str, Any] | None:
    if row.traffic_source is None:
        return None
    return {"BytesDownloaded": row.bytes_downloaded, "BytesUploaded": row.bytes_uploaded, "Requests": row.requests,
            "Source": row.traffic_source}  # fmt: skip


def _open(aws: AccountAws, store: UsageStore, day: str, buckets: list[str]) -> dict[str, UsageSample]:
    """Open the day of ``buckets`` (no sample yet): one GetBucketTagging each (owner, distribution), the websites'
    traffic in batches, the storage from CloudWatch on accounts that choose it; saved in batches, returned."""
    owners: dict[str, str | None] = {}
    sites: dict[str, str] = {}
    for bucket in buckets:
        try:
            tags = s3.get_tags(aws, bucket)
        except NotFound:  # deleted since the listing
            continue
        owners[bucket] = ownership.owner_of(tags)
        dist = next((t.get("Value") for t in tags if t["Key"] == s3.DISTRIBUTION_TAG), None)
        if dist:
            sites[bucket] = dist
    traffic = _traffic(aws, sites, day)
    traffic.update(_request_traffic(aws, store, [b for b, t in owners.items() if t and b not in sites], owners, day))
    storage = _storage(aws, list(owners), day) if _cloudwatch_storage(aws) else {}
    made: dict[str, UsageSample] = {}
    for bucket, tenant in owners.items():
        partial = Partial(day=day, tenant=tenant, as_of=_now(), traffic=traffic.get(bucket))
        row = store.opened(aws.account.name, bucket, partial, storage.get(bucket))
        made[bucket] = row
    store.put_many(list(made.values()))
    return made


def switch_on_request_metrics(aws: AccountAws, bucket: str) -> bool:
    """S3 request metrics for a new bucket of a plan that has ``RequestMetrics`` (AWS itself only: an emulator has
    none). Best effort: a failure is logged and the bucket's traffic stays unknown (null); True when switched on."""
    if aws.account.endpoint_url:
        return False
    try:
        s3.put_request_metrics(aws, bucket)
    except ApiError as exc:
        log.warning("request metrics not switched on", extra={"bucket": bucket, "error": type(exc).__name__})
        return False
    return True


def _request_traffic(
    aws: AccountAws, store: UsageStore, buckets: list[str], owners: dict[str, str | None], day: str
) -> dict[str, dict[str, Any]]:
    """Yesterday's S3 request metrics of the plain buckets whose owner's plan has ``RequestMetrics`` (AWS itself
    only; one database query for the plans, GetMetricData batches in the account's region)."""
    if not buckets or aws.account.endpoint_url:
        return {}
    metered = store.request_metered({t for b in buckets if (t := owners.get(b))})
    wanted = [b for b in buckets if owners.get(b) in metered]
    if not wanted:
        return {}
    end = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC)
    found = cloudwatch.bucket_request_traffic(
        aws, aws.account.region, wanted, s3.METRICS_ID, end - timedelta(days=1), end
    )
    zero = {"BytesDownloaded": 0, "BytesUploaded": 0, "Requests": 0}
    return {b: {**zero, **found.get(b, {}), "Source": "request-metrics"} for b in wanted}


def _cloudwatch_storage(aws: AccountAws) -> bool:
    return aws.account.usage_source == "cloudwatch" and not aws.account.endpoint_url


def _traffic(aws: AccountAws, sites: dict[str, str], day: str) -> dict[str, dict[str, Any]]:
    """Yesterday's (UTC) CloudFront traffic of the website buckets ``sites`` (bucket → distribution id), from
    ``AWS/CloudFront`` in us-east-1 (:func:`cloudwatch.distribution_traffic`, batched). Only against AWS itself:
    an emulator or an S3-compatible backend has no such metrics, and the traffic stays unknown (null)."""
    if not sites or aws.account.endpoint_url:
        return {}
    end = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC)
    found = cloudwatch.distribution_traffic(aws, sorted(set(sites.values())), end - timedelta(days=1), end)
    zero = {"BytesDownloaded": 0, "BytesUploaded": 0, "Requests": 0}
    return {bucket: {**zero, **found.get(dist, {}), "Source": "cloudfront"} for bucket, dist in sites.items()}


def _storage(aws: AccountAws, buckets: list[str], day: str) -> dict[str, dict[str, Any]]:
    """``Source: cloudwatch`` for ``buckets``: each one's region (HeadBucket), then S3's daily storage metrics per
    region in batches (:func:`cloudwatch.storage_of_buckets`). Buckets without datapoints (younger than a day) are
    missing: the listing samples them."""
    regions: dict[str, list[str]] = {}
    for bucket in buckets:
        try:
            regions.setdefault(s3.region_of(aws, s3.require_bucket(aws, bucket)), []).append(bucket)
        except NotFound:
            continue
    found: dict[str, dict[str, Any]] = {}
    for region, names in sorted(regions.items()):
        found.update(cloudwatch.storage_of_buckets(aws, region, names))
    return found


def _list(aws: AccountAws, store: UsageStore | None, bucket: str, partial: Partial, budget: int) -> int:
    """List pages of ``bucket`` into ``partial`` until it is complete or ``budget`` pages are read; the pages read
    (-1: the bucket no longer exists). Saved every :data:`SAVE_EVERY` pages when a ``store`` is given."""
    used = 0
    while used < budget and not partial.complete:
        try:
            page = s3.usage_page(aws, bucket, partial.resume_token)
        except NotFound:
            return -1
        except BadRequest:  # a continuation token S3 no longer takes: list the day again from the start
            if partial.resume_token is None:
                raise
            log.warning("usage listing restarted", extra={"bucket": bucket})
            partial.storage_bytes = partial.objects = partial.pages = 0
            partial.by_class, partial.resume_token = {}, None
            continue
        partial.add_page(page)
        used += 1
        if store is not None and not partial.complete and partial.pages % SAVE_EVERY == 0:
            store.save(aws.account.name, bucket, partial)
    return used


#: the longest range one history answer covers
MAX_DAYS = 400


def history(aws: AccountAws, store: UsageStore, bucket: str, start: date | None, end: date | None) -> dict[str, Any]:
    """The bucket's daily samples from ``start`` to ``end`` (days, inclusive; default the last 30 days), oldest
    first: ``{Bucket, From, To, Samples}``. A managed bucket only (:func:`objects.managed_bucket`); no other AWS
    call. A day without a sample is missing from the list (the sampler had not run, or the bucket did not exist)."""
    objects.managed_bucket(aws, bucket)
    end = end or datetime.now(UTC).date()
    start = start or end - timedelta(days=29)
    if start > end:
        raise BadRequest("'from' is after 'to'")
    if (end - start).days >= MAX_DAYS:
        raise BadRequest(f"at most {MAX_DAYS} days in one answer")
    rows = store.series(aws.account.name, bucket, start.isoformat(), end.isoformat())
    return {"Bucket": bucket, "From": start.isoformat(), "To": end.isoformat(), "Samples": [shape(r) for r in rows]}


GRANULARITIES = ("day", "month")


def _period(day: str, granularity: str) -> str:
    return day if granularity == "day" else day[:7]


def totals(rows: list[UsageSample], granularity: str = "day") -> list[dict[str, Any]]:
    """Samples of several buckets summed per day, then per ``granularity``: storage and objects as the peak of
    the daily totals of the period, traffic and requests summed (None when no sample had a traffic source),
    ``Days`` sampled and ``Complete`` when every sample of the period was."""
    if granularity not in GRANULARITIES:
        raise BadRequest(f"granularity must be one of {', '.join(GRANULARITIES)}")
    days: dict[str, dict[str, Any]] = {}
    for row in rows:
        d = days.setdefault(
            row.day,
            {
                "StorageBytes": 0,
                "Objects": 0,
                "BytesDownloaded": None,
                "BytesUploaded": None,
                "Requests": None,
                "Complete": True,
                "AsOf": row.as_of,
            },
        )
        d["StorageBytes"] += row.storage_bytes
        d["Objects"] += row.objects
        for name, value in (
            ("BytesDownloaded", row.bytes_downloaded),
            ("BytesUploaded", row.bytes_uploaded),
            ("Requests", row.requests),
        ):
            if value is not None:
                d[name] = (d[name] or 0) + value
        d["Complete"] = d["Complete"] and row.complete
        d["AsOf"] = max(d["AsOf"], row.as_of)
    periods: dict[str, dict[str, Any]] = {}
    for day in sorted(days):
        d = days[day]
        p = periods.setdefault(
            _period(day, granularity),
            {
                "Period": _period(day, granularity),
                "StorageBytes": 0,
                "Objects": 0,
                "BytesDownloaded": None,
                "BytesUploaded": None,
                "Requests": None,
                "Days": 0,
                "Complete": True,
                "AsOf": d["AsOf"],
            },
        )
        p["StorageBytes"] = max(p["StorageBytes"], d["StorageBytes"])
        p["Objects"] = max(p["Objects"], d["Objects"])
        for name in ("BytesDownloaded", "BytesUploaded", "Requests"):
            if d[name] is not None:
                p[name] = (p[name] or 0) + d[name]
        p["Days"] += 1
        p["Complete"] = p["Complete"] and d["Complete"]
        p["AsOf"] = max(p["AsOf"], d["AsOf"])
    return [{**p, "AsOf": iso(p["AsOf"])} for p in periods.values()]


def metering(rows: list[UsageSample], today_: date | None = None) -> dict[str, Any]:
    """``{TrafficBytesThisPeriod, StoragePeakBytesThisPeriod, AsOf}`` for the calendar month (UTC) of ``today_``
    from the samples ``rows`` (of one bucket or of a tenant's buckets); zeros and ``AsOf: null`` before the
    first sample of the month."""
    month = (today_ or datetime.now(UTC).date()).isoformat()[:7]
    found = totals([r for r in rows if r.day.startswith(month)], "month")
    if not found:
        return {"TrafficBytesThisPeriod": 0, "StoragePeakBytesThisPeriod": 0, "AsOf": None}
    return {
        "TrafficBytesThisPeriod": found[0]["BytesDownloaded"] or 0,
        "StoragePeakBytesThisPeriod": found[0]["StorageBytes"],
        "AsOf": found[0]["AsOf"],
    }


def month_start(today_: date | None = None) -> str:
    return (today_ or datetime.now(UTC).date()).replace(day=1).isoformat()


def tenant_history(
    store: UsageStore, tenant_id: str, start: date | None, end: date | None, granularity: str
) -> dict[str, Any]:
    """A tenant's usage over time: its buckets' samples (by owner when sampled) summed per day or month:
    ``{Tenant, From, To, Granularity, Series}``. Database only, no AWS call."""
    end = end or datetime.now(UTC).date()
    start = start or end - timedelta(days=29)
    if start > end:
        raise BadRequest("'from' is after 'to'")
    if (end - start).days >= MAX_DAYS:
        raise BadRequest(f"at most {MAX_DAYS} days in one answer")
    rows = store.tenant_series(tenant_id, start.isoformat(), end.isoformat())
    return {
        "Tenant": tenant_id,
        "From": start.isoformat(),
        "To": end.isoformat(),
        "Granularity": granularity,
        "Series": totals(rows, granularity),
    }


def tenant_metering(store: UsageStore, tenant_id: str) -> dict[str, Any]:
    """The tenant's ``Metering`` for this month (one query)."""
    today_ = datetime.now(UTC).date()
    return metering(store.tenant_series(tenant_id, month_start(today_), today_.isoformat()), today_)


def current(aws: AccountAws, store: UsageStore, bucket: str) -> dict[str, Any]:
    """``GET .../usage``: the bucket now (:func:`objects.usage`: a bounded listing, or CloudWatch) and this month's
    ``Metering`` from its samples (one query)."""
    found = objects.usage(aws, bucket)
    return {**found, "Metering": bucket_metering(store, aws.account.name, bucket)}


def bucket_metering(store: UsageStore, account: str, bucket: str) -> dict[str, Any]:
    """The bucket's ``Metering`` for this month (one query)."""
    today_ = datetime.now(UTC).date()
    return metering(store.series(account, bucket, month_start(today_), today_.isoformat()), today_)
