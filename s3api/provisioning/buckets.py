"""Bucket workflows: create (with rollback), show, update, delete (retry-safe).

Create, in order (each step's undo registered once it succeeded; the failing step's own undo never runs):

1. HeadBucket: 403 → 409 (another account's). 200 → a retried create (:func:`_resume`): the same answer
   for a complete bucket that is provably ours, the remaining steps for a half-made one, else 409.
   Only a 404 goes on.
   Then GetGroup of the three group names and GetPolicy of ``<b>-BktRWPlc``/``-BktROPlc``: 409 naming any
   that exists (leftovers of an earlier bucket, or a website path scope's groups: site ``s`` path ``/x/``
   has the names of bucket ``s-x``); they are never adopted.
2. CreatePolicy ``<b>-BktAdmPlc`` — the *claim*. IAM names are unique within the account and CreatePolicy
   is atomic, so of two simultaneous creates of one name exactly one gets past this step; the other gets
   EntityAlreadyExists → 409 with nothing to undo. This is why the policy comes before the bucket: in
   us-east-1 CreateBucket answers 200 to *both* racers (AWS's legacy behaviour for the owner), so a
   bucket-first order cannot tell the loser that the bucket is not its own, and the loser's rollback
   would delete the winner's bucket. Undo: delete_policy (detach everywhere, versions, delete).
   A claim of ours left alone by a dead first attempt (no bucket, attached to nothing, older than
   :data:`CLAIM_STALE_AFTER`) is taken over by the retry instead (:func:`claim`).
3. CreateBucket (LocationConstraint outside us-east-1). Undo: DeleteBucket.
4. Bounded wait until HeadBucket sees it.
5. Tags: the caller's plus the organisation tag. 6. The named lifecycle rule (when asked).
7. SSE-S3. 8. Public access block, all four flags. 9. Ownership BucketOwnerEnforced.
10. Access logging to the account's log bucket (when configured).
    Steps 5-10 configure the bucket; their undo is the bucket's deletion. They deliberately have no undo
    of their own: reverting encryption or the public access block on a bucket whose deletion then fails
    would leave it *less* protected than doing nothing.
11. CreateGroup ``<b>-BktAdmGrp``. Undo: delete_group (members, policies detached first).
12. AttachGroupPolicy. Undo: DetachGroupPolicy.

Delete, in order (AWS's rules: moto enforces none of them, tests/aws/test_bucket_order.py proves them):
GetBucketTagging (404; 403 unless managed: ``provisioning/boundary.py``) → emptiness (409 before anything is
touched) → live website check (409: an enabled CloudFront distribution serves the bucket, see
:func:`live_distribution`) → GetGroup of ``<b>-BktAdmGrp/-BktRWGrp/-BktROGrp`` by exact name (never a substring
match), each kept only when provably this bucket's (ListAttachedGroupPolicies, ``scope.GroupSpec.owns``; another
scope's group of the same name is left alone with its members and policy) → each member whose only access is this
bucket's groups and policies, and that holds no login profile, MFA device, SSH key, signing certificate or
service-specific credential (AWS refuses DeleteUser with them), goes with it: access keys deleted, this bucket's
policies detached from it, memberships removed, user deleted → each group: first its policy
``<b>-Bkt{Adm,RW,RO}Plc`` (detached from every entity, non-default versions deleted, deleted), then the group
(remaining members — users with access elsewhere: they keep user and keys — removed, other policies detached,
inline policies deleted, group deleted) → the policies whose group was already gone → DeleteBucket last. The
IAM part is :mod:`s3api.provisioning.teardown`, shared with website delete.

Retry-safe: missing pieces are skipped, and the bucket goes last, so after a failure half-way a second
DELETE finds the bucket and finishes the job. AWS refuses DeleteUser while the user is in a group, so a
user whose DeleteUser fails is put back into its groups (keyless: no access) to be found by the retry.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from s3api import concurrency, names, validation
from s3api.aws import cloudfront, iam, s3, translate
from s3api.aws.clients import AccountAws
from s3api.errors import BadRequest, Conflict, Forbidden, NotFound
from s3api.provisioning import boundary, policies, quota_guard, teardown
from s3api.provisioning.scope import bucket_scope, owned_group
from s3api.provisioning.steps import Transaction
from s3api.provisioning.tenants import access, ownership

ADMIN = "BktAdmGrp"

log = logging.getLogger("s3api.buckets")


def _caller_tags(aws: AccountAws, tags: Any) -> list[validation.Tag]:
    """The caller's tags checked (validation.validate_tags) plus: the distribution and tenant tags are the
    server's. Returned with the organisation tag appended."""
    checked = validation.validate_tags(tags, aws.settings.org_tag_key, "Tags")
    for server_tag in (s3.DISTRIBUTION_TAG, ownership.TAG_KEY):
        if any(t["Key"].lower() == server_tag for t in checked):
            problem = f"the tag {server_tag!r} is set by the server and may not be given"
            raise BadRequest(problem, errors={"Tags": [problem]})
    return validation.with_org_tag(checked, aws.settings.org_tag_key, aws.settings.org)


