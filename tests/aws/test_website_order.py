"""CloudFront's rules for websites, proven with botocore's Stubber: moto deletes enabled distributions and
ignores ``IfMatch``, so only a Stubber queue (exact calls, parameters included) shows that a distribution is
disabled with the ETag of the config just read, that a request never deletes one, and that the sweeper deletes
only disabled, deployed ones, with the ETag.

Other services run on mock_aws; the Stubber sits on the app's cached CloudFront client.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import ANY, Stubber
from flask import Flask

from s3api.aws import cloudfront
from s3api.aws.clients import AccountAws
from s3api.errors import Conflict
from s3api.provisioning import websites
from tests.conftest import Client

SITE = "www.example.test"
T0 = datetime(2030, 1, 1, tzinfo=UTC)
ORG = {"Key": "s3api:org", "Value": "test"}


@pytest.fixture
def account(app: Flask) -> AccountAws:
    runtime = app.extensions["s3api"]
    return runtime.aws("local")  # type: ignore[no-any-return]


@pytest.fixture
def stub(account: AccountAws) -> Iterator[Stubber]:
    with Stubber(account.cloudfront) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def moto_distribution(enabled: bool = True) -> dict[str, Any]:
    """A real (moto-made) Distribution, completed with what the output shape requires."""
    cf = boto3.client("cloudfront", region_name="us-east-1")
    site = websites.Site(SITE, "example.test", "Z1", "arn:aws:acm:us-east-1:123456789012:certificate/c")
    region_only = SimpleNamespace(account=SimpleNamespace(region="us-east-1"))
    config = websites.distribution_config(region_only, site, None)  # type: ignore[arg-type]
    config["Enabled"] = enabled
    dist = cf.create_distribution(DistributionConfig=config)["Distribution"]
    config = cf.get_distribution_config(Id=dist["Id"])["DistributionConfig"]
    for origin in config["Origins"]["Items"]:  # as AWS answers it: no empty OriginSslProtocols
        if not origin.get("CustomOriginConfig", {}).get("OriginSslProtocols", {}).get("Items", True):
            del origin["CustomOriginConfig"]["OriginSslProtocols"]
    dist["DistributionConfig"] = config
    return dict(dist)


def config_of(dist: dict[str, Any], enabled: bool) -> dict[str, Any]:
    config = copy.deepcopy(dist["DistributionConfig"])
    config["Enabled"] = enabled
    return config


# --- disable ---------------------------------------------------------------------------------------------------


def test_disable_sends_the_etag_it_read_and_never_deletes(aws, account, stub):
    dist = moto_distribution()
    stub.add_response(
        "get_distribution_config", {"DistributionConfig": config_of(dist, True), "ETag": "E1"}, {"Id": dist["Id"]}
    )
    disabled = {**dist, "DistributionConfig": config_of(dist, False), "Status": "InProgress"}
    stub.add_response(
        "update_distribution",
        {"Distribution": disabled, "ETag": "E2"},
        {"Id": dist["Id"], "IfMatch": "E1", "DistributionConfig": config_of(dist, False)},
    )
    result = cloudfront.disable_distribution(account, dist["Id"])
    assert result is not None and result["DistributionConfig"]["Enabled"] is False


def test_disable_reads_again_after_a_concurrent_change(aws, account, stub):
    dist = moto_distribution()
    expected = {"Id": dist["Id"], "IfMatch": "E1", "DistributionConfig": config_of(dist, False)}
    stub.add_response("get_distribution_config", {"DistributionConfig": config_of(dist, True), "ETag": "E1"})
    stub.add_client_error("update_distribution", "PreconditionFailed", http_status_code=412, expected_params=expected)
    stub.add_response("get_distribution_config", {"DistributionConfig": config_of(dist, True), "ETag": "E3"})
    stub.add_response(
        "update_distribution",
        {"Distribution": {**dist, "DistributionConfig": config_of(dist, False)}},
        {**expected, "IfMatch": "E3"},
    )
    assert cloudfront.disable_distribution(account, dist["Id"]) is not None


def test_disable_of_a_disabled_or_missing_distribution_changes_nothing(aws, account, stub):
    dist = moto_distribution(enabled=False)
    stub.add_response("get_distribution_config", {"DistributionConfig": config_of(dist, False), "ETag": "E1"})
    stub.add_response("get_distribution", {"Distribution": dist, "ETag": "E1"}, {"Id": dist["Id"]})
    stub.add_client_error("get_distribution_config", "NoSuchDistribution", http_status_code=404)
    assert cloudfront.disable_distribution(account, dist["Id"]) == dist
    assert cloudfront.disable_distribution(account, "GONE") is None


def test_disable_copes_with_moto_origin_ssl_protocols_without_items(aws, account):
    """moto's GetDistributionConfig may answer OriginSslProtocols without Items; botocore refuses to send that
    back in UpdateDistribution. The disable path drops the (optional) field and botocore accepts the result.

    botocore's own hooks stand in for the backend here (a Stubber would refuse the malformed answer itself)."""
    dist = moto_distribution()
    raw = config_of(dist, True)
    raw["Origins"]["Items"][0]["CustomOriginConfig"]["OriginSslProtocols"] = {"Quantity": 0}  # no Items
    client = account.cloudfront
    sent: list[dict[str, Any]] = []
    http = SimpleNamespace(status_code=200, headers={})
    answers = {
        "GetDistributionConfig": {"DistributionConfig": raw, "ETag": "E1"},
        "UpdateDistribution": {"Distribution": {**dist, "DistributionConfig": config_of(dist, False)}},
    }

    def answer(model: Any, **_: Any) -> Any:
        return (http, answers[model.name])

    def capture(params: Any, model: Any, **_: Any) -> None:
        if model.name == "UpdateDistribution":
            sent.append(copy.deepcopy(params))

    events = [
        ("before-call.cloudfront.GetDistributionConfig", answer),
        ("before-call.cloudfront.UpdateDistribution", answer),
        ("before-parameter-build.cloudfront.UpdateDistribution", capture),
    ]
    for event, handler in events:
        client.meta.events.register(event, handler)
    try:
        with pytest.raises(ParamValidationError):  # what happens without the repair
            client.update_distribution(Id=dist["Id"], IfMatch="E1", DistributionConfig={**raw, "Enabled": False})
        sent.clear()
        assert cloudfront.disable_distribution(account, dist["Id"]) is not None
    finally:
        for event, handler in events:
            client.meta.events.unregister(event, handler)
    (params,) = sent
    assert params["IfMatch"] == "E1" and params["DistributionConfig"]["Enabled"] is False
    assert "OriginSslProtocols" not in params["DistributionConfig"]["Origins"]["Items"][0]["CustomOriginConfig"]


