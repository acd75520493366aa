"""A tenant's S3 credentials: one IAM user whose policies reach exactly the tenant's buckets.

INTERFACE (other modules call only these):

- ``buckets(aws, tenant_id) -> list[str]``: the tenant's buckets, read back from AWS (the ``s3api:tenant`` tag).
- ``create(aws, tenant_id, buckets, steps) -> tuple[str, str]``: the IAM user, its policy for ``buckets`` and an
  access key: ``(access_key_id, secret)``; each AWS step registered with its undo on ``steps``.
- ``sync(aws, tenant_id, buckets=None)``: make the policy name exactly ``buckets`` (None: read them back) — called
  after a tenant bucket is created or deleted.
- ``rotate(aws, tenant_id, grace_seconds) -> tuple[str, str]``, ``set_key_status(aws, tenant_id, key_id, status)``,
  ``suspend(aws, tenant_id)``, ``resume(aws, tenant_id)``, ``delete(aws, tenant_id)`` (idempotent).

What is in IAM, per tenant (names from the tenant id alone, so every function needs only the id):

- the user :func:`user_name` (``s3api-tenant-<id>``) at the IAM path :data:`IAM_PATH`, tagged with the
  organisation tag and ``s3api:tenant=<id>``;
- up to :data:`~s3api.names.IAM_MANAGED_POLICIES_PER_USER` customer-managed policies ``s3api-tenant-<id>-<n>``
  (n = 1..10) attached to the user only: each allows the configured bucket actions on ``arn:aws:s3:::<b>`` and
  the object actions on ``arn:aws:s3:::<b>/*`` for its share of the buckets. No ``s3:ListAllMyBuckets``: the
  account's other bucket names are not the tenant's to see;
- the inline policy ``guard``: the configured protected actions (``DeleteBucket``, ``PutBucketTagging``,
  ``PutBucketPolicy`` …) denied everywhere, whatever an Allow says, so that a tenant can neither move a bucket's
  ownership tag nor open it to the world;
- while suspended, the inline policy ``suspended``: ``s3:*`` denied on everything (an explicit Deny wins over
  every Allow). The data stays.

**IAM's limits and what they mean for a tenant.** A managed policy holds at most 6,144 characters (whitespace
not counted), a user at most 10 attached managed policies (default quota) and 2,048 characters of inline
policies, a managed policy at most 5 versions, a user at most 10 groups and 2 access keys. Groups are not used
(one per bucket would stop a tenant at 10 buckets). Buckets are packed into the policies by size
(:func:`pack`): a bucket stays in the policy it is in (no bucket ever moves between policies, so a sync never
leaves one unreachable for a moment), new buckets fill the first policy with room, a policy left without
buckets is deleted. Each change of a policy deletes its non-default versions first, then creates the new
default: never more than two versions. The result: :data:`~s3api.names.MAX_TENANT_BUCKETS` (300) buckets per
tenant whatever their names; beyond the room of ten policies a sync answers 409 and changes nothing.

IAM changes reach S3 within seconds (eventual consistency): a bucket added by :func:`sync` may answer
AccessDenied to the tenant's key for that long.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from s3api import names
from s3api.aws import iam
from s3api.aws.clients import AccountAws
from s3api.errors import BadRequest, Conflict, NotFound
from s3api.provisioning import policies, users
from s3api.provisioning.steps import Transaction
from s3api.provisioning.tenants import ownership

log = logging.getLogger("s3api.tenants")

IAM_PATH = "/s3api-tenants/"
TENANT_TAG = ownership.TAG_KEY
GUARD_POLICY = "guard"
SUSPENDED_POLICY = "suspended"
MAX_POLICIES = names.IAM_MANAGED_POLICIES_PER_USER
POLICY_CHARS = names.IAM_MANAGED_POLICY_CHARS
KEY_STATUSES = ("Active", "Inactive")
#: how often a sync reads back and starts again when another sync of the same tenant wrote in between
SYNC_REREADS = 2
Policy = dict[str, Any]


def user_name(tenant_id: str) -> str:
    return f"s3api-tenant-{tenant_id}"


def policy_name(tenant_id: str, n: int) -> str:
    return f"s3api-tenant-{tenant_id}-{n}"


def _arn(aws: AccountAws, tenant_id: str, n: int) -> str:
    return iam.policy_arn(aws, policy_name(tenant_id, n), IAM_PATH)


def _index(tenant_id: str, name: str) -> int | None:
    prefix = policy_name(tenant_id, 0)[:-1]
    rest = name[len(prefix) :] if name.startswith(prefix) else ""
    return int(rest) if rest.isdigit() and 1 <= int(rest) <= MAX_POLICIES else None


# --- documents: pure ----------------------------------------------------------------------------------------


def size(document: Policy) -> int:
    """The size IAM counts: the JSON without whitespace."""
    return len(json.dumps(document, separators=(",", ":")))


def document(
    buckets: Sequence[str], bucket_actions: Sequence[str] | None = None, object_actions: Sequence[str] | None = None
) -> Policy:
    """The allow document for ``buckets`` (at least one): bucket actions on the buckets, object actions on their
    objects (empty or missing action lists: ``s3:*``, as the bucket admin documents)."""
    ordered = sorted(buckets)
    return {
        "Version": policies.VERSION,
        "Statement": [
            {
                "Sid": "TenantBuckets",
                "Effect": "Allow",
                "Action": list(bucket_actions or names.DEFAULT_BUCKET_ACTIONS),
                "Resource": [policies.bucket_arn(b) for b in ordered],
            },
            {
                "Sid": "TenantObjects",
                "Effect": "Allow",
                "Action": list(object_actions or names.DEFAULT_OBJECT_ACTIONS),
                "Resource": [f"{policies.bucket_arn(b)}/*" for b in ordered],
            },
        ],
    }


def buckets_of(doc: Mapping[str, Any]) -> set[str]:
    """The buckets a document of ours names (its bucket statement's resources)."""
    found: set[str] = set()
    for statement in doc.get("Statement", []):
        if isinstance(statement, Mapping) and statement.get("Sid") == "TenantBuckets":
            resources = statement.get("Resource", [])
            for arn in [resources] if isinstance(resources, str) else resources:
                if isinstance(arn, str) and arn.startswith("arn:aws:s3:::") and "/" not in arn:
                    found.add(arn.removeprefix("arn:aws:s3:::"))
    return found


def guard_document(protected: Sequence[str] | None = None) -> Policy:
    """The protected s3 actions denied everywhere (None: the defaults; an empty list: a harmless statement)."""
    chosen = names.DEFAULT_PROTECTED_ACTIONS if protected is None else protected
    actions = [a for a in chosen if a.lower().startswith("s3:")] or ["s3:PutBucketTagging"]
    return {
        "Version": policies.VERSION,
        "Statement": [{"Sid": "ProtectedActions", "Effect": "Deny", "Action": actions, "Resource": "*"}],
    }


def suspended_document() -> Policy:
    return {
        "Version": policies.VERSION,
        "Statement": [{"Sid": "TenantSuspended", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}],
    }


def pack(
    current: Mapping[int, set[str]],
    wanted: Sequence[str],
    bucket_actions: Sequence[str] | None = None,
    object_actions: Sequence[str] | None = None,
) -> dict[int, set[str]]:
    """``{policy number: buckets}`` for ``wanted``, starting from ``current``: a bucket stays where it is, a
    removed one leaves, a new one goes into the first policy (lowest number) that stays within IAM's size, or
    the lowest free number. An empty policy is absent from the answer. 409 when ten policies cannot hold them."""
    want = set(wanted)
    placed: dict[int, set[str]] = {n: set(bs) & want for n, bs in current.items()}
    placed = {n: bs for n, bs in placed.items() if bs}
    seen = set().union(*placed.values()) if placed else set()
    for bucket in sorted(want - seen):
        for n in range(1, MAX_POLICIES + 1):
            trial = placed.get(n, set()) | {bucket}
            if size(document(sorted(trial), bucket_actions, object_actions)) <= POLICY_CHARS:
                placed[n] = trial
                break
        else:
            raise Conflict(
                f"the tenant's credentials cannot reach more buckets: IAM's limits ({MAX_POLICIES} managed policies "
                f"of {POLICY_CHARS} characters per user) are reached at {len(seen)} buckets "
                f"(at most {names.MAX_TENANT_BUCKETS} are supported)"
            )
        seen.add(bucket)
    return placed


# --- reads --------------------------------------------------------------------------------------------------


def buckets(aws: AccountAws, tenant_id: str) -> list[str]:
    return ownership.buckets(aws, tenant_id)


def _current(aws: AccountAws, tenant_id: str) -> dict[int, set[str]]:
    """``{n: buckets}`` of the tenant's attached policies (their default versions)."""
    found: dict[int, set[str]] = {}
    for attached in iam.user_attached_policies(aws, user_name(tenant_id)):
        n = _index(tenant_id, attached["PolicyName"])
        if n is None:
            continue
        doc = iam.policy_document(aws, attached["PolicyArn"])
        if doc is not None:
            found[n] = buckets_of(doc)
    return found


def exists(aws: AccountAws, tenant_id: str) -> bool:
    """Has the tenant an IAM user (ListAccessKeys: 404 without one)?"""
    try:
        keys(aws, tenant_id)
    except NotFound:
        return False
    return True


def keys(aws: AccountAws, tenant_id: str) -> list[dict[str, Any]]:
    """The user's access keys: ``[{AccessKeyId, Status, CreateDate}]`` (never a secret); 404 without a user."""
    return [
        {"AccessKeyId": k["AccessKeyId"], "Status": k.get("Status"), "CreateDate": k.get("CreateDate")}
        for k in iam.list_access_keys(aws, user_name(tenant_id))
    ]


def is_suspended(aws: AccountAws, tenant_id: str) -> bool:
    return SUSPENDED_POLICY in iam.user_inline_policies(aws, user_name(tenant_id))


# --- changes ------------------------------------------------------------------------------------------------


def _apply(aws: AccountAws, tenant_id: str, current: Mapping[int, set[str]], wanted: Mapping[int, set[str]]) -> None:
    """Create, change and delete the tenant's policies from ``current`` to ``wanted`` (new and changed first:
    buckets never move, so the order only matters for what a failure half-way leaves: more access is never
    given than ``wanted`` and ``current`` together)."""
    settings = aws.settings
    user = user_name(tenant_id)
    for n in sorted(wanted):
        doc = document(sorted(wanted[n]), settings.bucket_actions, settings.object_actions)
        arn = _arn(aws, tenant_id, n)
        if n not in current:
            if iam.get_policy(aws, arn) is None:
                iam.create_policy(
                    aws,
                    policy_name(tenant_id, n),
                    doc,
                    f"tenant {tenant_id}: its buckets ({n})",
                    tags=[settings.org_tag, {"Key": TENANT_TAG, "Value": tenant_id}],
                    path=IAM_PATH,
                )
            else:  # left by an interrupted sync: ours by its name and path
                iam.replace_policy_document(aws, arn, doc)
            iam.attach_user_policy(aws, user, arn)
        elif current[n] != wanted[n]:
            iam.replace_policy_document(aws, arn, doc)
    for n in sorted(set(current) - set(wanted)):
        iam.delete_policy(aws, _arn(aws, tenant_id, n))


def create(aws: AccountAws, tenant_id: str, buckets: list[str], steps: Transaction) -> tuple[str, str]:
    """The tenant's IAM user, the guard policy, its bucket policies and an access key: ``(access_key_id,
    secret)``. Once CreateUser succeeded its undo (:func:`delete`, which removes everything of the tenant) is on
    ``steps``; a failing CreateUser has none (409 when the user exists: a tenant id is never reused)."""
    if len(buckets) > names.MAX_TENANT_BUCKETS:
        raise BadRequest(f"a tenant has at most {names.MAX_TENANT_BUCKETS} buckets")
    user = user_name(tenant_id)
    settings = aws.settings
    tags = [settings.org_tag, {"Key": TENANT_TAG, "Value": tenant_id}]
    steps.step(
        "tenant_user",
        lambda: iam.create_user(aws, user, IAM_PATH, tags),
        lambda _: delete(aws, tenant_id),
    )
    steps.step("tenant_guard", lambda: iam.put_user_policy(aws, user, GUARD_POLICY, guard_document(_protected(aws))))
    wanted = pack({}, buckets, settings.bucket_actions, settings.object_actions)
    steps.step("tenant_policies", lambda: _apply(aws, tenant_id, {}, wanted))
    key = steps.step("tenant_key", lambda: iam.create_access_key(aws, user))
    log.info("tenant credentials created", extra={"tenant": tenant_id, "buckets": len(buckets)})
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])


