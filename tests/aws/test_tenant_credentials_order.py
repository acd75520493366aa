"""A tenant's credentials as sent to AWS (botocore's Stubber: the exact calls, parameters included), where moto is
lenient: its IAM enforcement ignores a key's status, and DeleteUser passes in moto with keys, inline policies,
memberships and attached policies left (AWS answers DeleteConflict)."""

from __future__ import annotations

from typing import Any

import pytest

from s3api.errors import NotFound
from s3api.provisioning.tenants import credentials
from tests.aws.test_user_order import ACCOUNT, KEY1, KEY2, T0, aws, stub

__all__ = ["aws", "stub"]  # fixtures

TENANT = "t-00000000000000aa"
USER = credentials.user_name(TENANT)
ARN1 = f"arn:aws:iam::{ACCOUNT}:policy{credentials.IAM_PATH}{credentials.policy_name(TENANT, 1)}"


def keys(*ids: str) -> dict[str, Any]:
    return {
        "AccessKeyMetadata": [{"UserName": USER, "AccessKeyId": k, "Status": "Active", "CreateDate": T0} for k in ids],
        "IsTruncated": False,
    }


def test_key_status_sends_one_update_for_the_tenants_key(stub, aws):
    stub.add_response("list_access_keys", keys(KEY1, KEY2), {"UserName": USER})
    stub.add_response("update_access_key", {}, {"UserName": USER, "AccessKeyId": KEY2, "Status": "Inactive"})
    credentials.set_key_status(aws, TENANT, KEY2, "Inactive")


def test_a_key_of_another_user_is_never_updated(stub, aws):
    stub.add_response("list_access_keys", keys(KEY1), {"UserName": USER})
    with pytest.raises(NotFound):
        credentials.set_key_status(aws, TENANT, KEY2, "Active")


def test_delete_follows_aws_order(stub, aws):
    """Keys, inline policies, memberships, then each managed policy (detached everywhere, versions, deleted), the
    user last."""
    stub.add_response("list_access_keys", keys(KEY1), {"UserName": USER})
    stub.add_response("delete_access_key", {}, {"UserName": USER, "AccessKeyId": KEY1})
    stub.add_response("list_user_policies", {"PolicyNames": ["guard"], "IsTruncated": False}, {"UserName": USER})
    stub.add_response("delete_user_policy", {}, {"UserName": USER, "PolicyName": "guard"})
    retiring = {"Path": "/", "GroupName": "s3api-RetiringKeys", "GroupId": "AGPA" + "A" * 17,
                "Arn": f"arn:aws:iam::{ACCOUNT}:group/s3api-RetiringKeys", "CreateDate": T0}  # fmt: skip
    stub.add_response("list_groups_for_user", {"Groups": [retiring], "IsTruncated": False}, {"UserName": USER})
    stub.add_response("remove_user_from_group", {}, {"GroupName": "s3api-RetiringKeys", "UserName": USER})
    attached = {"AttachedPolicies": [{"PolicyName": credentials.policy_name(TENANT, 1), "PolicyArn": ARN1}]}
    stub.add_response("list_attached_user_policies", {**attached, "IsTruncated": False}, {"UserName": USER})
    entities = {"PolicyGroups": [], "PolicyUsers": [{"UserName": USER, "UserId": "AIDA" + "A" * 17}], "PolicyRoles": []}
    stub.add_response("list_entities_for_policy", {**entities, "IsTruncated": False}, {"PolicyArn": ARN1})
    stub.add_response("detach_user_policy", {}, {"UserName": USER, "PolicyArn": ARN1})
    versions = [{"VersionId": "v2", "IsDefaultVersion": True}, {"VersionId": "v1", "IsDefaultVersion": False}]
    stub.add_response("list_policy_versions", {"Versions": versions, "IsTruncated": False}, {"PolicyArn": ARN1})
    stub.add_response("delete_policy_version", {}, {"PolicyArn": ARN1, "VersionId": "v1"})
    stub.add_response("delete_policy", {}, {"PolicyArn": ARN1})
    for n in range(2, credentials.MAX_POLICIES + 1):  # a policy made but never attached would be found too
        arn = f"arn:aws:iam::{ACCOUNT}:policy{credentials.IAM_PATH}{credentials.policy_name(TENANT, n)}"
        stub.add_client_error("get_policy", "NoSuchEntity", http_status_code=404, expected_params={"PolicyArn": arn})
    stub.add_response("delete_user", {}, {"UserName": USER})
    credentials.delete(aws, TENANT)


def test_a_policy_change_deletes_old_versions_before_the_new_one(stub, aws):
    """IAM keeps 5 versions at most: the non-default ones go first, then the new default."""
    from s3api.aws import iam

    versions = [{"VersionId": f"v{i}", "IsDefaultVersion": i == 4} for i in range(1, 6)]
    stub.add_response("list_policy_versions", {"Versions": versions, "IsTruncated": False}, {"PolicyArn": ARN1})
    for i in (1, 2, 3, 5):
        stub.add_response("delete_policy_version", {}, {"PolicyArn": ARN1, "VersionId": f"v{i}"})
    doc = credentials.document(["a-bucket"])
    import json

    stub.add_response(
        "create_policy_version",
        {"PolicyVersion": {"VersionId": "v6", "IsDefaultVersion": True}},
        {"PolicyArn": ARN1, "PolicyDocument": json.dumps(doc), "SetAsDefault": True},
    )
    iam.replace_policy_document(aws, ARN1, doc)
