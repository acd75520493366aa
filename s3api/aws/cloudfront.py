"""CloudFront gateway: distributions (create, read, find by alias, disable, delete), tags, invalidations and
the account's Origin Access Control.

Functions take an ``AccountAws`` and plain values and are wrapped by ``@gateway("cloudfront")``.

AWS rules followed here that moto does not enforce:
- A distribution must be disabled, and the disable deployed, before DeleteDistribution
  (DistributionNotDisabled); :func:`delete_distribution` refuses an enabled one itself and sends the ETag of
  the config it just read as ``IfMatch``. moto deletes enabled distributions and ignores ``IfMatch``.
- Every update sends the ETag of the config it read (``IfMatch``); a concurrent change (PreconditionFailed)
  makes :func:`disable_distribution` read again, a bounded number of times.
- moto's GetDistributionConfig may answer an ``OriginSslProtocols`` without ``Items``, which botocore
  refuses to send back: :func:`sendable_config` drops such a field (it is optional in UpdateDistribution).
- Invalidation status is compared case-insensitively (moto says ``COMPLETED``, AWS ``Completed``); the
  ``invalidation_completed`` waiter is never used.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from s3api.aws.clients import AccountAws
from s3api.aws.translate import gateway, is_code
from s3api.errors import Conflict
from s3api.names import Tag

#: The hosted zone id of every CloudFront distribution, for Route53 alias records (fixed by AWS).
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"
#: How many times an update re-reads the config after a concurrent change (PreconditionFailed).
UPDATE_ATTEMPTS = 3


def _gone(exc: BaseException) -> bool:
    return is_code(exc, "NoSuchDistribution")


# --- distributions ------------------------------------------------------------------------------------------


@gateway("cloudfront", "CreateDistributionWithTags")
def create_distribution(aws: AccountAws, config: dict[str, Any], tags: list[Tag]) -> dict[str, Any]:
    """CreateDistributionWithTags; returns the ``Distribution`` (``Id``, ``ARN``, ``DomainName``, ``Status``
    InProgress, ``DistributionConfig``). CNAMEAlreadyExists (the alias is served elsewhere) → 409."""
    resp = aws.cloudfront.create_distribution_with_tags(
        DistributionConfigWithTags={"DistributionConfig": config, "Tags": {"Items": tags}}
    )
    distribution: dict[str, Any] = resp["Distribution"]
    return distribution


@gateway("cloudfront", "GetDistribution")
def get_distribution(aws: AccountAws, dist_id: str) -> dict[str, Any] | None:
    """GetDistribution: the ``Distribution``, or None when it does not exist."""
    try:
        distribution: dict[str, Any] = aws.cloudfront.get_distribution(Id=dist_id)["Distribution"]
    except ClientError as exc:
        if _gone(exc):
            return None
        raise
    return distribution


@gateway("cloudfront", "GetDistribution")
def distribution_status(aws: AccountAws, dist_id: str) -> str | None:
    """GetDistribution's ``Status`` (``InProgress`` while a change deploys, then ``Deployed``), or None when the
    distribution does not exist. What a task waiting for a deployment polls."""
    try:
        distribution = aws.cloudfront.get_distribution(Id=dist_id)["Distribution"]
    except ClientError as exc:
        if _gone(exc):
            return None
        raise
    return str(distribution.get("Status", ""))


def _summaries(aws: AccountAws) -> Iterator[dict[str, Any]]:
    for page in aws.cloudfront.get_paginator("list_distributions").paginate(PaginationConfig={"PageSize": 100}):
        yield from page.get("DistributionList", {}).get("Items", [])


@gateway("cloudfront", "ListDistributions")
def list_distributions(aws: AccountAws) -> list[dict[str, Any]]:
    """Every ``DistributionSummary`` of the account (ListDistributions, pages of 100)."""
    return list(_summaries(aws))


@gateway("cloudfront", "ListDistributions")
def find_by_alias(
    aws: AccountAws, alias: str, accept: Callable[[Mapping[str, Any]], bool] | None = None
) -> dict[str, Any] | None:
    """The summary of the first distribution serving ``alias`` (and passing ``accept``, when given), or None.
    Pages through every distribution of the account: only a fallback, for sites whose bucket does not name
    a distribution it can be verified to serve."""
    wanted = _host(alias)
    for summary in _summaries(aws):  # stops at the first match
        if wanted in aliases(summary) and (accept is None or accept(summary)):
            return summary
    return None


@gateway("cloudfront", "ListDistributions")
def find_first(aws: AccountAws, accept: Callable[[Mapping[str, Any]], bool]) -> dict[str, Any] | None:
    """The summary of the first distribution of the account passing ``accept``, or None (all pages)."""
    return next((summary for summary in _summaries(aws) if accept(summary)), None)


# --- what a distribution serves (pure) ------------------------------------------------------------------------


def _host(name: str) -> str:
    return name.lower().rstrip(".")


def _config(distribution: Mapping[str, Any]) -> Mapping[str, Any]:
    """The configuration part of a GetDistribution answer, or a DistributionSummary itself (same fields)."""
    config: Mapping[str, Any] = distribution.get("DistributionConfig", distribution)
    return config


def aliases(distribution: Mapping[str, Any]) -> list[str]:
    """The distribution's aliases (CNAMEs), lower-case without a trailing dot."""
    return [_host(a) for a in (_config(distribution).get("Aliases") or {}).get("Items") or []]


