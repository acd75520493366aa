"""IAM gateway: managed policies, groups, users and access keys.

Functions take an ``AccountAws`` and plain values and are wrapped by ``@gateway("iam")`` (botocore errors
leave as our ``ApiError``s). Sections: policies, groups, users, access keys — add new functions to the
section they belong to. Lists use paginators (moto ignores MaxItems for most IAM lists; AWS does not).

AWS deletion rules that moto does NOT enforce, followed here:
- DeletePolicy: detach from every group, user and role, and delete every non-default version first.
- DeleteGroup: remove every member, detach managed policies and delete inline policies first.
- DeleteUser: delete access keys, group memberships, attached and inline policies first; AWS also refuses it
  while a login profile, MFA device, SSH key, signing certificate or service-specific credential exists: these
  are a person's, never deleted here (``sign_in_credentials`` names them so callers refuse or keep the user).
Functions named ``*_if_exists`` / taking ``missing_ok`` treat NoSuchEntity as "already done", which is
what makes clean-ups retry-safe.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from s3api.aws.clients import AccountAws
from s3api.aws.translate import gateway, is_code
from s3api.names import Tag


def _missing(exc: BaseException) -> bool:
    return is_code(exc, "NoSuchEntity")


# --- policies ---------------------------------------------------------------------------------------------


def policy_arn(aws: AccountAws, name: str, path: str = "/") -> str:
    """The ARN of customer-managed policy ``name`` under ``path`` in this account (no AWS call)."""
    return f"arn:aws:iam::{aws.account.account_id}:policy{path}{name}"


@gateway("iam", "CreatePolicy", actions=("iam:TagPolicy",))
def create_policy(
    aws: AccountAws,
    name: str,
    document: dict[str, Any],
    description: str = "",
    tags: list[Tag] | None = None,
    path: str = "/",
) -> dict[str, Any]:
    """CreatePolicy; returns the IAM ``Policy`` (PascalCase, as boto3 gives it). Duplicate name → 409."""
    kwargs: dict[str, Any] = {
        "PolicyName": name,
        "PolicyDocument": json.dumps(document),
        "Path": path,
        "Description": description,
    }
    if tags:
        kwargs["Tags"] = tags
    policy: dict[str, Any] = aws.iam.create_policy(**kwargs)["Policy"]
    return policy


@gateway("iam", "GetPolicy")
def get_policy(aws: AccountAws, arn: str) -> dict[str, Any] | None:
    """GetPolicy, or None when there is no such policy."""
    try:
        policy: dict[str, Any] = aws.iam.get_policy(PolicyArn=arn)["Policy"]
    except ClientError as exc:
        if _missing(exc):
            return None
        raise
    return policy


@dataclass
class PolicyEntities:
    """Who a managed policy is attached to (names)."""

    groups: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)


@gateway("iam", "ListEntitiesForPolicy")
def policy_entities(aws: AccountAws, arn: str) -> PolicyEntities:
    """ListEntitiesForPolicy (all pages). NoSuchEntity → 404."""
    return _policy_entities(aws.iam, arn)


def _policy_entities(iam: Any, arn: str) -> PolicyEntities:
    found = PolicyEntities()
    for page in iam.get_paginator("list_entities_for_policy").paginate(PolicyArn=arn):
        found.groups.extend(g["GroupName"] for g in page.get("PolicyGroups", []))
        found.users.extend(u["UserName"] for u in page.get("PolicyUsers", []))
        found.roles.extend(r["RoleName"] for r in page.get("PolicyRoles", []))
    return found


@gateway(
    "iam",
    "ListEntitiesForPolicy",
    "DetachGroupPolicy",
    "DetachUserPolicy",
    "DetachRolePolicy",
    "ListPolicyVersions",
    "DeletePolicyVersion",
    "DeletePolicy",
)
def delete_policy(aws: AccountAws, arn: str, missing_ok: bool = True) -> bool:
    """Delete a managed policy the way AWS requires: detach it from every group, user and role
    (ListEntitiesForPolicy), delete its non-default versions, then DeletePolicy.

    Returns False when the policy was already gone (and ``missing_ok``), True when deleted.
    Entities that vanish meanwhile are skipped.
    """
    iam = aws.iam
    try:
        entities = _policy_entities(iam, arn)
        for group in entities.groups:
            _ignore_missing(iam.detach_group_policy, GroupName=group, PolicyArn=arn)
        for user in entities.users:
            _ignore_missing(iam.detach_user_policy, UserName=user, PolicyArn=arn)
        for role in entities.roles:
            _ignore_missing(iam.detach_role_policy, RoleName=role, PolicyArn=arn)
        for page in iam.get_paginator("list_policy_versions").paginate(PolicyArn=arn):
            for version in page.get("Versions", []):
                if not version.get("IsDefaultVersion"):
                    iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
        iam.delete_policy(PolicyArn=arn)
    except ClientError as exc:
        if missing_ok and _missing(exc):  # the policy is gone (moto answers ListEntitiesForPolicy anyway)
            return False
        raise
    return True


def _ignore_missing(call: Any, missing_ok: bool = True, **kwargs: Any) -> bool:
    """Run one IAM call; False instead of an error when its target is gone (NoSuchEntity) and ``missing_ok``."""
    try:
        call(**kwargs)
    except ClientError as exc:
        if missing_ok and _missing(exc):
            return False
        raise
    return True


# --- groups -----------------------------------------------------------------------------------------------


@gateway("iam", "CreateGroup")
def create_group(aws: AccountAws, name: str, path: str = "/") -> dict[str, Any]:
    """CreateGroup; returns the IAM ``Group``. Duplicate name → 409. (IAM groups cannot be tagged.)"""
    group: dict[str, Any] = aws.iam.create_group(GroupName=name, Path=path)["Group"]
    return group


@gateway("iam", "GetGroup")
def group_members(aws: AccountAws, name: str) -> list[str] | None:
    """User names in group ``name`` (GetGroup, all pages), or None when the group does not exist.

    Looks the group up by its exact name: never ListGroups with a substring match.
    """
    return _group_members(aws.iam, name)


@gateway("iam", "GetGroup")
def get_group(aws: AccountAws, name: str) -> dict[str, Any] | None:
    """The IAM ``Group`` (GetGroup's first page: ``GroupName``, ``Path``, ``Arn`` ...), or None when missing."""
    try:
        group: dict[str, Any] = aws.iam.get_group(GroupName=name)["Group"]
    except ClientError as exc:
        if _missing(exc):
            return None
        raise
    return group


@gateway("iam", "GetGroup")
def group_with_members(aws: AccountAws, name: str) -> tuple[dict[str, Any], list[str]] | None:
    """The IAM ``Group`` and its members' user names (GetGroup by exact name, all pages), or None when the
    group does not exist: what :func:`get_group` and :func:`group_members` answer, in the same calls."""
    found = _group_with_users(aws.iam, name)
    return (found[0], [u["UserName"] for u in found[1]]) if found is not None else None


@gateway("iam", "GetGroup")
def group_with_users(aws: AccountAws, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The IAM ``Group`` and its members as whole IAM ``User`` objects (GetGroup by exact name, all pages:
    one call per 100 members), or None when the group does not exist: what :func:`get_group` and
    :func:`group_users` answer, in the calls of one of them (a list route needs both: the group for the
    ownership check, the users for the answer)."""
    return _group_with_users(aws.iam, name)


def _group_with_users(iam: Any, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    group: dict[str, Any] | None = None
    members: list[dict[str, Any]] = []
    try:
        for page in iam.get_paginator("get_group").paginate(GroupName=name):
            group = group or page["Group"]
            members.extend(page.get("Users", []))
    except ClientError as exc:
        if _missing(exc):
            return None
        raise
    return (group, members) if group is not None else None


def _group_members(iam: Any, name: str) -> list[str] | None:
    members: list[str] = []
    try:
        for page in iam.get_paginator("get_group").paginate(GroupName=name):
            members.extend(u["UserName"] for u in page.get("Users", []))
    except ClientError as exc:
        if _missing(exc):
            return None
        raise
    return members


@gateway("iam", "AttachGroupPolicy")
def attach_group_policy(aws: AccountAws, group: str, arn: str) -> None:
    aws.iam.attach_group_policy(GroupName=group, PolicyArn=arn)


@gateway("iam", "DetachGroupPolicy")
def detach_group_policy(aws: AccountAws, group: str, arn: str, missing_ok: bool = True) -> bool:
    """DetachGroupPolicy; False when the group, the policy or the attachment is already gone."""
    return _ignore_missing(aws.iam.detach_group_policy, missing_ok, GroupName=group, PolicyArn=arn)


@gateway("iam", "ListAttachedGroupPolicies")
def attached_group_policies(aws: AccountAws, group: str) -> list[dict[str, str]]:
    """``[{"PolicyName", "PolicyArn"}]`` attached to ``group`` (all pages). NoSuchEntity → 404."""
    return _attached_group_policies(aws.iam, group)


def _attached_group_policies(iam: Any, group: str) -> list[dict[str, str]]:
    attached: list[dict[str, str]] = []
    for page in iam.get_paginator("list_attached_group_policies").paginate(GroupName=group):
        attached.extend(page.get("AttachedPolicies", []))
    return attached


@gateway("iam", "RemoveUserFromGroup")
def remove_user_from_group(aws: AccountAws, group: str, user: str, missing_ok: bool = True) -> bool:
    """RemoveUserFromGroup; False when the user, the group or the membership is already gone."""
    return _ignore_missing(aws.iam.remove_user_from_group, missing_ok, GroupName=group, UserName=user)


@dataclass
class GroupRemoval:
    """What :func:`delete_group` took out of the group before deleting it."""

    members: list[str] = field(default_factory=list)
    policies: list[dict[str, str]] = field(default_factory=list)  # detached {"PolicyName", "PolicyArn"}


@gateway(
    "iam",
    "GetGroup",
    "RemoveUserFromGroup",
    "ListAttachedGroupPolicies",
    "DetachGroupPolicy",
    "ListGroupPolicies",
    "DeleteGroupPolicy",
    "DeleteGroup",
)
def delete_group(aws: AccountAws, name: str, known: GroupRemoval | None = None) -> GroupRemoval | None:
    """Delete group ``name`` the way AWS requires: remove every member, detach every managed policy,
    delete every inline policy, then DeleteGroup. Returns what was removed, or None when the group
    did not exist. The policies themselves and the users are left alone (the caller decides).

    ``known``: the members still in the group and its attached policies as the caller has just read them
    (GetGroup, ListAttachedGroupPolicies): they are not read again. Should someone have joined or attached
    meanwhile, AWS refuses DeleteGroup (DeleteConflict) and the group is then emptied from a fresh read,
    once; so the result is the same as without ``known``, in two calls fewer.
    """
    iam = aws.iam
    if known is not None:
        try:
            return _delete_group(iam, name, GroupRemoval(list(known.members), list(known.policies)))
        except ClientError as exc:
            if not is_code(exc, "DeleteConflict"):
                raise
    members = _group_members(iam, name)
    if members is None:
        return None
    return _delete_group(iam, name, GroupRemoval(members=members), read_policies=True)


def _delete_group(iam: Any, name: str, removal: GroupRemoval, read_policies: bool = False) -> GroupRemoval:
    for user in removal.members:
        _ignore_missing(iam.remove_user_from_group, GroupName=name, UserName=user)
    try:
        if read_policies:
            removal.policies = _attached_group_policies(iam, name)
        for policy in removal.policies:
            _ignore_missing(iam.detach_group_policy, GroupName=name, PolicyArn=policy["PolicyArn"])
        for page in iam.get_paginator("list_group_policies").paginate(GroupName=name):
            for inline in page.get("PolicyNames", []):
                _ignore_missing(iam.delete_group_policy, GroupName=name, PolicyName=inline)
        iam.delete_group(GroupName=name)
    except ClientError as exc:
        if _missing(exc):  # deleted concurrently: done
            return removal
        raise
    return removal


# --- users ------------------------------------------------------------------------------------------------


@gateway("iam", "ListGroupsForUser")
def user_groups(aws: AccountAws, user: str) -> list[str]:
    """Names of the groups ``user`` belongs to (all pages). NoSuchEntity → 404."""
    names: list[str] = []
    for page in aws.iam.get_paginator("list_groups_for_user").paginate(UserName=user):
        names.extend(g["GroupName"] for g in page.get("Groups", []))
    return names


@gateway("iam", "ListAttachedUserPolicies")
def user_attached_policies(aws: AccountAws, user: str) -> list[dict[str, str]]:
    """``[{"PolicyName", "PolicyArn"}]`` attached directly to ``user`` (all pages)."""
    attached: list[dict[str, str]] = []
    for page in aws.iam.get_paginator("list_attached_user_policies").paginate(UserName=user):
        attached.extend(page.get("AttachedPolicies", []))
    return attached


@gateway("iam", "ListUserPolicies")
def user_inline_policies(aws: AccountAws, user: str) -> list[str]:
    """Names of the inline policies of ``user`` (all pages)."""
    names: list[str] = []
    for page in aws.iam.get_paginator("list_user_policies").paginate(UserName=user):
        names.extend(page.get("PolicyNames", []))
    return names


@gateway("iam", "DeleteUser")
def delete_user(aws: AccountAws, user: str, missing_ok: bool = True) -> bool:
    """DeleteUser alone: the caller removes keys, memberships and policies first (AWS: DeleteConflict)."""
    return _ignore_missing(aws.iam.delete_user, missing_ok, UserName=user)


@gateway(
    "iam",
    "GetLoginProfile",
    "ListMFADevices",
    "ListSSHPublicKeys",
    "ListSigningCertificates",
    "ListServiceSpecificCredentials",
)
def sign_in_credentials(aws: AccountAws, user: str) -> list[str]:
    """The credentials of ``user`` other than access keys that make AWS refuse DeleteUser (DeleteConflict),
    each named for a 409: ``login profile``, ``MFA device <serial>``, ``SSH public key <id>``, ``signing
    certificate <id>``, ``service-specific credential <id> (<service>)``; ``[]`` when none.

    Five read calls: GetLoginProfile (NoSuchEntity means no console password), ListMFADevices,
    ListSSHPublicKeys, ListSigningCertificates (all pages), ListServiceSpecificCredentials (not paginated).
    moto lets DeleteUser pass with all of them and does not implement ListServiceSpecificCredentials (nor
    their creation): with the embedded emulator (``aws.gateway.embedded``) none can exist, so that call is
    skipped there. A missing user → 404 (from the first list call).
    """
    found: list[str] = []
    try:
        aws.iam.get_login_profile(UserName=user)
        found.append("login profile")
    except ClientError as exc:
        if not _missing(exc):
            raise
    lists = (
        ("list_mfa_devices", "MFADevices", "SerialNumber", "MFA device"),
        ("list_ssh_public_keys", "SSHPublicKeys", "SSHPublicKeyId", "SSH public key"),
        ("list_signing_certificates", "Certificates", "CertificateId", "signing certificate"),
    )
    for operation, key, ident, label in lists:
        for page in aws.iam.get_paginator(operation).paginate(UserName=user):
            found.extend(f"{label} {item[ident]}" for item in page.get(key, []))
    if not aws.gateway.embedded:
        credentials = aws.iam.list_service_specific_credentials(UserName=user).get("ServiceSpecificCredentials", [])
        found.extend(
            f"service-specific credential {c['ServiceSpecificCredentialId']} ({c.get('ServiceName', '?')})"
            for c in credentials
        )
    return found


# --- access keys ------------------------------------------------------------------------------------------


@gateway("iam", "ListAccessKeys")
def list_access_keys(aws: AccountAws, user: str) -> list[dict[str, Any]]:
    """AccessKeyMetadata of ``user`` (all pages): ``AccessKeyId``, ``Status``, ``CreateDate`` ..."""
    keys: list[dict[str, Any]] = []
    for page in aws.iam.get_paginator("list_access_keys").paginate(UserName=user):
        keys.extend(page.get("AccessKeyMetadata", []))
    return keys


@gateway("iam", "DeleteAccessKey")
def delete_access_key(aws: AccountAws, user: str, key_id: str, missing_ok: bool = True) -> bool:
    """DeleteAccessKey; False when the key (or user) is already gone and ``missing_ok``."""
    return _ignore_missing(aws.iam.delete_access_key, missing_ok, UserName=user, AccessKeyId=key_id)


# --- users and keys ---------------------------------------------------------------------------------------
# Used by provisioning/users.py (bucket users; website users reuse them).


@gateway("iam", "CreateUser", actions=("iam:TagUser",))
def create_user(aws: AccountAws, name: str, path: str = "/", tags: list[Tag] | None = None) -> dict[str, Any]:
    """CreateUser; returns the IAM ``User`` (with ``Tags``). Duplicate name → 409."""
    kwargs: dict[str, Any] = {"UserName": name, "Path": path}
    if tags:
        kwargs["Tags"] = tags
    user: dict[str, Any] = aws.iam.create_user(**kwargs)["User"]
    return user


@gateway("iam", "GetUser")
def get_user(aws: AccountAws, name: str) -> dict[str, Any]:
    """GetUser: the IAM ``User`` including its ``Tags``. NoSuchEntity → 404."""
    user: dict[str, Any] = aws.iam.get_user(UserName=name)["User"]
    return user


@gateway("iam", "ListUsers")
def list_user_names(aws: AccountAws, path_prefix: str = "/") -> list[str]:
    """Names of every IAM user under ``path_prefix`` (ListUsers, all pages; one call per 1000 users)."""
    names: list[str] = []
    for page in aws.iam.get_paginator("list_users").paginate(PathPrefix=path_prefix):
        names.extend(u["UserName"] for u in page.get("Users", []))
    return names


@gateway("iam", "ListUserTags")
def user_tags(aws: AccountAws, user: str) -> list[Tag]:
    """The user's tags (ListUserTags, all pages) as ``[{"Key", "Value"}]``. NoSuchEntity → 404."""
    tags: list[Tag] = []
    for page in aws.iam.get_paginator("list_user_tags").paginate(UserName=user):
        tags.extend({"Key": t["Key"], "Value": t.get("Value", "")} for t in page.get("Tags", []))
    return tags


@gateway("iam", "TagUser")
def tag_user(aws: AccountAws, user: str, tags: list[Tag]) -> None:
    """TagUser: adds or overwrites the given keys (IAM user tag keys are case-insensitive on AWS)."""
    aws.iam.tag_user(UserName=user, Tags=tags)


@gateway("iam", "UntagUser")
def untag_user(aws: AccountAws, user: str, keys: list[str], missing_ok: bool = True) -> bool:
    """UntagUser (absent keys are fine); False when the user is gone and ``missing_ok``."""
    if not keys:
        return True
    return _ignore_missing(aws.iam.untag_user, missing_ok, UserName=user, TagKeys=keys)


@gateway("iam", "AddUserToGroup")
def add_user_to_group(aws: AccountAws, group: str, user: str) -> None:
    """AddUserToGroup (idempotent on AWS). NoSuchEntity (user or group) → 404."""
    aws.iam.add_user_to_group(GroupName=group, UserName=user)


@gateway("iam", "GetGroup")
def group_users(aws: AccountAws, name: str) -> list[dict[str, Any]] | None:
    """The IAM ``User`` objects in group ``name`` (GetGroup by exact name, all pages); None when the group
    does not exist. Like :func:`group_members`, but whole users (what the user list route answers)."""
    users: list[dict[str, Any]] = []
    try:
        for page in aws.iam.get_paginator("get_group").paginate(GroupName=name):
            users.extend(page.get("Users", []))
    except ClientError as exc:
        if _missing(exc):
            return None
        raise
    return users


@gateway("iam", "ListGroupsForUser")
def user_group_details(aws: AccountAws, user: str) -> list[dict[str, Any]]:
    """The IAM ``Group`` objects ``user`` belongs to (ListGroupsForUser, all pages). NoSuchEntity → 404.
    Like :func:`user_groups`, but whole groups (the show route answers them)."""
    groups: list[dict[str, Any]] = []
    for page in aws.iam.get_paginator("list_groups_for_user").paginate(UserName=user):
        groups.extend(page.get("Groups", []))
    return groups


@gateway(
    "iam",
    "GetGroup",
    "ListAttachedGroupPolicies",
    "DetachGroupPolicy",
    "ListGroupPolicies",
    "DeleteGroupPolicy",
    "DeleteGroup",
)
def delete_group_if_empty(aws: AccountAws, name: str) -> str:
    """Delete group ``name`` only while it has no members: detach its managed policies, delete its inline
    ones, then DeleteGroup. Answers ``"deleted"``, ``"missing"`` (already gone) or ``"in_use"`` (members
    found, or AWS's DeleteConflict because one joined meanwhile; the group is then left as it is, except
    for policies already detached).

    The undo of a lazily created group: unlike :func:`delete_group` it never removes a member, so a
    concurrent request that joined the group is not broken by this request's rollback.
    """
    iam = aws.iam
    members = _group_members(iam, name)
    if members is None:
        return "missing"
    if members:
        return "in_use"
    try:
        for policy in _attached_group_policies(iam, name):
            _ignore_missing(iam.detach_group_policy, GroupName=name, PolicyArn=policy["PolicyArn"])
        for page in iam.get_paginator("list_group_policies").paginate(GroupName=name):
            for inline in page.get("PolicyNames", []):
                _ignore_missing(iam.delete_group_policy, GroupName=name, PolicyName=inline)
        iam.delete_group(GroupName=name)
    except ClientError as exc:
        if _missing(exc):
            return "missing"
        if is_code(exc, "DeleteConflict"):
            return "in_use"
        raise
    return "deleted"


@gateway("iam", "DetachUserPolicy")
def detach_user_policy(aws: AccountAws, user: str, arn: str, missing_ok: bool = True) -> bool:
    """DetachUserPolicy; False when the user, the policy or the attachment is already gone."""
    return _ignore_missing(aws.iam.detach_user_policy, missing_ok, UserName=user, PolicyArn=arn)


@gateway("iam", "CreateAccessKey")
def create_access_key(aws: AccountAws, user: str) -> dict[str, Any]:
    """CreateAccessKey: ``AccessKeyId``, ``SecretAccessKey`` (only ever shown here), ``Status``,
    ``CreateDate``, ``UserName``. IAM allows two keys per user: a third → LimitExceeded (429 by the table,
    so callers make room first)."""
    key: dict[str, Any] = aws.iam.create_access_key(UserName=user)["AccessKey"]
    return key


@gateway("iam", "GetAccessKeyLastUsed")
def access_key_last_used(aws: AccountAws, key_id: str) -> dict[str, Any]:
    """``{"ServiceName", "Region", "LastUsedDate"}`` of a key: the date (a datetime) is None and service and
    region are ``"N/A"`` when never used, as IAM answers (moto: never recorded). NoSuchEntity → 404."""
    last = aws.iam.get_access_key_last_used(AccessKeyId=key_id).get("AccessKeyLastUsed", {})
    return {k: last.get(k) for k in ("ServiceName", "Region", "LastUsedDate")}


@gateway("iam", "UpdateAccessKey")
def update_access_key(aws: AccountAws, user: str, key_id: str, status: str) -> None:
    """UpdateAccessKey: ``status`` ``"Active"`` or ``"Inactive"``. AWS refuses an inactive key's requests at
    once (InvalidAccessKeyId for S3), moto's IAM enforcement does not look at the status. NoSuchEntity → 404."""
    aws.iam.update_access_key(UserName=user, AccessKeyId=key_id, Status=status)


# --- group listing (websites: path-scoped groups are found by exact name pattern) ---------------------------


#: ListGroups' largest page (IAM's MaxItems limit); without it IAM answers 100 groups a call.
LIST_GROUPS_PAGE = 1000


@gateway("iam", "ListGroups")
def list_groups(aws: AccountAws, path_prefix: str = "/") -> list[dict[str, Any]]:
    """Every IAM ``Group`` under ``path_prefix`` (ListGroups, all pages, asked :data:`LIST_GROUPS_PAGE` at a
    time: one call per 1000 groups, not IAM's default 100). Callers filter by an exact name pattern, never by
    substring (a substring also matches the groups of another bucket whose name contains this one). moto
    ignores both ``MaxItems`` and ``PathPrefix`` here (it answers every group in one page), so a call count
    under moto cannot show the paging."""
    groups: list[dict[str, Any]] = []
    pages = aws.iam.get_paginator("list_groups").paginate(
        PathPrefix=path_prefix, PaginationConfig={"PageSize": LIST_GROUPS_PAGE}
    )
    for page in pages:
        groups.extend(page.get("Groups", []))
    return groups


# --- inline user policies (share-link signers: s3api/provisioning/signers.py) -------------------------------


@gateway("iam", "PutUserPolicy")
def put_user_policy(aws: AccountAws, user: str, name: str, document: str) -> None:
    """PutUserPolicy: create or replace the inline policy ``name`` of ``user`` (IAM: 2,048 characters for all
    of a user's inline policies). NoSuchEntity → 404."""
    aws.iam.put_user_policy(UserName=user, PolicyName=name, PolicyDocument=document)


@gateway("iam", "DeleteUserPolicy")
def delete_user_policy(aws: AccountAws, user: str, name: str, missing_ok: bool = True) -> bool:
    """DeleteUserPolicy; False when the user or the policy is already gone and ``missing_ok``."""
    return _ignore_missing(aws.iam.delete_user_policy, missing_ok, UserName=user, PolicyName=name)
