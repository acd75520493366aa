"""Schemas for objects, multipart uploads, presigned links, usage and account stats (AWS-style field names)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from s3api.schemas.fields import NOT_IN_XML as _NOT_IN_XML
from s3api.schemas.fields import xml_safe as _xml_safe
from s3api.schemas.links import SHARE_RULE, IssuedLinkSchema
from s3api.schemas.usage import MeteringSchema
from s3api.validation import MAX_OBJECT_KEY_BYTES

MAX_BATCH_DELETE = 10_000
MAX_TOKEN = 12_288  # see s3api.provisioning.objects.MAX_TOKEN
MAX_PRESIGN_SECONDS = 604_800  # SigV4 presigned URLs live at most 7 days


def _key_bytes(field: str) -> Any:
    def check(value: str) -> None:
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise ma.ValidationError(f"{field} must be valid UTF-8") from None
        if size > MAX_OBJECT_KEY_BYTES:
            raise ma.ValidationError(f"{field} is {size} bytes of UTF-8; the limit is {MAX_OBJECT_KEY_BYTES}")

    return check


class KeyField(fields.String):
    """An S3 object key: 1..1024 bytes of UTF-8."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=[validate.Length(min=1), _key_bytes("key")], **kwargs)


class _Query(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    @ma.post_load
    def _empty_is_absent(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """``?search=&delimiter=`` as sent by HTML forms means "not given"."""
        for name in ("delimiter", "search", "continuation_token"):
            if data.get(name) == "":
                data[name] = None
        return data


# --- objects ----------------------------------------------------------------------------------------------


class ObjectListQuery(_Query):
    prefix = fields.String(load_default="", validate=_key_bytes("prefix"))
    delimiter = fields.String(load_default=None, validate=[validate.Length(max=64), _xml_safe("delimiter")])
    max_keys = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    continuation_token = fields.String(load_default=None, validate=validate.Length(max=MAX_TOKEN))
    search = fields.String(load_default=None, validate=validate.Length(max=1024))


class ObjectSummarySchema(ma.Schema):
    Key = fields.String(required=True)
    Size = fields.Integer(required=True)
    LastModified = fields.DateTime(allow_none=True)
    ETag = fields.String()
    StorageClass = fields.String()


class ObjectListSchema(ma.Schema):
    Objects = fields.List(fields.Nested(ObjectSummarySchema), required=True)
    Folders = fields.List(fields.String(), required=True)
    NextContinuationToken = fields.String(allow_none=True, required=True)
    IsTruncated = fields.Boolean(required=True)


class ObjectTagSchema(ma.Schema):
    Key = fields.String(required=True)
    Value = fields.String(required=True)


class ObjectDetailsSchema(ma.Schema):
    Key = fields.String(required=True)
    Size = fields.Integer(required=True)
    ContentType = fields.String(allow_none=True)
    ETag = fields.String()
    LastModified = fields.DateTime(allow_none=True)
    StorageClass = fields.String()
    Metadata = fields.Dict(keys=fields.String(), values=fields.String())
    VersionId = fields.String(allow_none=True)
    PartsCount = fields.Integer(allow_none=True)
    Tags = fields.List(fields.Nested(ObjectTagSchema), allow_none=True)


class DeletedObjectSchema(ma.Schema):
    Deleted = fields.String(required=True)


def _xml_safe_keys(keys: list[str]) -> None:
    """DeleteObjects sends the keys in an XML body: refuse (400) what XML cannot carry, naming the key's index."""
    bad = [i for i, key in enumerate(keys) if isinstance(key, str) and _NOT_IN_XML.search(key)]
    if bad:
        raise ma.ValidationError(
            f"keys at {', '.join(map(str, bad[:10]))} hold control characters a batch delete cannot send; "
            "delete them one by one with DELETE .../objects/<key>"
        )


class BatchDeleteSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    Keys = fields.List(
        KeyField(), required=True, validate=[validate.Length(min=1, max=MAX_BATCH_DELETE), _xml_safe_keys]
    )


class DeleteErrorSchema(ma.Schema):
    Key = fields.String(required=True)
    Code = fields.String(required=True)
    Message = fields.String(required=True)


class BatchDeleteResultSchema(ma.Schema):
    Deleted = fields.List(fields.String(), required=True)
    Errors = fields.List(fields.Nested(DeleteErrorSchema), required=True)


# --- multipart uploads ------------------------------------------------------------------------------------


class UploadListQuery(_Query):
    prefix = fields.String(load_default="", validate=_key_bytes("prefix"))
    max_keys = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    continuation_token = fields.String(load_default=None, validate=validate.Length(max=MAX_TOKEN))


class UploadSchema(ma.Schema):
    Key = fields.String(required=True)
    UploadId = fields.String(required=True)
    Initiated = fields.DateTime(allow_none=True)
    Parts = fields.Integer(required=True)
    Size = fields.Integer(required=True)


class UploadListSchema(ma.Schema):
    Uploads = fields.List(fields.Nested(UploadSchema), required=True)
    NextContinuationToken = fields.String(allow_none=True, required=True)
    IsTruncated = fields.Boolean(required=True)


class AbortUploadQuery(_Query):
    key = KeyField(required=True)


class AbortedUploadSchema(ma.Schema):
    Key = fields.String(required=True)
    UploadId = fields.String(required=True)


class AbortOlderSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    OlderThanSeconds = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100 * 365 * 86400))


class AbortOlderResultSchema(ma.Schema):
    Aborted = fields.Integer(required=True)
    Complete = fields.Boolean(required=True)


# --- presigned links, usage, stats ------------------------------------------------------------------------


class PresignSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    Key = KeyField(required=True)
    Method = fields.String(load_default="GET", validate=validate.OneOf(["GET", "PUT"]))
    ExpiresIn = fields.Integer(load_default=3600, strict=True, validate=validate.Range(min=1, max=MAX_PRESIGN_SECONDS))
    Share = fields.String(load_default=None, allow_none=True, validate=SHARE_RULE)


class PresignResultSchema(IssuedLinkSchema):
    """The URL and the link as recorded (``GET .../links``): Id, Share, Signer, CreatedAt, CreatedBy ..."""


class UsageSchema(ma.Schema):
    Bytes = fields.Integer(required=True)
    Objects = fields.Integer(required=True)
    AsOf = fields.DateTime(required=True)
    Source = fields.String(required=True, validate=validate.OneOf(["listing", "cloudwatch"]))
    Complete = fields.Boolean(required=True)
    Metering = fields.Nested(
        MeteringSchema, metadata={"description": "this month's traffic and storage peak, from the daily samples"}
    )


class StatsSchema(ma.Schema):
    Buckets = fields.Integer(required=True)
    ManagedBuckets = fields.Integer(required=True)
    Users = fields.Integer(required=True)
    Websites = fields.Integer(required=True)
    ActiveMultipartUploads = fields.Integer(required=True)
    ActivePresignedLinks = fields.Integer(required=True)
