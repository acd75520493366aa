"""The console's share-link, usage and admin pages through the Flask test client: each page, each form's bad
input and CSRF refusal, and a tenant opening another tenant's page (404)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from tests.api.tenancy_made import make_tenant
from tests.conftest import Client
from tests.console.conftest import Browser
from tests.console.test_console import assert_error, html, make_bucket, s3


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


# --- usage over time, quotas --------------------------------------------------------------------------------------


def sample_row(bucket: str, day: str, stored: int, down: int | None = None, tenant: str | None = None) -> Any:
    from datetime import datetime

    from s3api.db.models import UsageSample

    return UsageSample(
        account="local", bucket=bucket, day=day, tenant=tenant, storage_bytes=stored, objects=stored // 10,
        by_class="{}", bytes_downloaded=down, source="listing", traffic_source=None if down is None else "cloudfront",
        as_of=datetime.fromisoformat(f"{day}T03:00:00+00:00"), complete=True, pages=1,
    )  # fmt: skip


def days_ago(n: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC).date() - timedelta(days=n)).isoformat()


def test_charts_geometry() -> None:
    from s3api.console import charts

    chart = charts.usage_chart([{"Day": "a", "StorageBytes": 0}, {"Day": "b", "StorageBytes": 10}])
    assert chart.labels == ("a", "b") and [s.name for s in chart.series] == ["Storage"]
    (first, second) = chart.series[0].points.split()
    assert first.split(",")[1] == f"{chart.base:.1f}" and float(second.split(",")[1]) < chart.base
    both = charts.usage_chart([{"Period": "2026-11", "StorageBytes": 5, "BytesDownloaded": 3}], "Period")
    assert [s.name for s in both.series] == ["Storage", "Downloaded"] and both.series[1].peak == 3
    assert charts.usage_chart([]).empty
    assert charts.quota_percent(50, 100) == 50.0 and charts.quota_percent(500, 100) == 100.0
    assert charts.quota_percent(1, None) is None


def test_a_buckets_usage_chart_quota_bar_and_alerts(app: Flask, browser: Browser, client: Client) -> None:
    bucket = make_bucket(client, "chart-bucket")
    store = app.extensions["s3api"].usage
    for n, stored in ((3, 100), (2, 400), (1, 900)):
        store.put(sample_row(bucket, days_ago(n), stored, down=stored // 2))
    path = f"/console/local/buckets/{bucket}/usage/history"
    body = assert_page(browser.get(path), "<svg", 'role="img"', "<polyline", "Storage", "Downloaded", days_ago(3))
    assert "<meter" not in body  # no quota: no bar
    fragment = html(browser.get(path, headers={"HX-Request": "true"}))
    assert "<svg" in fragment and "<html" not in fragment
    assert f'hx-get="{path}"' in html(browser.get(f"/console/local/buckets/{bucket}"))  # the bucket page loads it
    assert client.put(f"/v1/s3/local/buckets/{bucket}/quota", json={"QuotaBytes": 1000}).status_code == 200
    from s3api.control import quotas

    with app.app_context():
        rt = app.extensions["s3api"]
        quotas.check_account(rt.aws("local"), quotas.env(rt))
    body = assert_page(browser.get(path), "<meter", "of 1000 B", "Alerts", "90%")
    assert 'role="alert"' in body
    only = html(browser.get(f"{path}?from={days_ago(2)}&to={days_ago(2)}"))
    assert days_ago(2) in only and days_ago(3) not in only.split("<details>")[1]


def test_the_bucket_list_row_shows_a_quota_bar_for_a_bucket_with_a_quota(browser: Browser, client: Client) -> None:
    bucket = make_bucket(client, "barred-bucket")
    s3().put_object(Bucket=bucket, Key="a.bin", Body=b"x" * 100)
    row = f"/console/local/buckets/{bucket}/usage"
    cells = html(browser.get(row, headers={"HX-Request": "true"}))
    assert "<meter" not in cells and "none" in cells and cells.count("<td") == 4
    assert client.put(f"/v1/s3/local/buckets/{bucket}/quota", json={"QuotaBytes": 1000}).status_code == 200
    cells = html(browser.get(row, headers={"HX-Request": "true"}))
    assert 'value="10.0"' in cells and "of 1000 B" in cells and f'aria-label="{bucket}: 10.0% of its quota"' in cells
    assert '<th scope="col">Quota</th>' in html(browser.get("/console/local/buckets"))


def test_usage_pages_refuse_bad_input(browser: Browser, client: Client) -> None:
    bucket = make_bucket(client, "chart-bucket")
    path = f"/console/local/buckets/{bucket}/usage/history"
    assert_error(browser.get(f"{path}?from=yesterday"), 400, "Not a valid date")
    assert_error(browser.get(f"{path}?from=2026-02-01&to=2026-01-01"), 400, "after")
    assert_error(browser.get(f"{path}?from=2020-01-01&to=2026-01-01"), 400, "at most")
    assert_error(browser.get("/console/local/buckets/no-such-bucket/usage/history"), 404, "does not exist")
    assert_error(browser.get("/console/usage"), 404, "only a tenant key")
    s3().create_bucket(Bucket="not-ours-bucket")  # not managed: the bucket page's panel says why, no error notice
    r = browser.get("/console/local/buckets/not-ours-bucket/usage/history", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "No usage over time" in html(r) and "HX-Retarget" not in r.headers
    assert browser.get("/console/local/buckets/not-ours-bucket/usage/history").status_code in (403, 404)


def test_a_tenants_usage_page_and_another_tenants_is_404(app: Flask, anonymous: Browser) -> None:
    other, _, _ = make_tenant(app, buckets=["other-data"])
    tenant_id, key, _ = make_tenant(app, buckets=["acme-data"])
    store = app.extensions["s3api"].usage
    store.put(sample_row("acme-data", days_ago(2), 300, tenant=tenant_id))
    store.put(sample_row("acme-data", days_ago(1), 600, tenant=tenant_id))
    assert anonymous.sign_in(key).status_code == 303
    r = anonymous.get("/console/usage")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/console/tenants/{tenant_id}/usage")
    body = assert_page(anonymous.get(f"/console/tenants/{tenant_id}/usage"), "<svg", days_ago(2), "Usage")
    assert 'href="/console/usage"' in body  # in the tenant's navigation
    assert_page(anonymous.get(f"/console/tenants/{tenant_id}/usage?granularity=month"), days_ago(1)[:7])
    assert_error(anonymous.get(f"/console/tenants/{tenant_id}/usage?granularity=week"), 400, "granularity")
    assert_error(anonymous.get(f"/console/tenants/{other}/usage"), 404, "not found")
    assert_error(anonymous.get("/console/local/buckets/other-data/usage/history"), 404, "does not exist")


def test_a_tenants_quota_bar_and_alerts_on_its_pages(app: Flask, browser: Browser, client: Client) -> None:
    """The tenant's plan quota (summed over its buckets' samples) as a bar on the tenant page and the usage page,
    with the standing alerts once the quota check has run; no quota: no bar."""
    tenant_id, key, _ = make_tenant(app, plan="metered", buckets=["metered-data"])
    store = app.extensions["s3api"].usage
    store.put(sample_row("metered-data", days_ago(2), 500, tenant=tenant_id))
    store.put(sample_row("metered-data", days_ago(1), 950, tenant=tenant_id))
    page, usage_page = f"/console/tenants/{tenant_id}", f"/console/tenants/{tenant_id}/usage"
    assert "<meter" not in assert_page(browser.get(page), tenant_id)  # the plan has no quota yet
    assert client.patch("/v1/s3/plans/metered", json={"QuotaBytes": 1000}).status_code == 200
    body = assert_page(browser.get(page), "<meter", "950 B of 1000 B", "(95.0%)")
    assert 'value="95.0"' in body and "Alerts" not in body  # no check has run: nothing crossed yet
    from s3api.control import quotas

    with app.app_context():
        rt = app.extensions["s3api"]
        quotas.check_account(rt.aws("local"), quotas.env(rt))
    for path in (page, usage_page):
        body = assert_page(browser.get(path), "<meter", "950 B of 1000 B", "Alerts", "90% crossed")
        assert "75% crossed" in body and "100% crossed" not in body, path
    tenant = Browser(app.test_client())
    assert tenant.sign_in(key).status_code == 303  # the tenant sees its own bar
    assert_page(tenant.get(usage_page), "<meter", "950 B of 1000 B", "90% crossed")


# --- admin pages: tenants, plans, orders ------------------------------------------------------------------------


def paid_plan(client: Client, name: str = "pro") -> str:
    body = {
        "Name": name, "StorageType": "Standard", "Locations": ["local"], "QuotaBytes": 1000,
        "Prices": [{"Location": "local", "Currency": "EUR", "Monthly": "9.90"}],
    }  # fmt: skip
    r = client.post("/v1/s3/plans", json=body)
    assert r.status_code == 201, r.json
    return name


def test_tenants_list_filters_and_order_by(app: Flask, browser: Browser) -> None:
    first, _, _ = make_tenant(app, buckets=["first-data"], email="first@example.test")
    second, _, _ = make_tenant(app, buckets=["second-data"], email="second@example.test")
    body = assert_page(browser.get("/console/tenants"), first, second, "Order by", 'href="/console/tenants"')
    assert body.index(second) < body.index(first)  # newest first by default
    oldest = html(browser.get("/console/tenants?order_by=CreatedAt"))
    assert oldest.index(first) < oldest.index(second)
    only = html(browser.get("/console/tenants?email=second@example.test"))
    assert second in only and first not in only
    assert first in html(browser.get("/console/tenants?bucket=first-data"))
    assert first not in html(browser.get("/console/tenants?status=suspended"))
    assert_page(browser.get("/console/tenants?order_by=-StoragePeakBytesThisPeriod"), first)
    assert_error(browser.get("/console/tenants?order_by=Name"), 400, "order_by")
    assert_error(browser.get("/console/tenants?status=sleeping"), 400, "status")


def test_a_tenants_page_suspend_resume_and_bad_input(app: Flask, browser: Browser, client: Client) -> None:
    tenant_id, _, _ = make_tenant(app, buckets=["acme-data"])
    path = f"/console/tenants/{tenant_id}"
    assert_page(browser.get(path), "starter", "active", "acme-data", "Suspend", "Delete tenant", "Reason")
    r = browser.post(f"{path}/suspend")
    assert r.status_code == 303, html(r)[:2000]
    assert client.get(f"/v1/s3/tenants/{tenant_id}").json["Status"] == "suspended"
    assert_page(browser.get(path), "Resume")
    assert browser.post(f"{path}/resume").status_code == 303
    assert client.get(f"/v1/s3/tenants/{tenant_id}").json["Status"] == "active"
    assert_error(browser.post(f"{path}/delete", {"reason": "", "confirm": tenant_id}), 400, "reason")
    assert_error(browser.post(f"{path}/delete", {"reason": "x" * 600, "confirm": tenant_id}), 400, "Reason")
    assert_error(browser.post(f"{path}/delete", {"reason": "gone", "confirm": "nope"}), 400, "confirm")
    assert_error(browser.post(f"{path}/cancel-deletion"), 409, "no deletion to cancel")
    for form in ("suspend", "resume", "delete", "cancel-deletion"):
        assert_error(browser.client.post(f"{path}/{form}", data={"reason": "r", "confirm": tenant_id}), 403, "CSRF")
    assert client.get(f"/v1/s3/tenants/{tenant_id}").json["Status"] == "active"
    assert_error(browser.get("/console/tenants/t-0000000000000000"), 404, "not found")


def test_a_paid_tenants_deletion_is_scheduled_then_canceled(app: Flask, browser: Browser, client: Client) -> None:
    from datetime import UTC, datetime, timedelta

    from s3api.db.tenants import TenantStore

    tenant_id, _, _ = make_tenant(app, buckets=["paid-data"], plan=paid_plan(client))
    TenantStore(app.extensions["s3api"].db).update(tenant_id, next_charge_at=datetime.now(UTC) + timedelta(days=9))
    path = f"/console/tenants/{tenant_id}"
    r = browser.post(f"{path}/delete", {"reason": "customer asked", "confirm": tenant_id})
    assert r.status_code == 303 and "Deletion+scheduled" in r.headers["Location"], html(r)[:2000]
    shown = client.get(f"/v1/s3/tenants/{tenant_id}").json
    assert shown["Status"] == "cancelling" and shown["CancelAt"]
    assert_page(browser.get(path), "Cancel the deletion", shown["CancelAt"])
    assert browser.post(f"{path}/cancel-deletion").status_code == 303
    assert client.get(f"/v1/s3/tenants/{tenant_id}").json["Status"] == "active"
    events = client.get("/v1/s3/audit?action=console.tenant.delete").json["Events"]
    assert events and events[0]["CallerName"]


def test_a_free_tenants_deletion_terminates_it_now(app: Flask, browser: Browser) -> None:
    tenant_id, _, _ = make_tenant(app, buckets=["free-data"])
    r = browser.post(f"/console/tenants/{tenant_id}/delete", {"reason": "test over", "confirm": tenant_id})
    assert r.status_code == 303 and "/console/operations/" in r.headers["Location"], html(r)[:2000]


def test_plans_list_and_a_plans_history(browser: Browser, client: Client) -> None:
    paid_plan(client, "pro")
    assert client.patch("/v1/s3/plans/pro", json={"QuotaBytes": 2000}).status_code == 200
    assert_page(browser.get("/console/plans"), "pro", "9.90 EUR", 'href="/console/plans/pro"')
    assert "pro" not in html(browser.get("/console/plans?active=false")).split("<tbody>")[1]
    body = assert_page(browser.get("/console/plans/pro"), "revision 2", "QuotaBytes", "1000", "2000")
    assert body.index("<td>1</td>") < body.index("<td>2</td>")
    assert_error(browser.get("/console/plans?active=maybe"), 400, "active")
    assert_error(browser.get("/console/plans/no-such-plan"), 404, "not found")


def test_orders_list_and_filters(browser: Browser, client: Client) -> None:
    assert_page(browser.get("/console/orders"), "No orders", "Filter")
    assert_error(browser.get("/console/orders?status=lost"), 400, "status")
    assert_error(browser.get("/console/orders?tenant=nobody"), 400, "tenant")


def test_a_tenant_key_sees_its_own_tenant_page_only_and_no_admin_pages(app: Flask, anonymous: Browser) -> None:
    other, _, _ = make_tenant(app, buckets=["other-data"])
    tenant_id, key, _ = make_tenant(app, buckets=["acme-data"])
    assert anonymous.sign_in(key).status_code == 303
    body = assert_page(anonymous.get(f"/console/tenants/{tenant_id}"), "acme-data")
    assert "Suspend" not in body and "Delete tenant" not in body
    assert_error(anonymous.get(f"/console/tenants/{other}"), 404, "not found")
    for path in ("/console/tenants", "/console/orders"):
        assert_error(anonymous.get(path), 403, "the tenant role may not")
    assert_page(anonymous.get("/console/plans/starter"), "starter")  # plans are open to tenants, as on the API
    for form in ("suspend", "resume", "delete", "cancel-deletion"):
        r = anonymous.post(f"/console/tenants/{tenant_id}/{form}", {"reason": "r", "confirm": tenant_id})
        assert_error(r, 403, "the tenant role may not")


def test_a_suspended_tenant_lands_on_its_tenant_page(app: Flask, anonymous: Browser, client: Client) -> None:
    tenant_id, key, _ = make_tenant(app, buckets=["acme-data"])
    assert client.post(f"/v1/s3/tenants/{tenant_id}/suspend").status_code == 200
    assert anonymous.sign_in(key).status_code == 303
    r = anonymous.get("/console/")
    assert r.status_code == 303 and r.headers["Location"].startswith(f"/console/tenants/{tenant_id}")
    assert_page(anonymous.get(f"/console/tenants/{tenant_id}"), "suspended")
    assert_error(anonymous.get("/console/local/buckets"), 403, "the tenant is suspended")
