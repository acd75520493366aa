"""The managed-bucket boundary: the one check deciding whether this service may act on a bucket.

Rule: a bucket is *managed* when its tag set holds the organisation tag ``settings.org_tag_key =
settings.org`` (bucket create and website create set it; tenants cannot change bucket tagging) and it is not
the account's configured access-log bucket, which is refused whatever its tags (replacing its policy would
break access logging, and with it every later bucket create).

Routes that change a bucket (PUT and DELETE ``.../buckets/{bucket}``), every object route (browse, details,
delete, batch delete, multipart uploads, usage) and presign call :func:`require_managed` (or
:func:`managed_tags` where the route needs the tags anyway) before their first S3 call on the bucket.
Listing buckets, HEAD and GET of a bucket stay as in the Yale service.

One answer for every refusal: **403 Forbidden** ("exists, not ours to act on"), the same status HEAD gives for
a bucket we may not see. Not 404: the bucket exists and ``GET .../buckets`` lists it (Yale's contract), so a
404 would be a lie that invites a create, which then answers 409. Not 409: nothing the caller can change
about the request resolves it. A bucket that does not exist is 404 (GetBucketTagging's NoSuchBucket).

Cost: one GetBucketTagging (it also replaces the HeadBucket that proved existence). A *positive* answer is
cached per process for :data:`MANAGED_TTL_SECONDS`, per app (client cache) and account; a negative one never
is. This is safe because a managed bucket stops being managed only when it is deleted (tenants' policies deny
``s3:PutBucketTagging``/``s3:DeleteBucketTagging``, and our own PUT keeps the organisation tag): a bucket
deleted through this API is dropped from this process's cache at once; in another worker process the entry
lives at most the TTL, during which S3 answers NoSuchBucket (404) for the gone bucket. Only a same-name bucket
re-created outside this service in the same account within the TTL could be reached for that long.
Mutating bucket routes (PUT, DELETE) never use the cache.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable
from typing import Any

from s3api.aws import s3
from s3api.aws.clients import AccountAws
from s3api.errors import Forbidden, NotFound

MANAGED_TTL_SECONDS = 30.0
MAX_ENTRIES = 10_000  # per app; when full, expired entries go, then everything (a miss only costs one call)

_now = time.monotonic  # a module attribute, so that tests can move the clock of this cache alone
_lock = threading.Lock()
_caches: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, str], float]] = weakref.WeakKeyDictionary()


def _cache(aws: AccountAws) -> dict[tuple[str, str, str], float]:
    owner = aws._clients  # one client cache per app and process: the cache's natural owner
    cache = _caches.get(owner)
    if cache is None:
        cache = _caches.setdefault(owner, {})
    return cache


def _key(aws: AccountAws, bucket: str) -> tuple[str, str, str]:
    return (aws.account.name, aws.account.account_id, bucket)


def _remember(aws: AccountAws, bucket: str) -> None:
    now = _now()
    with _lock:
        cache = _cache(aws)
        if len(cache) >= MAX_ENTRIES:
            for key in [k for k, until in cache.items() if until <= now]:
                del cache[key]
            if len(cache) >= MAX_ENTRIES:
                cache.clear()
        cache[_key(aws, bucket)] = now + MANAGED_TTL_SECONDS


def _known(aws: AccountAws, bucket: str) -> bool:
    with _lock:
        until = _cache(aws).get(_key(aws, bucket))
    return until is not None and until > _now()


def forget(aws: AccountAws, bucket: str) -> None:
    """Drop the cached answer for ``bucket`` (before deleting it)."""
    with _lock:
        _cache(aws).pop(_key(aws, bucket), None)


def clear() -> None:
    """Drop every cached answer (tests)."""
    with _lock:
        for cache in _caches.values():
            cache.clear()


def _refuse_log_bucket(aws: AccountAws, bucket: str) -> None:
    if aws.account.log_bucket and bucket == aws.account.log_bucket:
        raise Forbidden(f"bucket '{bucket}' is the account's access-log bucket; this service does not act on it")


def check_tags(aws: AccountAws, bucket: str, tags: Iterable[s3.Tag]) -> None:
    """403 unless ``tags`` (the bucket's tag set, just read by the caller) carry the organisation tag, or when
    ``bucket`` is the log bucket. Stores nothing in the cache."""
    _refuse_log_bucket(aws, bucket)
    org = aws.settings.org_tag
    if not any(t["Key"] == org["Key"] and t.get("Value", "") == org["Value"] for t in tags):
        raise Forbidden(f"bucket '{bucket}' is not managed by this service (it has no {org['Key']}={org['Value']} tag)")


def read_tags(aws: AccountAws, bucket: str) -> list[s3.Tag]:
    """GetBucketTagging for the boundary; 404 naming the bucket when it does not exist."""
    try:
        return s3.get_tags(aws, bucket)
    except NotFound:
        raise NotFound(f"bucket '{bucket}' does not exist") from None


def remember_tags(aws: AccountAws, bucket: str, tags: Iterable[s3.Tag]) -> None:
    """Cache a positive answer from a tag set just read elsewhere (the tenant scoping reads it first), so that
    the route's own :func:`require_managed` costs no second GetBucketTagging. Nothing when not managed."""
    try:
        check_tags(aws, bucket, tags)
    except Forbidden:
        return
    _remember(aws, bucket)


def require_managed(aws: AccountAws, bucket: str) -> None:
    """Nothing when ``bucket`` is managed (see the module docstring); 404 when it does not exist; 403 otherwise.

    The log bucket is refused before any AWS call; a recent positive answer is reused (no AWS call);
    otherwise one GetBucketTagging.
    """
    _refuse_log_bucket(aws, bucket)
    if not _known(aws, bucket):
        check_tags(aws, bucket, read_tags(aws, bucket))
        _remember(aws, bucket)


def managed_tags(aws: AccountAws, bucket: str) -> list[s3.Tag]:
    """The tag set of ``bucket``, read now (never from the cache), once it is proven managed; 404/403 as
    :func:`require_managed`. For the routes that change the bucket and need its tags anyway."""
    _refuse_log_bucket(aws, bucket)
    tags = read_tags(aws, bucket)
    check_tags(aws, bucket, tags)
    return tags
