"""Bucket routes through the test client on mock_aws: create (validation, rollback, races), list, head,
show, update, delete (IAM clean-up, retry-safety, live websites) and the Cyberduck bookmark.

Tests named ``test_yale_*_fixed`` prove that a weakness of the Yale service (yale-s3-api.md §4, §9) is gone.
"""

from __future__ import annotations

import json
import logging
import plistlib
import threading
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from s3api import create_app
from s3api.aws.s3 import DISTRIBUTION_TAG
from s3api.provisioning import policies
from tests.conftest import Client, make_settings

BUCKETS = "/v1/s3/local/buckets"
ORG = {"Key": "s3api:org", "Value": "test"}

#: The AWS calls of a successful create with a lifecycle and a log bucket, in order.
CREATE_CALLS = [
    "HeadBucket",
    "GetGroup",  # none of the bucket's IAM names may exist (leftovers, a website path scope's)
    "GetGroup",
    "GetGroup",
    "GetPolicy",  # BktRWPlc
    "GetPolicy",  # BktROPlc
    "CreatePolicy",
    "CreateBucket",
    "HeadBucket",  # the bounded bucket_exists waiter
    "PutBucketTagging",
    "PutBucketLifecycleConfiguration",
    "PutBucketEncryption",
    "PutPublicAccessBlock",
    "PutBucketOwnershipControls",
    "PutBucketLogging",
    "CreateGroup",
    "AttachGroupPolicy",
]


# --- helpers -------------------------------------------------------------------------------------------------