# --- create ------------------------------------------------------------------------------------------------


def create(
    aws: AccountAws,
    bucket: str,
    tags: list[Any] | None = None,
    lifecycle: str | None = None,
    *,
    owner: str | None = None,
    storage_class: str | None = None,
    grant: bool = True,
) -> dict[str, Any]:
    """Create ``bucket`` with its admin policy and group; answers ``{"Bucket", "Policy", "Group"}``.

    A tenant's bucket (``owner``: the tenant id) also carries the tag ``s3api:tenant=<owner>`` (in the same
    PutBucketTagging as the organisation tag), the lifecycle rule of its plan's ``storage_class``
    (:func:`access.storage_rule`, besides a named ``lifecycle``), and, as the last step of the transaction, the
    tenant's credentials are made to reach it (:func:`access.after_bucket_created`; undo: they no longer do).
    ``grant=False`` leaves the credentials alone: for the tenant's first bucket, made before its credentials
    exist (``credentials.create`` names it).

    All input is checked before the first AWS call (BadRequest with per-field messages). Any failure
    undoes the completed steps in reverse and raises the mapped error.

    Retry-safe (a POST retried after a client-side timeout, or after the server died half-way): a complete
    bucket that is provably ours and matches the request answers 200 with the same fields; a half-made one
    is finished; an abandoned claim with no bucket is taken over (:func:`_resume`, :func:`claim`). Anything
    not provably ours stays a 409 that touches nothing.
    """
    validation.validate_bucket_name(bucket, "Bucket")
    bucket_tags = _caller_tags(aws, tags)
    if owner is not None:
        if len(bucket_tags) >= validation.MAX_TAGS:
            problem = f"a tenant's bucket takes at most {validation.MAX_TAGS - 2} tags (two are the server's)"
            raise BadRequest(problem, errors={"Tags": [problem]})
        bucket_tags.append({"Key": ownership.TAG_KEY, "Value": owner})
    lifecycle_config = _lifecycle(lifecycle)
    plan_rule = access.storage_rule(storage_class) if storage_class else None
    if plan_rule is not None:
        lifecycle_config = {"Rules": [*(lifecycle_config or {}).get("Rules", []), plan_rule]}
    policy_name = policies.policy_name(bucket, ADMIN)
    group_name = policies.group_name(bucket, ADMIN)
    settings = aws.settings
    document = policies.default_bucket_admin(
        bucket, settings.bucket_actions, settings.object_actions, settings.protected_actions
    )
    try:
        taken = s3.head_bucket(aws, bucket) is not None
    except Forbidden:
        raise Conflict(f"bucket '{bucket}' already exists") from None  # another account's (or hidden from us)
    if taken:
        resumed = _resume(aws, bucket, bucket_tags, lifecycle_config)
        if owner is not None and grant:
            access.after_bucket_created(aws, owner, bucket)  # idempotent: the retry may have died before it
        return resumed
    check_names_free(aws, bucket)

    with Transaction("bucket_create") as tx:
        policy = build(
            tx,
            aws,
            bucket,
            bucket_tags,
            lambda: claim(aws, policy_name, document, policies.policy_description(bucket, ADMIN)),
            lifecycle=lifecycle_config,
        )
        group = admin_group(tx, aws, group_name, policy["Arn"])
        if owner is not None and grant:  # the undo first: a sync failing half-way is narrowed again too
            tx.on_undo("tenant_access", lambda: access.after_bucket_deleted(aws, owner, bucket))
            access.after_bucket_created(aws, owner, bucket)
    return {"Bucket": f"/{bucket}", "Policy": policy, "Group": group}


