"""The IAM permissions the service role needs, from the declarations beside the gateway functions.

Every gateway function names the botocore operations it makes itself (``@gateway("s3", "HeadBucket")``);
the operations made by another gateway function it calls are that one's. An operation needs the IAM action
of the same name (``iam:GetGroup``) unless :data:`OPERATION_ACTIONS` says otherwise (AWS Service
Authorization Reference: ``HeadBucket`` is authorised as ``s3:ListBucket``). Actions an operation needs only
with some parameters (PutObject with ``Tagging``: ``s3:PutObjectTagging``) are given beside the function with
``actions=``. A presigned URL counts as a call of its operation (botocore builds the request, the URL holder
sends it with the signer's permissions).

``s3api permissions`` prints :func:`policy_document`; tests/conftest.py checks that every AWS call the test
suite makes is declared by the gateway function making it, or is one of :data:`OUTSIDE_GATEWAYS`.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from s3api.config import Account

#: The modules holding gateway functions: what :func:`declarations` imports.
GATEWAY_MODULES = (
    "s3api.aws.acm",
    "s3api.aws.cloudfront",
    "s3api.aws.cloudwatch",
    "s3api.aws.iam",
    "s3api.aws.route53",
    "s3api.aws.s3",
)

#: botocore operation -> IAM actions, where they are not ``<service>:<operation>``.
OPERATION_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("s3", "ListBuckets"): ("s3:ListAllMyBuckets",),
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjectVersions"): ("s3:ListBucketVersions",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "DeleteObjects"): ("s3:DeleteObject",),
    ("s3", "CreateMultipartUpload"): ("s3:PutObject",),
    ("s3", "UploadPart"): ("s3:PutObject",),
    ("s3", "CompleteMultipartUpload"): ("s3:PutObject",),
    ("s3", "ListMultipartUploads"): ("s3:ListBucketMultipartUploads",),
    ("s3", "ListParts"): ("s3:ListMultipartUploadParts",),
    ("s3", "PutBucketEncryption"): ("s3:PutEncryptionConfiguration",),
    ("s3", "GetBucketEncryption"): ("s3:GetEncryptionConfiguration",),
    ("s3", "PutBucketLifecycleConfiguration"): ("s3:PutLifecycleConfiguration",),
    ("s3", "GetBucketLifecycleConfiguration"): ("s3:GetLifecycleConfiguration",),
    ("s3", "DeleteBucketLifecycle"): ("s3:PutLifecycleConfiguration",),
    ("s3", "PutPublicAccessBlock"): ("s3:PutBucketPublicAccessBlock",),
    ("s3", "GetPublicAccessBlock"): ("s3:GetBucketPublicAccessBlock",),
    ("s3", "DeleteBucketTagging"): ("s3:PutBucketTagging",),
    ("s3", "DeletePublicAccessBlock"): ("s3:PutBucketPublicAccessBlock",),
    ("s3", "DeleteBucketOwnershipControls"): ("s3:PutBucketOwnershipControls",),
    ("cloudfront", "CreateDistributionWithTags"): ("cloudfront:CreateDistribution", "cloudfront:TagResource"),
}

#: AWS calls of the client machinery, not of a gateway function (though they may happen while one runs: an
#: account's first client assumes the role, botocore refreshes it): (service, operation) -> why, and whose.
OUTSIDE_GATEWAYS: dict[tuple[str, str], str] = {
    ("sts", "AssumeRole"): (
        "s3api/aws/clients.py assumes the configured role with the base credentials: sts:AssumeRole is a "
        "permission of those credentials on the role's ARN (and the role's trust policy), not of the role"
    ),
}

#: Calls that are none of the service role's business, so neither declared nor checked.
EXCLUDED = {
    "s3api/embedded.py seed()": "seeds the embedded emulator (hosted zone, certificate, log bucket) with its own "
    "client, never against a configured account",
    "tests and bench": "their own boto3 clients set up and inspect the emulator",
}

_OPERATION = re.compile(r"[A-Z][A-Za-z0-9]+")
_ACTION = re.compile(r"[a-z0-9-]+:[A-Z][A-Za-z0-9]+")


@dataclass(frozen=True)
class Declaration:
    """What one gateway function may call and the IAM actions that needs."""

    name: str  # module.qualname
    service: str
    operations: frozenset[str]
    actions: tuple[str, ...]


#: Every decorated gateway function, by name (filled at import of the gateway modules).
DECLARED: dict[str, Declaration] = {}


def operation_actions(service: str, operation: str) -> tuple[str, ...]:
    """The IAM actions one botocore operation needs."""
    return OPERATION_ACTIONS.get((service, operation), (f"{service}:{operation}",))


def declare(name: str, service: str, operations: tuple[str, ...], actions: tuple[str, ...]) -> Declaration:
    """Record one gateway function's declaration (at decoration time); bad names fail the import."""
    for op in operations:
        if not _OPERATION.fullmatch(op):
            raise ValueError(f"{name}: {op!r} is not a botocore operation name (PascalCase, e.g. 'HeadBucket')")
    for action in actions:
        if not _ACTION.fullmatch(action):
            raise ValueError(f"{name}: {action!r} is not an IAM action ('service:Action')")
    needed = [a for op in operations for a in operation_actions(service, op)] + list(actions)
    declaration = Declaration(name, service, frozenset(operations), tuple(dict.fromkeys(needed)))
    DECLARED[name] = declaration
    return declaration


