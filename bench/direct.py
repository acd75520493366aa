"""The baseline: the same AWS calls a route makes, made directly with cached boto3 clients.

A route's calls are read from the service's own metrics (``s3api_aws_calls_total`` before and after one
request). :func:`Direct.replay` makes that multiset of calls again, in a plausible order, with parameters
built from a small table (bucket, its three group and policy names, its users). Calls that fail (a group that
does not exist, a bucket not there yet) count as made, as they do in the route. An operation missing from the
table is reported in ``Replay.missing`` so the comparison can say it is incomplete.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError

ACCOUNT_ID = "123456789012"
GROUP_KINDS = ("BktAdmGrp", "BktRWGrp", "BktROGrp")
POLICY_KINDS = ("BktAdmPlc", "BktRWPlc", "BktROPlc")


@dataclass
class Target:
    """What the replayed calls are about; ``turn`` cycles repeated calls over groups, policies, users."""

    bucket: str
    users: list[str] = field(default_factory=list)
    key_ids: list[str] = field(default_factory=list)
    log_bucket: str = f"s3api-access-logs-{ACCOUNT_ID}"
    org_tag: tuple[str, str] = ("s3api:org", "local")
    turn: Counter[str] = field(default_factory=Counter)

    def groups(self) -> list[str]:
        return [f"{self.bucket}-{k}" for k in GROUP_KINDS]

    def policy_arns(self) -> list[str]:
        return [f"arn:aws:iam::{ACCOUNT_ID}:policy/{self.bucket}-{k}" for k in POLICY_KINDS]

    def next(self, op: str, choices: list[str]) -> str:
        value = choices[self.turn[op] % len(choices)]
        self.turn[op] += 1
        return value

    def user(self, op: str) -> str:
        return self.next(op, self.users or [f"{self.bucket}-nobody"])


def _policy_doc(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:*"], "Resource": [f"arn:aws:s3:::{bucket}"]},
                {"Effect": "Allow", "Action": ["s3:*"], "Resource": [f"arn:aws:s3:::{bucket}/*"]},
            ],
        }
    )


Params = Callable[[Target, str], dict[str, Any]]


def _b(t: Target, op: str) -> dict[str, Any]:
    return {"Bucket": t.bucket}


PARAMS: dict[str, Params] = {
    # S3 reads
    "s3:HeadBucket": _b,
    "s3:GetBucketTagging": _b,
    "s3:GetBucketLogging": _b,
    "s3:GetBucketEncryption": _b,
    "s3:GetBucketVersioning": _b,
    "s3:GetPublicAccessBlock": _b,
    "s3:GetBucketLifecycleConfiguration": _b,
    "s3:GetBucketWebsite": _b,
    "s3:GetBucketLocation": _b,
    "s3:GetBucketPolicy": _b,
    "s3:GetBucketOwnershipControls": _b,
    "s3:ListObjectVersions": lambda t, op: {"Bucket": t.bucket, "MaxKeys": 1},
    "s3:ListObjectsV2": lambda t, op: {"Bucket": t.bucket, "MaxKeys": 1},
    "s3:ListMultipartUploads": lambda t, op: {"Bucket": t.bucket, "MaxUploads": 1},
    "s3:ListBuckets": lambda t, op: {},
    # S3 writes
    "s3:CreateBucket": _b,
    "s3:PutBucketTagging": lambda t, op: {
        "Bucket": t.bucket,
        "Tagging": {"TagSet": [{"Key": t.org_tag[0], "Value": t.org_tag[1]}]},
    },
    "s3:PutBucketEncryption": lambda t, op: {
        "Bucket": t.bucket,
        "ServerSideEncryptionConfiguration": {
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    },
    "s3:PutPublicAccessBlock": lambda t, op: {
        "Bucket": t.bucket,
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    },
    "s3:PutBucketOwnershipControls": lambda t, op: {
        "Bucket": t.bucket,
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    },
    "s3:PutBucketLogging": lambda t, op: {
        "Bucket": t.bucket,
        "BucketLoggingStatus": {"LoggingEnabled": {"TargetBucket": t.log_bucket, "TargetPrefix": f"s3/{t.bucket}/"}},
    },
    "s3:DeleteBucket": _b,
    # IAM reads
    "iam:GetGroup": lambda t, op: {"GroupName": t.next(op, t.groups())},
    "iam:ListAttachedGroupPolicies": lambda t, op: {"GroupName": t.next(op, t.groups())},
    "iam:ListGroupPolicies": lambda t, op: {"GroupName": t.next(op, t.groups())},
    "iam:GetPolicy": lambda t, op: {"PolicyArn": t.next(op, t.policy_arns())},
    "iam:ListEntitiesForPolicy": lambda t, op: {"PolicyArn": t.next(op, t.policy_arns())},
    "iam:ListPolicyVersions": lambda t, op: {"PolicyArn": t.next(op, t.policy_arns())},
    "iam:GetUser": lambda t, op: {"UserName": t.user(op)},
    "iam:ListAccessKeys": lambda t, op: {"UserName": t.user(op)},
    "iam:ListGroupsForUser": lambda t, op: {"UserName": t.user(op)},
    "iam:ListAttachedUserPolicies": lambda t, op: {"UserName": t.user(op)},
    "iam:ListUserPolicies": lambda t, op: {"UserName": t.user(op)},
    "iam:ListUserTags": lambda t, op: {"UserName": t.user(op)},
    "iam:GetAccessKeyLastUsed": lambda t, op: {"AccessKeyId": t.next(op, t.key_ids or ["AKIAIOSFODNN7EXAMPLE"])},
    "iam:ListGroups": lambda t, op: {},
    "iam:ListUsers": lambda t, op: {},
    # IAM writes
    "iam:CreatePolicy": lambda t, op: {
        "PolicyName": f"{t.bucket}-BktAdmPlc",
        "PolicyDocument": _policy_doc(t.bucket),
        "Description": f"Admin policy for {t.bucket} bucket",
        "Tags": [{"Key": t.org_tag[0], "Value": t.org_tag[1]}],
    },
    "iam:CreateGroup": lambda t, op: {"GroupName": f"{t.bucket}-BktAdmGrp", "Path": "/"},
    "iam:AttachGroupPolicy": lambda t, op: {"GroupName": t.groups()[0], "PolicyArn": t.policy_arns()[0]},
    "iam:DetachGroupPolicy": lambda t, op: {"GroupName": t.groups()[0], "PolicyArn": t.policy_arns()[0]},
    "iam:RemoveUserFromGroup": lambda t, op: {"GroupName": t.groups()[0], "UserName": t.user(op)},
    "iam:DeleteGroup": lambda t, op: {"GroupName": t.next(op, t.groups())},
    "iam:DeletePolicy": lambda t, op: {"PolicyArn": t.next(op, t.policy_arns())},
    "iam:DeleteUser": lambda t, op: {"UserName": t.user(op)},
}

#: Replay order: reads, then creates and configuration, then detaches and deletes, the bucket last.
ORDER = [
    "s3:HeadBucket",
    "s3:ListBuckets",
    "s3:GetBucketTagging",
    "s3:ListObjectVersions",
    "s3:ListObjectsV2",
    "s3:GetBucketLogging",
    "s3:GetBucketEncryption",
    "s3:GetBucketVersioning",
    "s3:GetPublicAccessBlock",
    "s3:GetBucketLifecycleConfiguration",
    "s3:GetBucketWebsite",
    "s3:GetBucketLocation",
    "s3:GetBucketPolicy",
    "s3:GetBucketOwnershipControls",
    "s3:ListMultipartUploads",
    "iam:ListGroups",
    "iam:ListUsers",
    "iam:GetGroup",
    "iam:GetUser",
    "iam:ListGroupsForUser",
    "iam:ListAttachedUserPolicies",
    "iam:ListUserPolicies",
    "iam:ListUserTags",
    "iam:ListAccessKeys",
    "iam:GetAccessKeyLastUsed",
    "iam:GetPolicy",
    "iam:CreatePolicy",
    "s3:CreateBucket",
    "s3:PutBucketTagging",
    "s3:PutBucketEncryption",
    "s3:PutPublicAccessBlock",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketLogging",
    "iam:CreateGroup",
    "iam:AttachGroupPolicy",
    "iam:RemoveUserFromGroup",
    "iam:ListAttachedGroupPolicies",
    "iam:DetachGroupPolicy",
    "iam:ListGroupPolicies",
    "iam:DeleteGroup",
    "iam:ListEntitiesForPolicy",
    "iam:ListPolicyVersions",
    "iam:DeletePolicy",
    "iam:DeleteUser",
    "s3:DeleteBucket",
]


def plan(ops: Mapping[str, int]) -> tuple[list[str], list[str]]:
    """``(calls in replay order, operations we cannot replay)`` for a multiset of ``service:Operation``."""
    calls: list[str] = []
    for op in ORDER:
        calls += [op] * ops.get(op, 0)
    missing = sorted(op for op in ops if op not in PARAMS)
    return calls, missing


def method_name(op: str) -> str:
    """``s3:GetBucketTagging`` -> ``get_bucket_tagging`` (boto3's client method)."""
    return str(xform_name(op.split(":", 1)[1]))


class Direct:
    """Cached boto3 clients against the emulator, configured like the service's, with a call counter."""

    def __init__(self, endpoint: str, *, pool_threads: int = 8) -> None:
        config = Config(
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=32,
            s3={"addressing_style": "path"},
        )
        session = boto3.session.Session(
            aws_access_key_id="embedded", aws_secret_access_key="embedded-secret", region_name="us-east-1"
        )
        self.clients = {
            service: session.client(service, endpoint_url=endpoint, config=config)  # type: ignore[call-overload]
            for service in ("s3", "iam")
        }
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        for service, client in self.clients.items():
            client.meta.events.register("before-call", self._count(service))
        self.pool = ThreadPoolExecutor(max_workers=pool_threads, thread_name_prefix="bench-direct")

    def _count(self, service: str) -> Callable[..., None]:
        def hook(model: Any, **_: Any) -> None:
            with self._lock:
                self.calls[f"{service}:{model.name}"] += 1

        return hook

    @property
    def s3(self) -> Any:
        return self.clients["s3"]

    @property
    def iam(self) -> Any:
        return self.clients["iam"]

    def call(self, op: str, params: dict[str, Any]) -> Any:
        """One AWS call; an AWS error answer is a made call too (returned, not raised)."""
        client = self.clients[op.split(":", 1)[0]]
        try:
            return getattr(client, method_name(op))(**params)
        except ClientError as exc:
            return exc

    def replay(
        self, ops: Mapping[str, int], target: Target, *, parallel_after_first: bool = False, parallel: bool = False
    ) -> list[str]:
        """Make the calls of ``ops`` for ``target``; returns the operations that could not be replayed.

        ``parallel_after_first``: the first call alone, then the others concurrently on the pool (the shape of
        a route that checks existence first and then fans its reads out). ``parallel``: all of them at once.
        """
        calls, missing = plan(ops)
        target.turn.clear()
        bound = [(op, PARAMS[op](target, op)) for op in calls]  # params built in order (turns are stateful)
        if parallel and len(bound) > 1:
            list(self.pool.map(lambda pair: self.call(*pair), bound))
        elif parallel_after_first and len(bound) > 1:
            self.call(*bound[0])
            list(self.pool.map(lambda pair: self.call(*pair), bound[1:]))
        else:
            for op, params in bound:
                self.call(op, params)
        return missing

    def close(self) -> None:
        self.pool.shutdown(wait=True)
