"""Security review (issue 11): a create retried after a timeout.

The client's POST times out while the server finishes (or the server dies half-way after its claim on the
name). The retried POST must answer the same success for a complete resource that is provably ours, finish
or cleanly refuse (saying how to recover) a half-made one, and never leave a bucket without its group and
policy or a name that no route can create or delete again.

A server that dies after its k-th AWS call is simulated by :class:`DieFrom`: call k and every later one fail,
so the rollback's own calls fail too and the emulator keeps exactly what a dead process would leave.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest
from flask import Flask

from s3api import create_app
from s3api.provisioning import buckets
from tests import faults
from tests.conftest import Client, make_settings

API = "/v1/s3/local"
BUCKETS = f"{API}/buckets"
WEBSITES = f"{API}/websites"
LOG_BUCKET = "s3api-access-logs-123456789012"
TAGS = [{"Key": "app", "Value": "retry"}]
WRITES = ("Put", "Create", "Delete", "Attach", "Detach", "Add", "Remove", "Tag", "Untag", "Update")


class DieFrom:
    """A before-call hook: the k-th AWS call (1-based) and every one after it fail, as if the process died."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.calls: list[str] = []

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)
        if len(self.calls) >= self.k:
            raise faults.injected(model.name)


def state() -> dict[str, Any]:
    return faults.snapshot(skip_objects_of=[LOG_BUCKET])


def count(app: Flask, request: Any) -> list[str]:
    with faults.aws_calls(app) as hook:
        r = request()
    assert r.status_code == 200, r.json
    return list(hook.calls)


def die_at(app: Flask, k: int, request: Any) -> None:
    with faults.hooked(app, DieFrom(k)):
        r = request()
    assert r.status_code >= 500, r.json


@pytest.fixture
def stale_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """Claims count as abandoned at once (in production: after ``CLAIM_STALE_AFTER``, 10 minutes)."""
    monkeypatch.setattr(buckets, "CLAIM_STALE_AFTER", timedelta(0), raising=False)


def create_bucket(client: Client, name: str = "alpha-data", tags: list[dict[str, str]] = TAGS, **body: Any) -> Any:
    return client.post(BUCKETS, json={"BucketInput": {"Bucket": name}, "Tags": tags, **body})


def create_user(client: Client, name: str = "alice", bucket: str = "alpha-data") -> Any:
    return client.post(f"{BUCKETS}/{bucket}/users", json={"User": {"UserName": name}, "Groups": ["BktRWGrp"]})


# --- buckets --------------------------------------------------------------------------------------------------

#: a clean create with a lifecycle and the log bucket: HeadBucket, 3 GetGroup, 2 GetPolicy, CreatePolicy, ...
BUCKET_CALLS = 17


def test_bucket_create_call_count_is_what_the_parametrisation_covers(app, client):
    assert len(count(app, lambda: create_bucket(client, Lifecycle="deep-archive"))) == BUCKET_CALLS


@pytest.mark.parametrize("k", range(1, BUCKET_CALLS + 1))
def test_bucket_create_retried_after_death_at_each_call_finishes(app, client, stale_now, k):
    """Whatever call the first attempt died at, the retry answers 200 with a bucket exactly like a clean
    create's, and DELETE then removes every piece (nothing orphaned, the name not wedged)."""
    before = state()
    die_at(app, k, lambda: create_bucket(client, Lifecycle="deep-archive"))
    r = create_bucket(client, Lifecycle="deep-archive")
    assert r.status_code == 200, (k, r.json)
    assert r.json["Bucket"] == "/alpha-data"
    retried = state()
    assert client.delete(f"{BUCKETS}/alpha-data").status_code == 200
    assert state() == before
    assert create_bucket(client, Lifecycle="deep-archive").status_code == 200
    assert state() == retried  # the retried bucket is exactly a clean one: tags, group, policy, attachment
    s3 = boto3.client("s3", region_name="us-east-1")
    assert s3.get_bucket_encryption(Bucket="alpha-data")["ServerSideEncryptionConfiguration"]["Rules"]
    assert all(s3.get_public_access_block(Bucket="alpha-data")["PublicAccessBlockConfiguration"].values())


