"""CloudWatch gateway: S3's daily storage metrics for one bucket.

S3 publishes ``BucketSizeBytes`` (one series per storage type) and ``NumberOfObjects`` (``AllStorageTypes``)
once a day, in the bucket's region, free of charge. The newest datapoint can be up to ~48 hours old; a bucket
younger than a day (and, on AWS, an empty one) has none.

moto: ``NumberOfObjects`` is computed live from its S3 state, but ``BucketSizeBytes`` is ``sys.getsizeof``
of moto's key objects (~64 B per object), and GetMetricData never sees either. Callers must
not use this module against an emulator or an S3-compatible backend (an account with ``endpoint_url``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from s3api.aws.clients import AccountAws
from s3api.aws.translate import gateway

NAMESPACE = "AWS/S3"
DAY = 86400
WINDOW = timedelta(days=2)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _latest(cw: Any, metric: str, bucket: str, storage_type: str, now: datetime) -> tuple[float, datetime] | None:
    """The newest daily Average of one S3 storage metric series within the window, or None."""
    resp = cw.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName=metric,
        Dimensions=[{"Name": "BucketName", "Value": bucket}, {"Name": "StorageType", "Value": storage_type}],
        StartTime=now - WINDOW,
        EndTime=now,
        Period=DAY,
        Statistics=["Average"],
    )
    points = [p for p in resp.get("Datapoints", []) if "Average" in p and "Timestamp" in p]
    if not points:
        return None
    newest = max(points, key=lambda p: p["Timestamp"])
    return float(newest["Average"]), _utc(newest["Timestamp"])


def _storage_types(cw: Any, bucket: str) -> list[str]:
    """Storage types with a ``BucketSizeBytes`` series for the bucket (ListMetrics, paginated)."""
    types: set[str] = set()
    pages = cw.get_paginator("list_metrics").paginate(
        Namespace=NAMESPACE,
        MetricName="BucketSizeBytes",
        Dimensions=[{"Name": "BucketName", "Value": bucket}],
    )
    for page in pages:
        for metric in page.get("Metrics", []):
            for dim in metric.get("Dimensions", []):
                if dim.get("Name") == "StorageType" and dim.get("Value"):
                    types.add(dim["Value"])
    return sorted(types)


@gateway("cloudwatch", "ListMetrics", "GetMetricStatistics")
def bucket_storage(aws: AccountAws, bucket: str, region: str) -> dict[str, Any] | None:
    """``{"Bytes", "Objects", "AsOf"}`` from the newest daily datapoints, or None when there are none.

    Bytes sums ``BucketSizeBytes`` over every storage type that has a series (ListMetrics; StandardStorage
    alone would miss Intelligent-Tiering, IA and Glacier bytes); Objects is ``NumberOfObjects`` for
    AllStorageTypes. AsOf is the oldest of the datapoints used, so the figure is never newer than it claims.
    Calls: ListMetrics (1 page per 500 series) + one GetMetricStatistics per storage type + one for the count.
    """
    cw = aws.client("cloudwatch", region)
    now = datetime.now(UTC)
    objects = _latest(cw, "NumberOfObjects", bucket, "AllStorageTypes", now)
    if objects is None:
        return None
    stamps = [objects[1]]
    total = 0.0
    for storage_type in _storage_types(cw, bucket) or ["StandardStorage"]:
        point = _latest(cw, "BucketSizeBytes", bucket, storage_type, now)
        if point is not None:
            total += point[0]
            stamps.append(point[1])
    if len(stamps) == 1:
        return None
    return {"Bytes": int(total), "Objects": int(objects[0]), "AsOf": min(stamps)}


#: S3's StorageType dimension -> the storage class our samples name (types not listed keep their own name)
STORAGE_TYPE_CLASSES = {
    "StandardStorage": "STANDARD",
    "StandardIAStorage": "STANDARD_IA",
    "OneZoneIAStorage": "ONEZONE_IA",
    "ReducedRedundancyStorage": "REDUCED_REDUNDANCY",
    "IntelligentTieringFAStorage": "INTELLIGENT_TIERING",
    "IntelligentTieringIAStorage": "INTELLIGENT_TIERING",
    "IntelligentTieringAAStorage": "INTELLIGENT_TIERING",
    "IntelligentTieringAIAStorage": "INTELLIGENT_TIERING",
    "IntelligentTieringDAAStorage": "INTELLIGENT_TIERING",
    "GlacierInstantRetrievalStorage": "GLACIER_IR",
    "GlacierStorage": "GLACIER",
    "DeepArchiveStorage": "DEEP_ARCHIVE",
}
#: GetMetricData takes at most 500 queries per call
QUERIES_PER_CALL = 500


@gateway("cloudwatch", "ListMetrics", "GetMetricData")
def storage_of_buckets(aws: AccountAws, region: str, buckets: list[str], now: datetime | None = None) -> dict[str, Any]:
    """S3's daily storage metrics of many buckets of one region at a flat cost: ``{bucket: {"Bytes", "Objects",
    "ByStorageClass": {class: bytes}, "AsOf"}}`` for the buckets that have datapoints in the last two days (a
    bucket younger than a day has none: the caller lists it instead).

    Calls: ListMetrics over the namespace's ``BucketSizeBytes`` series (1 page per 500 series, whatever the
    number of buckets asked for) + GetMetricData with up to 500 queries each (one per storage type of each bucket,
    one ``NumberOfObjects`` per bucket): about ``(types + 1) * buckets / 500`` calls, flat per bucket."""
    cw = aws.client("cloudwatch", region)
    now = now or datetime.now(UTC)
    wanted = set(buckets)
    series: list[tuple[str, str]] = []
    for page in cw.get_paginator("list_metrics").paginate(Namespace=NAMESPACE, MetricName="BucketSizeBytes"):
        for metric in page.get("Metrics", []):
            dims = {d.get("Name"): d.get("Value") for d in metric.get("Dimensions", [])}
            if dims.get("BucketName") in wanted and dims.get("StorageType"):
                series.append((str(dims["BucketName"]), str(dims["StorageType"])))
    queries: list[tuple[str, str, str, dict[str, Any]]] = []  # (id, bucket, storage type or "", query)
    for bucket, storage_type in sorted(set(series)):
        queries.append((f"s{len(queries)}", bucket, storage_type, _query("BucketSizeBytes", bucket, storage_type)))
    for bucket in sorted(wanted):
        queries.append((f"n{len(queries)}", bucket, "", _query("NumberOfObjects", bucket, "AllStorageTypes")))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(queries), QUERIES_PER_CALL):
        chunk = queries[start : start + QUERIES_PER_CALL]
        by_id = {qid: (bucket, storage_type) for qid, bucket, storage_type, _ in chunk}
        values = _metric_data(cw, [{"Id": qid, **q} for qid, _, _, q in chunk], now)
        for qid, (value, stamp) in values.items():
            bucket, storage_type = by_id[qid]
            entry = found.setdefault(bucket, {"Bytes": 0, "Objects": None, "ByStorageClass": {}, "AsOf": stamp})
            entry["AsOf"] = min(entry["AsOf"], stamp)
            if storage_type:
                name = STORAGE_TYPE_CLASSES.get(storage_type, storage_type)
                entry["ByStorageClass"][name] = entry["ByStorageClass"].get(name, 0) + int(value)
                entry["Bytes"] += int(value)
            else:
                entry["Objects"] = int(value)
    return {b: e for b, e in found.items() if e["Objects"] is not None}


def _query(metric: str, bucket: str, storage_type: str) -> dict[str, Any]:
    return {
        "MetricStat": {
            "Metric": {
                "Namespace": NAMESPACE,
                "MetricName": metric,
                "Dimensions": [
                    {"Name": "BucketName", "Value": bucket},
                    {"Name": "StorageType", "Value": storage_type},
                ],
            },
            "Period": DAY,
            "Stat": "Average",
        },
        "ReturnData": True,
    }


def _metric_data(cw: Any, queries: list[dict[str, Any]], now: datetime) -> dict[str, tuple[float, datetime]]:
    """The newest value of each query within the window (GetMetricData, following NextToken)."""
    newest: dict[str, tuple[float, datetime]] = {}
    kwargs: dict[str, Any] = {
        "MetricDataQueries": queries,
        "StartTime": now - WINDOW,
        "EndTime": now,
        "ScanBy": "TimestampDescending",
    }
    while True:
        resp = cw.get_metric_data(**kwargs)
        for result in resp.get("MetricDataResults", []):
            stamps, values = result.get("Timestamps", []), result.get("Values", [])
            for stamp, value in zip(stamps, values, strict=False):
                stamp = _utc(stamp)
                if result["Id"] not in newest or stamp > newest[result["Id"]][1]:
                    newest[result["Id"]] = (float(value), stamp)
        token = resp.get("NextToken")
        if not token:
            return newest
        kwargs["NextToken"] = token


#: CloudFront's traffic metrics (``AWS/CloudFront``, dimensions DistributionId and Region=Global, in us-east-1)
TRAFFIC_METRICS = {"BytesDownloaded": "BytesDownloaded", "BytesUploaded": "BytesUploaded", "Requests": "Requests"}


@gateway("cloudwatch", "GetMetricData")
def distribution_traffic(aws: AccountAws, distributions: list[str], start: datetime, end: datetime) -> dict[str, Any]:
    """CloudFront's ``BytesDownloaded``, ``BytesUploaded`` and ``Requests`` summed from ``start`` to ``end`` per
    distribution: ``{dist_id: {"BytesDownloaded", "BytesUploaded", "Requests"}}`` (a distribution without
    datapoints had no traffic: missing). CloudFront publishes these in us-east-1 only. Calls: one GetMetricData per
    166 distributions (3 queries each, 500 per call)."""
    cw = aws.client("cloudwatch", "us-east-1")
    return _daily_sums(
        cw,
        distributions,
        TRAFFIC_METRICS,
        "AWS/CloudFront",
        lambda dist: [{"Name": "DistributionId", "Value": dist}, {"Name": "Region", "Value": "Global"}],
        start,
        end,
    )


def _daily_sums(
    cw: Any,
    subjects: list[str],
    metrics: dict[str, str],
    namespace: str,
    dimensions: Any,
    start: datetime,
    end: datetime,
) -> dict[str, dict[str, int]]:
    """Each subject's ``metrics`` (our field → metric name) summed from ``start`` to ``end``: GetMetricData with
    daily Sums, 500 queries a call, following NextToken. ``{subject: {field: total}}``; no datapoints: missing."""
    queries = [
        (f"q{i}", subject, field) for i, (subject, field) in enumerate((s, f) for s in subjects for f in metrics)
    ]
    found: dict[str, dict[str, int]] = {}
    for first in range(0, len(queries), QUERIES_PER_CALL):
        chunk = queries[first : first + QUERIES_PER_CALL]
        by_id = {qid: (subject, field) for qid, subject, field in chunk}
        kwargs: dict[str, Any] = {
            "MetricDataQueries": [
                {
                    "Id": qid,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": namespace,
                            "MetricName": metrics[field],
                            "Dimensions": dimensions(subject),
                        },
                        "Period": DAY,
                        "Stat": "Sum",
                    },
                    "ReturnData": True,
                }
                for qid, subject, field in chunk
            ],
            "StartTime": start,
            "EndTime": end,
        }
        while True:
            resp = cw.get_metric_data(**kwargs)
            for result in resp.get("MetricDataResults", []):
                subject, field = by_id[result["Id"]]
                entry = found.setdefault(subject, {})
                entry[field] = entry.get(field, 0) + int(sum(result.get("Values", [])))
            token = resp.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    return found


#: S3 request metrics (``AWS/S3`` with a FilterId) of a bucket's traffic: our field -> the metric
REQUEST_METRICS = {"BytesDownloaded": "BytesDownloaded", "BytesUploaded": "BytesUploaded", "Requests": "AllRequests"}


@gateway("cloudwatch", "GetMetricData")
def bucket_request_traffic(
    aws: AccountAws, region: str, buckets: list[str], filter_id: str, start: datetime, end: datetime
) -> dict[str, Any]:
    """S3 request metrics of ``buckets`` (configuration ``filter_id``) summed from ``start`` to ``end``:
    ``{bucket: {"BytesDownloaded", "BytesUploaded", "Requests"}}`` (a bucket without datapoints: missing). Calls:
    one GetMetricData per 166 buckets (3 queries each)."""
    cw = aws.client("cloudwatch", region)
    return _daily_sums(
        cw,
        buckets,
        REQUEST_METRICS,
        NAMESPACE,
        lambda bucket: [{"Name": "BucketName", "Value": bucket}, {"Name": "FilterId", "Value": filter_id}],
        start,
        end,
    )
