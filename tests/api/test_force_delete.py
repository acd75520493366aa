"""Forced bucket delete (``DELETE .../buckets/{b}?force=true``): the preflight in the request, then an operation
that empties the bucket in batches of 1,000 (versions, delete markers, incomplete uploads) and deletes its IAM
family and the bucket; cancel at a checkpoint leaves it half-emptied and says so; without force, Yale's behaviour.

Operations run with ``local.drain`` in the test's thread (inside the test's mock_aws), on SQLite and, where
``db_client`` is used, PostgreSQL too (there ``start`` also queues a procrastinate job; the row is the truth and
``drain`` runs it here).
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from flask import Flask
from moto.s3.models import s3_backends

from s3api import embedded
from s3api.aws.s3 import DISTRIBUTION_TAG
from s3api.db.audit import AuditLog, Filters
from s3api.db.operations import OperationStore
from s3api.jobs import local
from s3api.provisioning import emptying
from s3api.schemas.audit import AuditEventSchema
from tests.api.test_buckets import ORG, distribution_config, state
from tests.conftest import Client

BUCKETS = "/v1/s3/local/buckets"
BUCKET = "alpha-data"
PLAIN = 2500  # objects written before versioning is on: VersionId "null", three batches with the rest


def make_bucket(client: Client, name: str = BUCKET) -> None:
    r = client.post(BUCKETS, json={"BucketInput": {"Bucket": name}})
    assert r.status_code == 200, r.json


def inject(bucket: str, count: int, prefix: str = "p/") -> None:
    """``count`` small objects written straight into moto's backend (a boto3 PutObject loop is ~700/s)."""
    backend = s3_backends[embedded.ACCOUNT_ID]["aws"]
    for i in range(count):
        backend.put_object(bucket, f"{prefix}{i:06d}", b"x")


def populate(client: Client, s3: Any, bucket: str = BUCKET) -> dict[str, int]:
    """A bucket with 2,500 unversioned objects, then versioning on: 4 more versions, 2 delete markers (one over a
    null version), one incomplete multipart upload (a part uploaded), one bucket user. What it holds."""
    make_bucket(client, bucket)
    inject(bucket, PLAIN)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for key in ("v/a", "v/b"):
        for body in (b"1", b"2"):
            s3.put_object(Bucket=bucket, Key=key, Body=body)
    s3.delete_object(Bucket=bucket, Key="v/a")  # a delete marker over two versions
    s3.delete_object(Bucket=bucket, Key="p/000000")  # a delete marker over the null version
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp/big")
    s3.upload_part(Bucket=bucket, Key="mp/big", UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 1024)
    made = client.post(f"{BUCKETS}/{bucket}/users", json={"User": {"UserName": f"{bucket}-alice"}})
    assert made.status_code in (200, 201), made.json
    return {"Versions": PLAIN + 4, "DeleteMarkers": 2, "Uploads": 1}


def env_of(client: Client) -> Any:
    return client.raw.application.extensions["s3api"]


def events(app: Flask) -> list[dict[str, Any]]:
    trail: AuditLog = app.extensions["s3api.audit"]
    return [AuditEventSchema().dump(e) for e in reversed(list(trail.stream(Filters())))]


def operation_rows(client: Client) -> list[dict[str, Any]]:
    return list(env_of(client).operations.list()["Operations"])


@pytest.fixture(autouse=True)
def _no_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emptying, "RETRY_PAUSE", 0.0)


@pytest.fixture
def iam(aws: None) -> Any:
    return boto3.client("iam", region_name="us-east-1")


# --- the whole life ------------------------------------------------------------------------------------------


