"""Which tenant owns a bucket: its ``s3api:tenant`` tag, read back from AWS (never a database copy).

:func:`owner` is one GetBucketTagging, never cached. :func:`buckets` lists the account's buckets (ListBuckets,
with each bucket's creation date) and reads the tags only of buckets it has not seen before: the owner of a
bucket is remembered per process by (account, bucket name, creation date). That is safe because a bucket's
owner tag never changes while the bucket lives: it is put in the same PutBucketTagging as the organisation tag
when the bucket is made, our PUT of a bucket's tags keeps it and refuses it from callers, and tenants'
credentials deny ``s3:PutBucketTagging``. A bucket deleted and made again under the same name has a new
creation date, so it is read again. A tag set read as empty is remembered only for a bucket made more than
:data:`SETTLED_SECONDS` ago: a younger one may be a bucket between its CreateBucket and its tags. So a tenant
listing its buckets costs one ListBuckets plus one GetBucketTagging per bucket new to this process (read
concurrently, :mod:`s3api.concurrency`; the first listing: one per bucket of the account), and one ListBuckets
after that. Entries live :data:`OWNER_TTL_SECONDS`
(a tag changed outside this service is seen again after that) and at most :data:`MAX_ENTRIES` are kept.
"""

from __future__ import annotations

import functools
import threading
import time
import weakref
from datetime import UTC, datetime
from typing import Any

from s3api import concurrency
from s3api.aws import s3
from s3api.aws.clients import AccountAws
from s3api.errors import NotFound

TAG_KEY = "s3api:tenant"
OWNER_TTL_SECONDS = 3600.0
SETTLED_SECONDS = 300.0  # a bucket create puts its tags within its own request, well within this
MAX_ENTRIES = 50_000

_now = time.monotonic
_lock = threading.Lock()
_Key = tuple[str, str, str, str]
_caches: weakref.WeakKeyDictionary[Any, dict[_Key, tuple[str | None, float]]] = weakref.WeakKeyDictionary()


def owner_of(tags: list[s3.Tag]) -> str | None:
    for tag in tags:
        if tag["Key"] == TAG_KEY:
            return tag.get("Value") or None
    return None


def owner(aws: AccountAws, bucket: str) -> str | None:
    """The tenant id on the bucket's tag, None for a bucket no tenant owns; NotFound when it does not exist."""
    return owner_of(s3.get_tags(aws, bucket))


def _cache(aws: AccountAws) -> dict[_Key, tuple[str | None, float]]:
    key_owner = aws._clients  # one client cache per app and process, as the boundary's cache
    cache = _caches.get(key_owner)
    if cache is None:
        cache = _caches.setdefault(key_owner, {})
    return cache


def _key(aws: AccountAws, bucket: str, created: str) -> _Key:
    return (aws.account.name, aws.account.account_id, bucket, created)


def _lookup(aws: AccountAws, bucket: str, created: str) -> tuple[bool, str | None]:
    with _lock:
        hit = _cache(aws).get(_key(aws, bucket, created))
    if hit is None or hit[1] <= _now():
        return False, None
    return True, hit[0]


def _store(aws: AccountAws, bucket: str, created: str, tenant: str | None) -> None:
    now = _now()
    with _lock:
        cache = _cache(aws)
        if len(cache) >= MAX_ENTRIES:
            for key in [k for k, (_, until) in cache.items() if until <= now]:
                del cache[key]
            if len(cache) >= MAX_ENTRIES:
                cache.clear()
        cache[_key(aws, bucket, created)] = (tenant, now + OWNER_TTL_SECONDS)


def forget(aws: AccountAws, bucket: str) -> None:
    """Drop what this process knows of ``bucket``'s owner (it is being deleted)."""
    with _lock:
        cache = _cache(aws)
        for key in [k for k in cache if k[:3] == (aws.account.name, aws.account.account_id, bucket)]:
            del cache[key]


def clear() -> None:
    """Drop every remembered owner (tests)."""
    with _lock:
        for cache in _caches.values():
            cache.clear()


def _stamp(created: datetime | None) -> str:
    return created.isoformat() if created is not None else ""


def _settled(created: datetime | None) -> bool:
    if created is None:
        return False
    when = created if created.tzinfo is not None else created.replace(tzinfo=UTC)
    return (datetime.now(UTC) - when).total_seconds() > SETTLED_SECONDS


def owners(aws: AccountAws) -> dict[str, str | None]:
    """Every bucket of the account → its tenant (None: no tenant's); see the module docstring for the cost."""
    listed = s3.list_buckets_dated(aws)
    found: dict[str, str | None] = {}
    unknown: dict[str, datetime | None] = {}
    for name, created in listed:
        known, tenant = _lookup(aws, name, _stamp(created))
        if known:
            found[name] = tenant
        else:
            unknown[name] = created
    read = concurrency.gather({name: functools.partial(_read_tags, aws, name) for name in unknown})
    for name, created in unknown.items():
        tags = read[name]
        if tags is None:  # deleted between the listing and the read
            continue
        found[name] = owner_of(tags)
        if tags or _settled(created):
            _store(aws, name, _stamp(created), found[name])
    return {name: found[name] for name, _ in listed if name in found}


def _read_tags(aws: AccountAws, bucket: str) -> list[s3.Tag] | None:
    try:
        return s3.get_tags(aws, bucket)
    except NotFound:
        return None


def buckets(aws: AccountAws, tenant_id: str) -> list[str]:
    """The account's buckets tagged for ``tenant_id``, sorted."""
    return sorted(name for name, tenant in owners(aws).items() if tenant == tenant_id)
