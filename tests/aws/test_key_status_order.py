"""Switching a key off and on, as sent to AWS (botocore's Stubber: the exact call sequence, parameters included).

moto's IAM enforcement ignores a key's status, so tests/api/test_key_status.py cannot show an inactive key being
refused; what AWS needs for that is exactly one UpdateAccessKey naming the user, the key and the status, sent only
after the user was proven the scope's and the key the user's. AWS then refuses the key at once (S3:
InvalidAccessKeyId), and GetAccessKeyLastUsed gives service, region and date.
"""

from __future__ import annotations

from typing import Any

import pytest

from s3api.errors import BadRequest, NotFound
from s3api.provisioning import users
from tests.aws.test_user_order import ADM, KEY1, KEY2, T0, USER, attached, aws, group, key_meta, scope, stub

__all__ = ["aws", "scope", "stub"]  # fixtures


def member(stub: Any) -> None:
    stub.add_response("list_groups_for_user", {"Groups": [group(ADM)], "IsTruncated": False}, {"UserName": USER})
    attached(stub, ADM)


def test_switch_off_sends_one_update_for_the_users_key(stub, aws, scope):
    member(stub)
    stub.add_response(
        "list_access_keys",
        {"AccessKeyMetadata": [key_meta(KEY1), key_meta(KEY2, age_days=3)], "IsTruncated": False},
        {"UserName": USER},
    )
    stub.add_response("update_access_key", {}, {"UserName": USER, "AccessKeyId": KEY2, "Status": "Inactive"})
    used = {"ServiceName": "s3", "Region": "eu-west-1", "LastUsedDate": T0}
    stub.add_response("get_access_key_last_used", {"UserName": USER, "AccessKeyLastUsed": used}, {"AccessKeyId": KEY2})
    result = users.set_key_status(aws, scope, USER, KEY2, "Inactive")
    assert result == {"AccessKeyId": KEY2, "Status": "Inactive", "CreateDate": key_meta(KEY2, age_days=3)["CreateDate"],
                      "LastUsed": used}  # fmt: skip


def test_a_key_of_someone_else_is_never_updated(stub, aws, scope):
    member(stub)
    stub.add_response(
        "list_access_keys", {"AccessKeyMetadata": [key_meta(KEY1)], "IsTruncated": False}, {"UserName": USER}
    )
    with pytest.raises(NotFound):
        users.set_key_status(aws, scope, USER, KEY2, "Inactive")  # the queue ends: an UpdateAccessKey would fail


def test_key_deleted_meanwhile_is_404(stub, aws, scope):
    member(stub)
    stub.add_response(
        "list_access_keys", {"AccessKeyMetadata": [key_meta(KEY1)], "IsTruncated": False}, {"UserName": USER}
    )
    stub.add_client_error(
        "update_access_key",
        service_error_code="NoSuchEntity",
        http_status_code=404,
        expected_params={"UserName": USER, "AccessKeyId": KEY1, "Status": "Active"},
    )
    with pytest.raises(NotFound):
        users.set_key_status(aws, scope, USER, KEY1, "Active")


@pytest.mark.parametrize(
    ("key_id", "status"), [("AKIA12", "Active"), (KEY1, "Disabled"), ("AKIA" + "é" * 16, "Active")]
)
def test_bad_input_makes_no_call(stub, aws, scope, key_id, status):
    with pytest.raises(BadRequest):
        users.set_key_status(aws, scope, USER, key_id, status)
