"""Concurrency against a real server for bucket users and websites (issue 7, part 2): gunicorn with 4 workers on
127.0.0.1, one shared emulator. 20 clients create the same thing at once: exactly one 200, the others 409, and
nothing orphaned. Bounded in count (20 clients) and time (request timeouts); traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.conftest import TOKEN, Server, serve
from tests.e2e.test_concurrency import CLIENTS, race, statuses

pytestmark = pytest.mark.e2e
H = {"X-Auth-Token": TOKEN}
TIMEOUT = 60
SITE = "race.example.test"  # the embedded emulator is seeded with the domain example.test


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serve(workers=4) as srv:
        yield srv


def test_twenty_creates_of_one_bucket_user(server: Server) -> None:
    bucket = "race-users"
    r = requests.post(
        server.url("/local/buckets"), json={"BucketInput": {"Bucket": bucket}}, headers=H, timeout=TIMEOUT
    )
    assert r.status_code == 200, r.text
    body = {"User": {"UserName": "race-user"}, "Groups": ["BktAdmGrp", "BktRWGrp"]}  # read-write: made lazily
    url = server.url(f"/local/buckets/{bucket}/users")
    responses = race(CLIENTS, lambda i: requests.post(url, json=body, headers=H, timeout=TIMEOUT))
    assert statuses(responses) == Counter({200: 1, 409: CLIENTS - 1}), [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 200)
    iam = server.boto3("iam")
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["race-user"]
    keys = iam.list_access_keys(UserName="race-user")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [winner["AccessKey"]["AccessKeyId"]]
    groups = sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName="race-user")["Groups"])
    assert groups == [f"{bucket}-BktAdmGrp", f"{bucket}-BktRWGrp"]
    assert [g["GroupName"] for g in iam.list_groups()["Groups"]].count(f"{bucket}-BktRWGrp") == 1
    policies = [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    assert policies.count(f"{bucket}-BktRWPlc") == 1
    for r in responses:
        if r.status_code == 409:
            assert r.json()["code"] == "Conflict" and "SecretAccessKey" not in r.text


def test_twenty_creates_of_one_website(server: Server) -> None:
    body = {"BucketInput": {"Bucket": SITE}}
    responses = race(
        CLIENTS, lambda i: requests.post(server.url("/local/websites"), json=body, headers=H, timeout=TIMEOUT)
    )
    assert statuses(responses) == Counter({200: 1, 409: CLIENTS - 1}), [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert [b["Name"] for b in server.boto3("s3").list_buckets()["Buckets"]].count(SITE) == 1
    dists = server.boto3("cloudfront").list_distributions()["DistributionList"].get("Items", [])
    ours = [d for d in dists if SITE in (d.get("Aliases", {}).get("Items") or [])]
    assert [d["Id"] for d in ours if d["Enabled"]] == [winner["Distribution"]["Id"]]
    assert len(ours) == 1  # no loser got as far as a distribution (disabled or not)
    r53 = server.boto3("route53")
    zone = r53.list_hosted_zones_by_name(DNSName="example.test")["HostedZones"][0]["Id"]
    rrs = r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    assert sorted(r["Type"] for r in rrs if r["Name"] == f"{SITE}.") == ["A", "AAAA"]
    iam = server.boto3("iam")
    groups = [g["GroupName"] for g in iam.list_groups()["Groups"] if g["GroupName"].startswith(f"{SITE}-")]
    assert sorted(groups) == [f"{SITE}-BktAdmGrp", f"{SITE}-WebAdmGrp"]
    policies = [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    assert sorted(p for p in policies if p.startswith(f"{SITE}-")) == [f"{SITE}-BktAdmPlc", f"{SITE}-WebAdmPlc"]


def test_twenty_creates_of_one_website_user(server: Server) -> None:
    """Needs the site of the test above (module order): 20 creates of one path-scoped website user."""
    site = f"/local/websites/{SITE}"
    if requests.head(server.url(site), headers=H, timeout=TIMEOUT).status_code != 200:
        pytest.skip("the website of test_twenty_creates_of_one_website is missing")
    body = {"User": {"UserName": "race-web", "Path": "/docs/"}, "Groups": ["BktRWGrp"]}
    url = server.url(f"{site}/users")
    responses = race(CLIENTS, lambda i: requests.post(url, json=body, headers=H, timeout=TIMEOUT))
    assert statuses(responses) == Counter({200: 1, 409: CLIENTS - 1}), [r.text for r in responses]
    iam = server.boto3("iam")
    assert len(iam.list_access_keys(UserName="race-web")["AccessKeyMetadata"]) == 1
    groups = [g["GroupName"] for g in iam.list_groups()["Groups"]]
    assert groups.count(f"{SITE}-docs-BktRWGrp") == 1
    keys = sorted(o["Key"] for o in server.boto3("s3").list_objects_v2(Bucket=SITE).get("Contents", []))
    assert keys == ["docs/index.html", "index.html"]


def test_user_delete_racing_create_ends_consistent(server: Server) -> None:
    """Creates and deletes of one user interleaved: no 5xx, and afterwards the user either exists whole (in its
    group, with exactly one key) or not at all; a last delete leaves nothing."""
    bucket = "race-flip"
    r = requests.post(
        server.url("/local/buckets"), json={"BucketInput": {"Bucket": bucket}}, headers=H, timeout=TIMEOUT
    )
    assert r.status_code == 200, r.text
    users = server.url(f"/local/buckets/{bucket}/users")
    body = {"User": {"UserName": "flip-user"}}

    def act(i: int) -> requests.Response:
        if i % 2:
            return requests.delete(f"{users}/flip-user", headers=H, timeout=TIMEOUT)
        return requests.post(users, json=body, headers=H, timeout=TIMEOUT)

    responses = race(10, act)
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses if r.status_code >= 500]
    iam = server.boto3("iam")
    if "flip-user" in [u["UserName"] for u in iam.list_users()["Users"]]:
        shown = requests.get(f"{users}/flip-user", headers=H, timeout=TIMEOUT)
        assert shown.status_code in (200, 404), shown.text
        if shown.status_code == 200:
            assert len(shown.json()["AccessKeys"]) == 1
        r = requests.delete(f"{users}/flip-user", headers=H, timeout=TIMEOUT)
        assert r.status_code == 200, r.text  # a leftover of an interrupted delete counts as ours too
    assert "flip-user" not in [u["UserName"] for u in iam.list_users()["Users"]]
