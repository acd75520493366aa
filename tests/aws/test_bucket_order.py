"""AWS's ordering rules for the bucket workflows, proved with botocore's Stubber (moto enforces none of them).

Each test queues the exact calls AWS would see, with their parameters, on stubbed S3, IAM and CloudFront
clients; a call out of order or unexpected fails the test. A shared recorder also checks the order across
services (each Stubber only sees its own client).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import ANY, Stubber

from s3api.aws.clients import AccountAws
from s3api.errors import Conflict, ServiceUnavailable
from s3api.provisioning import buckets
from tests.conftest import make_settings

ACCOUNT = "123456789012"
NOW = datetime(2025, 1, 1, tzinfo=UTC)
B = "alpha-data"
ADM_GRP, RW_GRP, RO_GRP = f"{B}-BktAdmGrp", f"{B}-BktRWGrp", f"{B}-BktROGrp"
ADM_PLC = f"arn:aws:iam::{ACCOUNT}:policy/{B}-BktAdmPlc"
RW_PLC = f"arn:aws:iam::{ACCOUNT}:policy/{B}-BktRWPlc"
RO_PLC = f"arn:aws:iam::{ACCOUNT}:policy/{B}-BktROPlc"


class StubClients:
    """Stands in for ``Clients``: one stubbed client per service, and the order of calls across them."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.clients: dict[str, Any] = {}
        self.stubs: dict[str, Stubber] = {}
        for service in ("s3", "iam", "cloudfront"):
            client = boto3.client(
                service,
                region_name="us-east-1",
                aws_access_key_id="stub",
                aws_secret_access_key="stub",
                config=Config(s3={"addressing_style": "path"}),
            )
            client.meta.events.register("before-call.*.*", self._record)  # before the Stubber's own handler
            self.clients[service] = client
            self.stubs[service] = Stubber(client)

    def _record(self, model: Any, **_: Any) -> None:
        self.order.append(model.name)

    def get(self, account: Any, service: str, region: str | None = None) -> Any:
        return self.clients[service]

    def __enter__(self) -> StubClients:
        for stub in self.stubs.values():
            stub.activate()
        return self

    def __exit__(self, *exc: Any) -> None:
        for stub in self.stubs.values():
            stub.deactivate()

    def ok(self, service: str, method: str, response: dict[str, Any], params: dict[str, Any]) -> None:
        self.stubs[service].add_response(method, response, params)

    def error(self, service: str, method: str, code: str, params: dict[str, Any], status: int = 400) -> None:
        self.stubs[service].add_client_error(method, code, "stubbed", status, expected_params=params)

    def verify(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def stubs() -> Any:
    with StubClients() as s:
        yield s


def account_aws(stubs: StubClients, **account: Any) -> AccountAws:
    settings = make_settings(**account)
    return AccountAws(settings.accounts["local"], stubs, settings)  # type: ignore[arg-type]


def user(name: str) -> dict[str, Any]:
    return {
        "Path": "/",
        "UserName": name,
        "UserId": f"AID{name.upper():0>17}",
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
        "CreateDate": NOW,
    }  # noqa: E501


def group(name: str) -> dict[str, Any]:
    return {
        "Path": "/",
        "GroupName": name,
        "GroupId": f"AGP{len(name):0>17}",
        "Arn": f"arn:aws:iam::{ACCOUNT}:group/{name}",
        "CreateDate": NOW,
    }  # noqa: E501


def policy(arn: str) -> dict[str, Any]:
    return {"PolicyName": arn.rsplit("/", 1)[1], "Arn": arn, "Path": "/", "DefaultVersionId": "v1", "CreateDate": NOW}


NAMES_FREE = ["GetGroup", "GetGroup", "GetGroup", "GetPolicy", "GetPolicy"]


def queue_names_free(s: StubClients) -> None:
    """Bucket create's check that none of its IAM names exists (groups by name, RW/RO policies at ``/``)."""
    for name in (ADM_GRP, f"{B}-BktRWGrp", f"{B}-BktROGrp"):
        s.error("iam", "get_group", "NoSuchEntity", {"GroupName": name}, 404)
    for kind in ("BktRWPlc", "BktROPlc"):
        s.error("iam", "get_policy", "NoSuchEntity", {"PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/{B}-{kind}"}, 404)


def queue_create(s: StubClients, fail: str | None = None) -> None:
    """The calls of a create with logging, up to (and including) the step named ``fail``, which errors."""
    calls: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
        ("s3", "create_bucket", {"Location": f"/{B}"}, {"Bucket": B}),
        ("s3", "head_bucket", {"ResponseMetadata": {"HTTPStatusCode": 200}}, {"Bucket": B}),  # the waiter: status 200
        ("s3", "put_bucket_tagging", {}, {"Bucket": B, "Tagging": {"TagSet": [{"Key": "s3api:org", "Value": "test"}]}}),
        ("s3", "put_bucket_encryption", {}, {"Bucket": B, "ServerSideEncryptionConfiguration": ANY}),
        ("s3", "put_public_access_block", {}, {"Bucket": B, "PublicAccessBlockConfiguration": ANY}),
        ("s3", "put_bucket_ownership_controls", {}, {"Bucket": B, "OwnershipControls": ANY}),
        (
            "s3",
            "put_bucket_logging",
            {},
            {
                "Bucket": B,
                "BucketLoggingStatus": {
                    "LoggingEnabled": {"TargetBucket": f"logs-{ACCOUNT}", "TargetPrefix": f"s3/{B}/"}
                },
            },
        ),  # noqa: E501
        ("iam", "create_group", {"Group": group(ADM_GRP)}, {"GroupName": ADM_GRP, "Path": "/"}),
        ("iam", "attach_group_policy", {}, {"GroupName": ADM_GRP, "PolicyArn": ADM_PLC}),
    ]
    s.error("s3", "head_bucket", "404", {"Bucket": B}, 404)
    queue_names_free(s)
    s.ok(
        "iam",
        "create_policy",
        {"Policy": policy(ADM_PLC)},
        {
            "PolicyName": f"{B}-BktAdmPlc",
            "PolicyDocument": ANY,
            "Path": "/",
            "Description": ANY,
            "Tags": [{"Key": "s3api:org", "Value": "test"}],
        },
    )  # noqa: E501
    for service, method, response, params in calls:
        if method == fail:
            s.error(service, method, "InternalError", params, 500)
            return
        s.ok(service, method, response, params)


