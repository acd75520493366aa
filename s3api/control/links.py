"""Share links: every presigned link we issue is recorded, counted, listed, revoked and re-issued.

A link is signed by a **signer** of its bucket — an IAM user allowed only GetObject/PutObject on the bucket's
objects (:mod:`s3api.provisioning.signers`) — never by the service's own identity: the bucket's default signer,
or the signer of the link's share (``"Share": "newsletter-2026-12"``), one IAM user per share.

Revocation deletes the signer **key** that signed the link, so it kills every link that key signed (the blast
radius, listed in the answer): a link outside any share takes the bucket's other unshared links with it; a
share's links die together and only they. ``reissue`` gives a revoked (or expired) link's bucket, key, method
and share a new link on the signer's next key. On AWS a deleted key is refused within seconds (IAM is
eventually consistent; usually a few seconds, AWS documents no bound).

Lifetimes: at most the configured ``max_link_seconds`` (default 7 days, S3's own limit for SigV4 URLs), a
tenant's plan's ``max_link_seconds`` when the plan has one, and never past the signer key's end of life
(its creation + :data:`~s3api.names.SIGNER_KEY_MAX_AGE_SECONDS`): a key too old for the asked lifetime is
replaced first (IAM's two keys per user: the old key stays until its last link expires). Links are purged
from the inventory :data:`~s3api.names.LINK_PURGE_AFTER_SECONDS` after they expired or were revoked
(periodic task ``links_purge``, which also removes retired signer keys and the signers of deleted buckets).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from s3api.aws import s3
from s3api.aws.clients import AccountAws
from s3api.db.links import LinkStore, NewLink, SignerView, signer_id
from s3api.db.plans import PlanStore
from s3api.db.session import Database
from s3api.db.tenants import TenantStore
from s3api.errors import ApiError, BadRequest, Conflict, NotFound, ServiceUnavailable, TooManyRequests
from s3api.jobs import tasks
from s3api.names import LINK_PURGE_AFTER_SECONDS, MAX_SHARES_PER_BUCKET, SIGNER_KEY_MAX_AGE_SECONDS
from s3api.provisioning import buckets, objects, periodic, signers, teardown
from s3api.provisioning.tenants import ownership
from s3api.sealing import SealError, SealingUnavailable, internal

log = logging.getLogger("s3api.links")
#: how long a request waits for a concurrent one to give the signer its new key (rounds x seconds)
KEY_WAIT_ROUNDS = 40
KEY_WAIT_SECONDS = 0.05
#: a signer key that is not current is deleted (once nothing it signed works) only when older than this
RETIRE_AFTER_SECONDS = 300

__all__ = [
    "delete_bucket",
    "issue",
    "list_links",
    "purge",
    "reissue",
    "revoke_link",
    "revoke_share",
    "stats",
]


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _store(db: Database) -> LinkStore:
    return LinkStore(db)


def _context(signer: str, key_id: str) -> str:
    return f"signer:{signer}:{key_id}"


def _sealer(aws: AccountAws) -> Any:
    try:
        return internal(aws.settings)
    except SealingUnavailable as exc:
        raise ServiceUnavailable(
            "share links need secret_keys (S3API_SECRET_KEYS) to keep their signers' keys on several replicas"
        ) from exc


def lifetime_limit(db: Database, aws: AccountAws, tenant: str | None) -> int:
    """The longest link this caller may have: ``max_link_seconds``, or its tenant plan's when shorter."""
    limit = aws.settings.max_link_seconds
    if tenant is not None:
        try:
            plan = PlanStore(db).get(TenantStore(db).get(tenant).plan)
        except NotFound:
            return limit
        if plan.max_link_seconds is not None and 0 < plan.max_link_seconds < limit:
            limit = plan.max_link_seconds
    return limit


# --- the signer's key -------------------------------------------------------------------------------------


def _key_end(signer: SignerView) -> datetime | None:
    if signer.key_created_at is None:
        return None
    return signer.key_created_at + timedelta(seconds=SIGNER_KEY_MAX_AGE_SECONDS)