def _origins(distribution: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((_config(distribution).get("Origins") or {}).get("Items") or [])


def is_bucket_host(host: str, bucket: str) -> bool:
    """True when ``host`` is an S3 endpoint of ``bucket``: the REST endpoint (global ``<b>.s3.amazonaws.com``,
    regional ``<b>.s3.<region>.`` or legacy ``<b>.s3-<region>.``) or the website endpoint (dash or dot style),
    i.e. either origin kind a website may use. Bucket names are global, so any region names the bucket."""
    region = r"[a-z]{2}(?:-[a-z]+)+-\d+"
    pattern = rf"{re.escape(bucket.lower())}\.s3(?:-website)?(?:[.-]{region})?\.amazonaws\.com"
    return re.fullmatch(pattern, _host(host)) is not None


def has_bucket_origin(distribution: Mapping[str, Any], bucket: str) -> bool:
    """True when any origin of the distribution is ``bucket`` (whatever its aliases)."""
    return any(is_bucket_host(str(o.get("DomainName", "")), bucket) for o in _origins(distribution))


def serves_site(distribution: Mapping[str, Any], site: str, bucket: str | None = None) -> bool:
    """True when the distribution is exactly this website's: its aliases are exactly ``site``, and it has
    origins, every one of them ``bucket`` (default: the bucket named like the site), the default cache
    behaviour among them. Accepts a GetDistribution answer or a DistributionSummary.

    A bucket tag names the distribution, but the tenant's own keys may have been able to write that tag:
    verifying what the distribution serves keeps one site's request from acting on another site's."""
    origins = _origins(distribution)
    target = (_config(distribution).get("DefaultCacheBehavior") or {}).get("TargetOriginId")
    return (
        aliases(distribution) == [_host(site)]
        and bool(origins)
        and all(is_bucket_host(str(o.get("DomainName", "")), bucket or site) for o in origins)
        and any(o.get("Id") == target for o in origins)
    )


def sendable_config(config: dict[str, Any]) -> dict[str, Any]:
    """A copy of a GetDistributionConfig answer that botocore accepts as UpdateDistribution input.

    moto may answer ``CustomOriginConfig.OriginSslProtocols`` without ``Items`` (botocore requires them);
    the field is optional, so it is dropped when it has no items. AWS always answers the items: a no-op there.
    """
    fixed = copy.deepcopy(config)
    for origin in fixed.get("Origins", {}).get("Items", []):
        custom = origin.get("CustomOriginConfig")
        if isinstance(custom, dict) and "OriginSslProtocols" in custom:
            protocols = custom["OriginSslProtocols"] or {}
            if not protocols.get("Items"):
                del custom["OriginSslProtocols"]
    return fixed


@gateway("cloudfront", "GetDistributionConfig", "UpdateDistribution")
def disable_distribution(aws: AccountAws, dist_id: str) -> dict[str, Any] | None:
    """Disable a distribution: GetDistributionConfig (ETag) → UpdateDistribution(Enabled=false, IfMatch=ETag).

    Returns the ``Distribution`` as UpdateDistribution answers it (Status InProgress until the change is
    deployed), GetDistribution's answer when it was already disabled, or None when it does not exist. Never
    waits for the deployment: the sweeper deletes the distribution once it is Deployed.
    """
    cf = aws.cloudfront
    for attempt in range(UPDATE_ATTEMPTS):
        try:
            resp = cf.get_distribution_config(Id=dist_id)
        except ClientError as exc:
            if _gone(exc):
                return None
            raise
        config = resp["DistributionConfig"]
        if not config.get("Enabled"):
            distribution: dict[str, Any] | None = get_distribution(aws, dist_id)
            return distribution
        config = sendable_config(config)
        config["Enabled"] = False
        try:
            resp = cf.update_distribution(Id=dist_id, IfMatch=resp["ETag"], DistributionConfig=config)
        except ClientError as exc:
            if _gone(exc):
                return None
            if is_code(exc, "PreconditionFailed") and attempt + 1 < UPDATE_ATTEMPTS:
                continue  # changed since we read it: read again
            raise
        updated: dict[str, Any] = resp["Distribution"]
        return updated
    raise Conflict(f"distribution {dist_id} keeps changing; retry")  # pragma: no cover - loop always returns


@gateway("cloudfront", "GetDistributionConfig", "DeleteDistribution")
def delete_distribution(aws: AccountAws, dist_id: str) -> bool:
    """Delete a *disabled* distribution: GetDistributionConfig (ETag) → DeleteDistribution(IfMatch=ETag).

    An enabled one is refused here (409), whatever the backend would do. False when it was already gone.
    AWS also refuses while the disable is still deploying (DistributionNotDisabled → 409): callers check
    ``Status == "Deployed"`` first.
    """
    cf = aws.cloudfront
    try:
        resp = cf.get_distribution_config(Id=dist_id)
        if resp["DistributionConfig"].get("Enabled"):
            raise Conflict(f"distribution {dist_id} is enabled; disable it first")
        cf.delete_distribution(Id=dist_id, IfMatch=resp["ETag"])
    except ClientError as exc:
        if _gone(exc):
            return False
        raise
    return True


# --- tags ---------------------------------------------------------------------------------------------------


@gateway("cloudfront", "ListTagsForResource")
def get_tags(aws: AccountAws, arn: str) -> list[Tag]:
    """ListTagsForResource as ``[{"Key", "Value"}]``."""
    items = aws.cloudfront.list_tags_for_resource(Resource=arn).get("Tags", {}).get("Items", [])
    return [{"Key": t["Key"], "Value": t.get("Value", "")} for t in items]


@gateway("cloudfront", "UntagResource", "TagResource")
def replace_tags(aws: AccountAws, arn: str, tags: list[Tag]) -> None:
    """Make ``tags`` the distribution's whole tag set: UntagResource for keys not in ``tags``, then
    TagResource (adds and overwrites). Yale only added, so removed tags stayed on the distribution."""
    wanted = {t["Key"] for t in tags}
    stale = [t["Key"] for t in get_tags(aws, arn) if t["Key"] not in wanted]
    if stale:
        aws.cloudfront.untag_resource(Resource=arn, TagKeys={"Items": stale})
    if tags:
        aws.cloudfront.tag_resource(Resource=arn, Tags={"Items": tags})


# --- invalidations ------------------------------------------------------------------------------------------


@gateway("cloudfront", "CreateInvalidation")
def create_invalidation(aws: AccountAws, dist_id: str, paths: list[str]) -> dict[str, Any]:
    """CreateInvalidation with a fresh CallerReference: ``{"Invalidation", "Location"}`` (Yale's answer).
    TooManyInvalidationsInProgress / BatchTooLarge → 429."""
    resp = aws.cloudfront.create_invalidation(
        DistributionId=dist_id,
        InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": str(uuid.uuid4())},
    )
    return {"Invalidation": normalize_invalidation(resp["Invalidation"]), "Location": resp.get("Location", "")}


@gateway("cloudfront", "GetInvalidation")
def get_invalidation(aws: AccountAws, dist_id: str, invalidation_id: str) -> dict[str, Any]:
    """GetInvalidation; NoSuchInvalidation / NoSuchDistribution → 404. Status normalised (see below)."""
    resp = aws.cloudfront.get_invalidation(DistributionId=dist_id, Id=invalidation_id)
    return normalize_invalidation(resp["Invalidation"])


def normalize_invalidation(invalidation: dict[str, Any]) -> dict[str, Any]:
    """The invalidation with ``Status`` spelled as AWS does (``InProgress``/``Completed``), whatever the case
    the backend used (moto: ``COMPLETED``)."""
    status = str(invalidation.get("Status", ""))
    spelled = {"completed": "Completed", "inprogress": "InProgress"}.get(status.lower().replace("_", ""), status)
    return {**invalidation, "Status": spelled}


# --- origin access control ----------------------------------------------------------------------------------


@gateway("cloudfront", "ListOriginAccessControls", "CreateOriginAccessControl")
def ensure_origin_access_control(aws: AccountAws, name: str) -> str:
    """The id of the S3 Origin Access Control named ``name`` (SigV4, always sign), created when missing.

    One OAC per account serves every private website: it holds no permission itself (each bucket policy
    names its own distribution), AWS allows sharing it, and it keeps the account far below the OAC quota.
    It is never undone or deleted. A concurrent creation (OriginAccessControlAlreadyExists) is resolved by
    listing again.
    """
    found = _find_oac(aws, name)
    if found:
        return found
    try:
        resp = aws.cloudfront.create_origin_access_control(
            OriginAccessControlConfig={
                "Name": name,
                "Description": "s3api: CloudFront reads private website buckets",
                "SigningProtocol": "sigv4",
                "SigningBehavior": "always",
                "OriginAccessControlOriginType": "s3",
            }
        )
    except ClientError as exc:
        if is_code(exc, "OriginAccessControlAlreadyExists"):
            found = _find_oac(aws, name)
            if found:
                return found
        raise
    oac_id: str = resp["OriginAccessControl"]["Id"]
    return oac_id


def _find_oac(aws: AccountAws, name: str) -> str | None:
    for page in aws.cloudfront.get_paginator("list_origin_access_controls").paginate():
        for item in page.get("OriginAccessControlList", {}).get("Items", []):
            if item.get("Name") == name:
                oac_id: str = item["Id"]
                return oac_id
    return None
