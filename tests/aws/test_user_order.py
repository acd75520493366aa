"""AWS's ordering rules for users, proven with botocore's Stubber (moto is lenient: DeleteUser passes with
keys and memberships, DeleteGroup with attached policies, DeletePolicy while attached; and most IAM lists
ignore MaxItems, so paging is only exercised here).

Each Stubber queue is the exact call sequence, parameters included: a call out of order fails the test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from s3api.aws.clients import AccountAws
from s3api.errors import ServiceUnavailable, TooManyRequests
from s3api.provisioning import policies, users
from s3api.provisioning.scope import Scope, bucket_scope
from tests.conftest import make_settings

ACCOUNT = "123456789012"
BUCKET = "team-data"
USER = "alice"
T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
ADM, RW, RO = (policies.group_name(BUCKET, k) for k in policies.GROUP_KINDS)
RW_POLICY = policies.policy_name(BUCKET, "BktRWGrp")
RW_ARN = f"arn:aws:iam::{ACCOUNT}:policy/{RW_POLICY}"
KEY1, KEY2, KEY3 = "AKIAAAAAAAAAAAAAAAA1", "AKIAAAAAAAAAAAAAAAA2", "AKIAAAAAAAAAAAAAAAA3"


class StubClients:
    def __init__(self, iam: Any) -> None:
        self.iam = iam

    def get(self, account: Any, service: str, region: str | None = None) -> Any:
        assert service == "iam", f"unexpected {service} call"
        return self.iam


@pytest.fixture
def stub() -> Any:
    iam = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(iam) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def aws(stub: Any) -> AccountAws:
    settings = make_settings()
    return AccountAws(settings.accounts["local"], StubClients(stub.client), settings)  # type: ignore[arg-type]


@pytest.fixture
def scope(aws: AccountAws) -> Scope:
    return bucket_scope(aws, BUCKET)


def group(name: str) -> dict[str, Any]:
    return {
        "Path": "/",
        "GroupName": name,
        "GroupId": "AGPA" + "X" * 17,
        "Arn": f"arn:aws:iam::{ACCOUNT}:group/{name}",
        "CreateDate": T0,
    }


def user(name: str = USER) -> dict[str, Any]:
    return {
        "Path": "/",
        "UserName": name,
        "UserId": "AIDA" + name.upper().ljust(17, "Y"),
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
        "CreateDate": T0,
    }


def key_meta(key_id: str, status: str = "Active", age_days: int = 0) -> dict[str, Any]:
    return {"UserName": USER, "AccessKeyId": key_id, "Status": status, "CreateDate": T0 - timedelta(days=age_days)}


def new_key(key_id: str = KEY3) -> dict[str, Any]:
    return {
        "AccessKey": {
            "UserName": USER,
            "AccessKeyId": key_id,
            "Status": "Active",
            "SecretAccessKey": "s" * 40,
            "CreateDate": T0,
        }
    }


def policy(name: str = RW_POLICY, arn: str = RW_ARN) -> dict[str, Any]:
    return {"Policy": {"PolicyName": name, "Arn": arn, "Path": "/", "DefaultVersionId": "v1", "AttachmentCount": 0}}


def attached(stub: Any, name: str) -> None:
    """ListAttachedGroupPolicies of one of the bucket's groups: its own policy at ``/`` (scope.GroupSpec.owns)."""
    kind = name.rsplit("-", 1)[1]
    policy_name = policies.policy_name(BUCKET, kind)
    arn = f"arn:aws:iam::{ACCOUNT}:policy/{policy_name}"
    stub.add_response(
        "list_attached_group_policies",
        {"AttachedPolicies": [{"PolicyName": policy_name, "PolicyArn": arn}]},
        {"GroupName": name},
    )


