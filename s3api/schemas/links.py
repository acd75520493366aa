"""Share links: the inventory of presigned links (PascalCase; times ISO 8601 UTC with ``Z``)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from s3api.names import SHARE_NAME
from s3api.schemas.fields import FullMatch
from s3api.schemas.keys import UtcTime

MAX_PAGE_SIZE = 1000
MAX_LINK_SECONDS = 604_800  # SigV4 presigned URLs live at most 7 days
SHARE_RULE = FullMatch(SHARE_NAME.pattern, error="Share: 1-64 letters, digits, . _ - (starting with a letter or digit)")


class SignerSchema(ma.Schema):
    """The IAM user and access key id that signed a link (never a secret)."""

    UserName = fields.String(required=True)
    AccessKeyId = fields.String(required=True)


class LinkSchema(ma.Schema):
    """A presigned link we issued, without its URL or signature. ``Active``: not revoked and not expired."""

    Id = fields.String(required=True)
    Bucket = fields.String(required=True)
    Key = fields.String(required=True)
    Method = fields.String(required=True, validate=validate.OneOf(["GET", "PUT"]))
    Share = fields.String(allow_none=True)
    Signer = fields.Nested(SignerSchema, required=True)
    Tenant = fields.String(allow_none=True)
    CreatedBy = fields.String(allow_none=True)
    CreatedAt = UtcTime(required=True)
    ExpiresAt = UtcTime(required=True)
    RevokedAt = UtcTime(allow_none=True)
    Active = fields.Boolean(required=True)


class IssuedLinkSchema(LinkSchema):
    """A link just issued, with its ``Url`` (shown in this answer only: the inventory never keeps it)."""

    Url = fields.String(required=True)


class ReissuedLinkSchema(IssuedLinkSchema):
    ReissuedFrom = fields.String(required=True)


class LinkQuerySchema(ma.Schema):
    """Filters (``active``, ``key_prefix``, ``share``) and cursor pagination; newest first."""

    class Meta:
        unknown = ma.RAISE

    active = fields.Boolean(truthy={"true"}, falsy={"false"})
    key_prefix = fields.String(validate=validate.Length(min=1, max=1024))
    share = fields.String(validate=SHARE_RULE)
    page_size = fields.Integer(load_default=50, strict=False, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    page_token = fields.String(validate=validate.Length(min=1, max=512))


class LinkPageSchema(ma.Schema):
    Links = fields.List(fields.Nested(LinkSchema), required=True)
    NextPageToken = fields.String(allow_none=True)


class RevokedSchema(ma.Schema):
    """A link revoked: its signer key was deleted, so ``Revoked`` lists every link that key signed and that
    worked until now (the link itself included), ``Count`` how many."""

    Link = fields.Nested(LinkSchema, required=True)
    Revoked = fields.List(fields.Nested(LinkSchema), required=True)
    Count = fields.Integer(required=True)


class ShareRevokedSchema(ma.Schema):
    Share = fields.String(required=True)
    Revoked = fields.List(fields.Nested(LinkSchema), required=True)
    Count = fields.Integer(required=True)


class ReissueSchema(ma.Schema):
    """``{"ExpiresIn"?}``: seconds; default the old link's lifetime (within today's limits)."""

    class Meta:
        unknown = ma.RAISE

    ExpiresIn = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=MAX_LINK_SECONDS)
    )
