"""Fault injection and emulator snapshots for rollback tests.

``FailOnCall(app, k)`` makes the k-th AWS call made through the app's clients raise a ClientError (a
botocore ``before-call`` hook: the call never reaches the emulator). ``snapshot()`` reads everything a
workflow may create, straight from the emulator, so a test can assert "exactly what it held before".
"""

from __future__ import annotations

from collections.abc import Iterator
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
            error = {"Code": self.code, "Message": "injected"}
            raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": self.status}}, model.name)


@contextmanager
def aws_calls(app: Flask, k: int = 0, code: str = "InternalError", status: int = 500) -> Iterator[FailOnCall]:
    hook = FailOnCall(k, code, status)
    clients = app.extensions["s3api"].clients
    clients.add_hook("before-call", hook)
    try:
        yield hook
    finally:
        clients.remove_hook("before-call", hook)


def snapshot(region: str = "us-east-1") -> dict[str, Any]:
    """Everything our workflows create, as plain sortable data (uses the ambient mock/endpoint)."""
    s3 = boto3.client("s3", region_name=region)
    iam = boto3.client("iam", region_name=region)
    cf = boto3.client("cloudfront", region_name=region)
    r53 = boto3.client("route53", region_name=region)
    buckets = sorted(b["Name"] for b in s3.list_buckets().get("Buckets", []))
    objects = {}
    for b in buckets:
        try:
            objects[b] = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", []))
        except ClientError:
            objects[b] = ["<unreadable>"]
    users = sorted(u["UserName"] for u in iam.list_users()["Users"])
    keys = {u: sorted(k["AccessKeyId"] for k in iam.list_access_keys(UserName=u)["AccessKeyMetadata"]) for u in users}
    groups = sorted(g["GroupName"] for g in iam.list_groups()["Groups"])
    members = {g: sorted(u["UserName"] for u in iam.get_group(GroupName=g)["Users"]) for g in groups}
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
        "groups": groups,
        "members": members,
        "policies": policies,
        "enabled_distributions": enabled,
        "records": sorted(records),
    }
