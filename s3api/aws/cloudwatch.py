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