def test_force_delete_empties_and_deletes_everything(db_client: Client, s3: Any, iam: Any) -> None:
    before = state(s3, iam)
    make_bucket(db_client, "beta-data")  # another bucket of the account: untouched
    beta = state(s3, iam)
    held = populate(db_client, s3)
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "DeleteObjects":
            sent.append(params["Delete"])

    env = env_of(db_client)
    env.clients.add_hook("before-parameter-build.s3.DeleteObjects", record)

    r = db_client.delete(f"{BUCKETS}/{BUCKET}?force=true")
    assert r.status_code == 202, r.json
    op = r.json
    assert r.headers["Location"] == f"/v1/s3/operations/{op['Id']}"
    assert (op["Kind"], op["Status"], op["Target"]) == ("bucket.delete", "NotStarted", f"bucket:local/{BUCKET}")
    assert op["Progress"] == {
        "VersionsFound": 1000 - op["Progress"]["DeleteMarkersFound"],
        "DeleteMarkersFound": op["Progress"]["DeleteMarkersFound"],
        "VersionsTruncated": 1,
        "UploadsFound": 1,
        "UploadsTruncated": 0,
        "UsersFound": 1,
    }
    assert s3.head_bucket(Bucket=BUCKET)  # nothing done in the request

    assert local.drain(env) == 1
    shown = db_client.get(r.headers["Location"])
    assert shown.status_code == 200
    done = shown.json
    assert (done["Status"], done["Done"], done["Error"]) == ("Succeeded", True, None), done
    progress = done["Progress"]
    assert progress["VersionsDeleted"] == held["Versions"]
    assert progress["DeleteMarkersDeleted"] == held["DeleteMarkers"]
    assert progress["UploadsAborted"] == held["Uploads"]
    assert progress["Batches"] == 3 and progress["DeleteErrors"] == 0
    assert (progress["UsersDeleted"], progress["GroupsDeleted"]) == (1, 1)
    assert progress["PoliciesDeleted"] >= 1
    assert done["Result"] == {
        "Bucket": BUCKET,
        "Deleted": True,
        "AlreadyGone": False,
        "VersionsDeleted": held["Versions"],
        "DeleteMarkersDeleted": held["DeleteMarkers"],
        "UploadsAborted": 1,
        "Users": [f"{BUCKET}-alice"],
        "Groups": [f"{BUCKET}-BktAdmGrp"],
        "Policies": done["Result"]["Policies"],
    }
    assert f"{BUCKET}-BktAdmPlc" in done["Result"]["Policies"]
    # gone: the bucket, its group, policies and the user whose only access it was; the other bucket stays
    assert state(s3, iam) == beta and set(beta["buckets"]) - set(before["buckets"]) == {"beta-data"}
    # AWS's rule: every entry deleted by its VersionId (a versioned key without one only gets a delete marker)
    assert len(sent) == 3 and all(d["Quiet"] is True for d in sent)
    assert all(o.get("VersionId") for d in sent for o in d["Objects"])
    assert sum(len(d["Objects"]) for d in sent) == held["Versions"] + held["DeleteMarkers"]

    trail = events(db_client.raw.application)
    request = [e for e in trail if e["Action"] == "bucket.delete"]
    assert len(request) == 1 and request[0]["OperationId"] == op["Id"] and request[0]["Status"] == 202
    ended = [e for e in trail if e["Action"] == "operation.end"]
    assert len(ended) == 1 and ended[0]["OperationId"] == op["Id"] and ended[0]["Outcome"] == "ok"


def test_a_bucket_already_gone_finishes_its_iam_clean_up(client: Client, s3: Any, iam: Any) -> None:
    """A re-run after a crash that came after DeleteBucket: the IAM clean-up is finished, and it succeeds."""
    before = state(s3, iam)
    make_bucket(client)
    s3.put_object(Bucket=BUCKET, Key="a.txt", Body=b"x")
    r = client.delete(f"{BUCKETS}/{BUCKET}?force=true")
    assert r.status_code == 202
    s3.delete_object(Bucket=BUCKET, Key="a.txt")
    s3.delete_bucket(Bucket=BUCKET)  # what the crashed first attempt did last
    local.drain(env_of(client))
    done = client.get(r.headers["Location"]).json
    assert done["Status"] == "Succeeded", done
    assert done["Result"]["AlreadyGone"] is True and done["Result"]["Groups"] == [f"{BUCKET}-BktAdmGrp"]
    assert state(s3, iam) == before


