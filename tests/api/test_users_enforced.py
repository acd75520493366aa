"""Keys issued by the users routes, used against S3 with moto's IAM enforcement on (moto-notes §3, recipe A).

The service runs as a bootstrapped admin IAM user (an inline ``*`` policy made while auth was off); the
tenants' keys are then checked for real: each reaches its own bucket, as far as its group allows, and no
other bucket.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.core import enable_iam_authentication

from s3api import create_app
from s3api.provisioning import periodic, users
from tests.conftest import Client, make_settings

BUCKET = "tenant-data"
OTHER = "neighbour-data"
ADMIN_POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'


def bootstrap_admin() -> tuple[str, str]:
    """Runs while auth is off: the identity the service will use once enforcement is on."""
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName="svc-admin")
    iam.put_user_policy(UserName="svc-admin", PolicyName="admin", PolicyDocument=ADMIN_POLICY)
    key = iam.create_access_key(UserName="svc-admin")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def s3_with(key: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def denied(call: Any, **kwargs: Any) -> str:
    """The error code of a call that must fail."""
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    return str(exc.value.response["Error"]["Code"])


class Env:
    def __init__(self, app: Any, client: Client, admin: dict[str, str]) -> None:
        self.app = app
        self.client = client
        self.admin = admin

    def user(self, name: str, groups: list[str]) -> dict[str, str]:
        r = self.client.post(
            f"/v1/s3/local/buckets/{BUCKET}/users", json={"User": {"UserName": name}, "Groups": groups}
        )
        assert r.status_code == 200, r.json
        key: dict[str, str] = r.json["AccessKey"]
        return key


@pytest.fixture
def env(seed: dict[str, str]) -> Iterator[Env]:
    ak, sk = bootstrap_admin()
    app = create_app(make_settings(seed, access_key_id=ak, secret_access_key=sk))
    client = Client(app.test_client())
    admin = {"AccessKeyId": ak, "SecretAccessKey": sk}
    with enable_iam_authentication():
        for name in (BUCKET, OTHER):
            r = client.post("/v1/s3/local/buckets", json={"BucketInput": {"Bucket": name}})
            assert r.status_code == 200, r.json
        s3_with(admin).put_object(Bucket=BUCKET, Key="seed.txt", Body=b"seed")
        s3_with(admin).put_object(Bucket=OTHER, Key="secret.txt", Body=b"secret")
        yield Env(app, client, admin)


def test_enforcement_is_on(env):
    bogus = {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "x" * 40}
    assert denied(s3_with(bogus).list_objects_v2, Bucket=BUCKET) == "InvalidAccessKeyId"


@pytest.mark.parametrize("groups", [["BktAdmGrp"], ["BktRWGrp"]])
def test_admin_and_rw_keys_work_in_their_bucket_only(env, groups):
    s3 = s3_with(env.user("writer", groups))
    s3.put_object(Bucket=BUCKET, Key="docs/a.txt", Body=b"hello")
    assert s3.get_object(Bucket=BUCKET, Key="docs/a.txt")["Body"].read() == b"hello"
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert listed == ["docs/a.txt", "seed.txt"]
    s3.delete_object(Bucket=BUCKET, Key="docs/a.txt")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["seed.txt"]

    assert denied(s3.list_objects_v2, Bucket=OTHER) == "AccessDenied"
    assert denied(s3.get_object, Bucket=OTHER, Key="secret.txt") == "AccessDenied"
    assert denied(s3.put_object, Bucket=OTHER, Key="x", Body=b"x") == "AccessDenied"
    assert denied(s3.delete_object, Bucket=OTHER, Key="secret.txt") == "AccessDenied"
    assert denied(s3.list_buckets) == "AccessDenied"


def test_read_only_key_reads_but_cannot_write(env):
    s3 = s3_with(env.user("reader", ["BktROGrp"]))
    assert s3.get_object(Bucket=BUCKET, Key="seed.txt")["Body"].read() == b"seed"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["seed.txt"]
    assert denied(s3.put_object, Bucket=BUCKET, Key="x", Body=b"x") == "AccessDenied"
    assert denied(s3.delete_object, Bucket=BUCKET, Key="seed.txt") == "AccessDenied"
    assert denied(s3.get_object, Bucket=OTHER, Key="secret.txt") == "AccessDenied"


def test_deleted_user_key_stops_working(env):
    key = env.user("leaver", ["BktRWGrp"])
    s3 = s3_with(key)
    assert s3.get_object(Bucket=BUCKET, Key="seed.txt")["Body"].read() == b"seed"
    assert env.client.delete(f"/v1/s3/local/buckets/{BUCKET}/users/leaver").status_code == 200
    assert denied(s3.get_object, Bucket=BUCKET, Key="seed.txt") == "InvalidAccessKeyId"


def test_rotation_with_grace_both_keys_work_until_the_sweep(env):
    old_key = env.user("rotor", ["BktRWGrp"])
    r = env.client.put(f"/v1/s3/local/buckets/{BUCKET}/users/rotor?grace_seconds=300")
    assert r.status_code == 200, r.json
    new_key = r.json["AccessKey"]
    old, new = s3_with(old_key), s3_with(new_key)
    for s3 in (old, new):
        assert s3.get_object(Bucket=BUCKET, Key="seed.txt")["Body"].read() == b"seed"
        s3.put_object(Bucket=BUCKET, Key="both.txt", Body=b"ok")

    runtime = env.app.extensions["s3api"]
    assert periodic.run_all(runtime.settings, runtime.clients).get("retire_keys") == 0  # deadline not reached
    assert old.get_object(Bucket=BUCKET, Key="both.txt")["Body"].read() == b"ok"

    later = datetime.now(UTC) + timedelta(seconds=301)
    assert users.sweep_retiring_keys(runtime.aws("local"), now=later) == 1
    assert denied(old.get_object, Bucket=BUCKET, Key="seed.txt") == "InvalidAccessKeyId"
    assert new.get_object(Bucket=BUCKET, Key="seed.txt")["Body"].read() == b"seed"
    assert denied(new.get_object, Bucket=OTHER, Key="secret.txt") == "AccessDenied"


def test_rotation_without_grace_kills_the_old_key_at_once(env):
    old_key = env.user("quick", ["BktAdmGrp"])
    r = env.client.put(f"/v1/s3/local/buckets/{BUCKET}/users/quick")
    assert r.status_code == 200 and r.json["DeletedKeyIds"] == [old_key["AccessKeyId"]]
    assert denied(s3_with(old_key).get_object, Bucket=BUCKET, Key="seed.txt") == "InvalidAccessKeyId"
    assert s3_with(r.json["AccessKey"]).get_object(Bucket=BUCKET, Key="seed.txt")["Body"].read() == b"seed"
