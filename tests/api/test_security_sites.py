"""Security review (issue 11), websites and their distributions: a route acts only on a distribution that
serves exactly its site (#3), the keys we issue cannot break the service's invariants on their bucket and a
website whose bucket is gone is still finished by DELETE (#4), and a website bucket is never deleted through
the bucket route while a distribution serves it, with or without the distribution tag (#6).

Where a key's rights are the point, moto's IAM enforcement is on (as in ``tests/api/test_users_enforced.py``);
the sites and keys are made while it is off, with the service's default (emulator) credentials.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from flask import Flask
from moto.core import enable_iam_authentication

from s3api import create_app
from s3api.aws.s3 import DISTRIBUTION_TAG
from s3api.config import from_mapping
from s3api.provisioning import policies
from tests import faults
from tests.api.test_users_enforced import denied, s3_with
from tests.api.test_websites import fail_first
from tests.conftest import Client, make_settings

SITE = "www.example.test"
OTHER = "blog.example.test"
WEBSITES = "/v1/s3/local/websites"
BUCKETS = "/v1/s3/local/buckets"
ORG = {"Key": "s3api:org", "Value": "test"}


@pytest.fixture
def cf(aws: None) -> Any:
    return boto3.client("cloudfront", region_name="us-east-1")


@pytest.fixture
def r53(aws: None) -> Any:
    return boto3.client("route53", region_name="us-east-1")


@pytest.fixture
def public_client(seed: dict[str, str]) -> Client:
    return Client(create_app(make_settings(seed, origin_access="public-website")).test_client())


def created(client: Client, site: str) -> dict[str, Any]:
    r = client.post(WEBSITES, json={"BucketInput": {"Bucket": site}})
    assert r.status_code == 200, r.json
    return dict(r.json)


def enabled(cf: Any, dist_id: str) -> bool:
    return bool(cf.get_distribution_config(Id=dist_id)["DistributionConfig"]["Enabled"])


def a_records(r53: Any, seed: dict[str, str], name: str) -> list[dict[str, Any]]:
    rrs = r53.list_resource_record_sets(HostedZoneId=seed["hosted_zone_id"])["ResourceRecordSets"]
    return [r for r in rrs if r["Name"] == name + "." and r["Type"] in ("A", "AAAA")]


def retag(s3: Any, bucket: str, dist_id: str | None) -> None:
    """What a site's admin key could do before #4: rewrite (or drop) the distribution tag of its bucket."""
    tags = [ORG] + ([{"Key": DISTRIBUTION_TAG, "Value": dist_id}] if dist_id else [])
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})


# --- #3 a distribution found by a tag the tenant can write -----------------------------------------------------


@pytest.mark.parametrize("model", ["private", "public-website"])
def test_delete_with_a_tag_naming_another_sites_distribution_disables_only_its_own(
    model, client, public_client, s3, cf, r53, seed, caplog
):
    """The site's admin key retags its bucket with another site's distribution id: DELETE of its own site
    must leave the other site live and disable its own (found by verified alias), whatever the origin kind."""
    api = client if model == "private" else public_client
    own = created(api, SITE)["Distribution"]["Id"]
    other = created(api, OTHER)["Distribution"]["Id"]
    retag(s3, SITE, other)
    with caplog.at_level(logging.WARNING, logger="s3api.websites"):
        r = api.delete(f"{WEBSITES}/{SITE}")
    assert r.status_code == 200, r.json
    assert r.json["Distribution"]["Id"] == own
    assert enabled(cf, other) and not enabled(cf, own)
    assert len(a_records(r53, seed, OTHER)) == 2 and a_records(r53, seed, SITE) == []
    warned = [rec for rec in caplog.records if "does not serve the site" in rec.getMessage()]
    assert warned and getattr(warned[0], "distribution", None) == other


def test_show_tags_and_invalidations_ignore_a_tag_naming_another_sites_distribution(client, s3, cf):
    own = created(client, SITE)["Distribution"]["Id"]
    other_body = created(client, OTHER)["Distribution"]
    other, other_arn = other_body["Id"], other_body["ARN"]
    retag(s3, SITE, other)
    assert client.get(f"{WEBSITES}/{SITE}").json["Distribution"]["Id"] == own
    r = client.put(f"{WEBSITES}/{SITE}", json={"Tags": [{"Key": "Team", "Value": "a"}]})
    assert r.status_code == 200, r.json
    assert {"Key": "Team", "Value": "a"} not in cf.list_tags_for_resource(Resource=other_arn)["Tags"]["Items"]
    r = client.patch(f"{WEBSITES}/{SITE}", json={"CacheInvalidation": ["/*"]})
    assert r.status_code == 200, r.json
    assert cf.list_invalidations(DistributionId=other)["InvalidationList"]["Quantity"] == 0
    assert cf.list_invalidations(DistributionId=own)["InvalidationList"]["Quantity"] == 1


