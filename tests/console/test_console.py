"""The console through the Flask test client: sign-in and its cookie, CSRF refusals on every form, every page,
every form's bad input (our message and the request id, nothing changed), roles as the API decides them, the
secret shown once, htmx fragments, and the audit trail of console forms."""

from __future__ import annotations

import json
import re
import time
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from flask import Flask

from s3api import audit, auth
from s3api.console import blueprint as console
from s3api.console import session as sessions
from tests.api.tenancy_made import make_tenant
from tests.conftest import TOKEN, Client
from tests.console.conftest import Browser

H = {"X-Auth-Token": TOKEN}
SAMPLE = {"account": "local", "bucket": "some-bucket", "website": "www.example.test", "user": "alice"}


def console_rules(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) of every console rule but static and sign-in."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("console.") or rule.endpoint in console.PUBLIC:
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: SAMPLE.get(m.group(1), "x"), rule.rule)
        for method in sorted((rule.methods or set()) - {"OPTIONS", "HEAD"}):
            out.append((rule.endpoint, method, path))
    return out


def s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def make_bucket(client: Client, name: str = "alpha-bucket") -> str:
    r = client.post("/v1/s3/local/buckets", json={"BucketInput": {"Bucket": name}})
    assert r.status_code == 200, r.json
    return name


def html(r: Any) -> str:
    return str(r.get_data(as_text=True))


def assert_error(r: Any, status: int, message_part: str) -> None:
    assert r.status_code == status, (r.status_code, html(r)[:2000])
    body = html(r)
    assert message_part in body, body[:3000]
    assert r.headers["X-Request-Id"] in body  # the request id is on the page
    assert "Traceback" not in body


# --- sign in, the cookie, sign out ----------------------------------------------------------------------------


def test_every_page_needs_a_session_and_every_form_is_refused_without_one(app: Flask, anonymous: Browser) -> None:
    rules = console_rules(app)
    assert len(rules) >= 25
    for endpoint, method, path in rules:
        r = anonymous.client.open(path, method=method, data={"csrf": "x"})
        if method == "GET":
            assert r.status_code == 303, (endpoint, r.status_code)
            assert r.headers["Location"].startswith("/console/sign-in?next=")
        else:
            assert_error(r, 403, console.SIGN_IN_FIRST.split(":")[0])
    # htmx asks for a redirect header instead of following one
    r = anonymous.client.get("/console/operations", headers={"HX-Request": "true"})
    assert r.status_code == 204 and r.headers["HX-Redirect"].startswith("/console/sign-in")


def test_an_x_auth_token_is_not_a_console_session(anonymous: Browser) -> None:
    r = anonymous.client.get("/console/operations", headers=H)
    assert r.status_code == 303 and "/console/sign-in" in r.headers["Location"]