def build(
    tx: Transaction,
    aws: AccountAws,
    bucket: str,
    bucket_tags: list[validation.Tag],
    claim_name: Callable[[], dict[str, Any]],
    *,
    lifecycle: dict[str, Any] | None = None,
    block_public_access: bool = True,
    undo_bucket: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The steps every managed bucket is made with, in ``tx`` (bucket create and website create): the claim
    (``claim_name``: CreatePolicy ``<b>-BktAdmPlc``, see :func:`claim`; undo: delete it) → CreateBucket (undo:
    ``undo_bucket``, default DeleteBucket) → the bounded wait until HeadBucket sees it → :func:`configure`.
    Answers the claim (IAM's ``Policy``)."""
    policy: dict[str, Any] = tx.step("create_policy", claim_name, lambda p: _undo(iam.delete_policy, aws, p["Arn"]))
    tx.step(
        "create_bucket",
        lambda: s3.create_bucket(aws, bucket),
        lambda _: undo_bucket() if undo_bucket else _undo(s3.delete_bucket, aws, bucket, True),
    )
    tx.step("wait_bucket", lambda: s3.wait_bucket_exists(aws, bucket))
    configure(tx, aws, bucket, bucket_tags, lifecycle=lifecycle, block_public_access=block_public_access)
    return policy


def configure(
    tx: Transaction,
    aws: AccountAws,
    bucket: str,
    bucket_tags: list[validation.Tag],
    *,
    lifecycle: dict[str, Any] | None = None,
    block_public_access: bool = True,
) -> None:
    """Tags (the caller's and the organisation's), the lifecycle rule (when asked), SSE-S3, the public access
    block (all four flags; a website's origin access sets its own), BucketOwnerEnforced, access logging to the
    account's log bucket (when configured). Each is an idempotent PUT (a retried create runs them again) and
    has no undo of its own: the bucket's deletion undoes them, and reverting encryption or the public access
    block on a bucket whose deletion then fails would leave it *less* protected than doing nothing."""
    tx.step("tags", lambda: s3.put_tags(aws, bucket, bucket_tags))
    if lifecycle is not None:
        tx.step("lifecycle", lambda: s3.put_lifecycle(aws, bucket, lifecycle))
    tx.step("encryption", lambda: s3.put_default_encryption(aws, bucket))
    if block_public_access:
        tx.step("public_access_block", lambda: s3.block_public_access(aws, bucket))
    tx.step("ownership", lambda: s3.enforce_bucket_owner(aws, bucket))
    log_bucket = aws.account.log_bucket
    if log_bucket:
        prefix = aws.account.log_prefix(bucket)
        tx.step("logging", lambda: s3.put_logging(aws, bucket, log_bucket, prefix))


def admin_group(
    tx: Transaction,
    aws: AccountAws,
    group_name: str,
    policy_arn: str,
    existing: dict[str, Any] | None = None,
    *,
    step: str = "group",
) -> dict[str, Any]:
    """CreateGroup ``group_name`` (undo: delete it; skipped when ``existing`` is given: a retried create) and
    AttachGroupPolicy of ``policy_arn`` (undo: detach it), as steps ``create_<step>`` and
    ``attach_<step>_policy``. Answers the group (IAM's ``Group``)."""
    group = existing
    if group is None:
        group = tx.step(
            f"create_{step}",
            lambda: iam.create_group(aws, group_name),
            lambda _: _undo(iam.delete_group, aws, group_name),
        )
    tx.step(
        f"attach_{step}_policy",
        lambda: _attach(aws, group_name, policy_arn),
        lambda arn: _undo(iam.detach_group_policy, aws, group_name, arn),
    )
    return group


#: A claim (the admin policy) whose create has not finished after this long was abandoned: a create takes
#: seconds (its one wait is bounded to 20 s), so no request still working on it can be this old. Before
#: that, a retry answers 409 "being created" instead of racing the first attempt.
CLAIM_STALE_AFTER = timedelta(minutes=10)


def _now() -> datetime:
    return datetime.now(UTC)


def stale(policy: Mapping[str, Any]) -> bool:
    """Whether the claim ``policy`` (GetPolicy's answer) is older than :data:`CLAIM_STALE_AFTER`."""
    created = policy.get("CreateDate")
    if not isinstance(created, datetime):
        return False
    created = created if created.tzinfo else created.replace(tzinfo=UTC)
    return _now() - created >= CLAIM_STALE_AFTER


def own_claim(aws: AccountAws, name: str) -> dict[str, Any] | None:
    """The managed policy ``name`` at path ``/`` (GetPolicy) when it provably is a claim made by this
    deployment (our organisation tag: GetPolicy answers the policy's tags), else None. Answered in
    CreatePolicy's shape (without ``Description``); ``AttachmentCount`` is IAM's current count."""
    policy = iam.get_policy(aws, iam.policy_arn(aws, name))
    if policy is None or policy.get("Path", "/") != "/":
        return None
    tags = [{"Key": t.get("Key", ""), "Value": t.get("Value", "")} for t in policy.get("Tags", [])]
    if aws.settings.org_tag not in tags:
        return None
    policy.pop("Description", None)  # GetPolicy has it, CreatePolicy's answer not: keep the create's shape
    return policy


def claim(
    aws: AccountAws, name: str, document: dict[str, Any], description: str, tags: Sequence[validation.Tag] = ()
) -> dict[str, Any]:
    """CreatePolicy ``name`` (org-tagged, plus ``tags``): the claim on a bucket or website name, answered as
    IAM's ``Policy``.

    EntityAlreadyExists is a 409, except for the one leftover a retry may take over: a claim of ours
    (:func:`own_claim`) attached to nothing, older than :data:`CLAIM_STALE_AFTER`, while the bucket does not
    exist (the caller checked) — what a first attempt leaves when the server dies between the claim and
    CreateBucket, or when its rollback could not delete the claim. Without this, no route could create or
    delete the name again. The caller registers the same undo as for a new claim (the retry owns it now).
    A younger claim answers 409 "being created": its request may still be running.
    """
    try:
        return iam.create_policy(aws, name, document, description, [aws.settings.org_tag, *tags])
    except Conflict as exc:
        if not translate.is_code(exc.__cause__ or exc, "EntityAlreadyExists"):
            raise
        found = own_claim(aws, name)
        if found is None or found.get("AttachmentCount", 0):
            raise
        if not stale(found):
            raise Conflict(
                f"'{name}' is being created by another request (claimed {found.get('CreateDate')}); retry later"
            ) from exc
        log.warning("taking over an abandoned claim", extra={"policy": name})
        return found


def _resume(
    aws: AccountAws, bucket: str, bucket_tags: list[validation.Tag], lifecycle: dict[str, Any] | None
) -> dict[str, Any]:
    """POST of a bucket that exists: the answer of a retried create (the first attempt timed out on the
    client, or the server died half-way after CreateBucket), or 409.

    The bucket is provably ours only with our claim ``<b>-BktAdmPlc`` (:func:`own_claim`) and either exactly
    the request's tags (organisation tag included) or no tags at all while empty (the first attempt died
    before PutBucketTagging); anything else — another bucket of the account, a website, a bucket whose tags
    were changed since (not a retry of this request) — answers 409 as before, touching nothing. Then:

    - complete (the admin group is ours by :meth:`scope.GroupSpec.owns` with the claim attached, the
      lifecycle rules are the request's): 200 with the same answer as the first create, reads only;
    - half-made: once the claim is older than :data:`CLAIM_STALE_AFTER` (before, 409 "being created": the
      first request may still be working), the remaining steps run again — every configuration step is an
      idempotent PUT, then CreateGroup when missing (undo: delete it) and AttachGroupPolicy (undo: detach).
      A failure undoes only what this retry made: the bucket and the claim stay for the next retry (or for
      DELETE, which accepts the bucket once it carries the organisation tag).

    CreateBucket is never called again, so us-east-1 (where AWS and moto answer 200 to the owner's second
    CreateBucket) and the other regions (BucketAlreadyOwnedByYou) behave the same.
    """
    exists = Conflict(f"bucket '{bucket}' already exists")
    policy_name = policies.policy_name(bucket, ADMIN)
    found = own_claim(aws, policy_name)
    if found is None:
        raise exists
    current = s3.get_tags(aws, bucket)
    tagged = _tag_set_key(current) == _tag_set_key(bucket_tags)
    if not tagged and (current or not s3.is_empty(aws, bucket)):
        raise exists
    spec = bucket_scope(aws, bucket).grants[ADMIN][0]
    group = owned_group(aws, spec)  # 409 naming the clash when the group is another scope's
    attached = group is not None and any(p["PolicyArn"] == found["Arn"] for p in group["AttachedPolicies"])
    wanted_rules = sorted(r.get("ID", "") for r in (lifecycle or {}).get("Rules", []))
    if tagged and attached and group is not None:
        if sorted(r.get("ID", "") for r in s3.get_lifecycle_rules(aws, bucket)) != wanted_rules:
            raise exists
        group.pop("AttachedPolicies", None)
        log.info("retried create of a complete bucket", extra={"bucket": bucket})
        return {"Bucket": f"/{bucket}", "Policy": found, "Group": group}
    if not stale(found):
        raise Conflict(f"bucket '{bucket}' is being created by another request; retry later")
    log.warning("finishing an interrupted bucket create", extra={"bucket": bucket})
    group_name = policies.group_name(bucket, ADMIN)
    with Transaction("bucket_create_resume") as tx:
        configure(tx, aws, bucket, bucket_tags, lifecycle=lifecycle)
        existing = {k: v for k, v in group.items() if k != "AttachedPolicies"} if group is not None else None
        made = admin_group(tx, aws, group_name, found["Arn"], existing)
    return {"Bucket": f"/{bucket}", "Policy": found, "Group": made}


def _tag_set_key(tags: Collection[Mapping[str, str]]) -> list[tuple[str, str]]:
    return sorted((t["Key"], t.get("Value", "")) for t in tags)


def check_names_free(aws: AccountAws, bucket: str) -> None:
    """409 naming them when any of the bucket's IAM names already exists: its three groups (GetGroup, any
    IAM path: a website path scope ``/x/`` of site ``s`` owns ``s-x-Bkt*Grp``, the names of bucket ``s-x``) or
    its read-write and read-only policies at ``/`` (the admin policy is the claim itself). Such leftovers of
    an earlier bucket of this name, or another scope's groups, are never adopted: a key still in the old
    ``<b>-BktRWGrp`` would read the new bucket's data."""
    scope = bucket_scope(aws, bucket)
    found = [spec.group for specs in scope.grants.values() for spec in specs if iam.get_group(aws, spec.group)]
    for kind in ("BktRWGrp", "BktROGrp"):
        name = policies.policy_name(bucket, kind)
        if iam.get_policy(aws, iam.policy_arn(aws, name)) is not None:
            found.append(name)
    if found:
        raise Conflict(
            f"bucket '{bucket}' cannot be created: IAM names it would use already exist ({', '.join(found)}); "
            "they belong to another scope or are leftovers of an earlier bucket and are never adopted"
        )


def _lifecycle(name: str | None) -> dict[str, Any] | None:
    """The named lifecycle configuration; 400 on the ``Lifecycle`` field for an unknown name (Yale sent an
    empty rule to AWS)."""
    if name is None:
        return None
    try:
        return policies.lifecycle_rule(name)
    except BadRequest as exc:
        raise BadRequest(exc.message, errors={"Lifecycle": [exc.message]}) from None


def _undo(fn: Callable[..., Any], *args: Any) -> None:
    """Run an undo, discarding its result (gateway deletes answer whether something was deleted)."""
    fn(*args)


def _attach(aws: AccountAws, group: str, arn: str) -> str:
    iam.attach_group_policy(aws, group, arn)
    return arn


# --- show, head, update ------------------------------------------------------------------------------------


def head(aws: AccountAws, bucket: str) -> None:
    """Nothing when the bucket exists and is ours; 404 when missing; 403 when it is not ours to see."""
    s3.require_bucket(aws, bucket)


#: ``?include=`` names → the field each adds to GET bucket (each costs exactly its own AWS call).
OPTIONAL_FIELDS = names.OPTIONAL_FIELDS
_FIELD_READS: dict[str, Callable[[AccountAws, str], Any]] = {
    "Tags": s3.get_tags,
    "Logging": s3.get_logging,
    "Empty": s3.is_empty,
    "Region": lambda aws, bucket: s3.region_of(aws, s3.require_bucket(aws, bucket)),
    "Encryption": s3.get_encryption,
    "Versioning": s3.get_versioning,
    "PublicAccessBlock": s3.get_public_access_block,
    "Lifecycle": s3.get_lifecycle_rules,
    "Website": s3.get_website,
}


def show(aws: AccountAws, bucket: str, include: Collection[str] = ()) -> dict[str, Any]:
    """Yale's ``Tags``, ``Logging``, ``Empty`` (GetBucketTagging, GetBucketLogging, ListObjectVersions with
    MaxKeys=1: three calls, concurrently), plus the fields named in ``include`` (keys of
    :data:`OPTIONAL_FIELDS`, or ``"all"``), each costing its own one call: ``region`` (HeadBucket),
    ``encryption``, ``versioning``, ``public_access_block``, ``lifecycle``, ``website``. Fields not asked
    for are absent from the answer, not null.

    There is no HeadBucket first: every read answers NoSuchBucket for a missing bucket (→ 404 naming it)
    and AccessDenied for another account's (→ 403). Each pool thread runs in a copy of the request's
    context, so the calls are counted for this request.
    """
    wanted = set(OPTIONAL_FIELDS) if "all" in include else set(include)
    unknown = wanted - set(OPTIONAL_FIELDS)
    if unknown:
        problem = f"unknown include {sorted(unknown)}; allowed: all, {', '.join(OPTIONAL_FIELDS)}"
        raise BadRequest(problem, errors={"include": [problem]})
    names = ["Tags", "Logging", "Empty", *(field for key, field in OPTIONAL_FIELDS.items() if key in wanted)]
    try:
        return concurrency.gather({name: functools.partial(_FIELD_READS[name], aws, bucket) for name in names})
    except NotFound as exc:
        raise NotFound(f"bucket '{bucket}' does not exist") from exc


def update(
    aws: AccountAws, bucket: str, tags: list[Any] | None = None, bucket_policy: str | Mapping[str, Any] | None = None
) -> None:
    """Replace the tags (when given) and/or set the bucket policy, on a managed bucket only.

    Without ``tags`` the tag set is left alone (Yale wiped it). With them, the organisation tag, the
    website's distribution tag (which keeps a live website's bucket from being deleted) and the tenant tag (the
    bucket's owner) stay. The policy
    must be JSON whose every resource is this bucket or lies under it, and follows the public-principal rules
    of :func:`s3api.validation.validate_bucket_policy` (public read only where the account serves public
    websites). Both are checked before any AWS call. Then one GetBucketTagging (never cached: this changes the
    bucket) proves the bucket exists (404) and is managed (403 otherwise, the log bucket always: see
    :mod:`s3api.provisioning.boundary`); its tag set is reused for the replacement.
    """
    new_tags = None if tags is None else _caller_tags(aws, tags)
    document = None
    if bucket_policy is not None:
        public_read = aws.account.origin_access == "public-website"
        document = validation.validate_bucket_policy(bucket_policy, bucket, "BucketPolicy", public_read=public_read)
        quota_guard.refuse_reserved(document)
    current = boundary.managed_tags(aws, bucket)
    if new_tags is not None:
        kept = [t for t in current if t["Key"] in (s3.DISTRIBUTION_TAG, ownership.TAG_KEY)]
        s3.put_tags(aws, bucket, new_tags + kept)
    if document is not None:  # a quota's deny statement stays (GetBucketPolicy)
        s3.put_bucket_policy(aws, bucket, json.dumps(quota_guard.keep(aws, bucket, document)))


# --- delete ------------------------------------------------------------------------------------------------


def delete(aws: AccountAws, bucket: str) -> teardown.Removal:
    """Delete an empty bucket and the IAM pieces made for it (see the module docstring for the order); answers
    what the IAM tear-down removed.

    409 when the bucket holds objects (checked before IAM is touched) or serves a website through a live
    CloudFront distribution; 404 when it does not exist. A bucket with everything in it: the forced delete
    (:mod:`s3api.provisioning.emptying`) empties it, then calls this.
    """
    boundary.forget(aws, bucket)
    tags = boundary.managed_tags(aws, bucket)  # 404 missing; 403 not ours or the log bucket (never cached)
    if not s3.is_empty(aws, bucket):
        raise Conflict(f"bucket '{bucket}' is not empty")
    distribution = live_distribution(aws, bucket, tags)  # the tags just read: not read again
    if distribution:
        raise Conflict(
            f"bucket '{bucket}' serves a website through CloudFront distribution {distribution}; "
            "delete the website instead"
        )
    tenant = ownership.owner_of(tags)
    if tenant is not None:  # before the bucket goes: no tenant policy names a bucket name anyone may take
        access.after_bucket_deleted(aws, tenant, bucket)
    try:
        removal = remove_iam(aws, bucket)
        s3.delete_bucket(aws, bucket, missing_ok=True)
    except Exception:
        if tenant is not None:
            _give_back(aws, tenant, bucket)
        raise
    return removal


def _give_back(aws: AccountAws, tenant: str, bucket: str) -> None:
    """A tenant bucket whose delete failed after its tenant's credentials were narrowed: reach it again (best
    effort; the next sync of the tenant repairs it otherwise)."""
    try:
        if s3.head_bucket(aws, bucket) is not None:
            access.after_bucket_created(aws, tenant, bucket)
    except Exception:  # noqa: BLE001 - the delete's own error is the one to report
        log.warning("tenant credentials not given back the bucket", extra={"bucket": bucket, "tenant": tenant})


def scope_groups(aws: AccountAws, bucket: str) -> tuple[list[teardown.FoundGroup], list[str]]:
    """The bucket's groups that exist and are provably its own (``teardown.found_group``), and the ARNs of
    every policy name of its scope."""
    specs = [spec for specs in bucket_scope(aws, bucket).grants.values() for spec in specs]
    found = [group for spec in specs if (group := teardown.found_group(aws, spec)) is not None]
    return found, [iam.policy_arn(aws, spec.policy) for spec in specs]


def remove_iam(aws: AccountAws, bucket: str) -> teardown.Removal:
    """The IAM part of delete: the bucket's users whose only access it is, its groups and policies
    (:func:`teardown.remove`). Retry-safe; also what finishes a forced delete whose bucket is already gone."""
    found, policy_arns = scope_groups(aws, bucket)
    return teardown.remove(aws, found, policy_arns)


def live_distribution(aws: AccountAws, bucket: str, tags: list[s3.Tag] | None = None) -> str | None:
    """The id of an enabled CloudFront distribution serving the bucket, if any.

    The bucket's ``s3api:distribution`` tag names a candidate, used (one GetDistribution) only when it
    verifiably serves the website named like the bucket (``cloudfront.serves_site``). Without such a tag (a
    site adopted from the Yale service, a tag removed by a tenant key, or one naming another site's
    distribution), ListDistributions (all pages) is searched for an enabled distribution with this bucket as
    an origin of either kind, whatever its aliases: deleting its bucket would let anyone register the name
    the distribution serves. A disabled distribution does not serve the bucket. ``tags``: the bucket's tag set
    when the caller has just read it (GetBucketTagging otherwise).
    """
    tags = s3.get_tags(aws, bucket) if tags is None else tags
    dist_id = next((t.get("Value", "") for t in tags if t["Key"] == s3.DISTRIBUTION_TAG and t.get("Value")), None)
    if dist_id:
        distribution = cloudfront.get_distribution(aws, dist_id)
        if distribution is not None and cloudfront.serves_site(distribution, bucket):
            return dist_id if distribution["DistributionConfig"].get("Enabled") else None
        log.warning("bucket tag names a distribution that does not serve it", extra={"bucket": bucket})
    found = cloudfront.find_first(aws, lambda d: bool(d.get("Enabled")) and cloudfront.has_bucket_origin(d, bucket))
    return str(found["Id"]) if found else None