def _protected(aws: AccountAws) -> Sequence[str]:
    return aws.settings.protected_actions


def sync(aws: AccountAws, tenant_id: str, buckets: list[str] | None = None) -> None:
    """Make the tenant's policies name exactly ``buckets`` (None: the tenant's tagged buckets, read back from
    AWS). Only the policies whose buckets change are written. 404 when the tenant has no IAM user; 409 beyond
    IAM's room (nothing changed). Then the policies are read back: when another sync of the same tenant wrote in
    between (its version replaced ours: a lost update), the sync starts again from the buckets' tags, at most
    :data:`SYNC_REREADS` times, so two bucket creates at once both end up reachable."""
    settings = aws.settings
    for _ in range(1 + SYNC_REREADS):
        wanted_buckets = ownership.buckets(aws, tenant_id) if buckets is None else sorted(set(buckets))
        current = _current(aws, tenant_id)
        wanted = pack(current, wanted_buckets, settings.bucket_actions, settings.object_actions)
        _apply(aws, tenant_id, current, wanted)
        after = _current(aws, tenant_id)
        if set().union(*after.values()) == set(wanted_buckets) if after else not wanted_buckets:
            break
        # another sync of this tenant wrote in between (two bucket creates at once): read the tags again
        log.warning("tenant credentials changed meanwhile: syncing again", extra={"tenant": tenant_id})
        buckets = None
    log.info("tenant credentials synced", extra={"tenant": tenant_id, "buckets": len(wanted_buckets)})