class Recorder:
    """Records every AWS call the app makes; ``fail_at(k)`` makes the k-th call (0-based) fail with a 500."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail_index: int | None = None
        self.fail_op: str | None = None

    def fail_at(self, index: int) -> None:
        self.calls.clear()
        self.fail_index = index

    def __call__(self, model: Any, params: Any = None, **_: Any) -> None:
        index = len(self.calls)
        self.calls.append(model.name)
        if index == self.fail_index or model.name == self.fail_op:
            self.fail_index = self.fail_op = None
            raise ClientError(
                {
                    "Error": {"Code": "InternalError", "Message": "injected"},
                    "ResponseMetadata": {"HTTPStatusCode": 500},
                },
                model.name,
            )


@pytest.fixture
def calls(app: Any) -> Any:
    recorder = Recorder()
    clients = app.extensions["s3api"].clients
    clients.add_hook("before-call", recorder)
    yield recorder
    clients.remove_hook("before-call", recorder)


def create(client: Client, name: str, **body: Any) -> Any:
    return client.post(BUCKETS, json={"BucketInput": {"Bucket": name}, **body})


def state(s3: Any, iam: Any) -> dict[str, list[str]]:
    """What the emulator holds: buckets, customer-managed policies, groups, users (and their keys)."""
    users = sorted(u["UserName"] for u in iam.list_users()["Users"])
    return {
        "buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
        "policies": sorted(p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]),
        "groups": sorted(g["GroupName"] for g in iam.list_groups()["Groups"]),
        "users": users,
        "keys": sorted(k["AccessKeyId"] for u in users for k in iam.list_access_keys(UserName=u)["AccessKeyMetadata"]),
    }


def tags_of(s3: Any, bucket: str) -> list[dict[str, str]]:
    return s3.get_bucket_tagging(Bucket=bucket)["TagSet"]


def add_user(iam: Any, name: str, *groups: str, keys: int = 1) -> list[str]:
    iam.create_user(UserName=name)
    for group in groups:
        iam.add_user_to_group(GroupName=group, UserName=name)
    return [iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"] for _ in range(keys)]


def add_group(iam: Any, bucket: str, kind: str) -> str:
    """A ``<bucket>-<kind>`` group with its policy attached, as the users routes make them lazily."""
    doc = json.dumps(policies.bucket_policy_for(kind, bucket))
    arn = iam.create_policy(PolicyName=policies.policy_name(bucket, kind), PolicyDocument=doc)["Policy"]["Arn"]
    group = policies.group_name(bucket, kind)
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    return group


# --- create --------------------------------------------------------------------------------------------------


def test_create_answers_yale_shape(client, iam):
    r = create(client, "alpha-data", Tags=[{"Key": "Application", "Value": "x"}])
    assert r.status_code == 200, r.json
    body = r.json
    assert set(body) == {"Bucket", "Policy", "Group"}
    assert body["Bucket"] == "/alpha-data"
    policy, group = body["Policy"], body["Group"]
    assert policy["PolicyName"] == "alpha-data-BktAdmPlc"
    assert policy["Arn"] == "arn:aws:iam::123456789012:policy/alpha-data-BktAdmPlc"
    assert policy["DefaultVersionId"] == "v1" and policy["Path"] == "/"
    assert policy["CreateDate"].startswith("20") and "T" in policy["CreateDate"]  # ISO 8601
    assert policy["Tags"] == [ORG]
    assert group["GroupName"] == "alpha-data-BktAdmGrp"
    assert group["Arn"] == "arn:aws:iam::123456789012:group/alpha-data-BktAdmGrp"
    assert "T" in group["CreateDate"]

    attached = iam.list_attached_group_policies(GroupName="alpha-data-BktAdmGrp")["AttachedPolicies"]
    assert attached == [{"PolicyName": "alpha-data-BktAdmPlc", "PolicyArn": policy["Arn"]}]
    version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId="v1")["PolicyVersion"]
    assert version["Document"] == policies.default_bucket_admin("alpha-data")
    description = iam.get_policy(PolicyArn=policy["Arn"])["Policy"]["Description"]
    assert description == "Admin policy for alpha-data bucket"


def test_create_configures_the_bucket(client, s3):
    r = create(client, "alpha-data", Tags=[{"Key": "Application", "Value": "x"}], Lifecycle="deep-archive")
    assert r.status_code == 200, r.json
    assert tags_of(s3, "alpha-data") == [{"Key": "Application", "Value": "x"}, ORG]
    rules = s3.get_bucket_lifecycle_configuration(Bucket="alpha-data")["Rules"]
    assert [(r["ID"], r["Transitions"][0]["StorageClass"]) for r in rules] == [("deep-archive-rule", "DEEP_ARCHIVE")]
    sse = s3.get_bucket_encryption(Bucket="alpha-data")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    pab = s3.get_public_access_block(Bucket="alpha-data")["PublicAccessBlockConfiguration"]
    assert pab == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    ownership = s3.get_bucket_ownership_controls(Bucket="alpha-data")["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    logging_ = s3.get_bucket_logging(Bucket="alpha-data")["LoggingEnabled"]
    assert logging_ == {"TargetBucket": "s3api-access-logs-123456789012", "TargetPrefix": "s3/alpha-data/"}


def test_create_calls_in_order(client, calls):
    assert create(client, "alpha-data", Lifecycle="deep-archive").status_code == 200
    assert calls.calls == CREATE_CALLS


def test_create_without_lifecycle_or_log_bucket(aws, s3):
    client = Client(create_app(make_settings()).test_client())  # no access_log configured
    assert create(client, "alpha-data").status_code == 200
    with pytest.raises(ClientError, match="NoSuchLifecycleConfiguration"):
        s3.get_bucket_lifecycle_configuration(Bucket="alpha-data")
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket="alpha-data")
    assert tags_of(s3, "alpha-data") == [ORG]


def test_create_outside_us_east_1_sets_the_location(aws, s3):
    client = Client(create_app(make_settings(region="eu-west-1")).test_client())
    assert create(client, "alpha-data").status_code == 200
    assert s3.get_bucket_location(Bucket="alpha-data")["LocationConstraint"] == "eu-west-1"
    assert client.get(f"{BUCKETS}/alpha-data?include=region").json["Region"] == "eu-west-1"


@pytest.mark.parametrize("name", ["logs", "iam", "ec2"])
def test_service_named_buckets_work(client, s3, name):
    assert create(client, name).status_code == 200
    assert client.head(f"{BUCKETS}/{name}").status_code == 200
    assert client.get(f"{BUCKETS}/{name}").json["Tags"] == [ORG]
    assert client.delete(f"{BUCKETS}/{name}").status_code == 200
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


INVALID_CREATES = [
    ({"BucketInput": {"Bucket": "Bad_Name"}}, "BucketInput"),
    ({"BucketInput": {"Bucket": "ab"}}, "BucketInput"),
    ({"BucketInput": {"Bucket": "a" * 64}}, "BucketInput"),
    ({"BucketInput": {"Bucket": "192.168.1.1"}}, "BucketInput"),
    ({"BucketInput": {"Bucket": "xn--data"}}, "BucketInput"),
    ({"BucketInput": {"Bucket": "data..x"}}, "BucketInput"),
    ({"BucketInput": {"Bucket": "data-s3alias"}}, "BucketInput"),
    ({"BucketInput": {"Bucket": 12}}, "BucketInput"),
    ({"BucketInput": {}}, "BucketInput"),
    ({}, "BucketInput"),
    ({"BucketInput": {"Bucket": "ok-name", "ACL": "public-read"}}, "BucketInput"),
    ({"BucketInput": {"Bucket": "ok-name"}, "Extra": 1}, "Extra"),
    ({"BucketInput": {"Bucket": "ok-name"}, "Tags": {"Key": "a", "Value": "b"}}, "Tags"),
    ({"BucketInput": {"Bucket": "ok-name"}, "Tags": [{"Key": "aws:x", "Value": "b"}]}, "Tags"),
    ({"BucketInput": {"Bucket": "ok-name"}, "Tags": [{"Key": "", "Value": "b"}]}, "Tags"),
    ({"BucketInput": {"Bucket": "ok-name"}, "Tags": [{"Key": "k" * 129, "Value": "b"}]}, "Tags"),
    ({"BucketInput": {"Bucket": "ok-name"}, "Tags": [{"Key": "a", "Value": "v" * 257}]}, "Tags"),
    ({"BucketInput": {"Bucket": "ok-name"}, "Tags": [{"Key": "a\x00", "Value": "b"}]}, "Tags"),
    ({"BucketInput": {"Bucket": "ok-name"}, "Tags": [{"Key": "a"}]}, "Tags"),
    ({"BucketInput": {"Bucket": "ok-name"}, "Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}, "Tags"),
    ({"BucketInput": {"Bucket": "ok-name"}, "Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(50)]}, "Tags"),
    ({"BucketInput": {"Bucket": "ok-name"}, "Tags": [{"Key": "S3API:ORG", "Value": "mine"}]}, "Tags"),
    ({"BucketInput": {"Bucket": "ok-name"}, "Tags": [{"Key": "S3API:distribution", "Value": "E1"}]}, "Tags"),
    ({"BucketInput": {"Bucket": "ok-name"}, "Lifecycle": ""}, "Lifecycle"),
    ({"BucketInput": {"Bucket": "ok-name"}, "Lifecycle": 5}, "Lifecycle"),
]


@pytest.mark.parametrize(("body", "field"), INVALID_CREATES)
def test_create_validation_is_400_before_any_aws_call(client, calls, s3, iam, body, field):
    before = state(s3, iam)
    r = client.post(BUCKETS, json=body)
    assert r.status_code == 400, r.json
    assert r.json["code"] == "BadRequest"
    errors = r.json["errors"]
    assert field in errors.get("json", errors), errors  # schema errors sit under "json"
    assert calls.calls == []
    assert state(s3, iam) == before


def test_yale_unknown_lifecycle_reaches_aws_fixed(client, calls, s3):
    r = create(client, "alpha-data", Lifecycle="glacier-forever")
    assert r.status_code == 400
    assert "deep-archive" in r.json["errors"]["json"]["Lifecycle"][0]
    assert calls.calls == []
    assert "alpha-data" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_create_rejects_non_json_body(client, calls):
    r = client.post(BUCKETS, data="{not json", content_type="application/json")
    assert r.status_code == 400
    assert calls.calls == []


def test_create_existing_bucket_is_409_and_leaves_it_alone(client, s3, iam):
    s3.create_bucket(Bucket="alpha-data")
    s3.put_object(Bucket="alpha-data", Key="keep.txt", Body=b"x")
    before = state(s3, iam)
    r = create(client, "alpha-data")
    assert r.status_code == 409
    assert r.json["code"] == "Conflict"
    assert state(s3, iam) == before
    assert s3.get_object(Bucket="alpha-data", Key="keep.txt")["Body"].read() == b"x"


def test_create_bucket_of_another_account_is_409(client, calls, s3, iam):
    def forbidden(model: Any, **_: Any) -> None:
        if model.name == "HeadBucket":
            raise ClientError(
                {"Error": {"Code": "403", "Message": "Forbidden"}, "ResponseMetadata": {"HTTPStatusCode": 403}},
                "HeadBucket",
            )

    clients = client.raw.application.extensions["s3api"].clients
    clients.add_hook("before-call", forbidden)
    before = state(s3, iam)
    r = create(client, "alpha-data")
    clients.remove_hook("before-call", forbidden)
    assert r.status_code == 409
    assert calls.calls == ["HeadBucket"]
    assert state(s3, iam) == before


def test_yale_policy_conflict_deletes_the_owners_bucket_fixed(client, calls, s3, iam):
    """A leftover (or a concurrent winner's) ``<b>-BktAdmPlc``: 409, and nothing of anybody's is deleted."""
    iam.create_policy(PolicyName="alpha-data-BktAdmPlc", PolicyDocument=json.dumps(policies.default_bucket_admin("x")))
    before = state(s3, iam)
    r = create(client, "alpha-data")
    assert r.status_code == 409
    assert "EntityAlreadyExists" in r.json["message"]
    assert calls.calls == [*CREATE_CALLS[:7], "GetPolicy"]  # the claim failed (not ours to take over): no undo
    assert state(s3, iam) == before


def test_existing_group_is_409_and_kept(client, s3, iam):
    iam.create_group(GroupName="alpha-data-BktAdmGrp")
    add_user(iam, "someone", "alpha-data-BktAdmGrp")
    before = state(s3, iam)
    r = create(client, "alpha-data")
    assert r.status_code == 409
    assert state(s3, iam) == before  # bucket and policy rolled back; the group that failed us untouched
    assert [u["UserName"] for u in iam.get_group(GroupName="alpha-data-BktAdmGrp")["Users"]] == ["someone"]


@pytest.mark.parametrize("k", range(len(CREATE_CALLS)), ids=[f"{i}-{op}" for i, op in enumerate(CREATE_CALLS)])
def test_create_failure_at_each_step_leaves_nothing_behind(client, calls, s3, iam, k):
    iam.create_policy(PolicyName="unrelated", PolicyDocument=json.dumps(policies.default_bucket_admin("other")))
    s3.create_bucket(Bucket="unrelated-bucket")
    before = state(s3, iam)
    calls.fail_at(k)
    r = create(client, "alpha-data", Tags=[{"Key": "a", "Value": "b"}], Lifecycle="deep-archive")
    assert calls.calls[k] == CREATE_CALLS[k]
    assert r.status_code >= 500, r.json  # InternalError from AWS → 503, never a 2xx
    assert set(r.json) >= {"code", "message", "status", "request_id"}
    assert state(s3, iam) == before
    assert client.head(f"{BUCKETS}/alpha-data").status_code == 404


def test_yale_rollback_deletes_winners_bucket_fixed(app, s3, iam):
    """Two creates of one name racing past HeadBucket (both see 404). In us-east-1 both CreateBuckets
    would answer 200; Yale's loser then failed on CreatePolicy and its rollback deleted the winner's
    bucket. Here the loser is held back until the winner has created the bucket, then fails its claim."""
    both_checked = threading.Barrier(2, timeout=10)
    winner_has_bucket = threading.Event()
    lock = threading.Lock()
    winner: list[int] = []

    def choreograph(model: Any, **_: Any) -> None:
        if model.name != "CreatePolicy":
            return
        both_checked.wait()  # both requests have seen HeadBucket 404
        with lock:
            if not winner:
                winner.append(threading.get_ident())
                return
        assert winner_has_bucket.wait(10)

    def bucket_made(model: Any, **_: Any) -> None:
        if model.name == "PutBucketTagging" and winner and threading.get_ident() == winner[0]:
            winner_has_bucket.set()

    clients = app.extensions["s3api"].clients
    clients.add_hook("before-call", choreograph)
    clients.add_hook("after-call", bucket_made)
    results: list[Any] = []

    def post() -> None:
        results.append(create(Client(app.test_client()), "alpha-data", Tags=[{"Key": "who", "Value": "me"}]))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.status_code for r in results) == [200, 409]
    assert "alpha-data" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert tags_of(s3, "alpha-data") == [{"Key": "who", "Value": "me"}, ORG]
    assert s3.get_public_access_block(Bucket="alpha-data")["PublicAccessBlockConfiguration"]["BlockPublicPolicy"]
    assert iam.get_group(GroupName="alpha-data-BktAdmGrp")["Group"]["GroupName"] == "alpha-data-BktAdmGrp"
    assert [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]] == ["alpha-data-BktAdmPlc"]


def test_concurrent_creates_of_one_name_one_wins(app, s3, iam):
    """Unchoreographed: eight creates of one name at once; one wins, and the bucket is complete. A create that
    starts only after the winner finished (a loaded machine schedules threads late) is a retried create of a
    complete bucket of ours with the same body, answered with the same 200 (buckets._resume); every other
    one is 409. Never a second bucket, never a 5xx."""
    results: list[int] = []
    start = threading.Barrier(8, timeout=10)
    atomic = threading.Lock()  # AWS's CreatePolicy is atomic; moto's check-then-insert is not across threads

    def enter(model: Any, **_: Any) -> None:
        if model.name == "CreatePolicy":
            atomic.acquire()

    def leave(model: Any, **_: Any) -> None:
        if model.name == "CreatePolicy":
            atomic.release()

    clients = app.extensions["s3api"].clients
    clients.add_hook("before-call", enter)
    clients.add_hook("after-call", leave)

    answers: list[Any] = []

    def post() -> None:
        start.wait()
        r = create(Client(app.test_client()), "alpha-data")
        results.append(r.status_code)
        if r.status_code == 200:
            answers.append(r.json["Policy"]["Arn"])

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 8 and set(results) <= {200, 409} and 200 in results, results
    assert len(set(answers)) == 1  # every 200 is the one winner's bucket
    assert "alpha-data" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    attached = iam.list_attached_group_policies(GroupName="alpha-data-BktAdmGrp")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["alpha-data-BktAdmPlc"]


# --- list, head ----------------------------------------------------------------------------------------------


def test_list_answers_names(client, s3):
    s3.create_bucket(Bucket="made-by-hand")
    assert create(client, "alpha-data").status_code == 200
    r = client.get(BUCKETS)
    assert r.status_code == 200
    assert sorted(r.json) == ["alpha-data", "made-by-hand", "s3api-access-logs-123456789012"]


def test_head(client, calls):
    assert create(client, "alpha-data").status_code == 200
    calls.calls.clear()
    r = client.head(f"{BUCKETS}/alpha-data")
    assert (r.status_code, r.data) == (200, b"")
    r = client.head(f"{BUCKETS}/missing-bucket")
    assert (r.status_code, r.data) == (404, b"")
    assert calls.calls == ["HeadBucket", "HeadBucket"]


def test_head_forbidden_is_403(client, app):
    def forbidden(model: Any, **_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "403", "Message": "Forbidden"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, model.name
        )

    app.extensions["s3api"].clients.add_hook("before-call", forbidden)
    r = client.head(f"{BUCKETS}/someone-elses")
    assert (r.status_code, r.data) == (403, b"")


def test_invalid_bucket_in_path_is_400_without_aws_call(client, calls):
    for method in ("get", "head", "put", "delete"):
        kwargs = {"json": {}} if method == "put" else {}
        r = getattr(client, method)(f"{BUCKETS}/bad%20name!", **kwargs)
        assert r.status_code == 400, method
    assert calls.calls == []


def test_legacy_bucket_names_are_reachable(client, calls):
    r = client.head(f"{BUCKETS}/Legacy_Bucket")
    assert r.status_code == 404  # reached AWS: the lax rule for existing buckets
    assert calls.calls == ["HeadBucket"]


# --- show ----------------------------------------------------------------------------------------------------


def test_show_reports_yale_fields_and_more(client, s3):
    assert create(client, "alpha-data", Tags=[{"Key": "a", "Value": ""}], Lifecycle="deep-archive").status_code == 200
    r = client.get(f"{BUCKETS}/alpha-data?include=all")
    assert r.status_code == 200
    body = r.json
    assert list(body) == [
        "Tags", "Logging", "Empty", "Region", "Encryption", "Versioning", "PublicAccessBlock", "Lifecycle", "Website",
    ]  # fmt: skip
    assert body["Tags"] == [{"Key": "a", "Value": ""}, ORG]  # moto drops empty values; we put them back
    assert body["Logging"] == {"TargetBucket": "s3api-access-logs-123456789012", "TargetPrefix": "s3/alpha-data/"}
    assert body["Empty"] is True
    assert body["Region"] == "us-east-1"
    assert body["Encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert body["Versioning"] == "Disabled"
    assert body["PublicAccessBlock"]["BlockPublicAcls"] is True
    assert [rule["ID"] for rule in body["Lifecycle"]] == ["deep-archive-rule"]
    assert body["Website"] is None


def test_show_reflects_changes(client, s3):
    s3.create_bucket(Bucket="by-hand")
    body = client.get(f"{BUCKETS}/by-hand?include=all").json
    assert body["Tags"] == [] and body["Logging"] is None and body["Encryption"] is None
    assert body["PublicAccessBlock"] is None and body["Lifecycle"] == []
    s3.put_object(Bucket="by-hand", Key="a.txt", Body=b"x")
    s3.put_bucket_versioning(Bucket="by-hand", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_website(Bucket="by-hand", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    s3.put_bucket_lifecycle_configuration(
        Bucket="by-hand",
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "x",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "Expiration": {"Date": "2030-01-01T00:00:00Z"},
                }
            ]
        },
    )
    body = client.get(f"{BUCKETS}/by-hand?include=all").json
    assert body["Empty"] is False
    assert body["Versioning"] == "Enabled"
    assert body["Website"]["IndexDocument"] == {"Suffix": "index.html"}
    assert body["Lifecycle"][0]["Expiration"]["Date"].startswith("2030-01-01T00:00:00")  # ISO, not RFC 822


def test_show_missing_bucket_is_404(client):
    r = client.get(f"{BUCKETS}/missing-bucket")
    assert r.status_code == 404
    assert r.json["code"] == "NotFound"


def test_show_counts_aws_calls_of_its_threads(client, caplog):
    assert create(client, "alpha-data").status_code == 200
    with caplog.at_level(logging.INFO, logger="s3api.access"):
        assert client.get(f"{BUCKETS}/alpha-data?include=all").status_code == 200
    record = [r for r in caplog.records if getattr(r, "method", None) == "GET"][-1]
    assert record.aws_calls == 9  # HeadBucket + eight reads made in pool threads, all counted for this request


# --- update --------------------------------------------------------------------------------------------------


def test_put_replaces_tags_and_keeps_org_tag(client, s3):
    assert create(client, "alpha-data", Tags=[{"Key": "a", "Value": "1"}]).status_code == 200
    r = client.put(f"{BUCKETS}/alpha-data", json={"Tags": [{"Key": "b", "Value": "2"}]})
    assert (r.status_code, r.json) == (200, {})
    assert tags_of(s3, "alpha-data") == [{"Key": "b", "Value": "2"}, ORG]
    assert client.put(f"{BUCKETS}/alpha-data", json={"Tags": []}).status_code == 200
    assert tags_of(s3, "alpha-data") == [ORG]


def test_yale_put_without_tags_wipes_tags_fixed(client, s3, calls):
    assert create(client, "alpha-data", Tags=[{"Key": "a", "Value": "1"}]).status_code == 200
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::alpha-data/*"}
        ],
    }
    calls.calls.clear()
    r = client.put(f"{BUCKETS}/alpha-data", json={"BucketPolicy": json.dumps(policy)})
    assert r.status_code == 200
    # the managed-bucket check, the current policy (a quota's deny statement stays), then the write
    assert calls.calls == ["GetBucketTagging", "GetBucketPolicy", "PutBucketPolicy"]
    assert tags_of(s3, "alpha-data") == [{"Key": "a", "Value": "1"}, ORG]
    assert json.loads(s3.get_bucket_policy(Bucket="alpha-data")["Policy"]) == policy
    assert client.put(f"{BUCKETS}/alpha-data", json={}).status_code == 200
    assert tags_of(s3, "alpha-data") == [{"Key": "a", "Value": "1"}, ORG]


def test_put_accepts_policy_as_object(client, s3):
    assert create(client, "alpha-data").status_code == 200
    policy = {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::alpha-data"]},
    }
    assert client.put(f"{BUCKETS}/alpha-data", json={"BucketPolicy": policy}).status_code == 200
    assert json.loads(s3.get_bucket_policy(Bucket="alpha-data")["Policy"]) == policy


BAD_POLICIES = [
    "{not json",
    json.dumps(
        {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::alpha-data"}]}
    ),
    json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::other-bucket/*",
                }
            ],
        }
    ),  # noqa: E501
    json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::alpha-data-evil/*",
                }
            ],
        }
    ),  # noqa: E501
    json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "NotResource": "arn:aws:s3:::alpha-data/*",
                }
            ],
        }
    ),  # noqa: E501
    json.dumps({"Version": "2012-10-17", "Statement": []}),
    json.dumps(["not", "an", "object"]),
    12,
]


@pytest.mark.parametrize("policy", BAD_POLICIES)
def test_yale_put_accepts_any_bucket_policy_fixed(client, calls, s3, policy):
    assert create(client, "alpha-data").status_code == 200
    calls.calls.clear()
    r = client.put(f"{BUCKETS}/alpha-data", json={"BucketPolicy": policy, "Tags": [{"Key": "x", "Value": "y"}]})
    assert r.status_code == 400, r.json
    assert "BucketPolicy" in r.json["errors"].get("json", r.json["errors"])
    assert calls.calls == []  # nothing written, tags included
    assert tags_of(s3, "alpha-data") == [ORG]


@pytest.mark.parametrize(
    "tags",
    [[{"Key": "s3api:org", "Value": "stolen"}], [{"Key": "aws:x", "Value": "1"}], [{"Key": "a", "Value": "1"}] * 2],
)
def test_put_invalid_tags_is_400_without_aws_call(client, calls, tags):
    r = client.put(f"{BUCKETS}/alpha-data", json={"Tags": tags})
    assert r.status_code == 400
    assert "Tags" in r.json["errors"].get("json", r.json["errors"])
    assert calls.calls == []


def test_put_tags_keep_the_distribution_tag(client, s3, calls):
    """The websites feature marks a bucket with its distribution; replacing the tags must not drop that mark
    (the bucket delete relies on it to refuse deleting a live website's bucket)."""
    assert create(client, "alpha-data").status_code == 200
    s3.put_bucket_tagging(Bucket="alpha-data", Tagging={"TagSet": [ORG, {"Key": DISTRIBUTION_TAG, "Value": "E1"}]})
    calls.calls.clear()
    assert client.put(f"{BUCKETS}/alpha-data", json={"Tags": [{"Key": "a", "Value": "1"}]}).status_code == 200
    assert calls.calls == ["GetBucketTagging", "PutBucketTagging"]
    assert tags_of(s3, "alpha-data") == [{"Key": "a", "Value": "1"}, ORG, {"Key": DISTRIBUTION_TAG, "Value": "E1"}]


def test_yale_put_missing_bucket_is_500_fixed(client):
    r = client.put(f"{BUCKETS}/missing-bucket", json={"Tags": [{"Key": "a", "Value": "1"}]})
    assert r.status_code == 404
    assert r.json["code"] == "NotFound"


def test_put_unknown_field_is_400(client, calls):
    r = client.put(f"{BUCKETS}/alpha-data", json={"Tag": []})
    assert r.status_code == 400
    assert calls.calls == []


# --- delete --------------------------------------------------------------------------------------------------


def test_delete_removes_bucket_group_and_policy(client, s3, iam, calls):
    before = state(s3, iam)
    assert create(client, "alpha-data").status_code == 200
    calls.calls.clear()
    r = client.delete(f"{BUCKETS}/alpha-data")
    assert (r.status_code, r.json) == (200, {})
    assert state(s3, iam) == before
    assert calls.calls[:3] == ["GetBucketTagging", "ListObjectVersions", "ListDistributions"]  # tags read once
    assert calls.calls[-1] == "DeleteBucket"


def test_delete_missing_bucket_is_404(client, calls):
    r = client.delete(f"{BUCKETS}/missing-bucket")
    assert r.status_code == 404
    assert calls.calls == ["GetBucketTagging"]


def test_delete_not_empty_is_409_before_touching_iam(client, s3, iam, calls):
    assert create(client, "alpha-data").status_code == 200
    add_user(iam, "alpha-data-alice", "alpha-data-BktAdmGrp")
    s3.put_object(Bucket="alpha-data", Key="a.txt", Body=b"x")
    before = state(s3, iam)
    calls.calls.clear()
    r = client.delete(f"{BUCKETS}/alpha-data")
    assert r.status_code == 409
    assert "not empty" in r.json["message"]
    assert calls.calls == ["GetBucketTagging", "ListObjectVersions"]
    assert state(s3, iam) == before


def test_delete_versioned_bucket_with_only_old_versions_is_409(client, s3):
    assert create(client, "alpha-data").status_code == 200
    s3.put_bucket_versioning(Bucket="alpha-data", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="alpha-data", Key="a.txt", Body=b"x")
    s3.delete_object(Bucket="alpha-data", Key="a.txt")  # a delete marker over one version
    assert client.get(f"{BUCKETS}/alpha-data").json["Empty"] is False
    assert client.delete(f"{BUCKETS}/alpha-data").status_code == 409


def test_delete_with_users_and_groups(client, s3, iam):
    """alice: only this bucket → deleted with her keys. bob: also in another bucket's group → kept with
    his keys, out of this bucket's groups. carol: holds another policy → kept. dave: in two of this
    bucket's groups → deleted."""
    assert create(client, "alpha-data").status_code == 200
    assert create(client, "beta-data").status_code == 200
    rw = add_group(iam, "alpha-data", "BktRWGrp")
    ro = add_group(iam, "alpha-data", "BktROGrp")
    add_user(iam, "alice", "alpha-data-BktAdmGrp", keys=2)
    bob_keys = add_user(iam, "bob", rw, "beta-data-BktAdmGrp")
    add_user(iam, "carol", ro)
    other = iam.create_policy(PolicyName="carol-extra", PolicyDocument=json.dumps(policies.default_bucket_admin("c")))
    iam.attach_user_policy(UserName="carol", PolicyArn=other["Policy"]["Arn"])
    add_user(iam, "dave", "alpha-data-BktAdmGrp", ro)
    # a second policy version and a direct user attachment: AWS refuses DeletePolicy until both are gone
    rw_arn = "arn:aws:iam::123456789012:policy/alpha-data-BktRWPlc"
    iam.create_policy_version(
        PolicyArn=rw_arn,
        PolicyDocument=json.dumps(policies.bucket_policy_for("BktRWGrp", "alpha-data")),
        SetAsDefault=True,
    )  # noqa: E501
    iam.attach_user_policy(UserName="dave", PolicyArn=rw_arn)

    r = client.delete(f"{BUCKETS}/alpha-data")
    assert r.status_code == 200, r.json
    after = state(s3, iam)
    assert after["buckets"] == ["beta-data", "s3api-access-logs-123456789012"]
    assert after["groups"] == ["beta-data-BktAdmGrp"]
    assert after["policies"] == ["beta-data-BktAdmPlc", "carol-extra"]
    assert after["users"] == ["bob", "carol"]
    assert sorted(after["keys"]) == sorted(
        bob_keys + [k["AccessKeyId"] for k in iam.list_access_keys(UserName="carol")["AccessKeyMetadata"]]
    )  # noqa: E501
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="bob")["Groups"]] == ["beta-data-BktAdmGrp"]
    assert iam.list_groups_for_user(UserName="carol")["Groups"] == []


