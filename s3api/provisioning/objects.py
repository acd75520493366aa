"""Objects, multipart uploads, usage and account stats: the multi-call logic behind ``views/objects.py``.

Everything here is bounded per request: a listing reads at most :data:`SEARCH_BUDGET` keys, usage at most
:data:`USAGE_BUDGET`, the multipart views at most one page of uploads (plus ListParts for that page only).
Where a bound cuts the work short the answer says so (a continuation token, ``Complete: false``).

Continuation tokens are ours: URL-safe base64 of ``{"v": 1, "q": <fingerprint of the query>, ...}``. A token
only resumes the query it came from (same prefix, delimiter and search); anything else is a 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from s3api import concurrency
from s3api.aws import cloudfront, cloudwatch, iam, s3
from s3api.aws.clients import AccountAws
from s3api.errors import ApiError, BadRequest, NotFound
from s3api.provisioning import boundary
from s3api.provisioning.progress import Progress

SEARCH_BUDGET = 10_000  # keys (and folders) read by one search request
SEARCH_FIRST_PAGE = 100  # a search's first page: 2 x max_keys, at least this; doubling up to 1,000 after
SEARCH_MAX_CALLS = 20  # 100+200+400+800 then 1,000s: the budget needs 14 calls when every page is full
USAGE_BUDGET = 100_000  # keys read by one usage request
ABORT_LIST_BUDGET = 10_000  # uploads examined by one abort-older request
ABORT_LIMIT = 1_000  # uploads aborted by one abort-older request
TOKEN_VERSION = 1
MAX_TOKEN = 12_288  # a 1,024-byte key of control characters is ~8.4 KB once JSON-escaped and base64-encoded


def managed_bucket(aws: AccountAws, bucket: str) -> str:
    """``bucket`` once it names a bucket this service manages (404 missing, 403 not ours:
    :func:`s3api.provisioning.boundary.require_managed`, cached). Every route of this module goes through it
    after its own input checks and before its first S3 call. Bucket names and object keys arrive checked by
    the path converters (:mod:`s3api.api`)."""
    boundary.require_managed(aws, bucket)
    return bucket


# --- one object -------------------------------------------------------------------------------------------


def object_details(aws: AccountAws, bucket: str, key: str) -> dict[str, Any]:
    """HeadObject + GetObjectTagging of one key in a managed bucket (404 names the missing bucket or key)."""
    return s3.object_details(aws, managed_bucket(aws, bucket), key)


def delete_object(aws: AccountAws, bucket: str, key: str) -> dict[str, str]:
    """Delete one key of a managed bucket (404 when it does not exist)."""
    s3.delete_object(aws, managed_bucket(aws, bucket), key)
    return {"Deleted": key}


# --- tokens -----------------------------------------------------------------------------------------------


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def encode_token(fingerprint: str, **fields: Any) -> str:
    raw = json.dumps({"v": TOKEN_VERSION, "q": fingerprint, **fields}, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_token(token: str, fingerprint: str, field: str = "continuation_token") -> dict[str, Any]:
    """The token's fields; 400 when it is malformed or was issued for another query."""

    def bad(why: str) -> BadRequest:
        return BadRequest(f"invalid continuation token: {why}", errors={field: [why]})

    if len(token) > MAX_TOKEN:
        raise bad("too long")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):
        raise bad("not a token issued by this API") from None
    if not isinstance(data, dict) or data.get("v") != TOKEN_VERSION:
        raise bad("not a token issued by this API")
    if data.get("q") != fingerprint:
        raise bad("issued for another prefix, delimiter or search; start again without a token")
    return data


def _token_string(data: dict[str, Any], name: str, field: str = "continuation_token") -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value or len(value.encode("utf-8", "surrogatepass")) > 1024:
        raise BadRequest("invalid continuation token: damaged", errors={field: ["damaged"]})
    return value


# --- listing and search -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    name: str
    folder: bool
    obj: dict[str, Any] | None


def _entries(page: dict[str, Any]) -> list[_Entry]:
    """Keys and common prefixes of one page, merged in S3's order (UTF-8 bytes = code points)."""
    items = [_Entry(o["Key"], False, o) for o in page["Contents"]]
    items += [_Entry(p, True, None) for p in page["CommonPrefixes"]]
    items.sort(key=lambda e: (e.name, e.folder))
    return items