def test_create_claims_the_name_before_the_bucket(stubs):
    queue_create(stubs)
    aws = account_aws(stubs, access_log={"bucket": "logs-{account_id}", "prefix": "s3"})
    result = buckets.create(aws, B)
    assert result["Bucket"] == f"/{B}" and result["Group"]["GroupName"] == ADM_GRP
    stubs.verify()
    assert stubs.order == [
        "HeadBucket", *NAMES_FREE, "CreatePolicy", "CreateBucket", "HeadBucket", "PutBucketTagging",
        "PutBucketEncryption",
        "PutPublicAccessBlock", "PutBucketOwnershipControls", "PutBucketLogging", "CreateGroup", "AttachGroupPolicy",
    ]  # fmt: skip


def test_create_rollback_detaches_and_deletes_versions_before_delete_policy(stubs):
    """CreateGroup fails: the bucket goes, then the policy the AWS way (it may have been attached or
    versioned meanwhile): detach from every entity, delete non-default versions, DeletePolicy."""
    queue_create(stubs, fail="create_group")
    stubs.ok("s3", "delete_bucket", {}, {"Bucket": B})
    stubs.ok(
        "iam",
        "list_entities_for_policy",
        {"PolicyGroups": [{"GroupName": "intruder"}], "PolicyUsers": [{"UserName": "u1"}], "PolicyRoles": []},
        {"PolicyArn": ADM_PLC},
    )
    stubs.ok("iam", "detach_group_policy", {}, {"GroupName": "intruder", "PolicyArn": ADM_PLC})
    stubs.ok("iam", "detach_user_policy", {}, {"UserName": "u1", "PolicyArn": ADM_PLC})
    versions = [{"VersionId": "v2", "IsDefaultVersion": True}, {"VersionId": "v1", "IsDefaultVersion": False}]
    stubs.ok("iam", "list_policy_versions", {"Versions": versions}, {"PolicyArn": ADM_PLC})
    stubs.ok("iam", "delete_policy_version", {}, {"PolicyArn": ADM_PLC, "VersionId": "v1"})
    stubs.ok("iam", "delete_policy", {}, {"PolicyArn": ADM_PLC})
    aws = account_aws(stubs, access_log={"bucket": "logs-{account_id}", "prefix": "s3"})
    with pytest.raises(ServiceUnavailable):
        buckets.create(aws, B)
    stubs.verify()
    assert stubs.order[-8:] == [
        "CreateGroup", "DeleteBucket", "ListEntitiesForPolicy", "DetachGroupPolicy", "DetachUserPolicy",
        "ListPolicyVersions", "DeletePolicyVersion", "DeletePolicy",
    ]  # fmt: skip


