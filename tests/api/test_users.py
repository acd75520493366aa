"""Bucket users through the routes, on moto: create/list/show/rotate/delete, scoping (Yale §9.3, §9.5),
rotation with a grace period and its retirement, undo of every create step, concurrent lazy group creation."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from s3api.aws.clients import AccountAws
from s3api.provisioning import periodic, policies, users

BUCKET = "team-data"
OTHER = "other-data"
LONGER = "team-data-archive"  # contains BUCKET: Yale's substring match mixed their users up
BASE = f"/v1/s3/local/buckets/{BUCKET}/users"
ADM, RW, RO = (policies.group_name(BUCKET, k) for k in policies.GROUP_KINDS)


# --- helpers (imported by test_users_enforced.py) -----------------------------------------------------------


def iam_client() -> Any:
    """A raw IAM client on the same moto state, not hooked by the app (so not counted or failed)."""
    return boto3.client("iam", region_name="us-east-1")


def make_bucket(client: Any, name: str) -> None:
    r = client.post("/v1/s3/local/buckets", json={"BucketInput": {"Bucket": name}})
    assert r.status_code == 200, r.json


def create(client: Any, name: str, groups: list[str] | None = None, bucket: str = BUCKET, **user: Any) -> Any:
    body: dict[str, Any] = {"User": {"UserName": name, **user}}
    if groups is not None:
        body["Groups"] = groups
    return client.post(f"/v1/s3/local/buckets/{bucket}/users", json=body)


def snapshot(iam: Any) -> dict[str, Any]:
    """Everything IAM holds that a user workflow may touch."""
    state: dict[str, Any] = {"users": {}, "groups": {}, "policies": {}}
    for u in iam.list_users()["Users"]:
        n = u["UserName"]
        state["users"][n] = {
            "groups": sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName=n)["Groups"]),
            "keys": sorted(
                (k["AccessKeyId"], k["Status"]) for k in iam.list_access_keys(UserName=n)["AccessKeyMetadata"]
            ),
            "tags": sorted((t["Key"], t.get("Value", "")) for t in iam.list_user_tags(UserName=n)["Tags"]),
            "attached": sorted(p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=n)["AttachedPolicies"]),
        }
    for g in iam.list_groups()["Groups"]:
        n = g["GroupName"]
        state["groups"][n] = {
            "members": sorted(u["UserName"] for u in iam.get_group(GroupName=n)["Users"]),
            "attached": sorted(
                p["PolicyArn"] for p in iam.list_attached_group_policies(GroupName=n)["AttachedPolicies"]
            ),
        }
    for p in iam.list_policies(Scope="Local")["Policies"]:
        state["policies"][p["PolicyName"]] = (p["Arn"], p["AttachmentCount"], p["DefaultVersionId"])
    return state


class Calls:
    """A before-call hook: records every AWS call the app makes; makes call number ``fail_at`` fail (1-based)
    with InternalError, and runs ``before[operation]`` callbacks (to simulate a concurrent request)."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.fail_at = fail_at
        self.names: list[str] = []
        self.params: list[dict[str, Any]] = []
        self.before: dict[str, Any] = {}

    def __call__(self, model: Any, params: Any, **_: Any) -> None:
        self.names.append(model.name)
        self.params.append(dict(params) if isinstance(params, dict) else {})
        action = self.before.pop(model.name, None)
        if action is not None:
            action()
        if self.fail_at is not None and len(self.names) == self.fail_at:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "injected"}}, model.name)


class hooked:
    """``with hooked(app, Calls(...)) as calls:`` registers the hook on the app's clients for the block."""

    def __init__(self, app: Any, calls: Calls) -> None:
        self.clients = app.extensions["s3api"].clients
        self.calls = calls

    def __enter__(self) -> Calls:
        self.clients.add_hook("before-call", self.calls)
        return self.calls

    def __exit__(self, *exc: Any) -> None:
        self.clients.remove_hook("before-call", self.calls)


def account_aws(app: Any) -> AccountAws:
    return app.extensions["s3api"].aws("local")


@pytest.fixture
def bucket(client: Any) -> str:
    make_bucket(client, BUCKET)
    return BUCKET


@pytest.fixture
def iam(aws: None) -> Any:
    return iam_client()


# --- create ----------------------------------------------------------------------------------------------------


