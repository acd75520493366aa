"""S3 gateway: one function per logical S3 operation, taking an ``AccountAws`` and plain values.

Bucket-level operations come first; object-level operations follow at the end of the module.
Every function is wrapped by ``@gateway("s3")``: botocore errors leave as our ``ApiError``s.

AWS quirks handled here (moto differs):
- In us-east-1 CreateBucket answers 200 for a bucket the caller already owns; callers must HeadBucket first.
- New buckets on AWS default to SSE-S3, Block Public Access on and BucketOwnerEnforced; moto has none of these,
  so the getters answer ``None`` for "not configured" instead of raising.
- ``HeadBucket`` errors carry no body: the code is the HTTP status as a string (``"404"``, ``"403"``).
- Tag values are read with ``.get("Value", "")`` (moto drops empty values).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from s3api import concurrency
from s3api.aws.clients import AccountAws
from s3api.aws.translate import gateway, http_status, is_code
from s3api.errors import NotFound
from s3api.names import Tag

#: Bucket tag naming the CloudFront distribution that serves the bucket as a website (set by websites).
DISTRIBUTION_TAG = "s3api:distribution"


# --- buckets: existence, create, delete, list -------------------------------------------------------------


def _missing(exc: ClientError) -> bool:
    return http_status(exc) == 404 or is_code(exc, "NoSuchBucket", "NotFound", "404")


@gateway("s3", "HeadBucket")
def head_bucket(aws: AccountAws, bucket: str) -> dict[str, Any] | None:
    """HeadBucket: the response (``BucketRegion`` ...) when the bucket exists and is ours, ``None`` on 404.

    403 (the bucket exists but belongs to someone else, or we may not see it) raises Forbidden.
    """
    try:
        resp: dict[str, Any] = aws.s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if _missing(exc):
            return None
        raise
    return resp


def require_bucket(aws: AccountAws, bucket: str, what: str = "bucket") -> dict[str, Any]:
    """:func:`head_bucket`, or 404 naming the bucket (``what``: "website" for a site's bucket). Not a gateway
    function of its own: the one call is :func:`head_bucket`'s."""
    head = head_bucket(aws, bucket)
    if head is None:
        raise NotFound(f"{what} '{bucket}' does not exist")
    return head


def region_of(aws: AccountAws, head: Mapping[str, Any]) -> str:
    """The bucket's region from its HeadBucket answer (the account's region when AWS does not say)."""
    headers = head.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return str(head.get("BucketRegion") or headers.get("x-amz-bucket-region") or aws.account.region)


@gateway("s3", "CreateBucket")
def create_bucket(aws: AccountAws, bucket: str) -> None:
    """CreateBucket in the account's region (LocationConstraint outside us-east-1).

    BucketAlreadyOwnedByYou / BucketAlreadyExists become 409. In us-east-1 AWS answers 200 when the caller
    already owns the bucket: this call alone never proves that *this* request created it.
    """
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if aws.account.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": aws.account.region}
    aws.s3.create_bucket(**kwargs)


@gateway("s3", "HeadBucket")
def wait_bucket_exists(aws: AccountAws, bucket: str, delay: int = 2, max_attempts: int = 10) -> None:
    """Bounded wait (``delay`` x ``max_attempts`` seconds at most) until HeadBucket sees the bucket."""
    aws.s3.get_waiter("bucket_exists").wait(Bucket=bucket, WaiterConfig={"Delay": delay, "MaxAttempts": max_attempts})


@gateway("s3", "DeleteBucket")
def delete_bucket(aws: AccountAws, bucket: str, missing_ok: bool = False) -> bool:
    """DeleteBucket. True when deleted; False when already gone and ``missing_ok``. BucketNotEmpty → 409."""
    try:
        aws.s3.delete_bucket(Bucket=bucket)
    except ClientError as exc:
        if missing_ok and _missing(exc):
            return False
        raise
    return True


@gateway("s3", "ListBuckets")
def list_buckets(aws: AccountAws) -> list[str]:
    """Names of every bucket of the account (no page size: moto loses pages when one is given)."""
    names: list[str] = []
    for page in aws.s3.get_paginator("list_buckets").paginate():
        names.extend(b["Name"] for b in page.get("Buckets", []))
    return names


@gateway("s3", "ListBuckets")
def list_buckets_dated(aws: AccountAws) -> list[tuple[str, datetime | None]]:
    """``(name, creation date)`` of every bucket of the account: the date tells a re-created bucket of the same
    name from the one seen before (tenant ownership is cached by both)."""
    found: list[tuple[str, datetime | None]] = []
    for page in aws.s3.get_paginator("list_buckets").paginate():
        found.extend((b["Name"], b.get("CreationDate")) for b in page.get("Buckets", []))
    return found


@gateway("s3", "ListBuckets")
def probe(aws: AccountAws) -> None:
    """Readiness: one cheap call proving the backend answers and accepts the service's credentials (ListBuckets
    of at most one bucket, on the probe client: short timeouts, no retries). Raises our error when it does not."""
    aws.probe_client("s3").list_buckets(MaxBuckets=1)


@gateway("s3", "ListObjectVersions")
def is_empty(aws: AccountAws, bucket: str) -> bool:
    """True when the bucket holds no object versions and no delete markers (what DeleteBucket requires)."""
    resp = aws.s3.list_object_versions(Bucket=bucket, MaxKeys=1)
    return not (resp.get("Versions") or resp.get("DeleteMarkers"))


# --- tags -------------------------------------------------------------------------------------------------


def _optional(call: Callable[..., Any], missing: tuple[str, ...], **params: Any) -> dict[str, Any] | None:
    """``call(**params)``'s response, or None when S3 answers one of the ``missing`` codes (nothing set)."""
    try:
        resp: dict[str, Any] = call(**params)
    except ClientError as exc:
        if is_code(exc, *missing):
            return None
        raise
    return resp


def _tag_set(resp: dict[str, Any] | None) -> list[Tag]:
    """A TagSet as ``[{"Key", "Value"}]`` (moto drops the Value of an empty tag)."""
    return [{"Key": t["Key"], "Value": t.get("Value", "")} for t in (resp or {}).get("TagSet", [])]


@gateway("s3", "GetBucketTagging")
def get_tags(aws: AccountAws, bucket: str) -> list[Tag]:
    """The bucket's tag set (``[]`` when none: NoSuchTagSet). NoSuchBucket → 404."""
    return _tag_set(_optional(aws.s3.get_bucket_tagging, ("NoSuchTagSet", "NoSuchTagSetError"), Bucket=bucket))


@gateway("s3", "PutBucketTagging")
def put_tags(aws: AccountAws, bucket: str, tags: list[Tag]) -> None:
    """PutBucketTagging: replaces the whole tag set."""
    aws.s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})