def list_objects(
    aws: AccountAws,
    bucket: str,
    *,
    prefix: str = "",
    delimiter: str | None = None,
    max_keys: int = 100,
    token: str | None = None,
    search: str | None = None,
) -> dict[str, Any]:
    """One page of keys and folders, optionally filtered by a case-insensitive substring.

    Resume rule: the token holds the last entry examined (key or folder); the next request lists with
    ``StartAfter`` = that entry and drops a folder equal to it (S3 may roll later keys of that folder up into
    the same common prefix again). Entries are examined in order and each exactly once, so walking all pages
    yields every key and folder exactly once, with or without search and delimiter.

    Without search: one ListObjectsV2 call of ``max_keys`` (+1 after a folder). With search: pages of
    ``2 x max_keys`` (at least 100), doubling up to 1,000 (so that a dense match does not read and throw away
    a full page), until ``max_keys`` matches or :data:`SEARCH_BUDGET` entries read; a page may then hold fewer
    matches than ``max_keys`` (even none) and still be truncated. Search matches the part of a key below
    ``prefix``; for a folder, its name without the trailing delimiter. With a delimiter only this level is
    searched (S3 rolls deeper keys up into folders).
    """
    needle = search.casefold() if search else None
    fingerprint = _fingerprint("objects", prefix, delimiter or "", needle or "")
    after: str | None = None
    after_folder = False
    if token:
        data = decode_token(token, fingerprint)
        after = _token_string(data, "a")
        after_folder = data.get("f") is True
    managed_bucket(aws, bucket)
    budget = SEARCH_BUDGET if needle else max_keys + (1 if after_folder else 0)
    objects: list[dict[str, Any]] = []
    folders: list[str] = []
    last: _Entry | None = None
    s3_token: str | None = None
    read = matched = 0
    truncated = False
    size = min(1000, max(SEARCH_FIRST_PAGE, 2 * max_keys)) if needle else budget
    for call in range(SEARCH_MAX_CALLS if needle else 1):
        page = s3.list_objects_page(
            aws,
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            max_keys=max(1, min(1000, budget - read, size)),
            start_after=after,
            continuation_token=s3_token,
        )
        entries = _entries(page)
        read += len(entries)
        if call == 0 and after_folder:
            entries = [e for e in entries if not (e.folder and e.name == after)]
        stopped = False
        for i, entry in enumerate(entries):
            last = entry
            if needle is None or needle in _searchable(entry, prefix, delimiter):
                if entry.folder:
                    folders.append(entry.name)
                else:
                    objects.append(dict(entry.obj or {}))
                matched += 1
                if matched >= max_keys:
                    stopped = i < len(entries) - 1
                    break
        if stopped:
            truncated = True
            break
        truncated = page["IsTruncated"] and bool(page["NextContinuationToken"])
        if not truncated or matched >= max_keys or read >= budget or needle is None:
            break
        s3_token = page["NextContinuationToken"]
        size *= 2
    else:
        truncated = True  # call cap reached (only with pages shorter than asked for)
    next_token = None
    if truncated:
        marker, folder = (last.name, last.folder) if last else (after, after_folder)
        next_token = encode_token(fingerprint, a=marker, f=folder) if marker else None
    return {
        "Objects": objects,
        "Folders": folders,
        "NextContinuationToken": next_token,
        "IsTruncated": next_token is not None,
    }


def _searchable(entry: _Entry, prefix: str, delimiter: str | None) -> str:
    name = entry.name[len(prefix) :] if entry.name.startswith(prefix) else entry.name
    if entry.folder and delimiter and name.endswith(delimiter):
        name = name[: -len(delimiter)]
    return name.casefold()


# --- batch delete -----------------------------------------------------------------------------------------