def test_create_default_admin_with_key(client, bucket, iam):
    r = create(client, "alice")
    assert r.status_code == 200, r.json
    body = r.json
    assert set(body) == {"User", "AccessKey"}
    assert body["User"]["UserName"] == "alice"
    assert {"Key": "s3api:org", "Value": "test"} in body["User"]["Tags"]
    assert {"Key": "s3api:bucket", "Value": BUCKET} in body["User"]["Tags"]
    key = body["AccessKey"]
    assert set(key) == {"AccessKeyId", "SecretAccessKey", "Status", "CreateDate", "UserName"}
    assert key["Status"] == "Active" and key["UserName"] == "alice" and key["SecretAccessKey"]
    assert datetime.fromisoformat(key["CreateDate"]).tzinfo is not None
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="alice")["Groups"]] == [ADM]
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]] == [
        key["AccessKeyId"]
    ]


def test_create_keeps_caller_tags_and_path(client, bucket, iam):
    r = create(client, "bob", ["BktROGrp"], Path="/team/", Tags=[{"Key": "owner", "Value": "Bob B"}])
    assert r.status_code == 200, r.json
    user = iam.get_user(UserName="bob")["User"]
    assert user["Path"] == "/team/"
    assert {"Key": "owner", "Value": "Bob B"} in user["Tags"]


def test_create_rw_and_ro_groups_lazily_with_their_policies(client, bucket, iam):
    before = set(snapshot(iam)["groups"])
    r = create(client, "carol", ["BktRWGrp", "BktROGrp", "BktRWGrp"])
    assert r.status_code == 200, r.json
    assert set(snapshot(iam)["groups"]) - before == {RW, RO}
    for kind, group in (("BktRWGrp", RW), ("BktROGrp", RO)):
        attached = iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]
        assert [p["PolicyName"] for p in attached] == [policies.policy_name(BUCKET, kind)]
        policy = iam.get_policy(PolicyArn=attached[0]["PolicyArn"])["Policy"]
        assert policy["Description"] == policies.policy_description(BUCKET, kind)
        doc = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])
        assert doc["PolicyVersion"]["Document"] == policies.bucket_policy_for(kind, BUCKET)
        assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == ["carol"]
    assert [u["UserName"] for u in iam.get_group(GroupName=ADM)["Users"]] == []
    # a second user reuses the groups: nothing new is created
    state = snapshot(iam)
    assert create(client, "dave", ["BktRWGrp"]).status_code == 200
    assert set(snapshot(iam)["policies"]) == set(state["policies"])


def test_create_lazy_admin_group_gets_the_bucket_creation_document(client, app, iam):
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)  # made outside: no groups
    assert create(client, "erin").status_code == 200
    arn = iam.list_attached_group_policies(GroupName=ADM)["AttachedPolicies"][0]["PolicyArn"]
    doc = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["Document"]
    settings = app.extensions["s3api"].settings
    assert doc == policies.default_bucket_admin(BUCKET, settings.bucket_actions, settings.object_actions)


def test_create_unknown_bucket_is_404_and_touches_nothing(client, iam):
    before = snapshot(iam)
    r = create(client, "alice")
    assert r.status_code == 404 and "does not exist" in r.json["message"]
    assert snapshot(iam) == before