# --- configuration: lifecycle, encryption, public access, ownership, logging, policy -----------------------


@gateway("s3", "PutBucketLifecycleConfiguration")
def put_lifecycle(aws: AccountAws, bucket: str, configuration: dict[str, Any]) -> None:
    """PutBucketLifecycleConfiguration with ``{"Rules": [...]}``."""
    aws.s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=configuration)


@gateway("s3", "GetBucketLifecycleConfiguration")
def get_lifecycle_rules(aws: AccountAws, bucket: str) -> list[dict[str, Any]]:
    """The lifecycle rules (``[]`` when none)."""
    resp = _optional(aws.s3.get_bucket_lifecycle_configuration, ("NoSuchLifecycleConfiguration",), Bucket=bucket)
    return list((resp or {}).get("Rules", []))


@gateway("s3", "PutBucketEncryption")
def put_default_encryption(aws: AccountAws, bucket: str) -> None:
    """Default encryption SSE-S3 (AES256): AWS's default since 2023, explicit because moto has none."""
    aws.s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


@gateway("s3", "GetBucketEncryption")
def get_encryption(aws: AccountAws, bucket: str) -> dict[str, Any] | None:
    """``ServerSideEncryptionConfiguration`` (``{"Rules": [...]}``) or None when not configured."""
    missing = ("ServerSideEncryptionConfigurationNotFoundError",)
    resp = _optional(aws.s3.get_bucket_encryption, missing, Bucket=bucket)
    return None if resp is None else resp.get("ServerSideEncryptionConfiguration")


