"""Forced bucket delete: a bucket with everything in it, emptied in batches, then deleted with its IAM family.

``DELETE /v1/s3/{account}/buckets/{bucket}?force=true`` runs :func:`preflight_force_delete` in the request (it
refuses, changing nothing, what must not be deleted) and then :func:`empty_and_delete` as the operation
``bucket.delete`` (:mod:`s3api.jobs.tasks`), which reports its counters through a
:class:`~s3api.provisioning.progress.Progress`.

Counters (the operation's ``Progress``; all integers):

- from the preflight, what a first look found (one page of each listing, never a full count):
  ``VersionsFound`` (object versions, and objects of an unversioned bucket), ``DeleteMarkersFound``,
  ``VersionsTruncated`` (1 when the first page of 1,000 was full: there is more), ``UploadsFound``,
  ``UploadsTruncated``, ``UsersFound`` (members of the bucket's groups, each once);
- while it runs: ``VersionsDeleted``, ``DeleteMarkersDeleted``, ``Batches`` (DeleteObjects calls),
  ``DeleteErrors`` (per-key failures, each retried), ``UploadsAborted``;
- at the end: ``UsersDeleted`` (members whose only access was this bucket), ``GroupsDeleted``,
  ``PoliciesDeleted``.

The work, in order (AWS's rules; moto is lenient about the first):

1. the boundary again (404 missing, 403 not ours) and the live-website check again: the preflight ran when the
   operation was asked for, the run may come later;
2. ListObjectVersions (1,000 at most, always from the start: what was deleted is no longer listed) →
   DeleteObjects of those entries *with their VersionId* (``Quiet``), repeated until nothing is listed. On a
   versioned bucket a delete without VersionId would only add a delete marker. A key S3 could not delete is
   listed again and retried by the next batch; one failing :data:`MAX_TRIES` times ends the work with an error
   naming it (503 for S3's transient codes, which the engine retries later; 409 otherwise). A checkpoint after
   each batch;
3. ListMultipartUploads → AbortMultipartUpload of each, a checkpoint after each page;
4. :func:`s3api.provisioning.buckets.delete`: the IAM family (users whose only access is this bucket, groups,
   policies) and the bucket itself. Objects written meanwhile by a bucket user (their keys work until step 4)
   make it answer "not empty": steps 2-4 run again, :data:`ROUNDS` times at most.

Cancel: a checkpoint raises ``Canceled`` between batches; nothing is undone — the bucket stays half-emptied,
with its IAM family, and the ``Canceled`` note says so with the counts. A new forced delete finishes the job.

Idempotent: after a crash the task runs again from the start (its saved counters go on counting): it lists
again what is left. A bucket already gone at the start of a run (the crash came after DeleteBucket, or it was
deleted meanwhile) only has its IAM clean-up finished (:func:`buckets.remove_iam`, which proves every group the
bucket's before touching it).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from s3api.aws import s3
from s3api.aws.clients import AccountAws
from s3api.errors import Conflict, NotFound, ServiceUnavailable
from s3api.provisioning import boundary, buckets
from s3api.provisioning.progress import Canceled, Progress

log = logging.getLogger("s3api.emptying")

#: DeleteObjects and the listings: at most this many entries per call (S3's limit)
BATCH = s3.MAX_DELETE_BATCH
#: a version (or upload) S3 refuses to delete this many times ends the work with an error
MAX_TRIES = 5
#: seconds to wait before retrying a batch that had failures: doubles per try, at most 2 s
RETRY_PAUSE = 0.2
#: how often emptying and the final delete are tried when the bucket filled again meanwhile
ROUNDS = 3
#: S3's per-key error codes a later attempt may cure (the engine retries the operation: 503)
TRANSIENT = frozenset({"InternalError", "SlowDown", "ServiceUnavailable", "RequestTimeout", "OperationAborted"})


def _refuse_live_website(aws: AccountAws, bucket: str, tags: list[s3.Tag]) -> None:
    distribution = buckets.live_distribution(aws, bucket, tags)
    if distribution:
        why = f"served by the enabled CloudFront distribution {distribution}: delete the website instead"
        raise Conflict(
            f"bucket '{bucket}' serves a website through CloudFront distribution {distribution}; "
            "delete the website instead",
            errors={"Website": [why]},
        )


def preflight_force_delete(aws: AccountAws, bucket: str) -> dict[str, int]:
    """In the request, before the operation exists: 404 when the bucket is missing, 403 when it is not ours
    (or the log bucket), 409 with ``errors`` naming what must not be deleted (a live website); then the initial
    counters (see the module docstring), counted cheaply: one page each of ListObjectVersions and
    ListMultipartUploads, and the members of the bucket's groups. Changes nothing."""
    boundary.forget(aws, bucket)
    tags = boundary.managed_tags(aws, bucket)
    _refuse_live_website(aws, bucket, tags)
    page = s3.list_versions_page(aws, bucket, BATCH)
    markers = sum(1 for e in page["Entries"] if e["DeleteMarker"])
    uploads = s3.list_uploads_page(aws, bucket, prefix="", max_uploads=BATCH)
    groups, _ = buckets.scope_groups(aws, bucket)
    users = {str(u["UserName"]) for g in groups for u in g.members}
    return {
        "VersionsFound": len(page["Entries"]) - markers,
        "DeleteMarkersFound": markers,
        "VersionsTruncated": int(bool(page["IsTruncated"])),
        "UploadsFound": len(uploads["Uploads"]),
        "UploadsTruncated": int(bool(uploads["IsTruncated"])),
        "UsersFound": len(users),
    }


