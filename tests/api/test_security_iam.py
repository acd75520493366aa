"""Security review (issue 11): IAM names and ownership.

A website path scope and a bucket can map to the same IAM names (site ``www.example.test`` with path ``/docs/``
and bucket ``www.example.test-docs`` both give ``www.example.test-docs-BktAdmGrp``). A group or policy is
joined, listed, reused or deleted only when it is provably the scope's own (``scope.GroupSpec.owns``); a
bucket is not created over another scope's (or leftover) names, nor a path scope over an existing bucket's.
Where a key's rights are the point, moto's IAM enforcement is on (as in ``test_users_enforced.py``).
"""

from __future__ import annotations

from typing import Any, Iterator

import boto3
import pytest
from moto.core import disable_iam_authentication, enable_iam_authentication

from s3api import create_app
from s3api.provisioning import users
from s3api.provisioning.scope import GroupSpec
from tests import faults
from tests.api.test_users_enforced import bootstrap_admin, denied, s3_with
from tests.conftest import Client, make_settings

SITE = "www.example.test"
API = "/v1/s3/local"
LOGS = ["s3api-access-logs-123456789012"]  # moto delivers access logs there as requests go by


@pytest.fixture
def enforced(seed: dict[str, str]) -> Iterator[Client]:
    """A client whose service identity is a real IAM user, with IAM enforcement on (turned on after the site is
    created: moto's Route53 does not implement IAM checks)."""
    ak, sk = bootstrap_admin()
    app = create_app(make_settings(seed, access_key_id=ak, secret_access_key=sk))
    client = Client(app.test_client())
    client.admin = {"AccessKeyId": ak, "SecretAccessKey": sk}  # type: ignore[attr-defined]
    r = client.post(f"{API}/websites", json={"BucketInput": {"Bucket": SITE}})  # moto: Route53 has no IAM
    assert r.status_code == 200, r.json
    with enable_iam_authentication():
        yield client


def snapshot() -> dict[str, Any]:
    """faults.snapshot (its cached clients hold the default test credentials, so enforcement is paused)."""
    with disable_iam_authentication():
        return faults.snapshot(skip_objects_of=LOGS)


def site_user(client: Client, name: str, path: str, groups: list[str] | None = None) -> Any:
    body: dict[str, Any] = {"User": {"UserName": name, "Path": path}}
    if groups is not None:
        body["Groups"] = groups
    return client.post(f"{API}/websites/{SITE}/users", json=body)


def bucket_user(client: Client, bucket: str, name: str, groups: list[str] | None = None) -> Any:
    body: dict[str, Any] = {"User": {"UserName": name}}
    if groups is not None:
        body["Groups"] = groups
    return client.post(f"{API}/buckets/{bucket}/users", json=body)


def admin_iam(client: Client) -> Any:
    """An IAM client acting as the service identity."""
    key = client.admin  # type: ignore[attr-defined]
    return boto3.client(
        "iam",
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )


def groups_of(iam: Any, user: str) -> list[str]:
    return sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"])


# --- point 2: a website path scope and a bucket sharing IAM names --------------------------------------------


def test_path_scope_over_an_existing_bucket_is_refused(enforced):
    """Site path ``/docs/`` vs bucket ``www.example.test-docs``: the website user would land in the bucket's
    admin group (writing there, setting its policy). Refused with 409 naming the bucket; nothing changes."""
    bucket = f"{SITE}-docs"
    assert enforced.post(f"{API}/buckets", json={"BucketInput": {"Bucket": bucket}}).status_code == 200
    owner = bucket_user(enforced, bucket, "bucket-owner")
    assert owner.status_code == 200, owner.json
    iam = admin_iam(enforced)
    before = snapshot()
    r = site_user(enforced, "docs-editor", "/docs/")
    assert r.status_code == 409, r.json
    assert bucket in r.json["message"]
    assert snapshot() == before
    assert iam.get_group(GroupName=f"{bucket}-BktAdmGrp")["Users"][0]["UserName"] == "bucket-owner"


