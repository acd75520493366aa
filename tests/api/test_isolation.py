"""Tenant keys on the existing routes (issue 16, "A tenant key uses the existing routes"): own account only,
lists of its own resources, 404 for anyone else's, bucket create within its plan, the access hooks.

``credentials.sync`` is the tenancy work's (NotImplementedError on this branch): every test here replaces it
with a recorder (fixture ``synced``); after the merge the integrator runs these against the real one too by
dropping the fixture's monkeypatch (see ``REAL_SYNC``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask

from s3api import create_app
from s3api.jobs import local
from s3api.provisioning import boundary, emptying
from s3api.provisioning.tenants import credentials, ownership
from tests.api.tenancy_made import S3_KEYS, make_bucket, make_tenant, s3_client
from tests.api.test_buckets import Recorder
from tests.conftest import Client, make_settings

REAL_SYNC = True  # credentials.sync is real: the recorder also calls it
BUCKETS = "/v1/s3/local/buckets"


@pytest.fixture(autouse=True)
def _fresh_owner_cache() -> Any:
    ownership.clear()
    yield
    ownership.clear()


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str] | None]]:
    calls: list[tuple[str, list[str] | None]] = []
    real = credentials.sync

    def record(aws: Any, tenant_id: str, buckets: list[str] | None = None) -> None:
        calls.append((tenant_id, None if buckets is None else list(buckets)))
        if REAL_SYNC:
            real(aws, tenant_id, buckets)

    monkeypatch.setattr(credentials, "sync", record)
    return calls


def h(key: str) -> dict[str, str]:
    return {"X-Auth-Token": key}


@pytest.fixture
def two(app: Flask, synced: Any) -> dict[str, Any]:
    """Tenants A and B with two buckets each, an admin bucket of no tenant and an unmanaged bucket."""
    a, key_a, _ = make_tenant(app, buckets=["acme-one", "acme-two"])
    b, key_b, _ = make_tenant(app, buckets=["bravo-one", "bravo-two"], email="b@example.test")
    make_bucket(app, "nobody-managed", None)
    s3_client().create_bucket(Bucket="unmanaged-raw")
    return {"a": a, "key_a": key_a, "b": b, "key_b": key_b}


def test_lists_show_only_own_buckets(client: Client, two: dict[str, Any]) -> None:
    assert client.get(BUCKETS, headers=h(two["key_a"])).json == ["acme-one", "acme-two"]
    assert client.get(BUCKETS, headers=h(two["key_b"])).json == ["bravo-one", "bravo-two"]
    assert len(client.get(BUCKETS).json) >= 6  # the admin sees every bucket


@pytest.mark.parametrize("bucket", ["bravo-one", "nobody-managed", "unmanaged-raw", "no-such-bucket"])
def test_any_bucket_not_its_own_is_404_in_one_wording(client: Client, two: dict[str, Any], bucket: str) -> None:
    key = h(two["key_a"])
    for method, suffix in [("GET", ""), ("PUT", ""), ("DELETE", ""), ("GET", "/objects"), ("GET", "/users")]:
        body = {"Tags": []} if method == "PUT" else None
        r = client.open(method, f"{BUCKETS}/{bucket}{suffix}", headers=key, json=body)
        assert r.status_code == 404, (method, suffix, r.status_code, r.json)
        assert r.json["message"] == f"bucket '{bucket}' does not exist"
    assert client.head(f"{BUCKETS}/{bucket}", headers=key).status_code == 404
    assert client.post(f"{BUCKETS}/{bucket}/presign", headers=key, json={"Key": "k"}).status_code == 404


def test_own_bucket_answers(client: Client, two: dict[str, Any]) -> None:
    key = h(two["key_a"])
    s3_client().put_object(Bucket="acme-one", Key="docs/a.txt", Body=b"hello")
    assert client.get(f"{BUCKETS}/acme-one", headers=key).status_code == 200
    assert client.head(f"{BUCKETS}/acme-one", headers=key).status_code == 200
    listing = client.get(f"{BUCKETS}/acme-one/objects", headers=key)
    assert listing.status_code == 200, listing.json
    assert client.get(f"{BUCKETS}/acme-one/objects/docs/a.txt", headers=key).status_code == 200


def test_other_account_is_404_as_an_unknown_one(client: Client, two: dict[str, Any]) -> None:
    key = h(two["key_a"])
    unknown = client.get("/v1/s3/nowhere/buckets").json["message"]
    r = client.get("/v1/s3/nowhere/buckets", headers=key)
    assert r.status_code == 404 and r.json["message"] == unknown
    assert client.get("/v1/s3/accounts", headers=key).json == ["local"]
    assert client.get("/v1/s3/local", headers=key).status_code == 200


def test_admin_only_routes_are_403(client: Client, two: dict[str, Any]) -> None:
    key = h(two["key_a"])
    for method, path in [
        ("GET", "/v1/s3/keys"),
        ("POST", "/v1/s3/keys"),
        ("GET", "/v1/s3/audit"),
        ("POST", "/v1/s3/plans"),
        ("GET", "/v1/s3/tenants"),
        ("PUT", "/v1/s3/local/buckets/x-data/quota"),
    ]:
        r = client.open(method, path, headers=key, json={})
        assert r.status_code == 403, (method, path, r.status_code)
        assert r.json["code"] == "Forbidden"


def test_whoami_and_own_tenant_only(client: Client, two: dict[str, Any]) -> None:
    me = client.get("/v1/s3/whoami", headers=h(two["key_a"]))
    assert me.status_code == 200 and me.json["Tenant"] == two["a"]


def test_create_is_tagged_within_plan_and_synced(
    app: Flask, client: Client, synced: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, key, _ = make_tenant(app, buckets=["gamma-one"], plan="glacier", max_buckets=2, storage_type="Glacier")
    body = {"BucketInput": {"Bucket": "gamma-two"}, "Tags": [{"Key": "team", "Value": "x"}]}
    r = client.post(BUCKETS, headers=h(key), json=body)
    assert r.status_code == 200, r.json
    s3 = s3_client()
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket="gamma-two")["TagSet"]}
    assert tags[ownership.TAG_KEY] == tenant and tags["team"] == "x"
    rules = s3.get_bucket_lifecycle_configuration(Bucket="gamma-two")["Rules"]
    assert [(t["StorageClass"], t["Days"]) for r_ in rules for t in r_["Transitions"]] == [("GLACIER", 0)]
    assert synced == [(tenant, ["gamma-one", "gamma-two"])]
    assert client.get(BUCKETS, headers=h(key)).json == ["gamma-one", "gamma-two"]
    # the plan's MaxBuckets: a third is refused, nothing made
    r = client.post(BUCKETS, headers=h(key), json={"BucketInput": {"Bucket": "gamma-three"}})
    assert r.status_code == 409, r.json
    assert "allows 2 bucket" in r.json["message"]
    assert "gamma-three" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert len(synced) == 1


def test_ia_plan_transitions_after_aws_minimum(app: Flask, client: Client, synced: list[Any]) -> None:
    _, key, _ = make_tenant(app, plan="ia", storage_type="StandardIA")
    r = client.post(BUCKETS, headers=h(key), json={"BucketInput": {"Bucket": "ia-bucket"}})
    assert r.status_code == 200, r.json
    rules = s3_client().get_bucket_lifecycle_configuration(Bucket="ia-bucket")["Rules"]
    assert rules[0]["Transitions"] == [{"Days": 30, "StorageClass": "STANDARD_IA"}]


def test_standard_plan_has_no_rule(app: Flask, client: Client, synced: list[Any]) -> None:
    _, key, _ = make_tenant(app, plan="std")
    assert client.post(BUCKETS, headers=h(key), json={"BucketInput": {"Bucket": "std-bucket"}}).status_code == 200
    r = client.get(f"{BUCKETS}/std-bucket?include=lifecycle", headers=h(key))
    assert r.json["Lifecycle"] == []


def test_sync_failure_rolls_the_bucket_back(app: Flask, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    _, key, _ = make_tenant(app, plan="std")
    calls: list[Any] = []

    def fail(aws: Any, tenant_id: str, buckets: list[str] | None = None) -> None:
        calls.append(buckets)
        if len(calls) == 1:
            raise RuntimeError("IAM said no")

    monkeypatch.setattr(credentials, "sync", fail)
    r = client.post(BUCKETS, headers=h(key), json={"BucketInput": {"Bucket": "doomed-bucket"}})
    assert r.status_code == 500, r.json
    assert "doomed-bucket" not in {b["Name"] for b in s3_client().list_buckets()["Buckets"]}
    assert calls[1] == []  # the undo: the credentials reach nothing of it


def test_tenant_tag_is_the_servers(client: Client, two: dict[str, Any]) -> None:
    key = h(two["key_a"])
    bad = [{"Key": "s3api:tenant", "Value": two["b"]}]
    r = client.post(BUCKETS, headers=key, json={"BucketInput": {"Bucket": "acme-three"}, "Tags": bad})
    assert r.status_code == 400
    assert client.put(f"{BUCKETS}/acme-one", headers=key, json={"Tags": bad}).status_code == 400
    assert client.put(f"{BUCKETS}/acme-one", json={"Tags": bad}).status_code == 400  # admins neither
    # a PUT of tags keeps the owner
    tagged = client.put(f"{BUCKETS}/acme-one", headers=key, json={"Tags": [{"Key": "k", "Value": "v"}]})
    assert tagged.status_code == 200
    assert ownership.owner(_aws(client), "acme-one") == two["a"]
    assert client.put(f"{BUCKETS}/acme-one", json={"Tags": []}).status_code == 200
    assert ownership.owner(_aws(client), "acme-one") == two["a"]
    # a bucket policy is not a tenant's to set
    policy = {"Version": "2012-10-17", "Statement": []}
    r = client.put(f"{BUCKETS}/acme-one", headers=key, json={"BucketPolicy": policy})
    assert r.status_code == 403


def _aws(client: Client) -> Any:
    app = client.raw.application
    with app.app_context():
        return app.extensions["s3api"].aws("local")


def test_delete_narrows_credentials_first(client: Client, two: dict[str, Any], synced: list[Any]) -> None:
    key = h(two["key_a"])
    assert client.post(BUCKETS, headers=key, json={"BucketInput": {"Bucket": "acme-three"}}).status_code == 200
    synced.clear()
    r = client.delete(f"{BUCKETS}/acme-three", headers=key)
    assert r.status_code == 200, r.json
    assert synced == [(two["a"], ["acme-one", "acme-two"])]
    assert client.get(BUCKETS, headers=key).json == ["acme-one", "acme-two"]
    # an admin deleting a tenant's bucket syncs the tenant too
    assert client.post(BUCKETS, headers=key, json={"BucketInput": {"Bucket": "acme-four"}}).status_code == 200
    synced.clear()
    assert client.delete(f"{BUCKETS}/acme-four").status_code == 200
    assert synced == [(two["a"], ["acme-one", "acme-two"])]


def test_force_delete_operation_is_its_own(client: Client, two: dict[str, Any], synced: list[Any]) -> None:
    key_a, key_b = h(two["key_a"]), h(two["key_b"])
    s3_client().put_object(Bucket="acme-two", Key="x", Body=b"1")
    r = client.delete(f"{BUCKETS}/acme-two?force=true", headers=key_a)
    assert r.status_code == 202, r.json
    op = r.json["Id"]
    assert client.get(f"/v1/s3/operations/{op}", headers=key_a).status_code == 200
    other = client.get(f"/v1/s3/operations/{op}", headers=key_b)
    assert other.status_code == 404
    missing = "op-" + "0" * 24
    assert other.json["message"] == client.get(f"/v1/s3/operations/{missing}", headers=key_b).json["message"].replace(
        missing, op
    )
    assert [o["Id"] for o in client.get("/v1/s3/operations", headers=key_a).json["Operations"]] == [op]
    assert client.get("/v1/s3/operations", headers=key_b).json["Operations"] == []
    assert client.post(f"/v1/s3/operations/{op}/cancel", headers=key_a).status_code == 403


def test_stats_count_only_its_own(client: Client, two: dict[str, Any]) -> None:
    stats = client.get("/v1/s3/local/stats", headers=h(two["key_a"]))
    assert stats.status_code == 200, stats.json
    assert stats.json["Buckets"] == 2 and stats.json["ManagedBuckets"] == 2 and stats.json["Websites"] == 0
    assert client.get("/v1/s3/local/stats").json["Buckets"] >= 6


def test_bucket_users_of_its_own_bucket(client: Client, two: dict[str, Any], synced: list[Any]) -> None:
    key = h(two["key_a"])
    assert client.post(BUCKETS, headers=key, json={"BucketInput": {"Bucket": "acme-users"}}).status_code == 200
    made = client.post(f"{BUCKETS}/acme-users/users", headers=key, json={"User": {"UserName": "acme-alice"}})
    assert made.status_code == 200, made.json
    assert [u["UserName"] for u in client.get(f"{BUCKETS}/acme-users/users", headers=key).json] == ["acme-alice"]
    assert client.get(f"{BUCKETS}/acme-users/users/acme-alice", headers=h(two["key_b"])).status_code == 404
    assert client.get("/v1/s3/local/stats", headers=key).json["Users"] == 1


@pytest.mark.parametrize("status", ["suspended", "pending_payment"])
def test_inactive_tenant_reaches_no_data(app: Flask, client: Client, synced: Any, status: str) -> None:
    _, key, _ = make_tenant(app, buckets=["idle-bucket"], status=status)
    assert client.get(BUCKETS, headers=h(key)).status_code == 403
    assert client.get(f"{BUCKETS}/idle-bucket/objects", headers=h(key)).status_code == 403
    assert client.get("/v1/s3/whoami", headers=h(key)).status_code == 200


def test_terminated_tenant_reaches_nothing(app: Flask, client: Client, synced: Any) -> None:
    _, key, _ = make_tenant(app, status="terminated")
    assert client.get("/v1/s3/whoami", headers=h(key)).status_code == 403


def test_other_configured_account_is_404_as_an_unknown_one(seed: dict[str, str], synced: Any) -> None:
    settings = make_settings(seed)
    second = replace(settings.accounts["local"], name="second")
    app = create_app(replace(settings, accounts={**settings.accounts, "second": second}))
    client = Client(app.test_client())
    _, key, _ = make_tenant(app, buckets=["acme-one"])
    assert client.get("/v1/s3/second/buckets").status_code == 200  # the admin's
    unknown = client.get("/v1/s3/nowhere/buckets").json["message"]
    for path in ["/v1/s3/second/buckets", "/v1/s3/second/buckets/acme-one", "/v1/s3/second", "/v1/s3/second/stats"]:
        r = client.get(path, headers=h(key))
        assert r.status_code == 404, (path, r.json)
        assert r.json["message"] == unknown.replace("nowhere", "second")
    assert client.get("/v1/s3/accounts", headers=h(key)).json == ["local"]
    assert client.get("/v1/s3/accounts").json == ["local", "second"]


def test_listing_cost(app: Flask, client: Client, synced: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS calls for a tenant listing its buckets, N buckets in the account: 1 + N the first time in a process,
    then 1 (one ListBuckets); a bucket made since costs one GetBucketTagging once."""
    n = 40
    _, key, _ = make_tenant(app, buckets=[f"cost-{i:02d}" for i in range(10)])
    for i in range(n - 10):
        make_bucket(app, f"other-{i:02d}", None)
    total = len(s3_client().list_buckets()["Buckets"])  # the log bucket of the test account too
    monkeypatch.setattr(ownership, "SETTLED_SECONDS", -1.0)  # the untagged log bucket counts as old
    recorder = Recorder()
    clients = app.extensions["s3api"].clients
    clients.add_hook("before-call", recorder)
    try:
        first = _counted(client, key, recorder)
        second = _counted(client, key, recorder)
        make_bucket(app, "cost-new", None)
        third = _counted(client, key, recorder)
    finally:
        clients.remove_hook("before-call", recorder)
    assert first == Counter({"ListBuckets": 1, "GetBucketTagging": total})
    assert second == Counter({"ListBuckets": 1})
    assert third == Counter({"ListBuckets": 1, "GetBucketTagging": 1})


