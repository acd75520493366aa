"""Website create and delete as operations (``Prefer: respond-async``), through the test client; the operations
run with ``local.drain`` in the test's thread (inside the test's moto).

The wait for CloudFront never sleeps for real: ``deploy.sleep`` is replaced (every checkpoint saves and sees a
cancel, as with real pauses).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from flask import Flask
from moto.moto_api import state_manager

from s3api import create_app
from s3api.aws import cloudfront as cloudfront_gateway
from s3api.jobs import local
from s3api.provisioning import periodic
from s3api.provisioning.websites import deploy
from tests import faults
from tests.conftest import Client, make_settings

SITE = "www.example.test"
WEBSITES = "/v1/s3/local/websites"
ASYNC = {"Prefer": "respond-async"}
LOG_BUCKET = "s3api-access-logs-123456789012"
CREATE_KEYS = {"Bucket", "Policies", "Groups", "Distribution", "DnsChange"}
DELETE_KEYS = {"Website", "Users", "Policies", "Groups", "Distribution", "DnsChange"}


# --- helpers -------------------------------------------------------------------------------------------------


class Clock:
    """The engine's clock and the wait's sleep together: a pause advances the clock, nobody sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self.on_sleep: list[Any] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        for action in self.on_sleep:
            action()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(deploy, "sleep", fake.sleep)
    return fake


def statuses(monkeypatch: pytest.MonkeyPatch, *answers: str | None) -> list[str]:
    """The gateway's status read answers ``answers`` in turn (the last one from then on); the ids asked."""
    asked: list[str] = []

    def status(aws: Any, dist_id: str) -> str | None:
        asked.append(dist_id)
        return answers[min(len(asked), len(answers)) - 1]

    monkeypatch.setattr(cloudfront_gateway, "distribution_status", status)
    return asked


@pytest.fixture
def retrying_app(seed: dict[str, str]) -> Flask:
    """Failed attempts are due again at once (retry delay 0), two attempts in all."""
    settings = make_settings(seed).with_overrides(operation_retry_seconds=0.0, operation_attempts=2)
    return create_app(settings)


@pytest.fixture
def cf(aws: None) -> Any:
    return boto3.client("cloudfront", region_name="us-east-1")


def drain(client: Client) -> int:
    return local.drain(client.raw.application.extensions["s3api"])


def store(client: Client) -> Any:
    return client.raw.application.extensions["s3api"].operations


def create_async(client: Client, site: str = SITE, headers: dict[str, str] | None = None, **body: Any) -> Any:
    return client.post(WEBSITES, json={"BucketInput": {"Bucket": site}, **body}, headers=headers or ASYNC)


def accepted(r: Any, kind: str, site: str = SITE) -> dict[str, Any]:
    """A 202 with Location, Preference-Applied and the operation, not started."""
    assert r.status_code == 202, r.json
    op = dict(r.json)
    assert r.headers["Location"] == f"/v1/s3/operations/{op['Id']}"
    assert r.headers["Preference-Applied"] == "respond-async"
    assert op["Kind"] == kind and op["Target"] == f"website:local/{site}" and op["Account"] == "local"
    assert op["Status"] == "NotStarted" and op["Done"] is False and op["Result"] is None
    return op


def finished(client: Client, op: dict[str, Any]) -> dict[str, Any]:
    r = client.get(f"/v1/s3/operations/{op['Id']}")
    assert r.status_code == 200 and r.json["Done"] is True, r.json
    assert "Retry-After" not in r.headers
    return dict(r.json)


def operations(client: Client) -> list[dict[str, Any]]:
    return list(client.get("/v1/s3/operations").json["Operations"])


def state() -> dict[str, Any]:
    return faults.snapshot(skip_objects_of=[LOG_BUCKET])


def distribution_exists(cf: Any, dist_id: str) -> bool:
    try:
        cf.get_distribution(Id=dist_id)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchDistribution"
        return False
    return True


# --- create ----------------------------------------------------------------------------------------------------


