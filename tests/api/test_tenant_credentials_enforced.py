"""A tenant's S3 credentials under moto's IAM enforcement: they reach exactly the tenant's buckets, also after
``sync`` with buckets added and removed, and nothing once suspended (data kept) or deleted.

The service runs as a bootstrapped admin IAM user (as tests/api/test_users_enforced.py); the tenant's key is then
checked for real against S3.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import boto3
import pytest
from moto.core import enable_iam_authentication

from s3api import create_app
from s3api.aws.clients import AccountAws
from s3api.provisioning import buckets as bucket_workflow
from s3api.provisioning.steps import Transaction
from s3api.provisioning.tenants import credentials
from tests.api.test_users_enforced import bootstrap_admin, denied, s3_with
from tests.conftest import make_settings

TENANT = "t-00000000000000aa"
NEIGHBOUR = "t-00000000000000bb"


class World:
    def __init__(self, aws: AccountAws, admin: dict[str, str]) -> None:
        self.aws = aws
        self.admin = admin

    def bucket(self, name: str, tenant: str | None = TENANT) -> str:
        bucket_workflow.create(self.aws, name, owner=tenant, grant=False)  # the test syncs the credentials itself
        s3_with(self.admin).put_object(Bucket=name, Key="seed.txt", Body=name.encode())
        return name

    def iam(self) -> Any:
        return boto3.client(
            "iam",
            region_name="us-east-1",
            aws_access_key_id=self.admin["AccessKeyId"],
            aws_secret_access_key=self.admin["SecretAccessKey"],
        )


@pytest.fixture
def world(seed: dict[str, str]) -> Iterator[World]:
    ak, sk = bootstrap_admin()
    app = create_app(make_settings(seed, access_key_id=ak, secret_access_key=sk))
    with app.app_context(), enable_iam_authentication():
        yield World(app.extensions["s3api"].aws("local"), {"AccessKeyId": ak, "SecretAccessKey": sk})


def made(world: World, tenant: str, names: list[str]) -> dict[str, str]:
    with Transaction("tenant_create") as tx:
        key_id, secret = credentials.create(world.aws, tenant, names, tx)
    return {"AccessKeyId": key_id, "SecretAccessKey": secret}


def reaches(key: dict[str, str], bucket: str) -> bool:
    s3 = s3_with(key)
    try:
        s3.get_object(Bucket=bucket, Key="seed.txt")
    except Exception:
        return False
    s3.put_object(Bucket=bucket, Key="w.txt", Body=b"w")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["seed.txt", "w.txt"]
    s3.delete_object(Bucket=bucket, Key="w.txt")
    return True


def assert_exactly(key: dict[str, str], mine: list[str], others: list[str]) -> None:
    for b in mine:
        assert reaches(key, b), b
    s3 = s3_with(key)
    for b in others:
        assert denied(s3.get_object, Bucket=b, Key="seed.txt") == "AccessDenied", b
        assert denied(s3.put_object, Bucket=b, Key="x", Body=b"x") == "AccessDenied", b
        assert denied(s3.list_objects_v2, Bucket=b) == "AccessDenied", b
    assert denied(s3.list_buckets) == "AccessDenied"  # the account's other names are not the tenant's


def test_credentials_reach_exactly_the_tenants_buckets(world):
    mine = [world.bucket("tenant-one"), world.bucket("tenant-two")]
    others = [world.bucket("neighbour-one", NEIGHBOUR), world.bucket("untagged-one", None)]
    key = made(world, TENANT, mine)
    assert_exactly(key, mine, others)
    s3 = s3_with(key)
    # the guard: the ownership tag, the bucket policy and the bucket itself are not the tenant's to change
    assert denied(s3.put_bucket_tagging, Bucket=mine[0], Tagging={"TagSet": []}) == "AccessDenied"
    assert denied(s3.delete_bucket, Bucket=mine[0]) == "AccessDenied"
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    assert denied(s3.put_bucket_policy, Bucket=mine[0], Policy=policy) == "AccessDenied"


def test_sync_follows_buckets_added_and_removed(world):
    first = world.bucket("tenant-first")
    other = world.bucket("neighbour-data", NEIGHBOUR)
    key = made(world, TENANT, [first])
    second = world.bucket("tenant-second")
    assert denied(s3_with(key).get_object, Bucket=second, Key="seed.txt") == "AccessDenied"  # not yet synced
    credentials.sync(world.aws, TENANT)  # read back from the tags
    assert_exactly(key, [first, second], [other])

    credentials.sync(world.aws, TENANT, [second])  # the first one was deleted (say)
    assert_exactly(key, [second], [first, other])

    credentials.sync(world.aws, TENANT, [])  # no bucket left: no policy left
    assert_exactly(key, [], [first, second, other])
    iam = world.iam()
    assert iam.list_attached_user_policies(UserName=credentials.user_name(TENANT))["AttachedPolicies"] == []
    credentials.sync(world.aws, TENANT, [first])
    assert_exactly(key, [first], [second, other])


def test_many_syncs_keep_at_most_two_policy_versions(world):
    names = [world.bucket(f"tenant-b{i}") for i in range(7)]
    key = made(world, TENANT, names[:1])
    for i in range(2, 8):  # six changes of the one policy: IAM would refuse a sixth version
        credentials.sync(world.aws, TENANT, names[:i])
    iam = world.iam()
    arn = iam.list_attached_user_policies(UserName=credentials.user_name(TENANT))["AttachedPolicies"][0]["PolicyArn"]
    assert len(iam.list_policy_versions(PolicyArn=arn)["Versions"]) == 2
    assert_exactly(key, names, [])


def test_suspension_denies_everything_and_keeps_the_data(world):
    mine = world.bucket("tenant-held")
    key = made(world, TENANT, [mine])
    credentials.suspend(world.aws, TENANT)
    s3 = s3_with(key)
    assert denied(s3.get_object, Bucket=mine, Key="seed.txt") == "AccessDenied"
    assert denied(s3.put_object, Bucket=mine, Key="x", Body=b"x") == "AccessDenied"
    assert s3_with(world.admin).get_object(Bucket=mine, Key="seed.txt")["Body"].read() == mine.encode()
    credentials.resume(world.aws, TENANT)
    assert reaches(key, mine)


def test_rotation_and_delete(world):
    mine = world.bucket("tenant-rot")
    old = made(world, TENANT, [mine])
    new_id, new_secret = credentials.rotate(world.aws, TENANT, 0)
    new = {"AccessKeyId": new_id, "SecretAccessKey": new_secret}
    assert denied(s3_with(old).get_object, Bucket=mine, Key="seed.txt") == "InvalidAccessKeyId"
    assert reaches(new, mine)
    graced_id, graced_secret = credentials.rotate(world.aws, TENANT, 300)
    assert reaches(new, mine) and reaches({"AccessKeyId": graced_id, "SecretAccessKey": graced_secret}, mine)
    assert {k["AccessKeyId"] for k in credentials.keys(world.aws, TENANT)} == {new_id, graced_id}

    credentials.delete(world.aws, TENANT)
    credentials.delete(world.aws, TENANT)  # idempotent
    assert denied(s3_with(new).get_object, Bucket=mine, Key="seed.txt") == "InvalidAccessKeyId"
    iam = world.iam()
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["svc-admin"]
    assert not [p for p in iam.list_policies(Scope="Local")["Policies"] if p["Path"] == credentials.IAM_PATH]


def test_a_tenant_made_through_the_api_reaches_its_buckets_only(seed, tmp_path):
    """The whole way: POST /v1/s3/tenants, the operation, the secrets handed over once; the key reaches the first
    bucket and nothing else; a second tenant bucket after a sync; suspension through the API; rotation."""
    from tests.api.tenancy_fixtures import TENANTS, file_database, make_tenant, tenancy_app
    from tests.conftest import Client

    ak, sk = bootstrap_admin()
    admin = {"AccessKeyId": ak, "SecretAccessKey": sk}
    app = tenancy_app(make_settings(seed, access_key_id=ak, secret_access_key=sk), file_database(tmp_path))
    client = Client(app.test_client())
    with enable_iam_authentication():
        aws = app.extensions["s3api"].aws("local")
        world = World(aws, admin)
        other = world.bucket("someone-elses", NEIGHBOUR)
        made = make_tenant(client, app, "api-made-data")
        key = {"AccessKeyId": made["AccessKeyId"], "SecretAccessKey": made["SecretAccessKey"]}
        s3_with(admin).put_object(Bucket="api-made-data", Key="seed.txt", Body=b"x")
        assert_exactly(key, ["api-made-data"], [other])

        second = world.bucket("api-made-second", made["Id"])
        credentials.sync(aws, made["Id"])  # what the isolation work's access.after_bucket_created calls
        assert_exactly(key, ["api-made-data", second], [other])

        assert client.post(f"{TENANTS}/{made['Id']}/suspend").status_code == 200
        assert denied(s3_with(key).get_object, Bucket=second, Key="seed.txt") == "AccessDenied"
        assert client.post(f"{TENANTS}/{made['Id']}/resume").status_code == 200
        assert reaches(key, second)

        rotated = client.post(f"{TENANTS}/{made['Id']}/credentials/rotate", json={"GraceSeconds": 0}).json
        assert denied(s3_with(key).get_object, Bucket=second, Key="seed.txt") == "InvalidAccessKeyId"
        assert_exactly(
            {"AccessKeyId": rotated["AccessKeyId"], "SecretAccessKey": rotated["SecretAccessKey"]},
            ["api-made-data", second],
            [other],
        )


def test_a_sync_interleaved_with_another_reads_the_tags_again(world, monkeypatch):
    """Two bucket creates of one tenant at once: the other sync read the same policy and wrote after ours (a lost
    update of our bucket); ours reads back, sees it, and syncs again from the tags: all three are reachable."""
    a = world.bucket("tenant-race-a")
    key = made(world, TENANT, [a])
    b, c = world.bucket("tenant-race-b"), world.bucket("tenant-race-c")
    real_apply = credentials._apply
    raced: list[int] = []

    def racing(aws: Any, tenant_id: str, current: Any, wanted: Any) -> None:
        real_apply(aws, tenant_id, current, wanted)
        if not raced:
            raced.append(1)
            real_apply(aws, tenant_id, current, {1: {a, c}})  # the other sync's write, from the same read

    monkeypatch.setattr(credentials, "_apply", racing)
    credentials.sync(world.aws, TENANT, [a, b])
    assert raced
    assert_exactly(key, [a, b, c], [])


# the emulator refuses an inactive key as AWS does (s3api/emulator.py, applied in tests/conftest.py)
def test_a_key_switched_off_is_refused(world):
    mine = world.bucket("tenant-off")
    key = made(world, TENANT, [mine])
    credentials.set_key_status(world.aws, TENANT, key["AccessKeyId"], "Inactive")
    assert denied(s3_with(key).get_object, Bucket=mine, Key="seed.txt") == "InvalidAccessKeyId"
    credentials.set_key_status(world.aws, TENANT, key["AccessKeyId"], "Active")
    assert s3_with(key).get_object(Bucket=mine, Key="seed.txt")["Body"].read() == b"tenant-off"  # on again
