"""Share-link signers in IAM: one IAM user per (bucket, share) allowed only GetObject/PutObject on the bucket's
objects (:func:`s3api.provisioning.policies.signer_policy`, an inline policy), and its access keys.

A presigned URL is signed by a key; deleting that key kills every URL it signed (AWS refuses a deleted key's
signature within seconds: IAM is eventually consistent). That is the whole revocation mechanism, so a
signer's blast radius is the set of links its current key signed.

Names: the user is ``s3api-sgn-<24 hex>`` (a digest of bucket and share: the same pair always names the same
user, so a second maker meets EntityAlreadyExists instead of a twin) at the IAM path
``/s3api-signers/<bucket>/``, so a bucket's signers are found with one ListUsers call by path. The database
row (:mod:`s3api.db.links`) holds the current key's sealed secret; IAM holds the users and keys.

Removal follows AWS's order: access keys, inline policies, then DeleteUser (AWS answers DeleteConflict
otherwise; moto does not check).
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from s3api.aws import iam
from s3api.aws.clients import AccountAws
from s3api.errors import Conflict, NotFound
from s3api.names import SIGNER_PATH
from s3api.provisioning.policies import SIGNER_POLICY, signer_policy


def user_name(bucket: str, share: str | None) -> str:
    digest = hashlib.sha256(f"{bucket}\0{share or ''}".encode()).hexdigest()
    return "s3api-sgn-" + digest[:24]


def path(bucket: str) -> str:
    return f"{SIGNER_PATH}{bucket}/"


def ensure_user(aws: AccountAws, bucket: str, share: str | None, user: str) -> None:
    """The signer user exists with its policy (CreateUser unless it exists, then PutUserPolicy, which
    replaces: the same document again). Retry-safe."""
    tags = [{"Key": "s3api:bucket", "Value": bucket}]
    if share:
        tags.append({"Key": "s3api:share", "Value": share})
    with contextlib.suppress(Conflict):  # made by an earlier attempt or a concurrent request: same policy below
        iam.create_user(aws, user, path(bucket), tags)
    iam.put_user_policy(aws, user, SIGNER_POLICY, signer_policy(bucket))


def new_key(aws: AccountAws, user: str) -> dict[str, Any]:
    """CreateAccessKey: ``AccessKeyId``, ``SecretAccessKey``, ``CreateDate``. IAM allows two keys per user."""
    return iam.create_access_key(aws, user)


def keys(aws: AccountAws, user: str) -> list[str]:
    """The user's access key ids; [] when the user is gone."""
    return [k["AccessKeyId"] for k in key_details(aws, user)]


def key_details(aws: AccountAws, user: str) -> list[dict[str, Any]]:
    """The user's AccessKeyMetadata (``AccessKeyId``, ``CreateDate`` ...); [] when the user is gone."""
    try:
        return iam.list_access_keys(aws, user)
    except NotFound:
        return []


def delete_key(aws: AccountAws, user: str, key_id: str) -> bool:
    """DeleteAccessKey: every link the key signed stops working. False when it was already gone."""
    return iam.delete_access_key(aws, user, key_id, missing_ok=True)


def delete_keys(aws: AccountAws, user: str) -> list[str]:
    """Every key of the user deleted; their ids."""
    found = keys(aws, user)
    for key_id in found:
        delete_key(aws, user, key_id)
    return found


def remove(aws: AccountAws, user: str) -> None:
    """The signer user gone (keys, inline policies, user), each piece skipped if already gone."""
    delete_keys(aws, user)
    try:
        names = iam.user_inline_policies(aws, user)
    except NotFound:
        return
    for name in names:
        iam.delete_user_policy(aws, user, name, missing_ok=True)
    iam.delete_user(aws, user, missing_ok=True)


def users_of_bucket(aws: AccountAws, bucket: str) -> list[str]:
    """The bucket's signer users, found by their IAM path (one ListUsers per 1,000 users)."""
    return iam.list_user_names(aws, path(bucket))


def remove_for_bucket(aws: AccountAws, bucket: str) -> list[str]:
    """Every signer user of a deleted bucket removed; their names."""
    found = users_of_bucket(aws, bucket)
    for user in found:
        remove(aws, user)
    return found