def test_yale_substring_group_matching_fixed(client, s3, iam):
    """Deleting ``data`` must not touch ``data-archive`` or ``mydata`` (Yale matched names by substring)."""
    for name in ("data", "data-archive", "mydata"):
        assert create(client, name).status_code == 200
        add_user(iam, f"{name}-user", f"{name}-BktAdmGrp")
    add_group(iam, "data-archive", "BktROGrp")
    before = state(s3, iam)
    assert client.delete(f"{BUCKETS}/data").status_code == 200
    after = state(s3, iam)
    gone = {k: sorted(set(before[k]) - set(after[k])) for k in before}
    assert gone["buckets"] == ["data"]
    assert gone["groups"] == ["data-BktAdmGrp"]
    assert gone["policies"] == ["data-BktAdmPlc"]
    assert gone["users"] == ["data-user"]
    assert len(gone["keys"]) == 1
    assert after["groups"] == ["data-archive-BktAdmGrp", "data-archive-BktROGrp", "mydata-BktAdmGrp"]


def test_yale_bucket_delete_leaves_website_dns_live_fixed(client, s3, iam, aws):
    assert create(client, "www.example.test").status_code == 200
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    dist = cloudfront.create_distribution(DistributionConfig=distribution_config("www.example.test"))
    dist_id, etag = dist["Distribution"]["Id"], dist["ETag"]
    s3.put_bucket_tagging(
        Bucket="www.example.test", Tagging={"TagSet": [ORG, {"Key": DISTRIBUTION_TAG, "Value": dist_id}]}
    )
    before = state(s3, iam)

    r = client.delete(f"{BUCKETS}/www.example.test")
    assert r.status_code == 409
    assert dist_id in r.json["message"]
    assert state(s3, iam) == before

    config = cloudfront.get_distribution_config(Id=dist_id)
    config["DistributionConfig"]["Enabled"] = False
    cloudfront.update_distribution(
        Id=dist_id, IfMatch=config["ETag"] or etag, DistributionConfig=config["DistributionConfig"]
    )
    assert client.delete(f"{BUCKETS}/www.example.test").status_code == 200


