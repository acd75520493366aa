"""Users of a bucket (and, through :class:`Scope`, of a website): create with a key, list, show, rotate
keys with a grace period, delete; plus the retirement of keys whose grace period is over.

**Scope.** Every workflow takes a :class:`Scope`: the exact IAM group names whose members are "users of
this bucket", and the groups (with the managed policy to create on demand) each requestable kind joins.
:func:`bucket_scope` builds it for a bucket (``<b>-BktAdmGrp``, ``<b>-BktRWGrp``, ``<b>-BktROGrp``); the
websites workflow builds its own (path-scoped names, ``<site>-WebAdmGrp``) and calls the same functions.
Membership is always an exact-name test (ListGroupsForUser ∩ the scope's names, or GetGroup by exact name,
compared case-insensitively as IAM does), and a group of the right name counts only when it is provably the
scope's (:meth:`GroupSpec.owns`: one ListAttachedGroupPolicies per matching group): never Yale's substring
match, which leaked and deleted other buckets' users. Show, rotate and delete
answer 404 for a user outside the scope, exactly as for a user that does not exist (Yale rotated and deleted
any IAM user of the account, human admins included).

**Create**, in order (undo registered once a step succeeded; the failing step's own undo never runs):

1. CreateUser tagged ``<org_tag_key>=<org>`` and ``s3api:<kind>=<name>`` (409 when the name is taken;
   nothing to undo). Undo: DeleteUser. Bucket users: HeadBucket again right after (404 and rollback when a
   racing bucket delete removed it meanwhile).
2. For each group to join: an existing one (GetGroup, ListAttachedGroupPolicies) is joined only when it is
   provably this scope's (:meth:`GroupSpec.owns`), else 409 naming the clash. For one that does not exist
   yet: CreatePolicy (undo: delete it unless it is
   now attached to something), CreateGroup (undo: detach its policies and delete it unless it has members),
   AttachGroupPolicy (undone by the group's undo). EntityAlreadyExists on the policy or the group means a
   concurrent request made it: the existing one is used and *no* undo is registered for it (undoing it would
   remove the other request's group).
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
and every retry would be 409 again), then :func:`remove_user` (the one user removal of every workflow):
DeleteAccessKey each, DetachUserPolicy for the scope's policies (``<name>`` or ``<name>-*``),
RemoveUserFromGroup for *every* group, DeleteUser. moto lets DeleteUser pass with
keys and memberships; AWS answers DeleteConflict, hence this order (tests/aws/test_user_order.py).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from s3api import names, validation
from s3api.aws import iam, s3
from s3api.aws.clients import AccountAws
from s3api.aws.translate import is_code
from s3api.errors import ApiError, BadRequest, Conflict, NotFound
from s3api.provisioning import periodic
from s3api.provisioning.scope import RESERVED_TAG_PREFIX, GroupSpec, Scope, bucket_scope, is_owned, owned_group
from s3api.provisioning.steps import Transaction

log = logging.getLogger("s3api.users")

Tag = names.Tag

USER_NAME = names.USER_NAME
IAM_PATH = names.IAM_PATH
RETIRE_TAG_PREFIX = "s3api:retire:"
MAX_KEYS_PER_USER = 2  # IAM's limit
MAX_GRACE_SECONDS = names.MAX_GRACE_SECONDS
#: Caller tags on a user: 50 (IAM) - org tag - scope tag - one retirement tag per key.
MAX_USER_CALLER_TAGS = validation.MAX_TAGS - 2 - MAX_KEYS_PER_USER
#: ListUserTags calls per account and sweeper pass; the next pass continues where this one stopped.
SWEEP_BATCH = 200
#: Members: the users with a pending key retirement (see the module docstring). No policy is ever attached.
RETIRING_GROUP = "s3api-RetiringKeys"
#: IAM's AccessKeyId rule (``[\w]+``, 16-128 characters; in practice ``AKIA...``/``ASIA...``, 20 characters).
ACCESS_KEY_ID = re.compile(r"\w{16,128}", re.ASCII)
KEY_STATUSES = ("Active", "Inactive")


def _utcnow() -> datetime:
    return datetime.now(UTC)


#: The clock used when no ``now`` is given (tests replace it).
clock: Callable[[], datetime] = _utcnow


@dataclass(frozen=True)
class NewUser:
    """CreateUser input: ``name`` per IAM rules, IAM ``path``, caller ``tags`` (``[{"Key", "Value"}]``)."""

    name: str
    path: str = "/"
    tags: Sequence[Mapping[str, str]] = ()


def require_member(aws: AccountAws, scope: Scope, user: str, *, leftover_ok: bool = False) -> list[dict[str, Any]]:
    """The user's IAM groups (ListGroupsForUser) when at least one is in ``scope.members_of``; otherwise
    404, with the same message whether or not the user exists elsewhere in the account.

    ``leftover_ok`` (delete): also accept a user in *no* group that carries this deployment's organisation
    tag and the scope's tag (one more call, ListUserTags): what an interrupted delete or an incomplete
    rollback leaves behind, so that a second DELETE can finish the job.
    """
    return _member_groups(aws, scope, user, leftover_ok=leftover_ok, first_only=True)[0]


def _member_groups(
    aws: AccountAws, scope: Scope, user: str, *, leftover_ok: bool = False, first_only: bool = False
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(all of the user's groups, those that are the scope's member groups) for :func:`require_member`; the
    same 404s. ``first_only`` stops proving at the first member group (show, rotate: one proof suffices);
    delete proves each (it must know which groups are the scope's: :meth:`Scope.is_member_group`).
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
        if aws.settings.org_tag in tags and {"Key": scope.tag_key, "Value": scope.name} in tags:
            return groups, []
    raise missing


# --- create ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserRequest:
    """A user create, checked (:func:`check_new_user`): the user, its tags, the groups it joins."""

    scope: Scope
    new: NewUser
    tags: list[Tag]
    specs: list[GroupSpec]


def create_user(aws: AccountAws, scope: Scope, new: NewUser, kinds: Sequence[str] | None = None) -> dict[str, Any]:
    """Create a user of ``scope`` in the groups for ``kinds``, with an access key:
    ``{"User": {...}, "AccessKey": {AccessKeyId, SecretAccessKey, Status, CreateDate, UserName}}``.

    Input is checked before the first AWS call. See the module docstring for the steps and their undo. A
    workflow with steps of its own after the claim (a bucket's recheck, a website path's default page) runs
    the same three parts itself: :func:`claim_user`, then in :func:`user_transaction` its steps and
    :func:`grant`.
    """
    request = check_new_user(aws, scope, new, kinds)
    user = claim_user(aws, request)
    with user_transaction(aws, request) as tx:
        return grant(aws, tx, request, user)


def claim_user(aws: AccountAws, request: UserRequest) -> dict[str, Any]:
    """CreateUser: the claim on the name (409 when taken: nothing to undo, no rollback counted).

    A retried create (the client timed out) never shows a secret twice: an existing complete user is a 409 as
    before (its keys can be rotated). A half-made user of this scope — claimed, then the server died before
    CreateAccessKey, so it has no key — is a 409 saying that the earlier create was interrupted and that
    DELETE of the user (which accepts such leftovers, :func:`require_member`) then POST recovers. It is not
    finished in place: a keyless user may also be one whose keys were deliberately deleted.
    """
    name, scope = request.new.name, request.scope
    try:
        return iam.create_user(aws, name, request.new.path, request.tags)
    except Conflict as exc:
        if _already_exists(exc) and _interrupted(aws, scope, name):
            raise Conflict(
                f"user '{name}' of {scope.label} exists without an access key: an earlier create of it was "
                f"interrupted; delete it (DELETE .../users/{name} on this route), then create it again"
            ) from exc
        raise


def user_transaction(aws: AccountAws, request: UserRequest) -> Transaction:
    """The transaction of a claimed user's create, its first undo (DeleteUser) registered: the caller's own
    steps and :func:`grant` run in it, so a request that lost the race for the name (409) never reaches them."""
    tx = Transaction(f"{request.scope.kind}_user_create")
    tx.on_undo("create_user", lambda: _discard(iam.delete_user(aws, request.new.name)))
    return tx


def grant(aws: AccountAws, tx: Transaction, request: UserRequest, user: dict[str, Any]) -> dict[str, Any]:
    """The claimed ``user``'s groups (created when missing), memberships and access key, in ``tx``; answers
    ``{"User", "AccessKey"}``."""
    name = request.new.name
    for spec in request.specs:
        _ensure_group(aws, tx, spec)
    for spec in request.specs:
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
    user["Tags"] = _clean_tags(user.get("Tags", request.tags))
    return {"User": user, "AccessKey": key}


def _interrupted(aws: AccountAws, scope: Scope, name: str) -> bool:
    """Whether existing user ``name`` is a half-made user of ``scope``: our organisation tag and the scope's tag
    (ListUserTags), and no access key (ListAccessKeys). Asked only after CreateUser answered EntityAlreadyExists,
    to say how to recover; best effort (any error: False, the plain 409)."""
    try:
        tags = iam.user_tags(aws, name)
        if aws.settings.org_tag not in tags or {"Key": scope.tag_key, "Value": scope.name} not in tags:
            return False
        return not iam.list_access_keys(aws, name)
    except ApiError:
        return False


def check_new_user(aws: AccountAws, scope: Scope, new: NewUser, kinds: Sequence[str] | None = None) -> UserRequest:
    """400 for anything IAM would refuse half-way (no AWS call; the name was checked by the schema); answers
    the checked request."""
    if not isinstance(new.path, str) or not IAM_PATH.fullmatch(new.path):
        message = "Path must be '/' or begin and end with '/' (printable ASCII, at most 512 characters)"
        raise BadRequest(message, errors={"User.Path": [message]})
    return UserRequest(scope, new, _user_tags(aws, scope, new.tags), scope.specs(kinds))


def _user_tags(aws: AccountAws, scope: Scope, caller: Sequence[Mapping[str, str]]) -> list[Tag]:
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
    return [*checked, aws.settings.org_tag, {"Key": scope.tag_key, "Value": scope.name}]


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
            aws, spec.policy, spec.document(), spec.description, [aws.settings.org_tag], path=spec.policy_path
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


def list_users(aws: AccountAws, scope: Scope) -> list[dict[str, Any]]:
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


def show_user(aws: AccountAws, scope: Scope, user: str, *, now: datetime | None = None) -> dict[str, Any]:
    """``{"User", "AccessKeys": [{AccessKeyId, Status, CreateDate, LastUsedDate, LastUsed}], "Groups",
    "Policies"}`` (``LastUsed``: ``{ServiceName, Region, LastUsedDate}``, GetAccessKeyLastUsed's answer)
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
                "LastUsedDate": last["LastUsedDate"],
                "LastUsed": last,
            }
            for k, last in ((k, iam.access_key_last_used(aws, k["AccessKeyId"])) for k in keys)
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
    aws: AccountAws, scope: Scope, user: str, *, grace_seconds: int = 0, now: datetime | None = None
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
                new_tags.append(aws.settings.org_tag)  # a user made elsewhere: the sweeper only scans ours
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