@gateway("s3", "PutPublicAccessBlock")
def block_public_access(aws: AccountAws, bucket: str) -> None:
    """Public access block with all four flags on (AWS's default since 2023; moto has no default)."""
    aws.s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


@gateway("s3", "GetPublicAccessBlock")
def get_public_access_block(aws: AccountAws, bucket: str) -> dict[str, Any] | None:
    """``PublicAccessBlockConfiguration`` (four booleans) or None when none is set."""
    resp = _optional(aws.s3.get_public_access_block, ("NoSuchPublicAccessBlockConfiguration",), Bucket=bucket)
    return None if resp is None else resp.get("PublicAccessBlockConfiguration")


@gateway("s3", "PutBucketOwnershipControls")
def enforce_bucket_owner(aws: AccountAws, bucket: str) -> None:
    """Object ownership BucketOwnerEnforced (ACLs disabled): AWS's default, explicit because moto has none."""
    aws.s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )


@gateway("s3", "PutBucketLogging")
def put_logging(aws: AccountAws, bucket: str, target_bucket: str, target_prefix: str) -> None:
    """Server access logging into ``target_bucket`` under ``target_prefix``.

    The target needs a bucket policy allowing ``logging.s3.amazonaws.com`` (policies.log_delivery_policy).
    """
    aws.s3.put_bucket_logging(
        Bucket=bucket,
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": target_bucket, "TargetPrefix": target_prefix}},
    )


@gateway("s3", "GetBucketLogging")
def get_logging(aws: AccountAws, bucket: str) -> dict[str, Any] | None:
    """``LoggingEnabled`` (``TargetBucket``, ``TargetPrefix`` ...) or None when logging is off."""
    resp = aws.s3.get_bucket_logging(Bucket=bucket)
    enabled: dict[str, Any] | None = resp.get("LoggingEnabled")
    return enabled


@gateway("s3", "GetBucketVersioning")
def get_versioning(aws: AccountAws, bucket: str) -> str:
    """``Enabled``, ``Suspended`` or ``Disabled`` (never enabled: AWS answers without a Status)."""
    status: str = aws.s3.get_bucket_versioning(Bucket=bucket).get("Status") or "Disabled"
    return status


@gateway("s3", "GetBucketWebsite")
def get_website(aws: AccountAws, bucket: str) -> dict[str, Any] | None:
    """The website configuration (IndexDocument, ErrorDocument, RoutingRules ...) or None."""
    resp = _optional(aws.s3.get_bucket_website, ("NoSuchWebsiteConfiguration",), Bucket=bucket)
    return None if resp is None else {k: v for k, v in resp.items() if k != "ResponseMetadata"}


#: the id of our request metrics configuration (the whole bucket), the FilterId of its CloudWatch metrics
METRICS_ID = "s3api-traffic"


@gateway("s3", "PutBucketMetricsConfiguration")
def put_request_metrics(aws: AccountAws, bucket: str) -> None:
    """Switch S3 request metrics on for the whole bucket (:data:`METRICS_ID`): CloudWatch then publishes its
    BytesDownloaded, BytesUploaded and AllRequests per minute, billed as custom metrics."""
    aws.s3.put_bucket_metrics_configuration(Bucket=bucket, Id=METRICS_ID, MetricsConfiguration={"Id": METRICS_ID})


@gateway("s3", "GetBucketPolicy")
def get_bucket_policy(aws: AccountAws, bucket: str) -> str | None:
    """The bucket policy's JSON text, or None when the bucket has none (NoSuchBucketPolicy). NoSuchBucket → 404."""
    resp = _optional(aws.s3.get_bucket_policy, ("NoSuchBucketPolicy",), Bucket=bucket)
    return None if resp is None else str(resp["Policy"])


@gateway("s3", "DeleteBucketPolicy")
def delete_bucket_policy(aws: AccountAws, bucket: str) -> None:
    """DeleteBucketPolicy (nothing happens when there is none)."""
    aws.s3.delete_bucket_policy(Bucket=bucket)


@gateway("s3", "PutBucketPolicy")
def put_bucket_policy(aws: AccountAws, bucket: str, policy: str) -> None:
    """PutBucketPolicy with a JSON document (validate it first: moto accepts anything)."""
    aws.s3.put_bucket_policy(Bucket=bucket, Policy=policy)


