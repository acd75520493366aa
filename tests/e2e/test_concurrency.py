"""Concurrency against a real server: gunicorn with 4 workers on 127.0.0.1, one shared emulator.

Every loop is bounded in count (20 clients) and time (request timeouts); traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.e2e.conftest import TOKEN, Server, serve

pytestmark = pytest.mark.e2e
CLIENTS = 20
H = {"X-Auth-Token": TOKEN}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serve(workers=4) as srv:
        yield srv


def race(n: int, fn: Callable[[int], requests.Response]) -> list[requests.Response]:
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(fn, range(n)))


def statuses(responses: list[requests.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def iam_names(srv: Server) -> dict[str, Any]:
    iam = srv.boto3("iam")
    return {
        "groups": sorted(g["GroupName"] for g in iam.list_groups()["Groups"]),
        "policies": sorted(p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]),
        "users": sorted(u["UserName"] for u in iam.list_users()["Users"]),
    }


def test_twenty_creates_of_one_bucket(server: Server) -> None:
    body = {"BucketInput": {"Bucket": "race-bucket"}}
    responses = race(CLIENTS, lambda i: requests.post(server.url("/local/buckets"), json=body, headers=H, timeout=60))
    # One request wins the claim. A create with the same body that arrives once the winner has finished is a
    # retry of a complete bucket that is provably ours: the same 200 (README, "Retried creates"). Every other
    # one is a 409 (the claim is held: "being created"). Never anything else, never a second bucket.
    counts = statuses(responses)
    assert set(counts) <= {200, 409} and counts[200] >= 1, [r.text for r in responses]
    created = {r.json()["Bucket"] for r in responses if r.status_code == 200}
    assert created == {"/race-bucket"}, [r.text for r in responses]
    buckets = [b["Name"] for b in server.boto3("s3").list_buckets()["Buckets"]]
    assert "race-bucket" in buckets
    names = iam_names(server)
    assert names["groups"].count("race-bucket-BktAdmGrp") == 1
    assert names["policies"].count("race-bucket-BktAdmPlc") == 1
    group = server.boto3("iam").list_attached_group_policies(GroupName="race-bucket-BktAdmGrp")
    assert [p["PolicyName"] for p in group["AttachedPolicies"]] == ["race-bucket-BktAdmPlc"]


def test_delete_racing_create_ends_consistent(server: Server) -> None:
    body = {"BucketInput": {"Bucket": "flip-bucket"}}
    assert requests.post(server.url("/local/buckets"), json=body, headers=H, timeout=60).status_code == 200

    def act(i: int) -> requests.Response:
        if i % 2:
            return requests.delete(server.url("/local/buckets/flip-bucket"), headers=H, timeout=60)
        return requests.post(server.url("/local/buckets"), json=body, headers=H, timeout=60)

    responses = race(10, act)
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses if r.status_code >= 500]
    exists = "flip-bucket" in [b["Name"] for b in server.boto3("s3").list_buckets()["Buckets"]]
    names = iam_names(server)
    has_group = "flip-bucket-BktAdmGrp" in names["groups"]
    has_policy = "flip-bucket-BktAdmPlc" in names["policies"]
    # consistent: either the whole bucket (bucket, policy, group) or nothing - and a retried delete finishes
    if not (exists and has_group and has_policy):
        requests.delete(server.url("/local/buckets/flip-bucket"), headers=H, timeout=60)
        names = iam_names(server)
        assert "flip-bucket" not in [b["Name"] for b in server.boto3("s3").list_buckets()["Buckets"]]
        assert "flip-bucket-BktAdmGrp" not in names["groups"]
        assert "flip-bucket-BktAdmPlc" not in names["policies"]