def test_an_unversioned_bucket_goes_with_its_null_versions(client: Client, s3: Any, iam: Any) -> None:
    before = state(s3, iam)
    make_bucket(client)
    inject(BUCKET, 1001)
    r = client.delete(f"{BUCKETS}/{BUCKET}?force=true")
    assert r.status_code == 202
    assert (r.json["Progress"]["VersionsFound"], r.json["Progress"]["VersionsTruncated"]) == (1000, 1)
    local.drain(env_of(client))
    done = client.get(r.headers["Location"]).json
    assert done["Status"] == "Succeeded", done
    assert (done["Progress"]["VersionsDeleted"], done["Progress"]["Batches"]) == (1001, 2)
    assert state(s3, iam) == before


# --- refusals: nothing changed, no operation ------------------------------------------------------------------


def test_a_live_websites_bucket_is_409_with_the_reason(db_client: Client, s3: Any, iam: Any) -> None:
    make_bucket(db_client, "www.example.test")
    s3.put_object(Bucket="www.example.test", Key="index.html", Body=b"<html></html>")
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    dist_id = cloudfront.create_distribution(DistributionConfig=distribution_config("www.example.test"))[
        "Distribution"
    ]["Id"]
    s3.put_bucket_tagging(
        Bucket="www.example.test", Tagging={"TagSet": [ORG, {"Key": DISTRIBUTION_TAG, "Value": dist_id}]}
    )
    before = state(s3, iam)
    r = db_client.delete(f"{BUCKETS}/www.example.test?force=true")
    assert r.status_code == 409, r.json
    assert dist_id in r.json["message"] and "website" in r.json["message"]
    assert r.json["errors"]["Website"] == [
        f"served by the enabled CloudFront distribution {dist_id}: delete the website instead"
    ]
    assert state(s3, iam) == before
    assert s3.list_objects_v2(Bucket="www.example.test")["KeyCount"] == 1
    assert operation_rows(db_client) == []


def test_missing_bucket_is_404_and_no_operation(client: Client) -> None:
    r = client.delete(f"{BUCKETS}/missing-bucket?force=true")
    assert r.status_code == 404, r.json
    assert operation_rows(client) == []


def test_a_bucket_not_ours_is_403_and_no_operation(client: Client, s3: Any) -> None:
    s3.create_bucket(Bucket="foreign-data")
    s3.put_object(Bucket="foreign-data", Key="a", Body=b"x")
    r = client.delete(f"{BUCKETS}/foreign-data?force=true")
    assert r.status_code == 403, r.json
    assert operation_rows(client) == []
    assert s3.list_objects_v2(Bucket="foreign-data")["KeyCount"] == 1


@pytest.mark.parametrize("query", ["", "?force=false"])
def test_without_force_a_non_empty_bucket_stays_409(client: Client, s3: Any, iam: Any, query: str) -> None:
    make_bucket(client)
    s3.put_object(Bucket=BUCKET, Key="a.txt", Body=b"x")
    before = state(s3, iam)
    r = client.delete(f"{BUCKETS}/{BUCKET}{query}")
    assert r.status_code == 409 and "not empty" in r.json["message"]
    assert state(s3, iam) == before
    assert operation_rows(client) == []
    s3.delete_object(Bucket=BUCKET, Key="a.txt")
    r = client.delete(f"{BUCKETS}/{BUCKET}{query}")
    assert (r.status_code, r.json) == (200, {})  # Yale's answer for an empty bucket


