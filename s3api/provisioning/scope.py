"""The scope model: what belongs to one bucket, or to one path of a website, in IAM.

A :class:`Scope` is a bucket (``<b>-BktAdmGrp``, ``<b>-BktRWGrp``, ``<b>-BktROGrp``: :func:`bucket_scope`) or a
website path (``<site>-<x_y>-<Kind>`` and ``<site>-WebAdmGrp``: built by
:mod:`s3api.provisioning.websites.groups`). It knows the exact group and policy names of each kind
(:class:`GroupSpec`), which groups make a user "a user of" it, and the one rule that proves an existing group
is its own (:meth:`GroupSpec.owns`), applied by every workflow before it joins, lists, shows or deletes
anything: names are not injective (site ``s`` path ``/docs/`` and bucket ``s-docs`` both map to
``s-docs-BktAdmGrp``), so a name alone never proves a group is the scope's.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from s3api.aws import iam
from s3api.aws.clients import AccountAws
from s3api.errors import BadRequest, Conflict, NotFound
from s3api.provisioning import policies

log = logging.getLogger("s3api.users")

Policy = dict[str, Any]
RESERVED_TAG_PREFIX = "s3api:"  # tags under this prefix are the server's (scope, retirement deadlines)


@dataclass(frozen=True)
class GroupSpec:
    """An IAM group users of a scope may join, and the managed policy created with it when it is missing.

    ``document`` is called only when the policy must be created.
    """

    group: str
    policy: str
    description: str
    document: Callable[[], Policy]
    policy_path: str = "/"
    group_path: str = "/"  # websites: a path-scoped group lives under the site's own IAM path
    #: IAM paths an existing group of this spec may also have (older groups of ours: the scoping path itself).
    older_group_paths: tuple[str, ...] = ()

    def named(self, group_name: str) -> bool:
        """Whether ``group_name`` is this spec's group name (IAM names are unique case-insensitively)."""
        return group_name.lower() == self.group.lower()

    def owns(self, group: Mapping[str, Any], attached: Sequence[Mapping[str, str]]) -> bool:
        """Whether an existing IAM ``group`` (with its ``attached`` managed policies) is provably this scope's:
        the one rule that create, join, list, show and delete apply before touching a group.

        The name alone proves nothing: site ``s`` with path ``/docs/`` and bucket ``s-docs`` both map to
        ``s-docs-BktAdmGrp``. So: the name matches (case-insensitively, as IAM compares), the group's IAM path
        is exactly ``group_path`` (or one of ``older_group_paths``), and this spec's policy (name
        case-insensitively, IAM path exactly ``policy_path``) is attached. Two tolerated shapes: a Yale path
        group (group path ``/``, only its policy carries the scoping path), and a group of exactly our path with
        nothing attached (a create or a delete interrupted between the group and its attachment: it grants
        nothing, so it is safe to finish).
        """
        if not self.named(str(group.get("GroupName", ""))):
            return False
        path = group.get("Path", "/")
        ours = any(
            p["PolicyName"].lower() == self.policy.lower() and arn_path(p["PolicyArn"]) == self.policy_path
            for p in attached
        )
        if path == self.group_path or path in self.older_group_paths:
            return ours or not attached
        return path == "/" and self.policy_path != "/" and ours

    def clash(self, group: Mapping[str, Any], attached: Sequence[Mapping[str, str]]) -> Conflict:
        """The 409 for a group of this name that :meth:`owns` refused, naming what it belongs to instead."""
        held = ", ".join(f"{p['PolicyName']} (path {arn_path(p['PolicyArn'])})" for p in attached) or "no policy"
        return Conflict(
            f"IAM group '{group.get('GroupName', self.group)}' (path {group.get('Path', '/')}, {held}) is not this "
            f"scope's (expected path {self.group_path} with policy {self.policy} at {self.policy_path}): "
            "its name collides with another bucket's or path's"
        )


def arn_path(arn: str) -> str:
    """The IAM path inside a policy ARN: ``arn:aws:iam::1:policy/docs/x`` → ``/docs/``."""
    resource = arn.split(":", 5)[-1]
    inner = resource.split("/")[1:-1]
    return "/" + "".join(f"{seg}/" for seg in inner)


def owned_group(aws: AccountAws, spec: GroupSpec, group: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The existing IAM group of ``spec`` when it is provably the scope's (:meth:`GroupSpec.owns`; GetGroup
    unless ``group`` is given, then ListAttachedGroupPolicies), None when there is none, 409 naming the clash
    when a group of that name belongs to something else."""
    found = dict(group) if group is not None else iam.get_group(aws, spec.group)
    if found is None:
        return None
    try:
        attached = iam.attached_group_policies(aws, str(found["GroupName"]))
    except NotFound:
        return None  # deleted meanwhile
    if not spec.owns(found, attached):
        raise spec.clash(found, attached)
    found["AttachedPolicies"] = attached
    return found


def is_owned(aws: AccountAws, spec: GroupSpec, group: Mapping[str, Any] | None = None) -> bool:
    """:func:`owned_group` as a test: a group of another scope is simply not this scope's (list, delete)."""
    try:
        return owned_group(aws, spec, group) is not None
    except Conflict:
        log.warning("group name shared with another scope: left alone", extra={"group": spec.group})
        return False


