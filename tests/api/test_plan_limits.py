"""A plan's limits beyond storage: ``AlertThresholds`` (the percents that alert), ``BandwidthAction`` (what going
over ``BandwidthBytesPerMonth`` does: nothing, alerts, or a website's reads blocked until the month ends) and
``MaxLinkSeconds`` (the longest share link of its tenants) — set, changed with a revision, and acted on."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
from flask import Flask

from s3api.control import quotas
from s3api.db.models import UsageSample
from s3api.provisioning import quota_guard
from tests.api.tenancy_made import make_tenant
from tests.api.test_plans import PLANS, body
from tests.conftest import Client


def test_limits_are_set_shown_and_changed_with_a_revision(client: Client) -> None:
    r = client.post(PLANS, json=body("pro", AlertThresholds=[50, 80], BandwidthAction="block", MaxLinkSeconds=3600))
    assert r.status_code == 201, r.json
    assert (r.json["AlertThresholds"], r.json["BandwidthAction"], r.json["MaxLinkSeconds"]) == ([50, 80], "block", 3600)
    plain = client.post(PLANS, json=body("plain")).json
    assert (plain["AlertThresholds"], plain["BandwidthAction"], plain["MaxLinkSeconds"]) == (None, "alert", None)
    r = client.patch(f"{PLANS}/pro", json={"BandwidthAction": "none", "AlertThresholds": None})
    assert r.status_code == 200, r.json
    [*_, last] = client.get(f"{PLANS}/pro/history").json["Revisions"]
    assert last["Changes"] == {
        "AlertThresholds": {"Old": [50, 80], "New": None},
        "BandwidthAction": {"Old": "block", "New": "none"},
    }


@pytest.mark.parametrize(
    "changes",
    [{"AlertThresholds": [0]}, {"AlertThresholds": [101]}, {"AlertThresholds": []}, {"BandwidthAction": "stop"},
     {"MaxLinkSeconds": 0}, {"MaxLinkSeconds": 604801}, {"MaxLinkSeconds": "60"}],
)  # fmt: skip
def test_bad_limits_are_400_and_make_nothing(client: Client, changes: dict[str, Any]) -> None:
    r = client.post(PLANS, json=body("bad", **changes))
    assert r.status_code == 400, r.json
    assert client.get(f"{PLANS}/bad").status_code == 404


def _plan(app: Flask, name: str, **columns: Any) -> None:
    from s3api.db.models import Plan

    with app.extensions["s3api"].db.write() as session:
        row = session.get(Plan, name)
        for key, value in columns.items():
            setattr(row, key, value)


def _traffic(app: Flask, tenant: str, bucket: str, day: str, down: int) -> None:
    app.extensions["s3api"].usage.put(
        UsageSample(account="local", bucket=bucket, day=day, tenant=tenant, storage_bytes=10, objects=1,
                    by_class="{}", bytes_downloaded=down, bytes_uploaded=0, requests=1, source="listing",
                    traffic_source="cloudfront", as_of=datetime.now(UTC), complete=True, pages=1)
    )  # fmt: skip


def test_the_plans_thresholds_decide_the_tenants_alerts(app: Flask) -> None:
    tenant, _, [bucket] = make_tenant(app, buckets=["thr-data"], plan="thr")
    _plan(app, "thr", quota_bytes=1000, alert_thresholds=json.dumps([50]))
    today = datetime.now(UTC).date()
    app.extensions["s3api"].usage.put(
        UsageSample(account="local", bucket=bucket, day=today.isoformat(), tenant=tenant, storage_bytes=600,
                    objects=1, by_class="{}", source="listing", as_of=datetime.now(UTC), complete=True, pages=1)
    )  # fmt: skip
    rt = app.extensions["s3api"]
    quotas.check_account(rt.aws("local"), quotas.env(rt), today)
    assert [a["Threshold"] for a in quotas.tenant_status(quotas.env(rt), tenant, 1000)["Alerts"]] == [50]


def test_over_the_bandwidth_a_block_plan_denies_the_websites_reads_until_the_month_ends(app: Flask) -> None:
    tenant, _, [site] = make_tenant(app, buckets=["site-bw"], plan="bw")
    _plan(app, "bw", bandwidth_bytes_per_month=1000, bandwidth_action="block")
    rt = app.extensions["s3api"]
    aws, env = rt.aws("local"), quotas.env(rt)
    boto3.client("s3", region_name="us-east-1").put_object(Bucket=site, Key="index.html", Body=b"hi")
    _traffic(app, tenant, site, "2026-11-03", 400)
    quotas.check_account(aws, env, date(2026, 11, 3))
    assert [(a["Kind"], a["Threshold"]) for a in quotas.alerts_shape(env, f"tenant:{tenant}")] == []
    _traffic(app, tenant, site, "2026-11-04", 700)  # 1,100 of 1,000 this month
    quotas.check_account(aws, env, date(2026, 11, 4))
    alerts = quotas.alerts_shape(env, f"tenant:{tenant}")
    assert [(a["Kind"], a["Threshold"]) for a in alerts] == [("bandwidth", 75), ("bandwidth", 90), ("bandwidth", 100)]
    assert quota_guard.is_denied(aws, site, quota_guard.BANDWIDTH_SID)
    assert not quota_guard.is_denied(aws, site)  # writes are not what a bandwidth limit stops
    quotas.check_account(aws, env, date(2026, 12, 1))  # a new month: no traffic yet
    assert not quota_guard.is_denied(aws, site, quota_guard.BANDWIDTH_SID)
    assert quotas.alerts_shape(env, f"tenant:{tenant}") == []


def test_an_alert_plan_never_blocks(app: Flask) -> None:
    tenant, _, [site] = make_tenant(app, buckets=["site-al"], plan="al")
    _plan(app, "al", bandwidth_bytes_per_month=100, bandwidth_action="alert")
    rt = app.extensions["s3api"]
    _traffic(app, tenant, site, "2026-11-04", 500)
    quotas.check_account(rt.aws("local"), quotas.env(rt), date(2026, 11, 4))
    assert [a["Threshold"] for a in quotas.alerts_shape(quotas.env(rt), f"tenant:{tenant}")] == [75, 90, 100]
    assert not quota_guard.is_denied(rt.aws("local"), site, quota_guard.BANDWIDTH_SID)


def test_a_tenants_links_live_at_most_its_plans_max_link_seconds(app: Flask, client: Client) -> None:
    tenant, key, [bucket] = make_tenant(app, buckets=["link-life"], plan="short")
    _plan(app, "short", max_link_seconds=60)
    url = f"/v1/s3/local/buckets/{bucket}/presign"
    r = client.post(url, auth=False, headers={"X-Auth-Token": key}, json={"Key": "a.txt", "ExpiresIn": 120})
    assert r.status_code == 400 and "60" in r.json["message"], r.json
    r = client.post(url, auth=False, headers={"X-Auth-Token": key}, json={"Key": "a.txt", "ExpiresIn": 60})
    assert r.status_code == 200, r.json
    assert client.post(url, json={"Key": "a.txt", "ExpiresIn": 120}).status_code == 200  # an admin: the configured max


def test_a_request_metrics_plan_switches_them_on_and_its_buckets_traffic_is_sampled(
    app: Flask, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from s3api.aws import cloudwatch, s3
    from s3api.control import usage

    tenant, key, _ = make_tenant(app, plan="metered")
    _plan(app, "metered", request_metrics=True)
    switched: list[str] = []
    monkeypatch.setattr(s3, "put_request_metrics", lambda aws, bucket: switched.append(bucket))
    r = client.post("/v1/s3/local/buckets", auth=False, headers={"X-Auth-Token": key},
                    json={"BucketInput": {"Bucket": "metered-data"}})  # fmt: skip
    assert r.status_code == 200, r.json
    assert switched == ["metered-data"]
    assert client.post("/v1/s3/local/buckets", json={"BucketInput": {"Bucket": "admin-data"}}).status_code == 200
    assert switched == ["metered-data"]  # an admin's bucket: no plan, nothing switched on
    asked: list[Any] = []

    def traffic(aws: Any, region: str, buckets: list[str], filter_id: str, start: Any, end: Any) -> dict[str, Any]:
        asked.append((region, buckets, filter_id))
        return {"metered-data": {"BytesDownloaded": 321, "Requests": 4}}

    monkeypatch.setattr(cloudwatch, "bucket_request_traffic", traffic)
    rt = app.extensions["s3api"]
    usage.sample(rt.aws("local"), rt.usage, day="2026-11-05")
    assert asked == [("us-east-1", ["metered-data"], "s3api-traffic")]  # only the metered tenant's bucket
    [row] = rt.usage.series("local", "metered-data", "2026-11-05", "2026-11-05")
    assert (row.bytes_downloaded, row.bytes_uploaded, row.requests, row.traffic_source) == (
        321,
        0,
        4,
        "request-metrics",
    )
    [plain] = rt.usage.series("local", "admin-data", "2026-11-05", "2026-11-05")
    assert plain.traffic_source is None


def test_request_metrics_are_read_in_batches_per_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.stub import ANY, Stubber

    from s3api.aws import cloudwatch
    from s3api.aws.clients import AccountAws
    from tests.aws.test_usage_cloudwatch import DAY0, CwClients
    from tests.conftest import make_settings

    cw = boto3.client("cloudwatch", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    settings = make_settings()
    aws = AccountAws(settings.accounts["local"], CwClients(cw), settings)  # type: ignore[arg-type]
    with Stubber(cw) as stub:
        stub.add_response(
            "get_metric_data",
            {"MetricDataResults": [{"Id": "q0", "Values": [10.0, 5.0]}, {"Id": "q2", "Values": [3.0]}]},
            {"MetricDataQueries": ANY, "StartTime": DAY0, "EndTime": DAY0},
        )
        found = cloudwatch.bucket_request_traffic(aws, "eu-west-1", ["b1"], "s3api-traffic", DAY0, DAY0)
    assert found == {"b1": {"BytesDownloaded": 15, "Requests": 3}}