def test_retry_of_a_complete_bucket_answers_the_same_success_with_reads_only(app, client):
    first = create_bucket(client, Lifecycle="deep-archive")
    assert first.status_code == 200
    before = state()
    with faults.aws_calls(app) as hook:
        again = create_bucket(client, Lifecycle="deep-archive")
    assert again.status_code == 200, again.json
    live = {"AttachmentCount", "UpdateDate"}  # IAM's current view: the first answer predates the attachment
    strip = {**first.json, "Policy": {k: v for k, v in first.json["Policy"].items() if k not in live}}
    assert {**again.json, "Policy": {k: v for k, v in again.json["Policy"].items() if k not in live}} == strip
    assert again.json["Policy"]["AttachmentCount"] == 1
    assert not [c for c in hook.calls if c.split(":")[1].startswith(WRITES)], hook.calls
    assert state() == before


@pytest.mark.parametrize(
    "body",
    [
        {"tags": [{"Key": "app", "Value": "other"}]},
        {"tags": TAGS, "Lifecycle": "deep-archive"},  # the first create had no lifecycle rule
    ],
    ids=["other-tags", "other-lifecycle"],
)
def test_create_of_a_complete_bucket_with_another_body_is_409(client, body):
    assert create_bucket(client).status_code == 200
    before = state()
    r = create_bucket(client, **body)
    assert r.status_code == 409 and "already exists" in r.json["message"]
    assert state() == before


def test_retry_while_the_first_attempt_may_still_run_is_409_being_created(app, client):
    """A claim younger than CLAIM_STALE_AFTER may belong to a request still working: never raced."""
    before = state()
    calls = count(app, lambda: create_bucket(client))
    assert client.delete(f"{BUCKETS}/alpha-data").status_code == 200
    for op in ("CreateBucket", "CreateGroup"):  # claim without bucket; bucket without group
        die_at(app, calls.index(f"s3:{op}" if op == "CreateBucket" else f"iam:{op}") + 1, lambda: create_bucket(client))
        held = state()
        r = create_bucket(client)
        assert r.status_code == 409 and "being created" in r.json["message"], r.json
        assert state() == held
        buckets.CLAIM_STALE_AFTER, saved = timedelta(0), buckets.CLAIM_STALE_AFTER
        try:
            assert create_bucket(client).status_code == 200  # once stale, the retry finishes it
        finally:
            buckets.CLAIM_STALE_AFTER = saved
        assert client.delete(f"{BUCKETS}/alpha-data").status_code == 200
        assert state() == before