# --- keys: switched off and on -----------------------------------------------------------------------------


def set_key_status(aws: AccountAws, scope: Scope, user: str, key_id: str, status: str) -> dict[str, Any]:
    """Switch one of a user's access keys off (``"Inactive"``) or on (``"Active"``): ``{AccessKeyId, Status,
    CreateDate, LastUsed}``, never a secret. The key is kept (unlike rotate and delete) and a retirement
    scheduled for it stays scheduled.

    400 before any AWS call for a status other than those two or a key id that is not IAM's format
    (:data:`ACCESS_KEY_ID`); 404 for a user outside the scope (:func:`require_member`, as show, rotate and
    delete) and for a key id that is not this user's (the key of another user is never touched). Calls:
    ListGroupsForUser and the ownership proof of one group (as show), ListAccessKeys, UpdateAccessKey,
    GetAccessKeyLastUsed. Setting the status a key
    already has is a no-op for IAM (idempotent). AWS applies it at once; moto's IAM enforcement ignores it.
    """
    if status not in KEY_STATUSES:
        message = "Status must be 'Active' or 'Inactive'"
        raise BadRequest(message, errors={"Status": [message]})
    if not ACCESS_KEY_ID.fullmatch(key_id):
        message = "access key id must be 16 to 128 letters, digits or underscores (AKIA...)"
        raise BadRequest(message, errors={"key_id": [message]})
    require_member(aws, scope, user)
    key = next((k for k in iam.list_access_keys(aws, user) if k["AccessKeyId"] == key_id), None)
    if key is None:
        raise NotFound(f"access key '{key_id}' is not a key of user '{user}' of {scope.label}")
    iam.update_access_key(aws, user, key_id, status)
    log.info("access key status set", extra={"user": user, "key": key_id, "status": status})
    return {
        "AccessKeyId": key_id,
        "Status": status,
        "CreateDate": key.get("CreateDate"),
        "LastUsed": iam.access_key_last_used(aws, key_id),
    }


