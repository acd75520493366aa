"""Bucket users: request and response schemas (AWS-style PascalCase field names, as the Yale service answers).

Input rules mirror IAM's so that a request we accept is not rejected half-way through the workflow:
user names ``[A-Za-z0-9_+=,.@-]{1,64}``, IAM paths ``/`` or ``/.../`` (printable ASCII, at most 512
characters), tags per :mod:`s3api.validation` (the count and reserved keys are checked by the workflow,
which knows the organisation tag key).
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from s3api.names import GROUP_KINDS, IAM_PATH, MAX_GRACE_SECONDS, USER_NAME
from s3api.schemas.buckets import GroupSchema  # shared with the bucket routes: one OpenAPI component
from s3api.schemas.fields import FullMatch, TagSchema

user_name_validator = FullMatch(
    USER_NAME.pattern, error="UserName must be 1-64 characters of letters, digits and _+=,.@-"
)


class NewUserSchema(ma.Schema):
    """``User`` of a create request: IAM CreateUser input without PermissionsBoundary."""

    class Meta:
        unknown = ma.RAISE

    UserName = fields.String(required=True, validate=user_name_validator)
    Path = fields.String(
        load_default="/",
        validate=FullMatch(
            IAM_PATH.pattern, error="Path must be '/' or start and end with '/' (printable ASCII, max 512)"
        ),
    )
    Tags = fields.List(fields.Nested(TagSchema), load_default=list)


class UserCreateSchema(ma.Schema):
    """``{"User": {...}, "Groups": [...]}``; ``Groups`` defaults to ``["BktAdmGrp"]``."""

    class Meta:
        unknown = ma.RAISE

    User = fields.Nested(NewUserSchema, required=True)
    Groups = fields.List(
        fields.String(validate=validate.OneOf(GROUP_KINDS)),
        load_default=lambda: ["BktAdmGrp"],
        validate=validate.Length(min=1, max=len(GROUP_KINDS), error="Groups must name 1 to 3 group kinds"),
    )


class RotateQuerySchema(ma.Schema):
    """``?grace_seconds=N``: keep the old keys working for N seconds (0 = delete them now; max 7 days)."""

    class Meta:
        unknown = ma.RAISE

    grace_seconds = fields.Integer(load_default=0, strict=False, validate=validate.Range(min=0, max=MAX_GRACE_SECONDS))


# --- responses ------------------------------------------------------------------------------------------


class TagOutSchema(ma.Schema):
    Key = fields.String()
    Value = fields.String()


class UserSchema(ma.Schema):
    """An IAM user as IAM describes it (``Tags`` only where IAM returns them: GetUser, CreateUser)."""

    Path = fields.String()
    UserName = fields.String()
    UserId = fields.String()
    Arn = fields.String()
    CreateDate = fields.DateTime()
    PasswordLastUsed = fields.DateTime()
    PermissionsBoundary = fields.Dict()
    Tags = fields.List(fields.Nested(TagOutSchema))


class NewAccessKeySchema(ma.Schema):
    """A freshly created access key: the only time the secret is ever shown."""

    AccessKeyId = fields.String()
    SecretAccessKey = fields.String()
    Status = fields.String()
    CreateDate = fields.DateTime()
    UserName = fields.String()


class KeyStatusSchema(ma.Schema):
    """PATCH .../users/<u>/keys/<key_id>: ``{"Status": "Active"|"Inactive"}`` (IAM UpdateAccessKey)."""

    class Meta:
        unknown = ma.RAISE

    Status = fields.String(
        required=True,
        validate=validate.OneOf(("Active", "Inactive"), error="Status must be 'Active' or 'Inactive'"),
        metadata={"description": "Inactive: the key stops working at once (kept, can be switched on again)"},
    )


class KeyLastUsedSchema(ma.Schema):
    """GetAccessKeyLastUsed: ``ServiceName`` and ``Region`` are ``"N/A"`` and the date null when never used."""

    ServiceName = fields.String(allow_none=True)
    Region = fields.String(allow_none=True)
    LastUsedDate = fields.DateTime(allow_none=True)


class AccessKeySchema(ma.Schema):
    AccessKeyId = fields.String()
    Status = fields.String()
    CreateDate = fields.DateTime()
    LastUsedDate = fields.DateTime(allow_none=True)
    LastUsed = fields.Nested(KeyLastUsedSchema)


class KeyStatusOutSchema(ma.Schema):
    """A key after its status was set: never the secret."""

    AccessKeyId = fields.String()
    Status = fields.String()
    CreateDate = fields.DateTime()
    LastUsed = fields.Nested(KeyLastUsedSchema)


class RetiringKeySchema(ma.Schema):
    """An old key kept working after a rotation with a grace period, until ``RetireAt``."""

    AccessKeyId = fields.String()
    RetireAt = fields.DateTime()


class AttachedPolicySchema(ma.Schema):
    PolicyName = fields.String()
    PolicyArn = fields.String()


class CreatedUserSchema(ma.Schema):
    User = fields.Nested(UserSchema)
    AccessKey = fields.Nested(NewAccessKeySchema)


class UserDetailSchema(ma.Schema):
    User = fields.Nested(UserSchema)
    AccessKeys = fields.List(fields.Nested(AccessKeySchema))
    Groups = fields.List(fields.Nested(GroupSchema))
    Policies = fields.List(fields.Nested(AttachedPolicySchema))
    RetiringKeys = fields.List(fields.Nested(RetiringKeySchema))


class RotatedKeysSchema(ma.Schema):
    DeletedKeyIds = fields.List(fields.String())
    AccessKey = fields.Nested(NewAccessKeySchema)
    RetiringKeys = fields.List(fields.Nested(RetiringKeySchema))