def test_create_existing_user_is_409_and_leaves_it_alone(client, bucket, iam):
    assert create(client, "alice").status_code == 200
    before = snapshot(iam)
    r = create(client, "alice", ["BktRWGrp"])
    assert r.status_code == 409
    assert snapshot(iam) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"Groups": ["BktAdmGrp"]},
        {"User": {"UserName": "bad name!"}},
        {"User": {"UserName": ""}},
        {"User": {"UserName": "x" * 65}},
        {"User": {"UserName": "é"}},
        {"User": {"UserName": "alice\n"}},
        {"User": {"UserName": "ok", "Path": "/team/\n"}},
        {"User": {}},
        {"User": {"UserName": "ok", "Path": "team"}},
        {"User": {"UserName": "ok", "Path": "/team"}},
        {"User": {"UserName": "ok", "PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess"}},
        {"User": {"UserName": "ok"}, "Groups": ["Nope"]},
        {"User": {"UserName": "ok"}, "Groups": []},
        {"User": {"UserName": "ok"}, "Groups": "BktAdmGrp"},
        {"User": {"UserName": "ok"}, "Extra": 1},
        {"User": {"UserName": "ok", "Tags": [{"Key": "s3api:bucket", "Value": "other-data"}]}},
        {"User": {"UserName": "ok", "Tags": [{"Key": "S3API:retire:AKIA", "Value": "2000-01-01T00:00:00Z"}]}},
        {"User": {"UserName": "ok", "Tags": [{"Key": "s3api:org", "Value": "evil"}]}},
        {"User": {"UserName": "ok", "Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}},
        {"User": {"UserName": "ok", "Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(47)]}},
        {"User": {"UserName": "ok", "Tags": [{"Key": "bad\u0007", "Value": "v"}]}},
    ],
)
def test_create_rejects_bad_input_before_any_aws_call(client, app, iam, body):
    before = snapshot(iam)
    with hooked(app, Calls()) as calls:
        r = client.post(BASE, json=body)
    assert r.status_code == 400, r.json
    assert r.json["code"] == "BadRequest"
    assert calls.names == []
    assert snapshot(iam) == before


def test_create_accepts_46_caller_tags(client, bucket):
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(46)]
    assert create(client, "tagged", Tags=tags).status_code == 200


def test_invalid_bucket_name_is_400(client):
    assert client.get("/v1/s3/local/buckets/bad:name/users").status_code == 400
    assert client.get("/v1/s3/local/buckets/bad:name/users/alice").status_code == 400


def test_unknown_account_is_404(client):
    assert client.get("/v1/s3/nope/buckets/team-data/users").status_code == 404


# --- undo of every create step ---------------------------------------------------------------------------------


def _every_step_undone(client: Any, app: Any, iam: Any, groups: list[str], expected_calls: list[str]) -> None:
    with hooked(app, Calls()) as probe:  # a dry run counts the calls, then is deleted again
        assert create(client, "probe", groups).status_code == 200
    assert probe.names == expected_calls
    assert client.delete(f"{BASE}/probe").status_code == 200
    for group in {RW, RO} & set(snapshot(iam)["groups"]):  # back to "groups missing"
        for p in iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]:
            iam.detach_group_policy(GroupName=group, PolicyArn=p["PolicyArn"])
            iam.delete_policy(PolicyArn=p["PolicyArn"])
        iam.delete_group(GroupName=group)
    before = snapshot(iam)
    for k in range(1, len(expected_calls) + 1):
        with hooked(app, Calls(fail_at=k)) as calls:
            r = create(client, "victim", groups)
        assert r.status_code == 503, (k, expected_calls[k - 1], r.json)
        assert calls.names[:k] == expected_calls[:k]
        assert snapshot(iam) == before, f"step {k} ({expected_calls[k - 1]}) was not undone completely"
    assert create(client, "victim", groups).status_code == 200


def test_create_undoes_every_step_with_lazy_groups(client, app, bucket, iam):
    lazy = ["GetGroup", "CreatePolicy", "CreateGroup", "AttachGroupPolicy"]
    claim = ["HeadBucket", "CreateUser", "HeadBucket"]  # the bucket checked again after the claim
    expected = [*claim, *lazy, *lazy, "AddUserToGroup", "AddUserToGroup", "CreateAccessKey"]
    _every_step_undone(client, app, iam, ["BktRWGrp", "BktROGrp"], expected)


def test_create_undoes_every_step_with_existing_group(client, app, bucket, iam):
    expected = [
        "HeadBucket",
        "CreateUser",
        "HeadBucket",  # the bucket checked again after the claim
        "GetGroup",
        "ListAttachedGroupPolicies",  # provably this bucket's group (scope.GroupSpec.owns)
        "AddUserToGroup",
        "CreateAccessKey",
    ]
    _every_step_undone(client, app, iam, ["BktAdmGrp"], expected)


def test_rollback_runs_in_aws_order(client, app, bucket):
    with hooked(app, Calls(fail_at=9)) as calls:  # fail at CreateAccessKey
        assert create(client, "victim", ["BktRWGrp"]).status_code == 503
    assert calls.names[8] == "CreateAccessKey"
    undo = [n for n in calls.names[9:] if not n.startswith(("Get", "List"))]
    assert undo == ["RemoveUserFromGroup", "DetachGroupPolicy", "DeleteGroup", "DeletePolicy", "DeleteUser"]


# --- concurrent lazy creation (Yale §9.20: 500 + orphaned users) -----------------------------------------------


