"""Every failure point of every workflow (issue 7, part 1).

For each workflow a counting run (``aws_calls(app, 0)``) learns the N AWS calls it makes; then, for every k in
1..N, the k-th call fails (InternalError, HTTP 500, raised by a botocore before-call hook: the call never reaches
the emulator) and:

- the API answers with a mapped error (503 ServiceUnavailable, never a 2xx);
- creates, rotate: the emulator holds exactly what it held before (:func:`tests.faults.snapshot`: S3 buckets and
  objects, IAM users, keys, user tags, groups, members, policies and their attachments, enabled CloudFront
  distributions, Route53 records);
- deletes: calling again without faults answers 200 and afterwards nothing of the resource remains (the
  snapshot equals the one taken before the resource was made).

State: one emulator per workflow (the ``aws`` fixture). Each failed create leaves the emulator as it was, which is
what is asserted, so the next k starts from the same state; delete preconditions are made again for each k and
removed by the retry. Websites get a new name per k: a rolled-back distribution stays (disabled) until the
sweeper deletes it, and in AWS its alias would block a new one until then.

Run with ``-s`` to see how many failure points each workflow covered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import BotoCoreError
from flask import Flask

from s3api.config import Settings
from tests import faults
from tests.conftest import Client, make_settings

LOG_BUCKET = "s3api-access-logs-123456789012"
BUCKETS = "/v1/s3/local/buckets"
WEBSITES = "/v1/s3/local/websites"

#: workflow -> failure points covered (filled by the tests, printed at the end of the module)
COVERED: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def _summary() -> Iterator[None]:
    yield
    if COVERED:
        width = max(len(name) for name in COVERED)
        lines = [f"  {name:<{width}}  {n:>3} failure points" for name, n in COVERED.items()]
        total = sum(COVERED.values())
        print("\nfault injection: failure points covered per workflow\n" + "\n".join(lines) + f"\n  total {total}")


@pytest.fixture
def settings(seed: dict[str, str]) -> Settings:
    """Warnings and errors only: thousands of requests here, their access lines only cost time. (The log check
    of conftest still reads every warning and error, e.g. the rollback lines.)"""
    return dataclasses.replace(make_settings(seed), log_level="warning")


def state() -> dict[str, Any]:
    return faults.snapshot(skip_objects_of=[LOG_BUCKET])


def drop_disabled_distributions() -> None:
    """Delete the distributions rollbacks and deletes disabled (the sweeper's job), so that the snapshot's
    ListDistributions stays one short page however many k have run."""
    cf = boto3.client("cloudfront", region_name="us-east-1")
    for summary in cf.list_distributions()["DistributionList"].get("Items", []):
        if not summary["Enabled"]:
            etag = cf.get_distribution_config(Id=summary["Id"])["ETag"]
            cf.delete_distribution(Id=summary["Id"], IfMatch=etag)


def require_websites(app: Flask) -> None:
    if not any(rule.rule.endswith("/websites") for rule in app.url_map.iter_rules()):
        pytest.skip("the websites routes are not registered yet")


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.get_json(silent=True)
    return response.get_json(silent=True)


def count(app: Flask, act: Callable[[], Any]) -> list[str]:
    """The AWS calls ``act`` makes when nothing fails (it must succeed)."""
    with faults.aws_calls(app) as probe:
        ok(act())
    assert probe.calls
    return probe.calls


def fail_each(
    app: Flask,
    workflow: str,
    calls: list[str],
    act: Callable[[int], Any],
    *,
    before: Callable[[int], None] = lambda k: None,
    after: Callable[[int], None],
) -> None:
    """For k in 1..len(calls): ``before(k)`` (no faults), ``act(k)`` with the k-th call failing, ``after(k)``."""
    for k in range(1, len(calls) + 1):
        before(k)
        fail_at(app, workflow, calls, k, lambda: act(k))
        after(k)
    COVERED[workflow] = len(calls)


def fail_at(app: Flask, workflow: str, calls: list[str], k: int, act: Callable[[], Any]) -> None:
    """``act()`` with the k-th AWS call failing: the same calls as the counting run up to k, then a mapped
    error (503 ServiceUnavailable for the injected InternalError), never a 2xx."""
    with faults.aws_calls(app, k) as hook:
        r = act()
    where = f"{workflow}: call {k}/{len(calls)} ({calls[k - 1]})"
    assert hook.calls[:k] == calls[:k], f"{where}: the calls differ from the counting run: {hook.calls[:k]}"
    assert hook.failed == calls[k - 1], where
    assert r.status_code == 503, (where, r.status_code, r.get_json(silent=True))
    assert r.json["code"] == "ServiceUnavailable", (where, r.json)


def unchanged(workflow: str, expected: dict[str, Any]) -> Callable[[int], None]:
    def check(k: int) -> None:
        assert state() == expected, f"{workflow}: a failure at call {k} left something behind"

    return check


def is_read(call: str) -> bool:
    return call.partition(":")[2].startswith(("Head", "Get", "List", "Describe"))


def fail_each_delete(
    app: Flask,
    workflow: str,
    calls: list[str],
    *,
    prepare: Callable[[int], str],
    delete: Callable[[str], Any],
    finish: Callable[[str, int], None],
) -> None:
    """Deletes: ``prepare(i)`` makes a fresh resource and answers its name; ``delete(name)`` runs with the k-th
    call failing; then ``finish(name, k)`` retries without faults and checks that nothing of it remains.

    A failure before the first changing call leaves the resource untouched (asserted with a snapshot): it
    serves the next k as well, which saves making one per k.
    """
    name: str | None = None
    prepared: dict[str, Any] | None = None
    for k in range(1, len(calls) + 1):
        if name is None:
            name, prepared = prepare(k), None
        untouched = all(is_read(c) for c in calls[: k - 1])
        if untouched and prepared is None:
            prepared = state()
        current = name
        fail_at(app, workflow, calls, k, lambda: delete(current))
        if untouched:
            assert state() == prepared, f"{workflow}: a failure at read {k} changed something"
        else:
            finish(name, k)
            name = None
    COVERED[workflow] = len(calls)


# --- buckets ----------------------------------------------------------------------------------------------------


def create_bucket(client: Client, name: str) -> Any:
    return client.post(BUCKETS, json={"BucketInput": {"Bucket": name}, "Lifecycle": "deep-archive"})


def create_user(client: Client, parent: str, user: str, groups: list[str], path: str | None = None) -> Any:
    body: dict[str, Any] = {"User": {"UserName": user}, "Groups": groups}
    if path:
        body["User"]["Path"] = path
    return client.post(f"{parent}/users", json=body)


def test_bucket_create(app, client):
    before = state()
    calls = count(app, lambda: create_bucket(client, "fi-probe"))
    ok(client.delete(f"{BUCKETS}/fi-probe"))
    assert state() == before
    fail_each(
        app, "bucket create", calls, lambda k: create_bucket(client, "fi-bucket"), after=unchanged("bucket", before)
    )
    ok(create_bucket(client, "fi-bucket"))  # nothing hidden blocks the name


def test_bucket_delete(app, client):
    """The bucket has a user of its own (admin + lazily made read-write group: deleted with the bucket) and a
    user who also administers another bucket (kept with its key: it only loses this bucket's group)."""
    iam = boto3.client("iam", region_name="us-east-1")
    ok(create_bucket(client, "fi-other"))
    before = state()

    def prepare(i: int) -> str:
        name = f"fi-del-{i}"
        ok(create_bucket(client, name))
        ok(create_user(client, f"{BUCKETS}/{name}", f"{name}-own", ["BktAdmGrp", "BktRWGrp"]))
        ok(create_user(client, f"{BUCKETS}/{name}", f"{name}-shared", ["BktROGrp"]))
        iam.add_user_to_group(GroupName="fi-other-BktAdmGrp", UserName=f"{name}-shared")
        return name

    def finish(name: str, k: int, retry: bool = True) -> None:
        if retry:
            ok(client.delete(f"{BUCKETS}/{name}"))  # the retry finishes the job
        shared = f"{name}-shared"  # kept, with its key, in fi-other's group only
        assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=shared)["Groups"]] == ["fi-other-BktAdmGrp"]
        assert len(iam.list_access_keys(UserName=shared)["AccessKeyMetadata"]) == 1, k
        ok(client.delete(f"{BUCKETS}/fi-other/users/{shared}"))
        assert state() == before, f"bucket delete: a failure at call {k} and a retry left something behind"

    prepare(0)
    calls = count(app, lambda: client.delete(f"{BUCKETS}/fi-del-0"))
    finish("fi-del-0", 0, retry=False)
    fail_each_delete(
        app,
        "bucket delete",
        calls,
        prepare=prepare,
        delete=lambda name: client.delete(f"{BUCKETS}/{name}"),
        finish=finish,
    )


