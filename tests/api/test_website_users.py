"""Website users through the test client on mock_aws: root and path-scoped users (groups, policies, default
page), list, show (path from the groups), rotate, delete, rollback, and the site's exact group set.

Tests named ``test_yale_*_fixed`` prove that a weakness of the Yale service (yale-s3-api.md §9) is gone.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests import faults
from tests.conftest import Client

SITE = "www.example.test"
OTHER = "mywww.example.test"
USERS = f"/v1/s3/local/websites/{SITE}/users"


@pytest.fixture
def site(client: Client) -> str:
    r = client.post("/v1/s3/local/websites", json={"BucketInput": {"Bucket": SITE}})
    assert r.status_code == 200, r.json
    return SITE


def add(client: Client, name: str, path: str | None = None, groups: list[str] | None = None, site: str = SITE) -> Any:
    user: dict[str, Any] = {"UserName": name}
    if path is not None:
        user["Path"] = path
    body: dict[str, Any] = {"User": user}
    if groups is not None:
        body["Groups"] = groups
    return client.post(f"/v1/s3/local/websites/{site}/users", json=body)


def groups_of(iam: Any, user: str) -> list[str]:
    return sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"])


def document(iam: Any, arn: str) -> dict[str, Any]:
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    doc = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    return json.loads(doc) if isinstance(doc, str) else dict(doc)


# --- create --------------------------------------------------------------------------------------------------


def test_root_admin_joins_the_admin_and_web_admin_groups_and_gets_a_key_once(client, site, iam):
    r = add(client, "alice")
    assert r.status_code == 200, r.json
    assert r.json["User"]["UserName"] == "alice" and r.json["Path"] == "/"
    key = r.json["AccessKey"]
    assert key["SecretAccessKey"] and key["Status"] == "Active"
    assert groups_of(iam, "alice") == [f"{SITE}-BktAdmGrp", f"{SITE}-WebAdmGrp"]
    shown = client.get(f"{USERS}/alice").json
    assert shown["Path"] == "/" and "SecretAccessKey" not in json.dumps(shown)
    assert [k["AccessKeyId"] for k in shown["AccessKeys"]] == [key["AccessKeyId"]]


def test_path_user_gets_scoped_groups_policies_and_a_default_page(client, site, iam, s3):
    r = add(client, "writer", "/docs/", ["BktRWGrp"])
    assert r.status_code == 200, r.json
    assert r.json["User"]["Path"] == "/docs/"
    assert groups_of(iam, "writer") == [f"{SITE}-docs-BktRWGrp"]  # never WebAdmGrp
    (attached,) = iam.list_attached_group_policies(GroupName=f"{SITE}-docs-BktRWGrp")["AttachedPolicies"]
    assert attached["PolicyName"] == f"{SITE}-docs-BktRWPlc"
    assert attached["PolicyArn"].endswith(f":policy/docs/{SITE}-docs-BktRWPlc")  # IAM path = scoping path
    doc = document(iam, attached["PolicyArn"])
    objects = [s for s in doc["Statement"] if s["Sid"] == "ObjectWrite"][0]
    assert objects["Resource"] == [f"arn:aws:s3:::{SITE}/docs/*"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=SITE)["Contents"]]
    assert sorted(keys) == ["docs/index.html", "index.html"]  # no "/docs/index.html"
    tags = s3.get_object_tagging(Bucket=SITE, Key="docs/index.html")["TagSet"]
    assert {"Key": "s3api:default-page", "Value": "true"} in tags

    # a second user of the same path reuses the groups and leaves an existing page alone
    s3.put_object(Bucket=SITE, Key="a/b/index.html", Body=b"mine")
    assert add(client, "reader", "/docs/", ["BktROGrp"]).status_code == 200
    assert add(client, "nested", "/a/b/", ["BktAdmGrp"]).status_code == 200
    assert s3.get_object(Bucket=SITE, Key="a/b/index.html")["Body"].read() == b"mine"
    assert groups_of(iam, "nested") == [f"{SITE}-a_b-BktAdmGrp"]
    assert client.get(f"{USERS}/nested").json["Path"] == "/a/b/"


def test_create_validates_before_any_aws_call(client, site, app):
    with faults.aws_calls(app) as hook:
        assert add(client, "x", "/../").status_code == 400
        assert add(client, "x", "/a b/").status_code == 400
        assert add(client, "x", groups=["WebAdmGrp"]).status_code == 400
        assert add(client, "bad name!").status_code == 400
    assert hook.calls == []
    assert add(client, "x", site="none.example.test").status_code == 404
    assert add(client, "alice").status_code == 200
    assert add(client, "alice").status_code == 409


def test_yale_website_user_rollback_fixed(client, site, app, iam, s3):
    """§9.9/§9.11: Yale's undo did not fire inside the group loop (the user stayed behind) and could not delete
    a lazily created group with its policy attached. A failure when joining a group undoes everything: the
    user, the lazily created group and policy, and the default page of the path."""
    before = faults.snapshot()
    with faults.aws_calls(app) as counter:
        assert add(client, "probe", "/probe/").status_code == 200
    join = counter.calls.index("iam:AddUserToGroup") + 1
    with faults.aws_calls(app, join) as hook:
        r = add(client, "writer", "/docs/", ["BktRWGrp"])
    assert hook.failed == "iam:AddUserToGroup" and r.status_code == 503
    after = faults.snapshot()
    for key in ("users", "groups", "policies", "keys", "members"):
        if isinstance(after[key], dict):
            assert {k: v for k, v in after[key].items() if "probe" not in k} == before[key], key
        else:
            assert [x for x in after[key] if "probe" not in x] == before[key], key
    assert "docs/index.html" not in [o["Key"] for o in s3.list_objects_v2(Bucket=SITE)["Contents"]]


# --- list, show, rotate, delete ------------------------------------------------------------------------------


def test_list_shows_users_of_every_path_and_only_this_site(client, site, iam):
    assert client.post("/v1/s3/local/websites", json={"BucketInput": {"Bucket": OTHER}}).status_code == 200
    assert client.get(USERS).json == []
    add(client, "root-admin")
    add(client, "docs-writer", "/docs/", ["BktRWGrp"])
    add(client, "other-admin", site=OTHER)
    add(client, "other-docs", "/docs/", site=OTHER)
    r = client.get(USERS)
    assert r.status_code == 200
    assert [u["UserName"] for u in r.json] == ["docs-writer", "root-admin"]
    assert client.get("/v1/s3/local/websites/none.example.test/users").status_code == 404


def test_yale_username_path_guess_fixed(client, site):
    """§9.16: Yale derived the path from the user name (``<site>-<seg>-<name>``); here it comes from the groups."""
    assert add(client, f"{SITE}-docs-alice").status_code == 200
    assert client.get(f"{USERS}/{SITE}-docs-alice").json["Path"] == "/"
    assert add(client, "bob", "/my-docs/").status_code == 200
    assert client.get(f"{USERS}/bob").json["Path"] == "/my-docs/"


def test_show_rotate_delete_are_404_outside_the_site(client, site, iam):
    assert client.post("/v1/s3/local/websites", json={"BucketInput": {"Bucket": OTHER}}).status_code == 200
    add(client, "theirs", site=OTHER)
    iam.create_user(UserName="human-admin")
    for name in ("theirs", "human-admin", "nobody"):
        assert client.get(f"{USERS}/{name}").status_code == 404
        assert client.put(f"{USERS}/{name}").status_code == 404
        assert client.delete(f"{USERS}/{name}").status_code == 404
    assert iam.list_access_keys(UserName="theirs")["AccessKeyMetadata"]


def test_rotate_and_delete(client, site, iam):
    first = add(client, "writer", "/docs/", ["BktRWGrp"]).json["AccessKey"]["AccessKeyId"]
    r = client.put(f"{USERS}/writer")
    assert r.status_code == 200, r.json
    assert r.json["DeletedKeyIds"] == [first] and r.json["AccessKey"]["SecretAccessKey"]
    r = client.put(f"{USERS}/writer?grace_seconds=60")
    assert r.status_code == 200 and r.json["RetiringKeys"]
    assert client.delete(f"{USERS}/writer").status_code == 200
    assert "writer" not in [u["UserName"] for u in iam.list_users()["Users"]]
    assert iam.get_group(GroupName=f"{SITE}-docs-BktRWGrp")["Users"] == []  # the group stays for the site
    assert client.get(f"{USERS}/writer").status_code == 404


def test_colliding_path_names_never_share_a_group(client, site, iam, s3):
    """Yale's naming maps `/a_b/` and `/a/b/` to the same group name (`<site>-a_b-BktRWGrp`). The group carries
    its scoping path, so a user for the other path is refused (409) instead of being given the first path's
    prefix, and nothing of the refused request stays behind."""
    assert add(client, "ab-user", "/a_b/", ["BktRWGrp"]).status_code == 200
    logs = ["s3api-access-logs-123456789012"]  # moto delivers access logs there as requests go by
    before = faults.snapshot(skip_objects_of=logs)
    r = add(client, "a-b-user", "/a/b/", ["BktRWGrp"])
    assert r.status_code == 409, r.json
    assert "/a_b/" in r.json["message"]
    assert faults.snapshot(skip_objects_of=logs) == before
    assert iam.get_group(GroupName=f"{SITE}-a_b-BktRWGrp")["Group"]["Path"] == f"/s3api-sites/{SITE}/a_b/"