def test_create_loser_of_the_claim_touches_nothing(stubs):
    stubs.error("s3", "head_bucket", "404", {"Bucket": B}, 404)
    queue_names_free(stubs)
    stubs.error(
        "iam",
        "create_policy",
        "EntityAlreadyExists",
        {"PolicyName": f"{B}-BktAdmPlc", "PolicyDocument": ANY, "Path": "/", "Description": ANY, "Tags": ANY},
        409,
    )  # noqa: E501
    winner = {
        "PolicyName": f"{B}-BktAdmPlc",
        "Arn": f"arn:aws:iam::123456789012:policy/{B}-BktAdmPlc",
        "Path": "/",
        "AttachmentCount": 0,
        "CreateDate": datetime.now(UTC),
        "Tags": [{"Key": "s3api:org", "Value": "test"}],
    }
    stubs.ok("iam", "get_policy", {"Policy": winner}, {"PolicyArn": winner["Arn"]})  # ours, young: no take-over
    with pytest.raises(Conflict, match="being created"):
        buckets.create(account_aws(stubs), B)
    stubs.verify()
    assert stubs.order == ["HeadBucket", *NAMES_FREE, "CreatePolicy", "GetPolicy"]


ORG_TAG = {"Key": "s3api:org", "Value": "test"}