# --- bucket users -----------------------------------------------------------------------------------------------


def test_user_create(app, client):
    ok(create_bucket(client, "fi-probe"))
    ok(create_bucket(client, "fi-users"))
    calls = count(app, lambda: create_user(client, f"{BUCKETS}/fi-probe", "probe", ["BktAdmGrp", "BktRWGrp"]))
    before = state()  # fi-users: admin group only; read-write is made lazily by the user create
    fail_each(
        app,
        "user create",
        calls,
        lambda k: create_user(client, f"{BUCKETS}/fi-users", "fi-user", ["BktAdmGrp", "BktRWGrp"]),
        after=unchanged("user create", before),
    )
    ok(create_user(client, f"{BUCKETS}/fi-users", "fi-user", ["BktAdmGrp", "BktRWGrp"]))


@pytest.mark.parametrize("grace", [0, 600])
def test_user_rotate(app, client, grace):
    ok(create_bucket(client, "fi-users"))
    users = f"{BUCKETS}/fi-users/users"
    ok(create_user(client, f"{BUCKETS}/fi-users", "probe", ["BktAdmGrp"]))
    ok(create_user(client, f"{BUCKETS}/fi-users", "fi-rot", ["BktAdmGrp"]))
    if grace:  # the retirement marker group exists after the first grace rotation: probe and victim both see it
        ok(create_user(client, f"{BUCKETS}/fi-users", "warm", ["BktAdmGrp"]))
        ok(client.put(f"{users}/warm?grace_seconds={grace}"))
    calls = count(app, lambda: client.put(f"{users}/probe?grace_seconds={grace}"))
    before = state()
    workflow = f"user rotate (grace {grace})"
    fail_each(
        app,
        workflow,
        calls,
        lambda k: client.put(f"{users}/fi-rot?grace_seconds={grace}"),
        after=unchanged(workflow, before),
    )