def test_delete_with_tag_of_a_deleted_distribution(client, s3):
    assert create(client, "alpha-data").status_code == 200
    s3.put_bucket_tagging(
        Bucket="alpha-data", Tagging={"TagSet": [ORG, {"Key": DISTRIBUTION_TAG, "Value": "E2NOSUCHDIST"}]}
    )
    assert client.delete(f"{BUCKETS}/alpha-data").status_code == 200


def distribution_config(bucket: str) -> dict[str, Any]:
    origin = f"{bucket}.s3-website-us-east-1.amazonaws.com"
    return {
        "CallerReference": uuid.uuid4().hex,
        "Comment": bucket,
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "website",
                    "DomainName": origin,
                    "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "website",
            "ViewerProtocolPolicy": "redirect-to-https",
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
        },
    }


def _populated(client: Client, iam: Any) -> None:
    assert create(client, "alpha-data").status_code == 200
    add_group(iam, "alpha-data", "BktROGrp")
    add_user(iam, "alice", "alpha-data-BktAdmGrp", "alpha-data-BktROGrp", keys=2)
    add_user(iam, "bob", "alpha-data-BktROGrp")


#: The AWS calls of deleting ``alpha-data`` as :func:`_populated` leaves it (asserted by the test below).
DELETE_CALLS = [
    "GetBucketTagging",  # the managed-bucket check (provisioning/boundary.py): 404, or 403 when not ours
    "ListObjectVersions",  # (its tags, just read, name no distribution: not read again)
    "ListDistributions",  # no distribution tag: no enabled distribution may have the bucket as origin
    "GetGroup",  # BktAdmGrp: alice
    "ListAttachedGroupPolicies",  # ...provably this bucket's (path /, its policy at /)
    "GetGroup",  # BktRWGrp: missing
    "GetGroup",  # BktROGrp: alice, bob
    "ListAttachedGroupPolicies",
    "ListGroupsForUser",  # alice: only this bucket's groups → goes
    "ListAttachedUserPolicies",
    "ListUserPolicies",
    "GetLoginProfile",  # the sign-in credentials AWS refuses DeleteUser for (none: NoSuchEntity)
    "ListMFADevices",
    "ListSSHPublicKeys",
    "ListSigningCertificates",
    "ListServiceSpecificCredentials",
    "ListAccessKeys",
    "DeleteAccessKey",
    "DeleteAccessKey",
    "RemoveUserFromGroup",
    "RemoveUserFromGroup",
    "DeleteUser",
    "ListGroupsForUser",  # bob: same
    "ListAttachedUserPolicies",
    "ListUserPolicies",
    "GetLoginProfile",
    "ListMFADevices",
    "ListSSHPublicKeys",
    "ListSigningCertificates",
    "ListServiceSpecificCredentials",
    "ListAccessKeys",
    "DeleteAccessKey",
    "RemoveUserFromGroup",
    "DeleteUser",
    "ListEntitiesForPolicy",  # BktAdmGrp: first its policy BktAdmPlc (detached everywhere, versions, deleted)
    "DetachGroupPolicy",
    "ListPolicyVersions",
    "DeletePolicy",
    "ListGroupPolicies",  # ... then the group: members and other policies as read above (not read again)
    "DeleteGroup",
    "ListEntitiesForPolicy",  # BktROGrp: BktROPlc, then the group
    "DetachGroupPolicy",
    "ListPolicyVersions",
    "DeletePolicy",
    "ListGroupPolicies",
    "DeleteGroup",
    "ListEntitiesForPolicy",  # BktRWPlc, whose group is missing: missing too (moto answers; AWS: NoSuchEntity)
    "ListPolicyVersions",
    "DeleteBucket",
]


