"""Usage history: the daily sample (periodic task ``usage_sample``) and
``GET /v1/s3/{account}/buckets/{bucket}/usage/history`` — on SQLite and PostgreSQL.

The sample is a listing (the embedded emulator's CloudWatch figures are wrong): its counts by storage class are
checked against what was written, a listing cut short by the run's page budget goes on in the next run, a
finished day costs no listing, and the owner tag is kept on the sample.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from s3api.control import usage
from s3api.errors import BadRequest
from s3api.provisioning import periodic
from tests.api.test_reads import Calls
from tests.conftest import Client

BUCKETS = "/v1/s3/local/buckets"


def make(client: Client, name: str) -> None:
    r = client.post(BUCKETS, json={"BucketInput": {"Bucket": name}})
    assert r.status_code == 200, r.json


def history(client: Client, bucket: str, **query: str) -> Any:
    return client.get(f"{BUCKETS}/{bucket}/usage/history", query_string=query)


def runtime(app: Any) -> Any:
    return app.extensions["s3api"]


def run(app: Any, **kw: Any) -> int:
    rt = runtime(app)
    return usage.sample(rt.aws("local"), rt.usage, **kw)


@pytest.fixture
def calls(db_app: Any) -> Any:
    recorder = Calls()
    clients = runtime(db_app).clients
    clients.add_hook("before-call", recorder)
    yield recorder
    clients.remove_hook("before-call", recorder)


def test_a_day_sampled_by_storage_class_and_shown(db_app: Any, db_client: Client) -> None:
    make(db_client, "photos-data")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket="photos-data", Key="a.jpg", Body=b"x" * 100)
    s3.put_object(Bucket="photos-data", Key="b/c.jpg", Body=b"y" * 50)
    s3.put_object(Bucket="photos-data", Key="cold.bin", Body=b"z" * 7, StorageClass="STANDARD_IA")
    assert run(db_app) == 1
    r = history(db_client, "photos-data")
    assert r.status_code == 200, r.json
    today = datetime.now(UTC).date()
    assert r.json["To"] == today.isoformat() and r.json["From"] == (today - timedelta(days=29)).isoformat()
    [day] = r.json["Samples"]
    assert day["Day"] == today.isoformat() and day["Source"] == "listing" and day["Complete"] is True
    assert day["StorageBytes"] == 157 and day["Objects"] == 3
    assert day["ByStorageClass"] == {
        "STANDARD": {"Objects": 2, "Bytes": 150},
        "STANDARD_IA": {"Objects": 1, "Bytes": 7},
    }
    assert day["BytesDownloaded"] is None and day["AsOf"].endswith("Z")


def test_a_finished_day_is_not_listed_again(db_app: Any, db_client: Client, calls: Any) -> None:
    make(db_client, "once-data")
    assert run(db_app) == 1
    calls.names.clear()
    assert run(db_app) == 0
    assert "ListObjectsV2" not in calls.names and "GetBucketTagging" not in calls.names
    assert sorted(set(calls.names)) == ["ListBuckets", "ListGroups"]


def test_a_listing_cut_short_goes_on_next_run_and_small_buckets_are_not_held_up(db_app: Any, db_client: Client) -> None:
    make(db_client, "a-small")
    make(db_client, "b-large")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket="a-small", Key="k", Body=b"1")
    for i in range(2001):
        s3.put_object(Bucket="b-large", Key=f"k{i:05d}", Body=b"ab")
    assert run(db_app, budget=1) == 1  # a-small done, b-large opened (owner read) but not listed yet
    [opened] = history(db_client, "b-large").json["Samples"]
    assert (opened["Complete"], opened["Objects"], opened["StorageBytes"]) == (False, 0, 0)
    assert run(db_app, budget=1) == 0
    [partial] = history(db_client, "b-large").json["Samples"]
    assert partial["Complete"] is False and partial["Objects"] == 1000
    assert run(db_app, budget=1) == 0
    assert run(db_app, budget=1) == 1
    [done] = history(db_client, "b-large").json["Samples"]
    assert done["Complete"] is True and done["Objects"] == 2001 and done["StorageBytes"] == 4002
    assert history(db_client, "a-small").json["Samples"][0]["Objects"] == 1


def test_the_owner_is_kept_and_days_are_a_series(db_app: Any, db_client: Client) -> None:
    make(db_client, "owned-data")
    s3 = boto3.client("s3", region_name="us-east-1")
    tags = s3.get_bucket_tagging(Bucket="owned-data")["TagSet"]
    s3.put_bucket_tagging(
        Bucket="owned-data", Tagging={"TagSet": [*tags, {"Key": "s3api:tenant", "Value": "t-0123456789abcdef"}]}
    )
    rt = runtime(db_app)
    for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
        assert run(db_app, day=day) == 1
    samples = history(db_client, "owned-data", **{"from": "2026-11-02", "to": "2026-11-30"}).json["Samples"]
    assert [s["Day"] for s in samples] == ["2026-11-02", "2026-11-03"]
    rows = rt.usage.tenant_series("t-0123456789abcdef", "2026-11-01", "2026-11-30")
    assert [(r.bucket, r.day) for r in rows] == [("owned-data", d) for d in ("2026-11-01", "2026-11-02", "2026-11-03")]


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-11-05", "to": "2026-11-01"},
        {"from": "yesterday"},
        {"to": "2026-13-01"},
        {"from": "2024-01-01", "to": "2026-01-01"},
        {"granularity": "day"},
    ],
)
def test_bad_ranges_are_400_in_the_envelope(client: Client, query: dict[str, str]) -> None:
    make(client, "range-data")
    r = history(client, "range-data", **query)
    assert r.status_code == 400, r.json
    assert r.json["code"] and r.json["message"] and r.json["status"] == 400


def test_an_unknown_bucket_is_404(client: Client) -> None:
    assert history(client, "no-such-bucket").status_code == 404


def test_the_periodic_task_is_registered(client: Client) -> None:
    assert "usage_sample" in periodic.load_tasks()


def sample_row(bucket: str, day: str, stored: int, down: int | None = None, complete: bool = True) -> Any:
    from s3api.db.models import UsageSample

    return UsageSample(
        account="local",
        bucket=bucket,
        day=day,
        tenant="t-00000000000000aa",
        storage_bytes=stored,
        objects=stored // 10,
        by_class="{}",
        bytes_downloaded=down,
        source="listing",
        traffic_source=None if down is None else "cloudfront",
        as_of=datetime.fromisoformat(f"{day}T03:00:00+00:00"),
        complete=complete,
        pages=1,
    )


def test_a_tenants_series_sums_its_buckets_per_day_and_month(db_app: Any) -> None:
    store = runtime(db_app).usage
    for row in (
        sample_row("one", "2026-10-31", 500, 10),
        sample_row("one", "2026-11-01", 100, 5),
        sample_row("two", "2026-11-01", 300),
        sample_row("one", "2026-11-02", 200, 7),
        sample_row("two", "2026-11-02", 50, None, complete=False),
    ):
        store.put(row)
    days = usage.tenant_history(store, "t-00000000000000aa", date(2026, 11, 1), date(2026, 11, 30), "day")["Series"]
    assert [(d["Period"], d["StorageBytes"], d["BytesDownloaded"], d["Complete"]) for d in days] == [
        ("2026-11-01", 400, 5, True),
        ("2026-11-02", 250, 7, False),
    ]
    months = usage.tenant_history(store, "t-00000000000000aa", date(2026, 10, 1), date(2026, 11, 30), "month")
    assert [(m["Period"], m["StorageBytes"], m["BytesDownloaded"], m["Days"]) for m in months["Series"]] == [
        ("2026-10", 500, 10, 1),
        ("2026-11", 400, 12, 2),  # storage: the peak of the daily totals; traffic: the sum
    ]
    rows = store.tenant_series("t-00000000000000aa", "2026-11-01", "2026-11-30")
    assert usage.metering(rows, date(2026, 11, 15)) == {
        "TrafficBytesThisPeriod": 12,
        "StoragePeakBytesThisPeriod": 400,
        "AsOf": "2026-11-02T03:00:00Z",
    }
    assert usage.metering(rows, date(2026, 12, 1))["AsOf"] is None
    with pytest.raises(BadRequest):
        usage.tenant_history(store, "t-00000000000000aa", None, None, "week")


def test_a_cloudwatch_account_takes_the_metrics_and_lists_what_has_none(
    seed: dict[str, str], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from s3api import create_app
    from s3api.aws import cloudwatch
    from s3api.config import DatabaseSettings
    from s3api.db import migrate
    from tests.conftest import make_settings

    database = DatabaseSettings(url=f"sqlite:///{tmp_path}/s3api.db", data_dir=str(tmp_path))
    migrate.upgrade(database)
    app = create_app(make_settings(seed, usage_source="cloudwatch").with_overrides(database=database))
    client = Client(app.test_client())
    make(client, "metered-data")
    make(client, "young-data")
    boto3.client("s3", region_name="us-east-1").put_object(Bucket="young-data", Key="k", Body=b"abc")
    asked: list[tuple[str, list[str]]] = []
    stamp = datetime(2026, 12, 3, tzinfo=UTC)

    def metrics(aws: Any, region: str, buckets: list[str], now: Any = None) -> dict[str, Any]:
        asked.append((region, sorted(buckets)))
        return {"metered-data": {"Bytes": 9000, "Objects": 3, "ByStorageClass": {"STANDARD": 9000}, "AsOf": stamp}}

    monkeypatch.setattr(cloudwatch, "storage_of_buckets", metrics)
    assert run(app) == 2
    assert asked == [("us-east-1", ["metered-data", "young-data"])]  # one batch for the region
    [metered] = history(client, "metered-data").json["Samples"]
    assert (metered["Source"], metered["StorageBytes"], metered["AsOf"]) == ("cloudwatch", 9000, "2026-12-03T00:00:00Z")
    [young] = history(client, "young-data").json["Samples"]
    assert (young["Source"], young["StorageBytes"], young["Complete"]) == ("listing", 3, True)


def test_a_websites_traffic_is_yesterdays_cloudfront_figures(
    db_app: Any, db_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from s3api.aws import cloudwatch

    make(db_client, "site-data")
    make(db_client, "plain-data")
    s3 = boto3.client("s3", region_name="us-east-1")
    tags = s3.get_bucket_tagging(Bucket="site-data")["TagSet"]
    s3.put_bucket_tagging(Bucket="site-data", Tagging={"TagSet": [*tags, {"Key": "s3api:distribution", "Value": "E1"}]})
    asked: list[Any] = []

    def traffic(aws: Any, dists: list[str], start: datetime, end: datetime) -> dict[str, Any]:
        asked.append((dists, start, end))
        return {"E1": {"BytesDownloaded": 5000, "Requests": 7}}

    monkeypatch.setattr(cloudwatch, "distribution_traffic", traffic)
    assert run(db_app, day="2026-11-10") == 2
    assert asked == [(["E1"], datetime(2026, 11, 9, tzinfo=UTC), datetime(2026, 11, 10, tzinfo=UTC))]
    [site] = history(db_client, "site-data", **{"from": "2026-11-10", "to": "2026-11-10"}).json["Samples"]
    assert (site["BytesDownloaded"], site["BytesUploaded"], site["Requests"], site["TrafficSource"]) == (
        5000,
        0,
        7,
        "cloudfront",
    )
    [plain] = history(db_client, "plain-data", **{"from": "2026-11-10", "to": "2026-11-10"}).json["Samples"]
    assert plain["BytesDownloaded"] is None and plain["TrafficSource"] is None  # no traffic source for it
    rows = runtime(db_app).usage.series("local", "site-data", "2026-11-01", "2026-11-30")
    assert usage.metering(rows, date(2026, 11, 20))["TrafficBytesThisPeriod"] == 5000


def test_the_buckets_usage_answer_carries_this_months_metering(db_app: Any, db_client: Client) -> None:
    make(db_client, "meter-data")
    boto3.client("s3", region_name="us-east-1").put_object(Bucket="meter-data", Key="k", Body=b"x" * 42)
    assert db_client.get(f"{BUCKETS}/meter-data/usage").json["Metering"] == {
        "TrafficBytesThisPeriod": 0,
        "StoragePeakBytesThisPeriod": 0,
        "AsOf": None,
    }
    run(db_app)
    r = db_client.get(f"{BUCKETS}/meter-data/usage")
    assert r.json["Bytes"] == 42 and r.json["Metering"]["StoragePeakBytesThisPeriod"] == 42
    assert r.json["Metering"]["AsOf"].endswith("Z")
