"""Objects in a bucket: browse and search, details, delete, batch delete; multipart uploads; presigned links;
usage; and account stats.

Object keys travel in the URL path (``.../objects/<key>``): slashes, double slashes, a leading or trailing
slash, spaces and any UTF-8 arrive intact when percent-encoded as usual (the ``s3key`` converter of
:mod:`s3api.api` matches anything and the rule does not merge slashes). ``.`` and ``..`` segments reach us
unchanged from this server's point of view, but most HTTP clients normalise them away before sending (curl
needs ``--path-as-is``); keys
made of such segments cannot be addressed reliably by URL. The key ``delete`` works for GET and DELETE; only
POST ``objects/delete`` is the batch delete.

Every route here but stats acts only on a bucket this service manages: 404 when the bucket does not exist, 403
when it is not ours (no organisation tag) or is the account's access-log bucket
(:mod:`s3api.provisioning.boundary`).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from flask.views import MethodView

from s3api import audit, runtime
from s3api.api import Blueprint
from s3api.control import isolation, links, quotas, usage
from s3api.jobs.operations import start
from s3api.provisioning import objects
from s3api.schemas.objects import (
    AbortedUploadSchema,
    AbortOlderResultSchema,
    AbortOlderSchema,
    AbortUploadQuery,
    BatchDeleteResultSchema,
    BatchDeleteSchema,
    DeletedObjectSchema,
    ObjectDetailsSchema,
    ObjectListQuery,
    ObjectListSchema,
    PresignResultSchema,
    PresignSchema,
    StatsSchema,
    UploadListQuery,
    UploadListSchema,
    UsageSchema,
)
from s3api.schemas.operations import OperationSchema
from s3api.schemas.usage import HistoryQuery, QuotaInputSchema, QuotaStatusSchema, UsageHistorySchema
from s3api.views.operations import ACCEPTED_HEADERS, accepted, if_busy, starter

blp = Blueprint(
    "objects", __name__, url_prefix="/v1/s3", description="Objects, multipart uploads, presigned links and usage"
)

BUCKET = "/<account:account>/buckets/<bucket:bucket>"


@blp.route(f"{BUCKET}/objects")
class Objects(MethodView):
    @blp.arguments(ObjectListQuery, location="query", unknown=ma.RAISE)  # webargs ignores Meta for queries
    @blp.response(200, ObjectListSchema)
    def get(self, query: dict[str, Any], account: str, bucket: str) -> dict[str, Any]:
        """List keys and folders, one page, optionally searching (a substring of the key, any case)"""
        return objects.list_objects(
            runtime.aws(account),
            bucket,
            prefix=query["prefix"],
            delimiter=query["delimiter"],
            max_keys=query["max_keys"],
            token=query["continuation_token"],
            search=query["search"],
        )


@blp.route(f"{BUCKET}/objects/delete")
class ObjectsDelete(MethodView):
    @blp.arguments(BatchDeleteSchema)
    @blp.response(200, BatchDeleteResultSchema)
    def post(self, body: dict[str, Any], account: str, bucket: str) -> dict[str, Any]:
        """Delete up to 10,000 keys (1,000 per DeleteObjects call); per-key errors are reported"""
        return objects.delete_keys(runtime.aws(account), bucket, body["Keys"])


@blp.route(f"{BUCKET}/objects/<s3key:key>", merge_slashes=False)
class Object(MethodView):
    @blp.response(200, ObjectDetailsSchema)
    def get(self, account: str, bucket: str, key: str) -> dict[str, Any]:
        """One object: size, type, ETag, metadata, version, parts count and tags"""
        return objects.object_details(runtime.aws(account), bucket, key)

    @blp.response(200, DeletedObjectSchema)
    def delete(self, account: str, bucket: str, key: str) -> dict[str, Any]:
        """Delete one object (404 when it does not exist)"""
        return objects.delete_object(runtime.aws(account), bucket, key)


@blp.route(f"{BUCKET}/uploads")
class Uploads(MethodView):
    @blp.arguments(UploadListQuery, location="query", unknown=ma.RAISE)  # webargs ignores Meta for queries
    @blp.response(200, UploadListSchema)
    def get(self, query: dict[str, Any], account: str, bucket: str) -> dict[str, Any]:
        """Incomplete multipart uploads, one page, with parts and bytes uploaded so far"""
        return objects.list_uploads(
            runtime.aws(account),
            bucket,
            prefix=query["prefix"],
            max_uploads=query["max_keys"],
            token=query["continuation_token"],
        )


@blp.route(f"{BUCKET}/uploads/abort")
class UploadsAbort(MethodView):
    @blp.arguments(AbortOlderSchema)
    @blp.response(200, AbortOlderResultSchema)
    def post(self, body: dict[str, Any], account: str, bucket: str) -> dict[str, Any]:
        """Abort incomplete multipart uploads older than a number of seconds (bounded; see Complete)"""
        return objects.abort_older(runtime.aws(account), bucket, body["OlderThanSeconds"])


@blp.route(f"{BUCKET}/uploads/<string:upload_id>")
class Upload(MethodView):
    @blp.arguments(AbortUploadQuery, location="query", unknown=ma.RAISE)  # webargs ignores Meta for queries
    @blp.response(200, AbortedUploadSchema)
    def delete(self, query: dict[str, Any], account: str, bucket: str, upload_id: str) -> dict[str, Any]:
        """Abort one multipart upload of a key (404 when there is no such upload)"""
        return objects.abort_upload(runtime.aws(account), bucket, query["key"], upload_id)


@blp.route(f"{BUCKET}/presign")
class Presign(MethodView):
    @blp.arguments(PresignSchema)
    @blp.response(200, PresignResultSchema)
    def post(self, body: dict[str, Any], account: str, bucket: str) -> dict[str, Any]:
        """A presigned GET or PUT URL for one key, signed by the bucket's (or the Share's) signer and recorded"""
        caller = g.get("caller")
        link = links.issue(
            runtime.current().db,
            runtime.aws(account),
            bucket,
            body["Key"],
            body["Method"],
            body["ExpiresIn"],
            share=body["Share"],
            tenant=caller.tenant if caller else None,
            created_by=caller.log_name if caller else None,
        )
        audit.note({"Link": link["Id"], "Share": link["Share"], "ExpiresAt": link["ExpiresAt"]})
        return link


@blp.route(f"{BUCKET}/usage")
class Usage(MethodView):
    @blp.response(200, UsageSchema)
    def get(self, account: str, bucket: str) -> dict[str, Any]:
        """Bytes and objects stored, with when and how they were measured, and this month's Metering"""
        rt = runtime.current()
        return usage.current(rt.aws(account), rt.usage, bucket)