def test_delete_calls_in_order(client, iam, calls):
    _populated(client, iam)
    calls.calls.clear()
    assert client.delete(f"{BUCKETS}/alpha-data").status_code == 200
    assert calls.calls == DELETE_CALLS


@pytest.mark.parametrize("k", range(len(DELETE_CALLS)), ids=[f"{i}-{op}" for i, op in enumerate(DELETE_CALLS)])
def test_yale_delete_aborts_half_way_fixed(client, s3, iam, calls, k):
    """A delete that fails at its k-th AWS call answers an error (never 200 over a partial clean-up, as
    Yale did), keeps the bucket, and a second DELETE finishes the job. A failed DeleteUser puts the (keyless)
    user back into its groups, so the retry finds it there."""
    before = state(s3, iam)
    _populated(client, iam)
    calls.fail_at(k)
    r = client.delete(f"{BUCKETS}/alpha-data")
    assert calls.calls[k] == DELETE_CALLS[k]
    assert r.status_code >= 500, r.json
    assert "alpha-data" in state(s3, iam)["buckets"]
    r = client.delete(f"{BUCKETS}/alpha-data")
    assert r.status_code == 200, r.json
    after = state(s3, iam)
    assert after == before


# --- duck ----------------------------------------------------------------------------------------------------


def test_duck_bookmark(client, calls):
    r = client.get(f"{BUCKETS}/alpha-data/duck")
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == "attachment; filename=alpha-data.duck"
    plist = plistlib.loads(r.data)
    assert plist["Hostname"] == "s3.us-east-1.amazonaws.com" and plist["Port"] == "443"
    assert plist["Path"] == "/alpha-data" and plist["Web URL"] == "s3://alpha-data/"
    r = client.get(f"{BUCKETS}/alpha-data/duck?path=/docs/2024/")
    assert r.headers["Content-Disposition"] == "attachment; filename=alpha-data-docs_2024.duck"
    assert plistlib.loads(r.data)["Path"] == "/alpha-data/docs/2024"
    assert calls.calls == []