# --- objects, uploads, presigned links, usage ---
#
# Listing uses StartAfter (a key or folder we already returned), never S3's opaque ContinuationToken across
# requests: the API's tokens stay ours to validate (moto crashes on a forged S3 token) and one resume rule
# serves plain listings and searches alike. Inside one request, pages follow S3's own ContinuationToken.


def _utc(value: Any) -> datetime | None:
    """A botocore timestamp as an aware UTC datetime (moto sometimes answers in tzlocal)."""
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _etag_parts(etag: str) -> int | None:
    """Parts count from a multipart ETag (``"<md5 of md5s>-<n>"``); None for a single-part upload."""
    tail = etag.strip('"').rpartition("-")[2]
    return int(tail) if "-" in etag and tail.isdigit() else None


@gateway("s3", "ListObjectsV2")
def list_objects_page(
    aws: AccountAws,
    bucket: str,
    *,
    prefix: str,
    delimiter: str | None,
    max_keys: int,
    start_after: str | None = None,
    continuation_token: str | None = None,
) -> dict[str, Any]:
    """One ListObjectsV2 call: ``{"Contents", "CommonPrefixes", "IsTruncated", "NextContinuationToken"}``.

    ``Contents`` items are ``{"Key", "Size", "LastModified", "ETag", "StorageClass"}``; ``CommonPrefixes`` is a
    list of strings. NoSuchBucket → 404. botocore asks for EncodingType=url and decodes the answer, so keys with
    control characters survive on AWS (moto answers 500 to a StartAfter holding one: it echoes it into XML).
    """
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": max_keys}
    if delimiter:
        kwargs["Delimiter"] = delimiter
    if continuation_token:
        kwargs["ContinuationToken"] = continuation_token
    elif start_after:
        kwargs["StartAfter"] = start_after
    resp = aws.s3.list_objects_v2(**kwargs)
    contents = [
        {
            "Key": o["Key"],
            "Size": int(o.get("Size", 0)),
            "LastModified": _utc(o.get("LastModified")),
            "ETag": o.get("ETag", ""),
            "StorageClass": o.get("StorageClass") or "STANDARD",
        }
        for o in resp.get("Contents", [])
    ]
    return {
        "Contents": contents,
        "CommonPrefixes": [p["Prefix"] for p in resp.get("CommonPrefixes", []) if "Prefix" in p],
        "IsTruncated": bool(resp.get("IsTruncated")),
        "NextContinuationToken": resp.get("NextContinuationToken"),
    }


def _object_missing(aws: AccountAws, bucket: str, key: str) -> NotFound:
    """HeadObject's 404 has no body: one HeadBucket tells a missing bucket from a missing key."""
    if head_bucket(aws, bucket) is None:
        return NotFound(f"bucket {bucket!r} not found")
    return NotFound(f"object {key!r} not found in bucket {bucket!r}")


def _head_object(aws: AccountAws, bucket: str, key: str) -> dict[str, Any]:
    try:
        resp: dict[str, Any] = aws.s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _missing(exc) or is_code(exc, "NoSuchKey"):
            raise _object_missing(aws, bucket, key) from exc
        raise
    return resp


NO_OBJECT_TAGGING = ("NotImplemented", "MethodNotAllowed")  # S3-compatible stores without object tagging


def _object_tags(aws: AccountAws, bucket: str, key: str) -> list[Tag] | None:
    """The object's tags; None when the backend has no object tagging (S3-compatible stores)."""
    resp = _optional(aws.s3.get_object_tagging, NO_OBJECT_TAGGING, Bucket=bucket, Key=key)
    return None if resp is None else _tag_set(resp)