def empty_and_delete(aws: AccountAws, bucket: str, progress: Progress) -> dict[str, Any]:
    """Empty ``bucket`` (every version, delete marker and incomplete upload) in batches, then delete it with its
    IAM family (see the module docstring). Answers ``{"Bucket", "Deleted": true, "AlreadyGone", "VersionsDeleted",
    "DeleteMarkersDeleted", "UploadsAborted", "Users", "Groups", "Policies"}`` (the last three: names removed)."""
    boundary.forget(aws, bucket)
    try:
        tags = boundary.managed_tags(aws, bucket)
    except NotFound:
        log.info("bucket already gone: finishing its IAM clean-up", extra={"bucket": bucket})
        return _result(bucket, progress, buckets.remove_iam(aws, bucket), gone=True)
    _refuse_live_website(aws, bucket, tags)
    try:
        for round_ in range(1, ROUNDS + 1):
            _delete_versions(aws, bucket, progress)
            _abort_uploads(aws, bucket, progress)
            try:
                removal = buckets.delete(aws, bucket)
            except Conflict:
                if round_ == ROUNDS or s3.is_empty(aws, bucket):
                    raise  # not a refill: a website went live meanwhile, or it keeps filling
                log.warning("bucket filled again while it was emptied: once more", extra={"bucket": bucket})
                continue
            return _result(bucket, progress, removal, gone=False)
    except Canceled as exc:
        counts = progress.counters
        raise Canceled(
            f"canceled at a checkpoint: bucket '{bucket}' stays half-emptied, nothing is undone "
            f"({counts.get('VersionsDeleted', 0)} versions, {counts.get('DeleteMarkersDeleted', 0)} delete markers "
            f"deleted, {counts.get('UploadsAborted', 0)} uploads aborted); the bucket, its groups, policies and "
            "users remain: a new forced delete finishes the job"
        ) from exc
    raise AssertionError("unreachable")  # the last round returns or raises


def _result(bucket: str, progress: Progress, removal: Any, *, gone: bool) -> dict[str, Any]:
    progress.add(
        UsersDeleted=len(removal.users), GroupsDeleted=len(removal.groups), PoliciesDeleted=len(removal.policies)
    )
    counts = progress.counters
    return {
        "Bucket": bucket,
        "Deleted": True,
        "AlreadyGone": gone,
        "VersionsDeleted": counts.get("VersionsDeleted", 0),
        "DeleteMarkersDeleted": counts.get("DeleteMarkersDeleted", 0),
        "UploadsAborted": counts.get("UploadsAborted", 0),
        "Users": sorted(str(u["UserName"]) for u in removal.users),
        "Groups": sorted(removal.groups),
        "Policies": sorted(removal.policies),
    }