def test_yale_concurrent_lazy_group_creation_fixed(client, app, bucket, iam):
    """Two requests both see the RW group missing; both must succeed and share one group and policy."""
    barrier = threading.Barrier(2, timeout=10)
    lock = threading.Lock()
    waited: list[str] = []

    def meet_at_getgroup(model: Any, params: Any, **_: Any) -> None:
        if model.name == "GetGroup" and params.get("GroupName") == RW:
            with lock:
                first = len(waited) < 2
                waited.append(threading.current_thread().name)
            if first:
                barrier.wait()

    results: dict[str, int] = {}

    def post(name: str) -> None:
        results[name] = create(type(client)(app.test_client()), name, ["BktRWGrp"]).status_code

    clients = app.extensions["s3api"].clients
    clients.add_hook("before-call", meet_at_getgroup)
    try:
        threads = [threading.Thread(target=post, args=(n,), name=n) for n in ("one", "two")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        clients.remove_hook("before-call", meet_at_getgroup)
    assert results == {"one": 200, "two": 200}
    assert sorted(u["UserName"] for u in iam.get_group(GroupName=RW)["Users"]) == ["one", "two"]
    attached = iam.list_attached_group_policies(GroupName=RW)["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == [policies.policy_name(BUCKET, "BktRWGrp")]


def test_rollback_leaves_a_concurrent_requests_group_and_policy(client, app, bucket, iam):
    """The group and policy appear (made by "someone else") between our GetGroup and CreatePolicy; our
    later failure must not delete them."""

    def someone_else() -> None:
        arn = iam.create_policy(
            PolicyName=policies.policy_name(BUCKET, "BktRWGrp"),
            PolicyDocument=json.dumps(policies.bucket_policy_for("BktRWGrp", BUCKET)),
        )["Policy"]["Arn"]
        iam.create_group(GroupName=RW)
        iam.attach_group_policy(GroupName=RW, PolicyArn=arn)

    calls = Calls()
    calls.before["CreatePolicy"] = someone_else
    with hooked(app, calls):
        assert create(client, "ok", ["BktRWGrp"]).status_code == 200
    assert calls.names.count("CreatePolicy") == 1 and "CreateGroup" in calls.names
    assert client.delete(f"{BASE}/ok").status_code == 200
    iam.detach_group_policy(
        GroupName=RW, PolicyArn=iam.list_attached_group_policies(GroupName=RW)["AttachedPolicies"][0]["PolicyArn"]
    )
    for p in iam.list_policies(Scope="Local")["Policies"]:
        if p["PolicyName"].endswith("BktRWPlc"):
            iam.delete_policy(PolicyArn=p["Arn"])
    iam.delete_group(GroupName=RW)

    # HeadBucket CreateUser HeadBucket GetGroup CreatePolicy GetPolicy CreateGroup (exists: GetGroup
    # ListAttachedGroupPolicies, provably ours) AttachGroupPolicy AddUserToGroup CreateAccessKey
    calls = Calls(fail_at=12)
    calls.before["CreatePolicy"] = someone_else
    with hooked(app, calls):
        r = create(client, "victim", ["BktRWGrp"])
    assert r.status_code == 503 and calls.names[11] == "CreateAccessKey"
    state = snapshot(iam)
    assert "victim" not in state["users"]
    assert RW in state["groups"] and state["groups"][RW]["members"] == []
    assert len(state["groups"][RW]["attached"]) == 1
    assert policies.policy_name(BUCKET, "BktRWGrp") in state["policies"]


def test_rollback_keeps_a_lazily_created_group_someone_joined(client, app, bucket, iam):
    iam.create_user(UserName="neighbour")

    def neighbour_joins() -> None:
        iam.add_user_to_group(GroupName=RW, UserName="neighbour")

    calls = Calls(fail_at=9)  # CreateAccessKey (after HeadBucket CreateUser HeadBucket GetGroup CreatePolicy ...)
    calls.before["CreateAccessKey"] = neighbour_joins
    with hooked(app, calls):
        assert create(client, "victim", ["BktRWGrp"]).status_code == 503
    state = snapshot(iam)
    assert "victim" not in state["users"]
    assert state["groups"][RW] == {
        "members": ["neighbour"],
        "attached": [state["policies"][policies.policy_name(BUCKET, "BktRWGrp")][0]],
    }


# --- list --------------------------------------------------------------------------------------------------------


def test_list_is_empty_array_not_null(client, bucket):
    r = client.get(BASE)
    assert r.status_code == 200 and r.json == []


def test_list_unknown_bucket_is_404(client):
    assert client.get(BASE).status_code == 404


def test_list_users_of_exactly_this_bucket_deduplicated(client, bucket, iam):
    make_bucket(client, LONGER)
    assert create(client, "alice", ["BktAdmGrp", "BktRWGrp"]).status_code == 200
    assert create(client, "bob", ["BktROGrp"]).status_code == 200
    assert create(client, "zed", bucket=LONGER).status_code == 200
    iam.create_user(UserName="human-admin")
    r = client.get(BASE)
    assert r.status_code == 200
    assert [u["UserName"] for u in r.json] == ["alice", "bob"]
    assert {"Arn", "CreateDate", "Path", "UserId", "UserName"} <= set(r.json[0])
    assert [u["UserName"] for u in client.get(f"/v1/s3/local/buckets/{LONGER}/users").json] == ["zed"]


def test_yale_substring_group_match_fixed(client, bucket):
    """Yale listed (and deleted) users of every group whose name *contains* the bucket name (§9.5)."""
    make_bucket(client, LONGER)
    assert create(client, "zed", bucket=LONGER).status_code == 200
    assert client.get(BASE).json == []
    assert client.get(f"{BASE}/zed").status_code == 404
    assert client.delete(f"{BASE}/zed").status_code == 404


# --- show --------------------------------------------------------------------------------------------------------


def test_show_user(client, bucket, iam):
    key = create(client, "alice", ["BktRWGrp"]).json["AccessKey"]
    iam.create_policy(
        PolicyName=f"{BUCKET}-extra", PolicyDocument=json.dumps(policies.bucket_policy_for("BktROGrp", BUCKET))
    )
    arn = f"arn:aws:iam::123456789012:policy/{BUCKET}-extra"
    iam.attach_user_policy(UserName="alice", PolicyArn=arn)
    r = client.get(f"{BASE}/alice")
    assert r.status_code == 200, r.json
    body = r.json
    assert set(body) == {"User", "AccessKeys", "Groups", "Policies"}
    assert body["User"]["UserName"] == "alice"
    assert {"Key": "s3api:bucket", "Value": BUCKET} in body["User"]["Tags"]
    assert body["AccessKeys"] == [
        {
            "AccessKeyId": key["AccessKeyId"],
            "Status": "Active",
            "CreateDate": key["CreateDate"],
            "LastUsedDate": None,
            "LastUsed": {"ServiceName": "N/A", "Region": "N/A", "LastUsedDate": None},
        }
    ]
    assert [g["GroupName"] for g in body["Groups"]] == [RW]
    assert body["Policies"] == [{"PolicyName": f"{BUCKET}-extra", "PolicyArn": arn}]
    assert "SecretAccessKey" not in json.dumps(body)


def test_show_404_for_unknown_user_and_users_of_other_buckets(client, bucket, iam):
    make_bucket(client, OTHER)
    assert create(client, "outsider", bucket=OTHER).status_code == 200
    iam.create_user(UserName="human-admin")
    for name in ("nobody", "outsider", "human-admin"):
        r = client.get(f"{BASE}/{name}")
        assert r.status_code == 404 and r.json["message"] == f"user '{name}' is not a user of bucket '{BUCKET}'"
    assert client.get(f"{BASE}/bad%20name").status_code == 400


# --- rotate ------------------------------------------------------------------------------------------------------


def _key_ids(iam: Any, user: str) -> set[str]:
    return {k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}


def test_rotate_replaces_the_key(client, bucket, iam):
    old = create(client, "alice").json["AccessKey"]["AccessKeyId"]
    r = client.put(f"{BASE}/alice")
    assert r.status_code == 200, r.json
    assert r.json["DeletedKeyIds"] == [old]
    new = r.json["AccessKey"]
    assert set(new) == {"AccessKeyId", "SecretAccessKey", "Status", "CreateDate", "UserName"}
    assert "RetiringKeys" not in r.json
    assert _key_ids(iam, "alice") == {new["AccessKeyId"]}


def test_rotate_user_without_keys(client, bucket, iam):
    old = create(client, "alice").json["AccessKey"]["AccessKeyId"]
    iam.delete_access_key(UserName="alice", AccessKeyId=old)
    r = client.put(f"{BASE}/alice")
    assert r.status_code == 200 and r.json["DeletedKeyIds"] == []
    assert _key_ids(iam, "alice") == {r.json["AccessKey"]["AccessKeyId"]}


def test_rotate_with_two_keys_deletes_both_without_grace(client, bucket, iam):
    first = create(client, "alice").json["AccessKey"]["AccessKeyId"]
    second = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    r = client.put(f"{BASE}/alice")
    assert r.status_code == 200, r.json
    assert r.json["DeletedKeyIds"] == [first, second]  # the oldest made room, then the other went
    assert _key_ids(iam, "alice") == {r.json["AccessKey"]["AccessKeyId"]}


def test_rotate_with_two_keys_and_grace_drops_the_inactive_one(client, bucket, iam):
    first = create(client, "alice").json["AccessKey"]["AccessKeyId"]
    second = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName="alice", AccessKeyId=second, Status="Inactive")
    r = client.put(f"{BASE}/alice?grace_seconds=3600")
    assert r.status_code == 200, r.json
    assert r.json["DeletedKeyIds"] == [second]
    assert [k["AccessKeyId"] for k in r.json["RetiringKeys"]] == [first]
    assert _key_ids(iam, "alice") == {first, r.json["AccessKey"]["AccessKeyId"]}


def test_rotate_with_grace_keeps_old_key_until_deadline(client, app, bucket, iam, monkeypatch):
    old = create(client, "alice").json["AccessKey"]["AccessKeyId"]
    start = datetime.now(UTC)
    r = client.put(f"{BASE}/alice?grace_seconds=3600")
    assert r.status_code == 200, r.json
    new = r.json["AccessKey"]["AccessKeyId"]
    assert r.json["DeletedKeyIds"] == []
    [retiring] = r.json["RetiringKeys"]
    deadline = datetime.fromisoformat(retiring["RetireAt"])
    assert retiring["AccessKeyId"] == old
    assert start + timedelta(seconds=3599) <= deadline <= start + timedelta(seconds=3602)
    tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName="alice")["Tags"]}
    assert datetime.fromisoformat(tags[f"s3api:retire:{old}"]) == deadline  # survives restarts: it is in IAM
    assert _key_ids(iam, "alice") == {old, new}

    shown = client.get(f"{BASE}/alice").json
    assert shown["RetiringKeys"] == [retiring]
    assert {k["AccessKeyId"] for k in shown["AccessKeys"]} == {old, new}

    monkeypatch.setattr(users, "clock", lambda: deadline + timedelta(seconds=1))
    shown = client.get(f"{BASE}/alice").json  # reading the user retires what is due
    assert "RetiringKeys" not in shown
    assert [k["AccessKeyId"] for k in shown["AccessKeys"]] == [new]
    assert not any(t["Key"].startswith("s3api:retire:") for t in shown["User"]["Tags"])
    assert _key_ids(iam, "alice") == {new}
    assert not any(t["Key"].startswith("s3api:retire:") for t in iam.list_user_tags(UserName="alice")["Tags"])


