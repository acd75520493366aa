"""The site's IAM groups and its users' scope: which groups are provably the site's, found at a cost that
does not grow with the account (:func:`site_groups`), and what joining a kind at a path means
(:func:`group_spec`, :func:`user_scope`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from s3api.aws import iam
from s3api.aws.clients import AccountAws
from s3api.errors import BadRequest, NotFound
from s3api.provisioning import buckets, policies
from s3api.provisioning.scope import GroupSpec, Scope, arn_path
from s3api.provisioning.websites.distribution import distribution_or_404
from s3api.provisioning.websites.naming import ADMIN, SITE_KINDS, WEB_ADMIN, Tag

#: Tag on a site's claim ``<site>-BktAdmPlc``: its path groups live under :func:`policies.site_group_path`.
GROUPS_MARKER: Tag = {"Key": "s3api:site-groups", "Value": policies.SITE_GROUPS_PATH}


@dataclass(frozen=True)
class SiteGroup:
    """An IAM group belonging to a site: its kind and the scoping path (``/`` for the site's root groups)."""

    name: str
    kind: str
    path: str
    group: Mapping[str, Any] = field(default_factory=dict, compare=False)
    #: The attached managed policies, when reading them proved the group the site's (path groups).
    attached: Sequence[Mapping[str, str]] | None = field(default=None, compare=False)


def _group_pattern(site: str) -> re.Pattern[str]:
    kinds = "|".join(SITE_KINDS)
    return re.compile(rf"{re.escape(site)}-(?:(?P<path>[A-Za-z0-9._-]+)-)?(?P<kind>{kinds})")


def _path_of(
    aws: AccountAws, site: str, group: Mapping[str, Any], kind: str, flat: str
) -> tuple[str, list[dict[str, str]]] | None:
    """The scoping path of a group named ``<site>-<flat>-<kind>`` and its attached policies (one
    ListAttachedGroupPolicies), or None when it is not provably this site's.

    The name alone is ambiguous: ``site.x.org-docs-BktAdmGrp`` is also the admin group of a *bucket* named
    ``site.x.org-docs``. The candidate paths are the one in the group's IAM path (ours: under
    :func:`policies.site_group_path`, or the scoping path itself for groups made before that) and its attached
    policies' IAM paths (Yale gave only the policy the scoping path); one of them must flatten to ``flat`` and pass
    :meth:`scope.GroupSpec.owns` for that path (group path, policy name and policy path exactly the scope's).
    """
    try:
        attached = iam.attached_group_policies(aws, group["GroupName"])
    except NotFound:
        return None  # deleted meanwhile
    group_path = str(group.get("Path", "/"))
    candidates = [
        policies.scoping_path_of_group_path(site, group_path) or group_path,
        *(arn_path(p["PolicyArn"]) for p in attached),
    ]
    for path in dict.fromkeys(candidates):
        if path == "/" or path.strip("/").replace("/", "_").lower() != flat.lower():
            continue
        try:
            spec = group_spec(aws, site, kind, path)
        except BadRequest:
            continue  # not a path this service could have scoped
        if spec.owns(group, attached):
            return path, attached
    return None


def site_group(aws: AccountAws, site: str, group: Mapping[str, Any]) -> SiteGroup | None:
    """``group`` as a :class:`SiteGroup` of ``site`` when its name matches exactly (never a substring: the
    groups of ``mysite.x.org`` are not ``site.x.org``'s), else None."""
    match = _group_pattern(site).fullmatch(group["GroupName"])
    if match is None:
        return None
    kind, flat = match["kind"], match["path"]
    if flat is None:
        return SiteGroup(group["GroupName"], kind, "/", group)
    if kind == WEB_ADMIN:
        return None  # web admins are never path-scoped
    found = _path_of(aws, site, group, kind, flat)
    return SiteGroup(group["GroupName"], kind, found[0], group, found[1]) if found else None


def _groups_under_site_path(aws: AccountAws, site: str) -> bool:
    """Whether the site was created with :data:`GROUPS_MARKER` on its claim ``<site>-BktAdmPlc`` (GetPolicy;
    the claim must be ours): then every path group of the site lives under its own IAM path. Sites made by
    the Yale service or by s3api before the marker may have path groups anywhere: they are found by a scan."""
    claim = buckets.own_claim(aws, policies.policy_name(site, ADMIN))
    tags = (claim or {}).get("Tags", [])
    return any(t.get("Key") == GROUPS_MARKER["Key"] and t.get("Value", "") == GROUPS_MARKER["Value"] for t in tags)


def site_groups(aws: AccountAws, site: str) -> list[SiteGroup]:
    """Every IAM group of the site, by the exact name pattern ``<site>-(<path>-)?(BktAdmGrp|BktRWGrp|
    BktROGrp|WebAdmGrp)``, path groups proven the site's by :func:`_path_of`. Root groups are taken by name
    (``<site>-BktAdmGrp`` is the site bucket's own name) without a read: every caller reads each group anyway
    (GetGroup answers its members), and skips those that are missing.

    The cost does not grow with the account: for a site created with :data:`GROUPS_MARKER`, GetPolicy (the
    marker) and ListGroups under the site's own IAM path (:func:`policies.site_group_path`). For older sites,
    ListGroups over the account (all pages), where the root groups found are those that exist.
    """
    if not _groups_under_site_path(aws, site):
        return _scanned_site_groups(aws, site)
    roots = [(policies.group_name(site, kind), kind) for kind in SITE_KINDS]
    found = [SiteGroup(name, kind, "/", {"GroupName": name, "Path": "/"}) for name, kind in roots]
    prefix = policies.site_group_path(site)
    for group in iam.list_groups(aws, prefix):
        # moto ignores PathPrefix (it answers every group): the prefix is checked here too
        if str(group.get("Path", "")).startswith(prefix) and (sg := site_group(aws, site, group)) is not None:
            found.append(sg)
    return found


def _scanned_site_groups(aws: AccountAws, site: str) -> list[SiteGroup]:
    """:func:`site_groups` of a site without the marker: ListGroups over the whole account (all pages)."""
    pattern = _group_pattern(site)
    found = []
    for group in iam.list_groups(aws):
        if pattern.fullmatch(group["GroupName"]):
            sg = site_group(aws, site, group)
            if sg is not None:
                found.append(sg)
    return found


def _web_admin_document(aws: AccountAws, site: str) -> policies.Policy:
    distribution = distribution_or_404(aws, site)
    return policies.web_admin(distribution["ARN"], aws.settings.website_actions, aws.settings.protected_actions)


def group_spec(aws: AccountAws, site: str, kind: str, path: str) -> GroupSpec:
    """What joining ``kind`` at ``path`` means, and the policy to create when the group is missing."""
    settings = aws.settings
    if kind == WEB_ADMIN:
        document = functools.partial(_web_admin_document, aws, site)
        description = policies.policy_description(site, WEB_ADMIN)
    elif kind == ADMIN and path == "/":
        document = functools.partial(
            policies.default_bucket_admin,
            site,
            settings.bucket_actions,
            settings.object_actions,
            settings.protected_actions,
        )
        description = policies.policy_description(site, ADMIN, website=True)
    else:
        document = functools.partial(policies.bucket_policy_for, kind, site, path, protected=settings.protected_actions)
        description = policies.policy_description(site, kind, path=path)
    return GroupSpec(
        group=policies.group_name(site, kind, path),
        policy=policies.policy_name(site, kind, path),
        description=description,
        document=document,
        policy_path=path,
        group_path=policies.site_group_path(site, path) if path != "/" else "/",
        older_group_paths=(path,) if path != "/" else (),
    )


def _root_group_names(site: str) -> tuple[str, ...]:
    return tuple(policies.group_name(site, kind) for kind in SITE_KINDS)


def user_scope(
    aws: AccountAws,
    site: str,
    path: str = "/",
    members_of: Sequence[str] = (),
    member_test: Callable[[AccountAws, Mapping[str, Any]], bool] | None = None,
) -> Scope:
    """The website's user scope for creating users at ``path`` (root admins also join WebAdmGrp), checking
    membership in ``members_of`` (default: the site's root groups), or with ``member_test``."""
    grants = {}
    for kind in policies.GROUP_KINDS:
        specs = [group_spec(aws, site, kind, path)]
        if kind == ADMIN and path == "/":
            specs.append(group_spec(aws, site, WEB_ADMIN, path))
        grants[kind] = tuple(specs)
    return Scope(
        kind="website",
        name=site,
        members_of=tuple(members_of) or _root_group_names(site),
        grants=grants,
        members_proven=True,  # root names are the site bucket's own; others come from site_group
        member_test=member_test,
    )
