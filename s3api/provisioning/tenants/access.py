"""What a tenant key may reach: the hooks the bucket workflows call so that a tenant's credentials follow its
buckets, the ownership proof of one bucket, the storage-class rule of a tenant's plan, and a tenant's stats.

- :func:`after_bucket_created` ``(aws, tenant_id, bucket)``: the tenant's credentials now reach ``bucket`` too
  (``credentials.sync`` with the tenant's buckets read back plus ``bucket``).
- :func:`after_bucket_deleted` ``(aws, tenant_id, bucket)``: they no longer do (``credentials.sync`` without
  it). The bucket workflow calls it *before* the bucket goes, so that no moment exists in which a tenant's
  policy names a bucket name someone else could take. Share links of the bucket: the links work hooks into
  bucket delete itself.
- :func:`require_owned`: NotFound (worded as for a bucket that does not exist) unless the bucket is tagged
  for the tenant; one GetBucketTagging, whose answer also feeds the managed-bucket cache
  (:func:`s3api.provisioning.boundary.remember_tags`), so the route's own boundary check costs nothing more.
- :func:`storage_rule`: the plan's ``StorageType`` applied to a tenant's bucket as a lifecycle transition of
  every object (S3 has no bucket-wide default storage class; a transition is what a bucket can carry).
"""

from __future__ import annotations

from typing import Any

from s3api.aws import cloudfront, iam, s3
from s3api.aws.clients import AccountAws
from s3api.errors import NotFound
from s3api.names import GROUP_KINDS
from s3api.provisioning import boundary
from s3api.provisioning.tenants import credentials, ownership

#: the lifecycle rule id of the plan's storage class on a tenant bucket
PLAN_RULE_ID = "s3api-plan-storage-class"
#: AWS's minimum age before a transition to these classes (a transition at 0 days is refused)
MIN_TRANSITION_DAYS = {"STANDARD_IA": 30, "ONEZONE_IA": 30}


def after_bucket_created(aws: AccountAws, tenant_id: str, bucket: str) -> None:
    credentials.sync(aws, tenant_id, sorted({*credentials.buckets(aws, tenant_id), bucket}))


def after_bucket_deleted(aws: AccountAws, tenant_id: str, bucket: str) -> None:
    """The tenant's credentials no longer reach ``bucket``; nothing to narrow when they are gone already (a
    terminated tenant's buckets are deleted after its IAM user: NotFound from the sync)."""
    ownership.forget(aws, bucket)
    try:
        credentials.sync(aws, tenant_id, [b for b in credentials.buckets(aws, tenant_id) if b != bucket])
    except NotFound:
        if credentials.exists(aws, tenant_id):
            raise


def not_found(bucket: str, what: str = "bucket") -> NotFound:
    """The 404 of a bucket (or website) a tenant may not see: the same words as one that does not exist."""
    return NotFound(f"{what} '{bucket}' does not exist")


def require_owned(aws: AccountAws, tenant_id: str, bucket: str, what: str = "bucket") -> None:
    """Nothing when ``bucket`` exists and carries ``s3api:tenant=<tenant_id>``; otherwise NotFound (a bucket of
    another tenant, of no tenant, the log bucket, or none at all: one answer)."""
    if aws.account.log_bucket and bucket == aws.account.log_bucket:
        raise not_found(bucket, what)
    try:
        tags = s3.get_tags(aws, bucket)
    except NotFound:
        raise not_found(bucket, what) from None
    if ownership.owner_of(tags) != tenant_id:
        raise not_found(bucket, what)
    boundary.remember_tags(aws, bucket, tags)


def storage_rule(storage_class: str) -> dict[str, Any] | None:
    """The lifecycle rule moving every object of a tenant bucket to the plan's storage class (None for
    STANDARD, where objects are written anyway): at once, or after AWS's minimum for the IA classes."""
    if storage_class == "STANDARD":
        return None
    return {
        "ID": PLAN_RULE_ID,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "Transitions": [{"Days": MIN_TRANSITION_DAYS.get(storage_class, 0), "StorageClass": storage_class}],
    }


def stats(aws: AccountAws, buckets: list[str]) -> dict[str, int]:
    """A tenant's counts: its buckets (all managed: made by this service), the distinct users of their groups
    (one GetGroup per group: three per bucket), and enabled distributions serving one of them (ListDistributions)."""
    users: set[str] = set()
    for bucket in buckets:
        for kind in GROUP_KINDS:
            users.update(iam.group_members(aws, f"{bucket}-{kind}") or [])
    own = set(buckets)
    websites = 0
    for dist in cloudfront.list_distributions(aws):
        aliases = {a.lower().rstrip(".") for a in dist.get("Aliases", {}).get("Items", [])}
        if dist.get("Enabled") and aliases & own:
            websites += 1
    return {"Buckets": len(buckets), "ManagedBuckets": len(buckets), "Users": len(users), "Websites": websites}