def _signer_for(db: Database, aws: AccountAws, bucket: str, share: str | None) -> SignerView:
    store = _store(db)
    account = aws.account.name
    found = store.signer(signer_id(account, bucket, share))
    if found is not None:
        return found
    if share is not None and store.count_shares(account, bucket) >= MAX_SHARES_PER_BUCKET:
        raise Conflict(
            f"bucket '{bucket}' has {MAX_SHARES_PER_BUCKET} shares already (one IAM user each): revoke or let "
            "one expire, or issue this link without a share"
        )
    return store.claim_signer(account, bucket, share, signers.user_name(bucket, share))


def _fresh_key(db: Database, aws: AccountAws, signer: SignerView, until: datetime) -> SignerView:
    """A signer key that lives until ``until``: the current one when young enough, else a new one (the user
    made first if needed; retired keys without live links deleted to make room under IAM's two-key limit)."""
    store = _store(db)
    end = _key_end(signer)
    if signer.access_key_id is not None and signer.sealed_secret is not None and end is not None and end >= until:
        return signer
    signers.ensure_user(aws, signer.bucket, signer.share, signer.iam_user)
    details = signers.key_details(aws, signer.iam_user)
    existing = [k["AccessKeyId"] for k in details]
    for key_id in _retired(store, signer, details):
        signers.delete_key(aws, signer.iam_user, key_id)
        existing = [k for k in existing if k != key_id]
    if len(existing) >= 2:  # the current key and an older one with live links: IAM allows no third
        if signer.access_key_id is not None and signer.sealed_secret is not None:
            return signer  # the caller caps the link at this key's end of life
        return _wait_for_key(store, signer, until)  # a concurrent request's new key: it is being recorded
    try:
        made = signers.new_key(aws, signer.iam_user)
    except TooManyRequests:  # LimitExceeded: concurrent requests made the two keys IAM allows; one wins below
        return _wait_for_key(store, signer, until)
    key_id, secret = made["AccessKeyId"], made["SecretAccessKey"]
    sealed = _sealer(aws).seal(secret, _context(signer.iam_user, key_id))
    if not store.set_key(signer.id, signer.access_key_id, key_id, sealed, _now()):
        signers.delete_key(aws, signer.iam_user, key_id)  # another request replaced the key first: use its key
        return _wait_for_key(store, signer, until)
    found = store.signer(signer.id)
    if found is None:
        signers.delete_key(aws, signer.iam_user, key_id)
        raise NotFound(f"bucket '{signer.bucket}' is being deleted")
    return found


def _retired(store: LinkStore, signer: SignerView, details: list[dict[str, Any]]) -> list[str]:
    """The signer's keys that may go: not its current key (read afresh), nothing live signed by them, and
    older than :data:`RETIRE_AFTER_SECONDS` (a younger one may be a concurrent request's new key, not yet
    recorded)."""
    current = store.signer(signer.id)
    keep = {signer.access_key_id, current.access_key_id if current else None}
    cutoff = _now() - timedelta(seconds=RETIRE_AFTER_SECONDS)
    found = []
    for key in details:
        created = key.get("CreateDate")
        if isinstance(created, datetime) and created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        young = not isinstance(created, datetime) or created > cutoff
        if key["AccessKeyId"] in keep or young or store.live_on_key(key["AccessKeyId"]):
            continue
        found.append(key["AccessKeyId"])
    return found


def _wait_for_key(store: LinkStore, signer: SignerView, until: datetime) -> SignerView:
    """Another request is giving the signer its key: wait (briefly) for its row to show it."""
    for _ in range(KEY_WAIT_ROUNDS):
        found = store.signer(signer.id)
        if found is None:
            raise NotFound(f"bucket '{signer.bucket}' is being deleted")
        if found.access_key_id is not None and found.access_key_id != signer.access_key_id:
            return found
        time.sleep(KEY_WAIT_SECONDS)
    raise Conflict("the bucket's signer is getting a new key; retry")