def test_a_distribution_with_the_alias_but_another_origin_is_not_the_sites(client, app, s3, cf):
    """Verification also applies to the fallback search: the alias alone does not make a distribution the
    site's. Here the only candidate's origin is another bucket: 404, and nothing is disabled."""
    created(client, SITE)
    dist = created(client, OTHER)["Distribution"]
    resp = cf.get_distribution_config(Id=dist["Id"])
    config = resp["DistributionConfig"]
    config["Aliases"] = {"Quantity": 1, "Items": [SITE]}  # moto does not enforce alias uniqueness
    cf.update_distribution(Id=dist["Id"], IfMatch=resp["ETag"], DistributionConfig=config)
    own = s3.get_bucket_tagging(Bucket=SITE)["TagSet"]
    own_id = next(t["Value"] for t in own if t["Key"] == DISTRIBUTION_TAG)
    cf_resp = cf.get_distribution_config(Id=own_id)  # take the site's own distribution out of the picture
    cf_config = cf_resp["DistributionConfig"]
    cf_config["Aliases"] = {"Quantity": 0}
    cf.update_distribution(Id=own_id, IfMatch=cf_resp["ETag"], DistributionConfig=cf_config)
    retag(s3, SITE, None)
    r = client.patch(f"{WEBSITES}/{SITE}", json={"CacheInvalidation": ["/*"]})
    assert r.status_code == 404, r.json
    assert cf.list_invalidations(DistributionId=dist["Id"])["InvalidationList"]["Quantity"] == 0


def test_delete_refuses_while_an_unverified_distribution_uses_the_bucket(client, s3, cf):
    """No distribution serves exactly the site (its aliases were changed), but an enabled one still has the
    bucket as origin: deleting the bucket would leave it serving a name anyone can register. 409, nothing
    changed."""
    dist_id = created(client, SITE)["Distribution"]["Id"]
    resp = cf.get_distribution_config(Id=dist_id)
    config = resp["DistributionConfig"]
    config["Aliases"] = {"Quantity": 2, "Items": [SITE, "extra.example.test"]}
    cf.update_distribution(Id=dist_id, IfMatch=resp["ETag"], DistributionConfig=config)
    r = client.delete(f"{WEBSITES}/{SITE}")
    assert r.status_code == 409 and dist_id in r.json["message"], r.json
    assert enabled(cf, dist_id) and SITE in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_a_verified_tag_costs_no_listing(client, app):
    created(client, SITE)
    with faults.aws_calls(app) as hook:
        assert client.get(f"{WEBSITES}/{SITE}").status_code == 200
    assert "cloudfront:ListDistributions" not in hook.calls


# --- #4 the keys we issue cannot break the service's invariants ----------------------------------------------


def site_admin_key(client: Client, site: str) -> dict[str, str]:
    r = client.post(f"{WEBSITES}/{site}/users", json={"User": {"UserName": "site-admin"}, "Groups": ["BktAdmGrp"]})
    assert r.status_code == 200, r.json
    key: dict[str, str] = r.json["AccessKey"]
    return key


def bucket_key(client: Client, bucket: str, group: str) -> dict[str, str]:
    r = client.post(f"{BUCKETS}/{bucket}/users", json={"User": {"UserName": f"u-{group}"}, "Groups": [group]})
    assert r.status_code == 200, r.json
    key: dict[str, str] = r.json["AccessKey"]
    return key