def rotate(aws: AccountAws, tenant_id: str, grace_seconds: int) -> tuple[str, str]:
    """A new access key: ``(access_key_id, secret)``. As bucket users' rotation (:mod:`s3api.provisioning.users`):
    overdue keys retire first; with two keys one is deleted to make room (a key already retiring, an inactive
    one, the oldest); with ``grace_seconds`` the remaining active old key works until then (the user tag
    ``s3api:retire:<id>`` and the marker group the ``retire_keys`` sweeper reads), without it every old key is
    deleted at once. 404 without a user; 400 for a grace outside 0..7 days."""
    if (
        isinstance(grace_seconds, bool)
        or not isinstance(grace_seconds, int)
        or not (0 <= grace_seconds <= names.MAX_GRACE_SECONDS)
    ):
        message = f"GraceSeconds must be an integer from 0 to {names.MAX_GRACE_SECONDS}"
        raise BadRequest(message, errors={"GraceSeconds": [message]})
    user = user_name(tenant_id)
    now = users.clock()
    tags = iam.user_tags(aws, user)  # 404 without a user
    retired, schedule = users._retire_due(aws, user, tags, now)
    old = [k for k in iam.list_access_keys(aws, user) if k["AccessKeyId"] not in retired]
    old.sort(key=functools.partial(users._victim_rank, schedule))
    was_marked = users.RETIRING_GROUP in iam.user_groups(aws, user)  # the undo puts it back as it was
    with Transaction("tenant_rotate_keys") as tx:
        while len(old) >= users.MAX_KEYS_PER_USER:
            victim = old.pop(0)["AccessKeyId"]
            tx.step("make_room", functools.partial(users._delete_key, aws, user, victim, schedule))
        key = tx.step(
            "create_key",
            lambda: iam.create_access_key(aws, user),
            lambda k: users._discard(iam.delete_access_key(aws, user, k["AccessKeyId"])),
        )
        keep = [k["AccessKeyId"] for k in old if grace_seconds and k.get("Status") == "Active"]
        drop = [k["AccessKeyId"] for k in old if k["AccessKeyId"] not in keep]
        if keep:
            deadline = users._ceil_second(now + timedelta(seconds=grace_seconds))
            changed = [k for k in keep if schedule.get(k, deadline) >= deadline]
            new_tags = [{"Key": users._retire_tag(k), "Value": users._format(deadline)} for k in changed]
            if new_tags:
                tx.step(
                    "retiring_group",
                    functools.partial(users._ensure_retiring_group, aws),
                    lambda created: (
                        users._discard(iam.delete_group_if_empty(aws, users.RETIRING_GROUP)) if created else None
                    ),
                )
                tx.step(
                    "mark_retiring",
                    functools.partial(iam.add_user_to_group, aws, users.RETIRING_GROUP, user),
                    lambda _: (
                        None
                        if was_marked
                        else users._discard(iam.remove_user_from_group(aws, users.RETIRING_GROUP, user))
                    ),
                )
                tx.step("schedule_retirement", functools.partial(iam.tag_user, aws, user, new_tags))
        for key_id in drop:
            tx.step("delete_key", functools.partial(users._delete_key, aws, user, key_id, schedule))
    log.info("tenant credentials rotated", extra={"tenant": tenant_id, "kept": len(keep)})
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])


