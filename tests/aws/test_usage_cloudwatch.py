"""Usage from S3's daily storage metrics (``usage_source: cloudwatch``), proven with recorded responses
(botocore's Stubber: the exact calls, parameters included). moto's BucketSizeBytes is wrong and GetMetricData sees
nothing, so this path cannot run against the emulator.

The cost is flat per bucket: one ListMetrics page per 500 series and one GetMetricData per 500 queries, whatever
the number of buckets asked for.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from s3api.aws import cloudwatch
from s3api.aws.clients import AccountAws
from tests.conftest import make_settings

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
DAY0 = datetime(2026, 12, 3, 0, 0, tzinfo=UTC)


class CwClients:
    def __init__(self, cw: Any) -> None:
        self.cw = cw

    def get(self, account: Any, service: str, region: str | None = None) -> Any:
        assert service == "cloudwatch" and region == "eu-west-1", f"unexpected {service} in {region}"
        return self.cw


@pytest.fixture
def stub() -> Any:
    cw = boto3.client("cloudwatch", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(cw) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def aws(stub: Any) -> AccountAws:
    settings = make_settings()
    return AccountAws(settings.accounts["local"], CwClients(stub.client), settings)  # type: ignore[arg-type]


def metric(bucket: str, storage_type: str) -> dict[str, Any]:
    return {
        "Namespace": "AWS/S3",
        "MetricName": "BucketSizeBytes",
        "Dimensions": [{"Name": "BucketName", "Value": bucket}, {"Name": "StorageType", "Value": storage_type}],
    }


def test_many_buckets_in_one_listing_and_one_batch(stub: Any, aws: AccountAws) -> None:
    stub.add_response(
        "list_metrics",
        {
            "Metrics": [
                metric("alpha", "StandardStorage"),
                metric("alpha", "GlacierStorage"),
                metric("beta", "StandardStorage"),
                metric("someone-elses", "StandardStorage"),  # not asked for: no query
            ]
        },
        {"Namespace": "AWS/S3", "MetricName": "BucketSizeBytes"},
    )

    stub.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {"Id": "s0", "Timestamps": [DAY0, DAY0 - timedelta(days=1)], "Values": [70.0, 1.0]},  # alpha glacier
                {"Id": "s1", "Timestamps": [DAY0], "Values": [1000.0]},  # alpha standard
                {"Id": "s2", "Timestamps": [DAY0], "Values": [5.0]},  # beta standard
                {"Id": "n3", "Timestamps": [DAY0], "Values": [12.0]},  # alpha objects
                {"Id": "n4", "Timestamps": [DAY0], "Values": [1.0]},  # beta objects
                {"Id": "n5", "Timestamps": [], "Values": []},  # gamma: too young, no datapoint
            ]
        },
        {
            "MetricDataQueries": ANY,
            "StartTime": NOW - timedelta(days=2),
            "EndTime": NOW,
            "ScanBy": "TimestampDescending",
        },
    )
    found = cloudwatch.storage_of_buckets(aws, "eu-west-1", ["beta", "alpha", "gamma"], NOW)
    assert found == {
        "alpha": {"Bytes": 1070, "Objects": 12, "ByStorageClass": {"GLACIER": 70, "STANDARD": 1000}, "AsOf": DAY0},
        "beta": {"Bytes": 5, "Objects": 1, "ByStorageClass": {"STANDARD": 5}, "AsOf": DAY0},
    }


def test_queries_go_in_batches_of_500(stub: Any, aws: AccountAws) -> None:
    buckets = [f"b{i:04d}" for i in range(300)]
    stub.add_response(
        "list_metrics",
        {"Metrics": [metric(b, "StandardStorage") for b in buckets]},
        {"Namespace": "AWS/S3", "MetricName": "BucketSizeBytes"},
    )
    sizes: list[int] = []
    for _ in range(2):  # 600 queries: 300 sizes + 300 counts
        stub.add_response("get_metric_data", {"MetricDataResults": []}, None)
    original = stub.client.get_metric_data

    def spy(**kwargs: Any) -> Any:
        sizes.append(len(kwargs["MetricDataQueries"]))
        return original(**kwargs)

    stub.client.get_metric_data = spy
    assert cloudwatch.storage_of_buckets(aws, "eu-west-1", buckets, NOW) == {}
    assert sizes == [500, 100]


class UsEast1:
    def __init__(self, cw: Any) -> None:
        self.cw = cw

    def get(self, account: Any, service: str, region: str | None = None) -> Any:
        assert service == "cloudwatch" and region == "us-east-1", "CloudFront's metrics are in us-east-1 only"
        return self.cw


def test_cloudfront_traffic_summed_per_distribution_in_us_east_1() -> None:
    cw = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    settings = make_settings()
    aws = AccountAws(settings.accounts["local"], UsEast1(cw), settings)  # type: ignore[arg-type]
    start, end = DAY0 - timedelta(days=1), DAY0
    with Stubber(cw) as stub:
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "q0", "Values": [100.0, 50.0]},  # E1 BytesDownloaded
                    {"Id": "q1", "Values": [3.0]},  # E1 BytesUploaded
                    {"Id": "q2", "Values": [9.0]},  # E1 Requests
                    {"Id": "q3", "Values": []},  # E2: no traffic
                    {"Id": "q4", "Values": []},
                    {"Id": "q5", "Values": []},
                ],
                "NextToken": "more",
            },
            {"MetricDataQueries": ANY, "StartTime": start, "EndTime": end},
        )
        stub.add_response(
            "get_metric_data",
            {"MetricDataResults": [{"Id": "q0", "Values": [1.0]}]},
            {"MetricDataQueries": ANY, "StartTime": start, "EndTime": end, "NextToken": "more"},
        )
        found = cloudwatch.distribution_traffic(aws, ["E1", "E2"], start, end)
        stub.assert_no_pending_responses()
    assert found["E1"] == {"BytesDownloaded": 151, "BytesUploaded": 3, "Requests": 9}
    assert found["E2"] == {"BytesDownloaded": 0, "BytesUploaded": 0, "Requests": 0}
