"""Usage over time: the history query and its answer (one sample per bucket and day)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

SOURCES = ["listing", "cloudwatch", "request-metrics", "cloudfront"]


class HistoryQuery(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    start = fields.Date(data_key="from", load_default=None, metadata={"description": "first day (YYYY-MM-DD)"})
    end = fields.Date(data_key="to", load_default=None, metadata={"description": "last day, default today (UTC)"})


class StorageClassUsageSchema(ma.Schema):
    Objects = fields.Integer(required=True)
    Bytes = fields.Integer(required=True)


class UsageSampleSchema(ma.Schema):
    Day = fields.String(required=True, metadata={"description": "YYYY-MM-DD (UTC)"})
    StorageBytes = fields.Integer(required=True)
    Objects = fields.Integer(required=True)
    ByStorageClass = fields.Dict(keys=fields.String(), values=fields.Nested(StorageClassUsageSchema), required=True)
    BytesDownloaded = fields.Integer(allow_none=True, required=True)
    BytesUploaded = fields.Integer(allow_none=True, required=True)
    Requests = fields.Integer(allow_none=True, required=True)
    Source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    TrafficSource = fields.String(allow_none=True, required=True)
    AsOf = fields.String(required=True, metadata={"description": "when the figure was measured (…Z)"})
    Complete = fields.Boolean(required=True, metadata={"description": "false while the day's listing goes on"})


class UsageHistorySchema(ma.Schema):
    Bucket = fields.String(required=True)
    From = fields.String(required=True)
    To = fields.String(required=True)
    Samples = fields.List(fields.Nested(UsageSampleSchema), required=True)


class QuotaInputSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    QuotaBytes = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**62))
    AlertThresholds = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=100)),
        load_default=None,
        validate=validate.Length(min=1, max=10),
        metadata={"description": "percents of the quota that alert (default 75, 90, 100; 100 is always one)"},
    )


class QuotaAlertSchema(ma.Schema):
    Kind = fields.String(required=True)
    Threshold = fields.Integer(required=True)
    UsedBytes = fields.Integer(required=True)
    QuotaBytes = fields.Integer(required=True)
    ProjectedReachedOn = fields.String(allow_none=True, required=True)
    CrossedAt = fields.String(required=True)


class ProjectionSchema(ma.Schema):
    GrowthBytesPerDay = fields.Integer(required=True)
    ReachedOn = fields.String(required=True)


class QuotaStatusSchema(ma.Schema):
    Bucket = fields.String(required=True)
    QuotaBytes = fields.Integer(required=True)
    AlertThresholds = fields.List(fields.Integer(), required=True)
    UsedBytes = fields.Integer(required=True, metadata={"description": "the newest daily sample's storage"})
    Percent = fields.Float(required=True)
    AsOf = fields.String(allow_none=True, required=True)
    WritesDenied = fields.Boolean(required=True)
    Alerts = fields.List(fields.Nested(QuotaAlertSchema), required=True)
    Projection = fields.Nested(ProjectionSchema, allow_none=True, required=True)


class MeteringSchema(ma.Schema):
    """This calendar month (UTC), from the daily samples."""

    TrafficBytesThisPeriod = fields.Integer(required=True)
    StoragePeakBytesThisPeriod = fields.Integer(required=True)
    AsOf = fields.String(allow_none=True, required=True)


class TenantUsageStatusSchema(ma.Schema):
    """A tenant's storage against its plan's quota (the newest finished day of its buckets' samples)."""

    QuotaBytes = fields.Integer(allow_none=True, required=True)
    UsedBytes = fields.Integer(required=True)
    Percent = fields.Float(allow_none=True, required=True)
    AsOf = fields.String(allow_none=True, required=True)
    Alerts = fields.List(fields.Nested(QuotaAlertSchema), required=True)
    Projection = fields.Nested(ProjectionSchema, allow_none=True, required=True)


class TenantHistoryQuery(HistoryQuery):
    granularity = fields.String(load_default="day", validate=validate.OneOf(["day", "month"]))


class UsagePeriodSchema(ma.Schema):
    Period = fields.String(required=True, metadata={"description": "YYYY-MM-DD (day) or YYYY-MM (month)"})
    StorageBytes = fields.Integer(required=True, metadata={"description": "the peak of the daily totals"})
    Objects = fields.Integer(required=True)
    BytesDownloaded = fields.Integer(allow_none=True, required=True)
    BytesUploaded = fields.Integer(allow_none=True, required=True)
    Requests = fields.Integer(allow_none=True, required=True)
    Days = fields.Integer(required=True)
    Complete = fields.Boolean(required=True)
    AsOf = fields.String(required=True)


class TenantHistorySchema(ma.Schema):
    Tenant = fields.String(required=True)
    From = fields.String(required=True)
    To = fields.String(required=True)
    Granularity = fields.String(required=True)
    Series = fields.List(fields.Nested(UsagePeriodSchema), required=True)