def queue_delete_checks(s: StubClients, tags: list[dict[str, str]] | None = None) -> None:
    s.ok("s3", "get_bucket_tagging", {"TagSet": [ORG_TAG, *(tags or [])]}, {"Bucket": B})  # managed-bucket check
    s.ok("s3", "list_object_versions", {}, {"Bucket": B, "MaxKeys": 1})
    if tags is None:  # the tags of the managed-bucket check are not read again
        # no distribution tag: no distribution may serve the bucket (ListDistributions, one empty page)
        empty = {"DistributionList": {"Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 0}}
        s.ok("cloudfront", "list_distributions", empty, {"MaxItems": "100"})


def no_sign_in_credentials(s: StubClients, user: str) -> None:
    """The five reads that prove ``user`` holds nothing that makes AWS refuse DeleteUser."""
    s.error("iam", "get_login_profile", "NoSuchEntity", {"UserName": user}, 404)
    s.ok("iam", "list_mfa_devices", {"MFADevices": []}, {"UserName": user})
    s.ok("iam", "list_ssh_public_keys", {"SSHPublicKeys": []}, {"UserName": user})
    s.ok("iam", "list_signing_certificates", {"Certificates": []}, {"UserName": user})
    s.ok("iam", "list_service_specific_credentials", {"ServiceSpecificCredentials": []}, {"UserName": user})


def test_delete_follows_aws_order(stubs):
    """alice has only this bucket: keys, policies, memberships, then DeleteUser. bob is in another group: he
    only leaves this bucket's group. Each group's own policy goes first (detached everywhere, its old versions
    deleted before DeletePolicy), then the group, emptied (members, other managed and inline policies) before
    DeleteGroup; the bucket goes last."""
    queue_delete_checks(stubs)
    iam = "iam"
    stubs.ok(iam, "get_group", {"Group": group(ADM_GRP), "Users": [user("alice"), user("bob")]}, {"GroupName": ADM_GRP})
    extra = {"PolicyName": "hand-made", "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/hand-made"}
    attached = {"AttachedPolicies": [{"PolicyName": f"{B}-BktAdmPlc", "PolicyArn": ADM_PLC}, extra]}
    stubs.ok(iam, "list_attached_group_policies", attached, {"GroupName": ADM_GRP})  # provably this bucket's
    stubs.error(iam, "get_group", "NoSuchEntity", {"GroupName": RW_GRP}, 404)
    stubs.error(iam, "get_group", "NoSuchEntity", {"GroupName": RO_GRP}, 404)
    # alice: nothing but this bucket
    stubs.ok(iam, "list_groups_for_user", {"Groups": [group(ADM_GRP)]}, {"UserName": "alice"})
    adm_attached = {"AttachedPolicies": [{"PolicyName": f"{B}-BktAdmPlc", "PolicyArn": ADM_PLC}]}
    stubs.ok(iam, "list_attached_user_policies", adm_attached, {"UserName": "alice"})
    stubs.ok(iam, "list_user_policies", {"PolicyNames": []}, {"UserName": "alice"})
    no_sign_in_credentials(stubs, "alice")  # AWS would refuse DeleteUser with any of them
    keys = [{"UserName": "alice", "AccessKeyId": "AKIAALICE1234567", "Status": "Active"}]
    stubs.ok(iam, "list_access_keys", {"AccessKeyMetadata": keys}, {"UserName": "alice"})
    stubs.ok(iam, "delete_access_key", {}, {"UserName": "alice", "AccessKeyId": "AKIAALICE1234567"})
    stubs.ok(iam, "detach_user_policy", {}, {"UserName": "alice", "PolicyArn": ADM_PLC})
    stubs.ok(iam, "remove_user_from_group", {}, {"GroupName": ADM_GRP, "UserName": "alice"})
    stubs.ok(iam, "delete_user", {}, {"UserName": "alice"})
    # bob: also in another bucket's group → kept, keys untouched
    stubs.ok(iam, "list_groups_for_user", {"Groups": [group(ADM_GRP), group("other-BktRWGrp")]}, {"UserName": "bob"})
    # the group's own policy first (never the hand-made one): detached everywhere, old versions, deleted
    stubs.ok(
        iam,
        "list_entities_for_policy",
        {"PolicyGroups": [{"GroupName": ADM_GRP}], "PolicyRoles": [{"RoleName": "r1"}]},
        {"PolicyArn": ADM_PLC},
    )
    stubs.ok(iam, "detach_group_policy", {}, {"GroupName": ADM_GRP, "PolicyArn": ADM_PLC})
    stubs.ok(iam, "detach_role_policy", {}, {"RoleName": "r1", "PolicyArn": ADM_PLC})
    versions = [{"VersionId": "v1", "IsDefaultVersion": False}, {"VersionId": "v2", "IsDefaultVersion": True}]
    stubs.ok(iam, "list_policy_versions", {"Versions": versions}, {"PolicyArn": ADM_PLC})
    stubs.ok(iam, "delete_policy_version", {}, {"PolicyArn": ADM_PLC, "VersionId": "v1"})
    stubs.ok(iam, "delete_policy", {}, {"PolicyArn": ADM_PLC})
    # then the group, emptied first (members and other policies as read above: not read again)
    stubs.ok(iam, "remove_user_from_group", {}, {"GroupName": ADM_GRP, "UserName": "bob"})
    stubs.ok(iam, "detach_group_policy", {}, {"GroupName": ADM_GRP, "PolicyArn": extra["PolicyArn"]})
    stubs.ok(iam, "list_group_policies", {"PolicyNames": ["inline"]}, {"GroupName": ADM_GRP})
    stubs.ok(iam, "delete_group_policy", {}, {"GroupName": ADM_GRP, "PolicyName": "inline"})
    stubs.ok(iam, "delete_group", {}, {"GroupName": ADM_GRP})
    # the bucket's policies whose group is gone
    stubs.error(iam, "list_entities_for_policy", "NoSuchEntity", {"PolicyArn": RW_PLC}, 404)
    stubs.error(iam, "list_entities_for_policy", "NoSuchEntity", {"PolicyArn": RO_PLC}, 404)
    stubs.ok("s3", "delete_bucket", {}, {"Bucket": B})

    buckets.delete(account_aws(stubs), B)
    stubs.verify()
    assert stubs.order.index("DeleteUser") < stubs.order.index("DeletePolicy") < stubs.order.index("DeleteGroup")
    assert stubs.order[-1] == "DeleteBucket"


def test_delete_not_empty_stops_before_iam(stubs):
    stubs.ok("s3", "get_bucket_tagging", {"TagSet": [ORG_TAG]}, {"Bucket": B})
    stubs.ok(
        "s3", "list_object_versions", {"Versions": [{"Key": "a", "VersionId": "null"}]}, {"Bucket": B, "MaxKeys": 1}
    )
    with pytest.raises(Conflict, match="not empty"):
        buckets.delete(account_aws(stubs), B)
    stubs.verify()
    assert stubs.order == ["GetBucketTagging", "ListObjectVersions"]


def test_delete_refuses_a_bucket_behind_a_live_distribution(stubs):
    queue_delete_checks(stubs, tags=[{"Key": "s3api:distribution", "Value": "E123"}])
    dist = {
        "Id": "E123",
        "ARN": f"arn:aws:cloudfront::{ACCOUNT}:distribution/E123",
        "Status": "Deployed",
        "LastModifiedTime": NOW,
        "InProgressInvalidationBatches": 0,
        "DomainName": "d1.cloudfront.net",
        "DistributionConfig": {
            "CallerReference": "x",
            "Aliases": {"Quantity": 1, "Items": [B]},
            "Origins": {"Quantity": 1, "Items": [{"Id": "x", "DomainName": f"{B}.s3.amazonaws.com"}]},
            "DefaultCacheBehavior": {"TargetOriginId": "x", "ViewerProtocolPolicy": "allow-all"},
            "Comment": "",
            "Enabled": True,
        },
    }
    stubs.ok("cloudfront", "get_distribution", {"Distribution": dist, "ETag": "E1"}, {"Id": "E123"})
    with pytest.raises(Conflict, match="E123"):
        buckets.delete(account_aws(stubs), B)
    stubs.verify()
    assert stubs.order == ["GetBucketTagging", "ListObjectVersions", "GetDistribution"]


def test_failed_delete_user_rejoins_its_groups_for_the_retry(stubs):
    """AWS needs the memberships gone before DeleteUser; if DeleteUser then fails, the keyless user is put
    back into its groups so that a retried bucket delete finds it again."""
    queue_delete_checks(stubs)
    stubs.ok("iam", "get_group", {"Group": group(ADM_GRP), "Users": [user("alice")]}, {"GroupName": ADM_GRP})
    own = {"AttachedPolicies": [{"PolicyName": f"{B}-BktAdmPlc", "PolicyArn": ADM_PLC}]}
    stubs.ok("iam", "list_attached_group_policies", own, {"GroupName": ADM_GRP})  # provably this bucket's
    stubs.error("iam", "get_group", "NoSuchEntity", {"GroupName": RW_GRP}, 404)
    stubs.error("iam", "get_group", "NoSuchEntity", {"GroupName": RO_GRP}, 404)
    stubs.ok("iam", "list_groups_for_user", {"Groups": [group(ADM_GRP)]}, {"UserName": "alice"})
    stubs.ok("iam", "list_attached_user_policies", {"AttachedPolicies": []}, {"UserName": "alice"})
    stubs.ok("iam", "list_user_policies", {"PolicyNames": []}, {"UserName": "alice"})
    no_sign_in_credentials(stubs, "alice")
    stubs.ok("iam", "list_access_keys", {"AccessKeyMetadata": []}, {"UserName": "alice"})
    stubs.ok("iam", "remove_user_from_group", {}, {"GroupName": ADM_GRP, "UserName": "alice"})
    stubs.error("iam", "delete_user", "ServiceFailure", {"UserName": "alice"}, 500)
    stubs.ok("iam", "add_user_to_group", {}, {"GroupName": ADM_GRP, "UserName": "alice"})
    with pytest.raises(ServiceUnavailable):
        buckets.delete(account_aws(stubs), B)
    stubs.verify()
    assert stubs.order[-3:] == ["RemoveUserFromGroup", "DeleteUser", "AddUserToGroup"]
    assert "DeleteBucket" not in stubs.order
