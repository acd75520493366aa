"""A user's access key switched off and on: PATCH .../users/<u>/keys/<key_id> (bucket and website users).

What the backend does with an inactive key: AWS refuses it at once (S3 answers InvalidAccessKeyId). moto's IAM
enforcement does not look at a key's status by itself; the emulator is patched to (:mod:`s3api.emulator`, applied to
the in-process mock in tests/conftest.py and to the embedded server), so
:func:`test_inactive_key_is_refused_by_the_backend` proves it with a real request. What we send to AWS (exactly
UpdateAccessKey with the user, key and status) is proven with botocore's Stubber in tests/aws/test_key_status_order.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from s3api import create_app
from tests.api.test_audit import events
from tests.api.test_users import BASE, BUCKET, create, make_bucket
from tests.api.test_users_enforced import bootstrap_admin, denied, s3_with
from tests.conftest import Client, make_settings

OTHER = "other-data"
SITE = "www.example.test"
OTHER_SITE = "mywww.example.test"  # contains SITE: a substring match would take its users
SITE_USERS = f"/v1/s3/local/websites/{SITE}/users"
UNKNOWN_KEY = "AKIAIOSFODNN7EXAMPLE"


@pytest.fixture
def bucket(client: Client) -> str:
    make_bucket(client, BUCKET)
    return BUCKET


def keys_of(client: Client, path: str) -> dict[str, str]:
    r = client.get(path)
    assert r.status_code == 200, r.json
    return {k["AccessKeyId"]: k["Status"] for k in r.json["AccessKeys"]}


def test_switch_off_then_on_shows_in_get(client, bucket):
    key = create(client, "alice", ["BktRWGrp"]).json["AccessKey"]["AccessKeyId"]
    r = client.patch(f"{BASE}/alice/keys/{key}", json={"Status": "Inactive"})
    assert r.status_code == 200, r.json
    assert set(r.json) == {"AccessKeyId", "Status", "CreateDate", "LastUsed"}
    assert (r.json["AccessKeyId"], r.json["Status"]) == (key, "Inactive")
    assert r.json["LastUsed"] == {"ServiceName": "N/A", "Region": "N/A", "LastUsedDate": None}
    assert "SecretAccessKey" not in r.text
    assert keys_of(client, f"{BASE}/alice") == {key: "Inactive"}

    again = client.patch(f"{BASE}/alice/keys/{key}", json={"Status": "Inactive"})  # idempotent
    assert again.status_code == 200 and again.json["Status"] == "Inactive"

    r = client.patch(f"{BASE}/alice/keys/{key}", json={"Status": "Active"})
    assert r.status_code == 200 and r.json["Status"] == "Active"
    assert keys_of(client, f"{BASE}/alice") == {key: "Active"}


def test_show_gives_last_used_per_key(client, bucket):
    create(client, "alice", ["BktRWGrp"])
    client.put(f"{BASE}/alice?grace_seconds=60")  # two keys
    r = client.get(f"{BASE}/alice")
    assert len(r.json["AccessKeys"]) == 2
    for k in r.json["AccessKeys"]:
        assert set(k) == {"AccessKeyId", "Status", "CreateDate", "LastUsedDate", "LastUsed"}
        assert set(k["LastUsed"]) == {"ServiceName", "Region", "LastUsedDate"}


@pytest.mark.parametrize(
    "body",
    [{}, {"Status": "inactive"}, {"Status": "Deleted"}, {"Status": None}, {"Status": "Active", "Extra": 1}, []],
)
def test_bad_body_is_400_and_changes_nothing(client, bucket, body):
    key = create(client, "alice").json["AccessKey"]["AccessKeyId"]
    r = client.patch(f"{BASE}/alice/keys/{key}", json=body)
    assert r.status_code == 400, r.json
    assert keys_of(client, f"{BASE}/alice") == {key: "Active"}


@pytest.mark.parametrize("key_id", ["AKIA123", "A" * 129, "AKIA-AAAAAAAAAAAAAAAA", "AKIAAAAAAAAAAAAAAA%C3%A9"])
def test_bad_key_id_is_400(client, bucket, key_id):
    create(client, "alice")
    r = client.patch(f"{BASE}/alice/keys/{key_id}", json={"Status": "Inactive"})
    assert r.status_code == 400, r.json
    assert "key_id" in r.json["errors"]


def test_404s_unknown_key_other_users_key_other_buckets_user_unknown_user(client, bucket, iam):
    make_bucket(client, OTHER)
    alice = create(client, "alice").json["AccessKey"]["AccessKeyId"]
    bob = create(client, "bob").json["AccessKey"]["AccessKeyId"]
    carol = create(client, "carol", bucket=OTHER).json["AccessKey"]["AccessKeyId"]
    iam.create_user(UserName="human")  # an account user not made by us
    human = iam.create_access_key(UserName="human")["AccessKey"]["AccessKeyId"]
    off = {"Status": "Inactive"}
    for path in (
        f"{BASE}/alice/keys/{UNKNOWN_KEY}",  # no such key
        f"{BASE}/alice/keys/{bob}",  # another user's key
        f"{BASE}/carol/keys/{carol}",  # a user of another bucket
        f"{BASE}/human/keys/{human}",  # an IAM user outside any bucket
        f"{BASE}/nobody/keys/{alice}",  # no such user
    ):
        r = client.patch(path, json=off)
        assert (r.status_code, r.json["code"]) == (404, "NotFound"), (path, r.json)
    everyone = ("alice", "bob", "carol", "human")
    statuses = {u: iam.list_access_keys(UserName=u)["AccessKeyMetadata"][0]["Status"] for u in everyone}
    assert statuses == dict.fromkeys(everyone, "Active")


def test_same_answer_as_show_for_out_of_scope_users(client, bucket, iam):
    make_bucket(client, OTHER)
    carol = create(client, "carol", bucket=OTHER).json["AccessKey"]["AccessKeyId"]
    iam.create_user(UserName="human")
    human = iam.create_access_key(UserName="human")["AccessKey"]["AccessKeyId"]
    for user, key in (("carol", carol), ("human", human)):
        shown = client.get(f"{BASE}/{user}")
        patched = client.patch(f"{BASE}/{user}/keys/{key}", json={"Status": "Inactive"})
        assert shown.status_code == 404
        assert (patched.status_code, patched.json["message"]) == (shown.status_code, shown.json["message"])


def test_audit_event_keeps_the_status(db_app, db_client, seed):
    make_bucket(db_client, BUCKET)
    key = create(db_client, "alice").json["AccessKey"]["AccessKeyId"]
    assert db_client.patch(f"{BASE}/alice/keys/{key}", json={"Status": "Inactive"}).status_code == 200
    assert db_client.patch(f"{BASE}/alice/keys/{UNKNOWN_KEY}", json={"Status": "Active"}).status_code == 404
    done, missing = [e for e in events(db_app) if e["Action"] == "user.key_status"]
    assert done["Resource"] == f"local/buckets/{BUCKET}/users/alice/keys/{key}" and done["Status"] == 200
    assert done["Input"] == {"Body": {"Status": "Inactive"}}
    assert missing["Status"] == 404


# --- the website twin ------------------------------------------------------------------------------------------


@pytest.fixture
def site(client: Client) -> str:
    r = client.post("/v1/s3/local/websites", json={"BucketInput": {"Bucket": SITE}})
    assert r.status_code == 200, r.json
    return SITE


def add_site_user(client: Client, name: str, path: str = "/") -> str:
    r = client.post(SITE_USERS, json={"User": {"UserName": name, "Path": path}})
    assert r.status_code == 200, r.json
    return str(r.json["AccessKey"]["AccessKeyId"])


def test_website_user_key_off_and_on(client, site):
    key = add_site_user(client, "editor", "/docs/")
    r = client.patch(f"{SITE_USERS}/editor/keys/{key}", json={"Status": "Inactive"})
    assert r.status_code == 200 and r.json["Status"] == "Inactive", r.json
    assert keys_of(client, f"{SITE_USERS}/editor") == {key: "Inactive"}
    r = client.patch(f"{SITE_USERS}/editor/keys/{key}", json={"Status": "Active"})
    assert r.status_code == 200 and r.json["Status"] == "Active"
    assert keys_of(client, f"{SITE_USERS}/editor") == {key: "Active"}


def test_website_404s_bucket_user_unknown_key_and_400s(client, site):
    make_bucket(client, BUCKET)
    key = add_site_user(client, "editor")
    r = client.post("/v1/s3/local/websites", json={"BucketInput": {"Bucket": OTHER_SITE}})
    assert r.status_code == 200, r.json
    neighbour = client.post(f"/v1/s3/local/websites/{OTHER_SITE}/users", json={"User": {"UserName": "nb"}})
    assert neighbour.status_code == 200, neighbour.json
    nb_key = neighbour.json["AccessKey"]["AccessKeyId"]
    shown = client.get(f"{SITE_USERS}/nb")
    r = client.patch(f"{SITE_USERS}/nb/keys/{nb_key}", json={"Status": "Inactive"})  # a user of another site
    assert (r.status_code, r.json["message"]) == (404, shown.json["message"]) and shown.status_code == 404
    bucket_key = create(client, "alice").json["AccessKey"]["AccessKeyId"]
    off = {"Status": "Inactive"}
    assert client.patch(f"{SITE_USERS}/alice/keys/{bucket_key}", json=off).status_code == 404  # a bucket's user
    assert client.patch(f"{SITE_USERS}/editor/keys/{bucket_key}", json=off).status_code == 404  # not its key
    assert client.patch(f"{SITE_USERS}/editor/keys/{UNKNOWN_KEY}", json=off).status_code == 404
    assert client.patch(f"{SITE_USERS}/editor/keys/short", json=off).status_code == 400
    assert client.patch(f"{SITE_USERS}/editor/keys/{key}", json={"Status": "Off"}).status_code == 400
    assert keys_of(client, f"{SITE_USERS}/editor") == {key: "Active"}
    assert keys_of(client, f"{BASE}/alice") == {bucket_key: "Active"}
    assert keys_of(client, f"/v1/s3/local/websites/{OTHER_SITE}/users/nb") == {nb_key: "Active"}


# --- against the backend, under moto's IAM enforcement ---------------------------------------------------------


@pytest.fixture
def enforced(seed: dict[str, str]) -> Any:
    from moto.core import enable_iam_authentication

    ak, sk = bootstrap_admin()
    app = create_app(make_settings(seed, access_key_id=ak, secret_access_key=sk))
    client = Client(app.test_client())
    with enable_iam_authentication():
        r = client.post("/v1/s3/local/buckets", json={"BucketInput": {"Bucket": BUCKET}})
        assert r.status_code == 200, r.json
        s3_with({"AccessKeyId": ak, "SecretAccessKey": sk}).put_object(Bucket=BUCKET, Key="seed.txt", Body=b"seed")
        yield client


def test_active_key_works_and_works_again_after_switching_on(enforced):
    """The part moto can prove: the key works, and after Inactive → Active it still (again) works."""
    key = create(enforced, "alice", ["BktRWGrp"]).json["AccessKey"]
    s3 = s3_with(key)
    assert s3.get_object(Bucket=BUCKET, Key="seed.txt")["Body"].read() == b"seed"
    for status in ("Inactive", "Active"):
        r = enforced.patch(f"{BASE}/alice/keys/{key['AccessKeyId']}", json={"Status": status})
        assert r.status_code == 200, r.json
    assert s3.get_object(Bucket=BUCKET, Key="seed.txt")["Body"].read() == b"seed"
    assert denied(s3.get_object, Bucket=OTHER, Key="x") == "AccessDenied"  # enforcement is on


def test_inactive_key_is_refused_by_the_backend(enforced):
    key = create(enforced, "alice", ["BktRWGrp"]).json["AccessKey"]
    s3 = s3_with(key)
    assert s3.get_object(Bucket=BUCKET, Key="seed.txt")["Body"].read() == b"seed"
    r = enforced.patch(f"{BASE}/alice/keys/{key['AccessKeyId']}", json={"Status": "Inactive"})
    assert r.status_code == 200, r.json
    assert denied(s3.get_object, Bucket=BUCKET, Key="seed.txt") == "InvalidAccessKeyId"
    r = enforced.patch(f"{BASE}/alice/keys/{key['AccessKeyId']}", json={"Status": "Active"})
    assert r.status_code == 200, r.json
    assert s3.get_object(Bucket=BUCKET, Key="seed.txt")["Body"].read() == b"seed"  # on again: works again


def test_emulator_patch_is_idempotent_and_keeps_unknown_keys_refused(enforced):
    from s3api import emulator

    emulator.patch()  # a second call changes nothing
    s3 = s3_with({"AccessKeyId": UNKNOWN_KEY, "SecretAccessKey": "x" * 40})
    assert denied(s3.get_object, Bucket=BUCKET, Key="seed.txt") == "InvalidAccessKeyId"