Entry = tuple[str, "str | None"]


def _give_up(bucket: str, failing: dict[Entry, str], what: str = "versions") -> None:
    """End the work: these entries (key and version, or key and upload id) failed :data:`MAX_TRIES` times."""
    label = "upload" if what == "uploads" else "version"
    shown = [f"{key} ({label} {ident or 'null'}): {code}" for (key, ident), code in sorted(failing.items())[:5]]
    more = f" and {len(failing) - len(shown)} more" if len(failing) > len(shown) else ""
    message = (
        f"bucket '{bucket}' could not be emptied: S3 refused to remove {len(failing)} {what} "
        f"{MAX_TRIES} times: {'; '.join(shown)}{more}; the bucket stays half-emptied"
    )
    errors = {"Entries": shown}
    if set(failing.values()) <= TRANSIENT:
        raise ServiceUnavailable(message, errors=errors)
    raise Conflict(message, errors=errors)


def _delete_versions(aws: AccountAws, bucket: str, progress: Progress) -> None:
    """Step 2: list from the start, delete what is listed, until nothing is listed."""
    tries: dict[Entry, int] = {}
    said_gone: set[Entry] = set()  # what the last batch reported deleted: listed again, it was not
    while True:
        entries = s3.list_versions_page(aws, bucket, BATCH)["Entries"]
        if not entries:
            return
        ghosts = {(e["Key"], e["VersionId"]) for e in entries} & said_gone
        for entry in ghosts:
            tries[entry] = tries.get(entry, 0) + 1
        errors = s3.delete_versions(aws, bucket, entries)
        failed: dict[Entry, str] = {}
        versions = {e["Key"]: e["VersionId"] for e in entries}
        for error in errors:
            key = error["Key"]
            failed[(key, error["VersionId"] or versions.get(key))] = error["Code"] or "InternalError"
        for entry in failed:
            tries[entry] = tries.get(entry, 0) + 1
        done = [e for e in entries if (e["Key"], e["VersionId"]) not in failed]
        markers = sum(1 for e in done if e["DeleteMarker"])
        progress.add(
            Batches=1, VersionsDeleted=len(done) - markers, DeleteMarkersDeleted=markers, DeleteErrors=len(errors)
        )
        said_gone = {(e["Key"], e["VersionId"]) for e in done}
        exhausted = {entry: failed.get(entry, "NotDeleted") for entry, n in tries.items() if n >= MAX_TRIES}
        if exhausted:
            _give_up(bucket, exhausted)
        progress.checkpoint()
        if failed or ghosts:
            worst = max(tries[e] for e in (*failed, *ghosts))
            time.sleep(min(2.0, RETRY_PAUSE * 2 ** (worst - 1)))


def _abort_uploads(aws: AccountAws, bucket: str, progress: Progress) -> None:
    """Step 3: list incomplete uploads from the start, abort each (one gone meanwhile counts as done). An
    upload still listed after :data:`MAX_TRIES` aborts ends the work with an error naming it."""
    tries: dict[Entry, int] = {}
    while True:
        uploads = s3.list_uploads_page(aws, bucket, prefix="", max_uploads=BATCH)["Uploads"]
        if not uploads:
            return
        for upload in uploads:
            entry = (upload["Key"], upload["UploadId"])
            tries[entry] = tries.get(entry, 0) + 1
            if tries[entry] > MAX_TRIES:
                _give_up(bucket, {entry: "AbortIgnored"}, what="uploads")
            s3.abort_upload(aws, bucket, upload["Key"], upload["UploadId"], missing_ok=True)
        progress.add(UploadsAborted=sum(1 for u in uploads if tries[(u["Key"], u["UploadId"])] == 1))
        progress.checkpoint()