def test_async_create_answers_202_then_waits_for_deployed_in_the_task(client, clock, monkeypatch, s3):
    asked = statuses(monkeypatch, "InProgress", "InProgress", "Deployed")
    r = create_async(client, Tags=[{"Key": "Team", "Value": "web"}])
    op = accepted(r, "website.create")
    assert store(client).get(op["Id"]).lock == f"bucket:local/{SITE}"  # the site's bucket is named after it
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=SITE)  # nothing made in the request

    waiting = client.get(r.headers["Location"])
    assert waiting.status_code == 200 and waiting.json["Done"] is False and waiting.headers["Retry-After"] == "2"

    assert drain(client) == 1
    done = finished(client, op)
    assert done["Status"] == "Succeeded" and done["Error"] is None and done["Attempts"] == 1
    result = done["Result"]
    assert set(result) >= CREATE_KEYS and result["Bucket"] == f"/{SITE}"
    assert result["Deployed"] is True and result["DistributionStatus"] == "Deployed" and "Note" not in result
    assert asked == [result["Distribution"]["Id"]] * 3
    assert clock.slept == [deploy.POLL_SECONDS, deploy.POLL_SECONDS]
    assert done["Progress"] == {"Created": 1, "Polls": 3, "WaitSeconds": 30}
    assert {p["PolicyName"] for p in result["Policies"]} == {f"{SITE}-BktAdmPlc", f"{SITE}-WebAdmPlc"}
    shown = client.get(f"{WEBSITES}/{SITE}")
    assert shown.status_code == 200 and shown.json["Distribution"]["Id"] == result["Distribution"]["Id"]
    assert {"Key": "Team", "Value": "web"} in s3.get_bucket_tagging(Bucket=SITE)["TagSet"]


def test_async_create_polls_moto_until_it_says_deployed(client, clock):
    """The real gateway on moto: moto's distributions advance InProgress → Deployed on reads (here after three)."""
    transition = {"progression": "manual", "times": 3}
    state_manager.set_transition(model_name="cloudfront::distribution", transition=transition)
    try:
        op = accepted(create_async(client), "website.create")
        assert drain(client) == 1
    finally:
        state_manager.unset_transition(model_name="cloudfront::distribution")
    done = finished(client, op)
    assert done["Status"] == "Succeeded" and done["Result"]["Deployed"] is True
    assert done["Progress"] == {"Created": 1, "Polls": 3, "WaitSeconds": 30}  # InProgress twice, then Deployed
    assert clock.slept == [deploy.POLL_SECONDS, deploy.POLL_SECONDS]


def test_async_create_result_is_the_synchronous_body_plus_deployed(client, clock):
    sync = client.post(WEBSITES, json={"BucketInput": {"Bucket": "sync.example.test"}})
    assert sync.status_code == 200
    op = accepted(create_async(client), "website.create")
    drain(client)
    result = finished(client, op)["Result"]
    assert set(result) == set(sync.json) | {"Deployed", "DistributionStatus"}
    assert clock.slept == []  # moto deploys at once: no pause


def test_async_create_wait_is_bounded_and_still_succeeds(seed, clock, monkeypatch):
    app = create_app(make_settings(seed).with_overrides(website_deploy_wait_seconds=40.0))
    client = Client(app.test_client())
    statuses(monkeypatch, "InProgress")
    op = accepted(create_async(client), "website.create")
    assert drain(client) == 1
    done = finished(client, op)
    assert done["Status"] == "Succeeded"
    result = done["Result"]
    assert result["Deployed"] is False and result["DistributionStatus"] == "InProgress"
    assert "deploys on its own" in result["Note"]
    assert clock.slept == [15.0, 15.0, 10.0] and done["Progress"]["WaitSeconds"] == 40
    assert client.get(f"{WEBSITES}/{SITE}").status_code == 200  # the site stays: being slow is no failure


def test_without_prefer_both_routes_answer_as_before(client, cf):
    r = client.post(WEBSITES, json={"BucketInput": {"Bucket": SITE}})
    assert r.status_code == 200 and set(r.json) == CREATE_KEYS and "Preference-Applied" not in r.headers
    other = client.post(WEBSITES, json={"BucketInput": {"Bucket": SITE}}, headers={"Prefer": "return=minimal"})
    assert other.status_code == 409  # another preference is not respond-async: the synchronous route
    deleted = client.delete(f"{WEBSITES}/{SITE}")
    assert deleted.status_code == 200 and set(deleted.json) == DELETE_KEYS
    assert distribution_exists(cf, r.json["Distribution"]["Id"])  # disabled, left to the periodic task
    assert operations(client) == []


