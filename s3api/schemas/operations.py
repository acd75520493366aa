"""Operations: the answer's shape and the list's filters (PascalCase; times ISO 8601 UTC with ``Z``)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from s3api.schemas.fields import FullMatch

STATUSES = ("NotStarted", "Running", "Succeeded", "Failed", "Canceled")
KIND = "[a-z_]{1,32}\\.[a-z_]{1,32}"
MAX_PAGE_SIZE = 1000


class OperationErrorSchema(ma.Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    status = fields.Integer(required=True)


class CallerSchema(ma.Schema):
    Id = fields.String(allow_none=True, metadata={"description": "the API key's id (none for a config token)"})
    Name = fields.String(allow_none=True)
    Tenant = fields.String(allow_none=True)


class OperationSchema(ma.Schema):
    """Long work any worker can finish: ``Status`` NotStarted → Running → Succeeded | Failed | Canceled."""

    Id = fields.String(required=True)
    Kind = fields.String(required=True, metadata={"description": "bucket.delete, website.create, bucket.recount…"})
    Account = fields.String(required=True)
    Target = fields.String(required=True, metadata={"description": "what it acts on: bucket:<account>/<name>"})
    Status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    Done = fields.Boolean(required=True)
    Progress = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    Error = fields.Nested(OperationErrorSchema, allow_none=True, metadata={"description": "our error envelope"})
    Result = fields.Raw(allow_none=True)
    Attempts = fields.Integer(required=True)
    CancelRequested = fields.Boolean(required=True)
    CreatedAt = fields.String(required=True)
    UpdatedAt = fields.String(required=True)
    StartedAt = fields.String(allow_none=True)
    FinishedAt = fields.String(allow_none=True)
    Caller = fields.Nested(CallerSchema, required=True)


class OperationQuerySchema(ma.Schema):
    """Filters (``kind``, ``target``, ``status``, ``account``) and cursor pagination; newest first."""

    class Meta:
        unknown = ma.RAISE

    kind = fields.String(validate=FullMatch(KIND))
    target = fields.String(validate=validate.Length(min=1, max=1400))
    status = fields.String(validate=validate.OneOf(STATUSES))
    account = fields.String(validate=FullMatch("[a-z0-9][a-z0-9_-]{0,62}"))
    page_size = fields.Integer(load_default=50, strict=False, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    page_token = fields.String(validate=validate.Length(min=1, max=512))


class OperationPageSchema(ma.Schema):
    Operations = fields.List(fields.Nested(OperationSchema), required=True)
    NextPageToken = fields.String(allow_none=True)