@gateway("s3", "HeadObject", "GetObjectTagging")
def object_details(aws: AccountAws, bucket: str, key: str) -> dict[str, Any]:
    """HeadObject and GetObjectTagging, overlapped (two threads, one round trip of latency).

    404 names the missing thing (bucket or key). ``PartsCount`` comes from the multipart ETag suffix
    (``-<n>``): HeadObject reports it only for a ``PartNumber`` request, which would also change
    ``ContentLength`` to the part's size. None for single-part objects. ``StorageClass`` is absent from
    HeadObject for STANDARD and is filled in. ``VersionId`` is None on unversioned buckets.
    """
    # gather raises the first failure in key order: a missing key or bucket outranks a tagging failure
    found = concurrency.gather(
        {"head": lambda: _head_object(aws, bucket, key), "tags": lambda: _object_tags(aws, bucket, key)}
    )
    head = found["head"]
    etag = str(head.get("ETag", ""))
    version = head.get("VersionId")
    return {
        "Key": key,
        "Size": int(head.get("ContentLength", 0)),
        "ContentType": head.get("ContentType"),
        "ETag": etag,
        "LastModified": _utc(head.get("LastModified")),
        "StorageClass": head.get("StorageClass") or "STANDARD",
        "Metadata": dict(head.get("Metadata") or {}),
        "VersionId": version if version and version != "null" else None,
        "PartsCount": _etag_parts(etag),
        "Tags": found["tags"],
    }


@gateway("s3", "HeadObject", "DeleteObject")
def delete_object(aws: AccountAws, bucket: str, key: str) -> None:
    """HeadObject, then DeleteObject: S3's DeleteObject answers 204 for a missing key, we answer 404.

    On a versioned bucket this adds a delete marker (the versions stay), as S3 does.
    """
    _head_object(aws, bucket, key)
    aws.s3.delete_object(Bucket=bucket, Key=key)


MAX_DELETE_BATCH = 1000  # DeleteObjects' limit per call


@gateway("s3", "DeleteObjects")
def delete_objects(aws: AccountAws, bucket: str, keys: list[str]) -> dict[str, list[Any]]:
    """One DeleteObjects call (``Quiet=False``) for at most 1,000 keys: ``{"Deleted": [keys], "Errors": [...]}``.

    S3 reports a key that did not exist as deleted. Errors are ``{"Key", "Code", "Message"}`` per key.
    """
    if not 1 <= len(keys) <= MAX_DELETE_BATCH:
        raise ValueError(f"delete_objects takes 1..{MAX_DELETE_BATCH} keys")
    resp = aws.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": False})
    return {
        "Deleted": [d["Key"] for d in resp.get("Deleted", []) if "Key" in d],
        "Errors": [
            {"Key": e.get("Key", ""), "Code": e.get("Code", ""), "Message": e.get("Message", "")}
            for e in resp.get("Errors", [])
        ],
    }


