"""Plans: request and response schemas (PascalCase; money as decimal strings; times ISO 8601 UTC with ``Z``).

The shapes are checked here (types, patterns, ranges); the rules that need the configuration (locations of
configured accounts) or the whole plan (prices per location) are :func:`s3api.control.plans.problems`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from s3api.names import BANDWIDTH_ACTIONS
from s3api.schemas.fields import FullMatch, StrictBoolean
from s3api.schemas.keys import MAX_PAGE_SIZE, UtcTime

#: the names of :data:`s3api.db.plans.STORAGE_CLASSES` (schemas may not import the database layer; a unit test
#: proves the two agree)
STORAGE_TYPES = (
    "Standard",
    "StandardIA",
    "OneZoneIA",
    "IntelligentTiering",
    "GlacierInstantRetrieval",
    "Glacier",
    "DeepArchive",
)
PLAN_NAME = "[a-z0-9][a-z0-9._-]{0,63}"  # s3api.db.plans.PLAN_NAME
LOCATION = "[a-z0-9][a-z0-9_-]{0,62}"  # s3api.config.LOCATION
CURRENCY = "[A-Z]{3}"
#: a non-negative amount: up to 12 digits before the point (no leading zero), up to 6 after
DECIMAL = "(?:0|[1-9][0-9]{0,11})(?:[.][0-9]{1,6})?"
MAX_BYTES = 2**63 - 1
MAX_LOCATIONS = 100
MAX_PRICES = 300


class StrictInteger(fields.Integer):
    """A JSON integer: not ``true``, not ``1.0``, not ``"1"``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if type(value) is not int:
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


def _amount(description: str, required: bool = True) -> fields.String:
    extra: dict[str, Any] = {"required": True} if required else {"load_default": "0"}
    return fields.String(
        validate=FullMatch(DECIMAL, error='a decimal string such as "9.99" (not negative, at most 6 decimals)'),
        metadata={"description": description, "example": "9.99"},
        **extra,
    )


class PriceSchema(ma.Schema):
    """The price of a plan in one location and currency; amounts are decimal strings."""

    class Meta:
        unknown = ma.RAISE

    Location = fields.String(required=True, validate=FullMatch(LOCATION, error="a location code"))
    Currency = fields.String(
        required=True,
        validate=FullMatch(CURRENCY, error="a 3-letter currency code such as EUR"),
        metadata={"example": "EUR"},
    )
    Monthly = _amount("the monthly price")
    StorageOverPerGb = _amount("per GB stored beyond QuotaBytes (default 0)", required=False)
    TrafficOverPerGb = _amount("per GB of traffic beyond BandwidthBytesPerMonth (default 0)", required=False)


def _limit(description: str, minimum: int = 0) -> StrictInteger:
    return StrictInteger(
        allow_none=True,
        validate=validate.Range(min=minimum, max=MAX_BYTES),
        metadata={"description": f"{description}; null: unlimited"},
    )


def _storage_type(required: bool = False) -> fields.String:
    return fields.String(
        required=required,
        validate=validate.OneOf(STORAGE_TYPES),
        metadata={"description": "the S3 storage class its buckets' objects get"},
    )


def _locations(required: bool = False) -> fields.List:
    return fields.List(
        fields.String(validate=FullMatch(LOCATION, error="a location code")),
        required=required,
        validate=validate.Length(min=1, max=MAX_LOCATIONS),
        metadata={"description": "location codes of configured accounts where it is sold"},
    )


class _PlanFields(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    Active = StrictBoolean(metadata={"description": "offered to new tenants (default true)"})
    TestOnly = StrictBoolean(metadata={"description": "only testers' tenants may use it (default false)"})
    StorageType = _storage_type()
    Locations = _locations()
    QuotaBytes = _limit("bytes stored")
    MaxBuckets = _limit("buckets", 1)
    BandwidthBytesPerMonth = _limit("bytes of traffic per month")
    AlertThresholds = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=100)),
        allow_none=True,
        validate=validate.Length(min=1, max=10),
        metadata={"description": "percents of QuotaBytes that alert (null: 75, 90, 100; 100 is always one)"},
    )
    BandwidthAction = fields.String(
        validate=validate.OneOf(BANDWIDTH_ACTIONS),
        metadata={"description": "over BandwidthBytesPerMonth: none, alert (default), block (a website until the "
                  "month ends)"},
    )  # fmt: skip
    RequestMetrics = StrictBoolean(
        metadata={"description": "S3 request metrics on its tenants' new buckets, for their traffic (CloudWatch "
                  "bills every metrics configuration: it costs the provider money; default false)"}
    )  # fmt: skip
    MaxLinkSeconds = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=1, max=604800),
        metadata={"description": "the longest share link of the plan's tenants (null: the configured maximum)"},
    )
    Prices = fields.List(
        fields.Nested(PriceSchema),
        validate=validate.Length(max=MAX_PRICES),
        metadata={"description": "none (free everywhere) or at least one for every location"},
    )


