"""Website request and response schemas (AWS-style PascalCase field names, as the Yale service answers).

``WebsiteConfiguration`` is S3's own type; its parts are checked here as far as S3's documented rules go, the
rest (routing rules) is passed to S3 as given. AWS structures in answers (distribution, DNS change, record)
are passed through as JSON with ISO 8601 datetimes.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from s3api.schemas.buckets import AwsDocument, BucketInputSchema, GroupSchema, PolicySchema
from s3api.schemas.fields import TagSchema, xml_safe
from s3api.schemas.users import NewAccessKeySchema, UserDetailSchema, UserSchema

MAX_INVALIDATION_PATHS = 3000


class _Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class IndexDocumentSchema(_Strict):
    Suffix = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=1024),
            validate.Regexp(r"^[^/]+$", error="Suffix may not contain '/' (S3's rule)"),
            xml_safe("Suffix"),
        ],
    )


class ErrorDocumentSchema(_Strict):
    Key = fields.String(required=True, validate=[validate.Length(min=1, max=1024), xml_safe("Key")])


class RedirectAllRequestsToSchema(_Strict):
    HostName = fields.String(required=True, validate=[validate.Length(min=1, max=255), xml_safe("HostName")])
    Protocol = fields.String(validate=validate.OneOf(["http", "https"]))


class WebsiteConfigurationSchema(_Strict):
    """S3's WebsiteConfiguration; without ``IndexDocument`` (and without a redirect) ``index.html`` is used."""

    IndexDocument = fields.Nested(IndexDocumentSchema)
    ErrorDocument = fields.Nested(ErrorDocumentSchema)
    RedirectAllRequestsTo = fields.Nested(RedirectAllRequestsToSchema)
    RoutingRules = fields.List(fields.Dict(), validate=[validate.Length(max=50), xml_safe("RoutingRules")])


class WebsiteCreateSchema(_Strict):
    BucketInput = fields.Nested(
        BucketInputSchema, required=True, metadata={"description": "Bucket: the site's host name, e.g. www.example.org"}
    )
    Tags = fields.List(fields.Nested(TagSchema), load_default=None)
    WebsiteConfiguration = fields.Nested(WebsiteConfigurationSchema, load_default=None)


class WebsiteUpdateSchema(_Strict):
    Tags = fields.List(
        fields.Nested(TagSchema),
        required=True,
        metadata={"description": "the whole tag set of bucket and distribution (tags left out are removed)"},
    )


class InvalidationRequestSchema(_Strict):
    CacheInvalidation = fields.List(
        fields.String(validate=[validate.Regexp(r"^/", error="every path begins with '/'"), xml_safe("path")]),
        required=True,
        validate=validate.Length(min=1, max=MAX_INVALIDATION_PATHS),
        metadata={"description": 'paths to invalidate, e.g. ["/*"]'},
    )


# --- responses --------------------------------------------------------------------------------------------------


class WebsiteCreatedSchema(ma.Schema):
    Bucket = fields.String(required=True, metadata={"description": "the bucket's location, /<site>"})
    Policies = fields.List(fields.Nested(PolicySchema), required=True)
    Groups = fields.List(fields.Nested(GroupSchema), required=True)
    Distribution = AwsDocument(required=True, metadata={"description": "the CloudFront Distribution (InProgress)"})
    DnsChange = AwsDocument(required=True, metadata={"description": "the Route53 ChangeInfo"})


class WebsiteSchema(ma.Schema):
    Tags = fields.List(fields.Nested(TagSchema), required=True)
    Logging = AwsDocument(allow_none=True, metadata={"description": "LoggingEnabled, or null when off"})
    Empty = fields.Boolean(required=True, metadata={"description": "true when only default index pages remain"})
    DNSRecord = AwsDocument(allow_none=True, metadata={"description": "the site's A record, or null"})
    Distribution = AwsDocument(allow_none=True, metadata={"description": "distribution summary, or null"})
    Status = fields.String(
        required=True,
        validate=validate.OneOf(["Deploying", "Deployed", "Disabled", "Broken"]),
        metadata={"description": "Deploying, Deployed, Disabled or Broken"},
    )
    StatusReason = fields.String(metadata={"description": "what is missing or wrong, when Broken"})


class InvalidationCreatedSchema(ma.Schema):
    Invalidation = AwsDocument(required=True)
    Location = fields.String(required=True)


class InvalidationStatusSchema(ma.Schema):
    Invalidation = AwsDocument(required=True, metadata={"description": "Status InProgress or Completed"})


class WebsiteDeletedSchema(ma.Schema):
    Website = fields.String(required=True)
    Users = fields.List(fields.Nested(UserSchema), required=True, metadata={"description": "users deleted"})
    Policies = fields.List(fields.String(), required=True, metadata={"description": "policies deleted"})
    Groups = fields.List(fields.String(), required=True, metadata={"description": "groups deleted"})
    Distribution = AwsDocument(allow_none=True, metadata={"description": "the distribution, disabled"})
    DnsChange = AwsDocument(allow_none=True, metadata={"description": "Route53 ChangeInfo, null if no record"})


class WebsiteCreatedUserSchema(ma.Schema):
    User = fields.Nested(UserSchema)
    AccessKey = fields.Nested(NewAccessKeySchema)
    Path = fields.String(metadata={"description": "the scoping path"})


class WebsiteUserDetailSchema(UserDetailSchema):
    Path = fields.String(metadata={"description": "the scoping path, read from the user's groups"})