def test_a_claim_or_bucket_not_provably_ours_is_never_adopted(client, stale_now):
    iam = boto3.client("iam", region_name="us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    doc = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'
    # a claim-named policy without our org tag
    iam.create_policy(PolicyName="alpha-data-BktAdmPlc", PolicyDocument=doc)
    before = state()
    assert create_bucket(client).status_code == 409
    assert state() == before
    # our claim, but the untagged bucket holds data: not a half-made create of ours
    iam.delete_policy(PolicyArn="arn:aws:iam::123456789012:policy/alpha-data-BktAdmPlc")
    org = [{"Key": "s3api:org", "Value": "test"}]
    iam.create_policy(PolicyName="beta-data-BktAdmPlc", PolicyDocument=doc, Tags=org)
    s3.create_bucket(Bucket="beta-data")
    s3.put_object(Bucket="beta-data", Key="k", Body=b"x")
    before = state()
    r = create_bucket(client, "beta-data")
    assert r.status_code == 409 and "already exists" in r.json["message"]
    assert state() == before
    # our claim attached to something else: not an abandoned claim
    iam.create_policy(PolicyName="gamma-data-BktAdmPlc", PolicyDocument=doc, Tags=org)
    iam.create_group(GroupName="other")
    iam.attach_group_policy(GroupName="other", PolicyArn="arn:aws:iam::123456789012:policy/gamma-data-BktAdmPlc")
    before = state()
    assert create_bucket(client, "gamma-data").status_code == 409
    assert state() == before


@pytest.fixture
def eu_client(aws: None) -> Client:
    return Client(create_app(make_settings(None, region="eu-west-1")).test_client())


@pytest.mark.parametrize("op", ["CreateBucket", "HeadBucket", "PutBucketTagging", "CreateGroup", "AttachGroupPolicy"])
def test_outside_us_east_1_a_retry_finishes_too(eu_client, stale_now, op):
    """Outside us-east-1 a second CreateBucket answers BucketAlreadyOwnedByYou (us-east-1: 200); the retry
    never calls it again for an existing bucket, so both regions behave the same."""
    app = eu_client.raw.application
    before = state()
    calls = count(app, lambda: create_bucket(eu_client))
    assert eu_client.delete(f"{BUCKETS}/alpha-data").status_code == 200
    k = [c.split(":")[1] for c in calls].index(op, 1 if op == "HeadBucket" else 0) + 1
    die_at(app, k, lambda: create_bucket(eu_client))
    r = create_bucket(eu_client)
    assert r.status_code == 200, r.json
    assert create_bucket(eu_client).status_code == 200  # and a retry of the complete one
    s3 = boto3.client("s3", region_name="eu-west-1")
    assert s3.get_bucket_location(Bucket="alpha-data")["LocationConstraint"] == "eu-west-1"
    assert eu_client.delete(f"{BUCKETS}/alpha-data").status_code == 200
    assert state() == before


def test_moto_answers_bucket_already_owned_by_you_outside_us_east_1(aws):
    """The quirk the retry avoids: the owner's second CreateBucket is 200 in us-east-1 only."""
    east = boto3.client("s3", region_name="us-east-1")
    east.create_bucket(Bucket="quirk-east")
    east.create_bucket(Bucket="quirk-east")
    eu = boto3.client("s3", region_name="eu-west-1")
    config = {"LocationConstraint": "eu-west-1"}
    eu.create_bucket(Bucket="quirk-eu", CreateBucketConfiguration=config)
    with pytest.raises(eu.exceptions.BucketAlreadyOwnedByYou):
        eu.create_bucket(Bucket="quirk-eu", CreateBucketConfiguration=config)


# --- bucket users ---------------------------------------------------------------------------------------------


def test_user_create_retried_after_death_at_each_call(app, client):
    """Before the claim (CreateUser) the retry simply creates the user. After it, the retry answers 409 saying
    the earlier create was interrupted and how to recover (never a second secret for an existing user); that
    recovery (DELETE, then POST) works and leaves nothing of the half-made user behind. Each k uses a fresh
    bucket, so the death can also fall among the groups and policies made lazily for its first user."""
    assert create_bucket(client, "probe").status_code == 200
    calls = count(app, lambda: create_user(client, "probe", bucket="probe"))
    claim = calls.index("iam:CreateUser") + 1
    assert "iam:CreateGroup" in calls[claim:]
    for k in range(1, len(calls) + 1):
        name, bucket = f"u{k}", f"b{k}-data"
        before = state()
        assert create_bucket(client, bucket).status_code == 200
        die_at(app, k, lambda: create_user(client, name, bucket))
        r = create_user(client, name, bucket)
        if k <= claim:
            assert r.status_code == 200, (k, r.json)
        else:
            assert r.status_code == 409, (k, r.json)
            assert "interrupted" in r.json["message"] and "delete" in r.json["message"].lower(), r.json
            assert "AccessKey" not in r.json
            assert client.delete(f"{BUCKETS}/{bucket}/users/{name}").status_code == 200, k
            assert create_user(client, name, bucket).status_code == 200, k
        keys = boto3.client("iam", region_name="us-east-1").list_access_keys(UserName=name)["AccessKeyMetadata"]
        assert len(keys) == 1, k
        assert client.delete(f"{BUCKETS}/{bucket}").status_code == 200  # user, groups, policies, bucket
        assert state() == before, k


def test_retried_create_of_a_complete_user_is_409_without_a_secret(client, bucket_and_user):
    r = create_user(client)
    assert r.status_code == 409
    assert "interrupted" not in r.json["message"]
    assert "AccessKey" not in r.json and "SecretAccessKey" not in str(r.json)


@pytest.fixture
def bucket_and_user(client: Client) -> None:
    assert create_bucket(client).status_code == 200
    assert create_user(client).status_code == 200


def test_a_keyless_user_of_another_scope_gets_the_plain_409(client, bucket_and_user):
    """The recovery hint is only for a half-made user of *this* scope (our org tag and this bucket's tag)."""
    assert create_bucket(client, "beta-data").status_code == 200
    boto3.client("iam", region_name="us-east-1").create_user(UserName="bob")
    r = create_user(client, "bob", bucket="beta-data")
    assert r.status_code == 409 and "interrupted" not in r.json["message"]


# --- websites -------------------------------------------------------------------------------------------------

SITE = "www.example.test"


def create_site(client: Client, site: str = SITE) -> Any:
    return client.post(WEBSITES, json={"BucketInput": {"Bucket": site}, "Tags": TAGS})


def test_website_create_retried_after_death_with_only_the_claim_left(app, client, monkeypatch):
    """The first attempt died right after its claim (CreatePolicy ``<site>-BktAdmPlc``): the name was wedged
    (409 on POST, 404 on DELETE). The retry answers 409 "being created" while the claim is young, then takes
    it over and creates the site."""
    calls = count(app, lambda: create_site(client, "probe.example.test"))
    k = calls.index("s3:CreateBucket") + 1
    die_at(app, k, lambda: create_site(client))
    held = state()
    r = create_site(client)
    assert r.status_code == 409 and "being created" in r.json["message"], r.json
    assert state() == held
    monkeypatch.setattr(buckets, "CLAIM_STALE_AFTER", timedelta(0), raising=False)
    r = create_site(client)
    assert r.status_code == 200, r.json
    assert r.json["Distribution"]["Id"]
    assert client.get(f"{WEBSITES}/{SITE}").status_code == 200


@pytest.mark.parametrize(
    "op", ["iam:CreateGroup", "cloudfront:CreateDistributionWithTags", "route53:ChangeResourceRecordSets"]
)
def test_website_create_retried_after_death_past_the_bucket_says_how_to_recover(app, client, op):
    """Past CreateBucket the retry is a 409 that touches nothing and names the recovery; following it
    (DELETE, which finishes a half-made site, then POST) gives a working site."""
    calls = count(app, lambda: create_site(client, "probe.example.test"))
    die_at(app, calls.index(op) + 1, lambda: create_site(client))
    held = state()
    r = create_site(client)
    assert r.status_code == 409, r.json
    assert "interrupted" in r.json["message"] and f"DELETE /websites/{SITE}" in r.json["message"], r.json
    assert state() == held
    assert client.delete(f"{WEBSITES}/{SITE}").status_code == 200
    bucket_names = [b["Name"] for b in boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"]]
    assert SITE not in bucket_names
    iam = boto3.client("iam", region_name="us-east-1")
    assert not [p for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"].startswith(SITE + "-")]
    assert not [g for g in iam.list_groups()["Groups"] if g["GroupName"].startswith(SITE + "-")]
    if op == "iam:CreateGroup":  # no distribution made yet (AWS keeps a disabled one's alias until deleted)
        assert create_site(client).status_code == 200


def test_a_website_bucket_not_ours_gets_the_plain_409(client):
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=SITE)
    r = create_site(client)
    assert r.status_code == 409 and "interrupted" not in r.json["message"]
