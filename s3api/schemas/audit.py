"""The audit trail: the query (filters, cursor pagination) and the events (PascalCase, times ISO 8601 UTC)."""

from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import fields, validate

from s3api.schemas.fields import FullMatch
from s3api.schemas.keys import KEY_NAME, MAX_PAGE_SIZE, TENANT, UtcTime

OUTCOMES = ("ok", "refused", "failed", "rolled_back", "started", "replayed")
STATUS = re.compile(r"[1-5][0-9][0-9]")
ACTION_PREFIX = "[a-z_.]{1,64}"


def _outcome(value: str) -> None:
    if value not in OUTCOMES and not STATUS.fullmatch(value):
        raise ma.ValidationError(f"outcome: one of {', '.join(OUTCOMES)}, or an HTTP status")


class AuditQuerySchema(ma.Schema):
    """Filters: ``caller`` (a key id or a caller's name), ``tenant``, ``action`` (a prefix: ``bucket.``),
    ``resource`` (exact, e.g. ``local/buckets/alpha``), ``outcome`` (ok, refused, failed, rolled_back, or an
    HTTP status), ``since`` (inclusive) and ``until`` (exclusive); newest first."""

    class Meta:
        unknown = ma.RAISE

    caller = fields.String(validate=FullMatch(KEY_NAME))
    tenant = fields.String(validate=FullMatch(TENANT))
    action = fields.String(validate=FullMatch(ACTION_PREFIX, error="action: a prefix of lowercase letters, . and _"))
    resource = fields.String(validate=validate.Length(min=1, max=1400))
    outcome = fields.String(
        validate=lambda v: _outcome(v), metadata={"description": f"one of {', '.join(OUTCOMES)}, or an HTTP status"}
    )
    since = UtcTime(metadata={"description": "ISO 8601 with offset; events at or after"})
    until = UtcTime(metadata={"description": "ISO 8601 with offset; events before"})
    page_size = fields.Integer(load_default=50, strict=False, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    page_token = fields.String(validate=validate.Length(min=1, max=512))

    @ma.validates_schema
    def _range(self, data: dict[str, object], **_: object) -> None:
        since, until = data.get("since"), data.get("until")
        if since is not None and until is not None and since >= until:  # type: ignore[operator]
            raise ma.ValidationError("since must be before until", "since")


class RolledBackSchema(ma.Schema):
    Workflow = fields.String(required=True)
    Undone = fields.List(fields.String(), required=True, metadata={"description": "steps undone, latest first"})
    UndoFailed = fields.List(fields.Dict(), required=True, metadata={"description": "{Step, Code} of failed undos"})


class DetailSchema(ma.Schema):
    RolledBack = fields.List(fields.Nested(RolledBackSchema))
    # share links: the link issued (link.presign, link.reissue) or the links revoked (link.revoke, share.revoke)
    Link = fields.String(metadata={"description": "the id of the link issued"})
    Share = fields.String(allow_none=True)
    ExpiresAt = fields.String()
    ReissuedFrom = fields.String()
    Revoked = fields.List(fields.String(), metadata={"description": "ids of the links revoked (the first 200)"})
    Count = fields.Integer(metadata={"description": "how many links were revoked"})


class AuditEventSchema(ma.Schema):
    """One audited request. ``Outcome``: ok, refused (4xx), failed (5xx), rolled_back (``Detail`` names what
    was undone), started (``Status`` 0: AWS work began and its end could not be recorded, or it is still
    running), or replayed (the stored answer of an ``Idempotency-Key`` given again; ``Status`` is its status).
    ``Input``: whitelisted fields of the request only (never a secret)."""

    Id = fields.String(required=True)
    Time = UtcTime(required=True)
    CallerId = fields.String(allow_none=True, metadata={"description": "the API key's id; null for a token"})
    CallerName = fields.String(allow_none=True, metadata={"description": "null when authentication failed"})
    Role = fields.String(allow_none=True)
    Tenant = fields.String(allow_none=True)
    SourceAddress = fields.String(allow_none=True)
    UserAgent = fields.String(allow_none=True)
    Action = fields.String(required=True, metadata={"description": "e.g. bucket.create, key.revoke, link.presign"})
    Resource = fields.String(required=True, metadata={"description": "e.g. local/buckets/alpha, keys/<id>"})
    Status = fields.Integer(required=True)
    ErrorCode = fields.String(allow_none=True)
    Outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    RequestId = fields.String(allow_none=True)
    OperationId = fields.String(allow_none=True)
    Reason = fields.String(allow_none=True, metadata={"description": "X-Reason header, or Reason of a DELETE body"})
    Input = fields.Dict(allow_none=True)
    Detail = fields.Nested(DetailSchema, allow_none=True)


class AuditPageSchema(ma.Schema):
    Events = fields.List(fields.Nested(AuditEventSchema), required=True)
    NextPageToken = fields.String(allow_none=True)