@pytest.mark.parametrize("query", ["?force=yes", "?force=1", "?force=True", "?force=", "?forced=true", "?x=1"])
def test_bad_query_is_400_and_changes_nothing(client: Client, s3: Any, iam: Any, query: str) -> None:
    make_bucket(client)
    s3.put_object(Bucket=BUCKET, Key="a.txt", Body=b"x")
    before = state(s3, iam)
    r = client.delete(f"{BUCKETS}/{BUCKET}{query}")
    assert r.status_code == 400, r.json
    assert r.json["code"] == "BadRequest"
    assert state(s3, iam) == before
    assert operation_rows(client) == []


def test_a_repeated_forced_delete_answers_the_unfinished_one(client: Client, s3: Any) -> None:
    make_bucket(client)
    s3.put_object(Bucket=BUCKET, Key="a.txt", Body=b"x")
    first = client.delete(f"{BUCKETS}/{BUCKET}?force=true")
    assert first.status_code == 202
    assert "Preference-Applied" not in first.headers  # asynchronous by its nature: no preference was stated
    again = client.delete(f"{BUCKETS}/{BUCKET}?force=true")
    assert again.status_code == 202 and again.json["Id"] == first.json["Id"]
    assert len(operation_rows(client)) == 1


def test_if_busy_conflict_is_409_while_another_operation_holds_the_bucket(client: Client, s3: Any) -> None:
    make_bucket(client)
    s3.put_object(Bucket=BUCKET, Key="a.txt", Body=b"x")
    first = client.delete(f"{BUCKETS}/{BUCKET}?force=true")
    assert first.status_code == 202
    recount = client.post(f"{BUCKETS}/{BUCKET}/usage/recount", headers={"Prefer": "if-busy=conflict"})
    assert recount.status_code == 409, recount.json
    assert recount.json["errors"] == {"OperationId": first.json["Id"]}
    assert len(operation_rows(client)) == 1
    queued = client.post(f"{BUCKETS}/{BUCKET}/usage/recount")  # without the preference: it waits its turn
    assert queued.status_code == 202 and len(operation_rows(client)) == 2


# --- cancel -----------------------------------------------------------------------------------------------------


