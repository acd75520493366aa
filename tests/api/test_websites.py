"""Website routes through the test client on mock_aws (seeded: zone, wildcard certificate, log bucket for
example.test): create in both origin-access models (with a rollback check after a failure at every AWS
call), head, show and its status, tags, invalidations, the bookmark, delete (order, emptiness, retry-safety)
and the sweeper.

Tests named ``test_yale_*_fixed`` prove that a weakness of the Yale service (yale-s3-api.md §9) is gone.
"""

from __future__ import annotations

import json
import plistlib
from typing import Any

import boto3
import pytest
from flask import Flask
from moto.moto_api import state_manager

from s3api import create_app
from s3api.aws import cloudfront as cloudfront_gateway
from s3api.aws.s3 import DISTRIBUTION_TAG
from s3api.provisioning import periodic, websites
from tests import faults
from tests.conftest import Client, make_settings

SITE = "www.example.test"
WEBSITES = "/v1/s3/local/websites"
ORG = {"Key": "s3api:org", "Value": "test"}
LOG_BUCKET = "s3api-access-logs-123456789012"


# --- helpers -------------------------------------------------------------------------------------------------


@pytest.fixture
def cf(aws: None) -> Any:
    return boto3.client("cloudfront", region_name="us-east-1")


@pytest.fixture
def r53(aws: None) -> Any:
    return boto3.client("route53", region_name="us-east-1")


@pytest.fixture
def public_app(seed: dict[str, str]) -> Flask:
    return create_app(make_settings(seed, origin_access="public-website"))


def create(client: Client, site: str = SITE, **body: Any) -> Any:
    return client.post(WEBSITES, json={"BucketInput": {"Bucket": site}, **body})


def created(client: Client, site: str = SITE, **body: Any) -> dict[str, Any]:
    r = create(client, site, **body)
    assert r.status_code == 200, r.json
    return dict(r.json)


def records(r53: Any, seed: dict[str, str], name: str = SITE) -> list[dict[str, Any]]:
    rrs = r53.list_resource_record_sets(HostedZoneId=seed["hosted_zone_id"])["ResourceRecordSets"]
    return [r for r in rrs if r["Name"] == name + "."]


def state() -> dict[str, Any]:
    """The emulator's state without the access-log bucket's objects (moto delivers logs into it)."""
    return faults.snapshot(skip_objects_of=[LOG_BUCKET])


def distribution_config(cf: Any, dist_id: str) -> dict[str, Any]:
    config: dict[str, Any] = cf.get_distribution_config(Id=dist_id)["DistributionConfig"]
    return config


class FailFirst:
    """A before-call hook failing the first call of one operation (``service:Operation``) with a 500."""

    def __init__(self, op: str) -> None:
        self.op = op
        self.failed = False

    def __call__(self, model: Any, **_: Any) -> None:
        if not self.failed and f"{model.service_model.service_name}:{model.name}" == self.op:
            self.failed = True
            raise faults.injected(model.name)


def fail_first(app: Flask, op: str) -> Any:
    return faults.hooked(app, FailFirst(op))


def add_website_user(iam: Any, site: str, name: str, kind: str = "BktAdmGrp") -> None:
    iam.create_user(UserName=name)
    iam.add_user_to_group(GroupName=f"{site}-{kind}", UserName=name)
    iam.create_access_key(UserName=name)


# --- create --------------------------------------------------------------------------------------------------


