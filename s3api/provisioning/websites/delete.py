"""Website delete (retry-safe: every piece already gone is skipped, the bucket goes last).

400 for a name outside the domains; when the bucket is already gone, the verified distribution found by alias
is finished (DNS records, disable, IAM; 404 when nothing is left); 409 when the bucket holds anything besides
default pages, or when no verified distribution exists but an enabled one still has the bucket as origin
(checked before anything changes). Then: the DNS records pointing at the distribution → disable the
distribution → IAM: every group of the site (policies deleted, then the group; users left without any access
deleted, keys first) → the default pages → the bucket. The live name never points at a missing bucket (the
Yale service deleted the bucket first and could stop before the DNS record).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from s3api.aws import cloudfront, iam, route53, s3
from s3api.aws.clients import AccountAws
from s3api.errors import Conflict, NotFound
from s3api.provisioning import policies, users
from s3api.provisioning.steps import Transaction
from s3api.provisioning.websites.distribution import DELETED_COMMENT, find_by_alias, find_distribution, tagged
from s3api.provisioning.websites.groups import site_groups
from s3api.provisioning.websites.naming import SITE_KINDS, Site, resolve
from s3api.provisioning.websites.pages import content_check, delete_pages

log = logging.getLogger("s3api.websites")


@dataclass
class IamRemoval:
    users: list[dict[str, Any]] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


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
        raise Conflict(f"website '{site.name}' is not empty: only its default index pages may remain")
    distribution, _ = find_distribution(aws, site.name, s3.get_tags(aws, site.name))
    if distribution is None:
        _refuse_unverified_origin(aws, site.name)
    dns_change = _delete_dns(aws, site, distribution)
    disabled = cloudfront.disable_distribution(aws, distribution["Id"]) if distribution else None
    removed = _delete_iam(aws, site.name)
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
    if not live and not site_groups(aws, site.name):
        raise NotFound(f"website '{site.name}' does not exist")
    log.warning(
        "website bucket already gone: removing what is left of the site",
        extra=tagged(site.name, (distribution or {}).get("Id", "")),
    )
    dns_change = route53.delete_records(aws, site.zone_id, stale, DELETED_COMMENT)
    disabled = cloudfront.disable_distribution(aws, distribution["Id"]) if distribution else None
    removed = _delete_iam(aws, site.name)
    return _deleted(site.name, removed, disabled, dns_change)


def _deleted(site: str, removed: IamRemoval, disabled: Any, dns_change: Any) -> dict[str, Any]:
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
        return [
            r for r in records if r["Type"] in ("A", "AAAA") and route53.same_target(r, distribution["DomainName"])
        ]
    return [r for r in records if r["Type"] in ("A", "AAAA") and route53.is_cloudfront_alias(r)]


def _delete_dns(aws: AccountAws, site: Site, distribution: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """DELETE the records of :func:`_stale_records`; the ChangeInfo, or None when there were none."""
    return route53.delete_records(aws, site.zone_id, _stale_records(aws, site, distribution), DELETED_COMMENT)


def _delete_iam(aws: AccountAws, site: str) -> IamRemoval:
    """The site's IAM pieces, found by exact name (never a substring, which would reach other sites' groups):

    1. members whose every group and attached policy is this site's (and no inline policy, no login profile, MFA
       device, SSH key, signing certificate or service-specific credential): deleted by the
       users workflow (keys, memberships, policy attachments, user); the others only lose this site's groups
       in step 2. Users go first, while their membership still makes them findable by a retry.
    2. each group in turn: its site policy deleted (detached everywhere, old versions deleted), then the group
       (remaining members removed, other policies detached).
    3. the root policies whose group was already gone (a retry).
    """
    removal = IamRemoval()
    groups = site_groups(aws, site)
    names = [sg.name for sg in groups]
    expected = {sg.name: policies.policy_name(site, sg.kind, sg.path) for sg in groups}
    ours = set(expected.values()) | {policies.policy_name(site, kind) for kind in SITE_KINDS}
    members: dict[str, dict[str, Any]] = {}
    for name in names:
        for user in iam.group_users(aws, name) or []:
            members.setdefault(user["UserName"], user)
    for user_name, user in members.items():
        access = _only_site_access(aws, user_name, set(names), ours)
        if access is not None:
            _delete_site_user(aws, user_name, *access)
            removal.users.append(user)
    handled: set[str] = set()
    for sg in groups:
        wanted = expected[sg.name]
        arns = {p["PolicyArn"] for p in iam.attached_group_policies(aws, sg.name) if p["PolicyName"] == wanted}
        arns.add(iam.policy_arn(aws, wanted, sg.path))
        for arn in sorted(arns - handled):
            if iam.delete_policy(aws, arn):
                removal.policies.append(wanted)
        handled |= arns
        if iam.delete_group(aws, sg.name) is not None:
            removal.groups.append(sg.name)
    for kind in SITE_KINDS:
        name = policies.policy_name(site, kind)
        arn = iam.policy_arn(aws, name)
        if arn not in handled and iam.delete_policy(aws, arn):
            removal.policies.append(name)
    return removal


def _only_site_access(
    aws: AccountAws, user: str, groups: set[str], policy_names: set[str]
) -> tuple[list[str], list[str]] | None:
    """``(groups, attached policy ARNs)`` when all of ``user``'s access is the site's (its groups, policies of its
    names, no inline policy, none of the sign-in credentials AWS refuses DeleteUser for: login profile, MFA device,
    SSH key, signing certificate, service-specific credential): the user goes with the site. None when it has other
    access or such a credential (it then only loses the site's groups, with them, and keeps its keys:
    ``buckets._access_if_only_ours`` says why) or is gone."""
    try:
        member_of = iam.user_groups(aws, user)
        if any(g not in groups and g != users.RETIRING_GROUP for g in member_of):  # the marker grants nothing
            return None
        attached = iam.user_attached_policies(aws, user)
        if any(p["PolicyName"] not in policy_names for p in attached) or iam.user_inline_policies(aws, user):
            return None
        if iam.sign_in_credentials(aws, user):  # a person's user (AWS refuses DeleteUser): kept, as in buckets
            return None
    except NotFound:
        return None
    return member_of, [p["PolicyArn"] for p in attached]


def _delete_site_user(aws: AccountAws, user: str, groups: list[str], policy_arns: list[str]) -> None:
    """Keys, attached policies, memberships, then DeleteUser (AWS's order). The memberships are what lets a retry
    find the user, so they are put back if DeleteUser fails (the users workflow's delete has no such undo)."""
    for key in iam.list_access_keys(aws, user):
        iam.delete_access_key(aws, user, key["AccessKeyId"])
    for arn in policy_arns:
        iam.detach_user_policy(aws, user, arn)
    with Transaction("website_delete_user") as tx:
        for group in groups:
            tx.step(
                f"leave:{group}",
                functools.partial(iam.remove_user_from_group, aws, group, user),
                functools.partial(_rejoin, aws, group, user),
            )
        iam.delete_user(aws, user)


def _rejoin(aws: AccountAws, group: str, user: str, _: Any) -> None:
    iam.add_user_to_group(aws, group, user)
