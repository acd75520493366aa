"""IAM and S3 policy documents, IAM naming, and lifecycle rules — pure functions, no AWS calls.

Every document is a fresh ``dict`` (``Version`` 2012-10-17) that the caller may mutate and
``json.dumps``. Names follow the Go service (``<bucket>-BktAdmGrp``, ``<site>-<x_y>-BktRWPlc``) so
groups and policies created by either service are recognised by the other.

Deliberate differences from the Go service: statements carry ``Sid``s;
``s3:ListAllMyBuckets`` (meaningless on a bucket ARN) and the duplicate
``s3:GetReplicationConfiguration`` are gone; ``s3:ListMultipartUploadParts`` moved from the bucket to
the object statement, whose resource type it actually is; path-scoped documents grant listing only
under the prefix and never grant bucket-admin actions.

The default action lists, the group kinds and the named lifecycle rules are defined in :mod:`s3api.names`
(configuration and schemas need them too) and importable from here as before.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

from s3api.errors import BadRequest
from s3api.names import (
    DEFAULT_BUCKET_ACTIONS,
    DEFAULT_OBJECT_ACTIONS,
    DEFAULT_PROTECTED_ACTIONS,
    DEFAULT_WEBSITE_ACTIONS,
    GROUP_KINDS,
    LIFECYCLES,
    WEB_ADMIN_KIND,
)

Policy = dict[str, Any]

VERSION = "2012-10-17"

BUCKET_ADMIN_ACTIONS: tuple[str, ...] = (
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketWebsite",
    "s3:DeleteBucketWebsite",
    "s3:PutAccelerateConfiguration",
    "s3:PutBucketAcl",
    "s3:PutBucketCORS",
    "s3:PutBucketNotification",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutBucketRequestPayment",
    "s3:PutBucketVersioning",
    "s3:PutInventoryConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutReplicationConfiguration",
)

BUCKET_READ_ACTIONS: tuple[str, ...] = (
    "s3:GetAccelerateConfiguration",
    "s3:GetBucketAcl",
    "s3:GetBucketCORS",
    "s3:GetBucketLocation",
    "s3:GetBucketLogging",
    "s3:GetBucketNotification",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketPolicy",
    "s3:GetBucketPolicyStatus",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketRequestPayment",
    "s3:GetBucketTagging",
    "s3:GetBucketVersioning",
    "s3:GetBucketWebsite",
    "s3:GetEncryptionConfiguration",
    "s3:GetInventoryConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetReplicationConfiguration",
    "s3:GetMetricsConfiguration",
    "s3:ListAccessPoints",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:ListBucketVersions",
)

OBJECT_READ_ACTIONS: tuple[str, ...] = (
    "s3:GetObject",
    "s3:GetObjectAcl",
    "s3:GetObjectLegalHold",
    "s3:GetObjectRetention",
    "s3:GetObjectTagging",
    "s3:GetObjectVersion",
    "s3:GetObjectVersionAcl",
    "s3:GetObjectVersionForReplication",
    "s3:GetObjectVersionTagging",
    "s3:ListMultipartUploadParts",
)

OBJECT_WRITE_ACTIONS: tuple[str, ...] = (
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:PutObjectVersionAcl",
    "s3:PutObjectRetention",
    "s3:ReplicateDelete",
    "s3:ReplicateObject",
    "s3:RestoreObject",
    "s3:PutObjectLegalHold",
)

#: Bucket-level actions a path-scoped user gets, restricted by an ``s3:prefix`` condition.
PREFIX_LIST_ACTIONS: tuple[str, ...] = (
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:ListBucketMultipartUploads",
)

_ALL_KINDS = (*GROUP_KINDS, WEB_ADMIN_KIND)
_LEVEL = {"BktAdmGrp": "Admin", "BktRWGrp": "Read-Write", "BktROGrp": "Read-Only", WEB_ADMIN_KIND: "Admin"}

MAX_PATH_SEGMENTS = 10
MAX_PATH_LENGTH = 512  # IAM Path limit; website policies are created with Path = the scoping path
MAX_IAM_NAME = 128  # IAM group and policy name limit
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")


# --- naming -------------------------------------------------------------------------------------


def normalize_path(path: str) -> str:
    """Return ``path`` as ``/x/y/`` (or ``/``); raise BadRequest for anything that cannot be an S3 prefix
    and an IAM path at once.

    Leading/trailing slashes are optional on input (``x/y`` → ``/x/y/``). Rejected: ``""``, empty
    segments (``/a//b``), ``.`` and ``..`` segments, characters outside ``[A-Za-z0-9._-]``, more than
    ten segments, and results longer than the IAM Path limit.
    """
    if path == "/":
        return "/"
    if not isinstance(path, str) or not path:
        raise _path_error("path must be a non-empty string such as '/' or '/docs/'")
    inner = path.removeprefix("/").removesuffix("/")
    segments = inner.split("/")
    if len(segments) > MAX_PATH_SEGMENTS:
        raise _path_error(f"path may have at most {MAX_PATH_SEGMENTS} segments")
    for seg in segments:
        if not seg:
            raise _path_error(f"path {path!r} has an empty segment")
        if seg in (".", ".."):
            raise _path_error(f"path {path!r} may not contain '.' or '..' segments")
        if not _SEGMENT.fullmatch(seg):
            raise _path_error(f"path segment {seg!r} may only contain letters, digits, '.', '_' and '-'")
    result = f"/{inner}/"
    if len(result) > MAX_PATH_LENGTH:
        raise _path_error(f"path may be at most {MAX_PATH_LENGTH} characters long")
    return result


def _path_error(message: str) -> BadRequest:
    return BadRequest(message, errors={"path": [message]})


#: The IAM path under which a website's path-scoped groups live: ``/s3api-sites/<site>/x/y/`` for path ``/x/y/``
#: of ``<site>``, so that ListGroups with this prefix answers exactly one site's path groups, whatever else the
#: account holds (IAM paths cannot be changed by a tenant: its keys have no IAM rights).
SITE_GROUPS_PATH = "/s3api-sites/"


def site_group_path(site: str, path: str = "/") -> str:
    """The IAM path of ``site``'s group scoped to ``path`` (``/`` → the prefix of all the site's path groups).
    Never longer than IAM's 512 characters: the group name (``<site>-<x_y>-<kind>``, at most 128) is refused
    first."""
    return f"{SITE_GROUPS_PATH}{site}{normalize_path(path)}"


def scoping_path_of_group_path(site: str, group_path: str) -> str | None:
    """The scoping path of a group at :func:`site_group_path` of ``site``, or None for any other IAM path."""
    prefix = f"{SITE_GROUPS_PATH}{site}/"
    return "/" + group_path.removeprefix(prefix) if group_path.startswith(prefix) else None


def path_prefix(path: str) -> str:
    """The S3 key prefix for a scoping path without capping slashes: ``/x/y/`` → ``x/y``; ``/`` → ``""``."""
    return normalize_path(path).strip("/")


def _check_kind(kind: str) -> None:
    if kind not in _ALL_KINDS:
        raise ValueError(f"unknown group kind {kind!r}; expected one of {', '.join(_ALL_KINDS)}")


def _scoped_name(bucket: str, suffix: str, path: str) -> str:
    prefix = path_prefix(path)
    name = f"{bucket}-{suffix}" if not prefix else f"{bucket}-{prefix.replace('/', '_')}-{suffix}"
    if len(name) > MAX_IAM_NAME:
        raise _path_error(f"IAM name {name!r} would exceed {MAX_IAM_NAME} characters; use a shorter path")
    return name


def group_name(bucket: str, kind: str, path: str = "/") -> str:
    """IAM group name: ``<bucket>-<kind>``, or ``<bucket>-<x_y>-<kind>`` for path ``/x/y/``.

    Like the Go service's FormatGroupName, ``/a/b/`` and ``/a_b/`` map to the same name.
    """
    _check_kind(kind)
    return _scoped_name(bucket, kind, path)


def policy_name(bucket: str, kind: str, path: str = "/") -> str:
    """IAM policy name matching :func:`group_name` with ``Grp`` → ``Plc`` (``BktAdmGrp`` → ``BktAdmPlc``)."""
    _check_kind(kind)
    return _scoped_name(bucket, kind.removesuffix("Grp") + "Plc", path)


def policy_description(bucket: str, kind: str, website: bool = False, path: str = "/") -> str:
    """The Go service's policy descriptions: ``Admin|Read-Write|Read-Only policy for <b> bucket``;
    ``Admin policy for <site> web distribution`` for ``WebAdmGrp`` (or ``BktAdmGrp`` with ``website``).
    A scoping path other than ``/`` is mentioned: ``Read-Only policy for /x/ in <b> bucket``.
    """
    _check_kind(kind)
    if kind == WEB_ADMIN_KIND or (website and kind == "BktAdmGrp"):
        return f"Admin policy for {bucket} web distribution"
    if website:
        raise ValueError(f"website descriptions exist only for admin kinds, not {kind!r}")
    norm = normalize_path(path)
    where = f"{bucket} bucket" if norm == "/" else f"{norm} in {bucket} bucket"
    return f"{_LEVEL[kind]} policy for {where}"


# --- IAM identity policies ----------------------------------------------------------------------


def _doc(*statements: dict[str, Any]) -> Policy:
    return {"Version": VERSION, "Statement": list(statements)}


def _allow(sid: str, actions: Sequence[str], resource: str, **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": [resource], **extra}


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def _is_cloudfront(action: str) -> bool:
    return action.lower().startswith("cloudfront:")


def _deny(actions: Sequence[str], resource: str) -> list[dict[str, Any]]:
    """The ``ProtectedActions`` Deny statement (none for an empty list: IAM refuses an empty Action)."""
    if not actions:
        return []
    return [{"Sid": "ProtectedActions", "Effect": "Deny", "Action": list(actions), "Resource": [resource]}]


def _bucket_deny(bucket: str, protected: Sequence[str] | None) -> list[dict[str, Any]]:
    chosen = DEFAULT_PROTECTED_ACTIONS if protected is None else protected
    return _deny([a for a in chosen if not _is_cloudfront(a)], bucket_arn(bucket))


def default_bucket_admin(
    bucket: str,
    bucket_actions: Sequence[str] | None = None,
    object_actions: Sequence[str] | None = None,
    protected: Sequence[str] | None = None,
) -> Policy:
    """The config-driven admin document attached at bucket/website creation: ``bucket_actions`` on the
    bucket, ``object_actions`` on ``<b>/*``; an empty or missing list falls back to ``s3:*``. Ends with the
    ``ProtectedActions`` Deny on the bucket: the non-CloudFront actions of ``protected`` (None: the
    default :data:`DEFAULT_PROTECTED_ACTIONS`; empty: no Deny)."""
    arn = bucket_arn(bucket)
    return _doc(
        _allow("BucketActions", bucket_actions or DEFAULT_BUCKET_ACTIONS, arn),
        _allow("ObjectActions", object_actions or DEFAULT_OBJECT_ACTIONS, f"{arn}/*"),
        *_bucket_deny(bucket, protected),
    )


def bucket_policy_for(kind: str, bucket: str, path: str = "/", protected: Sequence[str] | None = None) -> Policy:
    """Identity policy for one of :data:`GROUP_KINDS` on ``bucket``, optionally scoped to ``path``.

    Whole bucket: admin = BucketAdmin + BucketRead on the bucket, ObjectRead + ObjectWrite on objects;
    RW = BucketRead + ObjectRead + ObjectWrite; RO = BucketRead + ObjectRead.

    Scoped (path ≠ ``/``): objects under ``<b>/<p>/*`` only; the bucket statement shrinks to the list
    actions with ``s3:prefix`` ∈ {``p/*``, ``p/``}, plus an unconditioned ``s3:GetBucketLocation``
    (clients call it before anything else). Admin and RW are identical there: bucket-wide
    configuration is never delegated to a path admin.

    Every document ends with the ``ProtectedActions`` Deny on the bucket, as :func:`default_bucket_admin`.
    """
    if kind not in GROUP_KINDS:
        raise ValueError(f"unknown bucket group kind {kind!r}; expected one of {', '.join(GROUP_KINDS)}")
    arn = bucket_arn(bucket)
    prefix = path_prefix(path)
    writes = kind != "BktROGrp"
    statements: list[dict[str, Any]] = []
    if prefix:
        objects = f"{arn}/{prefix}/*"
        condition = {"StringLike": {"s3:prefix": [f"{prefix}/*", f"{prefix}/"]}}
        statements.append(_allow("ListPrefix", PREFIX_LIST_ACTIONS, arn, Condition=condition))
        statements.append(_allow("BucketLocation", ["s3:GetBucketLocation"], arn))
    else:
        objects = f"{arn}/*"
        if kind == "BktAdmGrp":
            statements.append(_allow("BucketAdmin", BUCKET_ADMIN_ACTIONS, arn))
        statements.append(_allow("BucketRead", BUCKET_READ_ACTIONS, arn))
    statements.append(_allow("ObjectRead", OBJECT_READ_ACTIONS, objects))
    if writes:
        statements.append(_allow("ObjectWrite", OBJECT_WRITE_ACTIONS, objects))
    statements += _bucket_deny(bucket, protected)
    return _doc(*statements)


def web_admin(
    distribution_arn: str, actions: Sequence[str] | None = None, protected: Sequence[str] | None = None
) -> Policy:
    """Identity policy for ``<site>-WebAdmGrp``: ``actions`` (default: the three invalidation actions)
    on one CloudFront distribution, then the ``ProtectedActions`` Deny of the ``cloudfront:`` actions of
    ``protected`` on it (None: the default list), so that a configured ``cloudfront:*`` cannot change the
    distribution's aliases, origin or tags."""
    if not distribution_arn.startswith("arn:"):
        raise ValueError(f"not an ARN: {distribution_arn!r}")
    chosen = DEFAULT_PROTECTED_ACTIONS if protected is None else protected
    return _doc(
        _allow("Distribution", actions or DEFAULT_WEBSITE_ACTIONS, distribution_arn),
        *_deny([a for a in chosen if _is_cloudfront(a)], distribution_arn),
    )


# --- S3 bucket policies -------------------------------------------------------------------------


def website_public_read(bucket: str) -> Policy:
    """Bucket policy making every object publicly readable (the Go service's website model: CloudFront
    in front of the public S3 website endpoint). Needs Block Public Access policy settings off."""
    return _doc(
        {
            "Sid": "PublicRead",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject"],
            "Resource": [f"{bucket_arn(bucket)}/*"],
        }
    )


def website_oac_read(bucket: str, distribution_arn: str) -> Policy:
    """Bucket policy letting exactly one CloudFront distribution (via Origin Access Control) read
    objects; the bucket can keep Block Public Access fully on."""
    return _doc(
        {
            "Sid": "CloudFrontRead",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": ["s3:GetObject"],
            "Resource": [f"{bucket_arn(bucket)}/*"],
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
        }
    )


def log_delivery_policy(log_bucket: str, account_id: str) -> Policy:
    """Bucket policy on the access-log target bucket allowing S3 server access log delivery for
    source buckets of ``account_id``.

    Shape is load-bearing for moto's PutBucketLogging permission check: Action a string
    ``s3:PutObject``, Resource a single string ``arn:aws:s3:::<log_bucket>/*`` (a list is rejected),
    and no ``Principal: "*"`` statement anywhere in the policy (moto crashes on it).
    """
    if not re.fullmatch(r"\d{12}", account_id):
        raise ValueError(f"account id must be 12 digits, got {account_id!r}")
    return _doc(
        {
            "Sid": "S3ServerAccessLogsPolicy",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn(log_bucket)}/*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        }
    )


# --- lifecycle ----------------------------------------------------------------------------------


def lifecycle_rule(name: str) -> dict[str, Any]:
    """``LifecycleConfiguration`` (``{"Rules": [rule]}``) for a named rule of :data:`LIFECYCLES`;
    BadRequest naming the allowed names otherwise (the Go service sent an empty rule on to AWS)."""
    rule = LIFECYCLES.get(name) if isinstance(name, str) else None
    if rule is None:
        message = f"unknown lifecycle {name!r}; allowed: {', '.join(sorted(LIFECYCLES))}"
        raise BadRequest(message, errors={"lifecycle": [message]})
    return {"Rules": [copy.deepcopy(rule)]}


# --- share-link signers ---------------------------------------------------------------------------------------

SIGNER_POLICY = "s3api-signer"


def signer_policy(bucket: str) -> Policy:
    """What a share-link signer may do: GetObject and PutObject on the bucket's objects, nothing else (no
    listing, no delete, no other bucket). A presigned URL acts with exactly these permissions."""
    return _doc(_allow("SignedLinks", ["s3:GetObject", "s3:PutObject"], f"{bucket_arn(bucket)}/*"))