def test_path_scope_names_compare_case_insensitively(client, iam):
    """IAM names are unique case-insensitively: ``/Docs/`` gives ``www.example.test-Docs-BktAdmGrp``, the same
    IAM entity as bucket ``www.example.test-docs``'s admin group."""
    assert client.post(f"{API}/websites", json={"BucketInput": {"Bucket": SITE}}).status_code == 200
    bucket = f"{SITE}-docs"
    assert client.post(f"{API}/buckets", json={"BucketInput": {"Bucket": bucket}}).status_code == 200
    r = site_user(client, "docs-editor", "/Docs/")
    assert r.status_code == 409, r.json
    assert bucket in r.json["message"]


def test_bucket_over_an_existing_path_scope_is_refused(enforced):
    """Bucket ``www.example.test-pub`` vs the site's ``/pub/`` group: create answers 409 naming the group."""
    assert site_user(enforced, "pub-editor", "/pub/").status_code == 200
    before = snapshot()
    r = enforced.post(f"{API}/buckets", json={"BucketInput": {"Bucket": f"{SITE}-pub"}})
    assert r.status_code == 409, r.json
    assert f"{SITE}-pub-BktAdmGrp" in r.json["message"]
    assert snapshot() == before


def test_bucket_sharing_names_with_a_path_scope_never_reaches_it(enforced):
    """A bucket ``www.example.test-pub`` made elsewhere (another tool, the Yale service) next to the site's
    ``/pub/`` scope: its user routes and its delete never join, list, or delete the site's group, policy or
    user; the site's key keeps working on its path, and no bucket user can deface the site."""
    iam = admin_iam(enforced)
    editor = site_user(enforced, "pub-editor", "/pub/")
    assert editor.status_code == 200, editor.json
    bucket = f"{SITE}-pub"
    s3_with(enforced.admin).create_bucket(Bucket=bucket)
    # tagged as ours (as the Yale service tags its buckets): the managed-bucket boundary lets the delete through,
    # so the ownership rule is what must keep the site's group, policy and user
    s3_with(enforced.admin).put_bucket_tagging(
        Bucket=bucket, Tagging={"TagSet": [{"Key": "s3api:org", "Value": "test"}]}
    )
    group = f"{SITE}-pub-BktAdmGrp"
    policy_arn = iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"][0]["PolicyArn"]

    r = bucket_user(enforced, bucket, "intruder")
    assert r.status_code == 409, r.json
    assert group in r.json["message"]
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_user(UserName="intruder")
    assert enforced.get(f"{API}/buckets/{bucket}/users").json == []
    assert enforced.get(f"{API}/buckets/{bucket}/users/pub-editor").status_code == 404
    assert enforced.delete(f"{API}/buckets/{bucket}/users/pub-editor").status_code == 404

    with disable_iam_authentication():  # moto's CloudFront (the live-website check lists distributions) has no IAM
        gone = enforced.delete(f"{API}/buckets/{bucket}")
    assert gone.status_code == 200, gone.json
    assert iam.get_group(GroupName=group)["Users"][0]["UserName"] == "pub-editor"
    assert iam.get_policy(PolicyArn=policy_arn)["Policy"]["Path"] == "/pub/"
    key = s3_with(editor.json["AccessKey"])
    key.put_object(Bucket=SITE, Key="pub/page.html", Body=b"ok")
    assert denied(key.put_object, Bucket=SITE, Key="index.html", Body=b"defaced") == "AccessDenied"


