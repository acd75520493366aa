"""Reading and changing a live website: HEAD, show (with its ``Status``), tags, invalidations, the duck page."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from s3api import concurrency, duck
from s3api.aws import cloudfront, route53, s3
from s3api.aws.clients import AccountAws
from s3api.errors import BadRequest, NotFound
from s3api.provisioning.steps import Transaction
from s3api.provisioning.tenants import ownership
from s3api.provisioning.websites.distribution import distribution_or_404, find_distribution
from s3api.provisioning.websites.naming import Site, caller_tags, resolve
from s3api.provisioning.websites.pages import content_check

MAX_INVALIDATION_PATHS = 3000  # CloudFront's limit per invalidation


_INVALIDATION_ID = re.compile(r"[A-Za-z0-9]{1,64}")


def head(aws: AccountAws, site: str) -> None:
    """Nothing when the site's bucket exists and is ours; 404 when missing; 403 when it is not ours."""
    s3.require_bucket(aws, site, "website")


def _dns_record(aws: AccountAws, site: Site | None) -> dict[str, Any] | None:
    if site is None:
        return None
    records = route53.records_at(aws, site.zone_id, site.name, first_type="A", max_items=2)
    return next((r for r in records if r.get("Type") == "A"), None)


def _status(
    site: str, where: Site | None, distribution: Mapping[str, Any] | None, missing: str | None, dns: Any
) -> tuple[str, str | None]:
    if where is None:
        return "Broken", f"{site} is not under a domain configured for this account"
    if distribution is None:
        return "Broken", missing
    if not distribution.get("Enabled"):
        return "Disabled", None
    if dns is None:
        return "Broken", f"no DNS A record for {site} in the zone of {where.domain}"
    if not route53.same_target(dns, distribution.get("DomainName", "")):
        target = (dns.get("AliasTarget") or {}).get("DNSName") or "something else"
        return "Broken", f"the DNS record of {site} points at {target}, not at distribution {distribution.get('Id')}"
    if distribution.get("Status") != "Deployed":
        return "Deploying", None
    return "Deployed", None


def show(aws: AccountAws, site: str) -> dict[str, Any]:
    """Yale's ``{"Tags", "Logging", "Empty", "DNSRecord", "Distribution"}`` plus ``"Status"`` (Deploying,
    Deployed, Disabled or Broken, with ``"StatusReason"`` when broken). A missing piece of a website is
    reported, not 404; a bucket that is no website (no ``s3api:distribution`` tag and no distribution serving
    its name, e.g. a plain bucket) is 404.

    Calls: HeadBucket; then together GetBucketTagging, GetBucketLogging, ListObjectVersions (+ tags of default
    pages), ListResourceRecordSets (from the name, 2 items); then GetDistribution by the tagged id.
    """
    s3.require_bucket(aws, site, "website")
    try:
        where: Site | None = resolve(aws, site)
    except BadRequest:
        where = None
    reads: dict[str, Any] = {
        "Tags": functools.partial(s3.get_tags, aws, site),
        "Logging": functools.partial(s3.get_logging, aws, site),
        "Empty": lambda: content_check(aws, site)[0],
        "DNSRecord": functools.partial(_dns_record, aws, where),
    }
    found = concurrency.gather(reads)
    distribution, missing = find_distribution(aws, site, found["Tags"])
    if distribution is None and not any(t["Key"] == s3.DISTRIBUTION_TAG for t in found["Tags"]):
        # Neither our distribution tag nor a distribution serving the name: a plain bucket, not a website.
        raise NotFound(f"website '{site}' does not exist: {missing}")
    status, reason = _status(site, where, distribution, missing, found["DNSRecord"])
    result = {**found, "Distribution": distribution, "Status": status}
    if reason:
        result["StatusReason"] = reason
    return result


def update_tags(aws: AccountAws, site: str, tags: list[Any] | None) -> None:
    """Make ``tags`` (plus the org tag) the tag set of both the bucket and the distribution: tags left out
    are removed from both; the bucket keeps its distribution tag (set to the verified distribution's id when it
    named one that does not serve the site) and its tenant tag. If tagging the distribution fails, the
    bucket's previous tags are put back (Yale left the two different)."""
    new_tags = caller_tags(aws, tags or [])
    s3.require_bucket(aws, site, "website")
    old = s3.get_tags(aws, site)
    distribution, _ = find_distribution(aws, site, old)
    keep = [t for t in old if t["Key"] == s3.DISTRIBUTION_TAG]
    if keep and distribution is not None:  # a tag that failed verification is repaired to the verified id
        keep = [{"Key": s3.DISTRIBUTION_TAG, "Value": distribution["Id"]}]
    keep += [t for t in old if t["Key"] == ownership.TAG_KEY]  # the bucket's tenant stays its owner
    with Transaction("website_update_tags") as tx:
        tx.step(
            "bucket_tags",
            lambda: s3.put_tags(aws, site, [*new_tags, *keep]),
            lambda _: s3.put_tags(aws, site, old) if old else None,
        )
        if distribution is not None:
            tx.step("distribution_tags", lambda: cloudfront.replace_tags(aws, distribution["ARN"], new_tags))


def invalidate(aws: AccountAws, site: str, paths: Sequence[str]) -> dict[str, Any]:
    """CreateInvalidation for ``paths`` on the site's distribution: ``{"Invalidation", "Location"}``."""
    checked = _check_paths(paths)
    distribution = distribution_or_404(aws, site)
    return cloudfront.create_invalidation(aws, distribution["Id"], checked)


def _check_paths(paths: Sequence[str]) -> list[str]:
    problem = None
    if not isinstance(paths, (list, tuple)) or not paths:
        problem = "CacheInvalidation must be a non-empty list of paths such as /*"
    elif len(paths) > MAX_INVALIDATION_PATHS:
        problem = f"at most {MAX_INVALIDATION_PATHS} paths per invalidation"
    else:
        bad = [p for p in paths if not isinstance(p, str) or not p.startswith("/") or not p.isprintable()]
        if bad:
            problem = f"every path must be printable and begin with '/': {bad[0]!r}"
    if problem:
        raise BadRequest(problem, errors={"CacheInvalidation": [problem]})
    return list(paths)


def invalidation(aws: AccountAws, site: str, invalidation_id: str) -> dict[str, Any]:
    """``{"Invalidation": {...}}`` with ``Status`` InProgress or Completed (any backend spelling)."""
    if not isinstance(invalidation_id, str) or not _INVALIDATION_ID.fullmatch(invalidation_id):
        message = f"invalid invalidation id {invalidation_id!r}"
        raise BadRequest(message, errors={"invalidation": [message]})
    distribution = distribution_or_404(aws, site)
    return {"Invalidation": cloudfront.get_invalidation(aws, distribution["Id"], invalidation_id)}


def bookmark(aws: AccountAws, site: str, path: str) -> tuple[bytes, str]:
    """The Cyberduck bookmark for the site's bucket at ``path`` and its file name (no AWS call)."""
    return duck.duck_bookmark(site, path, endpoint=aws.account.s3_endpoint), duck.filename(site, path)