def delete_keys(aws: AccountAws, bucket: str, keys: list[str]) -> dict[str, list[Any]]:
    """Delete up to 10,000 keys, 1,000 per DeleteObjects call; duplicates are sent once.

    ``{"Deleted": [...], "Errors": [{"Key", "Code", "Message"}]}``. S3 lists a key that did not exist as
    deleted (DeleteObjects is idempotent; we do not HEAD thousands of keys). If the first call fails (unknown
    bucket, access denied) the request fails; if a later call fails, that batch and the ones after it are
    reported in ``Errors`` with the failure's code, and nothing more is attempted.
    """
    managed_bucket(aws, bucket)
    unique = list(dict.fromkeys(keys))
    deleted: list[str] = []
    errors: list[dict[str, str]] = []
    for start in range(0, len(unique), s3.MAX_DELETE_BATCH):
        batch = unique[start : start + s3.MAX_DELETE_BATCH]
        try:
            result = s3.delete_objects(aws, bucket, batch)
        except ApiError as exc:
            if start == 0:
                raise
            errors.extend({"Key": k, "Code": exc.code, "Message": exc.message} for k in unique[start:])
            break
        deleted.extend(result["Deleted"])
        errors.extend(result["Errors"])
    return {"Deleted": deleted, "Errors": errors}


# --- multipart uploads ------------------------------------------------------------------------------------


def list_uploads(
    aws: AccountAws, bucket: str, *, prefix: str = "", max_uploads: int = 50, token: str | None = None
) -> dict[str, Any]:
    """One page of incomplete multipart uploads with their parts count and bytes so far.

    Calls: one ListMultipartUploads, then ListParts for each upload on the page (8 at a time, at most 10
    pages each), so the page size bounds the work. An upload that completes or is aborted meanwhile is
    left out of the page. The token packs S3's key and upload-id markers.
    """
    fingerprint = _fingerprint("uploads", prefix)
    key_marker = upload_id_marker = None
    if token:
        data = decode_token(token, fingerprint)
        key_marker = _token_string(data, "k")
        upload_id_marker = data.get("u") if isinstance(data.get("u"), str) else None
    managed_bucket(aws, bucket)
    page = s3.list_uploads_page(
        aws, bucket, prefix=prefix, max_uploads=max_uploads, key_marker=key_marker, upload_id_marker=upload_id_marker
    )
    uploads = page["Uploads"]
    sizes = concurrency.map_all(lambda u: s3.upload_parts(aws, bucket, u["Key"], u["UploadId"]), uploads)
    rows = [
        {"Key": u["Key"], "UploadId": u["UploadId"], "Initiated": u["Initiated"], "Parts": n[0], "Size": n[1]}
        for u, n in zip(uploads, sizes, strict=True)
        if n is not None
    ]
    next_token = None
    if page["IsTruncated"] and page["NextKeyMarker"]:
        next_token = encode_token(fingerprint, k=page["NextKeyMarker"], u=page["NextUploadIdMarker"])
    return {"Uploads": rows, "NextContinuationToken": next_token, "IsTruncated": next_token is not None}


def abort_upload(aws: AccountAws, bucket: str, key: str, upload_id: str) -> dict[str, str]:
    """Abort one upload: 404 for an unknown bucket, upload id, or an upload id that belongs to another key."""
    managed_bucket(aws, bucket)
    s3.abort_upload(aws, bucket, key, upload_id)
    return {"Key": key, "UploadId": upload_id}


def abort_older(aws: AccountAws, bucket: str, older_than_seconds: int) -> dict[str, Any]:
    """Abort every upload initiated more than ``older_than_seconds`` ago, within bounds.

    Examines at most :data:`ABORT_LIST_BUDGET` uploads (ListMultipartUploads pages of 1,000) and aborts at
    most :data:`ABORT_LIMIT` (concurrently). ``{"Aborted": n, "Complete": bool}``: Complete is false when a
    bound stopped the sweep early; call again to go on. Uploads that vanish meanwhile are not counted.
    """
    managed_bucket(aws, bucket)
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
    victims: list[tuple[str, str]] = []
    key_marker = upload_id_marker = None
    examined = 0
    complete = False
    while examined < ABORT_LIST_BUDGET and len(victims) < ABORT_LIMIT:
        page = s3.list_uploads_page(
            aws, bucket, prefix="", max_uploads=1000, key_marker=key_marker, upload_id_marker=upload_id_marker
        )
        examined += len(page["Uploads"])
        for upload in page["Uploads"]:
            initiated = upload["Initiated"]
            if initiated is not None and initiated < cutoff and len(victims) < ABORT_LIMIT:
                victims.append((upload["Key"], upload["UploadId"]))
        if not page["IsTruncated"] or not page["NextKeyMarker"]:
            complete = True
            break
        key_marker, upload_id_marker = page["NextKeyMarker"], page["NextUploadIdMarker"]
    done = concurrency.map_all(lambda v: s3.abort_upload(aws, bucket, v[0], v[1], missing_ok=True), victims)
    if len(victims) >= ABORT_LIMIT:
        complete = False
    return {"Aborted": sum(done), "Complete": complete}


