"""API keys and ``whoami``: request and response schemas (PascalCase fields, times ISO 8601 UTC with ``Z``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from s3api.names import KEY_ROLES, OPEN_KEY_ROLES
from s3api.schemas.fields import FullMatch

KEY_NAME = "[\\x20-\\x7e]{1,128}"  # printable ASCII: it lands in listings and logs of other tools
TENANT = "[a-z0-9][a-z0-9_-]{0,62}"
MAX_PAGE_SIZE = 1000


class UtcTime(fields.DateTime):
    """Written as ``2026-12-03T07:00:00.123456Z`` (UTC); read as an ISO 8601 time WITH an offset."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return str(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        when = super()._deserialize(value, attr, data, **kwargs)
        if when.tzinfo is None:
            raise self.make_error("invalid", input=value, obj_type="time with an offset (e.g. Z)")
        return when.astimezone(UTC)


class KeyCreateSchema(ma.Schema):
    """``{"Name", "Role", "Tenant"?, "ExpiresAt"?}``: a new API key (the secret is in the answer, once)."""

    class Meta:
        unknown = ma.RAISE

    Name = fields.String(required=True, validate=FullMatch(KEY_NAME, error="Name: 1-128 printable ASCII characters"))
    Role = fields.String(required=True, validate=validate.OneOf(OPEN_KEY_ROLES))
    Tenant = fields.String(
        load_default=None, allow_none=True, validate=FullMatch(TENANT, error="Tenant: lowercase letters, digits, -_")
    )
    ExpiresAt = UtcTime(load_default=None, allow_none=True, metadata={"description": "ISO 8601 with offset"})


class _KeyFields(ma.Schema):
    """What every answer about a key says."""

    Id = fields.String(required=True)
    Name = fields.String(required=True)
    Role = fields.String(required=True)
    Tenant = fields.String(allow_none=True)
    ExpiresAt = UtcTime(allow_none=True)
    CreatedAt = UtcTime(required=True)


class KeySchema(_KeyFields):
    """A key as listed and shown: never its secret."""

    LastUsedAt = UtcTime(allow_none=True)
    RevokedAt = UtcTime(allow_none=True)


class CreatedKeySchema(_KeyFields):
    """A new key with its secret ``Key`` (``s3k_<id>_<secret>``): shown here only, never again."""

    Key = fields.String(required=True)


class KeyQuerySchema(ma.Schema):
    """Filters (``name``, ``role``, ``tenant``, ``revoked``) and cursor pagination; newest first."""

    class Meta:
        unknown = ma.RAISE

    name = fields.String(validate=FullMatch(KEY_NAME))
    role = fields.String(validate=validate.OneOf(KEY_ROLES))
    tenant = fields.String(validate=FullMatch(TENANT))
    revoked = fields.Boolean(truthy={"true"}, falsy={"false"})
    page_size = fields.Integer(load_default=50, strict=False, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    page_token = fields.String(validate=validate.Length(min=1, max=512))


class KeyPageSchema(ma.Schema):
    Keys = fields.List(fields.Nested(KeySchema), required=True)
    NextPageToken = fields.String(allow_none=True)


class WhoamiSchema(ma.Schema):
    """The caller: ``Kind`` ``token`` (config file) or ``key``; ``Id`` of a key, its ``Role`` and ``Tenant``."""

    Kind = fields.String(required=True, attribute="kind")
    Id = fields.String(allow_none=True, attribute="id")
    Name = fields.String(required=True, attribute="name")
    Role = fields.String(required=True, attribute="role")
    Tenant = fields.String(allow_none=True, attribute="tenant")