def _counted(client: Client, key: str, recorder: Any) -> Counter[str]:
    recorder.calls.clear()
    r = client.get(BUCKETS, headers=h(key))
    assert r.status_code == 200 and len(r.json) == 10
    return Counter(recorder.calls)


def test_forced_delete_operation_narrows_before_the_bucket_goes(
    app: Flask, client: Client, two: dict[str, Any], synced: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emptying, "RETRY_PAUSE", 0.0)
    s3 = s3_client()
    s3.put_object(Bucket="acme-two", Key="x", Body=b"1")
    seen: list[bool] = []
    record = credentials.sync

    def check(aws: Any, tenant_id: str, buckets: list[str] | None = None) -> None:
        seen.append("acme-two" in {b["Name"] for b in s3.list_buckets()["Buckets"]})
        record(aws, tenant_id, buckets)

    monkeypatch.setattr(credentials, "sync", check)
    assert client.delete(f"{BUCKETS}/acme-two?force=true", headers=h(two["key_a"])).status_code == 202
    assert local.drain(app.extensions["s3api"]) == 1
    assert synced == [(two["a"], ["acme-one"])]
    assert seen == [True]  # synced while the bucket still existed
    assert client.get(BUCKETS, headers=h(two["key_a"])).json == ["acme-one"]