@blp.route(f"{BUCKET}/usage/history")
class UsageHistory(MethodView):
    @blp.arguments(HistoryQuery, location="query", unknown=ma.RAISE)
    @blp.response(200, UsageHistorySchema)
    def get(self, query: dict[str, Any], account: str, bucket: str) -> dict[str, Any]:
        """The bucket's usage day by day (the daily samples; default the last 30 days)"""
        rt = runtime.current()
        return usage.history(rt.aws(account), rt.usage, bucket, query["start"], query["end"])


@blp.route(f"{BUCKET}/quota")
class BucketQuota(MethodView):
    @blp.response(200, QuotaStatusSchema)
    def get(self, account: str, bucket: str) -> dict[str, Any]:
        """The bucket's quota: limit, usage measured against it, standing alerts, projection, writes denied"""
        rt = runtime.current()
        return quotas.bucket_status(rt.aws(account), quotas.env(rt), bucket)

    @blp.arguments(QuotaInputSchema)
    @blp.response(200, QuotaStatusSchema)
    def put(self, body: dict[str, Any], account: str, bucket: str) -> dict[str, Any]:
        """Set the bucket's quota (checked at once against its last sample: a raised quota lifts a block now)"""
        rt = runtime.current()
        by = g.caller.log_name if g.caller else None
        return quotas.set_bucket_quota(
            rt.aws(account), quotas.env(rt), bucket, body["QuotaBytes"], body["AlertThresholds"], by
        )

    @blp.response(204)
    def delete(self, account: str, bucket: str) -> None:
        """Remove the bucket's quota: writes allowed again, its alerts cleared"""
        rt = runtime.current()
        quotas.delete_bucket_quota(rt.aws(account), quotas.env(rt), bucket)


@blp.route(f"{BUCKET}/usage/recount")
class UsageRecount(MethodView):
    @blp.response(202, OperationSchema, headers=ACCEPTED_HEADERS)
    def post(self, account: str, bucket: str) -> Any:
        """Start an exact count of the whole bucket (operation bucket.recount, no key budget); while one is
        unfinished, a second request answers the same operation (202 again)"""
        aws = runtime.aws(account)
        op, _ = start(runtime.current(), "bucket.recount", aws, {"Bucket": bucket}, starter(), if_busy=if_busy())
        return accepted(op)


@blp.route("/<account:account>/stats")
class Stats(MethodView):
    @blp.response(200, StatsSchema)
    def get(self, account: str) -> dict[str, int]:
        """Counts of buckets, managed buckets, IAM users, websites, incomplete uploads and active presigned links in
        the account; a tenant key: of its own buckets, their users and websites, its own links"""
        return isolation.stats(runtime.current(), g.get("caller"), account)