def declarations() -> list[Declaration]:
    """The declarations of every gateway function of :data:`GATEWAY_MODULES`, by name."""
    for module in GATEWAY_MODULES:
        importlib.import_module(module)
    return [d for name, d in sorted(DECLARED.items()) if name.rpartition(".")[0] in GATEWAY_MODULES]


SIDS = {"acm": "ACM", "cloudfront": "CloudFront", "cloudwatch": "CloudWatch", "iam": "IAM", "route53": "Route53"}

#: Actions on one hosted zone / one certificate: for an account they are narrowed to its configured domains'.
ZONE_ACTIONS = frozenset({"route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"})
CERTIFICATE_ACTIONS = frozenset({"acm:DescribeCertificate"})


def _partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _narrowed(account: Account | None) -> list[tuple[str, frozenset[str], list[str]]]:
    """(Sid suffix, actions, resources) for what the account's configuration names exactly."""
    if account is None or not account.domains:
        return []
    zones = f"arn:{_partition(account.region)}:route53:::hostedzone/"
    return [
        ("Zones", ZONE_ACTIONS, sorted({zones + d.hosted_zone_id for d in account.domains.values()})),
        ("Certificates", CERTIFICATE_ACTIONS, sorted({d.certificate_arn for d in account.domains.values()})),
    ]


def policy_document(found: list[Declaration] | None = None, account: Account | None = None) -> dict[str, Any]:
    """The service role's identity policy: Allow statements per service prefix, actions sorted and
    deduplicated, on every resource (the buckets, users and distributions it manages are named at run time).

    With an ``account``, the hosted-zone and certificate actions name its configured domains' zones and
    certificates only, and the ``cloudwatch:`` actions are left out unless its ``usage_source`` is cloudwatch.
    """
    by_prefix: dict[str, set[str]] = {}
    for declaration in declarations() if found is None else found:
        for action in declaration.actions:
            by_prefix.setdefault(action.split(":", 1)[0], set()).add(action)
    if account is not None and account.usage_source != "cloudwatch":
        by_prefix.pop("cloudwatch", None)
    statements: list[dict[str, Any]] = []
    for prefix, actions in sorted(by_prefix.items()):
        sid = SIDS.get(prefix, prefix.upper().replace("-", ""))
        for suffix, scoped, resources in _narrowed(account):
            if actions & scoped:
                statements.append(_allow(sid + suffix, actions & scoped, resources))
                actions = actions - scoped
        if actions:
            statements.append(_allow(sid, actions, "*"))
    return {"Version": "2012-10-17", "Statement": statements}


def _allow(sid: str, actions: set[str] | frozenset[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resource}