def test_a_tenant_route_costs_what_it_costs_an_admin(app: Flask, client: Client, two: dict[str, Any]) -> None:
    """The tenant check's GetBucketTagging also answers the managed-bucket check: no extra call."""
    recorder = Recorder()
    clients = app.extensions["s3api"].clients
    clients.add_hook("before-call", recorder)
    try:
        counts = []
        for headers in ({}, h(two["key_a"])):
            boundary.clear()
            recorder.calls.clear()
            assert client.get(f"{BUCKETS}/acme-one/objects", headers=headers).status_code == 200
            counts.append(Counter(recorder.calls))
    finally:
        clients.remove_hook("before-call", recorder)
    assert counts[0] == counts[1]


def test_a_young_untagged_bucket_is_read_again(app: Flask, client: Client, two: dict[str, Any]) -> None:
    """A bucket between CreateBucket and its tags must not be remembered as no tenant's."""
    s3 = s3_client()
    s3.create_bucket(Bucket="acme-late")
    assert client.get(BUCKETS, headers=h(two["key_a"])).json == ["acme-one", "acme-two"]
    s3.put_bucket_tagging(
        Bucket="acme-late",
        Tagging={"TagSet": [{"Key": "s3api:org", "Value": "test"}, {"Key": ownership.TAG_KEY, "Value": two["a"]}]},
    )
    assert client.get(BUCKETS, headers=h(two["key_a"])).json == ["acme-late", "acme-one", "acme-two"]