def test_user_delete(app, client):
    ok(create_bucket(client, "fi-users"))
    users = f"{BUCKETS}/fi-users/users"

    def prepare(i: int) -> str:
        ok(create_user(client, f"{BUCKETS}/fi-users", f"fi-gone-{i}", ["BktAdmGrp", "BktRWGrp"]))
        return f"fi-gone-{i}"

    prepare(0)
    calls = count(app, lambda: client.delete(f"{users}/fi-gone-0"))
    before = state()  # the bucket with its admin and read-write groups, no user

    def finish(name: str, k: int) -> None:
        ok(client.delete(f"{users}/{name}"))
        assert state() == before, f"user delete: a failure at call {k} and a retry left something behind"

    fail_each_delete(
        app,
        "user delete",
        calls,
        prepare=prepare,
        delete=lambda name: client.delete(f"{users}/{name}"),
        finish=finish,
    )


# --- websites ---------------------------------------------------------------------------------------------------


def create_site(client: Client, site: str) -> Any:
    return client.post(WEBSITES, json={"BucketInput": {"Bucket": site}, "Tags": [{"Key": "app", "Value": "fi"}]})


def test_website_create(app, client):
    require_websites(app)
    ok(create_site(client, "probe1.example.test"))  # the account's origin access control (shared, never undone)
    calls = count(app, lambda: create_site(client, "probe2.example.test"))
    before = state()
    check = unchanged("website create", before)

    def after(k: int) -> None:
        check(k)  # a rolled-back distribution is disabled (the sweeper deletes it later) ...
        drop_disabled_distributions()  # ... as done here at once, to keep the snapshot cheap

    fail_each(app, "website create", calls, lambda k: create_site(client, f"s{k}.example.test"), after=after)


