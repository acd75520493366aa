"""Orders and the tenant life-cycle routes: request and response schemas (PascalCase; money as decimal strings;
times ISO 8601 UTC with ``Z``)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from s3api.schemas.fields import FullMatch, StrictBoolean

MAX_PAGE_SIZE = 1000
#: money: a decimal string, at most 4 decimals (never a float)
AMOUNT = "(0|[1-9][0-9]{0,11})(\\.[0-9]{1,4})?"
CURRENCY = "[A-Z]{3}"
ORDER_ID = "ord-[0-9a-f]{24}"
TENANT_ID = "t-[0-9a-f]{16}"
ORDER_STATUSES = ("pending", "paid", "failed", "canceled")
PRINTABLE = "[\\x20-\\x7e]{1,128}"
#: a reason lands in the audit trail and in webhooks: printable text, at most 512 characters
REASON_LENGTH = validate.Length(min=1, max=512)


class OrderCreateSchema(ma.Schema):
    """A paid plan for a new tenant: the fields of ``POST /v1/s3/tenants`` plus ``Amount`` and ``Currency``, which
    must be the plan's monthly price for the location (400 otherwise)."""

    class Meta:
        unknown = ma.RAISE

    Plan = fields.String(required=True, validate=validate.Length(min=1, max=64))
    Location = fields.String(required=True, validate=FullMatch("[a-z0-9][a-z0-9_-]{0,62}"))
    Email = fields.Email(required=True, validate=validate.Length(max=254))
    ClientId = fields.String(load_default=None, allow_none=True, validate=FullMatch(PRINTABLE))
    Billing = fields.String(load_default=None, allow_none=True, validate=FullMatch(PRINTABLE))
    Bucket = fields.String(required=True, validate=validate.Length(min=3, max=63))
    Tester = StrictBoolean(load_default=False)
    Amount = fields.String(
        required=True, validate=FullMatch(AMOUNT), metadata={"description": "decimal string, e.g. 9.90"}
    )
    Currency = fields.String(required=True, validate=FullMatch(CURRENCY), metadata={"description": "ISO 4217"})


class OrderSchema(ma.Schema):
    """An order: ``Status`` pending → paid (the tenant is provisioned) | failed; canceled when its tenant was
    deleted before it was paid."""

    Id = fields.String(required=True)
    Tenant = fields.String(required=True)
    Plan = fields.String(required=True)
    Amount = fields.String(required=True)
    Currency = fields.String(required=True)
    Status = fields.String(required=True, validate=validate.OneOf(ORDER_STATUSES))
    Reference = fields.String(allow_none=True, metadata={"description": "the billing system's payment reference"})
    CreatedAt = fields.String(required=True)
    UpdatedAt = fields.String(required=True)
    PaidAt = fields.String(allow_none=True)


class OrderCreatedSchema(OrderSchema):
    """A new order, with its tenant's status (``pending_payment``)."""

    TenantStatus = fields.String(required=True)


class OrderPaidSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    Reference = fields.String(load_default=None, allow_none=True, validate=FullMatch(PRINTABLE))


class OrderFailedSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    Reason = fields.String(load_default=None, allow_none=True, validate=REASON_LENGTH)


class OrderQuerySchema(ma.Schema):
    """Filters (``tenant``, ``status``, ``plan``) and cursor pagination; newest first."""

    class Meta:
        unknown = ma.RAISE

    tenant = fields.String(validate=FullMatch(TENANT_ID))
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES))
    plan = fields.String(validate=validate.Length(min=1, max=64))
    page_size = fields.Integer(load_default=50, strict=False, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    page_token = fields.String(validate=validate.Length(min=1, max=512))


class OrderPageSchema(ma.Schema):
    Orders = fields.List(fields.Nested(OrderSchema), required=True)
    NextPageToken = fields.String(allow_none=True)


class TenantDeleteSchema(ma.Schema):
    """``Reason`` (required: here or as ``?reason=``) and ``Immediate`` (a paid tenant terminated now instead of
    at the end of its paid period)."""

    class Meta:
        unknown = ma.RAISE

    Reason = fields.String(load_default=None, validate=REASON_LENGTH)
    Immediate = StrictBoolean(load_default=False)


class TenantDeleteQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    reason = fields.String(validate=REASON_LENGTH)


class CancelDeletionSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    Reason = fields.String(load_default=None, allow_none=True, validate=REASON_LENGTH)


class TenantLifecycleSchema(ma.Schema):
    """A tenant as the life-cycle routes answer: status and service dates (never a secret)."""

    Id = fields.String(required=True)
    Account = fields.String(required=True)
    Location = fields.String(required=True)
    Plan = fields.String(required=True)
    Status = fields.String(required=True)
    NextChargeAt = fields.String(allow_none=True, metadata={"description": "end of the paid period"})
    CancelAt = fields.String(allow_none=True, metadata={"description": "when a scheduled deletion takes effect"})
    TerminateAt = fields.String(allow_none=True, metadata={"description": "when its termination began"})
    TerminatedAt = fields.String(allow_none=True)
    DeletionReason = fields.String(allow_none=True)
    OperationId = fields.String(allow_none=True, metadata={"description": "its latest operation"})