class PlanCreateSchema(_PlanFields):
    """A new plan: ``Name``, ``StorageType`` and ``Locations`` are required."""

    Name = fields.String(
        required=True,
        validate=FullMatch(PLAN_NAME, error="Name: 1-64 lowercase letters, digits, '.', '_', '-'"),
    )
    StorageType = _storage_type(required=True)
    Locations = _locations(required=True)


class PlanPatchSchema(_PlanFields):
    """The fields to change (at least one; ``Locations`` and ``Prices`` are replaced whole)."""

    @ma.validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ma.ValidationError("name at least one field to change", "_schema")


class PlanSchema(ma.Schema):
    """A plan. ``StorageClass`` is the S3 storage class of ``StorageType``; ``Free``: no non-zero monthly price."""

    Name = fields.String(required=True)
    Active = fields.Boolean(required=True)
    TestOnly = fields.Boolean(required=True)
    StorageType = fields.String(required=True)
    StorageClass = fields.String(required=True)
    Locations = fields.List(fields.String(), required=True)
    QuotaBytes = fields.Integer(allow_none=True)
    MaxBuckets = fields.Integer(allow_none=True)
    BandwidthBytesPerMonth = fields.Integer(allow_none=True)
    AlertThresholds = fields.List(fields.Integer(), allow_none=True)
    BandwidthAction = fields.String(required=True)
    MaxLinkSeconds = fields.Integer(allow_none=True)
    RequestMetrics = fields.Boolean(required=True)
    Prices = fields.List(fields.Nested(PriceSchema), required=True)
    Free = fields.Boolean(required=True)
    Revision = fields.Integer(required=True)
    CreatedAt = UtcTime(allow_none=True)
    UpdatedAt = UtcTime(allow_none=True)


class PlanQuerySchema(ma.Schema):
    """Filters ``active``, ``test_only``, ``location``, ``storage_type``; by name; cursor pages."""

    class Meta:
        unknown = ma.RAISE

    active = fields.Boolean(truthy={"true"}, falsy={"false"})
    test_only = fields.Boolean(truthy={"true"}, falsy={"false"})
    location = fields.String(validate=FullMatch(LOCATION))
    storage_type = fields.String(validate=validate.OneOf(STORAGE_TYPES))
    page_size = fields.Integer(load_default=50, strict=False, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    page_token = fields.String(validate=validate.Length(min=1, max=512))


class PlanPageSchema(ma.Schema):
    Plans = fields.List(fields.Nested(PlanSchema), required=True)
    NextPageToken = fields.String(allow_none=True)


class HistoryQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    page_size = fields.Integer(load_default=50, strict=False, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    page_token = fields.String(validate=validate.Length(min=1, max=512))


class ChangeSchema(ma.Schema):
    Old = fields.Raw(allow_none=True)
    New = fields.Raw(allow_none=True)


class RevisionSchema(ma.Schema):
    """One change: who (``CallerId``: the API key, null for a configured token; ``CallerName``), when, and per
    changed field its old and new value. Revision 1 is the creation (old values null); a deletion changes
    ``Deleted`` from false to true."""

    Revision = fields.Integer(required=True)
    Time = UtcTime(required=True)
    CallerId = fields.String(allow_none=True)
    CallerName = fields.String(allow_none=True)
    Changes = fields.Dict(keys=fields.String(), values=fields.Nested(ChangeSchema), required=True)


class HistorySchema(ma.Schema):
    Plan = fields.String(required=True)
    Revisions = fields.List(fields.Nested(RevisionSchema), required=True)
    NextPageToken = fields.String(allow_none=True)