def test_rotate_again_retires_the_due_key_first(client, bucket, iam, monkeypatch):
    old = create(client, "alice").json["AccessKey"]["AccessKeyId"]
    second = client.put(f"{BASE}/alice?grace_seconds=60").json["AccessKey"]["AccessKeyId"]
    monkeypatch.setattr(users, "clock", lambda: datetime.now(UTC) + timedelta(minutes=5))
    r = client.put(f"{BASE}/alice?grace_seconds=60")
    assert r.status_code == 200, r.json
    assert r.json["DeletedKeyIds"] == [old]
    assert [k["AccessKeyId"] for k in r.json["RetiringKeys"]] == [second]


def test_rotate_twice_within_grace_replaces_the_retiring_key(client, bucket, iam):
    old = create(client, "alice").json["AccessKey"]["AccessKeyId"]
    second = client.put(f"{BASE}/alice?grace_seconds=600").json["AccessKey"]["AccessKeyId"]
    r = client.put(f"{BASE}/alice?grace_seconds=3600")
    assert r.status_code == 200, r.json
    assert r.json["DeletedKeyIds"] == [old]  # the retiring key made room, its tag went with it
    assert [k["AccessKeyId"] for k in r.json["RetiringKeys"]] == [second]
    tags = [t["Key"] for t in iam.list_user_tags(UserName="alice")["Tags"]]
    assert tags.count(f"s3api:retire:{second}") == 1 and f"s3api:retire:{old}" not in tags


