"""What console pages cost in AWS calls: the same as the API route each stands for (counted with the fault hook's
probe), and none for the pages that show database state only, so a page that adds calls shows."""

from __future__ import annotations

from collections import Counter

from flask import Flask

from tests import faults
from tests.api.tenancy_made import make_tenant
from tests.conftest import Client
from tests.console.conftest import Browser
from tests.console.test_console import make_bucket, s3


def calls(app: Flask, get: object, path: str) -> Counter[str]:
    with faults.aws_calls(app) as probe:
        r = get(path)  # type: ignore[operator]
        assert r.status_code == 200, (path, r.status_code, r.get_data(as_text=True)[:500])
    return Counter(probe.calls)


def test_a_page_costs_what_its_api_route_costs(app: Flask, browser: Browser, client: Client) -> None:
    tenant, _, _ = make_tenant(app, buckets=["cost-data"])
    bucket = make_bucket(client, "cost-bucket")
    s3().put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    assert client.put(f"/v1/s3/local/buckets/{bucket}/quota", json={"QuotaBytes": 1000}).status_code == 200
    twins = {
        f"/console/tenants/{tenant}": f"/v1/s3/tenants/{tenant}",
        f"/console/local/buckets/{bucket}/usage": f"/v1/s3/local/buckets/{bucket}/usage",
        f"/console/local/buckets/{bucket}/users": f"/v1/s3/local/buckets/{bucket}/users",
    }
    for page, api in twins.items():
        calls(app, browser.get, page)  # warm: the first read of a bucket's tags fills the ownership cache both use
        console, twin = calls(app, browser.get, page), calls(app, client.get, api)
        assert twin and console == twin, (page, console, twin)  # the quota bar of a usage row reads the database only
    assert calls(app, browser.get, "/console/local/buckets") == Counter({"s3:ListBuckets": 1})  # rows load later


def test_database_pages_make_no_aws_call(app: Flask, browser: Browser, client: Client) -> None:
    tenant, _, _ = make_tenant(app, buckets=["cost-data"])
    assert client.post("/v1/s3/local/buckets", json={"BucketInput": {"Bucket": "cost-op"}}).status_code == 200
    plan = client.get("/v1/s3/plans").json["Plans"][0]["Name"]
    pages = ["/console/tenants", "/console/plans", f"/console/plans/{plan}", "/console/orders", "/console/operations"]
    pages += ["/console/keys", "/console/audit", f"/console/tenants/{tenant}/usage"]
    for page in pages:
        assert calls(app, browser.get, page) == Counter(), page