@dataclass(frozen=True)
class Scope:
    """What makes a user "a user of" a bucket or website, and what each requestable group kind grants.

    ``kind`` (``bucket``/``website``) and ``name`` label messages and the user tag ``s3api:<kind>=<name>``;
    ``members_of`` is the exact set of group names checked for membership (list, show, rotate, delete);
    ``grants`` maps each kind a caller may request (``BktAdmGrp``...) to the groups it joins, in order.
    Directly attached policies named ``<name>`` or ``<name>-*`` belong to the scope (detached on delete).
    """

    kind: str
    name: str
    members_of: tuple[str, ...]
    grants: Mapping[str, tuple[GroupSpec, ...]] = field(default_factory=dict)
    default_kinds: tuple[str, ...] = ("BktAdmGrp",)
    #: Whether ``members_of`` were already proven this scope's by the caller (the website routes find them
    #: with :meth:`GroupSpec.owns` themselves); otherwise each is checked against its spec in ``grants``.
    members_proven: bool = False
    #: When given, decides alone which of a user's groups are member groups (a website: any group provably
    #: the site's, at any path; see ``websites.groups.site_group``) instead of ``members_of``.
    member_test: Callable[[AccountAws, Mapping[str, Any]], bool] | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        return f"{self.kind} '{self.name}'"

    @property
    def tag_key(self) -> str:
        return f"{RESERVED_TAG_PREFIX}{self.kind}"

    def member_spec(self, group_name: str) -> GroupSpec | None:
        """The spec in ``grants`` named ``group_name`` (case-insensitively), if any."""
        for specs in self.grants.values():
            for spec in specs:
                if spec.named(group_name):
                    return spec
        return None

    def is_member_group(self, aws: AccountAws, group: Mapping[str, Any]) -> bool:
        """Whether an IAM ``group`` (as GetGroup/ListGroupsForUser answer it) is one of this scope's member
        groups: by name (case-insensitively), then proven by :meth:`GroupSpec.owns` (one more call); or by
        ``member_test`` when the scope has one."""
        if self.member_test is not None:
            return self.member_test(aws, group)
        name = str(group["GroupName"]).lower()
        if name not in {m.lower() for m in self.members_of}:
            return False
        if self.members_proven:
            return True
        spec = self.member_spec(name)
        return spec is not None and is_owned(aws, spec, group)

    def owns_policy(self, policy_name: str) -> bool:
        return policy_name == self.name or policy_name.startswith(self.name + "-")

    def specs(self, kinds: Sequence[str] | None) -> list[GroupSpec]:
        """The groups to join for ``kinds`` (default: ``default_kinds``), de-duplicated; 400 for unknown kinds."""
        wanted = list(dict.fromkeys(kinds if kinds is not None else self.default_kinds))
        unknown = [k for k in wanted if k not in self.grants]
        if unknown or not wanted:
            message = f"Groups must be a non-empty list of {', '.join(self.grants)}; unknown: {', '.join(unknown)}"
            raise BadRequest(message, errors={"Groups": [message]})
        specs: dict[str, GroupSpec] = {}
        for kind in wanted:
            for spec in self.grants[kind]:
                specs.setdefault(spec.group, spec)
        return list(specs.values())


def bucket_scope(aws: AccountAws, bucket: str) -> Scope:
    """The scope of ``bucket``'s users: its three groups by exact name (no AWS call). ``bucket`` as addressed
    (a legacy name of an existing bucket too: the bucket-name path converter decided; create checked the strict
    rule already).

    A lazily created admin group gets the same config-driven document as bucket creation
    (``policies.default_bucket_admin``: Yale used a different, hard-coded list there); read-write and
    read-only groups get ``policies.bucket_policy_for``.
    """
    settings = aws.settings

    def document(kind: str) -> Policy:
        if kind == "BktAdmGrp":
            return policies.default_bucket_admin(
                bucket, settings.bucket_actions, settings.object_actions, settings.protected_actions
            )
        return policies.bucket_policy_for(kind, bucket, protected=settings.protected_actions)

    grants = {
        kind: (
            GroupSpec(
                group=policies.group_name(bucket, kind),
                policy=policies.policy_name(bucket, kind),
                description=policies.policy_description(bucket, kind),
                document=functools.partial(document, kind),
            ),
        )
        for kind in policies.GROUP_KINDS
    }
    members = tuple(policies.group_name(bucket, kind) for kind in policies.GROUP_KINDS)
    return Scope(kind="bucket", name=bucket, members_of=members, grants=grants)
