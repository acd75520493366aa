"""Removing everything of a scope from IAM: the one tear-down of bucket delete and website delete.

In AWS's order (moto enforces none of it: tests/aws/test_bucket_order.py proves it):

1. each member of the scope's groups whose every group and attached policy is the scope's, and that holds no
   sign-in credential (:func:`users.access_only_in`), is deleted (:func:`users.remove_user`: keys, policies,
   memberships, user). Users go first, while their membership still makes them findable by a retry; the
   others (access elsewhere: another bucket's or site's group, a foreign or inline policy, a person's
   sign-in) keep user and keys and only leave the scope's groups with them;
2. each group in turn: first its policies (the scope's policy of that group, and any attached policy with one
   of the scope's policy names): detached from every entity, non-default versions deleted, deleted; then the
   group: remaining members removed, other policies detached, inline policies deleted, group deleted. The
   members and policies read when the group was proven the scope's are reused (AWS answers DeleteConflict
   should someone join meanwhile: the group is then emptied from a fresh read);
3. the scope's policies whose group was already gone (a retry), by name.

Retry-safe: a piece already gone is skipped, so a second run after a failure half-way finishes the job. A
policy goes before its group because a website path's policy (at the path's IAM path) is found only through
its group: a group left without its policy grants nothing and is still the scope's to delete
(:meth:`GroupSpec.owns`), while a policy left without its group could not be found again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from s3api.aws import iam
from s3api.aws.clients import AccountAws
from s3api.errors import Conflict
from s3api.provisioning import users
from s3api.provisioning.scope import GroupSpec, owned_group

log = logging.getLogger("s3api.teardown")


@dataclass(frozen=True)
class FoundGroup:
    """A group proven the scope's, with what was read to prove it: its members (IAM ``User`` objects) and
    its attached managed policies."""

    name: str
    members: Sequence[Mapping[str, Any]]
    policies: Sequence[Mapping[str, str]]
    #: The ARN of the scope's policy for this group (at its IAM path), attached or not.
    policy_arn: str


@dataclass
class Removal:
    """What a tear-down removed: the users deleted (IAM ``User`` objects), the policy and group names."""

    users: list[dict[str, Any]] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


def found_group(
    aws: AccountAws, spec: GroupSpec, attached: Sequence[Mapping[str, str]] | None = None
) -> FoundGroup | None:
    """``spec``'s group with its members when it exists and is provably the scope's (GetGroup, all pages; then
    ListAttachedGroupPolicies unless ``attached`` was read already), else None: a group of the same name that
    is another scope's is left alone, with its members and policy."""
    detail = iam.group_with_users(aws, spec.group)
    if detail is None:
        return None
    if attached is None:
        try:
            group = owned_group(aws, spec, detail[0])
        except Conflict:
            log.warning("group name shared with another scope: left alone", extra={"group": spec.group})
            return None
        if group is None:
            return None
        attached = group["AttachedPolicies"]
    return FoundGroup(spec.group, detail[1], list(attached), iam.policy_arn(aws, spec.policy, spec.policy_path))


def remove(aws: AccountAws, groups: Sequence[FoundGroup], policy_arns: Iterable[str] = ()) -> Removal:
    """Tear down the scope whose ``groups`` were found (in this order); ``policy_arns``: its other policies,
    deleted last when they exist (the root policies of a scope, found by name when their group is gone)."""
    removal = Removal()
    extra = list(dict.fromkeys(policy_arns))
    names = {arn.rsplit("/", 1)[-1] for arn in [*extra, *(g.policy_arn for g in groups)]}
    group_names = {g.name for g in groups}
    members: dict[str, Mapping[str, Any]] = {}
    for group in groups:
        for user in group.members:
            members.setdefault(str(user["UserName"]), user)
    gone: set[str] = set()
    for name, user in members.items():
        access = users.access_only_in(aws, name, group_names, names)
        if access is not None:
            users.remove_user(aws, name, access)
            removal.users.append(dict(user))
            gone.add(name)
    handled: set[str] = set()
    for group in groups:
        own = [group.policy_arn, *(p["PolicyArn"] for p in group.policies if p["PolicyName"] in names)]
        for arn in dict.fromkeys(own):
            if arn not in handled and iam.delete_policy(aws, arn):
                removal.policies.append(arn.rsplit("/", 1)[-1])
            handled.add(arn)
        left = [str(u["UserName"]) for u in group.members if u["UserName"] not in gone]
        others = [dict(p) for p in group.policies if p["PolicyArn"] not in handled]
        if iam.delete_group(aws, group.name, known=iam.GroupRemoval(left, others)) is not None:
            removal.groups.append(group.name)
    for arn in extra:
        if arn not in handled and iam.delete_policy(aws, arn):
            removal.policies.append(arn.rsplit("/", 1)[-1])
    return removal
