"""Which tenant owns a bucket: its ``s3api:tenant`` tag, read back from AWS (never a database copy).

:func:`owner` is one GetBucketTagging; :func:`buckets` lists the account's buckets and reads each one's tags
(ListBuckets + one GetBucketTagging per bucket: the tenancy isolation work may make it cheaper).
"""

from __future__ import annotations

from s3api.aws import s3
from s3api.aws.clients import AccountAws
from s3api.errors import NotFound

TAG_KEY = "s3api:tenant"


def owner_of(tags: list[s3.Tag]) -> str | None:
    for tag in tags:
        if tag["Key"] == TAG_KEY:
            return tag.get("Value") or None
    return None


def owner(aws: AccountAws, bucket: str) -> str | None:
    """The tenant id on the bucket's tag, None for a bucket no tenant owns; NotFound when it does not exist."""
    return owner_of(s3.get_tags(aws, bucket))


def buckets(aws: AccountAws, tenant_id: str) -> list[str]:
    """The account's buckets tagged for ``tenant_id``, sorted."""
    found = []
    for name in s3.list_buckets(aws):
        try:
            if owner(aws, name) == tenant_id:
                found.append(name)
        except NotFound:  # deleted between the listing and the read
            continue
    return sorted(found)