def test_rotate_never_postpones_a_deadline(client, bucket, iam):
    old = create(client, "alice").json["AccessKey"]["AccessKeyId"]
    first = client.put(f"{BASE}/alice?grace_seconds=60").json
    iam.delete_access_key(UserName="alice", AccessKeyId=first["AccessKey"]["AccessKeyId"])
    r = client.put(f"{BASE}/alice?grace_seconds=3600")
    assert r.status_code == 200, r.json
    assert r.json["RetiringKeys"] == first["RetiringKeys"]
    assert r.json["RetiringKeys"][0]["AccessKeyId"] == old


@pytest.mark.parametrize(
    "query", ["grace_seconds=-1", "grace_seconds=604801", "grace_seconds=abc", "grace_seconds=1.5", "x=1"]
)
def test_rotate_rejects_bad_grace(client, bucket, iam, query):
    create(client, "alice")
    before = snapshot(iam)
    r = client.put(f"{BASE}/alice?{query}")
    assert r.status_code == 400, r.json
    assert snapshot(iam) == before


def test_rotate_accepts_seven_days(client, bucket):
    create(client, "alice")
    assert client.put(f"{BASE}/alice?grace_seconds=604800").status_code == 200


def test_rotate_is_atomic_for_a_one_key_user(client, app, bucket, iam):
    """Whatever call fails, the user keeps exactly the key it had."""
    create(client, "alice")
    before = snapshot(iam)
    with hooked(app, Calls()) as probe:
        assert client.put(f"{BASE}/alice").status_code == 200
    expected = [
        "ListGroupsForUser",
        "ListAttachedGroupPolicies",  # membership proven (scope.GroupSpec.owns)
        "ListUserTags",
        "ListAccessKeys",
        "CreateAccessKey",
        "DeleteAccessKey",
    ]
    assert probe.names == expected
    assert client.put(f"{BASE}/alice").status_code == 200
    before = snapshot(iam)
    for k in range(1, len(expected) + 1):
        with hooked(app, Calls(fail_at=k)):
            assert client.put(f"{BASE}/alice").status_code == 503
        assert snapshot(iam) == before, f"step {k} ({expected[k - 1]})"