def set_key_status(aws: AccountAws, tenant_id: str, key_id: str, status: str) -> None:
    """Switch one of the tenant's access keys off (``Inactive``) or on (``Active``); the key is kept. 400 for
    another status or a key id that is not IAM's format; 404 for a key that is not this tenant's (another user's
    key is never touched). AWS applies it at once; moto's IAM enforcement ignores a key's status."""
    if status not in KEY_STATUSES:
        message = "Status must be 'Active' or 'Inactive'"
        raise BadRequest(message, errors={"Status": [message]})
    if not users.ACCESS_KEY_ID.fullmatch(key_id):
        message = "access key id must be 16 to 128 letters, digits or underscores (AKIA...)"
        raise BadRequest(message, errors={"key_id": [message]})
    user = user_name(tenant_id)
    if not any(k["AccessKeyId"] == key_id for k in iam.list_access_keys(aws, user)):
        raise NotFound(f"access key '{key_id}' is not a key of tenant '{tenant_id}'")
    iam.update_access_key(aws, user, key_id, status)
    log.info("tenant key status set", extra={"tenant": tenant_id, "key": key_id, "status": status})


def suspend(aws: AccountAws, tenant_id: str) -> None:
    """Deny every S3 action to the tenant's credentials (the inline policy ``suspended``); data and keys stay.
    Idempotent; 404 without a user."""
    iam.put_user_policy(aws, user_name(tenant_id), SUSPENDED_POLICY, suspended_document())