def test_duck_uses_the_account_endpoint(aws):
    client = Client(create_app(make_settings(endpoint_url="http://127.0.0.1:9000")).test_client())
    plist = plistlib.loads(client.get(f"{BUCKETS}/alpha-data/duck").data)
    assert (plist["Hostname"], plist["Port"]) == ("127.0.0.1", "9000")


@pytest.mark.parametrize("query", ["?path=/a/../b/", "?path=", "?path=/a//b/", "?other=1"])
def test_duck_bad_query_is_400(client, query):
    assert client.get(f"{BUCKETS}/alpha-data/duck{query}").status_code == 400


def test_routes_need_the_token(client, calls):
    for method in ("get", "head", "post", "put", "delete"):
        assert getattr(client, method)(f"{BUCKETS}/alpha-data", auth=False).status_code == 403
    assert client.get(BUCKETS, auth=False).status_code == 403
    assert client.get(f"{BUCKETS}/alpha-data/duck", auth=False).status_code == 403
    assert calls.calls == []


def test_aws_calls_per_route(client, calls):
    """The AWS calls each read route makes (create and delete: CREATE_CALLS and DELETE_CALLS above)."""
    assert create(client, "alpha-data").status_code == 200
    seen = {}
    for name, method, path, kwargs in [
        ("list", "get", BUCKETS, {}),
        ("head", "head", f"{BUCKETS}/alpha-data", {}),
        ("show", "get", f"{BUCKETS}/alpha-data", {}),
        ("put tags", "put", f"{BUCKETS}/alpha-data", {"json": {"Tags": []}}),
        ("put nothing", "put", f"{BUCKETS}/alpha-data", {"json": {}}),
        ("duck", "get", f"{BUCKETS}/alpha-data/duck", {}),
    ]:
        calls.calls.clear()
        assert getattr(client, method)(path, **kwargs).status_code == 200, name
        seen[name] = sorted(calls.calls) if name == "show" else list(calls.calls)
    assert seen == {
        "list": ["ListBuckets"],
        "head": ["HeadBucket"],
        "show": sorted(
            [
                "GetBucketTagging",
                "GetBucketLogging",
                "ListObjectVersions",
            ]
        ),
        "put tags": ["GetBucketTagging", "PutBucketTagging"],
        "put nothing": ["GetBucketTagging"],
        "duck": [],
    }