# --- Yale §9.3: rotate and delete any IAM user of the account ------------------------------------------------


def test_yale_cross_bucket_user_takeover_fixed(client, bucket, iam):
    make_bucket(client, OTHER)
    assert create(client, "outsider", bucket=OTHER).status_code == 200
    iam.create_user(UserName="human-admin")
    iam.create_access_key(UserName="human-admin")
    before = snapshot(iam)
    for name in ("outsider", "human-admin", "nobody"):
        r = client.put(f"{BASE}/{name}")
        assert r.status_code == 404 and "SecretAccessKey" not in r.get_data(as_text=True)
        assert client.put(f"{BASE}/{name}?grace_seconds=60").status_code == 404
        assert client.delete(f"{BASE}/{name}").status_code == 404
    assert snapshot(iam) == before


# --- delete ------------------------------------------------------------------------------------------------------


def test_delete_user(client, bucket, iam):
    make_bucket(client, OTHER)
    create(client, "alice", ["BktAdmGrp", "BktRWGrp"])
    iam.create_access_key(UserName="alice")  # a member of another bucket's groups is only removed from ours:
    arn = iam.create_policy(  # tests/api/test_security_deluser.py
        PolicyName=BUCKET, PolicyDocument=json.dumps(policies.bucket_policy_for("BktROGrp", BUCKET))
    )["Policy"]["Arn"]
    iam.attach_user_policy(UserName="alice", PolicyArn=arn)  # Yale's legacy same-name policy
    r = client.delete(f"{BASE}/alice")
    assert r.status_code == 200 and r.json == {}
    state = snapshot(iam)
    assert "alice" not in state["users"]
    assert all("alice" not in g["members"] for g in state["groups"].values())
    assert state["policies"][BUCKET][1] == 0  # detached, not deleted
    assert ADM in state["groups"] and RW in state["groups"]
    assert client.get(BASE).json == []
    assert client.delete(f"{BASE}/alice").status_code == 404


def test_delete_refuses_foreign_policies_before_touching_anything(client, bucket, iam):
    create(client, "alice")
    arn = iam.create_policy(
        PolicyName="ops-everything", PolicyDocument=json.dumps(policies.bucket_policy_for("BktROGrp", OTHER))
    )["Policy"]["Arn"]
    iam.attach_user_policy(UserName="alice", PolicyArn=arn)
    before = snapshot(iam)
    r = client.delete(f"{BASE}/alice")
    assert r.status_code == 409 and "ops-everything" in r.json["message"]
    assert snapshot(iam) == before

    iam.detach_user_policy(UserName="alice", PolicyArn=arn)
    iam.put_user_policy(
        UserName="alice", PolicyName="inline", PolicyDocument=json.dumps(policies.bucket_policy_for("BktROGrp", OTHER))
    )
    before = snapshot(iam)
    r = client.delete(f"{BASE}/alice")
    assert r.status_code == 409 and "inline" in r.json["message"]
    assert snapshot(iam) == before


