"""Website delete (retry-safe: every piece already gone is skipped, the bucket goes last).

400 for a name outside the domains; when the bucket is already gone, the verified distribution found by alias
is finished (DNS records, disable, IAM; 404 when nothing is left); 409 when the bucket holds anything besides
default pages, or when no verified distribution exists but an enabled one still has the bucket as origin
(checked before anything changes). Then: the DNS records pointing at the distribution → disable the
distribution → IAM: the site's groups torn down as a bucket's are (:mod:`s3api.provisioning.teardown`: users
whose only access they are, then the groups, then the policies) → the default pages → the bucket. The live
name never points at a missing bucket (the Yale service deleted the bucket first and could stop before the DNS
record).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from s3api.aws import cloudfront, iam, route53, s3
from s3api.aws.clients import AccountAws
from s3api.errors import Conflict, NotFound
from s3api.provisioning import policies, teardown
from s3api.provisioning.tenants import access, ownership
from s3api.provisioning.websites.distribution import DELETED_COMMENT, find_by_alias, find_distribution, tagged
from s3api.provisioning.websites.groups import group_spec, site_groups
from s3api.provisioning.websites.naming import SITE_KINDS, Site, resolve
from s3api.provisioning.websites.pages import content_check, delete_pages

log = logging.getLogger("s3api.websites")


def _not_empty(site: str) -> Conflict:
    return Conflict(f"website '{site}' is not empty: only its default index pages may remain")


def check(aws: AccountAws, site_name: str) -> Site:
    """The cheap checks of a delete, changing nothing: the name (400) and, when the bucket exists, that it
    holds only default pages (409). An async delete (``Prefer: respond-async``) runs them in the request; the
    rest (a site whose bucket is gone: 404 when nothing is left) is found by the delete itself."""
    site = resolve(aws, site_name)
    if s3.head_bucket(aws, site.name) is not None:
        empty, _ = content_check(aws, site.name)
        if not empty:
            raise _not_empty(site.name)
    return site


def delete(aws: AccountAws, site_name: str) -> dict[str, Any]:
    """Delete a website (see the module docstring for the order); answers Yale's ``{"Website", "Users",
    "Policies", "Groups", "Distribution", "DnsChange"}``: the users deleted (those left without any other
    access), the policies and groups deleted, the distribution as disabled, the DNS change (null when no
    record was left). Every failure is an error status; nothing is ever reported inside a 200."""
    site = resolve(aws, site_name)
    if s3.head_bucket(aws, site.name) is None:
        return _delete_without_bucket(aws, site)
    empty, pages = content_check(aws, site.name)
    if not empty:
        raise _not_empty(site.name)
    tags = s3.get_tags(aws, site.name)
    distribution, _ = find_distribution(aws, site.name, tags)
    if distribution is None:
        _refuse_unverified_origin(aws, site.name)
    tenant = ownership.owner_of(tags)
    if tenant is not None:  # a tenant's site: its credentials stop reaching the bucket before it goes
        access.after_bucket_deleted(aws, tenant, site.name)
    dns_change = _delete_dns(aws, site, distribution)
    disabled = cloudfront.disable_distribution(aws, distribution["Id"]) if distribution else None
    removed = teardown.remove(aws, *_site_iam(aws, site.name))
    delete_pages(aws, site.name, pages)
    s3.delete_bucket(aws, site.name, missing_ok=True)
    log.info("website deleted", extra={"website": site.name, "distribution": (distribution or {}).get("Id")})
    return _deleted(site.name, removed, disabled, dns_change)


def _refuse_unverified_origin(aws: AccountAws, site: str) -> None:
    """409 when an enabled distribution that is not verifiably the site's (other aliases, other origins too)
    still has the site's bucket as an origin: deleting the bucket would leave it serving a name anyone can
    register, and it is not ours to disable. Runs only when no verified distribution was found."""
    other = cloudfront.find_first(aws, lambda d: bool(d.get("Enabled")) and cloudfront.has_bucket_origin(d, site))
    if other is not None:
        log.warning("website bucket is the origin of another distribution", extra=tagged(site, other["Id"]))
        raise Conflict(
            f"website '{site}' bucket is an origin of CloudFront distribution {other['Id']}, which does not serve "
            "exactly this site; it must be disabled or changed first"
        )


def _delete_without_bucket(aws: AccountAws, site: Site) -> dict[str, Any]:
    """Finish a website whose bucket is already gone (deleted by a tenant key, or by the Yale service): its
    live distribution would keep serving a bucket name anyone can register. The distribution is found by
    alias and verified (:func:`find_by_alias`), then as in :func:`delete`: DNS records pointing at it,
    disable, IAM. Retry-safe like :func:`delete`: a retry after a failure in the IAM part finds the
    disabled distribution and the groups left. 404 only when nothing is left: no verified distribution that
    is enabled or has a record pointing at it, and no IAM group of the site (a finished delete: the sweeper
    deletes the disabled distribution)."""
    distribution = find_by_alias(aws, site.name)
    stale = _stale_records(aws, site, distribution) if distribution is not None else []
    live = distribution is not None and (bool(distribution.get("Enabled")) or bool(stale))
    groups, arns = _site_iam(aws, site.name)
    if not live and not groups:
        raise NotFound(f"website '{site.name}' does not exist")
    log.warning(
        "website bucket already gone: removing what is left of the site",
        extra=tagged(site.name, (distribution or {}).get("Id", "")),
    )
    dns_change = route53.delete_records(aws, site.zone_id, stale, DELETED_COMMENT)
    disabled = cloudfront.disable_distribution(aws, distribution["Id"]) if distribution else None
    removed = teardown.remove(aws, groups, arns)
    return _deleted(site.name, removed, disabled, dns_change)


def _deleted(site: str, removed: teardown.Removal, disabled: Any, dns_change: Any) -> dict[str, Any]:
    """The answer of a website delete: what was removed, whether the bucket was still there or not."""
    return {
        "Website": site,
        "Users": removed.users,
        "Policies": removed.policies,
        "Groups": removed.groups,
        "Distribution": disabled,
        "DnsChange": dns_change,
    }


def _stale_records(aws: AccountAws, site: Site, distribution: Mapping[str, Any] | None) -> list[route53.Record]:
    """The A/AAAA aliases at the site pointing at its distribution (at any CloudFront distribution when the
    site has none any more); records pointing elsewhere are someone else's and stay."""
    records = route53.records_at(aws, site.zone_id, site.name)
    if distribution is not None:
        return [r for r in records if r["Type"] in ("A", "AAAA") and route53.same_target(r, distribution["DomainName"])]
    return [r for r in records if r["Type"] in ("A", "AAAA") and route53.is_cloudfront_alias(r)]


def _delete_dns(aws: AccountAws, site: Site, distribution: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """DELETE the records of :func:`_stale_records`; the ChangeInfo, or None when there were none."""
    return route53.delete_records(aws, site.zone_id, _stale_records(aws, site, distribution), DELETED_COMMENT)


def _site_iam(aws: AccountAws, site: str) -> tuple[list[teardown.FoundGroup], list[str]]:
    """The site's groups (:func:`site_groups`) with their members, each proven the site's and read once (GetGroup
    for each, and ListAttachedGroupPolicies for the root groups: a path group's was read to find it), and the
    ARNs of its root policies, by name, for :func:`teardown.remove` (a retry finds those whose group is
    already gone)."""
    groups = []
    for sg in site_groups(aws, site):
        group = teardown.found_group(aws, group_spec(aws, site, sg.kind, sg.path), sg.attached)
        if group is not None:
            groups.append(group)
    return groups, [iam.policy_arn(aws, policies.policy_name(site, kind)) for kind in SITE_KINDS]