def test_sign_in_sets_a_sealed_httponly_strict_expiring_cookie(app: Flask, anonymous: Browser) -> None:
    r = anonymous.sign_in()
    assert r.status_code == 303 and r.headers["Location"] == "/console/"
    cookie = next(c for c in r.headers.getlist("Set-Cookie") if c.startswith(f"{sessions.COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert f"Max-Age={sessions.LIFETIME}" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    assert TOKEN not in value and value.startswith("v1.")
    assert anonymous.get("/console/operations").status_code == 200


def test_sign_in_refuses_a_wrong_or_missing_credential_and_a_missing_csrf(anonymous: Browser) -> None:
    r = anonymous.sign_in("not-a-valid-token-at-all")
    assert r.status_code == 403 and "not valid" in html(r)
    assert sessions.COOKIE not in (r.headers.get("Set-Cookie") or "")
    r = anonymous.sign_in("s3k_0123456789abcdef_" + "a" * 43)
    assert r.status_code == 403
    r = anonymous.sign_in("")
    assert r.status_code == 400 and "Enter an API key" in html(r)
    fresh = Browser(anonymous.client.application.test_client())
    r = fresh.client.post("/console/sign-in", data={"credential": TOKEN})
    assert_error(r, 403, "CSRF token missing or wrong")
    r = fresh.client.post("/console/sign-in", data={"credential": TOKEN, "csrf": "forged"})
    assert r.status_code == 403


def test_sign_in_goes_only_to_a_console_page(anonymous: Browser) -> None:
    page = anonymous.client.get("/console/sign-in?next=/console/keys")
    assert 'name="next" value="/console/keys"' in html(page)
    for target, expected in (("/console/keys", "/console/keys"), ("https://evil.example/x", "/console/"),
                             ("//evil.example/console", "/console/"), ("/v1/s3/keys", "/console/")):  # fmt: skip
        pre = re.search(r'name="csrf" value="([^"]+)"', html(anonymous.client.get("/console/sign-in")))
        assert pre is not None
        r = anonymous.client.post("/console/sign-in", data={"credential": TOKEN, "csrf": pre.group(1), "next": target})
        assert r.headers["Location"] == expected, target


def test_a_tampered_expired_or_revoked_session_signs_out(app: Flask, client: Client, anonymous: Browser) -> None:
    made = client.post("/v1/s3/keys", json={"Name": "console-admin", "Role": "admin"}).json
    assert anonymous.sign_in(made["Key"]).status_code == 303
    assert anonymous.get("/console/operations").status_code == 200
    jar = anonymous.client.get_cookie(sessions.COOKIE, path=sessions.PATH)
    assert jar is not None
    good = jar.value
    anonymous.client.set_cookie(sessions.COOKIE, good[:-4] + "AAAA", path=sessions.PATH)
    assert anonymous.get("/console/operations").status_code == 303
    with app.app_context():
        old, _ = sessions.new_cookie(app, made["Key"], now=time.time() - sessions.LIFETIME - 1)
    anonymous.client.set_cookie(sessions.COOKIE, old, path=sessions.PATH)
    assert anonymous.get("/console/operations").status_code == 303
    anonymous.client.set_cookie(sessions.COOKIE, good, path=sessions.PATH)
    assert anonymous.get("/console/operations").status_code == 200
    assert client.delete(f"/v1/s3/keys/{made['Id']}").status_code == 200
    time.sleep(2.1)  # the key verifier's cache
    assert anonymous.get("/console/operations").status_code == 303


def test_sign_out_clears_the_cookie(browser: Browser) -> None:
    r = browser.post("/console/sign-out")
    assert r.status_code == 303 and r.headers["Location"] == "/console/sign-in"
    assert any(c.startswith(f"{sessions.COOKIE}=;") for c in r.headers.getlist("Set-Cookie"))
    assert browser.get("/console/operations").status_code == 303


# --- CSRF ---------------------------------------------------------------------------------------------------------


def test_every_form_refuses_a_missing_or_wrong_csrf_token_before_anything_runs(app: Flask, browser: Browser) -> None:
    posts = [(e, p) for e, m, p in console_rules(app) if m == "POST"]
    assert len(posts) >= 17
    for endpoint, path in posts:
        for token in (None, "wrong"):
            data = {"bucket": "csrf-bucket", "confirm": "some-bucket", "keys": "a"}
            if token is not None:
                data["csrf"] = token
            r = browser.client.post(path, data=data)
            assert_error(r, 403, "CSRF token is missing or wrong")
    assert "csrf-bucket" not in [b["Name"] for b in s3().list_buckets()["Buckets"]]
    # the header form (htmx) is accepted
    r = browser.client.post(
        "/console/local/buckets", data={"bucket": "csrf-bucket"}, headers={"X-CSRF-Token": browser.csrf}
    )
    assert r.status_code == 303


def test_every_form_has_its_own_audit_action() -> None:
    console_actions = {k: v for k, v in audit.ACTIONS.items() if k[0].startswith("console.")}
    posts = {(k[0], k[1]) for k in console.API if k[1] == "POST"} | {("console.sign_in", "POST")}
    assert set(console_actions) == posts


# --- pages ----------------------------------------------------------------------------------------------------------


def test_every_page_renders(browser: Browser, client: Client) -> None:
    bucket = make_bucket(client)
    s3().put_object(Bucket=bucket, Key="docs/readme.txt", Body=b"hello")
    s3().put_object(Bucket=bucket, Key="top.txt", Body=b"hi")
    s3().put_object(Bucket=bucket, Key="docs/more.txt", Body=b"more")
    s3().create_multipart_upload(Bucket=bucket, Key="big.bin")
    user = client.post(f"/v1/s3/local/buckets/{bucket}/users", json={"User": {"UserName": "alice"}})
    assert user.status_code == 200
    site = client.post("/v1/s3/local/websites", json={"BucketInput": {"Bucket": "www.example.test"}})
    assert site.status_code == 200, site.json
    pages = {
        "/console/": None,
        "/console/local/buckets": [bucket, "Create bucket", f"/console/local/buckets/{bucket}/usage"],
        f"/console/local/buckets/{bucket}/usage": ["<td>3</td>", "listing"],
        f"/console/local/buckets/{bucket}": ["top.txt", "docs/", "Upload"],
        f"/console/local/buckets/{bucket}?prefix=docs/": ["docs/readme.txt"],
        f"/console/local/buckets/{bucket}?search=READ": ["docs/readme.txt"],
        f"/console/local/buckets/{bucket}/uploads": ["big.bin", "Abort"],
        f"/console/local/buckets/{bucket}/users": ["alice", "Create user"],
        f"/console/local/buckets/{bucket}/users/alice": ["Switch off", "Rotate"],
        "/console/local/websites": ["www.example.test"],
        "/console/local/websites/www.example.test": ["Status:", "Invalidate"],
        "/console/operations": ["Operations"],
        "/console/keys": ["Create key"],
        "/console/audit": ["bucket.create"],
    }
    for path, expected in pages.items():
        r = browser.get(path, follow_redirects=True)
        assert r.status_code == 200, (path, html(r)[:2000])
        body = html(r)
        assert ('<html lang="en">' in body and "<main" in body) or path.endswith("/usage")
        for part in expected or []:
            assert part in body, (path, part)
        assert "top.txt" not in body or path.endswith(bucket) or "search" in path or "prefix" in path
        assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Cache-Control"] == "no-store"
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", body):
            if 'type="hidden"' in tag or "hidden" in tag.split():
                continue
            named = re.search(r'id="([^"]+)"', tag)
            label = named and f'for="{named.group(1)}"' in body
            wrapped = f'<label class="check">{tag}' in body
            assert label or wrapped or "aria-label=" in tag, (path, tag)  # every control has an accessible name


def test_the_pages_are_fragments_for_htmx(browser: Browser, client: Client) -> None:
    bucket = make_bucket(client)
    s3().put_object(Bucket=bucket, Key="a.txt", Body=b"x")
    r = browser.get(f"/console/local/buckets/{bucket}?search=a", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "a.txt" in html(r) and "<html" not in html(r)
    r = browser.get("/console/local/buckets/Bad_Name!", headers={"HX-Request": "true"})
    assert r.status_code == 400 and r.headers["HX-Retarget"] == "#notices" and "<html" not in html(r)
    assert r.headers["X-Request-Id"] in html(r)


def test_static_assets_are_vendored(anonymous: Browser) -> None:
    for name in ("htmx.min.js", "console.css", "console.js", "htmx.LICENSE"):
        r = anonymous.get(f"/console/static/{name}")
        assert r.status_code == 200 and len(r.data) > 100, name
    page = html(anonymous.get("/console/sign-in"))
    assert "http://" not in page and "https://" not in page  # no CDN


# --- forms ----------------------------------------------------------------------------------------------------------


def test_buckets_create_and_delete_and_forced_delete_starts_an_operation(browser: Browser, client: Client) -> None:
    r = browser.post("/console/local/buckets", {"bucket": "made-in-console"})
    assert r.status_code == 303 and r.headers["Location"].startswith("/console/local/buckets/made-in-console")
    assert "made-in-console" in [b["Name"] for b in s3().list_buckets()["Buckets"]]
    r = browser.post("/console/local/buckets/made-in-console/delete", {"confirm": "made-in-console"})
    assert r.status_code == 303
    assert "made-in-console" not in [b["Name"] for b in s3().list_buckets()["Buckets"]]
    bucket = make_bucket(client, "full-bucket")
    s3().put_object(Bucket=bucket, Key="k", Body=b"x")
    r = browser.post(f"/console/local/buckets/{bucket}/delete", {"confirm": bucket, "force": "on"})
    assert r.status_code == 303 and r.headers["Location"].startswith("/console/operations/op-")
    page = browser.get(r.headers["Location"])
    assert page.status_code == 200 and "bucket.delete" in html(page) and 'hx-trigger="every 1s"' in html(page)
    fragment = browser.get(r.headers["Location"], headers={"HX-Request": "true"})
    assert "<html" not in html(fragment) and 'id="operation-status"' in html(fragment)
    op_id = r.headers["Location"].split("?")[0].rsplit("/", 1)[1]
    assert browser.post(f"/console/operations/{op_id}/cancel").status_code == 303
    assert client.get(f"/v1/s3/operations/{op_id}").json["Status"] in {"Canceled", "NotStarted", "Running"}


def test_bucket_forms_refuse_bad_input_and_change_nothing(browser: Browser, client: Client) -> None:
    before = sorted(b["Name"] for b in s3().list_buckets()["Buckets"])
    assert_error(browser.post("/console/local/buckets", {"bucket": "Bad_Name!"}), 400, "Bucket")
    assert_error(browser.post("/console/local/buckets", {"bucket": ""}), 400, "bucket is required")
    assert_error(browser.post("/console/local/buckets", {"bucket": "ok-name", "lifecycle": "nope"}), 400, "lifecycle")
    assert_error(browser.post("/console/nope/buckets", {"bucket": "ok-name"}), 404, "not configured")
    bucket = make_bucket(client)
    assert_error(browser.post(f"/console/local/buckets/{bucket}/delete", {"confirm": "other"}), 400, "confirm")
    assert_error(browser.get("/console/local/buckets/Bad_Name!"), 400, "bucket")
    assert_error(browser.get("/console/local/buckets/no-such-bucket"), 404, "no-such-bucket")
    assert_error(browser.post(f"/console/local/buckets/{bucket}/objects/delete", {}), 400, "choose at least one")
    assert sorted(b["Name"] for b in s3().list_buckets()["Buckets"]) == sorted([*before, bucket])


def test_objects_batch_delete_download_and_upload_links(browser: Browser, client: Client) -> None:
    bucket = make_bucket(client)
    for key in ("a.txt", "b.txt", "c.txt"):
        s3().put_object(Bucket=bucket, Key=key, Body=b"x")
    r = browser.client.post(
        f"/console/local/buckets/{bucket}/objects/delete", data={"csrf": browser.csrf, "keys": ["a.txt", "b.txt"]}
    )
    assert r.status_code == 303 and "Deleted+2" in r.headers["Location"]
    assert [o["Key"] for o in s3().list_objects_v2(Bucket=bucket)["Contents"]] == ["c.txt"]
    r = browser.post(f"/console/local/buckets/{bucket}/download", {"key": "c.txt"})
    assert r.status_code == 303 and "c.txt" in r.headers["Location"] and "Signature" in r.headers["Location"]
    r = browser.post(
        f"/console/local/buckets/{bucket}/upload-link", {"key": "new.txt"}, headers={"Accept": "application/json"}
    )
    assert r.status_code == 200 and "new.txt" in r.json["Url"]
    r = browser.post(
        f"/console/local/buckets/{bucket}/upload-link", {"key": ""}, headers={"Accept": "application/json"}
    )
    assert r.status_code == 400 and r.json["code"] == "BadRequest" and r.json["request_id"]


def test_uploads_abort(browser: Browser, client: Client) -> None:
    bucket = make_bucket(client)
    upload = s3().create_multipart_upload(Bucket=bucket, Key="big.bin")["UploadId"]
    r = browser.post(f"/console/local/buckets/{bucket}/uploads/abort", {"key": "big.bin", "upload_id": upload})
    assert r.status_code == 303
    assert not s3().list_multipart_uploads(Bucket=bucket).get("Uploads")
    r = browser.post(f"/console/local/buckets/{bucket}/uploads/abort", {"key": "big.bin", "upload_id": ""})
    assert_error(r, 400, "upload_id is required")


def test_users_create_shows_the_secret_once_then_rotate_switch_and_delete(browser: Browser, client: Client) -> None:
    bucket = make_bucket(client)
    r = browser.post(f"/console/local/buckets/{bucket}/users", {"user_name": "bob"})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="secret-access-key">([^<]+)<', html(r))
    key_id = re.search(r'id="access-key-id">([^<]+)<', html(r))
    assert secret and key_id and "Copy" in html(r)
    page = browser.get(f"/console/local/buckets/{bucket}/users/bob")
    assert key_id.group(1) in html(page) and secret.group(1) not in html(page)
    r = browser.post(f"/console/local/buckets/{bucket}/users/bob/keys/{key_id.group(1)}", {"status": "Inactive"})
    assert r.status_code == 303
    assert client.get(f"/v1/s3/local/buckets/{bucket}/users/bob").json["AccessKeys"][0]["Status"] == "Inactive"
    assert_error(
        browser.post(f"/console/local/buckets/{bucket}/users/bob/keys/{key_id.group(1)}", {"status": "Off"}),
        400,
        "Status must be",
    )
    assert_error(
        browser.post(f"/console/local/buckets/{bucket}/users/bob/rotate", {"grace_seconds": "-1"}), 400, "grace"
    )
    r = browser.post(f"/console/local/buckets/{bucket}/users/bob/rotate", {"grace_seconds": "0"})
    assert r.status_code == 200 and 'id="secret-access-key"' in html(r)
    assert browser.post(f"/console/local/buckets/{bucket}/users/bob/delete").status_code == 303
    assert client.get(f"/v1/s3/local/buckets/{bucket}/users").json == []
    assert_error(browser.post(f"/console/local/buckets/{bucket}/users", {"user_name": "bad name!"}), 400, "UserName")
    assert_error(
        browser.post(f"/console/local/buckets/{bucket}/users", {"user_name": "carol", "groups": "Nope"}), 400, "Groups"
    )
    assert client.get(f"/v1/s3/local/buckets/{bucket}/users").json == []


def test_websites_create_status_invalidate_and_delete(browser: Browser, client: Client) -> None:
    r = browser.post("/console/local/websites", {"host_name": "shop.example.test", "index_document": "index.html"})
    assert r.status_code == 303, html(r)[:2000]
    page = browser.get("/console/local/websites/shop.example.test")
    assert re.search(r'data-status="(Deploying|Deployed)"', html(page))
    fragment = browser.get("/console/local/websites/shop.example.test", headers={"HX-Request": "true"})
    assert 'id="website-status"' in html(fragment) and "<html" not in html(fragment)
    assert (
        browser.post("/console/local/websites/shop.example.test/invalidate", {"paths": "/*\n/index.html"}).status_code
        == 303
    )
    assert_error(
        browser.post("/console/local/websites/shop.example.test/invalidate", {"paths": "nope"}),
        400,
        "every path begins with",
    )
    assert_error(browser.post("/console/local/websites/shop.example.test/delete", {"confirm": "x"}), 400, "confirm")
    r = browser.post("/console/local/websites/shop.example.test/delete", {"confirm": "shop.example.test"})
    assert r.status_code == 303 and "/console/operations/op-" in r.headers["Location"]
    assert_error(browser.post("/console/local/websites", {"host_name": "not a host"}), 400, "Bucket")


def test_keys_create_shows_the_key_once_and_revoke(browser: Browser, client: Client) -> None:
    r = browser.post("/console/keys", {"name": "made-here", "role": "reader"})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    key = re.search(r'id="api-key">(s3k_[^<]+)<', html(r))
    assert key
    assert client.get("/v1/s3/whoami", auth=False, headers={"X-Auth-Token": key.group(1)}).json["Role"] == "reader"
    listed = browser.get("/console/keys")
    assert "made-here" in html(listed) and key.group(1) not in html(listed)
    key_id = key.group(1).split("_")[1]
    assert browser.post(f"/console/keys/{key_id}/revoke").status_code == 303
    assert client.get(f"/v1/s3/keys/{key_id}").json["RevokedAt"]
    assert_error(browser.post("/console/keys", {"name": "x", "role": "root"}), 400, "Role")
    assert_error(
        browser.post("/console/keys", {"name": "x", "role": "reader", "expires_at": "yesterday"}), 400, "ExpiresAt"
    )
    events = client.get("/v1/s3/audit?action=console.key.").json["Events"]
    assert {e["Action"] for e in events} >= {"console.key.create", "console.key.revoke"}
    revoked = [e["Resource"] for e in events if e["Action"] == "console.key.revoke"]
    assert revoked == [f"keys/{key_id}/revoke"]  # named by its path once (not keys/{id}/revoke/{id})
    assert key.group(1) not in json.dumps(events)


def test_audit_and_operations_filters_refuse_bad_values(browser: Browser) -> None:
    assert browser.get("/console/audit?action=console.&outcome=ok").status_code == 200
    assert_error(browser.get("/console/audit?action=NOT VALID"), 400, "action")
    assert_error(browser.get("/console/audit?since=yesterday"), 400, "since")
    assert_error(browser.get("/console/operations?status=nope"), 400, "status")
    assert browser.get("/console/operations?status=Running").status_code == 200


def test_console_forms_are_audited_with_their_caller(browser: Browser, client: Client) -> None:
    assert browser.post("/console/local/buckets", {"bucket": "audited-bucket"}).status_code == 303
    assert browser.post("/console/local/buckets", {"bucket": "Bad!"}).status_code == 400
    events = client.get("/v1/s3/audit?action=console.bucket.create").json["Events"]
    assert [(e["Outcome"], e["Status"], e["CallerName"], e["Resource"]) for e in events] == [
        ("refused", 400, "test", "local/buckets/Bad!"),
        ("ok", 303, "test", "local/buckets/audited-bucket"),
    ]
    assert "csrf" not in json.dumps(events)
    signed = client.get("/v1/s3/audit?action=console.sign_in").json["Events"]
    assert signed and signed[0]["CallerName"] == "test"


# --- roles: the API's decision ------------------------------------------------------------------------------------


def test_a_reader_sees_the_pages_but_every_form_is_refused(
    app: Flask, client: Client, anonymous: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = make_bucket(client)
    reader = client.post("/v1/s3/keys", json={"Name": "reader", "Role": "reader"}).json["Key"]
    assert anonymous.sign_in(reader).status_code == 303
    calls: list[tuple[str, str | None]] = []
    real = auth.authorize
    monkeypatch.setattr(auth, "authorize", lambda c, m, e, r=None: (calls.append((m, e)), real(c, m, e, r))[1])
    assert anonymous.get(f"/console/local/buckets/{bucket}").status_code == 200
    assert calls[-1] == ("GET", "objects.Objects")
    keys = anonymous.get("/console/keys")
    assert keys.status_code == 200 and "Create key" not in html(keys)
    for endpoint, method, path in console_rules(app):
        if method != "POST" or endpoint == "console.sign_out":
            continue
        r = anonymous.post(path, {"bucket": "by-reader", "confirm": "some-bucket", "name": "k", "role": "admin"})
        assert_error(r, 403, "the reader role may not")
    assert "by-reader" not in [b["Name"] for b in s3().list_buckets()["Buckets"]]
    assert anonymous.post("/console/sign-out").status_code == 303


def test_a_tenant_key_sees_only_its_own_buckets(app: Flask, anonymous: Browser) -> None:
    """The console scopes a tenant key as the API edge does (``auth.admit`` with the isolation scoper)."""
    assert console.TENANT_KEYS_SCOPED
    make_tenant(app, buckets=["other-data"])
    _, key, _ = make_tenant(app, buckets=["acme-data", "acme-logs"])
    make_bucket_plain("untagged-bucket")
    assert anonymous.sign_in(key).status_code == 303
    page = anonymous.get("/console/local/buckets")
    assert page.status_code == 200
    body = html(page)
    assert "acme-data" in body and "acme-logs" in body
    assert "other-data" not in body and "untagged-bucket" not in body
    assert anonymous.get("/console/").headers["Location"].startswith("/console/local/buckets")
    assert anonymous.get("/console/local/buckets/acme-data").status_code == 200
    assert "Keys" not in [a for a in re.findall(r'<a href="[^"]+"[^>]*>([^<]+)</a>', body)]  # no admin pages


def test_a_tenant_opening_another_tenants_bucket_gets_404(app: Flask, anonymous: Browser) -> None:
    make_tenant(app, buckets=["other-data"])
    _, key, _ = make_tenant(app, buckets=["acme-data"])
    assert anonymous.sign_in(key).status_code == 303
    for path in (
        "/console/local/buckets/other-data", "/console/local/buckets/other-data/users",
        "/console/local/buckets/other-data/uploads", "/console/local/buckets/other-data/usage",
        "/console/local/buckets/no-such-bucket",
    ):  # fmt: skip
        assert_error(anonymous.get(path), 404, "does not exist")
    r = anonymous.post("/console/local/buckets/other-data/delete", {"confirm": "other-data"})
    assert_error(r, 404, "does not exist")
    assert "other-data" in [b["Name"] for b in s3().list_buckets()["Buckets"]]
    assert_error(anonymous.get("/console/keys"), 403, "the tenant role may not")
    assert_error(anonymous.get("/console/audit"), 403, "the tenant role may not")


def test_a_tenant_creates_a_bucket_tagged_and_within_its_plan(app: Flask, anonymous: Browser) -> None:
    tenant_id, key, _ = make_tenant(app, buckets=["acme-data"], plan="tiny", max_buckets=2)
    assert anonymous.sign_in(key).status_code == 303
    r = anonymous.post("/console/local/buckets", {"bucket": "acme-more"})
    assert r.status_code == 303, html(r)[:2000]
    tags = s3().get_bucket_tagging(Bucket="acme-more")["TagSet"]
    assert {"Key": "s3api:tenant", "Value": tenant_id} in tags
    assert_error(anonymous.post("/console/local/buckets", {"bucket": "acme-third"}), 409, "allows 2 bucket(s)")


def test_a_tenant_key_of_another_account_or_without_its_tenant_is_refused(app: Flask, anonymous: Browser) -> None:
    with app.app_context():
        made = app.extensions["s3api"].keys.create("tenant-one", "tenant", "tenant-one")  # no tenant row
    assert anonymous.sign_in(made["Key"]).status_code == 303
    for path in ("/console/local/buckets", "/console/operations"):
        assert_error(anonymous.get(path), 403, auth.INVALID)


def make_bucket_plain(name: str) -> None:
    s3().create_bucket(Bucket=name)


def test_a_deploying_website_polls_its_status_until_deployed(
    browser: Browser, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from s3api.provisioning import websites

    assert client.post("/v1/s3/local/websites", json={"BucketInput": {"Bucket": "www.example.test"}}).status_code == 200
    real = websites.show
    status = {"now": "Deploying"}
    monkeypatch.setattr(websites, "show", lambda aws, name: {**real(aws, name), "Status": status["now"]})
    page = html(browser.get("/console/local/websites/www.example.test"))
    assert 'data-status="Deploying"' in page and 'hx-trigger="every 2s"' in page
    status["now"] = "Deployed"
    fragment = html(browser.get("/console/local/websites/www.example.test", headers={"HX-Request": "true"}))
    assert 'data-status="Deployed"' in fragment and "hx-trigger" not in fragment


def test_sessions_on_each_database_and_across_workers(
    seed: dict[str, str], migrated: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite (the embedded default): the session key is the data directory's ``secret.key``, so another worker
    (another app on the same files) opens the cookie. PostgreSQL: with ``secret_keys`` the same holds; without
    them this process's own key is used (logged), and another worker does not open it."""
    import os

    from s3api import create_app
    from tests.conftest import make_settings

    bare = create_app(make_settings(seed).with_overrides(database=migrated))  # no secret_keys configured
    browser = Browser(bare.test_client())
    assert browser.sign_in().status_code == 303
    made = browser.post("/console/keys", {"name": "on-db", "role": "admin"})
    key = re.search(r'id="api-key">(s3k_[^<]+)<', html(made))
    assert key
    keyed = Browser(bare.test_client())
    assert keyed.sign_in(key.group(1)).status_code == 303
    cookie = keyed.client.get_cookie(sessions.COOKIE, path=sessions.PATH)
    assert cookie is not None
    other = create_app(make_settings(seed).with_overrides(database=migrated)).test_client()
    other.set_cookie(sessions.COOKIE, cookie.value, path=sessions.PATH)
    if migrated.url.startswith("sqlite"):
        assert os.path.exists(os.path.join(migrated.data_dir, "secret.key"))
        assert other.get("/console/operations").status_code == 200
        return
    assert "a key of this process only" in caplog.text or sessions._fallback
    assert other.get("/console/operations").status_code == 200  # same process: the same fallback key
    shared = (os.urandom(32),)
    first = create_app(make_settings(seed).with_overrides(database=migrated, secret_keys=shared))
    second = create_app(make_settings(seed).with_overrides(database=migrated, secret_keys=shared))
    signed = Browser(first.test_client())
    assert signed.sign_in(key.group(1)).status_code == 303
    value = signed.client.get_cookie(sessions.COOKIE, path=sessions.PATH)
    assert value is not None
    peer = second.test_client()
    peer.set_cookie(sessions.COOKIE, value.value, path=sessions.PATH)
    assert peer.get("/console/operations").status_code == 200


def test_usage_cells_of_a_bucket_not_ours_say_why(browser: Browser) -> None:
    r = browser.get("/console/local/buckets/s3api-access-logs-123456789012/usage", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<small>" in html(r) and "<html" not in html(r)


def test_an_unknown_console_page_is_our_404_and_the_current_page_is_marked(
    browser: Browser, anonymous: Browser
) -> None:
    assert_error(browser.get("/console/no/such/page"), 404, "no console page at /console/no/such/page")
    assert anonymous.get("/console/no/such/page").status_code == 303
    page = html(browser.get("/console/operations"))
    assert '<a href="/console/operations" aria-current="page">Operations</a>' in page


def test_every_console_route_stands_for_a_real_api_route_and_method(app: Flask) -> None:
    """The authorization a console route takes is that of an API route that exists, with a method it has."""
    methods: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        methods.setdefault(rule.endpoint, set()).update(rule.methods or ())
    console_endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("console.")}
    assert console_endpoints - console.PUBLIC <= {e for e, _ in console.API}
    for (endpoint, method), (api_endpoint, api_method) in console.API.items():
        assert endpoint in console_endpoints, endpoint
        assert api_endpoint in methods and not api_endpoint.startswith("console."), (endpoint, api_endpoint)
        assert api_method in methods[api_endpoint], (endpoint, api_endpoint, api_method)


def test_pages_carry_a_content_security_policy_that_admits_only_the_console_and_s3(
    app: Flask, browser: Browser, anonymous: Browser
) -> None:
    """No inline script, no eval, no other origin; uploads (fetch) and downloads (a form's 303) reach S3 only."""
    for r in (browser.get("/console/operations"), anonymous.get("/console/sign-in"), browser.get("/console/nope")):
        policy = dict(part.strip().split(" ", 1) for part in r.headers["Content-Security-Policy"].split(";"))
        assert policy["default-src"] == "'none'" and policy["script-src"] == "'self'", policy
        assert policy["style-src"] == "'self'" and policy["frame-ancestors"] == "'none'", policy
        assert policy["connect-src"] == "'self' https://*.amazonaws.com", policy  # the test app's accounts: AWS
        assert policy["form-action"] == policy["connect-src"], policy
    page = html(browser.get("/console/operations"))
    assert "<script>" not in page and " on" + "click=" not in page and "style=" not in page
    assert '"allowEval": false' in page  # htmx evaluates nothing the page says
    assert '"historyCacheSize": 0' in page  # nor keeps a page (a secret shown once) in localStorage
    emulated = SimpleNamespace(accounts={"a": SimpleNamespace(endpoint_url="http://127.0.0.1:4566")})
    policy = console.content_security_policy(emulated)
    assert "connect-src 'self' http://*.127.0.0.1:4566 http://127.0.0.1:4566;" in policy, policy
    assert "amazonaws" not in policy


def test_a_method_a_console_page_does_not_have_is_our_405_page(browser: Browser) -> None:
    r = browser.post("/console/operations")
    assert_error(r, 405, "not allowed")
    assert "GET" in r.headers["Allow"] and "default-src 'none'" in r.headers["Content-Security-Policy"]
    r = browser.client.put("/console/local/buckets", data={"csrf": browser.csrf})
    assert r.status_code == 405 and "<html" in html(r) and r.headers["X-Request-Id"] in html(r)
