"""What tenant routes cost in AWS calls (counted with the fault hook's probe), so a change that adds calls shows."""

from __future__ import annotations

import time
from collections import Counter

from tests import faults
from tests.api.tenancy_fixtures import TENANTS, body, make_tenant, run_operations, tapp, tclient

__all__ = ["tapp", "tclient"]


def test_tenant_create_calls(tapp, tclient):
    r = tclient.post(TENANTS, json=body("cost-data"))
    started = time.perf_counter()
    with faults.aws_calls(tapp) as probe:
        run_operations(tapp)
    took = time.perf_counter() - started
    calls = Counter(probe.calls)
    # the leftovers check (a dead attempt's user: one ListAccessKeys), the bucket create, the credentials
    assert calls["iam:ListAccessKeys"] == 1
    assert calls["s3:CreateBucket"] == 1 and calls["iam:CreateUser"] == 1 and calls["iam:CreateAccessKey"] == 1
    assert calls["iam:CreatePolicy"] == 2  # the bucket's admin policy and the tenant's one bucket policy
    assert len(probe.calls) == 23, probe.calls
    print(f"\ntenant.create: {len(probe.calls)} AWS calls, {took * 1000:.0f} ms in moto")
    assert tclient.get(f"/v1/s3/operations/{r.json['Id']}").json["Status"] == "Succeeded"


def test_show_reads_each_bucket_tag_once_and_the_keys(tapp, tclient, s3):
    made = make_tenant(tclient, tapp, "cost-show")
    for i in range(5):
        s3.create_bucket(Bucket=f"unrelated-{i}")
    with faults.aws_calls(tapp) as probe:
        assert tclient.get(f"{TENANTS}/{made['Id']}").status_code == 200
    calls = Counter(probe.calls)
    buckets = len(s3.list_buckets()["Buckets"])
    assert calls == Counter({"s3:ListBuckets": 1, "s3:GetBucketTagging": buckets, "iam:ListAccessKeys": 1})
    with faults.aws_calls(tapp) as probe:
        assert tclient.get(TENANTS).status_code == 200
    assert probe.calls == []  # a list reads the database only
