"""Reads that answer with only the AWS calls their answer needs (issue 12), and read contracts.

- GET bucket: Yale's ``Tags``, ``Logging``, ``Empty`` with three calls run concurrently; every other field
  only with ``?include=``, each costing its own one call; unknown values 400 before any AWS call.
- GET website for a bucket that is no website: 404 (a website with damaged parts keeps its Status:
  ``test_websites.py::test_show_status_deploying_disabled_and_broken``).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Client

BUCKETS = "/v1/s3/local/buckets"
WEBSITES = "/v1/s3/local/websites"
DEFAULT_CALLS = ["GetBucketLogging", "GetBucketTagging", "ListObjectVersions"]
DEFAULT_FIELDS = ["Tags", "Logging", "Empty"]
OPTIONAL_FIELDS = {
    "region": "Region",
    "encryption": "Encryption",
    "versioning": "Versioning",
    "public_access_block": "PublicAccessBlock",
    "lifecycle": "Lifecycle",
    "website": "Website",
}
CALL_OF = {
    "region": "HeadBucket",
    "encryption": "GetBucketEncryption",
    "versioning": "GetBucketVersioning",
    "public_access_block": "GetPublicAccessBlock",
    "lifecycle": "GetBucketLifecycleConfiguration",
    "website": "GetBucketWebsite",
}


class Calls:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, model: Any, **_: Any) -> None:
        with self.lock:
            self.names.append(model.name)


@pytest.fixture
def calls(app: Any) -> Any:
    recorder = Calls()
    clients = app.extensions["s3api"].clients
    clients.add_hook("before-call", recorder)
    yield recorder
    clients.remove_hook("before-call", recorder)


def made(client: Client, name: str = "alpha-data") -> str:
    r = client.post(BUCKETS, json={"BucketInput": {"Bucket": name}, "Lifecycle": "deep-archive"})
    assert r.status_code == 200, r.json
    return f"{BUCKETS}/{name}"


def test_show_answers_yales_fields_with_three_calls(client, calls):
    path = made(client)
    calls.names.clear()
    r = client.get(path)
    assert r.status_code == 200
    assert list(r.json) == DEFAULT_FIELDS
    assert r.json["Empty"] is True and r.json["Logging"]["TargetPrefix"] == "s3/alpha-data/"
    assert sorted(calls.names) == DEFAULT_CALLS


def test_show_runs_its_three_calls_concurrently(client, app):
    path = made(client)
    barrier = threading.Barrier(3, timeout=10)  # breaks (→ error) unless three calls are in flight at once

    def meet(model: Any, **_: Any) -> None:
        barrier.wait()

    app.extensions["s3api"].clients.add_hook("before-call", meet)
    try:
        r = client.get(path)
    finally:
        app.extensions["s3api"].clients.remove_hook("before-call", meet)
    assert r.status_code == 200, r.json
    assert not barrier.broken


@pytest.mark.parametrize("key", sorted(OPTIONAL_FIELDS))
def test_each_include_costs_its_own_call(client, calls, key):
    path = made(client)
    calls.names.clear()
    r = client.get(f"{path}?include={key}")
    assert r.status_code == 200, r.json
    assert list(r.json) == [*DEFAULT_FIELDS, OPTIONAL_FIELDS[key]]
    assert sorted(calls.names) == sorted([*DEFAULT_CALLS, CALL_OF[key]])


def test_include_list_and_all(client, calls):
    path = made(client)
    calls.names.clear()
    r = client.get(f"{path}?include=encryption,lifecycle")
    assert list(r.json) == [*DEFAULT_FIELDS, "Encryption", "Lifecycle"]
    assert [rule["ID"] for rule in r.json["Lifecycle"]] == ["deep-archive-rule"]
    assert r.json["Encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert sorted(calls.names) == sorted([*DEFAULT_CALLS, "GetBucketEncryption", "GetBucketLifecycleConfiguration"])
    calls.names.clear()
    r = client.get(f"{path}?include=all")
    assert list(r.json) == [*DEFAULT_FIELDS, *OPTIONAL_FIELDS.values()]
    assert r.json["Region"] == "us-east-1" and r.json["Versioning"] == "Disabled" and r.json["Website"] is None
    assert sorted(calls.names) == sorted([*DEFAULT_CALLS, *CALL_OF.values()])


@pytest.mark.parametrize("query", ["include=owner", "include=encryption,nope", "include=Tags", "fields=all"])
def test_unknown_include_is_400_before_any_aws_call(client, calls, query):
    path = made(client)
    calls.names.clear()
    r = client.get(f"{path}?{query}")
    assert r.status_code == 400, r.json
    assert set(r.json) >= {"code", "message", "status", "request_id"}
    assert calls.names == []


@pytest.mark.parametrize("query", ["", "?include=region", "?include=all"])
def test_show_missing_bucket_is_404_naming_it(client, query):
    r = client.get(f"{BUCKETS}/missing-bucket{query}")
    assert r.status_code == 404, r.json
    assert r.json["code"] == "NotFound" and "missing-bucket" in r.json["message"]


def test_show_bucket_of_another_account_is_403(client, app):
    def denied(model: Any, **_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "denied"}, "ResponseMetadata": {"HTTPStatusCode": 403}},
            model.name,
        )

    app.extensions["s3api"].clients.add_hook("before-call", denied)
    try:
        r = client.get(f"{BUCKETS}/someone-elses")
    finally:
        app.extensions["s3api"].clients.remove_hook("before-call", denied)
    assert r.status_code == 403 and r.json["code"] == "Forbidden"


# --- GET website of a bucket that is no website ------------------------------------------------------------


@pytest.mark.parametrize("name", ["plain-bucket", "plain.example.test"])
def test_show_website_of_a_plain_bucket_is_404_as_head_is_for_a_missing_one(client, s3, seed, name):
    """Not under a configured domain, or under one: without our distribution tag and without a distribution
    serving the name, the bucket is no website (it was 200 with ``"Status": "Broken"``)."""
    s3.create_bucket(Bucket=name)
    r = client.get(f"{WEBSITES}/{name}")
    assert r.status_code == 404, r.json
    assert r.json["code"] == "NotFound" and name in r.json["message"]
    assert set(r.json) >= {"code", "message", "status", "request_id"}


def test_show_website_whose_distribution_is_gone_keeps_its_status(client, s3, seed):
    """A website with a damaged part is still a website: the bucket names a distribution that is gone."""
    s3.create_bucket(Bucket="gone.example.test")
    s3.put_bucket_tagging(
        Bucket="gone.example.test", Tagging={"TagSet": [{"Key": "s3api:distribution", "Value": "E2GONE"}]}
    )
    r = client.get(f"{WEBSITES}/gone.example.test")
    assert r.status_code == 200, r.json
    assert r.json["Status"] == "Broken" and "E2GONE" in r.json["StatusReason"]


# --- key retirement reads only the users with a pending retirement -----------------------------------------

USERS = f"{BUCKETS}/team-data/users"


def _user(client: Client, name: str) -> None:
    r = client.post(USERS, json={"User": {"UserName": name}})
    assert r.status_code == 200, r.json


def _members(iam: Any, group: str) -> list[str]:
    return sorted(u["UserName"] for u in iam.get_group(GroupName=group)["Users"])


def test_sweeper_reads_only_users_with_a_pending_retirement(client, app, calls, iam):
    """30 users, one rotated with a grace period: the pass is one GetGroup and one ListUserTags (it was
    ListUsers plus ListUserTags for up to 200 users in name order, so a late name waited for many passes)."""
    from datetime import UTC, datetime, timedelta

    from s3api.provisioning import users

    made(client, "team-data")
    for i in range(30):
        _user(client, f"user-{i:02d}")
    assert client.put(f"{USERS}/user-29?grace_seconds=60").status_code == 200
    assert _members(iam, users.RETIRING_GROUP) == ["user-29"]
    calls.names.clear()
    aws = app.extensions["s3api"].aws("local")
    later = datetime.now(UTC) + timedelta(minutes=2)
    assert users.sweep_retiring_keys(aws, now=later) == 1
    assert calls.names == ["GetGroup", "ListUserTags", "DeleteAccessKey", "UntagUser", "RemoveUserFromGroup"]
    assert len(iam.list_access_keys(UserName="user-29")["AccessKeyMetadata"]) == 1
    assert _members(iam, users.RETIRING_GROUP) == []
    calls.names.clear()
    assert users.sweep_retiring_keys(aws, now=later) == 0
    assert calls.names == ["GetGroup"]  # nothing pending: one call, whatever the number of users


def test_reading_a_user_whose_retirement_is_due_takes_it_out_of_the_marker_group(client, app, iam, monkeypatch):
    from datetime import UTC, datetime, timedelta

    from s3api.provisioning import users

    made(client, "team-data")
    _user(client, "alice")
    assert client.put(f"{USERS}/alice?grace_seconds=60").status_code == 200
    assert _members(iam, users.RETIRING_GROUP) == ["alice"]
    monkeypatch.setattr(users, "clock", lambda: datetime.now(UTC) + timedelta(minutes=2))
    shown = client.get(f"{USERS}/alice")
    assert shown.status_code == 200 and "RetiringKeys" not in shown.json
    assert _members(iam, users.RETIRING_GROUP) == []


def test_user_and_bucket_delete_remove_the_marker_membership(client, iam):
    """AWS refuses DeleteUser while the user is in any group (moto does not): the marker is one of them; and
    the marker grants nothing, so a bucket delete still deletes a user whose only access was the bucket."""
    from s3api.provisioning import users

    made(client, "team-data")
    _user(client, "alice")
    _user(client, "bob")
    for name in ("alice", "bob"):
        assert client.put(f"{USERS}/{name}?grace_seconds=600").status_code == 200
    assert _members(iam, users.RETIRING_GROUP) == ["alice", "bob"]
    assert client.delete(f"{USERS}/alice").status_code == 200
    assert _members(iam, users.RETIRING_GROUP) == ["bob"]
    assert client.delete(f"{BUCKETS}/team-data").status_code == 200
    assert _members(iam, users.RETIRING_GROUP) == []
    assert [u["UserName"] for u in iam.list_users()["Users"]] == []


def test_a_failed_grace_rotation_leaves_no_marker_behind(client, app, iam):
    """The marker group and membership are undone when the retirement tag cannot be written."""
    from s3api.provisioning import users

    made(client, "team-data")
    _user(client, "alice")

    def fail_tagging(model: Any, **_: Any) -> None:
        if model.name == "TagUser":
            raise ClientError({"Error": {"Code": "InternalError", "Message": "x"}}, model.name)

    app.extensions["s3api"].clients.add_hook("before-call", fail_tagging)
    try:
        assert client.put(f"{USERS}/alice?grace_seconds=60").status_code >= 500
    finally:
        app.extensions["s3api"].clients.remove_hook("before-call", fail_tagging)
    assert users.RETIRING_GROUP not in [g["GroupName"] for g in iam.list_groups()["Groups"]]
