"""Rollback of website and website-user creation after a failure at every changing AWS call (kept apart from
the route tests: these loops make dozens of creates).

Each time, the emulator must hold exactly what it held before: buckets and objects, IAM users, groups,
memberships, policies and keys, enabled distributions, DNS records. A disabled distribution may remain: the
undo of a distribution is to disable it (the sweeper deletes it once deployed).
"""

from __future__ import annotations

from typing import Any

import pytest

from s3api import create_app
from tests import faults
from tests.conftest import Client, make_settings

SITE = "www.example.test"
WEBSITES = "/v1/s3/local/websites"
LOG_BUCKET = "s3api-access-logs-123456789012"


def state() -> dict[str, Any]:
    """The emulator's state without the access-log bucket's objects (moto delivers logs into it)."""
    return faults.snapshot(skip_objects_of=[LOG_BUCKET])


def create(client: Client, site: str) -> Any:
    return client.post(WEBSITES, json={"BucketInput": {"Bucket": site}})


def created(client: Client, site: str) -> None:
    r = create(client, site)
    assert r.status_code == 200, r.json


class FailMutation:
    """Fails the k-th (1-based) call that changes something (not Head/Get/List/Describe) with a 500."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.seen: list[str] = []
        self.failed: str | None = None

    def __call__(self, model: Any, **_: Any) -> None:
        if model.name.startswith(("Head", "Get", "List", "Describe")):
            return
        self.seen.append(f"{model.service_model.service_name}:{model.name}")
        if len(self.seen) == self.k:
            self.failed = self.seen[-1]
            raise faults.injected(model.name)


def failing(app: Any, k: int) -> Any:
    return faults.hooked(app, FailMutation(k))


def mutations(app: Any, action: Any) -> list[str]:
    """The changing calls ``action`` makes, in order."""
    with failing(app, 0) as counter:
        action()
    return counter.seen


#: Where the public-website model differs from the private one (every step of the private one is tested).
PUBLIC_ONLY = {"s3:PutPublicAccessBlock", "s3:PutBucketPolicy", "cloudfront:CreateDistributionWithTags"}


@pytest.mark.parametrize("model", ["private", "public-website"])
def test_every_create_step_failing_leaves_the_emulator_as_it_was(seed, model):
    """Fail the k-th changing AWS call, for every k: each time the emulator holds exactly what it held before
    (buckets and objects, IAM users/groups/policies/keys, enabled distributions, DNS records)."""
    app = create_app(make_settings(seed, origin_access=model))
    client = Client(app.test_client())
    created(client, "probe.example.test")  # creates the account's OAC (shared, never undone)
    steps = mutations(app, lambda: created(client, "probe2.example.test"))
    assert len(steps) >= 18
    before = state()
    for k, op in enumerate(steps, start=1):
        if model != "private" and op not in PUBLIC_ONLY:
            continue
        with failing(app, k) as hook:
            r = create(client, f"s{k}.example.test")
        assert hook.failed == op, (k, hook.failed, op)
        assert r.status_code == 503, (k, op, r.json)
        assert state() == before, (k, op)


def test_every_website_user_create_step_failing_leaves_the_emulator_as_it_was(client):
    """A path-scoped user: default page, lazily created group and policy, user, membership, key (the probe uses
    another path, so every attempt has to create the group and its policy)."""
    created(client, SITE)
    app = client.raw.application
    users = f"{WEBSITES}/{SITE}/users"

    def add(name: str, path: str) -> Any:
        return client.post(users, json={"User": {"UserName": name, "Path": path}, "Groups": ["BktROGrp"]})

    steps = mutations(app, lambda: add("probe", "/probe/"))
    assert len(steps) >= 6 and "s3:PutObject" in steps and "iam:CreateGroup" in steps
    before = state()
    for k, op in enumerate(steps, start=1):
        with failing(app, k) as hook:
            r = add(f"u{k}", "/docs/")
        assert hook.failed == op and r.status_code == 503, (k, op, r.json)
        assert state() == before, (k, op)
