"""The hard limit of a quota: a bucket-policy statement of our own that denies writes of objects.

S3 has no quota. Over its limit a subject's buckets get the statement :data:`SID` — ``Deny`` ``s3:PutObject`` to
every principal on ``arn:aws:s3:::<bucket>/*``. In IAM, ``s3:PutObject`` is the action of PutObject, CopyObject
(its destination), CreateMultipartUpload, UploadPart, UploadPartCopy and CompleteMultipartUpload: AWS knows no
``s3:UploadPart`` or ``s3:CopyObject`` action and refuses a policy that names one. Reads, lists and deletes keep
working, so a tenant over its quota can make room. An explicit Deny wins over every Allow, the service's own
identity included (while a bucket is over quota, the service cannot write default pages into it either).

The statement lives beside the caller's: :func:`keep` puts it back into any policy the bucket update route
writes, and a caller's statement with one of our ``S3api…`` Sids is refused there (:func:`refuse_reserved`).
Whether a bucket is denied is read back from AWS (GetBucketPolicy), never kept in the database.
"""

from __future__ import annotations

import json
from typing import Any

from s3api.aws import s3
from s3api.aws.clients import AccountAws
from s3api.errors import BadRequest

SID = "S3apiQuotaDenyWrites"
#: over a plan's monthly bandwidth with ``BandwidthAction: block``: a website's reads denied until the month ends
BANDWIDTH_SID = "S3apiBandwidthDenyReads"
RESERVED_PREFIX = "S3api"
#: our statements: Sid → the action it denies on the bucket's objects
STATEMENTS = {SID: "s3:PutObject", BANDWIDTH_SID: "s3:GetObject"}


def statement(bucket: str, sid: str = SID) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": STATEMENTS[sid],
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }


def _document(text: str | None) -> dict[str, Any]:
    if not text:
        return {"Version": "2012-10-17", "Statement": []}
    document: dict[str, Any] = json.loads(text)
    if isinstance(document.get("Statement"), dict):
        document["Statement"] = [document["Statement"]]
    document.setdefault("Statement", [])
    return document


def _ours(document: dict[str, Any], sids: tuple[str, ...] = (SID,)) -> list[dict[str, Any]]:
    return [st for st in document["Statement"] if isinstance(st, dict) and st.get("Sid") in sids]


def is_denied(aws: AccountAws, bucket: str, sid: str = SID) -> bool:
    """One GetBucketPolicy: does the bucket carry our statement ``sid``?"""
    return bool(_ours(_document(s3.get_bucket_policy(aws, bucket)), (sid,)))


def deny(aws: AccountAws, bucket: str, sid: str) -> bool:
    """Add the statement ``sid`` (GetBucketPolicy, and PutBucketPolicy when it is missing); True when it was
    added."""
    document = _document(s3.get_bucket_policy(aws, bucket))
    if _ours(document, (sid,)):
        return False
    document["Statement"].append(statement(bucket, sid))
    s3.put_bucket_policy(aws, bucket, json.dumps(document))
    return True


def allow(aws: AccountAws, bucket: str, sid: str) -> bool:
    """Take the statement ``sid`` away (GetBucketPolicy, then Put, or Delete when nothing else is left); True when
    it was there."""
    document = _document(s3.get_bucket_policy(aws, bucket))
    if not _ours(document, (sid,)):
        return False
    document["Statement"] = [st for st in document["Statement"] if not (isinstance(st, dict) and st.get("Sid") == sid)]
    if document["Statement"]:
        s3.put_bucket_policy(aws, bucket, json.dumps(document))
    else:
        s3.delete_bucket_policy(aws, bucket)
    return True


def deny_writes(aws: AccountAws, bucket: str) -> bool:
    return deny(aws, bucket, SID)


def allow_writes(aws: AccountAws, bucket: str) -> bool:
    return allow(aws, bucket, SID)


def refuse_reserved(document: dict[str, Any], field: str = "BucketPolicy") -> None:
    """400 for a caller's statement whose Sid starts with ``S3api`` (ours: a caller cannot add or fake one)."""
    statements = document.get("Statement", [])
    for st in [statements] if isinstance(statements, dict) else statements:
        if isinstance(st, dict) and str(st.get("Sid", "")).startswith(RESERVED_PREFIX):
            raise BadRequest(f"{field}: statement ids starting with '{RESERVED_PREFIX}' are reserved for the service")


def keep(aws: AccountAws, bucket: str, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (a caller's new policy) with our statement kept when the bucket has it now (one
    GetBucketPolicy)."""
    current = _ours(_document(s3.get_bucket_policy(aws, bucket)), tuple(STATEMENTS))
    if not current:
        return document
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else list(statements)
    return {**document, "Statement": [*statements, *current]}