def test_a_site_admin_key_writes_objects_but_cannot_delete_or_retag_its_bucket(client, s3):
    created(client, SITE)
    tenant = s3_with(site_admin_key(client, SITE))
    s3.delete_object(Bucket=SITE, Key="index.html")  # an empty bucket: DeleteBucket would succeed
    tags = {"TagSet": [ORG, {"Key": DISTRIBUTION_TAG, "Value": "E2OTHERSITE"}]}
    with enable_iam_authentication():
        tenant.put_object(Bucket=SITE, Key="page.html", Body=b"<p>hi</p>")
        tenant.delete_object(Bucket=SITE, Key="page.html")
        assert denied(tenant.put_bucket_tagging, Bucket=SITE, Tagging=tags) == "AccessDenied"
        assert denied(tenant.delete_bucket_tagging, Bucket=SITE) == "AccessDenied"
        assert denied(tenant.delete_bucket, Bucket=SITE) == "AccessDenied"
        assert denied(tenant.delete_bucket_policy, Bucket=SITE) == "AccessDenied"
        assert denied(tenant.put_bucket_policy, Bucket=SITE, Policy='{"Version":"2012-10-17","Statement":[]}')
        assert tenant.get_bucket_tagging(Bucket=SITE)["TagSet"]  # reading stays allowed
    assert SITE in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert DISTRIBUTION_TAG in [t["Key"] for t in s3.get_bucket_tagging(Bucket=SITE)["TagSet"]]


@pytest.mark.parametrize("group", ["BktAdmGrp", "BktRWGrp", "BktROGrp"])
def test_bucket_keys_cannot_delete_or_retag_their_bucket(client, s3, group):
    assert client.post(BUCKETS, json={"BucketInput": {"Bucket": "tenant-data"}}).status_code == 200
    tenant = s3_with(bucket_key(client, "tenant-data", group))
    with enable_iam_authentication():
        if group != "BktROGrp":
            tenant.put_object(Bucket="tenant-data", Key="a.txt", Body=b"a")
            tenant.delete_object(Bucket="tenant-data", Key="a.txt")
        assert denied(tenant.delete_bucket, Bucket="tenant-data") == "AccessDenied"
        assert denied(tenant.put_bucket_tagging, Bucket="tenant-data", Tagging={"TagSet": []}) == "AccessDenied"
    assert "tenant-data" in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_the_protected_actions_are_a_setting(seed, s3):
    """``policy_actions.protected`` replaces the list: here only DeleteBucket is denied, so retagging works."""
    app = create_app(make_settings(seed).with_overrides(protected_actions=("s3:DeleteBucket",)))
    client = Client(app.test_client())
    assert client.post(BUCKETS, json={"BucketInput": {"Bucket": "tenant-data"}}).status_code == 200
    tenant = s3_with(bucket_key(client, "tenant-data", "BktAdmGrp"))
    with enable_iam_authentication():
        tenant.put_bucket_tagging(Bucket="tenant-data", Tagging={"TagSet": [ORG]})
        assert denied(tenant.delete_bucket, Bucket="tenant-data") == "AccessDenied"


def test_website_delete_finishes_a_site_whose_bucket_is_gone(client, s3, cf, r53, seed):
    """The bucket was deleted behind the service's back (a tenant key before #4, or the Yale service): the
    distribution still serves a bucket name anyone can register. DELETE finds it by verified alias, removes
    DNS, disables it and removes the site's IAM; 200 with what was removed. A second DELETE is 404."""
    dist_id = created(client, SITE)["Distribution"]["Id"]
    s3.delete_object(Bucket=SITE, Key="index.html")
    s3.delete_bucket(Bucket=SITE)
    r = client.delete(f"{WEBSITES}/{SITE}")
    assert r.status_code == 200, r.json
    assert r.json["Distribution"]["Id"] == dist_id and r.json["Distribution"]["DistributionConfig"]["Enabled"] is False
    assert r.json["DnsChange"] is not None
    assert sorted(r.json["Groups"]) == [f"{SITE}-BktAdmGrp", f"{SITE}-WebAdmGrp"]
    assert not enabled(cf, dist_id) and a_records(r53, seed, SITE) == []
    assert client.delete(f"{WEBSITES}/{SITE}").status_code == 404


def test_website_delete_without_a_bucket_is_retry_safe(client, app, s3, cf, iam):
    """A failure in the IAM part (after DNS and the disable) is finished by the retry: the disabled
    distribution no longer counts, the groups left do."""
    dist_id = created(client, SITE)["Distribution"]["Id"]
    s3.delete_object(Bucket=SITE, Key="index.html")
    s3.delete_bucket(Bucket=SITE)
    with fail_first(app, "iam:DeleteGroup"):
        assert client.delete(f"{WEBSITES}/{SITE}").status_code == 503
    assert not enabled(cf, dist_id)
    r = client.delete(f"{WEBSITES}/{SITE}")
    assert r.status_code == 200, r.json
    left = [g["GroupName"] for g in iam.list_groups()["Groups"] if g["GroupName"].startswith(SITE)]
    assert left == []
    assert client.delete(f"{WEBSITES}/{SITE}").status_code == 404


