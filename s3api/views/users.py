"""Bucket users: create (with an access key), list, show, rotate keys (with a grace period), switch a key off
and on, delete."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from s3api import runtime
from s3api.api import Blueprint
from s3api.provisioning import users
from s3api.schemas.buckets import EmptySchema
from s3api.schemas.users import (
    CreatedUserSchema,
    KeyStatusOutSchema,
    KeyStatusSchema,
    RotatedKeysSchema,
    RotateQuerySchema,
    UserCreateSchema,
    UserDetailSchema,
    UserSchema,
)

blp = Blueprint("users", __name__, url_prefix="/v1/s3", description="Bucket users and their access keys")


@blp.route("/<account:account>/buckets/<bucket:bucket>/users")
class BucketUsers(MethodView):
    @blp.response(200, UserSchema(many=True))
    def get(self, account: str, bucket: str) -> list[dict[str, Any]]:
        """Users of a bucket: the members of its admin, read-write and read-only groups"""
        return users.list_bucket_users(runtime.aws(account), bucket)

    @blp.arguments(UserCreateSchema)
    @blp.response(200, CreatedUserSchema)
    def post(self, body: dict[str, Any], account: str, bucket: str) -> dict[str, Any]:
        """Create a bucket user in the given groups, with an access key (its secret is shown only here)"""
        user = body["User"]
        new = users.NewUser(name=user["UserName"], path=user["Path"], tags=user["Tags"])
        return users.create_bucket_user(runtime.aws(account), bucket, new, body["Groups"])


@blp.route("/<account:account>/buckets/<bucket:bucket>/users/<user:user>")
class BucketUser(MethodView):
    @blp.response(200, UserDetailSchema)
    def get(self, account: str, bucket: str, user: str) -> dict[str, Any]:
        """One bucket user: access keys (status, created, last used), groups, attached policies"""
        return users.show_bucket_user(runtime.aws(account), bucket, user)

    @blp.arguments(RotateQuerySchema, location="query", unknown=ma.RAISE)  # webargs would EXCLUDE for query
    @blp.response(200, RotatedKeysSchema)
    def put(self, query: dict[str, Any], account: str, bucket: str, user: str) -> dict[str, Any]:
        """Rotate a bucket user's access keys; old keys keep working for grace_seconds (default 0)"""
        aws = runtime.aws(account)
        return users.rotate_bucket_user_keys(aws, bucket, user, grace_seconds=query["grace_seconds"])

    @blp.response(200, EmptySchema)
    def delete(self, account: str, bucket: str, user: str) -> dict[str, Any]:
        """Delete a bucket user: keys, group memberships and the bucket's attached policies first"""
        users.delete_bucket_user(runtime.aws(account), bucket, user)
        return {}


@blp.route("/<account:account>/buckets/<bucket:bucket>/users/<user:user>/keys/<string:key_id>")
class BucketUserKey(MethodView):
    @blp.arguments(KeyStatusSchema)
    @blp.response(200, KeyStatusOutSchema)
    def patch(self, body: dict[str, Any], account: str, bucket: str, user: str, key_id: str) -> dict[str, Any]:
        """Switch a bucket user's access key off (Inactive: refused at once, kept) or on again (Active)"""
        return users.set_bucket_user_key_status(runtime.aws(account), bucket, user, key_id, body["Status"])
