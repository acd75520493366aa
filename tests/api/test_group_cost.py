"""AWS call counts of the group lookups (issue 12, "Fewer calls"): each IAM group is read once per request.

Counted with the app's before-call hook (docs/CONVENTIONS.md), so every call the app makes is seen.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from s3api.aws import iam as iam_gateway
from tests.api.test_buckets import BUCKETS, Recorder, add_group, add_user
from tests.api.test_users import iam_client


@pytest.fixture
def calls(app: Any) -> Any:
    recorder = Recorder()
    clients = app.extensions["s3api"].clients
    clients.add_hook("before-call", recorder)
    yield recorder
    clients.remove_hook("before-call", recorder)


@pytest.fixture
def iam(aws: None) -> Any:
    return iam_client()


def _bucket_with_users(client: Any, iam: Any) -> None:
    r = client.post(BUCKETS, json={"BucketInput": {"Bucket": "alpha-data"}})
    assert r.status_code == 200, r.json
    add_group(iam, "alpha-data", "BktROGrp")
    add_user(iam, "alice", "alpha-data-BktAdmGrp", "alpha-data-BktROGrp")
    add_user(iam, "bob", "alpha-data-BktROGrp")


def test_bucket_user_list_reads_each_group_once(client, iam, calls):
    """GET .../users: after the HeadBucket, one GetGroup per group name (it answers the group and its members)
    and the ownership check's ListAttachedGroupPolicies for each group that exists; nothing else. Before:
    GetGroup twice per existing group (once for the ownership check, once for the members)."""
    _bucket_with_users(client, iam)
    calls.calls.clear()
    r = client.get(f"{BUCKETS}/alpha-data/users")
    assert r.status_code == 200, r.json
    assert sorted(u["UserName"] for u in r.json) == ["alice", "bob"]
    assert Counter(calls.calls) == Counter({"HeadBucket": 1, "GetGroup": 3, "ListAttachedGroupPolicies": 2})


def test_bucket_user_list_still_skips_a_group_of_another_scope(client, iam, calls):
    """Reading once keeps the ownership rule: a group of the bucket's name at another IAM path (a website path
    scope's) is not this bucket's, and its members are not listed."""
    r = client.post(BUCKETS, json={"BucketInput": {"Bucket": "alpha-data"}})
    assert r.status_code == 200, r.json
    iam.create_group(GroupName="alpha-data-BktROGrp", Path="/data/")
    add_user(iam, "mallory", "alpha-data-BktROGrp")
    r = client.get(f"{BUCKETS}/alpha-data/users")
    assert r.status_code == 200, r.json
    assert r.json == []


def test_bucket_delete_reads_each_group_once(client, iam, calls):
    """DELETE bucket: each of the bucket's groups is read once (GetGroup, and ListAttachedGroupPolicies when it
    exists); deleting a group reuses both answers. Before: GetGroup and ListAttachedGroupPolicies again for
    each group at its deletion (the admin group's members were read twice)."""
    _bucket_with_users(client, iam)
    calls.calls.clear()
    r = client.delete(f"{BUCKETS}/alpha-data")
    assert r.status_code == 200, r.json
    counted = Counter(calls.calls)
    assert counted["GetGroup"] == 3
    assert counted["ListAttachedGroupPolicies"] == 2
    assert iam.list_groups()["Groups"] == [] and iam.list_users()["Users"] == []


def test_bucket_delete_reads_the_bucket_tags_once(client, iam, calls):
    """The managed-bucket check's tag set is the one the distribution check uses (it names no distribution
    here): one GetBucketTagging, not two."""
    _bucket_with_users(client, iam)
    calls.calls.clear()
    assert client.delete(f"{BUCKETS}/alpha-data").status_code == 200
    assert Counter(calls.calls)["GetBucketTagging"] == 1


def test_delete_group_with_known_members_rereads_after_a_conflict(app, iam):
    """``delete_group(known=...)`` trusts the caller's read; when someone joined meanwhile AWS answers
    DeleteConflict (moto does not, so the hook plays AWS: the join happens, then DeleteGroup is refused once),
    and the group is emptied from a fresh read and deleted all the same."""
    iam.create_group(GroupName="g-BktAdmGrp")
    iam.create_user(UserName="late")
    aws = app.extensions["s3api"].aws("local")
    seen: list[str] = []

    def late_join(model: Any, **_: Any) -> None:
        seen.append(model.name)
        if model.name == "DeleteGroup" and seen.count("DeleteGroup") == 1:
            iam.add_user_to_group(GroupName="g-BktAdmGrp", UserName="late")
            raise ClientError({"Error": {"Code": "DeleteConflict", "Message": "must remove users"}}, "DeleteGroup")

    clients = app.extensions["s3api"].clients
    clients.add_hook("before-call", late_join)
    try:
        removal = iam_gateway.delete_group(aws, "g-BktAdmGrp", known=iam_gateway.GroupRemoval([], []))
    finally:
        clients.remove_hook("before-call", late_join)
    assert removal is not None and removal.members == ["late"]
    assert seen[0] == "ListGroupPolicies" and seen.count("DeleteGroup") == 2 and "GetGroup" in seen
    assert iam.list_groups()["Groups"] == [] and iam.list_groups_for_user(UserName="late")["Groups"] == []


def test_list_groups_asks_for_the_largest_page(app, iam):
    """ListGroups (website delete and website-user listing page through it) asks 1000 groups a call, IAM's
    limit, not the default 100: 5,000 groups cost 5 calls, not 50. moto ignores MaxItems, so the request's
    parameters are what is checked."""
    for i in range(3):
        iam.create_group(GroupName=f"unrelated-{i}")
    asked: list[Any] = []

    def record(model: Any, params: Any = None, **_: Any) -> None:
        if model.name == "ListGroups":
            asked.append(params)

    clients = app.extensions["s3api"].clients
    clients.add_hook("before-call", record)
    try:
        groups = iam_gateway.list_groups(app.extensions["s3api"].aws("local"))
    finally:
        clients.remove_hook("before-call", record)
    assert len(groups) == 3
    assert len(asked) == 1 and int(asked[0]["body"]["MaxItems"]) == 1000