def test_scoping_on_each_database(db_app: Flask, db_client: Client, synced: list[Any]) -> None:
    """The tenant row, its key and its operations read from SQLite and from PostgreSQL alike."""
    a, key_a, _ = make_tenant(db_app, buckets=["db-acme"])
    _, key_b, _ = make_tenant(db_app, buckets=["db-bravo"], email="b@example.test")
    assert db_client.get(BUCKETS, headers=h(key_a)).json == ["db-acme"]
    assert db_client.get(f"{BUCKETS}/db-bravo", headers=h(key_a)).status_code == 404
    op = db_client.post(f"{BUCKETS}/db-acme/usage/recount", headers=h(key_a))
    assert op.status_code == 202, op.json
    assert db_client.get(f"/v1/s3/operations/{op.json['Id']}", headers=h(key_b)).status_code == 404
    assert [o["Id"] for o in db_client.get("/v1/s3/operations", headers=h(key_a)).json["Operations"]] == [op.json["Id"]]
    made = db_client.post(BUCKETS, headers=h(key_a), json={"BucketInput": {"Bucket": "db-acme-two"}})
    assert made.status_code == 200, made.json
    assert synced == [(a, ["db-acme", "db-acme-two"])]


def test_first_bucket_without_grant(app: Flask, client: Client, synced: list[Any]) -> None:
    """``buckets.create(owner=..., grant=False)``: the tenant's first bucket, made before its credentials."""
    from s3api.provisioning import buckets  # noqa: PLC0415 - the workflow itself, not a route

    tenant, key, _ = make_tenant(app)
    with app.app_context():
        buckets.create(app.extensions["s3api"].aws("local"), "first-of-all", owner=tenant, grant=False)
    assert synced == []
    assert client.get(BUCKETS, headers=h(key)).json == ["first-of-all"]