def _sign(
    db: Database,
    aws: AccountAws,
    bucket: str,
    key: str,
    method: str,
    expires_in: int,
    share: str | None,
    tenant: str | None,
    created_by: str | None,
) -> dict[str, Any]:
    limit = lifetime_limit(db, aws, tenant)
    if expires_in > limit:
        raise BadRequest(
            f"ExpiresIn may be at most {limit} seconds", errors={"json": {"ExpiresIn": [f"at most {limit}"]}}
        )
    signer = _signer_for(db, aws, bucket, share)
    started = _now()
    wanted = started + timedelta(seconds=expires_in)
    signer = _fresh_key(db, aws, signer, wanted)
    assert signer.access_key_id is not None and signer.sealed_secret is not None
    try:
        secret = _sealer(aws).open(signer.sealed_secret, _context(signer.iam_user, signer.access_key_id))
    except SealError as exc:  # sealed with a key that is no longer configured
        raise ServiceUnavailable("the signer's key cannot be opened with the configured secret_keys") from exc
    end = _key_end(signer)
    seconds = expires_in
    if end is not None and end < wanted:
        seconds = max(1, int((end - started).total_seconds()))
    signed = s3.presign(aws, bucket, key, method, seconds, signer=(signer.access_key_id, secret))
    link = _store(db).add(
        NewLink(
            account=aws.account.name,
            bucket=bucket,
            key=key,
            method=method,
            share=share,
            signer=signer.iam_user,
            signer_key_id=signer.access_key_id,
            tenant=tenant,
            created_by=created_by,
            expires_at=signed["ExpiresAt"],
        )
    )
    return {**link, "Url": signed["Url"]}


def issue(
    db: Database,
    aws: AccountAws,
    bucket: str,
    key: str,
    method: str,
    expires_in: int,
    *,
    share: str | None = None,
    tenant: str | None = None,
    created_by: str | None = None,
) -> dict[str, Any]:
    """POST .../presign: a presigned GET or PUT URL signed by the bucket's (or the share's) signer, recorded.
    404 unknown bucket, 403 not ours, 400 lifetime over the limit, 409 too many shares."""
    objects.managed_bucket(aws, bucket)
    return _sign(db, aws, bucket, key, method, expires_in, share, tenant, created_by)


def list_links(db: Database, aws: AccountAws, bucket: str, **query: Any) -> dict[str, Any]:
    """GET .../links: the bucket's links, newest first (filters active, key_prefix, share; pages)."""
    objects.managed_bucket(aws, bucket)
    return _store(db).page(aws.account.name, bucket, **query)


def show(db: Database, aws: AccountAws, bucket: str, link_id: str) -> dict[str, Any]:
    objects.managed_bucket(aws, bucket)
    return _store(db).get(aws.account.name, bucket, link_id)


def revoke_link(db: Database, aws: AccountAws, bucket: str, link_id: str) -> dict[str, Any]:
    """POST .../links/{id}/revoke: the link's signer key deleted, so every link that key signed stops working;
    ``{Link, Revoked: [links that were live and are not any more], Count}``. A link revoked already: Revoked
    is empty (nothing more stopped)."""
    objects.managed_bucket(aws, bucket)
    store = _store(db)
    link = store.get(aws.account.name, bucket, link_id)
    revoked: list[dict[str, Any]] = []
    if link["RevokedAt"] is None:
        key_id = link["Signer"]["AccessKeyId"]
        signers.delete_key(aws, link["Signer"]["UserName"], key_id)
        revoked = store.revoke_keys(aws.account.name, [key_id])
        link = store.get(aws.account.name, bucket, link_id)
    return {"Link": link, "Revoked": revoked, "Count": len(revoked)}


def revoke_share(db: Database, aws: AccountAws, bucket: str, share: str) -> dict[str, Any]:
    """POST .../shares/{share}/revoke: every key of the share's signer deleted; ``{Share, Revoked, Count}``.
    404 when the bucket has no such share."""
    objects.managed_bucket(aws, bucket)
    store = _store(db)
    signer = store.signer(signer_id(aws.account.name, bucket, share))
    if signer is None:
        raise NotFound(f"bucket '{bucket}' has no share '{share}'")
    deleted = signers.delete_keys(aws, signer.iam_user)
    keys = sorted(set(deleted) | ({signer.access_key_id} if signer.access_key_id else set()))
    revoked = store.revoke_keys(aws.account.name, keys, share_of=(bucket, share))
    return {"Share": share, "Revoked": revoked, "Count": len(revoked)}