@pytest.mark.parametrize(
    "body",
    [
        {"BucketInput": {"Bucket": "www.elsewhere.test"}},  # not under a configured domain
        {"BucketInput": {"Bucket": "a.b.example.test"}},  # two labels
        {"BucketInput": {"Bucket": SITE}, "Unknown": 1},  # the body schema
        {"BucketInput": {"Bucket": SITE}, "Tags": [{"Key": "s3api:distribution", "Value": "x"}]},
        {"BucketInput": {"Bucket": SITE}, "WebsiteConfiguration": {"IndexDocument": {"Suffix": ""}}},
    ],
)
def test_async_create_bad_input_is_400_at_once_without_an_operation(client, body):
    r = client.post(WEBSITES, json=body, headers=ASYNC)
    assert r.status_code == 400, r.json
    assert r.json["code"] and "Location" not in r.headers
    assert operations(client) == []


def test_async_create_of_a_taken_name_is_409_at_once(client, s3):
    s3.create_bucket(Bucket=SITE)
    r = create_async(client)
    assert r.status_code == 409 and "already exists" in r.json["message"]
    assert operations(client) == []


def test_async_create_failing_ends_failed_after_its_attempts_and_rolls_back(retrying_app, clock):
    """Route53 fails every time: each attempt rolls back; after two attempts the operation is Failed with
    our error envelope, and the emulator holds what it held before (a disabled distribution may remain)."""
    client = Client(retrying_app.test_client())
    before = state()
    op = accepted(create_async(client), "website.create")

    def fail_dns(model: Any, **_: Any) -> None:
        if model.name == "ChangeResourceRecordSets":
            raise faults.injected(model.name)

    with faults.hooked(retrying_app, fail_dns):
        assert drain(client) == 2
    done = finished(client, op)
    assert done["Status"] == "Failed" and done["Attempts"] == 2 and done["Result"] is None
    assert done["Error"]["status"] == 503 and set(done["Error"]) == {"code", "message", "status"}
    assert "injected" not in done["Error"]["message"]
    assert "Created" not in done["Progress"]
    assert state() == before
    assert client.get(f"{WEBSITES}/{SITE}").status_code == 404


def test_async_create_losing_a_race_for_the_name_fails_at_once(client, clock):
    """The name is taken between the 202 and the task (a synchronous create does not queue): 409, final at
    once (no retry can cure it), and the other site is untouched."""
    op = accepted(create_async(client), "website.create")
    other = client.post(WEBSITES, json={"BucketInput": {"Bucket": SITE}})
    assert other.status_code == 200
    assert drain(client) == 1
    done = finished(client, op)
    assert done["Status"] == "Failed" and done["Attempts"] == 1 and done["Error"]["status"] == 409
    assert client.get(f"{WEBSITES}/{SITE}").json["Distribution"]["Id"] == other.json["Distribution"]["Id"]


def test_async_create_resumes_after_an_error_while_waiting_without_creating_again(retrying_app, clock, cf):
    """A 5xx while polling: the attempt is retried; the retry finds Created in the saved progress, reads the
    site instead of creating it again, and waits."""
    client = Client(retrying_app.test_client())
    op = accepted(create_async(client), "website.create")
    with faults.hooked(retrying_app, FailNth("GetDistribution")) as hook:
        assert drain(client) == 2
    assert hook.failed
    done = finished(client, op)
    assert done["Status"] == "Succeeded" and done["Attempts"] == 2
    result = done["Result"]
    assert result["Resumed"] is True and result["Deployed"] is True and result["Bucket"] == f"/{SITE}"
    assert done["Progress"]["Created"] == 1
    distributions = cf.list_distributions()["DistributionList"].get("Items", [])
    assert [d["Id"] for d in distributions] == [result["Distribution"]["Id"]]  # made once


class FailNth:
    """Fails the ``n``-th call (1-based) of one operation with a 500."""

    def __init__(self, name: str, n: int = 1) -> None:
        self.name, self.n, self.seen, self.failed = name, n, 0, False

    def __call__(self, model: Any, **_: Any) -> None:
        if model.name == self.name:
            self.seen += 1
            if self.seen == self.n:
                self.failed = True
                raise faults.injected(model.name)