# --- presigned links --------------------------------------------------------------------------------------


def presign(aws: AccountAws, bucket: str, key: str, method: str, expires_in: int) -> dict[str, Any]:
    """A presigned GET or PUT URL for the account's endpoint, for a managed bucket only (404 unknown, 403 not
    ours: :func:`managed_bucket`, which also proves existence; no AWS call while its answer is cached).

    The key need not exist (PUT creates it; a GET of a missing key fails when the URL is used).
    """
    managed_bucket(aws, bucket)
    return s3.presign(aws, bucket, key, method, expires_in)


# --- usage ------------------------------------------------------------------------------------------------


def usage(aws: AccountAws, bucket: str) -> dict[str, Any]:
    """Bytes and objects of the bucket, saying how and when they were measured.

    ``Source: "cloudwatch"`` when the account is set to ``usage_source: cloudwatch`` and talks to AWS itself
    (no ``endpoint_url``: emulators and S3-compatible stores have no real storage metrics, and moto's
    BucketSizeBytes is wrong) and CloudWatch has datapoints; AsOf is then the datapoint's day (up to ~2 days
    old) and Complete is true. Otherwise ``Source: "listing"``: ListObjectsV2 over at most
    :data:`USAGE_BUDGET` keys, AsOf when the listing started, Complete false if the budget ran out.
    Calls: listing 1 per 1,000 keys; CloudWatch HeadBucket (the bucket's region) + ListMetrics + 2..n
    GetMetricStatistics.
    """
    managed_bucket(aws, bucket)
    if aws.account.usage_source == "cloudwatch" and not aws.account.endpoint_url:
        region = s3.region_of(aws, s3.require_bucket(aws, bucket))
        metrics = cloudwatch.bucket_storage(aws, bucket, region)
        if metrics is not None:
            return {**metrics, "Source": "cloudwatch", "Complete": True}
    started = datetime.now(UTC).replace(microsecond=0)
    listed = s3.usage_by_listing(aws, bucket, USAGE_BUDGET)
    return {**listed, "AsOf": started, "Source": "listing"}


def recount(aws: AccountAws, bucket: str, progress: Progress) -> dict[str, Any]:
    """An exact count of the whole bucket, without :data:`USAGE_BUDGET`: ListObjectsV2 page by page (1,000
    keys), the counters ``Objects``, ``Bytes`` and ``Pages`` updated and a checkpoint after each page.

    A continuation token cannot be kept in the counters (integers only), so a count resumed after its worker
    stopped starts again from zero (the counters are reset first). Current objects only, as :func:`usage`.
    ``{Bucket, Objects, Bytes, ByStorageClass: {class: {Objects, Bytes}}, AsOf, Source: "listing",
    Complete: true}``; AsOf is when this listing started.
    """
    managed_bucket(aws, bucket)
    started = datetime.now(UTC).replace(microsecond=0)
    progress.set(Objects=0, Bytes=0, Pages=0)
    by_class: dict[str, list[int]] = {}
    token: str | None = None
    while True:
        page = s3.usage_page(aws, bucket, token)
        progress.add(Objects=page["Objects"], Bytes=page["Bytes"], Pages=1)
        for name, (count, size) in page["ByStorageClass"].items():
            found = by_class.setdefault(name, [0, 0])
            found[0] += count
            found[1] += size
        token = page["Next"]
        if token is None:
            break
        progress.checkpoint()
    counters = progress.counters
    return {
        "Bucket": bucket,
        "Objects": counters["Objects"],
        "Bytes": counters["Bytes"],
        "ByStorageClass": {name: {"Objects": n, "Bytes": b} for name, (n, b) in sorted(by_class.items())},
        "AsOf": started.isoformat().replace("+00:00", "Z"),
        "Source": "listing",
        "Complete": True,
    }