def reissue(
    db: Database,
    aws: AccountAws,
    bucket: str,
    link_id: str,
    expires_in: int | None,
    *,
    tenant: str | None = None,
    created_by: str | None = None,
) -> dict[str, Any]:
    """POST .../links/{id}/reissue: a new link for a revoked or expired link's key, method and share, signed
    by the signer's current key (a fresh one after a revoke). 409 for a link that still works (revoke it
    first). ``ExpiresIn`` defaults to the old link's lifetime, within today's limits."""
    objects.managed_bucket(aws, bucket)
    old = _store(db).get(aws.account.name, bucket, link_id)
    if old["Active"]:
        raise Conflict(f"link '{link_id}' still works: revoke it first, or keep it")
    if expires_in is None:
        expires_in = max(1, int((old["ExpiresAt"] - old["CreatedAt"]).total_seconds()))
        expires_in = min(expires_in, lifetime_limit(db, aws, tenant))
    new = _sign(db, aws, bucket, old["Key"], old["Method"], expires_in, old["Share"], tenant, created_by)
    return {**new, "ReissuedFrom": link_id}


# --- counts, bucket delete ----------------------------------------------------------------------------------


def stats(
    db: Database,
    aws: AccountAws,
    tenant: str | None = None,
    *,
    counts: dict[str, int] | None = None,
    owned: list[str] | None = None,
) -> dict[str, int]:
    """GET .../stats: the account's counts (:func:`objects.account_stats`, or the tenant's ``counts``) and
    ``ActivePresignedLinks``; a tenant's caller counts only its own links and the uploads of its own buckets
    (``owned``, read from their tags when not given)."""
    counts = dict(counts) if counts is not None else objects.account_stats(aws)
    if tenant is not None:
        mine = owned if owned is not None else ownership.buckets(aws, tenant)
        counts["ActiveMultipartUploads"] = objects.count_uploads(aws, mine)
    counts["ActivePresignedLinks"] = _store(db).count_active(aws.account.name, tenant)
    return counts


def delete_bucket(db: Database, aws: AccountAws, bucket: str) -> teardown.Removal:
    """DELETE .../buckets/{b} (not forced): :func:`buckets.delete`, then the bucket's signers (IAM users and
    rows) and its links. A failure after the bucket went leaves them to ``links_purge``."""
    removal = buckets.delete(aws, bucket)
    try:
        forget_bucket(db, aws, bucket)
    except ApiError as exc:  # the bucket is gone and the answer stands: links_purge finishes this
        log.warning("signers of a deleted bucket left to the purge", extra={"error": type(exc).__name__})
    return removal


def forget_bucket(db: Database, aws: AccountAws, bucket: str) -> int:
    """A deleted bucket's signer users removed from IAM, its signer rows and links from the database."""
    return tasks.forget_signers(db, aws, bucket)


# --- the periodic purge ---------------------------------------------------------------------------------------

_DATABASES: dict[str, Database] = {}


def _database(aws: AccountAws) -> Database:
    url = aws.settings.database.url
    found = _DATABASES.get(url)
    if found is None:
        found = _DATABASES.setdefault(url, Database(aws.settings.database))
    return found


def purge(db: Database, aws: AccountAws) -> int:
    """One pass over the account: links expired or revoked long enough ago deleted; signers of buckets that
    are gone removed (IAM users, rows); retired keys (not current, nothing live signed by them) deleted;
    share signers left with no link at all removed. What was done, counted."""
    store = _store(db)
    done = store.purge(LINK_PURGE_AFTER_SECONDS)
    account = aws.account.name
    present = set(s3.list_buckets(aws))
    cutoff = _now() - timedelta(seconds=LINK_PURGE_AFTER_SECONDS)
    for signer in store.signers_of(account):
        try:
            if signer.bucket not in present:
                signers.remove(aws, signer.iam_user)
                store.forget_signer(signer.id)
                done += 1
                continue
            if signer.share is not None and signer.created_at < cutoff and store.links_of_signer(signer) == 0:
                signers.remove(aws, signer.iam_user)
                store.forget_signer(signer.id)
                done += 1
                continue
            for key_id in _retired(store, signer, signers.key_details(aws, signer.iam_user)):
                done += int(signers.delete_key(aws, signer.iam_user, key_id))
        except ApiError:  # one signer's trouble never stops the others; the next pass tries again
            log.warning("signer not purged", extra={"signer": signer.id})
    return done


@periodic.task("links_purge")
def purge_task(aws: AccountAws) -> int:
    return purge(_database(aws), aws)