def test_a_tag_naming_another_sites_distribution_is_repaired_by_a_tag_update(client, s3):
    own = created(client, SITE)["Distribution"]["Id"]
    retag(s3, SITE, created(client, OTHER)["Distribution"]["Id"])
    assert client.put(f"{WEBSITES}/{SITE}", json={"Tags": []}).status_code == 200
    tags = s3.get_bucket_tagging(Bucket=SITE)["TagSet"]
    assert {"Key": DISTRIBUTION_TAG, "Value": own} in tags


def test_website_delete_without_a_bucket_leaves_a_distribution_that_is_not_the_sites(client, s3, cf):
    """With the bucket gone, a distribution carrying the alias but serving another bucket is not touched."""
    dist = created(client, OTHER)["Distribution"]
    resp = cf.get_distribution_config(Id=dist["Id"])
    config = resp["DistributionConfig"]
    config["Aliases"] = {"Quantity": 1, "Items": [SITE]}
    cf.update_distribution(Id=dist["Id"], IfMatch=resp["ETag"], DistributionConfig=config)
    assert client.delete(f"{WEBSITES}/{SITE}").status_code == 404
    assert enabled(cf, dist["Id"])


# --- #6 a website bucket deleted through the bucket route ----------------------------------------------------


@pytest.mark.parametrize("tag", ["none", "another-site", "missing-distribution"])
def test_bucket_route_refuses_a_website_bucket_whatever_its_tag(client, s3, cf, tag):
    """A site adopted from the Yale service has no distribution tag; a tag may also name another site's
    distribution or none that exists. While an enabled distribution has the bucket as origin: 409."""
    created(client, SITE)
    other = created(client, OTHER)["Distribution"]["Id"]
    retag(s3, SITE, {"none": None, "another-site": other, "missing-distribution": "E2NOSUCHDIST"}[tag])
    s3.delete_object(Bucket=SITE, Key="index.html")
    r = client.delete(f"{BUCKETS}/{SITE}")
    assert r.status_code == 409, r.json
    assert "delete the website instead" in r.json["message"]
    assert SITE in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_bucket_route_refuses_a_public_website_bucket_without_its_tag(public_client, s3):
    created(public_client, SITE)
    retag(s3, SITE, None)
    s3.delete_object(Bucket=SITE, Key="index.html")
    assert public_client.delete(f"{BUCKETS}/{SITE}").status_code == 409


def test_bucket_route_deletes_a_bucket_once_its_distribution_is_disabled(client, app, s3, cf):
    dist_id = created(client, SITE)["Distribution"]["Id"]
    retag(s3, SITE, None)
    s3.delete_object(Bucket=SITE, Key="index.html")
    resp = cf.get_distribution_config(Id=dist_id)
    config = resp["DistributionConfig"]
    config["Enabled"] = False
    cf.update_distribution(Id=dist_id, IfMatch=resp["ETag"], DistributionConfig=config)
    assert client.delete(f"{BUCKETS}/{SITE}").status_code == 200


def test_plain_bucket_delete_lists_distributions_once(client, app: Flask):
    assert client.post(BUCKETS, json={"BucketInput": {"Bucket": "plain-data"}}).status_code == 200
    with faults.aws_calls(app) as hook:
        assert client.delete(f"{BUCKETS}/plain-data").status_code == 200
    assert hook.calls.count("cloudfront:ListDistributions") == 1


def test_the_protected_setting_is_read_from_the_config_and_documented_with_its_default():
    raw = {"accounts": {"local": {"account_id": "123456789012"}}, "tokens": {"t": "x" * 32}}
    assert from_mapping(raw, env={}).protected_actions == tuple(policies.DEFAULT_PROTECTED_ACTIONS)
    custom = {**raw, "policy_actions": {"protected": ["s3:DeleteBucket"]}}
    assert from_mapping(custom, env={}).protected_actions == ("s3:DeleteBucket",)
    readme = Path(__file__).resolve().parents[2].joinpath("README.md").read_text()
    blocks = [yaml.safe_load(part.split("```", 1)[0]) for part in readme.split("```yaml")[1:]]
    [example] = [b for b in blocks if isinstance(b, dict) and "policy_actions" in b]  # the configuration's block
    assert example["policy_actions"]["protected"] == policies.DEFAULT_PROTECTED_ACTIONS