def org_tags(*extra: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": "s3api:org", "Value": "test"}, {"Key": "s3api:bucket", "Value": BUCKET}, *extra]


# --- delete ------------------------------------------------------------------------------------------------


def no_sign_in_credentials(stub: Any) -> None:
    """The five reads before a DeleteUser (AWS refuses it while any of these exist; moto does not)."""
    stub.add_client_error(
        "get_login_profile", service_error_code="NoSuchEntity", http_status_code=404, expected_params={"UserName": USER}
    )
    stub.add_response("list_mfa_devices", {"MFADevices": [], "IsTruncated": False}, {"UserName": USER})
    stub.add_response("list_ssh_public_keys", {"SSHPublicKeys": [], "IsTruncated": False}, {"UserName": USER})
    stub.add_response("list_signing_certificates", {"Certificates": [], "IsTruncated": False}, {"UserName": USER})
    stub.add_response("list_service_specific_credentials", {"ServiceSpecificCredentials": []}, {"UserName": USER})


def test_delete_user_removes_keys_policies_memberships_then_the_user(stub, aws, scope):
    own = f"arn:aws:iam::{ACCOUNT}:policy/{BUCKET}-extra"
    legacy = f"arn:aws:iam::{ACCOUNT}:policy/{BUCKET}"
    stub.add_response(
        "list_groups_for_user", {"Groups": [group(ADM)], "IsTruncated": True, "Marker": "m1"}, {"UserName": USER}
    )
    stub.add_response(
        "list_groups_for_user",
        {"Groups": [group(users.RETIRING_GROUP)], "IsTruncated": False},
        {"UserName": USER, "Marker": "m1"},
    )
    attached(stub, ADM)  # membership proven
    stub.add_response(
        "list_attached_user_policies",
        {
            "AttachedPolicies": [
                {"PolicyName": f"{BUCKET}-extra", "PolicyArn": own},
                {"PolicyName": BUCKET, "PolicyArn": legacy},
            ]
        },
        {"UserName": USER},
    )
    stub.add_response("list_user_policies", {"PolicyNames": []}, {"UserName": USER})
    no_sign_in_credentials(stub)
    stub.add_response("list_access_keys", {"AccessKeyMetadata": [key_meta(KEY1), key_meta(KEY2)]}, {"UserName": USER})
    stub.add_response("delete_access_key", {}, {"UserName": USER, "AccessKeyId": KEY1})
    stub.add_response("delete_access_key", {}, {"UserName": USER, "AccessKeyId": KEY2})
    stub.add_response("detach_user_policy", {}, {"UserName": USER, "PolicyArn": own})
    stub.add_response("detach_user_policy", {}, {"UserName": USER, "PolicyArn": legacy})
    stub.add_response("remove_user_from_group", {}, {"GroupName": ADM, "UserName": USER})
    stub.add_response("remove_user_from_group", {}, {"GroupName": users.RETIRING_GROUP, "UserName": USER})  # ALL
    stub.add_response("delete_user", {}, {"UserName": USER})
    users.delete_user(aws, scope, USER)


def test_delete_of_a_user_with_access_elsewhere_only_leaves_the_scope(stub, aws, scope):
    other = "other-bucket-BktRWGrp"
    own = f"arn:aws:iam::{ACCOUNT}:policy/{BUCKET}-extra"
    foreign = f"arn:aws:iam::{ACCOUNT}:policy/ops"
    stub.add_response("list_groups_for_user", {"Groups": [group(ADM), group(other)]}, {"UserName": USER})
    attached(stub, ADM)
    stub.add_response(
        "list_attached_user_policies",
        {
            "AttachedPolicies": [
                {"PolicyName": f"{BUCKET}-extra", "PolicyArn": own},
                {"PolicyName": "ops", "PolicyArn": foreign},
            ]
        },
        {"UserName": USER},
    )
    stub.add_response("remove_user_from_group", {}, {"GroupName": ADM, "UserName": USER})  # this scope's only
    stub.add_response("detach_user_policy", {}, {"UserName": USER, "PolicyArn": own})  # no key, no DeleteUser
    users.delete_user(aws, scope, USER)


def test_delete_refuses_up_front_when_a_foreign_policy_is_attached(stub, aws, scope):
    stub.add_response("list_groups_for_user", {"Groups": [group(ADM)]}, {"UserName": USER})
    attached(stub, ADM)
    stub.add_response(
        "list_attached_user_policies",
        {
            "AttachedPolicies": [
                {"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
            ]
        },
        {"UserName": USER},
    )
    stub.add_response("list_user_policies", {"PolicyNames": []}, {"UserName": USER})
    with pytest.raises(Exception) as exc:
        users.delete_user(aws, scope, USER)
    assert getattr(exc.value, "status", None) == 409  # and no DeleteAccessKey was queued: none was made


# --- create: rollback order --------------------------------------------------------------------------------


def _create_until_key(stub: Any, lazy: bool) -> None:
    stub.add_response(
        "create_user", {"User": {**user(), "Tags": org_tags()}}, {"UserName": USER, "Path": "/", "Tags": org_tags()}
    )
    if lazy:
        stub.add_client_error("get_group", "NoSuchEntity", http_status_code=404, expected_params={"GroupName": RW})
    else:
        stub.add_response("get_group", {"Group": group(RW), "Users": []}, {"GroupName": RW})
        attached(stub, RW)  # provably this bucket's: joined


def test_create_rollback_undoes_in_aws_order(stub, aws, scope):
    _create_until_key(stub, lazy=True)
    document = json.dumps(policies.bucket_policy_for("BktRWGrp", BUCKET))
    stub.add_response(
        "create_policy",
        policy(),
        {
            "PolicyName": RW_POLICY,
            "PolicyDocument": document,
            "Path": "/",
            "Description": policies.policy_description(BUCKET, "BktRWGrp"),
            "Tags": [{"Key": "s3api:org", "Value": "test"}],
        },
    )
    stub.add_response("create_group", {"Group": group(RW)}, {"GroupName": RW, "Path": "/"})
    stub.add_response("attach_group_policy", {}, {"GroupName": RW, "PolicyArn": RW_ARN})
    stub.add_response("add_user_to_group", {}, {"GroupName": RW, "UserName": USER})
    stub.add_client_error("create_access_key", "ServiceFailure", http_status_code=500)
    # rollback, newest first: membership; the group (empty? detach, inline, delete); the policy; the user
    stub.add_response("remove_user_from_group", {}, {"GroupName": RW, "UserName": USER})
    stub.add_response("get_group", {"Group": group(RW), "Users": []}, {"GroupName": RW})
    stub.add_response(
        "list_attached_group_policies",
        {"AttachedPolicies": [{"PolicyName": RW_POLICY, "PolicyArn": RW_ARN}]},
        {"GroupName": RW},
    )
    stub.add_response("detach_group_policy", {}, {"GroupName": RW, "PolicyArn": RW_ARN})
    stub.add_response("list_group_policies", {"PolicyNames": []}, {"GroupName": RW})
    stub.add_response("delete_group", {}, {"GroupName": RW})
    stub.add_response(
        "list_entities_for_policy", {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": []}, {"PolicyArn": RW_ARN}
    )  # still in use by someone? no: delete it
    stub.add_response(
        "list_entities_for_policy", {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": []}, {"PolicyArn": RW_ARN}
    )
    stub.add_response(
        "list_policy_versions", {"Versions": [{"VersionId": "v1", "IsDefaultVersion": True}]}, {"PolicyArn": RW_ARN}
    )
    stub.add_response("delete_policy", {}, {"PolicyArn": RW_ARN})
    stub.add_response("delete_user", {}, {"UserName": USER})
    with pytest.raises(ServiceUnavailable):
        users.create_user(aws, scope, users.NewUser(USER), ["BktRWGrp"])


def test_create_rollback_after_losing_the_race_deletes_only_its_own_work(stub, aws, scope):
    _create_until_key(stub, lazy=True)
    stub.add_client_error("create_policy", "EntityAlreadyExists", http_status_code=409)
    stub.add_response("get_policy", policy(), {"PolicyArn": RW_ARN})
    stub.add_client_error("create_group", "EntityAlreadyExists", http_status_code=409)
    stub.add_response("get_group", {"Group": group(RW), "Users": []}, {"GroupName": RW})  # made meanwhile:
    attached(stub, RW)  # ... provably this bucket's (scope.GroupSpec.owns)
    stub.add_response("attach_group_policy", {}, {"GroupName": RW, "PolicyArn": RW_ARN})
    stub.add_response("add_user_to_group", {}, {"GroupName": RW, "UserName": USER})
    stub.add_client_error("create_access_key", "ServiceFailure", http_status_code=500)
    stub.add_response("remove_user_from_group", {}, {"GroupName": RW, "UserName": USER})
    stub.add_response("delete_user", {}, {"UserName": USER})  # no DeleteGroup, no DeletePolicy
    with pytest.raises(ServiceUnavailable):
        users.create_user(aws, scope, users.NewUser(USER), ["BktRWGrp"])


def test_create_rollback_keeps_a_group_someone_joined(stub, aws, scope):
    _create_until_key(stub, lazy=True)
    stub.add_response("create_policy", policy(), None)
    stub.add_response("create_group", {"Group": group(RW)}, {"GroupName": RW, "Path": "/"})
    stub.add_response("attach_group_policy", {}, {"GroupName": RW, "PolicyArn": RW_ARN})
    stub.add_response("add_user_to_group", {}, {"GroupName": RW, "UserName": USER})
    stub.add_client_error("create_access_key", "ServiceFailure", http_status_code=500)
    stub.add_response("remove_user_from_group", {}, {"GroupName": RW, "UserName": USER})
    stub.add_response("get_group", {"Group": group(RW), "Users": [user("bob")]}, {"GroupName": RW})  # in use
    stub.add_response("list_entities_for_policy", {"PolicyGroups": [{"GroupName": RW}]}, {"PolicyArn": RW_ARN})
    stub.add_response("delete_user", {}, {"UserName": USER})
    with pytest.raises(ServiceUnavailable):
        users.create_user(aws, scope, users.NewUser(USER), ["BktRWGrp"])


def test_create_existing_group_only_joins(stub, aws, scope):
    _create_until_key(stub, lazy=False)
    stub.add_response("add_user_to_group", {}, {"GroupName": RW, "UserName": USER})
    stub.add_response("create_access_key", new_key(), {"UserName": USER})
    out = users.create_user(aws, scope, users.NewUser(USER), ["BktRWGrp"])
    assert out["AccessKey"]["AccessKeyId"] == KEY3


# --- rotate and retire ---------------------------------------------------------------------------------------


def _member(stub: Any) -> None:
    stub.add_response("list_groups_for_user", {"Groups": [group(RW)]}, {"UserName": USER})
    attached(stub, RW)


def _marked(stub: Any, user_name: str = USER) -> None:
    """A scheduled retirement puts the user into the marker group the sweeper reads (here: it exists)."""
    marker = users.RETIRING_GROUP
    stub.add_response("get_group", {"Group": group(marker), "Users": []}, {"GroupName": marker})
    stub.add_response("add_user_to_group", {}, {"GroupName": marker, "UserName": user_name})


def test_rotate_with_two_keys_makes_room_before_creating(stub, aws, scope):
    _member(stub)
    stub.add_response("list_user_tags", {"Tags": org_tags()}, {"UserName": USER})
    stub.add_response(
        "list_access_keys",
        {"AccessKeyMetadata": [key_meta(KEY1, age_days=9), key_meta(KEY2, "Inactive", age_days=1)]},
        {"UserName": USER},
    )
    stub.add_response("delete_access_key", {}, {"UserName": USER, "AccessKeyId": KEY2})  # inactive goes first
    stub.add_response("create_access_key", new_key(), {"UserName": USER})
    stub.add_response("delete_access_key", {}, {"UserName": USER, "AccessKeyId": KEY1})
    out = users.rotate_keys(aws, scope, USER, now=T0)
    assert out["DeletedKeyIds"] == [KEY2, KEY1] and "RetiringKeys" not in out


def test_rotate_two_active_keys_oldest_makes_room(stub, aws, scope):
    _member(stub)
    stub.add_response("list_user_tags", {"Tags": org_tags()}, {"UserName": USER})
    stub.add_response(
        "list_access_keys",
        {"AccessKeyMetadata": [key_meta(KEY2, age_days=1), key_meta(KEY1, age_days=9)]},
        {"UserName": USER},
    )
    stub.add_response("delete_access_key", {}, {"UserName": USER, "AccessKeyId": KEY1})
    stub.add_response("create_access_key", new_key(), {"UserName": USER})
    deadline = "2030-01-01T13:00:00Z"
    _marked(stub)
    stub.add_response("tag_user", {}, {"UserName": USER, "Tags": [{"Key": f"s3api:retire:{KEY2}", "Value": deadline}]})
    out = users.rotate_keys(aws, scope, USER, grace_seconds=3600, now=T0)
    assert out["DeletedKeyIds"] == [KEY1]
    assert out["RetiringKeys"] == [{"AccessKeyId": KEY2, "RetireAt": T0 + timedelta(hours=1)}]


def test_rotate_scheduled_key_makes_room_and_loses_its_tag(stub, aws, scope):
    _member(stub)
    stub.add_response(
        "list_user_tags",
        {"Tags": org_tags({"Key": f"s3api:retire:{KEY1}", "Value": "2030-01-01T12:10:00Z"})},
        {"UserName": USER},
    )
    stub.add_response(
        "list_access_keys", {"AccessKeyMetadata": [key_meta(KEY2, age_days=9), key_meta(KEY1)]}, {"UserName": USER}
    )
    stub.add_response("delete_access_key", {}, {"UserName": USER, "AccessKeyId": KEY1})
    stub.add_response("untag_user", {}, {"UserName": USER, "TagKeys": [f"s3api:retire:{KEY1}"]})
    stub.add_response("create_access_key", new_key(), {"UserName": USER})
    _marked(stub)
    stub.add_response(
        "tag_user", {}, {"UserName": USER, "Tags": [{"Key": f"s3api:retire:{KEY2}", "Value": "2030-01-01T12:01:00Z"}]}
    )
    out = users.rotate_keys(aws, scope, USER, grace_seconds=60, now=T0)
    assert out["DeletedKeyIds"] == [KEY1]


def test_rotate_with_grace_tags_a_user_made_elsewhere_with_our_org(stub, aws, scope):
    _member(stub)
    stub.add_response("list_user_tags", {"Tags": []}, {"UserName": USER})
    stub.add_response("list_access_keys", {"AccessKeyMetadata": [key_meta(KEY1)]}, {"UserName": USER})
    stub.add_response("create_access_key", new_key(), {"UserName": USER})
    _marked(stub)
    stub.add_response(
        "tag_user",
        {},
        {
            "UserName": USER,
            "Tags": [
                {"Key": f"s3api:retire:{KEY1}", "Value": "2030-01-01T12:00:05Z"},
                {"Key": "s3api:org", "Value": "test"},
            ],
        },
    )
    users.rotate_keys(aws, scope, USER, grace_seconds=5, now=T0)


def test_retire_deletes_the_key_before_its_tag(stub, aws):
    stub.add_response(
        "list_user_tags",
        {
            "Tags": org_tags(
                {"Key": f"s3api:retire:{KEY1}", "Value": "2030-01-01T11:59:59Z"},
                {"Key": f"s3api:retire:{KEY2}", "Value": "2030-01-01T12:00:01Z"},
            )
        },
        {"UserName": USER},
    )
    stub.add_response("delete_access_key", {}, {"UserName": USER, "AccessKeyId": KEY1})
    stub.add_response("untag_user", {}, {"UserName": USER, "TagKeys": [f"s3api:retire:{KEY1}"]})
    assert users.retire_overdue_keys(aws, USER, now=T0) == [KEY1]


def test_rotate_outside_the_scope_touches_nothing(stub, aws, scope):
    stub.add_response("list_groups_for_user", {"Groups": [group("other-bucket-BktAdmGrp")]}, {"UserName": USER})
    with pytest.raises(Exception) as exc:
        users.rotate_keys(aws, scope, USER, now=T0)
    assert getattr(exc.value, "status", None) == 404


# --- list and sweep: every page --------------------------------------------------------------------------------


def test_list_reads_every_page_of_the_exact_groups(stub, aws, scope):
    # each group read once: GetGroup (every page: the group and its members), then the ownership proof
    stub.add_response(
        "get_group",
        {"Group": group(ADM), "Users": [user("a")], "IsTruncated": True, "Marker": "p2"},
        {"GroupName": ADM},
    )
    stub.add_response(
        "get_group",
        {"Group": group(ADM), "Users": [user("b")], "IsTruncated": False},
        {"GroupName": ADM, "Marker": "p2"},
    )
    attached(stub, ADM)  # ... ListAttachedGroupPolicies
    stub.add_client_error("get_group", "NoSuchEntity", http_status_code=404, expected_params={"GroupName": RW})
    stub.add_response("get_group", {"Group": group(RO), "Users": [user("a")]}, {"GroupName": RO})
    attached(stub, RO)
    assert [u["UserName"] for u in users.list_users(aws, scope)] == ["a", "b"]


def test_sweep_reads_the_marker_group_only_and_skips_foreign_users(stub, aws):
    """One GetGroup (every page), then only its members' tags: never ListUsers."""
    marker = users.RETIRING_GROUP
    stub.add_response(
        "get_group", {"Group": group(marker), "Users": [user("b")], "IsTruncated": True, "Marker": "n"},
        {"GroupName": marker},
    )  # fmt: skip
    stub.add_response("get_group", {"Group": group(marker), "Users": [user("a")]}, {"GroupName": marker, "Marker": "n"})
    due = {"Key": f"s3api:retire:{KEY1}", "Value": "2000-01-01T00:00:00Z"}
    stub.add_response("list_user_tags", {"Tags": org_tags(due)}, {"UserName": "b"})
    stub.add_response("delete_access_key", {}, {"UserName": "b", "AccessKeyId": KEY1})
    stub.add_response("untag_user", {}, {"UserName": "b", "TagKeys": [f"s3api:retire:{KEY1}"]})
    stub.add_response("remove_user_from_group", {}, {"GroupName": marker, "UserName": "b"})  # nothing left pending
    stub.add_response("list_user_tags", {"Tags": [due]}, {"UserName": "a"})  # not our org: skipped
    assert users.sweep_retiring_keys(aws, now=T0) == 1


def test_sweep_without_marker_group_is_one_call_and_a_member_with_nothing_pending_leaves(stub, aws):
    marker = users.RETIRING_GROUP
    stub.add_client_error("get_group", "NoSuchEntity", http_status_code=404, expected_params={"GroupName": marker})
    assert users.sweep_retiring_keys(aws, now=T0) == 0
    stub.add_response("get_group", {"Group": group(marker), "Users": [user("a")]}, {"GroupName": marker})
    stub.add_response("list_user_tags", {"Tags": org_tags()}, {"UserName": "a"})
    stub.add_response("remove_user_from_group", {}, {"GroupName": marker, "UserName": "a"})
    assert users.sweep_retiring_keys(aws, now=T0) == 0


def test_sweep_stopped_by_an_error_ends_the_pass(stub, aws):
    marker = users.RETIRING_GROUP
    stub.add_response("get_group", {"Group": group(marker), "Users": [user("a"), user("b")]}, {"GroupName": marker})
    stub.add_client_error("list_user_tags", "Throttling", http_status_code=400, expected_params={"UserName": "a"})
    with pytest.raises(TooManyRequests):
        users.sweep_retiring_keys(aws, now=T0)