@gateway("s3", "DeleteObjects", actions=("s3:DeleteObjectVersion",))
def delete_versions(aws: AccountAws, bucket: str, versions: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One DeleteObjects call (``Quiet``: S3 answers only the failures) for at most 1,000 entries ``{"Key",
    "VersionId"}`` as ListObjectVersions lists them (object versions and delete markers alike; ``"null"`` is
    the version of an object written while versioning was off). Answers the errors, ``[{"Key", "VersionId",
    "Code", "Message"}]``; every entry not among them is gone.

    With a ``VersionId`` S3 removes that version (or delete marker) for good and adds no delete marker; a key
    sent *without* one on a versioned bucket would only get a new delete marker (moto is lenient about it, AWS
    is not), so an entry without a ``VersionId`` (a backend that lists none) is sent as a plain key, for
    unversioned buckets only. S3 counts a version that no longer exists as deleted: retry-safe. Deleting a
    version needs ``s3:DeleteObjectVersion`` besides ``s3:DeleteObject``.
    """
    if not 1 <= len(versions) <= MAX_DELETE_BATCH:
        raise ValueError(f"delete_versions takes 1..{MAX_DELETE_BATCH} versions")
    objects = [
        {"Key": v["Key"], "VersionId": v["VersionId"]} if v.get("VersionId") else {"Key": v["Key"]} for v in versions
    ]
    resp = aws.s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
    return [
        {
            "Key": e.get("Key", ""),
            "VersionId": e.get("VersionId"),
            "Code": e.get("Code", ""),
            "Message": e.get("Message", ""),
        }
        for e in resp.get("Errors", [])
    ]


@gateway("s3", "ListMultipartUploads")
def list_uploads_page(
    aws: AccountAws,
    bucket: str,
    *,
    prefix: str,
    max_uploads: int,
    key_marker: str | None = None,
    upload_id_marker: str | None = None,
) -> dict[str, Any]:
    """One ListMultipartUploads call: ``{"Uploads": [{"Key", "UploadId", "Initiated", "StorageClass"}],
    "IsTruncated", "NextKeyMarker", "NextUploadIdMarker"}`` with at most ``max_uploads`` uploads.

    The markers and the page size are also applied to the answer, because moto ignores MaxUploads, KeyMarker
    and UploadIdMarker (it always returns everything). On S3 that filtering is a no-op. When the answer holds
    more than ``max_uploads``, the page is cut and the markers point at its last upload.
    """
    kwargs: dict[str, Any] = {"Bucket": bucket, "MaxUploads": max_uploads}
    if prefix:
        kwargs["Prefix"] = prefix
    if key_marker:
        kwargs["KeyMarker"] = key_marker
        if upload_id_marker:
            kwargs["UploadIdMarker"] = upload_id_marker
    resp = aws.s3.list_multipart_uploads(**kwargs)
    uploads = [
        {
            "Key": u["Key"],
            "UploadId": u["UploadId"],
            "Initiated": _utc(u.get("Initiated")),
            "StorageClass": u.get("StorageClass") or "STANDARD",
        }
        for u in resp.get("Uploads", [])
        if "Key" in u and "UploadId" in u
    ]
    if key_marker:
        ids = [u["UploadId"] for u in uploads]
        if upload_id_marker and upload_id_marker in ids:  # the backend ignored the markers
            uploads = uploads[ids.index(upload_id_marker) + 1 :]
        uploads = [u for u in uploads if u["Key"] > key_marker or (upload_id_marker and u["Key"] == key_marker)]
    truncated = bool(resp.get("IsTruncated"))
    next_key, next_id = resp.get("NextKeyMarker"), resp.get("NextUploadIdMarker")
    if len(uploads) > max_uploads:
        uploads = uploads[:max_uploads]
        truncated = True
        next_key, next_id = uploads[-1]["Key"], uploads[-1]["UploadId"]
    elif truncated and not next_key and uploads:
        next_key, next_id = uploads[-1]["Key"], uploads[-1]["UploadId"]
    return {"Uploads": uploads, "IsTruncated": truncated, "NextKeyMarker": next_key, "NextUploadIdMarker": next_id}


MAX_PART_PAGES = 10  # S3 allows 10,000 parts per upload; ListParts answers up to 1,000 per page


@gateway("s3", "ListParts")
def upload_parts(aws: AccountAws, bucket: str, key: str, upload_id: str) -> tuple[int, int] | None:
    """``(parts, bytes)`` uploaded so far (ListParts, at most 10 pages); None when the upload is gone."""
    count = size = 0
    try:
        pages = aws.s3.get_paginator("list_parts").paginate(
            Bucket=bucket, Key=key, UploadId=upload_id, PaginationConfig={"MaxItems": MAX_PART_PAGES * 1000}
        )
        for page in pages:
            for part in page.get("Parts", []):
                count += 1
                size += int(part.get("Size", 0))
    except ClientError as exc:
        if is_code(exc, "NoSuchUpload"):
            return None
        raise
    return count, size


@gateway("s3", "AbortMultipartUpload")
def abort_upload(aws: AccountAws, bucket: str, key: str, upload_id: str, missing_ok: bool = False) -> bool:
    """AbortMultipartUpload. NoSuchUpload → 404, or False with ``missing_ok``."""
    try:
        aws.s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except ClientError as exc:
        if missing_ok and is_code(exc, "NoSuchUpload"):
            return False
        if is_code(exc, "NoSuchUpload"):
            raise NotFound(f"no multipart upload {upload_id!r} for key {key!r} in bucket {bucket!r}") from exc
        raise
    return True


def _credentials_expiry(client: Any) -> datetime | None:
    """When the client's signing credentials expire (assumed-role sessions), or None for long-term keys."""
    creds = getattr(getattr(client, "_request_signer", None), "_credentials", None)
    return _utc(getattr(creds, "_expiry_time", None))


_PRESIGN_LOCK = threading.Lock()
_PRESIGN_CLIENTS: weakref.WeakSet[Any] = weakref.WeakSet()


def _presign_sigv4(signature_version: Any = None, context: Any = None, **_: Any) -> str | None:
    """choose-signer hook: presign with SigV4. Without ``signature_version`` in the client config botocore
    presigns S3 URLs with SigV2 (no longer accepted for new buckets, and not the 7-day SigV4 expiry rules);
    normal requests keep botocore's choice."""
    if isinstance(signature_version, str) and signature_version.endswith("-query"):
        return "s3v4-query"
    return None


@gateway("s3", "GetObject", "PutObject")  # signed, not sent: the URL acts with the role's permissions
def presign(
    aws: AccountAws, bucket: str, key: str, method: str, expires_in: int, signer: tuple[str, str] | None = None
) -> dict[str, Any]:
    """A SigV4 presigned GET or PUT URL for ``key``, signed by the account's S3 client for its endpoint, or
    with ``signer`` = (access key id, secret): a share-link signer's key (the URL then acts with that IAM
    user's permissions and dies with that key).

    No AWS call: the bucket's existence is the caller's check. ``ExpiresAt`` is when the URL stops working:
    ``now + expires_in``, or earlier when the signing credentials are an assumed-role session that
    expires first (a presigned URL dies with its session).
    """
    client_method = {"GET": "get_object", "PUT": "put_object"}[method]
    client = aws.s3 if signer is None else aws.signing_s3(*signer)
    with _PRESIGN_LOCK:  # once per client: registering while another thread emits is not safe
        if client not in _PRESIGN_CLIENTS:
            client.meta.events.register_first("choose-signer.s3", _presign_sigv4, unique_id="s3api-presign-sigv4")
            _PRESIGN_CLIENTS.add(client)
    url = client.generate_presigned_url(
        ClientMethod=client_method, Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in, HttpMethod=method
    )
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=expires_in)
    session_end = _credentials_expiry(client)
    if session_end is not None and session_end < expires_at:
        expires_at = session_end
    return {"Url": url, "Method": method, "ExpiresAt": expires_at}