def test_create_private_site_answers_yale_shape_and_builds_every_piece(client, s3, iam, cf, r53, seed):
    body = created(client, Tags=[{"Key": "Application", "Value": "docs"}])
    assert set(body) == {"Bucket", "Policies", "Groups", "Distribution", "DnsChange"}
    assert body["Bucket"] == f"/{SITE}"
    assert [p["PolicyName"] for p in body["Policies"]] == [f"{SITE}-BktAdmPlc", f"{SITE}-WebAdmPlc"]
    assert [g["GroupName"] for g in body["Groups"]] == [f"{SITE}-BktAdmGrp", f"{SITE}-WebAdmGrp"]
    dist = body["Distribution"]
    assert dist["Status"] == "InProgress" and dist["DomainName"].endswith(".cloudfront.net")
    assert body["DnsChange"]["Id"].startswith("/change/")

    # bucket: tags (caller, org, distribution id), encryption, logging, website, public access fully blocked
    tags = s3.get_bucket_tagging(Bucket=SITE)["TagSet"]
    assert {"Key": "Application", "Value": "docs"} in tags and ORG in tags
    assert {"Key": DISTRIBUTION_TAG, "Value": dist["Id"]} in tags
    rule = s3.get_bucket_encryption(Bucket=SITE)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_logging(Bucket=SITE)["LoggingEnabled"]["TargetPrefix"] == f"s3/{SITE}/"
    assert s3.get_bucket_website(Bucket=SITE)["IndexDocument"] == {"Suffix": "index.html"}
    assert all(s3.get_public_access_block(Bucket=SITE)["PublicAccessBlockConfiguration"].values())
    policy = json.loads(s3.get_bucket_policy(Bucket=SITE)["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"AWS:SourceArn": dist["ARN"]}}

    # the default page: key without a leading slash, tagged
    assert s3.get_object(Bucket=SITE, Key="index.html")["ContentType"].startswith("text/html")
    assert {"Key": "s3api:default-page", "Value": "true"} in s3.get_object_tagging(Bucket=SITE, Key="index.html")[
        "TagSet"
    ]

    # distribution
    config = distribution_config(cf, dist["Id"])
    assert config["Aliases"]["Items"] == [SITE] and config["Enabled"] is True
    cert = config["ViewerCertificate"]
    assert cert["ACMCertificateArn"] == seed["certificate_arn"] and cert["SSLSupportMethod"] == "sni-only"
    assert cert["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["HttpVersion"] == "http2and3" and config["IsIPV6Enabled"] is True
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https" and behaviour["Compress"] is True
    (origin,) = config["Origins"]["Items"]
    assert origin["DomainName"] == f"{SITE}.s3.us-east-1.amazonaws.com" and "CustomOriginConfig" not in origin
    dist_tags = cf.list_tags_for_resource(Resource=dist["ARN"])["Tags"]["Items"]
    assert ORG in dist_tags and {"Key": "Application", "Value": "docs"} in dist_tags
    assert cf.list_origin_access_controls()["OriginAccessControlList"]["Quantity"] == 1

    # IAM: admin groups with their policies; the web admin policy names the distribution
    web = iam.list_attached_group_policies(GroupName=f"{SITE}-WebAdmGrp")["AttachedPolicies"]
    assert [p["PolicyName"] for p in web] == [f"{SITE}-WebAdmPlc"]
    version = iam.get_policy(PolicyArn=web[0]["PolicyArn"])["Policy"]["DefaultVersionId"]
    doc = iam.get_policy_version(PolicyArn=web[0]["PolicyArn"], VersionId=version)["PolicyVersion"]["Document"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    assert doc["Statement"][0]["Resource"] == [dist["ARN"]]
    adm = iam.list_attached_group_policies(GroupName=f"{SITE}-BktAdmGrp")["AttachedPolicies"]
    assert [p["PolicyName"] for p in adm] == [f"{SITE}-BktAdmPlc"]

    # DNS: A and AAAA aliases to the distribution
    found = records(r53, seed)
    assert sorted(r["Type"] for r in found) == ["A", "AAAA"]
    for record in found:
        assert record["AliasTarget"]["HostedZoneId"] == "Z2FDTNDATAQYW2"
        assert record["AliasTarget"]["DNSName"].rstrip(".") == dist["DomainName"]


def test_create_public_website_model_uses_the_website_endpoint_and_a_public_policy(public_app, s3, cf):
    client = Client(public_app.test_client())
    body = created(client, WebsiteConfiguration={"IndexDocument": {"Suffix": "home.html"}})
    config = distribution_config(cf, body["Distribution"]["Id"])
    (origin,) = config["Origins"]["Items"]
    assert origin["DomainName"] == f"{SITE}.s3-website-us-east-1.amazonaws.com"
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "http-only"
    assert config["DefaultRootObject"] == "home.html"
    pab = s3.get_public_access_block(Bucket=SITE)["PublicAccessBlockConfiguration"]
    assert pab["BlockPublicPolicy"] is False and pab["BlockPublicAcls"] is True
    (statement,) = json.loads(s3.get_bucket_policy(Bucket=SITE)["Policy"])["Statement"]
    assert statement["Principal"] == "*" and statement["Action"] == ["s3:GetObject"]
    assert s3.get_bucket_website(Bucket=SITE)["IndexDocument"] == {"Suffix": "home.html"}


@pytest.mark.parametrize(
    ("region", "endpoint"),
    [
        ("us-east-1", "b.s3-website-us-east-1.amazonaws.com"),
        ("eu-west-1", "b.s3-website-eu-west-1.amazonaws.com"),
        ("us-gov-west-1", "b.s3-website-us-gov-west-1.amazonaws.com"),
        ("eu-central-1", "b.s3-website.eu-central-1.amazonaws.com"),
        ("us-east-2", "b.s3-website.us-east-2.amazonaws.com"),
        ("ap-south-1", "b.s3-website.ap-south-1.amazonaws.com"),
    ],
)
def test_yale_website_endpoint_region_style_fixed(region, endpoint):
    """§9.18: Yale always used the dash style; the newer regions only have the dot style."""
    assert websites.website_endpoint("b", region) == endpoint


@pytest.mark.parametrize("site", ["www.other.test", "a.b.example.test", "example.test", "x-.example.test"])
def test_create_outside_the_domains_is_400_naming_them(client, site):
    r = create(client, site)
    assert r.status_code == 400
    assert "example.test" in r.json["message"]


def test_create_rejects_bad_input_before_any_aws_call(client, app):
    with faults.aws_calls(app) as hook:
        assert create(client, Tags=[{"Key": DISTRIBUTION_TAG, "Value": "x"}]).status_code == 400
        assert create(client, Tags=[{"Key": "s3api:org", "Value": "x"}]).status_code == 400
        r = create(
            client, WebsiteConfiguration={"RedirectAllRequestsTo": {"HostName": "x"}, "ErrorDocument": {"Key": "e"}}
        )
        assert r.status_code == 400
        assert create(client, WebsiteConfiguration={"IndexDocument": {"Suffix": "a/b"}}).status_code == 400
        assert client.post(WEBSITES, json={"BucketInput": {}}).status_code == 400
        # control characters can't travel in S3's XML: 400 here, not a 5xx from the backend (found by fuzzing)
        for config in (
            {"IndexDocument": {"Suffix": "index\x01.html"}},
            {"ErrorDocument": {"Key": "err\x0b.html"}},
            {"RoutingRules": [{"Redirect": {"HostName": "a\x02b"}}]},
        ):
            r = create(client, WebsiteConfiguration=config)
            assert r.status_code == 400 and r.json["errors"], config
    assert hook.calls == []


def test_create_existing_bucket_or_dns_record_is_409_and_changes_nothing(client, s3, r53, seed):
    s3.create_bucket(Bucket=SITE)
    before = state()
    assert create(client).status_code == 409
    assert state() == before

    other = "blog.example.test"
    target = {"HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": "elsewhere.cloudfront.net", "EvaluateTargetHealth": False}
    change = {"Action": "CREATE", "ResourceRecordSet": {"Name": other, "Type": "A", "AliasTarget": target}}
    r53.change_resource_record_sets(HostedZoneId=seed["hosted_zone_id"], ChangeBatch={"Changes": [change]})
    before = state()
    r = create(client, other)
    assert r.status_code == 409 and "DNS record" in r.json["message"]
    assert state() == before
    (record,) = records(r53, seed, other)
    assert record["AliasTarget"]["DNSName"] == "elsewhere.cloudfront.net"  # never overwritten


def test_create_refuses_a_certificate_that_is_not_usable(seed):
    app = create_app(
        make_settings(
            seed,
            domains={
                "example.test": {
                    "certificate_arn": seed["certificate_arn"].replace("us-east-1", "eu-west-1"),
                    "hosted_zone_id": seed["hosted_zone_id"],
                }
            },
        )
    )
    r = create(Client(app.test_client()))
    assert r.status_code == 500 and "certificate" in r.json["message"]
    assert state()["buckets"] == [LOG_BUCKET]


def test_yale_rollback_gaps_fixed(client, app, cf, r53, s3):
    """§9.11: Yale never removed the DNS record on rollback and registered the bucket's deletion late. A failure
    at the last step (the default page) takes back the DNS records, disables the distribution, deletes IAM and
    the bucket."""
    created(client, "probe.example.test")  # the account's OAC exists from now on
    before = state()
    with fail_first(app, "s3:PutObject") as hook:
        assert create(client).status_code == 503
    assert hook.failed
    assert state() == before
    dists = cf.list_distributions()["DistributionList"]["Items"]
    ours = [d for d in dists if d["Aliases"].get("Items") == [SITE]]
    assert len(ours) == 1 and ours[0]["Enabled"] is False  # disabled; the sweeper deletes it


def test_yale_public_website_bucket_fixed(client, s3):
    """§9.7: Yale made every website bucket public (Block Public Access off, Principal "*"); by default the
    bucket stays private and only the site's distribution may read it."""
    created(client)
    assert all(s3.get_public_access_block(Bucket=SITE)["PublicAccessBlockConfiguration"].values())
    assert s3.get_bucket_policy_status(Bucket=SITE)["PolicyStatus"]["IsPublic"] is False
    assert '"*"' not in s3.get_bucket_policy(Bucket=SITE)["Policy"]


def test_yale_partial_200_fixed(client, app):
    """§9.13: Yale's website delete wrote error strings into a 200 body and went on; here a failure is an error
    status with the one JSON error shape."""
    created(client)
    with fail_first(app, "iam:DeleteGroup"):
        r = client.delete(f"{WEBSITES}/{SITE}")
    assert r.status_code == 503
    assert set(r.json) == {"code", "message", "status", "request_id"}
    assert client.delete(f"{WEBSITES}/{SITE}").status_code == 200


def test_yale_tls_1_1_fixed(client, cf):
    """§9.7: Yale's distributions accept TLS 1.1 (TLSv1.1_2016)."""
    body = created(client)
    assert distribution_config(cf, body["Distribution"]["Id"])["ViewerCertificate"]["MinimumProtocolVersion"] == (
        "TLSv1.2_2021"
    )


# --- head, show ----------------------------------------------------------------------------------------------


def test_head(client, s3):
    created(client)
    assert client.head(f"{WEBSITES}/{SITE}").status_code == 200
    assert client.head(f"{WEBSITES}/none.example.test").status_code == 404
    assert client.head(f"{WEBSITES}/Bad_Name").status_code == 400


def test_show_deployed_site(client, app):
    body = created(client, Tags=[{"Key": "Application", "Value": "docs"}])
    with faults.aws_calls(app) as hook:
        r = client.get(f"{WEBSITES}/{SITE}")
    assert r.status_code == 200, r.json
    shown = r.json
    assert set(shown) == {"Tags", "Logging", "Empty", "DNSRecord", "Distribution", "Status"}
    assert shown["Status"] == "Deployed" and shown["Empty"] is True
    assert shown["DNSRecord"]["Type"] == "A" and shown["DNSRecord"]["Name"] == f"{SITE}."
    assert shown["Distribution"]["Id"] == body["Distribution"]["Id"] and shown["Distribution"]["Enabled"] is True
    assert shown["Logging"]["TargetBucket"] == LOG_BUCKET
    assert {"Key": "Application", "Value": "docs"} in shown["Tags"]
    # Yale §9.21: no scan of every distribution or of the whole zone
    assert "cloudfront:ListDistributions" not in hook.calls and "cloudfront:GetDistribution" in hook.calls


def test_yale_unbounded_scans_fixed(client, app):
    """§9.21: Yale listed every distribution on each GET/PUT/PATCH/DELETE and paged through the whole hosted
    zone on each GET. Here the distribution is read by the id tagged on the bucket and the zone from the name."""
    created(client)
    seen: list[tuple[str, dict[str, Any]]] = []

    def record(model: Any, params: Any, **_: Any) -> None:
        seen.append((model.name, dict(params)))

    app.extensions["s3api"].clients.add_hook("before-parameter-build", record)
    assert client.get(f"{WEBSITES}/{SITE}").status_code == 200
    zone_reads = [p for name, p in seen if name == "ListResourceRecordSets"]
    assert zone_reads == [
        {
            "HostedZoneId": zone_reads[0]["HostedZoneId"],
            "StartRecordName": f"{SITE}.",
            "StartRecordType": "A",
            "MaxItems": "2",
        }
    ]
    assert client.put(f"{WEBSITES}/{SITE}", json={"Tags": []}).status_code == 200
    assert client.patch(f"{WEBSITES}/{SITE}", json={"CacheInvalidation": ["/*"]}).status_code == 200
    assert client.delete(f"{WEBSITES}/{SITE}").status_code == 200
    names = [name for name, _ in seen]
    assert "ListDistributions" not in names
    assert all(p.get("StartRecordName") == f"{SITE}." for name, p in seen if name == "ListResourceRecordSets")


def test_show_status_deploying_disabled_and_broken(client, cf, r53, s3, seed):
    state_manager.set_transition(
        model_name="cloudfront::distribution", transition={"progression": "manual", "times": 3}
    )
    try:
        body = created(client)
        assert client.get(f"{WEBSITES}/{SITE}").json["Status"] == "Deploying"
    finally:
        state_manager.unset_transition(model_name="cloudfront::distribution")
    dist_id = body["Distribution"]["Id"]

    # DNS record gone → Broken, with the reason
    a_record = next(r for r in records(r53, seed) if r["Type"] == "A")
    r53.change_resource_record_sets(
        HostedZoneId=seed["hosted_zone_id"],
        ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": a_record}]},
    )
    shown = client.get(f"{WEBSITES}/{SITE}").json
    assert shown["Status"] == "Broken" and "DNS" in shown["StatusReason"] and shown["DNSRecord"] is None

    # disabled
    config = cf.get_distribution_config(Id=dist_id)
    cf.update_distribution(
        Id=dist_id, IfMatch=config["ETag"], DistributionConfig={**config["DistributionConfig"], "Enabled": False}
    )
    assert client.get(f"{WEBSITES}/{SITE}").json["Status"] == "Disabled"

    # distribution gone → Broken naming it
    cf.delete_distribution(Id=dist_id, IfMatch=config["ETag"])
    shown = client.get(f"{WEBSITES}/{SITE}").json
    assert shown["Status"] == "Broken" and dist_id in shown["StatusReason"] and shown["Distribution"] is None

    # content makes it not empty
    s3.put_object(Bucket=SITE, Key="about.html", Body=b"x")
    assert client.get(f"{WEBSITES}/{SITE}").json["Empty"] is False
    assert client.get(f"{WEBSITES}/none.example.test").status_code == 404


def test_show_finds_a_yale_site_by_alias(client, app, s3):
    """A site made by the Yale service has no distribution tag: a paginated search by alias finds it."""
    body = created(client)
    s3.put_bucket_tagging(Bucket=SITE, Tagging={"TagSet": [ORG]})
    with faults.aws_calls(app) as hook:
        shown = client.get(f"{WEBSITES}/{SITE}").json
    assert shown["Distribution"]["Id"] == body["Distribution"]["Id"] and shown["Status"] == "Deployed"
    assert "cloudfront:ListDistributions" in hook.calls


# --- update tags, invalidations, bookmark ----------------------------------------------------------------------


def test_put_tags_sets_the_same_tags_on_bucket_and_distribution(client, s3, cf):
    body = created(client, Tags=[{"Key": "Old", "Value": "1"}, {"Key": "Keep", "Value": "2"}])
    r = client.put(f"{WEBSITES}/{SITE}", json={"Tags": [{"Key": "Keep", "Value": "3"}, {"Key": "New", "Value": "4"}]})
    assert r.status_code == 200 and r.json == {}
    bucket_tags = s3.get_bucket_tagging(Bucket=SITE)["TagSet"]
    dist_tags = cf.list_tags_for_resource(Resource=body["Distribution"]["ARN"])["Tags"]["Items"]
    expected = [{"Key": "Keep", "Value": "3"}, {"Key": "New", "Value": "4"}, ORG]
    assert sorted(dist_tags, key=str) == sorted(expected, key=str)
    assert sorted(bucket_tags, key=str) == sorted(
        [*expected, {"Key": DISTRIBUTION_TAG, "Value": body["Distribution"]["Id"]}], key=str
    )
    assert client.put(f"{WEBSITES}/{SITE}", json={"Tags": [{"Key": "s3api:org", "Value": "x"}]}).status_code == 400
    assert client.put(f"{WEBSITES}/{SITE}", json={}).status_code == 400
    assert client.put(f"{WEBSITES}/none.example.test", json={"Tags": []}).status_code == 404


def test_put_tags_puts_the_bucket_tags_back_when_the_distribution_fails(client, app, s3):
    created(client, Tags=[{"Key": "Old", "Value": "1"}])
    before = s3.get_bucket_tagging(Bucket=SITE)["TagSet"]
    with faults.aws_calls(app) as counter:
        client.put(f"{WEBSITES}/{SITE}", json={"Tags": [{"Key": "Old", "Value": "1"}]})
    tag_resource = counter.calls.index("cloudfront:TagResource") + 1
    with faults.aws_calls(app, tag_resource):
        assert client.put(f"{WEBSITES}/{SITE}", json={"Tags": [{"Key": "New", "Value": "2"}]}).status_code == 503
    assert s3.get_bucket_tagging(Bucket=SITE)["TagSet"] == before


def test_invalidate_and_read_its_status(client):
    created(client)
    r = client.patch(f"{WEBSITES}/{SITE}", json={"CacheInvalidation": ["/*", "/index.html"]})
    assert r.status_code == 200, r.json
    invalidation = r.json["Invalidation"]
    assert invalidation["InvalidationBatch"]["Paths"]["Items"] == ["/*", "/index.html"]
    assert "/invalidation/" in r.json["Location"]
    status = client.get(f"{WEBSITES}/{SITE}/invalidations/{invalidation['Id']}")
    assert status.status_code == 200
    assert status.json["Invalidation"]["Status"] == "Completed"  # moto says COMPLETED
    assert client.get(f"{WEBSITES}/{SITE}/invalidations/NOSUCHID").status_code == 404
    assert client.get(f"{WEBSITES}/{SITE}/invalidations/bad-id!").status_code == 400
    assert client.patch(f"{WEBSITES}/{SITE}", json={"CacheInvalidation": []}).status_code == 400
    assert client.patch(f"{WEBSITES}/{SITE}", json={"CacheInvalidation": ["no-slash"]}).status_code == 400
    assert client.patch(f"{WEBSITES}/none.example.test", json={"CacheInvalidation": ["/*"]}).status_code == 404


def test_duck_bookmark(client):
    r = client.get(f"{WEBSITES}/{SITE}/duck?path=/docs/")
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == f"attachment; filename={SITE}-docs.duck"
    bookmark = plistlib.loads(r.data)
    assert bookmark["Path"] == f"/{SITE}/docs" and bookmark["Protocol"] == "s3"
    assert client.get(f"{WEBSITES}/{SITE}/duck?path=/../").status_code == 400


# --- delete --------------------------------------------------------------------------------------------------


def test_delete_answers_yale_shape_and_removes_everything(client, iam, cf, r53, s3, seed):
    before = state()
    body = created(client)
    add_website_user(iam, SITE, "site-admin")
    r = client.delete(f"{WEBSITES}/{SITE}")
    assert r.status_code == 200, r.json
    deleted = r.json
    assert set(deleted) == {"Website", "Users", "Policies", "Groups", "Distribution", "DnsChange"}
    assert deleted["Website"] == SITE
    assert [u["UserName"] for u in deleted["Users"]] == ["site-admin"]
    assert sorted(deleted["Groups"]) == [f"{SITE}-BktAdmGrp", f"{SITE}-WebAdmGrp"]
    assert sorted(deleted["Policies"]) == [f"{SITE}-BktAdmPlc", f"{SITE}-WebAdmPlc"]
    assert deleted["Distribution"]["Id"] == body["Distribution"]["Id"]
    assert deleted["Distribution"]["DistributionConfig"]["Enabled"] is False
    assert deleted["DnsChange"]["Id"].startswith("/change/")
    after = state()
    assert {k: v for k, v in after.items()} == before  # the distribution is disabled, not enabled
    assert distribution_config(cf, body["Distribution"]["Id"])["Enabled"] is False  # deleted by the sweeper
    assert client.delete(f"{WEBSITES}/{SITE}").status_code == 404


def test_delete_records_the_order_dns_then_disable_then_iam_then_bucket(client, app):
    created(client)
    with faults.aws_calls(app) as hook:
        assert client.delete(f"{WEBSITES}/{SITE}").status_code == 200
    calls = hook.calls

    def first(op: str) -> int:
        return calls.index(op)

    dns = first("route53:ChangeResourceRecordSets")
    disable = first("cloudfront:UpdateDistribution")
    iam_deletes = [i for i, c in enumerate(calls) if c.startswith("iam:Delete") or c.startswith("iam:Detach")]
    bucket = first("s3:DeleteBucket")
    assert dns < disable < min(iam_deletes) and max(iam_deletes) < bucket
    assert first("s3:DeleteObject") < bucket
    assert "cloudfront:DeleteDistribution" not in calls  # left to the sweeper, never waited for


def test_yale_not_empty_400_fixed(client, app, s3):
    """§9.14: Yale answered 400 for a website holding content; here 409, before anything is touched."""
    created(client)
    s3.put_object(Bucket=SITE, Key="about.html", Body=b"x")
    before = state()
    with faults.aws_calls(app) as hook:
        r = client.delete(f"{WEBSITES}/{SITE}")
    assert r.status_code == 409 and "not empty" in r.json["message"]
    assert state() == before
    assert not [c for c in hook.calls if ":Delete" in c or ":Update" in c or ":Change" in c]


def test_a_replaced_index_page_is_content(client, s3):
    created(client)
    s3.put_object(Bucket=SITE, Key="index.html", Body=b"<p>mine</p>")  # no default-page tag any more
    assert client.delete(f"{WEBSITES}/{SITE}").status_code == 409
    assert client.get(f"{WEBSITES}/{SITE}").json["Empty"] is False


def test_delete_with_path_index_pages_and_a_yale_index_page(client, s3):
    """§9.14: Yale counted path-scoped default pages as content, so such a site could not be deleted."""
    created(client)
    r = client.post(f"{WEBSITES}/{SITE}/users", json={"User": {"UserName": "docs-writer", "Path": "/docs/"}})
    assert r.status_code == 200, r.json
    s3.put_object(Bucket=SITE, Key="index.html", Body=b"hi", Tagging="yale:spinup=true")
    assert client.get(f"{WEBSITES}/{SITE}").json["Empty"] is True
    r = client.delete(f"{WEBSITES}/{SITE}")
    assert r.status_code == 200, r.json
    assert [u["UserName"] for u in r.json["Users"]] == ["docs-writer"]
    assert f"{SITE}-docs-BktAdmGrp" in r.json["Groups"] and f"{SITE}-docs-BktAdmPlc" in r.json["Policies"]


def test_yale_website_delete_leaves_dns_live_fixed(client, app, cf, r53, s3, iam, seed):
    """§9.4/§9.14: Yale deleted the bucket first and could stop before removing the DNS record and disabling
    the distribution, leaving the name pointing at a free bucket name (a site with one root admin, member of
    BktAdmGrp and WebAdmGrp, was enough). Here the DNS records go first and the bucket last: a failure in
    between leaves the bucket (nobody can claim the name), and a retry finishes the job."""
    body = created(client)
    add_website_user(iam, SITE, "admin-one")
    iam.add_user_to_group(GroupName=f"{SITE}-WebAdmGrp", UserName="admin-one")
    with fail_first(app, "iam:DeleteAccessKey") as hook:
        r = client.delete(f"{WEBSITES}/{SITE}")
    assert hook.failed and r.status_code == 503, r.json
    assert records(r53, seed) == []  # the name no longer points anywhere
    assert distribution_config(cf, body["Distribution"]["Id"])["Enabled"] is False
    assert SITE in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    r = client.delete(f"{WEBSITES}/{SITE}")  # retry-safe
    assert r.status_code == 200, r.json
    assert [u["UserName"] for u in r.json["Users"]] == ["admin-one"]
    assert SITE not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "admin-one" not in [u["UserName"] for u in iam.list_users()["Users"]]
    assert not [g for g in faults.snapshot()["groups"] if g.startswith(SITE)]


def test_yale_substring_group_matching_fixed(client, iam):
    """§9.5: Yale's delete kept groups *containing* the site name, stripping users of other sites."""
    created(client, "site.example.test")
    created(client, "mysite.example.test")
    add_website_user(iam, "mysite.example.test", "my-admin")
    add_website_user(iam, "site.example.test", "site-admin")
    other = client.post(
        f"{WEBSITES}/mysite.example.test/users", json={"User": {"UserName": "my-docs", "Path": "/docs/"}}
    )
    assert other.status_code == 200
    before = {
        g: iam.get_group(GroupName=g)["Users"] for g in (f"mysite.example.test-{k}" for k in ("BktAdmGrp", "WebAdmGrp"))
    }
    r = client.delete(f"{WEBSITES}/site.example.test")
    assert r.status_code == 200, r.json
    assert all(not g.startswith("mysite") for g in r.json["Groups"])
    assert [u["UserName"] for u in r.json["Users"]] == ["site-admin"]
    users = [u["UserName"] for u in iam.list_users()["Users"]]
    assert "my-admin" in users and "my-docs" in users
    assert {g: iam.get_group(GroupName=g)["Users"] for g in before} == before
    assert iam.list_access_keys(UserName="my-admin")["AccessKeyMetadata"]
    assert iam.get_group(GroupName="mysite.example.test-docs-BktAdmGrp")["Users"]


def test_a_bucket_named_like_a_path_group_is_not_the_sites(client, iam, s3):
    """``www.example.test-docs-BktAdmGrp`` is also the admin group of a *bucket* named ``www.example.test-docs``;
    its policy has no scoping path, so the site's delete leaves it alone."""
    created(client)
    r = client.post("/v1/s3/local/buckets", json={"BucketInput": {"Bucket": f"{SITE}-docs"}})
    assert r.status_code == 200, r.json
    assert client.delete(f"{WEBSITES}/{SITE}").status_code == 200
    assert iam.get_group(GroupName=f"{SITE}-docs-BktAdmGrp")["Group"]
    assert f"{SITE}-docs" in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_yale_subdomain_takeover_via_bucket_route_fixed(client, s3):
    """§9.4: once the default page was deleted, Yale's bucket route deleted a website's bucket and left the
    DNS alias and the enabled distribution behind."""
    created(client)
    s3.delete_object(Bucket=SITE, Key="index.html")
    r = client.delete(f"/v1/s3/local/buckets/{SITE}")
    assert r.status_code == 409
    assert SITE in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_delete_outside_the_domains_is_400(client):
    assert client.delete(f"{WEBSITES}/www.other.test").status_code == 400


# --- sweeper -------------------------------------------------------------------------------------------------


def test_sweeper_deletes_a_disabled_distribution_whose_bucket_is_gone(client, app, settings, cf, r53, seed):
    body = created(client)
    dist_id = body["Distribution"]["Id"]
    kept = created(client, "kept.example.test")["Distribution"]["Id"]  # enabled: never touched
    # a failed delete half-way: distribution disabled, bucket gone, but a DNS record still there
    assert client.delete(f"{WEBSITES}/{SITE}").status_code == 200
    record = {
        "Name": SITE,
        "Type": "A",
        "AliasTarget": {
            "HostedZoneId": "Z2FDTNDATAQYW2",
            "DNSName": body["Distribution"]["DomainName"],
            "EvaluateTargetHealth": False,
        },
    }
    r53.change_resource_record_sets(
        HostedZoneId=seed["hosted_zone_id"],
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]},
    )
    # another organisation's disabled distribution is left alone
    foreign = dict(distribution_config(cf, kept), CallerReference="foreign", Enabled=False, Aliases={"Quantity": 0})
    foreign["DefaultCacheBehavior"]["TargetOriginId"] = "gone-bucket"
    foreign["Origins"]["Items"][0]["Id"] = "gone-bucket"
    other_org = cf.create_distribution_with_tags(
        DistributionConfigWithTags={
            "DistributionConfig": foreign,
            "Tags": {"Items": [{"Key": "s3api:org", "Value": "someone-else"}]},
        }
    )["Distribution"]["Id"]

    done = periodic.run_all(settings, app.extensions["s3api"].clients)
    assert done["delete_distributions"] == 1 and done["delete_dns_records"] == 1
    ids = [d["Id"] for d in cf.list_distributions()["DistributionList"]["Items"]]
    assert dist_id not in ids and kept in ids and other_org in ids
    assert records(r53, seed) == []
    assert periodic.run_all(settings, app.extensions["s3api"].clients)["delete_distributions"] == 0


def test_sweeper_deletes_only_deployed_ones_but_removes_dns_at_once(client, app, settings, cf, r53, seed, monkeypatch):
    body = created(client)
    assert client.delete(f"{WEBSITES}/{SITE}").status_code == 200
    target = {
        "HostedZoneId": "Z2FDTNDATAQYW2",
        "DNSName": body["Distribution"]["DomainName"],
        "EvaluateTargetHealth": False,
    }
    record = {"Name": SITE, "Type": "AAAA", "AliasTarget": target}
    r53.change_resource_record_sets(
        HostedZoneId=seed["hosted_zone_id"],
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]},
    )
    listed = cloudfront_gateway.list_distributions
    monkeypatch.setattr(
        cloudfront_gateway,
        "list_distributions",
        lambda aws: [dict(d, Status="InProgress") for d in listed(aws)],
    )
    done = periodic.run_all(settings, app.extensions["s3api"].clients)
    assert done["delete_distributions"] == 0 and done["delete_dns_records"] == 1
    assert records(r53, seed) == []
    assert body["Distribution"]["Id"] in [d["Id"] for d in cf.list_distributions()["DistributionList"]["Items"]]


def test_yale_cleaner_first_error_aborts_the_pass_fixed(client, app, settings, cf):
    """§9.23: Yale's cleaner stopped at the first error; here one distribution failing leaves the others."""
    first = created(client)["Distribution"]["Id"]
    second = created(client, "two.example.test")["Distribution"]["Id"]
    assert client.delete(f"{WEBSITES}/{SITE}").status_code == 200
    assert client.delete(f"{WEBSITES}/two.example.test").status_code == 200
    with fail_first(app, "cloudfront:DeleteDistribution"):
        done = periodic.run_all(settings, app.extensions["s3api"].clients)
    assert done["delete_distributions"] == 1
    left = [d["Id"] for d in cf.list_distributions()["DistributionList"]["Items"]]
    assert len({first, second} & set(left)) == 1
    assert periodic.run_all(settings, app.extensions["s3api"].clients)["delete_distributions"] == 1
    assert not cf.list_distributions()["DistributionList"].get("Items")
