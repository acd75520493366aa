"""Share links: presign records each link; list, show, revoke (blast radius), share revoke, reissue, lifetimes,
stats, audit, purge, bucket delete — on SQLite and PostgreSQL (``db_client``) where the database matters.

That a revoked link stops working against the backend is proven with real HTTP requests in
tests/e2e/test_links_http.py (moto's server under IAM enforcement)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from flask import Flask
from sqlalchemy import update

from s3api import create_app
from s3api.config import DatabaseSettings
from s3api.control import links as control
from s3api.db.models import ShareLink, Signer
from s3api.names import SIGNER_KEY_MAX_AGE_SECONDS
from tests.api.test_audit import events
from tests.conftest import Client, make_settings

BUCKET = "links-test"
OTHER = "links-other"
BASE = f"/v1/s3/local/buckets/{BUCKET}"


def make_bucket(client: Client, name: str = BUCKET) -> None:
    r = client.post("/v1/s3/local/buckets", json={"BucketInput": {"Bucket": name}})
    assert r.status_code == 200, r.json


def presign(client: Client, key: str = "docs/a.txt", bucket: str = BUCKET, **body: Any) -> dict[str, Any]:
    r = client.post(f"/v1/s3/local/buckets/{bucket}/presign", json={"Key": key, **body})
    assert r.status_code == 200, r.json
    return r.json  # type: ignore[no-any-return]


def credential(url: str) -> str:
    return parse_qs(urlparse(url).query)["X-Amz-Credential"][0].split("/")[0]


def listed(client: Client, query: str = "", bucket: str = BUCKET) -> list[dict[str, Any]]:
    r = client.get(f"/v1/s3/local/buckets/{bucket}/links{query}")
    assert r.status_code == 200, r.json
    return r.json["Links"]  # type: ignore[no-any-return]


def db_of(app: Any) -> Any:
    return app.extensions["s3api"].db


SECRET_KEY = bytes(range(32))


@pytest.fixture
def db_app(seed: dict[str, str], migrated: DatabaseSettings) -> Flask:
    """As tests/conftest.py's, with ``secret_keys``: PostgreSQL (several replicas) seals signer secrets only
    with configured keys."""
    return create_app(make_settings(seed).with_overrides(database=migrated, secret_keys=(SECRET_KEY,)))


@pytest.fixture
def bucket(db_client: Client) -> str:
    make_bucket(db_client)
    return BUCKET


def test_presign_signs_with_the_bucket_signer_and_records_the_link(db_client, bucket, iam):
    link = presign(db_client, "docs/a.txt", Method="PUT", ExpiresIn=900)
    assert set(link) >= {"Id", "Url", "Bucket", "Key", "Method", "ExpiresAt", "CreatedAt", "CreatedBy", "Share"}
    assert (link["Bucket"], link["Key"], link["Method"], link["Share"], link["Active"]) == (
        BUCKET,
        "docs/a.txt",
        "PUT",
        None,
        True,
    )
    assert link["CreatedBy"] == "test"
    signer = link["Signer"]
    assert credential(link["Url"]) == signer["AccessKeyId"] != "testing"  # not the service's own identity
    user = iam.get_user(UserName=signer["UserName"])["User"]
    assert user["Path"] == f"/s3api-signers/{BUCKET}/"
    assert iam.list_attached_user_policies(UserName=signer["UserName"])["AttachedPolicies"] == []
    assert iam.list_groups_for_user(UserName=signer["UserName"])["Groups"] == []
    (name,) = iam.list_user_policies(UserName=signer["UserName"])["PolicyNames"]
    doc = iam.get_user_policy(UserName=signer["UserName"], PolicyName=name)["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    assert doc["Statement"] == [
        {
            "Sid": "SignedLinks",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [f"arn:aws:s3:::{BUCKET}/*"],
        }
    ]
    expires = datetime.fromisoformat(link["ExpiresAt"])
    assert timedelta(seconds=895) < expires - datetime.now(UTC) <= timedelta(seconds=900)

    again = presign(db_client, "docs/b.txt")  # the same signer key for the next link
    assert again["Signer"] == signer and again["Id"] != link["Id"]

    (shown,) = [x for x in listed(db_client) if x["Id"] == link["Id"]]
    assert "Url" not in shown and "Signature" not in json.dumps(shown)
    assert db_client.get(f"{BASE}/links/{link['Id']}").json == shown


def test_no_signature_or_secret_in_the_database(db_app, db_client, bucket):
    link = presign(db_client)
    signature = parse_qs(urlparse(link["Url"]).query)["X-Amz-Signature"][0]
    with db_of(db_app).read() as session:
        rows = [r.__dict__ for r in session.query(ShareLink).all()] + [r.__dict__ for r in session.query(Signer).all()]
    dumped = json.dumps(rows, default=str)
    assert signature not in dumped and link["Url"] not in dumped
    (signer,) = [r for r in rows if "sealed_secret" in r]
    assert signer["sealed_secret"].startswith("v1.")


def test_list_filters_and_pages(db_client, bucket):
    a = presign(db_client, "docs/a.txt")
    b = presign(db_client, "docs/b%_.txt", Share="news")
    c = presign(db_client, "img/c.png", Share="news")
    d = presign(db_client, "docs/d.txt")
    db_client.post(f"{BASE}/links/{d['Id']}/revoke")  # revokes a and d (the default signer's key)
    ids = [x["Id"] for x in listed(db_client)]
    assert ids == [d["Id"], c["Id"], b["Id"], a["Id"]]  # newest first
    assert [x["Id"] for x in listed(db_client, "?active=true")] == [c["Id"], b["Id"]]
    assert [x["Id"] for x in listed(db_client, "?active=false")] == [d["Id"], a["Id"]]
    assert [x["Id"] for x in listed(db_client, "?key_prefix=docs/")] == [d["Id"], b["Id"], a["Id"]]
    assert [x["Id"] for x in listed(db_client, "?key_prefix=docs/b%25_")] == [b["Id"]]  # LIKE characters literal
    assert [x["Id"] for x in listed(db_client, "?key_prefix=docs/%25")] == []
    assert [x["Id"] for x in listed(db_client, "?share=news")] == [c["Id"], b["Id"]]
    seen, token = [], None
    while True:
        r = db_client.get(f"{BASE}/links?page_size=3" + (f"&page_token={token}" if token else ""))
        assert r.status_code == 200
        seen += [x["Id"] for x in r.json["Links"]]
        token = r.json["NextPageToken"]
        if token is None:
            break
    assert seen == ids
    for bad in ("?nope=1", "?active=yes", "?page_size=0", "?page_size=1001", "?page_token=xyz", "?share=-x"):
        assert db_client.get(f"{BASE}/links{bad}").status_code == 400, bad


def test_revoke_one_link_takes_its_signer_key_and_says_which_links_went(db_app, db_client, bucket, iam):
    a = presign(db_client, "a")
    b = presign(db_client, "b", Method="PUT")
    shared = presign(db_client, "s", Share="press")
    old_key = a["Signer"]["AccessKeyId"]
    r = db_client.post(f"{BASE}/links/{a['Id']}/revoke")
    assert r.status_code == 200, r.json
    assert r.json["Link"]["Id"] == a["Id"] and r.json["Link"]["Active"] is False and r.json["Link"]["RevokedAt"]
    assert sorted(x["Id"] for x in r.json["Revoked"]) == sorted([a["Id"], b["Id"]]) and r.json["Count"] == 2
    user = a["Signer"]["UserName"]
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]] == []
    share_user = shared["Signer"]["UserName"]
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=share_user)["AccessKeyMetadata"]] == [
        shared["Signer"]["AccessKeyId"]
    ]  # another share: untouched
    assert db_client.get(f"{BASE}/links/{shared['Id']}").json["Active"] is True

    again = db_client.post(f"{BASE}/links/{b['Id']}/revoke")  # already revoked: nothing more stops
    assert again.status_code == 200 and again.json["Revoked"] == [] and again.json["Count"] == 0

    fresh = presign(db_client, "c")  # the next link: a fresh key of the same signer
    assert fresh["Signer"]["UserName"] == user and fresh["Signer"]["AccessKeyId"] != old_key

    revokes = [e for e in events(db_app) if e["Action"] == "link.revoke"]
    assert revokes[0]["Status"] == 200 and revokes[0]["Resource"] == f"local/buckets/{BUCKET}/links/{a['Id']}/revoke"
    detail = revokes[0]["Detail"]
    assert sorted(detail["Revoked"]) == sorted([a["Id"], b["Id"]]) and detail["Count"] == 2


def test_reissue_gives_a_new_link_on_a_fresh_key(db_client, bucket):
    a = presign(db_client, "docs/keep.txt", Method="PUT", ExpiresIn=1200, Share="team")
    live = db_client.post(f"{BASE}/links/{a['Id']}/reissue", json={})
    assert live.status_code == 409, live.json  # still works: revoke first
    assert db_client.post(f"{BASE}/links/{a['Id']}/revoke").status_code == 200
    r = db_client.post(f"{BASE}/links/{a['Id']}/reissue", json={})
    assert r.status_code == 200, r.json
    new = r.json
    assert new["ReissuedFrom"] == a["Id"] and new["Id"] != a["Id"] and new["Url"]
    assert (new["Key"], new["Method"], new["Share"], new["Active"]) == ("docs/keep.txt", "PUT", "team", True)
    assert new["Signer"]["UserName"] == a["Signer"]["UserName"]
    assert new["Signer"]["AccessKeyId"] != a["Signer"]["AccessKeyId"] == credential(a["Url"])
    lifetime = datetime.fromisoformat(new["ExpiresAt"]) - datetime.fromisoformat(new["CreatedAt"])
    assert timedelta(seconds=1195) <= lifetime <= timedelta(seconds=1200)
    shorter = db_client.post(f"{BASE}/links/{a['Id']}/reissue", json={"ExpiresIn": 60}).json
    assert datetime.fromisoformat(shorter["ExpiresAt"]) - datetime.now(UTC) <= timedelta(seconds=60)
    for body in ({"ExpiresIn": 0}, {"ExpiresIn": "60"}, {"Other": 1}):
        assert db_client.post(f"{BASE}/links/{a['Id']}/reissue", json=body).status_code == 400
    assert db_client.post(f"{BASE}/links/lnk-{'0' * 24}/reissue", json={}).status_code == 404


def test_share_revoke_takes_exactly_the_share(db_app, db_client, bucket, iam):
    news = [presign(db_client, f"n/{i}", Share="news") for i in range(3)]
    other = presign(db_client, "o", Share="other")
    plain = presign(db_client, "p")
    r = db_client.post(f"{BASE}/shares/news/revoke")
    assert r.status_code == 200, r.json
    assert r.json["Share"] == "news" and r.json["Count"] == 3
    assert sorted(x["Id"] for x in r.json["Revoked"]) == sorted(x["Id"] for x in news)
    assert iam.list_access_keys(UserName=news[0]["Signer"]["UserName"])["AccessKeyMetadata"] == []
    for link in (other, plain):
        assert db_client.get(f"{BASE}/links/{link['Id']}").json["Active"] is True
    assert db_client.post(f"{BASE}/shares/nosuch/revoke").status_code == 404
    assert db_client.post(f"{BASE}/shares/news/revoke").json["Count"] == 0  # again: nothing more
    first, missing, second = [e for e in events(db_app) if e["Action"] == "share.revoke"]
    assert first["Resource"] == f"local/buckets/{BUCKET}/shares/news/revoke" and first["Status"] == 200
    assert first["Detail"]["Count"] == 3 and sorted(first["Detail"]["Revoked"]) == sorted(x["Id"] for x in news)
    assert second["Detail"]["Count"] == 0 and missing["Status"] == 404
    reissued = db_client.post(f"{BASE}/links/{news[0]['Id']}/reissue", json={}).json
    (event,) = [e for e in events(db_app) if e["Action"] == "link.reissue"]
    assert event["Detail"]["Link"] == reissued["Id"] and event["Detail"]["ReissuedFrom"] == news[0]["Id"]


def test_links_of_one_bucket_are_not_another_buckets(db_client, bucket):
    make_bucket(db_client, OTHER)
    mine = presign(db_client, "x")
    theirs = presign(db_client, "x", bucket=OTHER)
    assert mine["Signer"]["UserName"] != theirs["Signer"]["UserName"]
    assert [x["Id"] for x in listed(db_client, bucket=OTHER)] == [theirs["Id"]]
    assert db_client.get(f"{BASE}/links/{theirs['Id']}").status_code == 404
    assert db_client.post(f"{BASE}/links/{theirs['Id']}/revoke").status_code == 404
    assert db_client.get(f"/v1/s3/local/buckets/{OTHER}/links/{theirs['Id']}").json["Active"] is True
    for path in ("/v1/s3/local/buckets/no-such-bucket/links", "/v1/s3/nosuch/buckets/x-y-z/links"):
        assert db_client.get(path).status_code == 404
    assert db_client.get(f"{BASE}/links/not-a-link-id").status_code == 404


def test_lifetime_is_capped_by_the_configured_maximum(seed, migrated):
    settings = make_settings(seed).with_overrides(database=migrated, secret_keys=(SECRET_KEY,), max_link_seconds=600)
    client = Client(create_app(settings).test_client())
    make_bucket(client)
    r = client.post(f"{BASE}/presign", json={"Key": "k", "ExpiresIn": 601})
    assert r.status_code == 400 and "600" in r.json["message"]
    assert client.post(f"{BASE}/presign", json={"Key": "k", "ExpiresIn": 604_801}).status_code == 400
    assert presign(client, "k", ExpiresIn=600)["Active"] is True
    assert len(listed(client)) == 1  # the refused ones were not recorded


def test_postgresql_without_secret_keys_is_503_naming_the_setting(seed, postgres):
    from s3api.db import migrate

    migrate.upgrade(postgres)
    client = Client(create_app(make_settings(seed).with_overrides(database=postgres)).test_client())
    make_bucket(client)
    r = client.post(f"{BASE}/presign", json={"Key": "k"})
    assert r.status_code == 503 and "secret_keys" in r.json["message"], r.json
    assert len(listed(client)) == 0


def test_old_signer_key_is_replaced_and_a_link_never_outlives_its_key(db_app, db_client, bucket, iam, monkeypatch):
    monkeypatch.setattr(control, "RETIRE_AFTER_SECONDS", -60)  # the keys made here count as old enough to retire
    first = presign(db_client, "a", ExpiresIn=3600)
    user, key1 = first["Signer"]["UserName"], first["Signer"]["AccessKeyId"]
    db = db_of(db_app)
    aged = datetime.now(UTC) - timedelta(seconds=SIGNER_KEY_MAX_AGE_SECONDS - 1800)  # 30 min of life left
    with db.write() as session:
        session.execute(update(Signer).where(Signer.iam_user == user).values(key_created_at=aged))
    short = presign(db_client, "b", ExpiresIn=600)  # fits in the key's life: same key
    assert short["Signer"]["AccessKeyId"] == key1
    long = presign(db_client, "c", ExpiresIn=3600)  # does not: a fresh key, the old one kept for its links
    key2 = long["Signer"]["AccessKeyId"]
    assert key2 != key1
    keys = {k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}
    assert keys == {key1, key2}
    # both keys busy (live links on the old one) and the new one old too: IAM allows no third key,
    # so the link is cut to the current key's end of life instead
    with db.write() as session:
        session.execute(update(Signer).where(Signer.iam_user == user).values(key_created_at=aged))
    capped = presign(db_client, "d", ExpiresIn=3600)
    assert capped["Signer"]["AccessKeyId"] == key2
    end = aged + timedelta(seconds=SIGNER_KEY_MAX_AGE_SECONDS)
    assert datetime.fromisoformat(capped["ExpiresAt"]) <= end + timedelta(seconds=1)
    assert "X-Amz-Expires=" in capped["Url"] and "X-Amz-Expires=3600" not in capped["Url"]
    # once nothing the old key signed works any more, the next rotation deletes it to make room
    past = datetime.now(UTC) - timedelta(seconds=5)
    with db.write() as session:
        session.execute(update(ShareLink).where(ShareLink.signer_key_id == key1).values(expires_at=past))
    key3 = presign(db_client, "e", ExpiresIn=3600)["Signer"]["AccessKeyId"]
    assert key3 not in (key1, key2)
    assert {k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]} == {key2, key3}


def test_too_many_shares_is_409(db_client, bucket, monkeypatch):
    monkeypatch.setattr(control, "MAX_SHARES_PER_BUCKET", 2)
    presign(db_client, "a", Share="one")
    presign(db_client, "b", Share="two")
    presign(db_client, "c")  # the default signer does not count
    presign(db_client, "d", Share="one")  # an existing share: fine
    r = db_client.post(f"{BASE}/presign", json={"Key": "e", "Share": "three"})
    assert r.status_code == 409 and "shares" in r.json["message"]


def test_bad_share_names_are_400(db_client, bucket):
    for share in ("", "-lead", "has space", "x" * 65, "a/b", 7):
        r = db_client.post(f"{BASE}/presign", json={"Key": "k", "Share": share})
        assert r.status_code == 400, share
    assert listed(db_client) == []


def test_stats_count_active_links_and_uploads(db_client, bucket, s3):
    make_bucket(db_client, OTHER)
    s3.create_multipart_upload(Bucket=BUCKET, Key="big-1")
    s3.create_multipart_upload(Bucket=BUCKET, Key="big-2")
    s3.create_multipart_upload(Bucket=OTHER, Key="big-3")
    a = presign(db_client, "a")
    presign(db_client, "b", Share="s")
    presign(db_client, "c", bucket=OTHER)
    r = db_client.get("/v1/s3/local/stats")
    assert r.status_code == 200, r.json
    assert r.json["ActivePresignedLinks"] == 3 and r.json["ActiveMultipartUploads"] == 3
    db_client.post(f"{BASE}/links/{a['Id']}/revoke")
    assert db_client.get("/v1/s3/local/stats").json["ActivePresignedLinks"] == 2


def test_audit_of_issue_keeps_the_link_id_never_the_url(db_app, db_client, bucket):
    link = presign(db_client, "k", Share="aud")
    signature = parse_qs(urlparse(link["Url"]).query)["X-Amz-Signature"][0]
    (event,) = [e for e in events(db_app) if e["Action"] == "link.presign"]
    assert event["Status"] == 200 and event["Outcome"] == "ok"
    assert event["Detail"]["Link"] == link["Id"]
    assert event["Input"]["Body"]["Share"] == "aud"
    assert signature not in json.dumps(events(db_app))


def test_bucket_delete_takes_its_signers_and_links(db_app, db_client, bucket, iam):
    link = presign(db_client, "k")
    shared = presign(db_client, "k", Share="s")
    r = db_client.delete(BASE)
    assert r.status_code == 200, r.json
    users = {u["UserName"] for u in iam.list_users()["Users"]}
    assert link["Signer"]["UserName"] not in users and shared["Signer"]["UserName"] not in users
    with db_of(db_app).read() as session:
        assert session.query(ShareLink).count() == 0 and session.query(Signer).count() == 0


def test_forced_bucket_delete_takes_its_signers(db_app, db_client, bucket, iam, s3):
    from s3api.jobs.local import drain

    s3.put_object(Bucket=BUCKET, Key="k", Body=b"x")
    link = presign(db_client, "k")
    r = db_client.delete(f"{BASE}?force=true")
    assert r.status_code == 202, r.json
    drain(db_app.extensions["s3api"])
    assert db_client.get(r.headers["Location"]).json["Status"] == "Succeeded"
    assert link["Signer"]["UserName"] not in {u["UserName"] for u in iam.list_users()["Users"]}
    with db_of(db_app).read() as session:
        assert session.query(ShareLink).count() == 0 and session.query(Signer).count() == 0


def test_purge_drops_old_links_retired_keys_and_signers_of_gone_buckets(db_app, db_client, bucket, iam, s3):
    make_bucket(db_client, OTHER)
    old = presign(db_client, "old")
    kept = presign(db_client, "kept")
    gone = presign(db_client, "g", bucket=OTHER)
    db = db_of(db_app)
    long_ago = datetime.now(UTC) - timedelta(days=30)
    with db.write() as session:
        session.execute(
            update(ShareLink).where(ShareLink.id == old["Id"]).values(created_at=long_ago, expires_at=long_ago)
        )
    s3.delete_bucket(Bucket=OTHER)  # deleted behind our back: its signer is left to the purge
    aws = db_app.extensions["s3api"].aws("local")
    done = control.purge(db, aws)
    assert done >= 2
    ids = [x["Id"] for x in listed(db_client)]
    assert ids == [kept["Id"]]
    assert gone["Signer"]["UserName"] not in {u["UserName"] for u in iam.list_users()["Users"]}
    with db.read() as session:
        assert {s.bucket for s in session.query(Signer).all()} == {BUCKET}
    assert control.purge(db, aws) == 0  # nothing left to do


def test_purge_is_a_registered_periodic_task():
    from s3api.provisioning import periodic

    assert "links_purge" in periodic.load_tasks()


def test_embedded_sqlite_file_seals_with_its_key_file(seed, tmp_path):
    """No secret_keys, the embedded SQLite file: the signer's secret is sealed with the key file beside it."""
    from s3api.db import migrate

    database = DatabaseSettings(url=f"sqlite:///{tmp_path}/data/s3api.db", data_dir=str(tmp_path / "data"))
    migrate.upgrade(database)
    client = Client(create_app(make_settings(seed).with_overrides(database=database)).test_client())
    make_bucket(client)
    assert presign(client, "k")["Active"] is True
    assert (tmp_path / "data" / "secret.key").exists()