# --- account stats ----------------------------------------------------------------------------------------

ADMIN_GROUP_SUFFIX = "-BktAdmGrp"


def _with_admin_group(aws: AccountAws, buckets: set[str]) -> set[str]:
    """The buckets of ``buckets`` that have an unscoped ``<bucket>-BktAdmGrp`` IAM group (ListGroups)."""
    groups = (g["GroupName"] for g in iam.list_groups(aws))
    return buckets & {g.removesuffix(ADMIN_GROUP_SUFFIX) for g in groups if g.endswith(ADMIN_GROUP_SUFFIX)}


def managed_names(aws: AccountAws) -> list[str]:
    """The account's managed buckets, sorted, from two paginated list calls (ListBuckets, ListGroups): the
    same rule as ``ManagedBuckets`` of :func:`account_stats` (no call per bucket)."""
    return sorted(_with_admin_group(aws, set(s3.list_buckets(aws))))


def account_stats(aws: AccountAws) -> dict[str, int]:
    """Counts for the account from four paginated list calls (ListBuckets, ListGroups, ListUsers,
    ListDistributions in pages of 100), and one ListMultipartUploads per managed bucket.

    - ``Buckets``: ListBuckets.
    - ``ManagedBuckets``: buckets that have an unscoped ``<bucket>-BktAdmGrp`` IAM group (IAM ListGroups),
      i.e. the buckets this service (or the Yale service) manages. Checking the org tag would cost a
      GetBucketTagging per bucket. A path-scoped ``<b>-<x_y>-BktAdmGrp`` counts only if a bucket is named
      ``<b>-<x_y>`` (group names are ambiguous there; rare in practice).
    - ``Users``: every IAM user of the account (ListUsers). Users carry no org marker a list call shows.
    - ``Websites``: enabled CloudFront distributions with an alias equal to one of the account's bucket names
      (a website's bucket is named after its site). Disabled ones are being deleted and do not count.
    - ``ActiveMultipartUploads``: incomplete multipart uploads of the managed buckets (:func:`count_uploads`:
      the one count that costs a call per managed bucket).
    """
    buckets = set(s3.list_buckets(aws))
    managed = _with_admin_group(aws, buckets)
    websites = 0
    for dist in cloudfront.list_distributions(aws):
        aliases = {a.lower().rstrip(".") for a in dist.get("Aliases", {}).get("Items", [])}
        if dist.get("Enabled") and aliases & buckets:
            websites += 1
    return {
        "Buckets": len(buckets),
        "ManagedBuckets": len(managed),
        "Users": len(iam.list_user_names(aws)),
        "Websites": websites,
        "ActiveMultipartUploads": count_uploads(aws, sorted(managed)),
    }


#: incomplete multipart uploads counted per bucket at most (ListMultipartUploads pages of 1,000)
UPLOAD_COUNT_BUDGET = 10_000


def count_uploads(aws: AccountAws, buckets: list[str]) -> int:
    """Incomplete multipart uploads of ``buckets``: one ListMultipartUploads per bucket and 1,000 uploads (the
    buckets in parallel), at most :data:`UPLOAD_COUNT_BUDGET` per bucket. A bucket deleted meanwhile counts 0."""

    def one(bucket: str) -> int:
        count, key_marker, upload_id_marker = 0, None, None
        try:
            while count < UPLOAD_COUNT_BUDGET:
                page = s3.list_uploads_page(
                    aws, bucket, prefix="", max_uploads=1000, key_marker=key_marker, upload_id_marker=upload_id_marker
                )
                count += len(page["Uploads"])
                if not page["IsTruncated"] or not page["NextKeyMarker"]:
                    break
                key_marker, upload_id_marker = page["NextKeyMarker"], page["NextUploadIdMarker"]
        except NotFound:
            return 0
        return min(count, UPLOAD_COUNT_BUDGET)

    return sum(concurrency.map_all(one, buckets))