# --- delete ------------------------------------------------------------------------------------------------


def delete_user(aws: AccountAws, scope: Scope, user: str) -> None:
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
    remove_user(aws, user, Access([g["GroupName"] for g in groups], [p["PolicyArn"] for p in attached]))


@dataclass(frozen=True)
class Access:
    """Everything that ties an IAM user to the account, as :func:`remove_user` takes it apart: its groups
    (all of them) and its directly attached policies."""

    groups: list[str]
    policy_arns: list[str]


def access_only_in(aws: AccountAws, user: str, groups: Collection[str], policy_names: Collection[str]) -> Access | None:
    """The user's :class:`Access` when all of it is the scope's (``groups``, policies named ``policy_names``;
    the retirement marker grants nothing), so that the user goes with the scope; None when it has access
    elsewhere (another group, another policy, an inline policy), holds a login profile, MFA device, SSH key,
    signing certificate or service-specific credential (five reads, only for a user that would otherwise go:
    such a user is a person's, and AWS refuses DeleteUser with them), or is gone. Such a user is kept with its
    keys and only loses the scope's groups with them: without the groups its keys grant nothing here, and
    anyone who added their own user to a scope's group cannot block the scope's deletion for good."""
    try:
        member_of = iam.user_groups(aws, user)
        if any(g not in groups and g != RETIRING_GROUP for g in member_of):
            return None
        attached = iam.user_attached_policies(aws, user)
        if any(p["PolicyName"] not in policy_names for p in attached) or iam.user_inline_policies(aws, user):
            return None
        if iam.sign_in_credentials(aws, user):
            return None
    except NotFound:
        return None  # deleted meanwhile
    return Access(member_of, [p["PolicyArn"] for p in attached])


