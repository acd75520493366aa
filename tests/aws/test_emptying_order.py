"""The forced delete's emptying, as AWS sees it (botocore's Stubber; moto is lenient): every version and delete
marker of a versioned bucket is deleted by its VersionId (a key alone would only get one more delete marker), in
Quiet batches listed from the start; per-key failures are retried by the next batch and end the work after
``MAX_TRIES`` (503 for S3's transient codes, 409 otherwise); incomplete uploads are aborted one by one."""

from __future__ import annotations

from typing import Any

import pytest

from s3api.errors import Conflict, ServiceUnavailable
from s3api.provisioning import emptying
from s3api.provisioning.progress import Counters
from tests.aws.test_bucket_order import NOW, B, StubClients, account_aws

LIST = {"Bucket": B, "MaxKeys": 1000}


@pytest.fixture
def stubs() -> Any:
    with StubClients() as s:
        yield s


@pytest.fixture(autouse=True)
def _no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emptying, "RETRY_PAUSE", 0.0)


def versions(*entries: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"Key": k, "VersionId": v, "IsLatest": i == 0, "LastModified": NOW} for i, (k, v) in enumerate(entries)]


def test_every_version_and_marker_goes_by_its_version_id(stubs: Any) -> None:
    page = {
        "Versions": versions(("a", "v2"), ("a", "v1"), ("n", "null")),
        "DeleteMarkers": [{"Key": "b", "VersionId": "m1", "IsLatest": True, "LastModified": NOW}],
        "IsTruncated": False,
    }
    stubs.ok("s3", "list_object_versions", page, LIST)
    objects = [{"Key": "a", "VersionId": "v2"}, {"Key": "a", "VersionId": "v1"}, {"Key": "n", "VersionId": "null"}]
    objects.append({"Key": "b", "VersionId": "m1"})
    stubs.ok("s3", "delete_objects", {}, {"Bucket": B, "Delete": {"Objects": objects, "Quiet": True}})
    stubs.ok("s3", "list_object_versions", {"IsTruncated": False}, LIST)  # from the start again: nothing left
    progress = Counters()
    emptying._delete_versions(account_aws(stubs), B, progress)
    stubs.verify()
    assert progress.counters == {"Batches": 1, "VersionsDeleted": 3, "DeleteMarkersDeleted": 1, "DeleteErrors": 0}


def test_a_refused_key_is_retried_then_named(stubs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emptying, "MAX_TRIES", 2)
    one = {"Versions": versions(("locked", "v1")), "IsTruncated": False}
    error = {"Errors": [{"Key": "locked", "VersionId": "v1", "Code": "AccessDenied", "Message": "Access Denied"}]}
    delete = {"Bucket": B, "Delete": {"Objects": [{"Key": "locked", "VersionId": "v1"}], "Quiet": True}}
    for _ in range(2):
        stubs.ok("s3", "list_object_versions", one, LIST)
        stubs.ok("s3", "delete_objects", error, delete)
    progress = Counters()
    with pytest.raises(Conflict, match="locked .version v1.: AccessDenied"):
        emptying._delete_versions(account_aws(stubs), B, progress)
    stubs.verify()
    assert progress.counters["DeleteErrors"] == 2 and progress.counters["VersionsDeleted"] == 0


def test_transient_refusals_end_as_503_for_the_engine_to_retry(stubs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emptying, "MAX_TRIES", 1)
    stubs.ok("s3", "list_object_versions", {"Versions": versions(("k", "v1")), "IsTruncated": False}, LIST)
    error = {"Errors": [{"Key": "k", "VersionId": "v1", "Code": "SlowDown", "Message": "Reduce your request rate"}]}
    stubs.ok(
        "s3",
        "delete_objects",
        error,
        {"Bucket": B, "Delete": {"Objects": [{"Key": "k", "VersionId": "v1"}], "Quiet": True}},
    )
    with pytest.raises(ServiceUnavailable, match="SlowDown"):
        emptying._delete_versions(account_aws(stubs), B, Counters())
    stubs.verify()


def test_uploads_are_aborted_one_by_one_until_none_is_listed(stubs: Any) -> None:
    uploads = {
        "Uploads": [
            {"Key": "big", "UploadId": "u1", "Initiated": NOW},
            {"Key": "big", "UploadId": "u2", "Initiated": NOW},
        ],
        "IsTruncated": False,
    }
    stubs.ok("s3", "list_multipart_uploads", uploads, {"Bucket": B, "MaxUploads": 1000})
    stubs.ok("s3", "abort_multipart_upload", {}, {"Bucket": B, "Key": "big", "UploadId": "u1"})
    stubs.error("s3", "abort_multipart_upload", "NoSuchUpload", {"Bucket": B, "Key": "big", "UploadId": "u2"}, 404)
    stubs.ok("s3", "list_multipart_uploads", {"IsTruncated": False}, {"Bucket": B, "MaxUploads": 1000})
    progress = Counters()
    emptying._abort_uploads(account_aws(stubs), B, progress)
    stubs.verify()
    assert stubs.order == [
        "ListMultipartUploads",
        "AbortMultipartUpload",
        "AbortMultipartUpload",
        "ListMultipartUploads",
    ]
    assert progress.counters == {"UploadsAborted": 2}  # one gone meanwhile counts as done