def resume(aws: AccountAws, tenant_id: str) -> None:
    """Take the suspension away (idempotent); 404 without a user."""
    iam.get_user(aws, user_name(tenant_id))
    iam.delete_user_policy(aws, user_name(tenant_id), SUSPENDED_POLICY)


def delete(aws: AccountAws, tenant_id: str) -> None:
    """Remove the tenant's user and everything of it, in AWS's order: access keys, inline policies, group
    memberships (the key-retirement marker), the managed policies (detached everywhere, versions, deleted — also
    one created but never attached by an interrupted create), then the user. Idempotent: what is gone is skipped;
    without a user there is nothing left (one ListAccessKeys call)."""
    user = user_name(tenant_id)
    try:
        key_ids = [k["AccessKeyId"] for k in iam.list_access_keys(aws, user)]
    except NotFound:
        return  # no user: nothing of the tenant is left (policies are made after the user and go before it)
    for key_id in key_ids:
        iam.delete_access_key(aws, user, key_id)
    for inline in iam.user_inline_policies(aws, user):
        iam.delete_user_policy(aws, user, inline)
    for group in iam.user_groups(aws, user):
        iam.remove_user_from_group(aws, group, user)
    attached = {a["PolicyArn"] for a in iam.user_attached_policies(aws, user)}
    ours = {_arn(aws, tenant_id, n) for n in range(1, MAX_POLICIES + 1)}
    for n in range(1, MAX_POLICIES + 1):
        arn = _arn(aws, tenant_id, n)
        if arn in attached or iam.get_policy(aws, arn) is not None:
            iam.delete_policy(aws, arn)
    for arn in sorted(attached - ours):  # attached by someone else: only detached, never deleted
        iam.detach_user_policy(aws, user, arn)
    iam.delete_user(aws, user)
    log.info("tenant credentials deleted", extra={"tenant": tenant_id})