def test_made_with_credentials_asks_the_real_create(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """``make_tenant(with_credentials=True)`` goes through ``credentials.create`` (stubbed here until it is real)."""
    seen: list[Any] = []

    def create(aws: Any, tenant_id: str, buckets: list[str], steps: Any) -> tuple[str, str]:
        seen.append((tenant_id, buckets))
        return "AKIATEST", "secret-test-value-0000"

    monkeypatch.setattr(credentials, "create", create)
    tenant, _, _ = make_tenant(app, buckets=["cred-one"], with_credentials=True)
    assert seen == [(tenant, ["cred-one"])]
    assert S3_KEYS[tenant][0] == "AKIATEST"


def test_a_tenants_website_is_its_own_bucket_within_its_plan(app: Flask, client: Client, synced: list[Any]) -> None:
    tenant, key, _ = make_tenant(app, buckets=["web-one"], plan="webplan", max_buckets=2)
    r = client.post("/v1/s3/local/websites", headers=h(key), json={"BucketInput": {"Bucket": "shop.example.test"}})
    assert r.status_code == 200, r.json
    tags = {t["Key"]: t["Value"] for t in s3_client().get_bucket_tagging(Bucket="shop.example.test")["TagSet"]}
    assert tags[ownership.TAG_KEY] == tenant and tags["s3api:distribution"]
    assert synced[-1] == (tenant, ["shop.example.test", "web-one"])  # its credentials reach the site's bucket
    assert client.get("/v1/s3/local/websites/shop.example.test", headers=h(key)).status_code == 200
    r = client.post("/v1/s3/local/websites", headers=h(key), json={"BucketInput": {"Bucket": "blog.example.test"}})
    assert r.status_code == 409 and "allows 2 bucket" in r.json["message"], r.json  # over its plan: nothing made
    assert "blog.example.test" not in {b["Name"] for b in s3_client().list_buckets()["Buckets"]}