@gateway("s3", "ListObjectsV2")
def usage_by_listing(aws: AccountAws, bucket: str, budget: int) -> dict[str, Any]:
    """Sum sizes and count current objects with ListObjectsV2, reading at most ``budget`` keys.

    ``{"Bytes", "Objects", "Complete"}``; Complete is false when the budget ran out first. Noncurrent
    versions and incomplete multipart uploads are not counted (they are not in ListObjectsV2).
    """
    total = count = 0
    kwargs: dict[str, Any] = {"Bucket": bucket}
    for _ in range(budget // 1000 + 5):  # a page holds up to 1,000 keys; the slack covers short pages
        resp = aws.s3.list_objects_v2(MaxKeys=min(1000, budget - count), **kwargs)
        for obj in resp.get("Contents", []):
            total += int(obj.get("Size", 0))
            count += 1
        token = resp.get("NextContinuationToken")
        if not resp.get("IsTruncated") or not token:
            return {"Bytes": total, "Objects": count, "Complete": True}
        if count >= budget:
            return {"Bytes": total, "Objects": count, "Complete": False}
        kwargs["ContinuationToken"] = token
    return {"Bytes": total, "Objects": count, "Complete": False}


@gateway("s3", "ListObjectsV2")
def usage_page(aws: AccountAws, bucket: str, token: str | None = None) -> dict[str, Any]:
    """One ListObjectsV2 page (up to 1,000 keys) summed: ``{"Objects", "Bytes", "ByStorageClass": {class:
    [objects, bytes]}, "Next"}``; ``Next`` is the continuation token of the next page, None after the last.
    Current objects only, as :func:`usage_by_listing` (no noncurrent versions, no incomplete uploads)."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "MaxKeys": 1000}
    if token:
        kwargs["ContinuationToken"] = token
    resp = aws.s3.list_objects_v2(**kwargs)
    total = count = 0
    by_class: dict[str, list[int]] = {}
    for obj in resp.get("Contents", []):
        size = int(obj.get("Size", 0))
        total += size
        count += 1
        found = by_class.setdefault(str(obj.get("StorageClass") or "STANDARD"), [0, 0])
        found[0] += 1
        found[1] += size
    following = resp.get("NextContinuationToken") if resp.get("IsTruncated") else None
    return {"Objects": count, "Bytes": total, "ByStorageClass": by_class, "Next": following or None}


# --- websites: configuration, public access for the public-website model, default pages ---
# Used by provisioning/websites.py. A default page is an object this API wrote (tagged, see the workflow);
# versions are read so that a versioned bucket's history counts as content.


@gateway("s3", "PutBucketWebsite")
def put_website(aws: AccountAws, bucket: str, configuration: dict[str, Any]) -> None:
    """PutBucketWebsite with S3's WebsiteConfiguration (IndexDocument, ErrorDocument, RoutingRules ...)."""
    aws.s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=configuration)