def test_delete_failure_is_an_error_never_200(client, app, bucket, iam):
    """Yale answered 200 with an error string inside when a detach failed. The memberships go last, right
    before DeleteUser (users.remove_user), so the half-deleted user stays findable through its groups."""
    create(client, "alice")
    arn = iam.create_policy(
        PolicyName=f"{BUCKET}-x", PolicyDocument=json.dumps(policies.bucket_policy_for("BktROGrp", BUCKET))
    )["Policy"]["Arn"]
    iam.attach_user_policy(UserName="alice", PolicyArn=arn)
    calls = Calls()

    def fail_detach(model: Any, params: Any, **kw: Any) -> None:
        calls(model, params, **kw)
        if model.name == "DetachUserPolicy":
            raise ClientError({"Error": {"Code": "ServiceFailure", "Message": "injected"}}, model.name)

    clients = app.extensions["s3api"].clients
    clients.add_hook("before-call", fail_detach)
    try:
        r = client.delete(f"{BASE}/alice")
    finally:
        clients.remove_hook("before-call", fail_detach)
    assert r.status_code == 503 and r.json["code"] == "ServiceUnavailable"
    assert "DeleteUser" not in calls.names
    shown = client.get(f"{BASE}/alice")  # keyless, still in the bucket's groups: a bucket delete finds it too
    assert shown.status_code == 200 and shown.json["AccessKeys"] == []
    assert client.delete(f"/v1/s3/local/buckets/{OTHER}/users/alice").status_code == 404  # not OTHER's leftover
    assert client.delete(f"{BASE}/alice").status_code == 200  # a second DELETE finishes the job
    assert "alice" not in snapshot(iam)["users"]


# --- sweeper ------------------------------------------------------------------------------------------------------


def test_retire_keys_is_a_registered_sweeper_task():
    assert periodic.TASKS["retire_keys"] is users.sweep_retiring_keys


def test_sweeper_retires_overdue_keys_of_our_users_only(client, app, bucket, iam):
    old = create(client, "alice").json["AccessKey"]["AccessKeyId"]
    new = client.put(f"{BASE}/alice?grace_seconds=60").json["AccessKey"]["AccessKeyId"]
    # someone else's user (no org tag of ours) with a due retirement tag: not ours to touch
    iam.create_user(UserName="foreign", Tags=[{"Key": "s3api:org", "Value": "another-org"}])
    foreign = iam.create_access_key(UserName="foreign")["AccessKey"]["AccessKeyId"]
    iam.tag_user(UserName="foreign", Tags=[{"Key": f"s3api:retire:{foreign}", "Value": "2000-01-01T00:00:00Z"}])
    runtime = app.extensions["s3api"]

    assert periodic.run_all(runtime.settings, runtime.clients).get("retire_keys") == 0  # not due yet
    assert _key_ids(iam, "alice") == {old, new}

    later = datetime.now(UTC) + timedelta(minutes=2)
    assert users.sweep_retiring_keys(account_aws(app), now=later) == 1
    assert _key_ids(iam, "alice") == {new}
    assert not any(t["Key"].startswith("s3api:retire:") for t in iam.list_user_tags(UserName="alice")["Tags"])
    assert _key_ids(iam, "foreign") == {foreign}
    assert users.sweep_retiring_keys(account_aws(app), now=later) == 0


def test_sweeper_reads_a_bounded_batch_and_continues_next_pass(client, app, bucket, iam):
    for name in ("u1", "u2", "u3"):
        create(client, name)
        client.put(f"{BASE}/{name}?grace_seconds=60")
    later = datetime.now(UTC) + timedelta(minutes=2)
    aws = account_aws(app)
    with hooked(app, Calls()) as calls:
        done = [users.sweep_retiring_keys(aws, now=later, batch=2) for _ in range(2)]
    assert done == [2, 1]
    assert calls.names.count("ListUserTags") == 3  # 2, then the 1 still pending: retired users left the marker
    assert all(len(_key_ids(iam, n)) == 1 for n in ("u1", "u2", "u3"))


def test_retire_overdue_keys_tolerates_a_key_already_gone(client, app, bucket, iam):
    create(client, "alice")
    iam.tag_user(UserName="alice", Tags=[{"Key": "s3api:retire:AKIAGONEGONEGONEGONE", "Value": "not a time"}])
    assert users.retire_overdue_keys(account_aws(app), "alice") == ["AKIAGONEGONEGONEGONE"]
    assert not any(t["Key"].startswith("s3api:retire:") for t in iam.list_user_tags(UserName="alice")["Tags"])
