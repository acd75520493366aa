"""Tenants: request and response schemas (PascalCase fields, times ISO 8601 UTC with ``Z``, never a secret except
in the answers that make one: rotate, reveal)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from s3api.names import MAX_GRACE_SECONDS
from s3api.schemas.fields import FullMatch, StrictBoolean
from s3api.schemas.usage import MeteringSchema, QuotaAlertSchema, TenantUsageStatusSchema

MAX_PAGE_SIZE = 1000
TENANT_ID = "t-[0-9a-f]{16}"
LOCATION = "[a-z0-9][a-z0-9_-]{0,62}"
PLAN = "[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
REFERENCE = "[\\x20-\\x7e]{1,128}"
STATUSES = (
    "provisioning",
    "pending_payment",
    "active",
    "suspended",
    "cancelling",
    "terminating",
    "terminated",
    "failed",
)
STORAGE_TYPES = (
    "Standard",
    "StandardIA",
    "OneZoneIA",
    "IntelligentTiering",
    "GlacierInstantRetrieval",
    "Glacier",
    "DeepArchive",
)


class TenantCreateSchema(ma.Schema):
    """A new tenant on a free plan (a paid plan: POST /v1/s3/orders). Checked again by the service (plan usable and
    sold in the location, the first bucket free)."""

    class Meta:
        unknown = ma.RAISE

    Plan = fields.String(required=True, validate=FullMatch(PLAN))
    Location = fields.String(required=True, validate=FullMatch(LOCATION))
    Email = fields.String(required=True, validate=[validate.Length(max=254), validate.Email()])
    ClientId = fields.String(load_default=None, allow_none=True, validate=FullMatch(REFERENCE))
    Billing = fields.String(load_default=None, allow_none=True, validate=FullMatch(REFERENCE))
    Bucket = fields.String(
        required=True, validate=validate.Length(min=3, max=63), metadata={"description": "first bucket"}
    )
    Tester = StrictBoolean(load_default=False, metadata={"description": "the tenant may use test plans"})


#: ``order_by`` values: the creation date, or this period's metering (``-``: largest / newest first)
ORDERS = tuple(
    f"{sign}{name}"
    for name in ("CreatedAt", "StoragePeakBytesThisPeriod", "TrafficBytesThisPeriod")
    for sign in ("", "-")
)


class TenantQuerySchema(ma.Schema):
    """Filters, ``order_by`` (``CreatedAt`` oldest first, ``-CreatedAt`` newest first: the default;
    ``StoragePeakBytesThisPeriod``, ``TrafficBytesThisPeriod`` and their ``-`` forms: this period's metering), cursor
    pages."""

    class Meta:
        unknown = ma.RAISE

    client_id = fields.String(validate=FullMatch(REFERENCE))
    plan = fields.String(validate=FullMatch(PLAN))
    email = fields.String(validate=validate.Length(min=3, max=254))
    billing = fields.String(validate=FullMatch(REFERENCE))
    tenant = fields.String(validate=FullMatch(TENANT_ID))
    bucket = fields.String(validate=validate.Length(min=3, max=63))
    storage_type = fields.String(validate=validate.OneOf(STORAGE_TYPES))
    location = fields.String(validate=FullMatch(LOCATION))
    account = fields.String(validate=FullMatch(LOCATION))
    status = fields.String(validate=validate.OneOf(STATUSES))
    order_by = fields.String(load_default="-CreatedAt", validate=validate.OneOf(ORDERS))
    page_size = fields.Integer(load_default=50, strict=False, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    page_token = fields.String(validate=validate.Length(min=1, max=512))


class TenantShowQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    include = fields.String(validate=validate.OneOf(("usage",)), metadata={"description": "usage: per bucket"})


class TenantPatchSchema(ma.Schema):
    """What may change: the plan (its limits apply from then on), the provider's references."""

    class Meta:
        unknown = ma.RAISE

    Plan = fields.String(validate=FullMatch(PLAN))
    Email = fields.String(validate=[validate.Length(max=254), validate.Email()])
    ClientId = fields.String(allow_none=True, validate=FullMatch(REFERENCE))
    Billing = fields.String(allow_none=True, validate=FullMatch(REFERENCE))

    @ma.validates_schema
    def _something(self, data: dict[str, object], **_: object) -> None:
        if not data:
            raise ma.ValidationError("give at least one of Plan, Email, ClientId, Billing")


class TenantRotateSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    GraceSeconds = fields.Integer(
        load_default=0,
        strict=True,
        validate=validate.Range(min=0, max=MAX_GRACE_SECONDS),
        metadata={"description": "how long the old key keeps working (0: it is deleted at once)"},
    )


class TenantKeyStatusSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    Status = fields.String(required=True, validate=validate.OneOf(("Active", "Inactive")))


class TenantQuotaSchema(ma.Schema):
    QuotaBytes = fields.Integer(allow_none=True)
    MaxBuckets = fields.Integer(allow_none=True)
    BandwidthBytesPerMonth = fields.Integer(allow_none=True)


class TenantAccessKeySchema(ma.Schema):
    AccessKeyId = fields.String(required=True)
    Status = fields.String(allow_none=True)
    CreateDate = fields.String(allow_none=True)


class TenantCredentialsSchema(ma.Schema):
    AccessKeyId = fields.String(allow_none=True, metadata={"description": "the current key (never its secret)"})
    UserName = fields.String(allow_none=True)
    Keys = fields.List(fields.Nested(TenantAccessKeySchema), metadata={"description": "GET one tenant: every key"})


class TenantBucketSchema(ma.Schema):
    Name = fields.String(required=True)
    Usage = fields.Dict(metadata={"description": "?include=usage: Objects, Bytes, AsOf, Source, Complete"})


class TenantSchema(ma.Schema):
    Id = fields.String(required=True)
    Account = fields.String(required=True)
    Location = fields.String(required=True)
    Plan = fields.String(required=True)
    Status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    Email = fields.String(required=True)
    ClientId = fields.String(allow_none=True)
    Billing = fields.String(allow_none=True)
    Tester = fields.Boolean(required=True)
    FirstBucket = fields.String(allow_none=True)
    StorageType = fields.String(allow_none=True)
    Quota = fields.Nested(TenantQuotaSchema, required=True)
    Endpoint = fields.String(allow_none=True)
    Region = fields.String(allow_none=True)
    Credentials = fields.Nested(TenantCredentialsSchema, required=True)
    ApiKeyId = fields.String(allow_none=True)
    OperationId = fields.String(allow_none=True)
    Buckets = fields.List(fields.Nested(TenantBucketSchema), metadata={"description": "GET one tenant: from AWS"})
    Metering = fields.Nested(MeteringSchema, metadata={"description": "this month's, from the daily samples"})
    Usage = fields.Nested(TenantUsageStatusSchema, metadata={"description": "GET one tenant: storage vs quota"})
    Alerts = fields.List(fields.Nested(QuotaAlertSchema), metadata={"description": "GET one tenant: standing"})
    CreatedAt = fields.String(required=True)
    UpdatedAt = fields.String(required=True)
    ActivatedAt = fields.String(allow_none=True)
    NextChargeAt = fields.String(allow_none=True)
    CancelAt = fields.String(allow_none=True)
    TerminateAt = fields.String(allow_none=True)
    TerminatedAt = fields.String(allow_none=True)


class TenantPageSchema(ma.Schema):
    Tenants = fields.List(fields.Nested(TenantSchema), required=True)
    NextPageToken = fields.String(allow_none=True)


class TenantRotatedSchema(ma.Schema):
    """The new key with its secret: shown in this answer only."""

    Tenant = fields.String(required=True)
    AccessKeyId = fields.String(required=True)
    SecretAccessKey = fields.String(required=True)
    GraceSeconds = fields.Integer(required=True)


class TenantKeyStatusAnswerSchema(ma.Schema):
    Tenant = fields.String(required=True)
    AccessKeyId = fields.String(required=True)
    Status = fields.String(required=True)


class TenantRevealedSchema(ma.Schema):
    Tenant = fields.String(required=True)
    AccessKeyId = fields.String(allow_none=True)
    SecretAccessKey = fields.String(required=True)
