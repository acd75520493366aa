"""Bucket request and response schemas (Yale contract: AWS-style PascalCase field names)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from webargs.fields import DelimitedList

from s3api.names import LIFECYCLES, OPTIONAL_FIELDS
from s3api.schemas.fields import BucketNameField, TagSchema


class AwsDocument(fields.Field):
    """An AWS response structure passed through as JSON, with datetimes as ISO 8601 strings."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class BucketPolicyField(fields.Field):
    """A bucket policy: JSON text (as Yale sends it) or a JSON object. Its content is checked later,
    against the bucket it is for (validation.validate_bucket_policy)."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if not isinstance(value, (str, dict)):
            raise ma.ValidationError("must be a policy document: a JSON object or a string holding one")
        return value


# --- requests ------------------------------------------------------------------------------------------------


class BucketInputSchema(ma.Schema):
    """The part of AWS's CreateBucketInput this API accepts: the name (the region is the account's)."""

    class Meta:
        unknown = ma.RAISE

    Bucket = BucketNameField(required=True)


class BucketCreateSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    BucketInput = fields.Nested(BucketInputSchema, required=True)
    Tags = fields.List(fields.Nested(TagSchema), load_default=None)
    Lifecycle = fields.String(
        load_default=None,
        validate=validate.OneOf(sorted(LIFECYCLES), error="unknown lifecycle {input!r}; allowed: {choices}"),
    )


class BucketUpdateSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    Tags = fields.List(fields.Nested(TagSchema), load_default=None, metadata={"description": "replaces the tags"})
    BucketPolicy = BucketPolicyField(
        load_default=None, metadata={"description": "bucket policy JSON (text or object); resources in this bucket"}
    )


class BucketShowQuerySchema(ma.Schema):
    """``?include=encryption,lifecycle`` (or ``?include=all``): fields beyond Yale's three, one AWS call each."""

    class Meta:
        unknown = ma.RAISE

    include = DelimitedList(
        fields.String(
            validate=validate.OneOf(["all", *OPTIONAL_FIELDS], error="unknown include {input!r}; allowed: {choices}")
        ),
        load_default=list,
        metadata={
            "description": "comma-separated extra fields: "
            + ", ".join(f"{key} ({field})" for key, field in OPTIONAL_FIELDS.items())
            + ", or all"
        },
    )


class BucketDeleteQuerySchema(ma.Schema):
    """``?force=true``: delete the bucket with everything in it, as an operation (202); without it (or with
    ``false``) only an empty bucket is deleted (Yale's behaviour)."""

    class Meta:
        unknown = ma.RAISE

    force = fields.Boolean(
        truthy={"true"},
        falsy={"false"},
        load_default=False,
        metadata={
            "description": "true: empty the bucket (every version, delete marker and incomplete upload) and delete "
            "it with its IAM family, as an operation (202 + Location). Only `true` or `false`."
        },
    )


class DuckQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    path = fields.String(load_default="/", metadata={"description": "folder the bookmark opens, e.g. /docs/"})


# --- responses -----------------------------------------------------------------------------------------------


class PolicySchema(ma.Schema):
    """An IAM managed policy as IAM returns it."""

    PolicyName = fields.String()
    PolicyId = fields.String()
    Arn = fields.String()
    Path = fields.String()
    DefaultVersionId = fields.String()
    AttachmentCount = fields.Integer()
    PermissionsBoundaryUsageCount = fields.Integer()
    IsAttachable = fields.Boolean()
    Description = fields.String()
    CreateDate = fields.DateTime()
    UpdateDate = fields.DateTime()
    Tags = fields.List(fields.Nested(TagSchema))


class GroupSchema(ma.Schema):
    """An IAM group as IAM returns it."""

    Path = fields.String()
    GroupName = fields.String()
    GroupId = fields.String()
    Arn = fields.String()
    CreateDate = fields.DateTime()


class BucketCreatedSchema(ma.Schema):
    Bucket = fields.String(required=True, metadata={"description": "the bucket's location, /<name>"})
    Policy = fields.Nested(PolicySchema, required=True)
    Group = fields.Nested(GroupSchema, required=True)


class BucketSchema(ma.Schema):
    """What GET answers: Yale's Tags, Logging, Empty; the other fields only when ``?include=`` names them."""

    Tags = fields.List(fields.Nested(TagSchema), required=True)
    Logging = AwsDocument(required=True, allow_none=True, metadata={"description": "LoggingEnabled, or null when off"})
    Empty = fields.Boolean(required=True)
    Region = fields.String(metadata={"description": "include=region (HeadBucket)"})
    Encryption = AwsDocument(
        allow_none=True, metadata={"description": "include=encryption: ServerSideEncryptionConfiguration or null"}
    )
    Versioning = fields.String(metadata={"description": "include=versioning: Enabled, Suspended or Disabled"})
    PublicAccessBlock = AwsDocument(
        allow_none=True, metadata={"description": "include=public_access_block: PublicAccessBlockConfiguration"}
    )
    Lifecycle = AwsDocument(metadata={"description": "include=lifecycle: lifecycle rules ([] when none)"})
    Website = AwsDocument(allow_none=True, metadata={"description": "include=website: website configuration, or null"})


class EmptySchema(ma.Schema):
    """An empty JSON object."""