@gateway("s3", "PutPublicAccessBlock")
def put_public_access_block(aws: AccountAws, bucket: str, configuration: dict[str, bool]) -> None:
    """PutPublicAccessBlock with the four flags given (see :func:`block_public_access` for all on)."""
    aws.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=configuration)


@gateway("s3", "HeadObject")
def object_exists(aws: AccountAws, bucket: str, key: str) -> bool:
    """HeadObject: True when ``key`` exists, False on 404 (Yale used GetObject and treated every error as
    "missing"; here 403 and every other error stay errors)."""
    try:
        aws.s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if http_status(exc) == 404 or is_code(exc, "NoSuchKey", "NotFound", "404"):
            return False
        raise
    return True


@gateway("s3", "PutObject", actions=("s3:PutObjectTagging",))
def put_tagged_object(
    aws: AccountAws, bucket: str, key: str, body: bytes, content_type: str, tags: list[Tag]
) -> str | None:
    """PutObject with a body, a Content-Type and object tags; returns the VersionId (None when unversioned)."""
    from urllib.parse import urlencode  # local: this section is appended to a shared module

    tagging = urlencode([(t["Key"], t["Value"]) for t in tags])
    resp = aws.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, Tagging=tagging)
    version = resp.get("VersionId")
    return version if version and version != "null" else None


@gateway("s3", "ListObjectVersions")
def list_versions_page(
    aws: AccountAws, bucket: str, max_keys: int, key_marker: str | None = None, version_marker: str | None = None
) -> dict[str, Any]:
    """One ListObjectVersions call: ``{"Entries": [{"Key", "VersionId", "DeleteMarker"}], "IsTruncated",
    "NextKeyMarker", "NextVersionIdMarker"}``; versions and delete markers together. NoSuchBucket → 404."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "MaxKeys": max_keys}
    if key_marker:
        kwargs["KeyMarker"] = key_marker
        if version_marker:
            kwargs["VersionIdMarker"] = version_marker
    resp = aws.s3.list_object_versions(**kwargs)
    entries = [
        {"Key": v["Key"], "VersionId": v.get("VersionId"), "DeleteMarker": False} for v in resp.get("Versions", [])
    ]
    entries += [
        {"Key": m["Key"], "VersionId": m.get("VersionId"), "DeleteMarker": True} for m in resp.get("DeleteMarkers", [])
    ]
    return {
        "Entries": entries,
        "IsTruncated": bool(resp.get("IsTruncated")),
        "NextKeyMarker": resp.get("NextKeyMarker"),
        "NextVersionIdMarker": resp.get("NextVersionIdMarker"),
    }


@gateway("s3", "GetObjectTagging", actions=("s3:GetObjectVersionTagging",))
def object_version_tags(aws: AccountAws, bucket: str, key: str, version_id: str | None = None) -> list[Tag]:
    """GetObjectTagging of one version (the current one when ``version_id`` is None); ``[]`` when the backend
    has no object tagging."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    return _tag_set(_optional(aws.s3.get_object_tagging, NO_OBJECT_TAGGING, **kwargs))


@gateway("s3", "DeleteObject", actions=("s3:DeleteObjectVersion",))
def delete_object_version(aws: AccountAws, bucket: str, key: str, version_id: str | None = None) -> None:
    """DeleteObject of one version (for good: no delete marker), or of the key when ``version_id`` is None.
    S3 answers 204 for a missing key or version: retry-safe."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    aws.s3.delete_object(**kwargs)
