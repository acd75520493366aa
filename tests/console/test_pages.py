"""The console's share-link, usage and admin pages through the Flask test client: each page, each form's bad
input and CSRF refusal, and a tenant opening another tenant's page (404)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from tests.api.tenancy_made import make_tenant
from tests.conftest import Client
from tests.console.conftest import Browser
from tests.console.test_console import assert_error, html, make_bucket


def assert_named_controls(body: str) -> None:
    """Every visible control has an accessible name (a label, a wrapping label or aria-label)."""
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", body):
        if 'type="hidden"' in tag:
            continue
        named = re.search(r'id="([^"]+)"', tag)
        label = named and f'for="{named.group(1)}"' in body
        assert label or f'<label class="check">{tag}' in body or "aria-label=" in tag, tag


def assert_page(r: Any, *parts: str) -> str:
    assert r.status_code == 200, (r.status_code, html(r)[:2000])
    body = html(r)
    assert '<html lang="en">' in body and '<meta name="viewport"' in body
    for part in parts:
        assert part in body, part
    assert_named_controls(body)
    return body


def presign(client: Client, bucket: str, key: str, share: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Key": key, "Method": "GET", "ExpiresIn": 600}
    if share:
        body["Share"] = share
    r = client.post(f"/v1/s3/local/buckets/{bucket}/presign", json=body)
    assert r.status_code == 200, r.json
    return dict(r.json)


# --- share links ----------------------------------------------------------------------------------------------------


def test_share_links_list_filter_and_revoke_a_link_and_a_share(browser: Browser, client: Client) -> None:
    bucket = make_bucket(client, "links-bucket")
    one = presign(client, bucket, "a.txt")
    presign(client, bucket, "b.txt", share="partners")
    presign(client, bucket, "c.txt", share="partners")
    path = f"/console/local/buckets/{bucket}/links"
    body = assert_page(browser.get(path), "a.txt", "b.txt", "c.txt", "Revoke link", "Revoke share", "Share links")
    assert body.count("Revoke share") == 2
    assert "b.txt" not in html(browser.get(f"{path}?share=default-share-x"))
    only = assert_page(browser.get(f"{path}?share=partners"), "b.txt", "c.txt")
    assert "a.txt" not in only
    r = browser.post(f"{path}/{one['Id']}/revoke")
    assert r.status_code == 303 and "Link+revoked" in r.headers["Location"]
    revoked = assert_page(browser.get(f"{path}?active=false"), "a.txt", "revoked")
    assert "b.txt" not in revoked
    assert "a.txt" not in html(browser.get(f"{path}?active=true"))
    r = browser.post(f"/console/local/buckets/{bucket}/shares/partners/revoke")
    assert r.status_code == 303, html(r)[:2000]
    assert "2+link" in r.headers["Location"]
    assert client.get(f"/v1/s3/local/buckets/{bucket}/links?active=true").json["Links"] == []


def test_share_link_forms_refuse_bad_input_and_csrf(browser: Browser, client: Client) -> None:
    bucket = make_bucket(client, "links-bucket")
    path = f"/console/local/buckets/{bucket}/links"
    assert_error(browser.get(f"{path}?active=maybe"), 400, "active")
    assert_error(browser.get(f"{path}?share=bad%20share"), 400, "Share")
    assert_error(browser.post(f"/console/local/buckets/{bucket}/shares/nope/revoke"), 404, "no share")
    assert_error(browser.post(f"{path}/l-nope/revoke"), 404, "no link")
    link = presign(client, bucket, "a.txt")
    for token in (None, "wrong"):
        data = {} if token is None else {"csrf": token}
        r = browser.client.post(f"{path}/{link['Id']}/revoke", data=data)
        assert_error(r, 403, "CSRF token is missing or wrong")
    assert client.get(f"/v1/s3/local/buckets/{bucket}/links?active=true").json["Links"][0]["Id"] == link["Id"]


def test_a_tenant_sees_its_links_and_not_another_tenants(app: Flask, anonymous: Browser, client: Client) -> None:
    make_tenant(app, buckets=["other-data"])
    _, key, _ = make_tenant(app, buckets=["acme-data"])
    presign(client, "acme-data", "mine.txt")
    other = presign(client, "other-data", "theirs.txt", share="s1")
    assert anonymous.sign_in(key).status_code == 303
    assert_page(anonymous.get("/console/local/buckets/acme-data/links"), "mine.txt")
    assert_error(anonymous.get("/console/local/buckets/other-data/links"), 404, "does not exist")
    assert_error(anonymous.post(f"/console/local/buckets/other-data/links/{other['Id']}/revoke"), 404, "does not exist")
    assert_error(anonymous.post("/console/local/buckets/other-data/shares/s1/revoke"), 404, "does not exist")
    assert client.get("/v1/s3/local/buckets/other-data/links?active=true").json["Links"][0]["Id"] == other["Id"]