def test_concurrent_first_links_share_one_signer_and_key(db_client, bucket, iam):
    """Eight first links of a new share at once: one signer user, one key, every request answered 200."""
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> Any:
        return db_client.post(f"{BASE}/presign", json={"Key": f"k{i}", "Share": "rush"})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(8)))
    assert [r.status_code for r in answers] == [200] * 8, [r.json for r in answers]
    keys = {r.json["Signer"]["AccessKeyId"] for r in answers}
    users = {r.json["Signer"]["UserName"] for r in answers}
    assert len(users) == 1 and len(keys) == 1
    (user,) = users
    assert {k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]} == keys


def test_a_tenants_links_and_uploads_are_counted_for_it_alone(db_app, db_client, bucket, s3):
    """The tenant view of stats (a tenant key's caller): its own links, the uploads of its own buckets.
    Called at the control layer: tenant keys reach the routes with the isolation work."""
    make_bucket(db_client, OTHER)
    s3.put_bucket_tagging(
        Bucket=OTHER,
        Tagging={"TagSet": [{"Key": "s3api:org", "Value": "test"}, {"Key": "s3api:tenant", "Value": "t-1"}]},
    )
    s3.create_multipart_upload(Bucket=OTHER, Key="mine")
    s3.create_multipart_upload(Bucket=BUCKET, Key="not-mine")
    runtime = db_app.extensions["s3api"]
    aws = runtime.aws("local")
    with db_app.test_request_context():
        control.issue(runtime.db, aws, OTHER, "a", "GET", 60, tenant="t-1", created_by="key:0123456789abcdef")
        control.issue(runtime.db, aws, BUCKET, "b", "GET", 60)
        mine = control.stats(runtime.db, aws, "t-1")
        everyone = control.stats(runtime.db, aws)
    assert (mine["ActivePresignedLinks"], mine["ActiveMultipartUploads"]) == (1, 1)
    assert (everyone["ActivePresignedLinks"], everyone["ActiveMultipartUploads"]) == (2, 2)
    (link,) = listed(db_client, bucket=OTHER)
    assert (link["Tenant"], link["CreatedBy"]) == ("t-1", "key:0123456789abcdef")