def test_owns_needs_path_and_policy(iam):
    """The one ownership rule: name (case-insensitively), group path, attached policy name and path."""
    spec = GroupSpec("s-docs-BktRWGrp", "s-docs-BktRWPlc", "", dict, policy_path="/docs/", group_path="/docs/")
    ours = [{"PolicyName": "s-docs-BktRWPlc", "PolicyArn": "arn:aws:iam::1:policy/docs/s-docs-BktRWPlc"}]
    root = [{"PolicyName": "s-docs-BktRWPlc", "PolicyArn": "arn:aws:iam::1:policy/s-docs-BktRWPlc"}]
    assert spec.owns({"GroupName": "s-docs-BktRWGrp", "Path": "/docs/"}, ours)
    assert spec.owns({"GroupName": "S-Docs-BktRWGrp", "Path": "/docs/"}, ours)
    assert spec.owns({"GroupName": "s-docs-BktRWGrp", "Path": "/"}, ours)  # Yale: only the policy has the path
    assert not spec.owns({"GroupName": "s-docs-BktRWGrp", "Path": "/"}, root)  # a bucket's group
    assert not spec.owns({"GroupName": "s-docs-BktRWGrp", "Path": "/doc/s/"}, ours)
    bucket = GroupSpec("s-docs-BktRWGrp", "s-docs-BktRWPlc", "", dict)
    assert bucket.owns({"GroupName": "s-docs-BktRWGrp", "Path": "/"}, root)
    assert bucket.owns({"GroupName": "s-docs-BktRWGrp", "Path": "/"}, [])  # interrupted between create and attach
    assert not bucket.owns({"GroupName": "s-docs-BktRWGrp", "Path": "/"}, ours)
    assert not bucket.owns({"GroupName": "s-docs-BktRWGrp", "Path": "/docs/"}, [])


# --- point 5: leftovers are never adopted -------------------------------------------------------------------


@pytest.mark.parametrize("leftover", ["group", "policy"])
def test_bucket_create_over_leftover_names_is_refused(client, iam, leftover):
    """A user create racing a bucket delete can leave ``<b>-BktRWGrp`` with a keyed member; re-creating the
    bucket adopted it (the old key read the new bucket). Now 409 naming the leftover, nothing created."""
    if leftover == "group":
        iam.create_group(GroupName="fresh-data-BktRWGrp")
        iam.create_user(UserName="old-reader")
        iam.add_user_to_group(GroupName="fresh-data-BktRWGrp", UserName="old-reader")
        name = "fresh-data-BktRWGrp"
    else:
        document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'
        iam.create_policy(PolicyName="fresh-data-BktROPlc", PolicyDocument=document)
        name = "fresh-data-BktROPlc"
    before = faults.snapshot(skip_objects_of=LOGS)
    r = client.post(f"{API}/buckets", json={"BucketInput": {"Bucket": "fresh-data"}})
    assert r.status_code == 409, r.json
    assert name in r.json["message"]
    assert faults.snapshot(skip_objects_of=LOGS) == before


def test_website_create_over_leftover_names_is_refused(client, iam):
    """The same rule for a website's bucket: a leftover ``<site>-BktRWGrp`` with a keyed member is never
    adopted by a new website of that name (409 naming it, nothing created)."""
    group = "www2.example.test-BktRWGrp"
    iam.create_group(GroupName=group)
    iam.create_user(UserName="old-reader")
    iam.add_user_to_group(GroupName=group, UserName="old-reader")
    before = faults.snapshot(skip_objects_of=LOGS)
    r = client.post(f"{API}/websites", json={"BucketInput": {"Bucket": "www2.example.test"}})
    assert r.status_code == 409, r.json
    assert group in r.json["message"]
    assert faults.snapshot(skip_objects_of=LOGS) == before


def test_user_create_rechecks_the_bucket_after_its_claim(client, iam, s3, monkeypatch):
    """The bucket deleted between the user create's HeadBucket and its CreateUser (a racing bucket delete):
    the create rolls back (404) instead of leaving a keyed user in groups it would create for a gone bucket."""
    assert client.post(f"{API}/buckets", json={"BucketInput": {"Bucket": "racy-data"}}).status_code == 200
    real = users.iam.create_user

    def create_then_bucket_goes(*args: Any, **kwargs: Any) -> Any:
        made = real(*args, **kwargs)
        assert client.delete(f"{API}/buckets/racy-data").status_code == 200  # the racing delete
        return made

    monkeypatch.setattr(users.iam, "create_user", create_then_bucket_goes)
    r = bucket_user(client, "racy-data", "late-user", ["BktRWGrp"])
    assert r.status_code == 404, r.json
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_user(UserName="late-user")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_group(GroupName="racy-data-BktRWGrp")
