"""Users of a bucket (and, through :class:`UserScope`, of a website): create with a key, list, show, rotate
keys with a grace period, delete; plus the retirement of keys whose grace period is over.

**Scope.** Every workflow takes a :class:`UserScope`: the exact IAM group names whose members are "users of
this bucket", and the groups (with the managed policy to create on demand) each requestable kind joins.
:func:`bucket_scope` builds it for a bucket (``<b>-BktAdmGrp``, ``<b>-BktRWGrp``, ``<b>-BktROGrp``); the
websites workflow builds its own (path-scoped names, ``<site>-WebAdmGrp``) and calls the same functions.
Membership is always an exact-name test (ListGroupsForUser ∩ the scope's names, or GetGroup by exact name,
compared case-insensitively as IAM does), and a group of the right name counts only when it is provably the
scope's (:meth:`GroupSpec.owns`: one ListAttachedGroupPolicies per matching group): never Yale's substring
match, which leaked and deleted other buckets' users (§9.5). Show, rotate and delete
answer 404 for a user outside the scope, exactly as for a user that does not exist (Yale rotated and deleted
any IAM user of the account, human admins included: §9.3).

**Create**, in order (undo registered once a step succeeded; the failing step's own undo never runs):

1. CreateUser tagged ``<org_tag_key>=<org>`` and ``s3api:<kind>=<name>`` (409 when the name is taken;
   nothing to undo). Undo: DeleteUser. Bucket users: HeadBucket again right after (404 and rollback when a
   racing bucket delete removed it meanwhile).
2. For each group to join: an existing one (GetGroup, ListAttachedGroupPolicies) is joined only when it is
   provably this scope's (:meth:`GroupSpec.owns`), else 409 naming the clash. For one that does not exist
   yet: CreatePolicy (undo: delete it unless it is
   now attached to something), CreateGroup (undo: detach its policies and delete it unless it has members),
   AttachGroupPolicy (undone by the group's undo). EntityAlreadyExists on the policy or the group means a
   concurrent request made it: the existing one is used and *no* undo is registered for it (Yale §9.20).
3. AddUserToGroup for each group. Undo: RemoveUserFromGroup.
4. CreateAccessKey. Undo: DeleteAccessKey.

So a rollback runs in AWS's order: key, memberships, each lazily created group (detach, delete), its policy,
then the user. A new key can take a few seconds to be accepted by S3 (IAM propagation).

**Rotate** (``grace_seconds`` 0..604800): overdue keys are retired first. IAM allows two keys per user, so
when the user already has two, one is deleted *before* CreateAccessKey, chosen in this order: a key already
scheduled for retirement (earliest deadline first), an inactive key, the oldest key. Then CreateAccessKey
(undo: delete it). With no grace every other key is deleted; with a grace period the remaining old key, if
active, is kept until ``now + grace`` (an earlier deadline it already had is kept), recorded as the user tag
``s3api:retire:<AccessKeyId>`` = ISO 8601 UTC time, so that it survives restarts and redeploys; an inactive
old key is deleted at once. Deleted keys cannot be restored: a key deleted to make room stays deleted if
CreateAccessKey then fails.

**Retirement**: :func:`retire_overdue_keys` deletes the keys whose deadline has passed and removes their
tags (key first, so an interrupted retirement is finished by the next one). Show and rotate do it before
reading the keys. A rotation that schedules a retirement also puts the user into the marker group
:data:`RETIRING_GROUP` (created on first use), and the retirement that leaves nothing scheduled takes it out:
the ``retire_keys`` sweeper task reads that one group (GetGroup) and only its members' tags, so its cost
follows the number of pending retirements, not the number of users. The marker grants nothing (no policy);
delete removes it with every other membership, and the bucket and website deletes do not count it as
access elsewhere.

**Delete**: ListGroupsForUser (404 unless in scope, or a leftover of an interrupted delete: see
:func:`require_member`), ListAttachedUserPolicies. A user also in a group outside the scope (another bucket or
site: access elsewhere) only leaves the scope's groups and loses the scope's attached policies; user and keys stay.
Otherwise ListUserPolicies and the five sign-in credential reads (:func:`iam.sign_in_credentials`): 409 up front,
nothing touched, when a policy outside the scope, an inline policy, a login profile, an MFA device, an SSH key, a
signing certificate or a service-specific credential exists (AWS would refuse DeleteUser after the keys were gone,
and every retry would be 409 again), then DeleteAccessKey each, RemoveUserFromGroup for *every* group,
DetachUserPolicy for the scope's policies (``<name>`` or ``<name>-*``), DeleteUser. moto lets DeleteUser pass with
keys and memberships; AWS answers DeleteConflict, hence this order (tests/aws/test_user_order.py).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from s3api import validation
from s3api.aws import iam, s3
from s3api.aws.clients import AccountAws
from s3api.aws.translate import is_code
from s3api.errors import ApiError, BadRequest, Conflict, NotFound
from s3api.provisioning import policies, sweeper
from s3api.provisioning.steps import Transaction

log = logging.getLogger("s3api.users")

Policy = dict[str, Any]
Tag = dict[str, str]

USER_NAME = validation.USER_NAME  # one definition (s3api.validation); s3api.schemas.users imports it from here
IAM_PATH = re.compile(r"/|/[\x21-\x7e]{1,510}/")
RESERVED_TAG_PREFIX = "s3api:"  # tags under this prefix are the server's (scope, retirement deadlines)
RETIRE_TAG_PREFIX = "s3api:retire:"
MAX_KEYS_PER_USER = 2  # IAM's limit
MAX_GRACE_SECONDS = 7 * 24 * 3600
#: Caller tags on a user: 50 (IAM) - org tag - scope tag - one retirement tag per key.
MAX_USER_CALLER_TAGS = validation.MAX_TAGS - 2 - MAX_KEYS_PER_USER
#: ListUserTags calls per account and sweeper pass; the next pass continues where this one stopped.
SWEEP_BATCH = 200
#: Members: the users with a pending key retirement (see the module docstring). No policy is ever attached.
RETIRING_GROUP = "s3api-RetiringKeys"


def _utcnow() -> datetime:
    return datetime.now(UTC)


#: The clock used when no ``now`` is given (tests replace it).
clock: Callable[[], datetime] = _utcnow


# --- scope -------------------------------------------------------------------------------------------------


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
    group_path: str = "/"  # websites: a path-scoped group carries its scoping path (found again by a retry)

    def named(self, group_name: str) -> bool:
        """Whether ``group_name`` is this spec's group name (IAM names are unique case-insensitively)."""
        return group_name.lower() == self.group.lower()

    def owns(self, group: Mapping[str, Any], attached: Sequence[Mapping[str, str]]) -> bool:
        """Whether an existing IAM ``group`` (with its ``attached`` managed policies) is provably this scope's:
        the one rule that create, join, list, show and delete apply before touching a group.

        The name alone proves nothing: site ``s`` with path ``/docs/`` and bucket ``s-docs`` both map to
        ``s-docs-BktAdmGrp``. So: the name matches (case-insensitively, as IAM compares), the group's IAM path
        is exactly ``group_path``, and this spec's policy (name case-insensitively, IAM path exactly
        ``policy_path``) is attached. Two tolerated shapes: a Yale path group (group path ``/``, only its
        policy carries the scoping path), and a group of exactly our path with nothing attached (a create or a
        delete interrupted between the group and its attachment: it grants nothing, so it is safe to finish).
        """
        if not self.named(str(group.get("GroupName", ""))):
            return False
        path = group.get("Path", "/")
        ours = any(
            p["PolicyName"].lower() == self.policy.lower() and arn_path(p["PolicyArn"]) == self.policy_path
            for p in attached
        )
        if path == self.group_path:
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
class UserScope:
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
        groups: by name (case-insensitively), then proven by :meth:`GroupSpec.owns` (one more call)."""
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


def bucket_scope(aws: AccountAws, bucket: str) -> UserScope:
    """The scope of ``bucket``'s users: its three groups by exact name (no AWS call). ``bucket`` as addressed
    (a legacy name of an existing bucket too: the bucket-name path converter decided; create checked the strict
    rule already).

    A lazily created admin group gets the same config-driven document as bucket creation
    (``policies.default_bucket_admin``: Yale used a different, hard-coded list there, §5.1); read-write and
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
    return UserScope(kind="bucket", name=bucket, members_of=members, grants=grants)


