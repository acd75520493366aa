"""The proof of tenant isolation, route by route: every rule of the URL map, walked with a tenant key.

- **Every rule is decided** (:func:`test_every_route_is_decided`): each (method, rule) of the URL map is a
  tenant route (:data:`s3api.auth.TENANT_ROUTES`) or in :data:`ADMIN_ONLY` below. A new route is in neither,
  and this test fails until someone decides: nothing is forgotten.
- **Another tenant's resources** (:func:`test_walk_against_another_tenants_resources`): tenant A's key sent
  at every rule with the path naming tenant B's bucket, website, user, object, upload, operation and tenant
  id: 404 on every tenant route (in the words of a name that does not exist: the same request naming nothing
  answers the same), 403 on every other; B's resources are unchanged afterwards.
- **Another account** (:func:`test_walk_against_another_account`): every tenant route naming another configured
  account answers 404, as an account that is not configured.
- **Its own resources** (:func:`test_allowed_routes_answer_for_own_resources`): a case per tenant route
  (:data:`OWN_CASES`, in order), each answering its expected status: the table is not only refusals.

``credentials.sync`` is replaced by a recorder (it is the tenancy work's; on this branch it raises).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from flask import Flask

from s3api import auth, create_app
from s3api.provisioning.tenants import credentials, ownership
from tests.api.tenancy_made import make_tenant, s3_client
from tests.conftest import Client, make_settings

SITE_A, SITE_B = "docs.example.test", "www.example.test"
TENANT_REACHES_RESOURCES = ("bucket", "website", "operation", "self")

#: Every route a tenant key may not use (403), as ``(method, template)``; templates as in auth.TENANT_ROUTES
#: (placeholder names do not matter). Routes of other branches (plans, tenants, orders, webhooks, links) are
#: named by the integrator when they arrive: until then this test fails for them, on purpose.
ADMIN_ONLY: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/v1/s3/keys"),
        ("POST", "/v1/s3/keys"),
        ("GET", "/v1/s3/keys/{key_id}"),
        ("DELETE", "/v1/s3/keys/{key_id}"),
        ("GET", "/v1/s3/audit"),
        ("POST", "/v1/s3/operations/{operation}/cancel"),
        # the control plane's admin routes (issue 16), as interfaces.md names them
        ("POST", "/v1/s3/plans"),
        ("PATCH", "/v1/s3/plans/{plan}"),
        ("DELETE", "/v1/s3/plans/{plan}"),
        ("GET", "/v1/s3/tenants"),
        ("POST", "/v1/s3/tenants"),
        ("PATCH", "/v1/s3/tenants/{tenant}"),
        ("DELETE", "/v1/s3/tenants/{tenant}"),
        ("POST", "/v1/s3/tenants/{tenant}/cancel-deletion"),
        ("POST", "/v1/s3/tenants/{tenant}/credentials/rotate"),
        ("PATCH", "/v1/s3/tenants/{tenant}/credentials/{key_id}"),
        ("POST", "/v1/s3/tenants/{tenant}/credentials/reveal"),
        ("POST", "/v1/s3/tenants/{tenant}/suspend"),
        ("POST", "/v1/s3/tenants/{tenant}/resume"),
        ("GET", "/v1/s3/orders"),
        ("POST", "/v1/s3/orders"),
        ("GET", "/v1/s3/orders/{order}"),
        ("POST", "/v1/s3/orders/{order}/paid"),
        ("POST", "/v1/s3/orders/{order}/failed"),
        ("GET", "/v1/s3/webhooks/deliveries"),
        ("PUT", "/v1/s3/{account}/buckets/{bucket}/quota"),
        ("DELETE", "/v1/s3/{account}/buckets/{bucket}/quota"),
    }
)
_ADMIN_ONLY = {(m, auth.template(p)) for m, p in ADMIN_ONLY}


def rules(app: Flask) -> Iterator[tuple[str, str]]:
    """(method, rule) of every private rule; HEAD only where a rule has no GET."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or auth.is_public(rule.endpoint):
            continue
        if rule.endpoint.split(".")[0] in auth.SESSION_GATES:  # the console: its own session gate
            continue
        methods = set(rule.methods or ()) - {"OPTIONS"}
        if "GET" in methods:
            methods.discard("HEAD")
        for method in sorted(methods):
            yield method, rule.rule


