"""Buckets: list, create, head, show, update, delete, Cyberduck bookmark (Yale-compatible paths and shapes)."""

from __future__ import annotations

from typing import Any, Callable

import marshmallow as ma
from flask import Response, g
from flask.views import MethodView

from s3api import duck, runtime
from s3api.api import STRING_LIST, Blueprint, ErrorSchema, json_response
from s3api.control import isolation, links
from s3api.jobs.operations import start
from s3api.provisioning import buckets
from s3api.schemas.buckets import (
    BucketCreatedSchema,
    BucketCreateSchema,
    BucketDeleteQuerySchema,
    BucketSchema,
    BucketShowQuerySchema,
    BucketUpdateSchema,
    DuckQuerySchema,
    EmptySchema,
)
from s3api.schemas.operations import OperationSchema
from s3api.views.operations import accepted, if_busy, starter

blp = Blueprint("buckets", __name__, url_prefix="/v1/s3", description="S3 buckets")

DUCK_MIMETYPE = "application/x-plist"
STRING = {"type": "string"}
WHY = {403: "the bucket is not ours", 404: "no such bucket", 409: "conflict: see the message"}


def errors(*statuses: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document the error answers a route gives besides 400 (the JSON error envelope)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for status in statuses:
            fn = blp.alt_response(status, schema=ErrorSchema, description=WHY[status])(fn)
        return fn

    return decorate


@blp.route("/<account:account>/buckets")
class Buckets(MethodView):
    @json_response(blp, STRING_LIST)
    def get(self, account: str) -> list[str]:
        """Names of every bucket in the account (a tenant key: its own buckets)"""
        return isolation.bucket_names(runtime.current(), g.get("caller"), account)

    @blp.arguments(BucketCreateSchema)
    @blp.response(200, BucketCreatedSchema)
    @errors(409)
    def post(self, body: dict[str, Any], account: str) -> dict[str, Any]:
        """Create a bucket with its admin policy and group (rolled back on failure); a tenant key's is tagged with
        its tenant, within its plan's MaxBuckets (409 beyond) and storage class"""
        return isolation.create_bucket(runtime.current(), g.get("caller"), account, body)


@blp.route("/<account:account>/buckets/<bucket:bucket>")
class Bucket(MethodView):
    @blp.arguments(BucketShowQuerySchema, location="query", unknown=ma.RAISE)  # webargs ignores Meta for queries
    @blp.response(200, BucketSchema)
    @errors(403, 404)
    def get(self, query: dict[str, list[str]], account: str, bucket: str) -> dict[str, Any]:
        """Tags, logging, emptiness (3 AWS calls); ?include= adds region, encryption, versioning, ... (1 each)"""
        aws = runtime.aws(account)
        return buckets.show(aws, bucket, query["include"])

    @blp.response(200)
    @errors(403, 404)
    def head(self, account: str, bucket: str) -> Response:
        """200 when the bucket exists and is ours, 404 when missing, 403 when not ours"""
        buckets.head(runtime.aws(account), bucket)
        return Response(status=200)

    @blp.arguments(BucketUpdateSchema)
    @blp.response(200, EmptySchema)
    @errors(403, 404)
    def put(self, body: dict[str, Any], account: str, bucket: str) -> dict[str, Any]:
        """Replace the tags (when given; the org tag stays) and/or set the bucket policy"""
        aws = runtime.aws(account)
        buckets.update(aws, bucket, body["Tags"], body["BucketPolicy"])
        return {}

    @blp.arguments(BucketDeleteQuerySchema, location="query", unknown=ma.RAISE)  # webargs ignores Meta for queries
    @blp.response(
        202,
        OperationSchema,
        description="force=true: the operation that empties and deletes the bucket (Location: its URL)",
        headers={"Location": {"schema": STRING}},
    )
    @blp.alt_response(200, schema=EmptySchema, description="the empty bucket was deleted (no force)", success=True)
    @errors(403, 404, 409)
    def delete(self, query: dict[str, bool], account: str, bucket: str) -> Any:
        """Delete an empty bucket, its groups, policies, users left without access; ?force=true: all it holds (202)"""
        aws = runtime.aws(account)
        if query["force"]:
            op, _ = start(runtime.current(), "bucket.delete", aws, {"Bucket": bucket}, starter(), if_busy=if_busy())
            return accepted(op)
        links.delete_bucket(runtime.current().db, aws, bucket)  # the bucket, then its share-link signers
        return {}, 200


@blp.route("/<account:account>/buckets/<bucket:bucket>/duck")
class Duck(MethodView):
    @blp.arguments(DuckQuerySchema, location="query", unknown=ma.RAISE)  # webargs ignores Meta for queries
    @blp.response(200, content_type=DUCK_MIMETYPE)
    @blp.doc(responses={"200": {"description": "the bookmark", "content": {DUCK_MIMETYPE: {"schema": STRING}}}})
    def get(self, query: dict[str, str], account: str, bucket: str) -> Response:
        """Cyberduck bookmark (.duck) for the bucket, opening at ?path= (no AWS call)"""
        aws = runtime.aws(account)
        body = duck.duck_bookmark(bucket, query["path"], endpoint=aws.account.s3_endpoint)
        response = Response(body, mimetype=DUCK_MIMETYPE)
        response.headers["Content-Disposition"] = f"attachment; filename={duck.filename(bucket, query['path'])}"
        return response