def test_async_create_canceled_while_waiting_keeps_the_website(client, clock, monkeypatch):
    statuses(monkeypatch, "InProgress")
    op = accepted(create_async(client), "website.create")
    clock.on_sleep.append(lambda: store(client).request_cancel(op["Id"]))
    assert drain(client) == 1
    done = finished(client, op)
    assert done["Status"] == "Canceled" and done["CancelRequested"] is True
    assert "stays created" in done["Result"]["Canceled"] and "only the wait" in done["Result"]["Canceled"]
    assert len(clock.slept) == 1  # stopped at the checkpoint after the first pause
    assert client.get(f"{WEBSITES}/{SITE}").status_code == 200


def test_a_second_website_operation_on_the_site_can_refuse_to_queue(client, clock):
    op = accepted(create_async(client), "website.create")
    r = client.delete(f"{WEBSITES}/{SITE}", headers={"Prefer": "respond-async, if-busy=conflict"})
    assert r.status_code == 409 and r.json["errors"]["OperationId"] == op["Id"]
    queued = accepted(client.delete(f"{WEBSITES}/{SITE}", headers=ASYNC), "website.delete")
    assert store(client).get(queued["Id"]).lock == store(client).get(op["Id"]).lock
    assert drain(client) == 2  # one after the other: create, then delete
    assert finished(client, op)["Status"] == "Succeeded"
    assert finished(client, queued)["Status"] == "Succeeded"
    assert client.get(f"{WEBSITES}/{SITE}").status_code == 404


def test_async_create_is_audited_with_its_operation(client, clock):
    op = accepted(create_async(client), "website.create")
    events = client.get("/v1/s3/audit?action=website.create").json["Events"]
    assert [e.get("OperationId") for e in events] == [op["Id"]]


# --- delete ----------------------------------------------------------------------------------------------------


def test_async_delete_waits_for_the_disable_and_deletes_the_distribution(client, clock, monkeypatch, cf, s3):
    made = client.post(WEBSITES, json={"BucketInput": {"Bucket": SITE}})
    assert made.status_code == 200
    dist_id = made.json["Distribution"]["Id"]
    asked = statuses(monkeypatch, "InProgress", "Deployed")
    r = client.delete(f"{WEBSITES}/{SITE}", headers=ASYNC)
    op = accepted(r, "website.delete")
    assert store(client).get(op["Id"]).lock == f"bucket:local/{SITE}"
    assert client.head(f"{WEBSITES}/{SITE}").status_code == 200  # nothing deleted in the request
    assert drain(client) == 1
    done = finished(client, op)
    assert done["Status"] == "Succeeded", done
    result = done["Result"]
    assert set(result) >= DELETE_KEYS and result["Website"] == SITE and result["DistributionDeleted"] is True
    assert result["Distribution"]["Id"] == dist_id and "Note" not in result
    assert asked == [dist_id, dist_id] and clock.slept == [deploy.POLL_SECONDS]
    assert done["Progress"] == {"Deleted": 1, "Polls": 2, "WaitSeconds": 15}
    assert not distribution_exists(cf, dist_id)
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=SITE)


def test_async_delete_bad_input_is_refused_at_once(client, s3):
    assert client.post(WEBSITES, json={"BucketInput": {"Bucket": SITE}}).status_code == 200
    s3.put_object(Bucket=SITE, Key="about.html", Body=b"x")
    r = client.delete(f"{WEBSITES}/{SITE}", headers=ASYNC)
    assert r.status_code == 409 and "not empty" in r.json["message"]
    r = client.delete(f"{WEBSITES}/www.elsewhere.test", headers=ASYNC)
    assert r.status_code == 400
    assert operations(client) == []
    assert client.head(f"{WEBSITES}/{SITE}").status_code == 200


def test_async_delete_of_nothing_ends_failed_404(client, clock):
    op = accepted(client.delete(f"{WEBSITES}/{SITE}", headers=ASYNC), "website.delete")
    drain(client)
    done = finished(client, op)
    assert done["Status"] == "Failed" and done["Error"]["status"] == 404 and done["Attempts"] == 1