def test_sendable_config_keeps_real_protocols():
    config = {
        "Origins": {"Items": [{"CustomOriginConfig": {"OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]}}}]}
    }
    assert cloudfront.sendable_config(config) == config


# --- delete ------------------------------------------------------------------------------------------------------


def test_delete_refuses_an_enabled_distribution(aws, account, stub):
    dist = moto_distribution()
    stub.add_response("get_distribution_config", {"DistributionConfig": config_of(dist, True), "ETag": "E1"})
    with pytest.raises(Conflict):
        cloudfront.delete_distribution(account, dist["Id"])  # no DeleteDistribution queued: none may be sent


def test_delete_sends_the_etag_of_the_disabled_config(aws, account, stub):
    dist = moto_distribution(enabled=False)
    stub.add_response("get_distribution_config", {"DistributionConfig": config_of(dist, False), "ETag": "E5"})
    stub.add_response("delete_distribution", {}, {"Id": dist["Id"], "IfMatch": "E5"})
    assert cloudfront.delete_distribution(account, dist["Id"]) is True


def test_website_delete_disables_with_the_etag_and_never_deletes(client: Client, account, app):
    """The whole DELETE route: after the DNS records, CloudFront sees exactly GetDistribution (found by the
    bucket's tag), GetDistributionConfig, UpdateDistribution(Enabled=false, IfMatch=<that ETag>); never
    DeleteDistribution (the sweeper's job, once deployed)."""
    made = client.post("/v1/s3/local/websites", json={"BucketInput": {"Bucket": SITE}})
    assert made.status_code == 200, made.json
    dist_id = made.json["Distribution"]["Id"]
    cf = boto3.client("cloudfront", region_name="us-east-1")
    dist = cf.get_distribution(Id=dist_id)["Distribution"]
    order: list[str] = []
    hook = lambda model, **_: order.append(model.name)  # noqa: E731
    app.extensions["s3api"].clients.add_hook("before-parameter-build", hook)  # runs for stubbed calls too
    with Stubber(account.cloudfront) as stub:
        stub.add_response("get_distribution", {"Distribution": dist, "ETag": "E7"}, {"Id": dist_id})
        stub.add_response("get_distribution_config", {"DistributionConfig": config_of(dist, True), "ETag": "E8"})
        stub.add_response(
            "update_distribution",
            {"Distribution": {**dist, "DistributionConfig": config_of(dist, False)}},
            {"Id": dist_id, "IfMatch": "E8", "DistributionConfig": config_of(dist, False)},
        )
        r = client.delete(f"/v1/s3/local/websites/{SITE}")
        assert r.status_code == 200, r.json
        stub.assert_no_pending_responses()
    assert order.index("ChangeResourceRecordSets") < order.index("UpdateDistribution") < order.index("DeleteBucket")


# --- sweeper -----------------------------------------------------------------------------------------------------


def summary(dist: dict[str, Any], enabled: bool, status: str) -> dict[str, Any]:
    config = {k: v for k, v in dist["DistributionConfig"].items() if k not in ("CallerReference", "DefaultRootObject")}
    config.pop("Logging", None)
    config.setdefault("Restrictions", {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}})
    config.setdefault("WebACLId", "")
    return {
        "Id": dist["Id"],
        "ARN": dist["ARN"],
        "Status": status,
        "LastModifiedTime": T0,
        "DomainName": dist["DomainName"],
        "Staging": False,
        **config,
        "Enabled": enabled,
    }


def test_sweeper_deletes_only_disabled_deployed_org_distributions_with_the_etag(aws, account, stub):
    """One pass of ``delete_distributions``: an enabled distribution is not even looked at; a disabled one still
    deploying is left; a disabled, deployed one of this org whose bucket is gone is deleted with IfMatch."""
    gone, deploying, live = moto_distribution(False), moto_distribution(False), moto_distribution(True)
    items = [summary(live, True, "Deployed"), summary(gone, False, "Deployed"), summary(deploying, False, "InProgress")]
    stub.add_response(
        "list_distributions",
        {"DistributionList": {"Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 3, "Items": items}},
        {"MaxItems": "100"},
    )
    stub.add_response("list_tags_for_resource", {"Tags": {"Items": [ORG]}}, {"Resource": gone["ARN"]})
    stub.add_response("get_distribution_config", {"DistributionConfig": config_of(gone, False), "ETag": "E9"})
    stub.add_response("delete_distribution", {}, {"Id": gone["Id"], "IfMatch": "E9"})
    stub.add_response("list_tags_for_resource", {"Tags": {"Items": [ORG]}}, {"Resource": deploying["ARN"]})
    assert websites.sweep_distributions(account) == 1


def test_sweeper_leaves_other_orgs_and_buckets_that_exist(aws, account, stub):
    foreign, kept = moto_distribution(False), moto_distribution(False)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=SITE)  # kept's bucket still exists
    items = [summary(foreign, False, "Deployed"), summary(kept, False, "Deployed")]
    stub.add_response(
        "list_distributions",
        {"DistributionList": {"Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 2, "Items": items}},
        {"MaxItems": ANY},
    )
    stub.add_response("list_tags_for_resource", {"Tags": {"Items": [{"Key": "s3api:org", "Value": "other"}]}})
    stub.add_response("list_tags_for_resource", {"Tags": {"Items": [ORG]}})
    assert websites.sweep_distributions(account) == 0