def test_cancel_stops_at_a_checkpoint_and_leaves_it_half_emptied(
    db_client: Client, s3: Any, iam: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cancel arrives while the task runs: the first progress save (after the first batch of 1,000) finds it
    asked for and stops there."""
    held = populate(db_client, s3)
    r = db_client.delete(f"{BUCKETS}/{BUCKET}?force=true")
    assert r.status_code == 202
    op_id = r.json["Id"]
    save = OperationStore.save_progress
    saves: list[dict[str, int]] = []

    def cancel_then_save(self: OperationStore, op: str, progress: dict[str, int]) -> bool:
        if not saves:
            canceled = db_client.post(f"/v1/s3/operations/{op}/cancel")
            assert canceled.status_code == 202 and canceled.json["Status"] == "Running"
        saves.append(dict(progress))
        return save(self, op, progress)

    monkeypatch.setattr(OperationStore, "save_progress", cancel_then_save)
    before = state(s3, iam)
    local.drain(env_of(db_client))

    done = db_client.get(f"/v1/s3/operations/{op_id}").json
    assert done["Status"] == "Canceled", done
    assert done["CancelRequested"] is True and len(saves) == 1
    progress = done["Progress"]
    assert progress["Batches"] == 1
    assert progress["VersionsDeleted"] + progress["DeleteMarkersDeleted"] == 1000
    assert "UploadsAborted" not in progress and "UsersDeleted" not in progress
    note = done["Result"]["Canceled"]
    assert "stays half-emptied" in note and f"{progress['VersionsDeleted']} versions" in note
    # the bucket is still there with the rest, and its IAM family with it
    assert state(s3, iam) == before
    pages = list(s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET))
    listed = sum(len(p.get("Versions", [])) + len(p.get("DeleteMarkers", [])) for p in pages)
    assert listed == held["Versions"] + held["DeleteMarkers"] - 1000
    assert len(s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])) == 1
    ended = [e for e in events(db_client.raw.application) if e["Action"] == "operation.end"]
    assert [e["Outcome"] for e in ended] == ["canceled"]

    # a new forced delete finishes the job
    monkeypatch.setattr(OperationStore, "save_progress", save)
    again = db_client.delete(f"{BUCKETS}/{BUCKET}?force=true")
    assert again.status_code == 202
    local.drain(env_of(db_client))
    finished = db_client.get(again.headers["Location"]).json
    assert finished["Status"] == "Succeeded", finished
    assert finished["Progress"]["VersionsDeleted"] + finished["Progress"]["DeleteMarkersDeleted"] == listed
    assert BUCKET not in state(s3, iam)["buckets"]


def test_cancel_before_it_started_does_nothing(client: Client, s3: Any, iam: Any) -> None:
    make_bucket(client)
    s3.put_object(Bucket=BUCKET, Key="a.txt", Body=b"x")
    r = client.delete(f"{BUCKETS}/{BUCKET}?force=true")
    before = state(s3, iam)
    canceled = client.post(f"/v1/s3/operations/{r.json['Id']}/cancel")
    assert canceled.status_code == 202 and canceled.json["Status"] == "Canceled"
    assert local.drain(env_of(client)) == 0
    assert state(s3, iam) == before
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 1


# --- per-key failures ---------------------------------------------------------------------------------------------


def _refuse_keys(monkeypatch: pytest.MonkeyPatch, refused: set[str], code: str) -> list[int]:
    """DeleteObjects answers ``code`` for the ``refused`` keys (they stay) and deletes the rest."""
    from s3api.aws import s3 as gateway

    real = gateway.delete_versions
    calls: list[int] = []

    def partial(aws: Any, bucket: str, versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        calls.append(len(versions))
        kept = [v for v in versions if v["Key"] not in refused]
        if kept:
            real(aws, bucket, kept)
        return [
            {"Key": v["Key"], "VersionId": v["VersionId"], "Code": code, "Message": "refused"}
            for v in versions
            if v["Key"] in refused
        ]

    monkeypatch.setattr(gateway, "delete_versions", partial)
    return calls


def test_a_key_that_fails_once_is_retried_by_the_next_batch(
    client: Client, s3: Any, iam: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = state(s3, iam)
    make_bucket(client)
    inject(BUCKET, 10)
    refused = {"p/000003"}
    calls = _refuse_keys(monkeypatch, refused, "InternalError")
    real = emptying.s3.list_versions_page

    def list_then_forgive(*args: Any, **kw: Any) -> dict[str, Any]:
        if len(calls) == 1:
            refused.clear()  # the second batch may delete it
        return real(*args, **kw)

    monkeypatch.setattr(emptying.s3, "list_versions_page", list_then_forgive)
    r = client.delete(f"{BUCKETS}/{BUCKET}?force=true")
    local.drain(env_of(client))
    done = client.get(r.headers["Location"]).json
    assert done["Status"] == "Succeeded", done
    assert calls == [10, 1]
    assert (done["Progress"]["VersionsDeleted"], done["Progress"]["DeleteErrors"]) == (10, 1)
    assert state(s3, iam) == before


def test_a_key_that_keeps_failing_ends_it_with_an_error_naming_it(
    client: Client, s3: Any, iam: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_bucket(client)
    inject(BUCKET, 10)
    calls = _refuse_keys(monkeypatch, {"p/000003"}, "AccessDenied")
    r = client.delete(f"{BUCKETS}/{BUCKET}?force=true")
    before = state(s3, iam)
    local.drain(env_of(client))
    done = client.get(r.headers["Location"]).json
    assert done["Status"] == "Failed", done
    assert done["Error"]["status"] == 409 and "p/000003" in done["Error"]["message"]
    assert "AccessDenied" in done["Error"]["message"] and "half-emptied" in done["Error"]["message"]
    assert calls == [10] + [1] * (emptying.MAX_TRIES - 1)
    assert done["Progress"]["VersionsDeleted"] == 9
    after = state(s3, iam)
    assert after == before  # the bucket and its IAM family stay
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["p/000003"]
