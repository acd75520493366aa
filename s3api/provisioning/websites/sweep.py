"""Sweeper tasks of websites: ``delete_dns_records`` removes records still pointing at this organisation's
disabled distributions whose bucket is gone; ``delete_distributions`` deletes those distributions once Deployed
(GetDistributionConfig → DeleteDistribution with ``IfMatch``). One failure never stops a pass.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from s3api import metrics
from s3api.aws import cloudfront, route53, s3
from s3api.aws.clients import AccountAws
from s3api.errors import ApiError
from s3api.provisioning import periodic
from s3api.provisioning.websites.distribution import SWEPT_COMMENT

log = logging.getLogger("s3api.websites")


def _failed(task: str, summary: Mapping[str, Any], exc: ApiError) -> None:
    metrics.SWEEPER.labels(task, "failed").inc()
    log.warning(
        "sweeper: distribution skipped", extra={"task": task, "distribution": summary.get("Id"), "error": exc.code}
    )


def _orphans(aws: AccountAws, task: str) -> Iterator[dict[str, Any]]:
    """Disabled distributions tagged with this deployment's organisation whose bucket (the default cache
    behaviour's origin id, as Yale's cleaner) is gone. A bucket that answers 403 is skipped, not aborted on."""
    org = aws.settings.org_tag
    for summary in cloudfront.list_distributions(aws):
        if summary.get("Enabled"):
            continue
        try:
            if org not in cloudfront.get_tags(aws, summary["ARN"]):
                continue
            bucket = summary.get("DefaultCacheBehavior", {}).get("TargetOriginId", "")
            if not bucket or s3.head_bucket(aws, bucket) is not None:
                continue
        except ApiError as exc:
            _failed(task, summary, exc)
            continue
        yield summary


def _remove_dns(aws: AccountAws, summary: Mapping[str, Any]) -> int:
    """Delete the A/AAAA aliases still pointing at the distribution, under each of its aliases whose parent
    is a configured domain (one ListResourceRecordSets from the name per alias, never a zone scan)."""
    removed = 0
    for alias in summary.get("Aliases", {}).get("Items", []):
        domain = aws.account.domains.get(alias.lower().partition(".")[2])
        if domain is None:
            continue
        records = route53.records_at(aws, domain.hosted_zone_id, alias)
        stale = [r for r in records if r["Type"] in ("A", "AAAA") and route53.same_target(r, summary["DomainName"])]
        route53.delete_records(aws, domain.hosted_zone_id, stale, SWEPT_COMMENT)
        removed += len(stale)
    return removed


@periodic.task("delete_dns_records")
def sweep_dns_records(aws: AccountAws) -> int:
    """Remove DNS records pointing at orphaned distributions (deploying or not); answers how many."""
    removed = 0
    for summary in _orphans(aws, "delete_dns_records"):
        try:
            removed += _remove_dns(aws, summary)
        except ApiError as exc:
            _failed("delete_dns_records", summary, exc)
    return removed


@periodic.task("delete_distributions")
def sweep_distributions(aws: AccountAws) -> int:
    """Delete orphaned distributions whose disable is deployed (their DNS records first); answers how many."""
    deleted = 0
    for summary in _orphans(aws, "delete_distributions"):
        if summary.get("Status") != "Deployed":
            continue
        try:
            _remove_dns(aws, summary)
            if cloudfront.delete_distribution(aws, summary["Id"]):
                deleted += 1
                log.info("sweeper: distribution deleted", extra={"distribution": summary["Id"]})
        except ApiError as exc:
            _failed("delete_distributions", summary, exc)
    return deleted
