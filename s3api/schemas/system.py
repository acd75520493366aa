"""Readiness (``GET /v1/s3/ready``): what was checked and how it went (PascalCase, like the rest of the API)."""

from __future__ import annotations

from marshmallow import Schema, fields


class ReadyCheckSchema(Schema):
    """One dependency: did it answer, how long it took, and what went wrong (our error's code; never a secret,
    a URL or a driver's text)."""

    Ready = fields.Boolean(required=True)
    Seconds = fields.Float(required=True, metadata={"description": "time the check took"})
    Error = fields.String(allow_none=True, metadata={"description": "why not ready (null when ready)"})


class ReadyChecksSchema(Schema):
    Database = fields.Nested(
        ReadyCheckSchema,
        required=True,
        metadata={"description": "SELECT 1 on the database (SQLite: a read of its schema table)"},
    )
    Accounts = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(ReadyCheckSchema),
        required=True,
        metadata={"description": "one cheap AWS call (S3 ListBuckets of one bucket) per configured account"},
    )


class ReadySchema(Schema):
    """200: every check passed."""

    Ready = fields.Boolean(required=True)
    Checks = fields.Nested(ReadyChecksSchema, required=True)


class NotReadySchema(ReadySchema):
    """503: the JSON error envelope, with ``Ready: false`` and the checks beside it."""

    code = fields.String(required=True)
    message = fields.String(required=True)
    status = fields.Integer(required=True)
    request_id = fields.String(allow_none=True)