def test_a_tenant_plans_shorter_link_lifetime_applies(db_app, monkeypatch):
    from types import SimpleNamespace

    from s3api.db.plans import PlanStore
    from s3api.db.tenants import TenantStore

    monkeypatch.setattr(TenantStore, "get", lambda self, tid: SimpleNamespace(plan="small"))
    monkeypatch.setattr(PlanStore, "get", lambda self, name: SimpleNamespace(max_link_seconds=3600))
    runtime = db_app.extensions["s3api"]
    aws = runtime.aws("local")
    assert control.lifetime_limit(runtime.db, aws, "t-1") == 3600
    assert control.lifetime_limit(runtime.db, aws, None) == 604_800
    no_limit = SimpleNamespace(max_link_seconds=None)  # a plan without the limit
    monkeypatch.setattr(PlanStore, "get", lambda self, name: no_limit)
    assert control.lifetime_limit(runtime.db, aws, "t-1") == 604_800


def test_bucket_delete_stands_when_its_signers_cannot_be_forgotten_now(db_app, db_client, bucket, iam, monkeypatch):
    from s3api.db.links import LinkStore
    from s3api.errors import ServiceUnavailable

    link = presign(db_client, "k")
    real = LinkStore.forget_bucket

    def down(self: Any, account: str, name: str) -> int:
        raise ServiceUnavailable("the database is unavailable, retry later")

    monkeypatch.setattr(LinkStore, "forget_bucket", down)
    assert db_client.delete(BASE).status_code == 200  # the bucket is gone: the answer stands
    monkeypatch.setattr(LinkStore, "forget_bucket", real)
    runtime = db_app.extensions["s3api"]
    assert control.purge(runtime.db, runtime.aws("local")) >= 1  # the purge finishes it
    with db_of(db_app).read() as session:
        assert session.query(Signer).count() == 0 and session.query(ShareLink).count() == 0
    assert link["Signer"]["UserName"] not in {u["UserName"] for u in iam.list_users()["Users"]}