def fill(rule: str, values: dict[str, str]) -> str:
    """The rule with each placeholder replaced by ``values[name]`` (``x`` for names not given)."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values.get(m.group(1), "x"), rule)


def tenant_values(rule: str, values: dict[str, str], tenant: str) -> dict[str, str]:
    """The values for ``rule``: a rule under /tenants/ takes ``tenant`` for its one placeholder."""
    if rule.startswith("/v1/s3/tenants/"):
        names = re.findall(r"<(?:[^:>]+:)?([^>]+)>", rule)
        return {**values, **({names[0]: tenant} if names else {})}
    return values


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    monkeypatch.setattr(credentials, "sync", lambda aws, tenant_id, buckets=None: calls.append((tenant_id, buckets)))
    ownership.clear()
    return calls


@pytest.fixture
def two_accounts(seed: dict[str, str]) -> Flask:
    settings = make_settings(seed)
    second = replace(settings.accounts["local"], name="second")
    return create_app(replace(settings, accounts={**settings.accounts, "second": second}))


def h(key: str) -> dict[str, str]:
    return {"X-Auth-Token": key}


def own_world(client: Client, key: str, bucket: str, site: str, user: str) -> dict[str, str]:
    """A tenant's bucket (made through its own key: groups and all), an object, an incomplete upload, a bucket
    user with a key, a website (made by an admin, then tagged for the tenant) and an operation."""
    r = client.post("/v1/s3/local/buckets", headers=h(key), json={"BucketInput": {"Bucket": bucket}})
    assert r.status_code == 200, r.json
    s3 = s3_client()
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"hello")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big.bin")["UploadId"]
    made = client.post(f"/v1/s3/local/buckets/{bucket}/users", headers=h(key), json={"User": {"UserName": user}})
    assert made.status_code == 200, made.json
    site_made = client.post("/v1/s3/local/websites", json={"BucketInput": {"Bucket": site}})
    assert site_made.status_code == 200, site_made.json
    tags = s3.get_bucket_tagging(Bucket=site)["TagSet"]
    tenant = client.get("/v1/s3/whoami", headers=h(key)).json["Tenant"]
    s3.put_bucket_tagging(Bucket=site, Tagging={"TagSet": [*tags, {"Key": ownership.TAG_KEY, "Value": tenant}]})
    site_user = client.post(f"/v1/s3/local/websites/{site}/users", json={"User": {"UserName": f"{user}-web"}})
    assert site_user.status_code == 200, site_user.json
    inval = client.patch(f"/v1/s3/local/websites/{site}", json={"CacheInvalidation": ["/*"]})
    assert inval.status_code == 200, inval.json
    quota = client.put(f"/v1/s3/local/buckets/{bucket}/quota", json={"QuotaBytes": 10**9})  # set by an admin
    assert quota.status_code == 200, quota.json
    op = client.post(f"/v1/s3/local/buckets/{bucket}/usage/recount", headers=h(key))
    assert op.status_code == 202, op.json
    link = client.post(f"/v1/s3/local/buckets/{bucket}/presign", headers=h(key), json={"Key": "a.txt", "Share": "news"})
    assert link.status_code == 200, link.json
    return {
        "link_id": link.json["Id"],
        "share": "news",
        "account": "local",
        "bucket": bucket,
        "website": site,
        "user": user,
        "site_user": f"{user}-web",
        "key": "a.txt",
        "upload_id": upload,
        "key_id": made.json["AccessKey"]["AccessKeyId"],
        "site_key_id": site_user.json["AccessKey"]["AccessKeyId"],
        "invalidation": inval.json["Invalidation"]["Id"] if "Invalidation" in inval.json else inval.json["Id"],
        "operation_id": op.json["Id"],
        "tenant": tenant,
        "plan": "starter",
    }


@pytest.fixture
def world(app: Flask, synced: Any) -> dict[str, Any]:
    client = Client(app.test_client())
    _, key_a, _ = make_tenant(app)
    _, key_b, _ = make_tenant(app, email="b@example.test")
    return {
        "client": client,
        "key_a": key_a,
        "key_b": key_b,
        "a": own_world(client, key_a, "acme-data", SITE_A, "acme-user"),
        "b": own_world(client, key_b, "bravo-data", SITE_B, "bravo-user"),
    }


def test_every_route_is_decided(app: Flask) -> None:
    undecided = [
        (method, rule)
        for method, rule in rules(app)
        if auth.tenant_route(method, rule) is None and (method, auth.template(rule)) not in _ADMIN_ONLY
    ]
    assert undecided == [], (
        "routes that are neither in auth.TENANT_ROUTES nor in this test's ADMIN_ONLY: decide for each whether a "
        f"tenant key may use it (and what it reaches) — {undecided}"
    )
    both = [p for p in auth.TENANT_ROUTES if (p[0], auth.template(p[1])) in _ADMIN_ONLY]
    assert both == []


def _state(b: dict[str, str]) -> dict[str, Any]:
    s3, iam = s3_client(), boto3.client("iam", region_name="us-east-1")
    return {
        "objects": sorted(o["Key"] for o in s3.list_objects_v2(Bucket=b["bucket"]).get("Contents", [])),
        "uploads": [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=b["bucket"]).get("Uploads", [])],
        "tags": sorted((t["Key"], t["Value"]) for t in s3.get_bucket_tagging(Bucket=b["bucket"])["TagSet"]),
        "site_tags": sorted((t["Key"], t["Value"]) for t in s3.get_bucket_tagging(Bucket=b["website"])["TagSet"]),
        "keys": [
            (k["AccessKeyId"], k["Status"])
            for u in (b["user"], b["site_user"])
            for k in iam.list_access_keys(UserName=u)["AccessKeyMetadata"]
        ],
    }


def test_walk_against_another_tenants_resources(app: Flask, world: dict[str, Any]) -> None:
    client, key_a, b = world["client"], world["key_a"], world["b"]
    before = _state(b)
    b_values = {**b, "user": b["user"]}
    missing = {k: (f"no-such-{k}" if k != "account" else "local") for k in b}
    missing.update(operation_id="op-" + "0" * 24, tenant="t-" + "0" * 16, upload_id="nosuchupload", key_id="AKIA0")
    checked = {"404": 0, "403": 0}
    for method, rule in rules(app):
        reach = auth.tenant_route(method, rule)
        if reach is not None and reach not in TENANT_REACHES_RESOURCES:
            continue  # lists and creates of its own account: test_walk_against_another_account and the lists tests
        values = tenant_values(rule, b_values, b["tenant"])
        if "websites/" in rule and "/users/" in rule:
            values = {**values, "user": b["site_user"], "key_id": b["site_key_id"]}
        path = fill(rule, values) + ("?key=a.txt" if "/uploads/<" in rule else "")
        r = client.open(method, path, headers=h(key_a), json={})
        if reach is None:
            assert r.status_code == 403, (method, rule, r.status_code, r.get_json(silent=True))
            checked["403"] += 1
            continue
        assert r.status_code == 404, (method, rule, r.status_code, r.get_json(silent=True))
        checked["404"] += 1
        if method == "HEAD":
            continue
        # the same request naming nothing that exists answers the same words: B's resource is not told apart
        nothing = fill(rule, tenant_values(rule, missing, missing["tenant"])) + (
            "?key=a.txt" if "/uploads/<" in rule else ""
        )
        empty = client.open(method, nothing, headers=h(key_a), json={})
        assert empty.status_code == 404, (method, rule, empty.status_code)
        named = r.json["message"]
        for k in ("bucket", "website", "operation_id", "tenant"):
            named = named.replace(b[k], missing[k])
        assert named == empty.json["message"], (method, rule, r.json["message"], empty.json["message"])
    assert checked["404"] >= 30 and checked["403"] >= 5, checked
    assert _state(b) == before


def test_walk_against_another_account(two_accounts: Flask, synced: Any) -> None:
    client = Client(two_accounts.test_client())
    _, key, _ = make_tenant(two_accounts, buckets=["acme-one"])
    s3_client().put_object(Bucket="acme-one", Key="a.txt", Body=b"1")
    values = {"account": "second", "bucket": "acme-one", "website": "acme-one", "key": "a.txt"}
    walked = 0
    for method, rule in rules(two_accounts):
        if "<account:account>" not in rule or auth.tenant_route(method, rule) is None:
            continue
        r = client.open(method, fill(rule, values), headers=h(key), json={})
        assert r.status_code == 404, (method, rule, r.status_code)
        if method != "HEAD":
            assert r.json["message"] == "account 'second' is not configured", (method, rule, r.json)
        walked += 1
    assert walked >= 30
    assert client.get("/v1/s3/local/buckets/acme-one/objects", headers=h(key)).status_code == 200  # its own: yes


#: For each tenant route, in order: (method, template, what its own path values are, body or query, status).
#: ``{site_user}`` and ``{site_key_id}`` stand for the website user and its key on the website routes.
_W = "/v1/s3/{account}/websites/{website}"
OWN_CASES: list[tuple[str, str, dict[str, Any] | None, str, int]] = [
    ("GET", "/v1/s3/whoami", None, "", 200),
    ("GET", "/v1/s3/accounts", None, "", 200),
    ("GET", "/v1/s3/plans", None, "", 200),
    ("GET", "/v1/s3/plans/{plan}", None, "", 200),
    ("GET", "/v1/s3/plans/{plan}/history", None, "", 200),
    ("GET", "/v1/s3/tenants/{tenant}", None, "", 200),
    ("GET", "/v1/s3/tenants/{tenant}/usage", None, "", 200),
    ("GET", "/v1/s3/{account}", None, "", 200),
    ("GET", "/v1/s3/{account}/stats", None, "", 200),
    ("GET", "/v1/s3/{account}/buckets", None, "", 200),
    ("POST", "/v1/s3/{account}/buckets", {"BucketInput": {"Bucket": "acme-extra"}}, "", 200),
    ("GET", "/v1/s3/{account}/buckets/{bucket}", None, "", 200),
    ("HEAD", "/v1/s3/{account}/buckets/{bucket}", None, "", 200),
    ("PUT", "/v1/s3/{account}/buckets/{bucket}", {"Tags": [{"Key": "team", "Value": "a"}]}, "", 200),
    ("GET", "/v1/s3/{account}/buckets/{bucket}/duck", None, "", 200),
    ("GET", "/v1/s3/{account}/buckets/{bucket}/objects", None, "", 200),
    ("GET", "/v1/s3/{account}/buckets/{bucket}/objects/{key}", None, "", 200),
    ("POST", "/v1/s3/{account}/buckets/{bucket}/presign", {"Key": "a.txt"}, "", 200),
    ("GET", "/v1/s3/{account}/buckets/{bucket}/links", None, "", 200),
    ("GET", "/v1/s3/{account}/buckets/{bucket}/links/{link_id}", None, "", 200),
    ("POST", "/v1/s3/{account}/buckets/{bucket}/links/{link_id}/revoke", None, "", 200),
    ("POST", "/v1/s3/{account}/buckets/{bucket}/links/{link_id}/reissue", {}, "", 200),
    ("POST", "/v1/s3/{account}/buckets/{bucket}/shares/{share}/revoke", None, "", 200),
    ("GET", "/v1/s3/{account}/buckets/{bucket}/usage", None, "", 200),
    ("GET", "/v1/s3/{account}/buckets/{bucket}/usage/history", None, "", 200),
    ("GET", "/v1/s3/{account}/buckets/{bucket}/quota", None, "", 200),  # its bucket's quota, set by an admin
    ("POST", "/v1/s3/{account}/buckets/{bucket}/usage/recount", None, "", 202),
    ("GET", "/v1/s3/{account}/buckets/{bucket}/uploads", None, "", 200),
    ("DELETE", "/v1/s3/{account}/buckets/{bucket}/uploads/{upload_id}", None, "?key=big.bin", 200),
    ("POST", "/v1/s3/{account}/buckets/{bucket}/uploads/abort", {"OlderThanSeconds": 0}, "", 200),
    ("GET", "/v1/s3/{account}/buckets/{bucket}/users", None, "", 200),
    ("POST", "/v1/s3/{account}/buckets/{bucket}/users", {"User": {"UserName": "acme-bob"}}, "", 200),
    ("GET", "/v1/s3/{account}/buckets/{bucket}/users/{user}", None, "", 200),
    ("PATCH", "/v1/s3/{account}/buckets/{bucket}/users/{user}/keys/{key_id}", {"Status": "Inactive"}, "", 200),
    ("PUT", "/v1/s3/{account}/buckets/{bucket}/users/{user}", None, "", 200),
    ("DELETE", "/v1/s3/{account}/buckets/{bucket}/users/{user}", None, "", 200),
    ("POST", "/v1/s3/{account}/buckets/{bucket}/objects/delete", {"Keys": ["none.txt"]}, "", 200),
    ("DELETE", "/v1/s3/{account}/buckets/{bucket}/objects/{key}", None, "", 200),
    ("POST", "/v1/s3/{account}/websites", {"BucketInput": {"Bucket": "shop.example.test"}}, "", 200),
    ("GET", "/v1/s3/{account}/websites/{website}", None, "", 200),
    ("HEAD", "/v1/s3/{account}/websites/{website}", None, "", 200),
    ("PUT", "/v1/s3/{account}/websites/{website}", {"Tags": [{"Key": "team", "Value": "a"}]}, "", 200),
    ("PATCH", "/v1/s3/{account}/websites/{website}", {"CacheInvalidation": ["/index.html"]}, "", 200),
    ("GET", "/v1/s3/{account}/websites/{website}/invalidations/{invalidation}", None, "", 200),
    ("GET", "/v1/s3/{account}/websites/{website}/duck", None, "", 200),
    ("GET", "/v1/s3/{account}/websites/{website}/users", None, "", 200),
    ("POST", "/v1/s3/{account}/websites/{website}/users", {"User": {"UserName": "acme-web2"}}, "", 200),
    ("GET", "/v1/s3/{account}/websites/{website}/users/{site_user}", None, "", 200),
    ("PATCH", f"{_W}/users/{{site_user}}/keys/{{site_key_id}}", {"Status": "Inactive"}, "", 200),
    ("PUT", "/v1/s3/{account}/websites/{website}/users/{site_user}", None, "", 200),
    ("DELETE", "/v1/s3/{account}/websites/{website}/users/{site_user}", None, "", 200),
    ("GET", "/v1/s3/operations", None, "", 200),
    ("GET", "/v1/s3/operations/{operation_id}", None, "", 200),
    ("DELETE", "/v1/s3/{account}/buckets/{bucket}", None, "?force=true", 202),
    ("DELETE", "/v1/s3/{account}/websites/{website}", None, "", 200),
]


def test_own_cases_cover_the_table(app: Flask) -> None:
    """Each tenant route of the URL map has its case in OWN_CASES (HEAD goes with GET)."""
    present = {(m, auth.template(rule)) for m, rule in rules(app) if auth.tenant_route(m, rule) is not None}
    cases = {("GET" if m == "HEAD" else m, auth.template(t)) for m, t, *_ in OWN_CASES}
    assert present - cases == set()


def test_allowed_routes_answer_for_own_resources(app: Flask, world: dict[str, Any], synced: list[Any]) -> None:
    client, key_a, a = world["client"], world["key_a"], world["a"]
    present = {(m, auth.template(rule)) for m, rule in rules(app)} | {
        ("HEAD", auth.template(rule)) for m, rule in rules(app) if m == "GET"
    }
    ran = 0
    for method, path, body, query, status in OWN_CASES:
        if (method, auth.template(path)) not in present:
            continue  # a route of another branch (plans, tenants): run after the merge
        url = path.format(**a) + query
        r = client.open(method, url, headers=h(key_a), json=body)
        assert r.status_code == status, (method, path, r.status_code, r.get_json(silent=True))
        ran += 1
    assert ran >= 40
    mine = ["acme-data", "acme-extra", "shop.example.test"]  # its own website's bucket too
    assert client.get("/v1/s3/local/buckets", headers=h(key_a)).json == mine
    assert (a["tenant"], mine) in synced  # the website's delete narrowed the credentials (its own site stays)