def test_website_delete(app, client):
    """The site has a user scoped to /docs/ (path groups, policies with an IAM path, the default page
    docs/index.html) besides its root groups (BktAdmGrp, WebAdmGrp) and its distribution and DNS records."""
    require_websites(app)
    before = state()  # the account's origin access control, made by the first site, is not in the snapshot

    def prepare(i: int) -> str:
        site = f"d{i}.example.test"
        ok(create_site(client, site))
        ok(create_user(client, f"{WEBSITES}/{site}", f"d{i}-docs", ["BktRWGrp"], path="/docs/"))
        return site

    def finish(site: str, k: int) -> None:
        ok(client.delete(f"{WEBSITES}/{site}"))  # the retry finishes the job
        assert state() == before, f"website delete: a failure at call {k} and a retry left something behind"
        drop_disabled_distributions()

    prepare(0)
    calls = count(app, lambda: client.delete(f"{WEBSITES}/d0.example.test"))
    assert state() == before
    fail_each_delete(
        app,
        "website delete",
        calls,
        prepare=prepare,
        delete=lambda site: client.delete(f"{WEBSITES}/{site}"),
        finish=finish,
    )


@pytest.mark.parametrize("path", ["/", "/docs/"])
def test_website_user_create(app, client, path):
    require_websites(app)
    ok(create_site(client, "www.example.test"))
    site = f"{WEBSITES}/www.example.test"
    probe_path = "/probe/" if path != "/" else None
    calls = count(app, lambda: create_user(client, site, "probe", ["BktAdmGrp", "BktRWGrp"], path=probe_path))
    if path == "/":  # the probe made the root read-write group: the victim finds it made, as the probe did not
        ok(client.delete(f"{site}/users/probe"))
        ok(create_site(client, "two.example.test"))
        site = f"{WEBSITES}/two.example.test"
    before = state()
    workflow = f"website user create (path {path})"
    fail_each(
        app,
        workflow,
        calls,
        lambda k: create_user(client, site, "fi-web", ["BktAdmGrp", "BktRWGrp"], path=None if path == "/" else path),
        after=unchanged(workflow, before),
    )


# --- an exception inside a call (not an AWS error answer) ---------------------------------------------------------


def test_an_exception_inside_an_aws_call_keeps_its_mapping(app, client):
    """Found by the fuzzer: the metrics hook for failed calls expected a ``model`` botocore does not send with
    after-call-error, so any exception raised inside a call (a response that cannot be parsed, a connection
    error) became a TypeError and a 500. Now it keeps its mapping: BotoCoreError → 503."""

    class Unparsable(BotoCoreError):
        fmt = "injected: the answer cannot be parsed"

    def unparsable(**_: Any) -> None:
        raise Unparsable()

    clients = app.extensions["s3api"].clients
    clients.add_hook("before-send", unparsable)
    try:
        r = client.get(BUCKETS)
    finally:
        clients.remove_hook("before-send", unparsable)
    assert r.status_code == 503 and r.json["code"] == "ServiceUnavailable", r.json
