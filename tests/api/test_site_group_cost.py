"""Website delete and website-user listing cost the same whatever else the account holds (issue 12, "Fewer
calls"): a site created by s3api carries a marker on its claim ``<site>-BktAdmPlc`` and keeps its path groups
under its own IAM path (``/s3api-sites/<site>/…``), so the routes ask ListGroups for that prefix only and read
the root groups by name. Sites without the marker (the Yale service's, or s3api's before it) are still found
by a scan of every group.

moto ignores ``PathPrefix`` on ListGroups (it answers every group), so these tests check the request's
parameters, and that unrelated groups change neither the calls nor the answer.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from s3api.provisioning import policies
from tests.api.test_website_users import SITE, USERS, add
from tests.conftest import Client

POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}'
ADMIN_POLICY = f"arn:aws:iam::123456789012:policy/{SITE}-BktAdmPlc"


@pytest.fixture
def site(client: Client) -> str:
    r = client.post("/v1/s3/local/websites", json={"BucketInput": {"Bucket": SITE}})
    assert r.status_code == 200, r.json
    return SITE


class Calls:
    """Every AWS call the app makes, with the ListGroups path prefixes asked."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.prefixes: list[str] = []

    def __call__(self, model: Any, params: Any = None, **_: Any) -> None:
        self.names.append(model.name)
        if model.name == "ListGroups":
            self.prefixes.append((params or {}).get("body", {}).get("PathPrefix", "/"))

    def clear(self) -> None:
        self.names.clear()
        self.prefixes.clear()


@pytest.fixture
def calls(app: Any) -> Any:
    recorder = Calls()
    clients = app.extensions["s3api"].clients
    clients.add_hook("before-call", recorder)
    yield recorder
    clients.remove_hook("before-call", recorder)


def _populate(client: Client) -> None:
    for name, path, kinds in (("root-admin", "/", None), ("docs-rw", "/docs/", ["BktRWGrp"]), ("a-ro", "/a/b/", None)):
        r = add(client, name, path, kinds)
        assert r.status_code == 200, r.json


def _unrelated(iam: Any, count: int, start: int = 0) -> None:
    """Groups of other buckets and sites, some with look-alike names and paths."""
    for i in range(start, start + count):
        iam.create_group(GroupName=f"unrelated-{i}-BktAdmGrp")
    other = f"other{start}.example.test"
    iam.create_group(GroupName=f"{other}-docs-BktRWGrp", Path=f"/s3api-sites/{other}/docs/")


def test_create_marks_the_claim_and_puts_path_groups_under_the_site_path(client, site, iam):
    tags = iam.list_policy_tags(PolicyArn=ADMIN_POLICY)["Tags"]
    assert {"Key": "s3api:site-groups", "Value": "/s3api-sites/"} in tags
    assert add(client, "docs-rw", "/docs/", ["BktRWGrp"]).status_code == 200
    group = iam.get_group(GroupName=f"{SITE}-docs-BktRWGrp")["Group"]
    assert group["Path"] == f"/s3api-sites/{SITE}/docs/" == policies.site_group_path(SITE, "/docs/")
    attached = iam.list_attached_group_policies(GroupName=f"{SITE}-docs-BktRWGrp")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [f"arn:aws:iam::123456789012:policy/docs/{SITE}-docs-BktRWPlc"]


def test_user_listing_costs_the_same_with_many_unrelated_groups(client, site, iam, calls):
    _populate(client)
    _unrelated(iam, 3)
    calls.clear()
    first = client.get(USERS)
    few = Counter(calls.names)
    assert first.status_code == 200 and sorted(u["UserName"] for u in first.json) == ["a-ro", "docs-rw", "root-admin"]
    assert calls.prefixes == [f"/s3api-sites/{SITE}/"]  # never the whole account
    _unrelated(iam, 60, start=3)
    calls.clear()
    second = client.get(USERS)
    assert second.json == first.json
    assert Counter(calls.names) == few
    assert calls.prefixes == [f"/s3api-sites/{SITE}/"]


def test_delete_costs_the_same_with_many_unrelated_groups(client, iam, calls):
    """Two identical sites, the second deleted with 60 more unrelated groups in the account: same calls."""
    counts = []
    for extra in (2, 62):
        assert client.post("/v1/s3/local/websites", json={"BucketInput": {"Bucket": SITE}}).status_code == 200
        _populate(client)
        _unrelated(iam, extra, start=len(counts) * 1000)
        calls.clear()
        r = client.delete(f"/v1/s3/local/websites/{SITE}")
        assert r.status_code == 200, r.json
        assert sorted(u["UserName"] for u in r.json["Users"]) == ["a-ro", "docs-rw", "root-admin"]
        assert f"{SITE}-docs-BktRWGrp" in r.json["Groups"] and f"{SITE}-a_b-BktAdmGrp" in r.json["Groups"]
        assert calls.prefixes == [f"/s3api-sites/{SITE}/"]
        counts.append(Counter(calls.names))
        left = [g["GroupName"] for g in iam.list_groups()["Groups"] if g["GroupName"].startswith(SITE)]
        assert left == []
    assert counts[0] == counts[1]


def test_a_group_under_the_site_path_is_still_proven_the_sites(client, site, iam):
    """The prefix only narrows the search: a look-alike group under the site's IAM path holding another
    policy (not the site's path policy) is not the site's, and its members are not listed."""
    iam.create_group(GroupName=f"{SITE}-x-BktRWGrp", Path=f"/s3api-sites/{SITE}/x/")
    other = iam.create_policy(PolicyName="elsewhere", PolicyDocument=POLICY)
    iam.attach_group_policy(GroupName=f"{SITE}-x-BktRWGrp", PolicyArn=other["Policy"]["Arn"])
    iam.create_user(UserName="mallory")
    iam.add_user_to_group(GroupName=f"{SITE}-x-BktRWGrp", UserName="mallory")
    r = client.get(USERS)
    assert r.status_code == 200 and r.json == []


def test_a_site_without_the_marker_is_scanned(client, site, iam, calls):
    """A site made before the marker (or by the Yale service) may have path groups at any IAM path: listing and
    delete fall back to ListGroups over the account and still find a group at the scoping path itself."""
    iam.untag_policy(PolicyArn=ADMIN_POLICY, TagKeys=["s3api:site-groups"])
    iam.create_group(GroupName=f"{SITE}-old-BktROGrp", Path="/old/")
    old = iam.create_policy(PolicyName=f"{SITE}-old-BktROPlc", Path="/old/", PolicyDocument=POLICY)
    iam.attach_group_policy(GroupName=f"{SITE}-old-BktROGrp", PolicyArn=old["Policy"]["Arn"])
    iam.create_user(UserName="legacy", Path="/old/")
    iam.add_user_to_group(GroupName=f"{SITE}-old-BktROGrp", UserName="legacy")
    calls.clear()
    r = client.get(USERS)
    assert r.status_code == 200 and [u["UserName"] for u in r.json] == ["legacy"]
    assert calls.prefixes == ["/"]
    calls.clear()
    r = client.delete(f"/v1/s3/local/websites/{SITE}")
    assert r.status_code == 200, r.json
    assert "legacy" in [u["UserName"] for u in r.json["Users"]] and f"{SITE}-old-BktROGrp" in r.json["Groups"]
    assert calls.prefixes == ["/"]