def test_async_delete_wait_bound_leaves_the_distribution_to_the_periodic_task(seed, clock, monkeypatch, cf):
    app = create_app(make_settings(seed).with_overrides(website_deploy_wait_seconds=20.0))
    client = Client(app.test_client())
    made = client.post(WEBSITES, json={"BucketInput": {"Bucket": SITE}})
    dist_id = made.json["Distribution"]["Id"]
    with monkeypatch.context() as patched:
        statuses(patched, "InProgress")
        op = accepted(client.delete(f"{WEBSITES}/{SITE}", headers=ASYNC), "website.delete")
        drain(client)
    result = finished(client, op)["Result"]
    assert result["DistributionDeleted"] is False and "periodic task" in result["Note"]
    assert clock.slept == [15.0, 5.0]
    assert (
        distribution_exists(cf, dist_id)
        and not cf.get_distribution(Id=dist_id)["Distribution"]["DistributionConfig"]["Enabled"]
    )
    aws = app.extensions["s3api"]
    assert periodic.run_all(aws.settings, aws.clients)["delete_distributions"] == 1  # the sweeper finishes it
    assert not distribution_exists(cf, dist_id)


def test_async_delete_canceled_while_waiting_leaves_the_distribution_disabled(client, clock, monkeypatch, cf):
    made = client.post(WEBSITES, json={"BucketInput": {"Bucket": SITE}})
    dist_id = made.json["Distribution"]["Id"]
    statuses(monkeypatch, "InProgress")
    op = accepted(client.delete(f"{WEBSITES}/{SITE}", headers=ASYNC), "website.delete")
    clock.on_sleep.append(lambda: store(client).request_cancel(op["Id"]))
    drain(client)
    done = finished(client, op)
    assert done["Status"] == "Canceled" and "periodic task" in done["Result"]["Canceled"]
    assert done["Progress"]["Deleted"] == 1
    assert distribution_exists(cf, dist_id)
    assert client.get(f"{WEBSITES}/{SITE}").status_code == 404  # the website itself is deleted


def test_async_delete_resumes_without_deleting_again(retrying_app, clock, cf):
    """A 5xx while polling the disable (the first GetDistribution is the delete's own, finding the site's
    distribution): the retry finds Deleted saved, finds the disabled distribution by alias, waits and deletes
    it (the delete itself would now be a 404)."""
    client = Client(retrying_app.test_client())
    made = client.post(WEBSITES, json={"BucketInput": {"Bucket": SITE}})
    dist_id = made.json["Distribution"]["Id"]
    op = accepted(client.delete(f"{WEBSITES}/{SITE}", headers=ASYNC), "website.delete")
    with faults.hooked(retrying_app, FailNth("GetDistribution", 2)) as hook:
        assert drain(client) == 2
    assert hook.failed
    done = finished(client, op)
    assert done["Status"] == "Succeeded" and done["Attempts"] == 2
    assert done["Result"] == {"Website": SITE, "Resumed": True, "DistributionDeleted": True}
    assert not distribution_exists(cf, dist_id)


@pytest.fixture(autouse=True)
def _no_transition_left() -> Iterator[None]:
    yield
    state_manager.unset_transition(model_name="cloudfront::distribution")


def test_the_wait_bound_is_configured_and_checked(seed):
    from s3api.config import ConfigError, from_mapping

    assert make_settings(seed).website_deploy_wait_seconds == 1800.0
    raw = {"accounts": {"a": {"account_id": "123456789012"}}, "tokens": {"t": "a-long-enough-token"}}
    assert from_mapping({**raw, "website_deploy_wait_seconds": 60}, env={}).website_deploy_wait_seconds == 60.0
    for bad in (-1, 86401, "60", True):
        with pytest.raises(ConfigError, match="website_deploy_wait_seconds"):
            from_mapping({**raw, "website_deploy_wait_seconds": bad}, env={})


def test_async_create_then_delete_on_each_database(db_client, clock, cf):
    """SQLite and PostgreSQL (where the row is also queued for procrastinate): the same rows, the same drain."""
    client = db_client
    made = accepted(create_async(client), "website.create")
    assert drain(client) == 1
    dist_id = finished(client, made)["Result"]["Distribution"]["Id"]
    gone = accepted(client.delete(f"{WEBSITES}/{SITE}", headers=ASYNC), "website.delete")
    assert drain(client) == 1
    assert finished(client, gone)["Result"]["DistributionDeleted"] is True
    assert not distribution_exists(cf, dist_id)
    assert [o["Kind"] for o in operations(client)] == ["website.delete", "website.create"]
