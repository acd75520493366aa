"""Fault injection and emulator snapshots for rollback tests.

``FailOnCall(app, k)`` makes the k-th AWS call made through the app's clients raise a ClientError (a
botocore ``before-call`` hook: the call never reaches the emulator). ``snapshot()`` reads everything a
workflow may create, straight from the emulator, so a test can assert "exactly what it held before".
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import ClientError
from flask import Flask


class FailOnCall:
    """Counts AWS calls; the k-th one (1-based) fails with ``code``. ``k=0`` only counts."""

    def __init__(self, k: int = 0, code: str = "InternalError", status: int = 500) -> None:
        self.k = k
        self.code = code
        self.status = status
        self.calls: list[str] = []
        self.failed: str | None = None

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls.append(f"{model.service_model.service_name}:{model.name}")
        if self.k and len(self.calls) == self.k:
            self.failed = self.calls[-1]
            raise injected(model.name, self.code, self.status)


def injected(operation: str, code: str = "InternalError", status: int = 500) -> ClientError:
    """The error a fault hook raises in place of the AWS call."""
    error = {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(error, operation)


@contextmanager
def hooked(app: Flask, hook: Any) -> Iterator[Any]:
    """``hook`` runs before every AWS call the app makes, for the duration of the block."""
    clients = app.extensions["s3api"].clients
    clients.add_hook("before-call", hook)
    try:
        yield hook
    finally:
        clients.remove_hook("before-call", hook)


def aws_calls(app: Flask, k: int = 0, code: str = "InternalError", status: int = 500) -> Any:
    """Count the app's AWS calls; the k-th one fails (``k=0``: only count)."""
    return hooked(app, FailOnCall(k, code, status))


@functools.lru_cache(maxsize=8)
def _client(service: str, region: str, endpoint: str | None) -> Any:
    """A cached client: making one costs tens of milliseconds, and a snapshot is taken after every fault.
    moto's in-process mock intercepts clients made before it started, so the cache survives fresh mocks."""
    return boto3.client(service, region_name=region, endpoint_url=endpoint)


def snapshot(region: str = "us-east-1", skip_objects_of: Iterable[str] = ()) -> dict[str, Any]:
    """Everything our workflows create, as plain sortable data (uses the ambient mock/endpoint).

    Besides names: access keys, group members, the policies attached to each group and user, and user tags
    (a leftover retirement tag would make the sweeper delete a key later). ``skip_objects_of``: buckets whose
    objects are not listed (the access-log bucket, which the emulator writes into on every request).
    """
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    s3 = _client("s3", region, endpoint)
    iam = _client("iam", region, endpoint)
    cf = _client("cloudfront", region, endpoint)
    r53 = _client("route53", region, endpoint)
    skip = set(skip_objects_of)
    buckets = sorted(b["Name"] for b in s3.list_buckets().get("Buckets", []))
    objects = {}
    for b in buckets:
        if b in skip:
            continue
        try:
            objects[b] = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", []))
        except ClientError:
            objects[b] = ["<unreadable>"]
    users = sorted(u["UserName"] for u in iam.list_users()["Users"])
    keys = {u: sorted(k["AccessKeyId"] for k in iam.list_access_keys(UserName=u)["AccessKeyMetadata"]) for u in users}
    user_tags = {
        u: sorted((t["Key"], t.get("Value", "")) for t in iam.list_user_tags(UserName=u)["Tags"]) for u in users
    }
    user_policies = {
        u: sorted(p["PolicyName"] for p in iam.list_attached_user_policies(UserName=u)["AttachedPolicies"])
        for u in users
    }
    groups = sorted(g["GroupName"] for g in iam.list_groups()["Groups"])
    members = {g: sorted(u["UserName"] for u in iam.get_group(GroupName=g)["Users"]) for g in groups}
    group_policies = {
        g: sorted(p["PolicyName"] for p in iam.list_attached_group_policies(GroupName=g)["AttachedPolicies"])
        for g in groups
    }
    policies = sorted(p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"])
    dists = cf.list_distributions().get("DistributionList", {}).get("Items", []) or []
    enabled = sorted(tuple(d.get("Aliases", {}).get("Items", []) or [d["Id"]]) for d in dists if d.get("Enabled"))
    records = []
    for zone in r53.list_hosted_zones()["HostedZones"]:
        for rr in r53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]:
            if rr["Type"] not in ("NS", "SOA"):
                records.append((rr["Name"], rr["Type"]))
    return {
        "buckets": buckets,
        "objects": objects,
        "users": users,
        "keys": keys,
        "user_tags": user_tags,
        "user_policies": user_policies,
        "groups": groups,
        "members": members,
        "group_policies": group_policies,
        "policies": policies,
        "enabled_distributions": enabled,
        "records": sorted(records),
    }