@dataclass(frozen=True)
class NewUser:
    """CreateUser input: ``name`` per IAM rules, IAM ``path``, caller ``tags`` (``[{"Key", "Value"}]``)."""

    name: str
    path: str = "/"
    tags: Sequence[Mapping[str, str]] = ()


def require_member(aws: AccountAws, scope: UserScope, user: str, *, leftover_ok: bool = False) -> list[dict[str, Any]]:
    """The user's IAM groups (ListGroupsForUser) when at least one is in ``scope.members_of``; otherwise
    404, with the same message whether or not the user exists elsewhere in the account.

    ``leftover_ok`` (delete): also accept a user in *no* group that carries this deployment's organisation
    tag and the scope's tag (one more call, ListUserTags): what an interrupted delete or an incomplete
    rollback leaves behind, so that a second DELETE can finish the job.
    """
    return _member_groups(aws, scope, user, leftover_ok=leftover_ok, first_only=True)[0]


def _member_groups(
    aws: AccountAws, scope: UserScope, user: str, *, leftover_ok: bool = False, first_only: bool = False
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(all of the user's groups, those that are the scope's member groups) for :func:`require_member`; the
    same 404s. ``first_only`` stops proving at the first member group (show, rotate: one proof suffices);
    delete proves each (it must know which groups are the scope's: :meth:`UserScope.is_member_group`).
    ``user`` arrives checked by the user-name path converter."""
    missing = NotFound(f"user '{user}' is not a user of {scope.label}")
    try:
        groups = iam.user_group_details(aws, user)
    except NotFound:
        raise missing from None
    mine: list[dict[str, Any]] = []
    for group in groups:
        if scope.is_member_group(aws, group):
            mine.append(group)
            if first_only:
                break
    if mine:
        return groups, mine
    if leftover_ok and all(g["GroupName"] == RETIRING_GROUP for g in groups):
        tags = iam.user_tags(aws, user)
        if _org_tag(aws) in tags and {"Key": scope.tag_key, "Value": scope.name} in tags:
            return groups, []
    raise missing


# --- create ------------------------------------------------------------------------------------------------


def create_user(
    aws: AccountAws,
    scope: UserScope,
    new: NewUser,
    kinds: Sequence[str] | None = None,
    after_claim: Callable[[Transaction], None] | None = None,
) -> dict[str, Any]:
    """Create a user of ``scope`` in the groups for ``kinds``, with an access key:
    ``{"User": {...}, "AccessKey": {AccessKeyId, SecretAccessKey, Status, CreateDate, UserName}}``.

    Input is checked before the first AWS call. See the module docstring for the steps and their undo.
    CreateUser is the claim on the name: ``after_claim(tx)`` adds the caller's own steps right after it, in
    the same transaction, so a request that lost the race (409) never touches them.

    A retried create (the client timed out) never shows a secret twice: an existing complete user is a 409 as
    before (its keys can be rotated). A half-made user of this scope — claimed, then the server died before
    CreateAccessKey, so it has no key — is a 409 saying that the earlier create was interrupted and that
    DELETE of the user (which accepts such leftovers, :func:`require_member`) then POST recovers. It is not
    finished in place: a keyless user may also be one whose keys were deliberately deleted.
    """
    tags, specs = check_new_user(aws, scope, new, kinds)
    name = new.name
    try:
        user = iam.create_user(aws, name, new.path, tags)  # 409 when taken: nothing to undo, no rollback counted
    except Conflict as exc:
        if _already_exists(exc) and _interrupted(aws, scope, name):
            raise Conflict(
                f"user '{name}' of {scope.label} exists without an access key: an earlier create of it was "
                f"interrupted; delete it (DELETE .../users/{name} on this route), then create it again"
            ) from exc
        raise
    with Transaction(f"{scope.kind}_user_create") as tx:
        tx.on_undo("create_user", lambda: _discard(iam.delete_user(aws, name)))
        if after_claim is not None:
            after_claim(tx)
        for spec in specs:
            _ensure_group(aws, tx, spec)
        for spec in specs:
            tx.step(
                f"join:{spec.group}",
                functools.partial(iam.add_user_to_group, aws, spec.group, name),
                functools.partial(_undo_join, aws, spec.group, name),
            )
        key = tx.step(
            "create_key",
            lambda: iam.create_access_key(aws, name),
            lambda k: _discard(iam.delete_access_key(aws, name, k["AccessKeyId"])),
        )
    user["Tags"] = _clean_tags(user.get("Tags", tags))
    return {"User": user, "AccessKey": key}


def _interrupted(aws: AccountAws, scope: UserScope, name: str) -> bool:
    """Whether existing user ``name`` is a half-made user of ``scope``: our organisation tag and the scope's tag
    (ListUserTags), and no access key (ListAccessKeys). Asked only after CreateUser answered EntityAlreadyExists,
    to say how to recover; best effort (any error: False, the plain 409)."""
    try:
        tags = iam.user_tags(aws, name)
        if _org_tag(aws) not in tags or {"Key": scope.tag_key, "Value": scope.name} not in tags:
            return False
        return not iam.list_access_keys(aws, name)
    except ApiError:
        return False


def check_new_user(
    aws: AccountAws, scope: UserScope, new: NewUser, kinds: Sequence[str] | None = None
) -> tuple[list[Tag], list[GroupSpec]]:
    """400 for anything IAM would refuse half-way; answers the user's tags and the groups to join."""
    if not isinstance(new.path, str) or not IAM_PATH.fullmatch(new.path):
        message = "Path must be '/' or begin and end with '/' (printable ASCII, at most 512 characters)"
        raise BadRequest(message, errors={"User.Path": [message]})
    return _user_tags(aws, scope, new.tags), scope.specs(kinds)


def _user_tags(aws: AccountAws, scope: UserScope, caller: Sequence[Mapping[str, str]]) -> list[Tag]:
    """Caller tags checked (AWS rules, at most :data:`MAX_USER_CALLER_TAGS`, nothing under ``s3api:``) plus
    the organisation tag and the scope tag."""
    checked = validation.validate_tags(list(caller), aws.settings.org_tag_key, "User.Tags")
    problem = None
    if len(checked) > MAX_USER_CALLER_TAGS:
        problem = f"at most {MAX_USER_CALLER_TAGS} tags are allowed on a user (the rest are reserved)"
    reserved = [t["Key"] for t in checked if t["Key"].lower().startswith(RESERVED_TAG_PREFIX)]
    if reserved:
        problem = f"tag keys beginning with {RESERVED_TAG_PREFIX!r} are reserved: {', '.join(reserved)}"
    if problem:
        raise BadRequest(problem, errors={"User.Tags": [problem]})
    return [*checked, _org_tag(aws), {"Key": scope.tag_key, "Value": scope.name}]


def _org_tag(aws: AccountAws) -> Tag:
    return {"Key": aws.settings.org_tag_key, "Value": aws.settings.org}


def _ensure_group(aws: AccountAws, tx: Transaction, spec: GroupSpec) -> None:
    """Make sure ``spec.group`` exists with its policy attached; register undos only for what this call made.

    Names are not injective (Yale's naming: ``/a_b/`` and ``/a/b/`` both give ``<site>-a_b-…``, and site ``s``
    path ``/docs/`` shares ``s-docs-…`` with bucket ``s-docs``): an existing group is joined only when it is
    provably this scope's (:meth:`GroupSpec.owns`), otherwise 409 naming the clash, so a user is never put in
    a group whose policy grants something else. A group of ours with no policy (an interrupted create) gets
    its policy; a group made concurrently is checked the same way before the policy is attached to it."""
    existing = owned_group(aws, spec)  # 409 when a group of this name is another scope's
    if existing is not None and existing["AttachedPolicies"]:
        return
    try:
        arn = iam.create_policy(
            aws, spec.policy, spec.document(), spec.description, [_org_tag(aws)], path=spec.policy_path
        )["Arn"]
        tx.on_undo(f"policy:{spec.policy}", functools.partial(_undo_policy, aws, arn))
    except Conflict as exc:
        if not _already_exists(exc):
            raise
        arn = iam.policy_arn(aws, spec.policy, spec.policy_path)  # made by a concurrent request
        if iam.get_policy(aws, arn) is None:
            raise Conflict(f"policy '{spec.policy}' changed concurrently; retry") from None
    try:
        iam.create_group(aws, spec.group, spec.group_path)
        tx.on_undo(f"group:{spec.group}", functools.partial(_undo_group, aws, spec.group))
    except Conflict as exc:
        if not _already_exists(exc):
            raise
        owned_group(aws, spec)  # made meanwhile: 409 unless it is this scope's
    iam.attach_group_policy(aws, spec.group, arn)  # idempotent when the concurrent request attached it too


def _already_exists(exc: ApiError) -> bool:
    return is_code(exc.__cause__ or exc, "EntityAlreadyExists")


def _undo_policy(aws: AccountAws, arn: str) -> None:
    """Delete a lazily created policy unless something (a concurrent request's group) now uses it."""
    try:
        users_of = iam.policy_entities(aws, arn)
    except NotFound:
        return
    if users_of.groups or users_of.users or users_of.roles:
        log.warning("undo: policy kept, in use", extra={"policy": arn})
        return
    iam.delete_policy(aws, arn)


def _undo_group(aws: AccountAws, group: str) -> None:
    """Delete a lazily created group (policies detached first) unless a concurrent request's user joined."""
    if iam.delete_group_if_empty(aws, group) == "in_use":
        log.warning("undo: group kept, in use", extra={"group": group})


def _undo_join(aws: AccountAws, group: str, user: str, _: Any) -> None:
    iam.remove_user_from_group(aws, group, user)


def _discard(_: Any) -> None:
    """Undos answer nothing; gateway deletes answer whether something was deleted."""


# --- list and show -----------------------------------------------------------------------------------------


def list_users(aws: AccountAws, scope: UserScope) -> list[dict[str, Any]]:
    """The IAM users in ``scope.members_of`` (GetGroup on each exact name; missing groups skipped),
    de-duplicated by UserId and sorted by name; ``[]`` when none.

    Each group is read once: GetGroup answers the group and its members together, and the ownership check
    (:meth:`GroupSpec.owns`, unless ``scope.members_proven``) adds only ListAttachedGroupPolicies. A group
    name without a spec in ``grants`` costs nothing when members are not proven."""
    found: dict[str, dict[str, Any]] = {}
    for group in scope.members_of:
        spec = None if scope.members_proven else scope.member_spec(group)
        if not scope.members_proven and spec is None:
            continue
        detail = iam.group_with_users(aws, group)
        if detail is None or (spec is not None and not is_owned(aws, spec, detail[0])):
            continue
        for user in detail[1]:
            found.setdefault(user["UserId"], user)
    users = sorted(found.values(), key=lambda u: u["UserName"])
    for user in users:
        if "Tags" in user:
            user["Tags"] = _clean_tags(user["Tags"])
    return users


def show_user(aws: AccountAws, scope: UserScope, user: str, *, now: datetime | None = None) -> dict[str, Any]:
    """``{"User", "AccessKeys": [{AccessKeyId, Status, CreateDate, LastUsedDate}], "Groups", "Policies"}``
    plus ``"RetiringKeys"`` when old keys are in a grace period. Overdue keys are retired first.

    Calls: ListGroupsForUser, GetUser, [DeleteAccessKey + UntagUser for overdue keys], ListAccessKeys,
    GetAccessKeyLastUsed per key, ListAttachedUserPolicies (only directly attached ones, as Yale).
    """
    now = now or clock()
    groups = require_member(aws, scope, user)
    detail = iam.get_user(aws, user)
    tags = _clean_tags(detail.get("Tags", []))
    retired, schedule = _retire_due(aws, user, tags, now)
    detail["Tags"] = [t for t in tags if t["Key"] not in {_retire_tag(k) for k in retired}]
    keys = [k for k in iam.list_access_keys(aws, user) if k["AccessKeyId"] not in retired]
    result: dict[str, Any] = {
        "User": detail,
        "AccessKeys": [
            {
                "AccessKeyId": k["AccessKeyId"],
                "Status": k.get("Status"),
                "CreateDate": k.get("CreateDate"),
                "LastUsedDate": iam.access_key_last_used(aws, k["AccessKeyId"]),
            }
            for k in keys
        ],
        "Groups": groups,
        "Policies": iam.user_attached_policies(aws, user),
    }
    retiring = _retiring(schedule, [k["AccessKeyId"] for k in keys])
    if retiring:
        result["RetiringKeys"] = retiring
    return result


# --- keys: rotate and retire -------------------------------------------------------------------------------


def rotate_keys(
    aws: AccountAws, scope: UserScope, user: str, *, grace_seconds: int = 0, now: datetime | None = None
) -> dict[str, Any]:
    """Replace the user's access keys: ``{"DeletedKeyIds", "AccessKey"}`` plus ``"RetiringKeys"``
    (``[{AccessKeyId, RetireAt}]``) when old keys keep working for ``grace_seconds``. See the module
    docstring for which key goes when the user already has two.
    """
    if (
        isinstance(grace_seconds, bool)
        or not isinstance(grace_seconds, int)
        or not (0 <= grace_seconds <= MAX_GRACE_SECONDS)
    ):
        message = f"grace_seconds must be an integer from 0 to {MAX_GRACE_SECONDS}"
        raise BadRequest(message, errors={"grace_seconds": [message]})
    now = now or clock()
    require_member(aws, scope, user)
    tags = iam.user_tags(aws, user)
    retired, schedule = _retire_due(aws, user, tags, now)
    deleted = list(retired)
    old = [k for k in iam.list_access_keys(aws, user) if k["AccessKeyId"] not in retired]
    old.sort(key=functools.partial(_victim_rank, schedule))
    was_marked = bool(schedule)  # a pending retirement: already in RETIRING_GROUP
    result: dict[str, Any] = {"DeletedKeyIds": deleted}
    with Transaction(f"{scope.kind}_user_rotate_keys") as tx:
        while len(old) >= MAX_KEYS_PER_USER:  # make room: a third key would be LimitExceeded
            victim = old.pop(0)["AccessKeyId"]
            tx.step(f"make_room:{victim}", functools.partial(_delete_key, aws, user, victim, schedule))
            deleted.append(victim)
        result["AccessKey"] = tx.step(
            "create_key",
            lambda: iam.create_access_key(aws, user),
            lambda k: _discard(iam.delete_access_key(aws, user, k["AccessKeyId"])),
        )
        keep = [k["AccessKeyId"] for k in old if grace_seconds and k.get("Status") == "Active"]
        drop = [k["AccessKeyId"] for k in old if k["AccessKeyId"] not in keep]
        if keep:
            deadline = _ceil_second(now + timedelta(seconds=grace_seconds))
            changed = [k for k in keep if schedule.get(k, deadline) >= deadline]  # never postpone a deadline
            schedule.update({k: deadline for k in changed})
            new_tags = [{"Key": _retire_tag(k), "Value": _format(deadline)} for k in changed]
            if not any(t["Key"] == aws.settings.org_tag_key for t in tags):
                new_tags.append(_org_tag(aws))  # a user made elsewhere: the sweeper only scans ours
            if new_tags:  # the last step (no old key is left to drop), so it needs no undo
                tx.step(
                    "retiring_group",
                    functools.partial(_ensure_retiring_group, aws),
                    lambda created: _discard(iam.delete_group_if_empty(aws, RETIRING_GROUP)) if created else None,
                )
                tx.step(
                    "mark_retiring",
                    functools.partial(iam.add_user_to_group, aws, RETIRING_GROUP, user),
                    lambda _: None if was_marked else _discard(iam.remove_user_from_group(aws, RETIRING_GROUP, user)),
                )
                tx.step("schedule_retirement", functools.partial(iam.tag_user, aws, user, new_tags))
        for key_id in drop:
            tx.step(f"delete_key:{key_id}", functools.partial(_delete_key, aws, user, key_id, schedule))
            deleted.append(key_id)
    retiring = _retiring(schedule, keep)
    if retiring:
        result["RetiringKeys"] = retiring
    return result


def _ensure_retiring_group(aws: AccountAws) -> bool:
    """GetGroup of :data:`RETIRING_GROUP`, CreateGroup when missing; answers whether this call created it
    (a concurrent create, EntityAlreadyExists, counts as not created: the other request owns it)."""
    if iam.get_group(aws, RETIRING_GROUP) is not None:
        return False
    try:
        iam.create_group(aws, RETIRING_GROUP)
    except Conflict:
        return False
    return True


def _victim_rank(schedule: Mapping[str, datetime], key: Mapping[str, Any]) -> tuple[int, datetime]:
    """Sort key: scheduled keys first (earliest deadline), then inactive keys, then the oldest."""
    created = key.get("CreateDate") or datetime.min.replace(tzinfo=UTC)
    if key["AccessKeyId"] in schedule:
        return (0, schedule[key["AccessKeyId"]])
    return (1 if key.get("Status") != "Active" else 2, created)


def _delete_key(aws: AccountAws, user: str, key_id: str, schedule: dict[str, datetime]) -> None:
    """DeleteAccessKey, then drop the key's retirement tag if it had one (key first: retry-safe)."""
    iam.delete_access_key(aws, user, key_id)
    if schedule.pop(key_id, None) is not None:
        iam.untag_user(aws, user, [_retire_tag(key_id)])


def retire_overdue_keys(aws: AccountAws, user: str, *, now: datetime | None = None) -> list[str]:
    """Delete ``user``'s keys whose retirement deadline (tag ``s3api:retire:<id>``) has passed and remove
    their tags; answers the retired key ids. A key already gone only loses its tag. NoSuchEntity → 404."""
    return _retire_due(aws, user, iam.user_tags(aws, user), now or clock())[0]


def _retire_due(
    aws: AccountAws, user: str, tags: Sequence[Mapping[str, str]], now: datetime
) -> tuple[list[str], dict[str, datetime]]:
    """Retire what is due according to ``tags``; answers (retired ids, the remaining schedule)."""
    schedule = _schedule(tags)
    due = sorted(k for k, at in schedule.items() if at <= now)
    for key_id in due:
        iam.delete_access_key(aws, user, key_id)
    remaining = {k: at for k, at in schedule.items() if at > now}
    if due:
        iam.untag_user(aws, user, [_retire_tag(k) for k in due])
        log.info("retired access keys", extra={"user": user, "keys": due})
        if not remaining:
            iam.remove_user_from_group(aws, RETIRING_GROUP, user)  # nothing pending: the sweeper can skip it
    return due, remaining


def _schedule(tags: Sequence[Mapping[str, str]]) -> dict[str, datetime]:
    """``{AccessKeyId: deadline}`` from the retirement tags; an unreadable deadline counts as due now."""
    schedule: dict[str, datetime] = {}
    for tag in tags:
        key = tag.get("Key", "")
        if not key.startswith(RETIRE_TAG_PREFIX):
            continue
        try:
            at = datetime.fromisoformat(tag.get("Value", ""))
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
        except ValueError:
            log.warning("unreadable retirement deadline: retiring now", extra={"tag": key})
            at = datetime.min.replace(tzinfo=UTC)
        schedule[key[len(RETIRE_TAG_PREFIX) :]] = at
    return schedule


def _retiring(schedule: Mapping[str, datetime], existing: Sequence[str]) -> list[dict[str, Any]]:
    return [{"AccessKeyId": k, "RetireAt": schedule[k]} for k in existing if k in schedule]


def _retire_tag(key_id: str) -> str:
    return f"{RETIRE_TAG_PREFIX}{key_id}"


def _format(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ceil_second(at: datetime) -> datetime:
    return at.replace(microsecond=0) + timedelta(seconds=1 if at.microsecond else 0)


def _clean_tags(tags: Sequence[Mapping[str, str]]) -> list[Tag]:
    return [{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags]


# --- delete ------------------------------------------------------------------------------------------------


def delete_user(aws: AccountAws, scope: UserScope, user: str) -> None:
    """Delete a user of ``scope`` in AWS's order (see the module docstring). 404 unless in scope.

    A user that is also in a group outside the scope (another bucket's or site's, or any group of the account;
    the retirement marker aside) has access elsewhere: it only leaves this scope's groups and loses this
    scope's directly attached policies; the user and its keys stay. Otherwise the user goes, and 409 with
    nothing changed when it holds what this API does not manage and AWS would refuse DeleteUser for after
    the keys were gone: a policy outside the scope, an inline policy, a login profile, an MFA device, an SSH
    key, a signing certificate or a service-specific credential (five read calls:
    :func:`iam.sign_in_credentials`). Not undoable: deleted keys are gone; a failure half-way leaves a user
    that a second DELETE finishes (``leftover_ok``)."""
    groups, mine = _member_groups(aws, scope, user, leftover_ok=True)
    attached = iam.user_attached_policies(aws, user)
    names = {g["GroupName"] for g in mine}
    if any(g["GroupName"] not in names and g["GroupName"] != RETIRING_GROUP for g in groups):
        for group in mine:
            iam.remove_user_from_group(aws, group["GroupName"], user)
        for policy in attached:
            if scope.owns_policy(policy["PolicyName"]):
                iam.detach_user_policy(aws, user, policy["PolicyArn"])
        log.info("user kept: it has access outside this scope", extra={"user": user, "scope": scope.label})
        return
    foreign = [p["PolicyName"] for p in attached if not scope.owns_policy(p["PolicyName"])]
    foreign += [f"{name} (inline)" for name in iam.user_inline_policies(aws, user)]
    if foreign:
        raise Conflict(f"user '{user}' holds policies not managed here: {', '.join(foreign)}; remove them first")
    credentials = iam.sign_in_credentials(aws, user)
    if credentials:
        raise Conflict(
            f"user '{user}' holds credentials not managed here: {', '.join(credentials)}; "
            "AWS refuses to delete a user with them: remove them first"
        )
    for key in iam.list_access_keys(aws, user):
        iam.delete_access_key(aws, user, key["AccessKeyId"])
    for group in groups:
        iam.remove_user_from_group(aws, group["GroupName"], user)
    for policy in attached:
        iam.detach_user_policy(aws, user, policy["PolicyArn"])
    try:
        iam.delete_user(aws, user)
    except ApiError:
        for group in groups:  # keyless now; back in its groups, a retried bucket/website delete finds it again
            with contextlib.suppress(ApiError):  # if not, still a leftover this route's retry finishes
                iam.add_user_to_group(aws, group["GroupName"], user)
        raise


# --- bucket entry points (what the views call) -------------------------------------------------------------


def _require_bucket(aws: AccountAws, bucket: str) -> None:
    if s3.head_bucket(aws, bucket) is None:
        raise NotFound(f"bucket '{bucket}' does not exist")


def create_bucket_user(
    aws: AccountAws, bucket: str, new: NewUser, kinds: Sequence[str] | None = None
) -> dict[str, Any]:
    """POST .../buckets/<b>/users: 404 for an unknown bucket, then :func:`create_user`.

    The bucket is checked again right after CreateUser (the claim): a bucket deleted meanwhile (a racing
    DELETE that ran before the user existed, so it could not see it) answers 404 and the create rolls back,
    instead of leaving a keyed user in groups made anew for a bucket that is gone (a later bucket of the
    same name would then be readable by that key)."""
    scope = bucket_scope(aws, bucket)
    check_new_user(aws, scope, new, kinds)
    _require_bucket(aws, bucket)

    def bucket_still_there(tx: Transaction) -> None:
        tx.step("recheck_bucket", functools.partial(_require_bucket, aws, bucket))

    return create_user(aws, scope, new, kinds, bucket_still_there)


def list_bucket_users(aws: AccountAws, bucket: str) -> list[dict[str, Any]]:
    """GET .../buckets/<b>/users: 404 for an unknown bucket, then :func:`list_users`."""
    scope = bucket_scope(aws, bucket)
    _require_bucket(aws, bucket)
    return list_users(aws, scope)


def show_bucket_user(aws: AccountAws, bucket: str, user: str) -> dict[str, Any]:
    """GET .../buckets/<b>/users/<u>. No HeadBucket: membership of the bucket's groups decides (404)."""
    return show_user(aws, bucket_scope(aws, bucket), user)


def rotate_bucket_user_keys(aws: AccountAws, bucket: str, user: str, grace_seconds: int = 0) -> dict[str, Any]:
    """PUT .../buckets/<b>/users/<u>[?grace_seconds=N]."""
    return rotate_keys(aws, bucket_scope(aws, bucket), user, grace_seconds=grace_seconds)


def delete_bucket_user(aws: AccountAws, bucket: str, user: str) -> None:
    """DELETE .../buckets/<b>/users/<u>. Works for the leftover users of a bucket already deleted."""
    delete_user(aws, bucket_scope(aws, bucket), user)


# --- sweeper -----------------------------------------------------------------------------------------------

@sweeper.task("retire_keys")
def sweep_retiring_keys(aws: AccountAws, *, now: datetime | None = None, batch: int = SWEEP_BATCH) -> int:
    """Retire overdue keys of the users with a pending retirement; answers how many keys it retired.

    One GetGroup of :data:`RETIRING_GROUP` (the users a rotation scheduled a retirement for), then
    ListUserTags for at most ``batch`` of them, earliest-marked first as IAM lists them; users whose
    schedule is empty (their keys were deleted otherwise) leave the group. Only users carrying this
    deployment's organisation tag are touched. Users deleted meanwhile are skipped; any other error ends
    the pass (the sweeper logs and counts it). Requests that read a user retire its keys anyway.
    """
    now = now or clock()
    members = iam.group_members(aws, RETIRING_GROUP) or []
    org = _org_tag(aws)
    retired = 0
    for name in members[: max(batch, 1)]:
        try:
            tags = iam.user_tags(aws, name)
            if org not in tags:
                continue
            due, remaining = _retire_due(aws, name, tags, now)
            retired += len(due)
            if not due and not remaining:
                iam.remove_user_from_group(aws, RETIRING_GROUP, name)
        except NotFound:
            pass  # deleted meanwhile
    return retired