def remove_user(aws: AccountAws, user: str, access: Access) -> None:
    """Delete ``user`` in AWS's order: access keys, directly attached policies, memberships, then DeleteUser
    (moto lets DeleteUser pass with any of them; AWS answers DeleteConflict). The last membership goes right
    before DeleteUser, so a failure anywhere earlier leaves the user findable by a retry through its groups;
    when DeleteUser itself fails, the user (keyless by now: no access) is put back into its groups for the
    same reason, best effort, and the error is raised. The one user removal of every workflow: user delete,
    bucket delete, website delete."""
    try:
        keys = iam.list_access_keys(aws, user)
    except NotFound:
        keys = []
    for key in keys:
        iam.delete_access_key(aws, user, key["AccessKeyId"])
    for arn in access.policy_arns:
        iam.detach_user_policy(aws, user, arn)
    for group in access.groups:
        iam.remove_user_from_group(aws, group, user)
    try:
        iam.delete_user(aws, user)
    except ApiError:
        for group in access.groups:  # a double failure leaves a keyless user in no group: DELETE .../users/<u>
            with contextlib.suppress(ApiError):  # (``leftover_ok``) finishes it
                iam.add_user_to_group(aws, group, user)
        raise


# --- bucket entry points (what the views call) -------------------------------------------------------------


def create_bucket_user(
    aws: AccountAws, bucket: str, new: NewUser, kinds: Sequence[str] | None = None
) -> dict[str, Any]:
    """POST .../buckets/<b>/users: 404 for an unknown bucket, then :func:`create_user`.

    The bucket is checked again right after CreateUser (the claim): a bucket deleted meanwhile (a racing
    DELETE that ran before the user existed, so it could not see it) answers 404 and the create rolls back,
    instead of leaving a keyed user in groups made anew for a bucket that is gone (a later bucket of the
    same name would then be readable by that key)."""
    request = check_new_user(aws, bucket_scope(aws, bucket), new, kinds)
    s3.require_bucket(aws, bucket)
    user = claim_user(aws, request)
    with user_transaction(aws, request) as tx:
        tx.step("recheck_bucket", functools.partial(s3.require_bucket, aws, bucket))
        return grant(aws, tx, request, user)


def list_bucket_users(aws: AccountAws, bucket: str) -> list[dict[str, Any]]:
    """GET .../buckets/<b>/users: 404 for an unknown bucket, then :func:`list_users`."""
    scope = bucket_scope(aws, bucket)
    s3.require_bucket(aws, bucket)
    return list_users(aws, scope)


def show_bucket_user(aws: AccountAws, bucket: str, user: str) -> dict[str, Any]:
    """GET .../buckets/<b>/users/<u>. No HeadBucket: membership of the bucket's groups decides (404)."""
    return show_user(aws, bucket_scope(aws, bucket), user)


def rotate_bucket_user_keys(aws: AccountAws, bucket: str, user: str, grace_seconds: int = 0) -> dict[str, Any]:
    """PUT .../buckets/<b>/users/<u>[?grace_seconds=N]."""
    return rotate_keys(aws, bucket_scope(aws, bucket), user, grace_seconds=grace_seconds)


def set_bucket_user_key_status(aws: AccountAws, bucket: str, user: str, key_id: str, status: str) -> dict[str, Any]:
    """PATCH .../buckets/<b>/users/<u>/keys/<key_id>: :func:`set_key_status` (no HeadBucket, as show)."""
    return set_key_status(aws, bucket_scope(aws, bucket), user, key_id, status)


def delete_bucket_user(aws: AccountAws, bucket: str, user: str) -> None:
    """DELETE .../buckets/<b>/users/<u>. Works for the leftover users of a bucket already deleted."""
    delete_user(aws, bucket_scope(aws, bucket), user)


# --- sweeper -----------------------------------------------------------------------------------------------


@periodic.task("retire_keys")
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
    org = aws.settings.org_tag
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
