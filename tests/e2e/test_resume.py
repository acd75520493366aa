"""The embedded default's engine (SQLite, the runner that ``s3api serve`` starts beside the API): an operation
interrupted by a stop, graceful or not, resumes when the service starts again, and finishes."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.e2e.cluster import call, cluster, wait_done, wait_until

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["graceful", "killed"])
def test_an_unfinished_operation_resumes_after_a_restart(tmp_path: Path, stop: int) -> None:
    with cluster(tmp_path, postgres=False) as c:
        first = c.replica("first", with_worker=True)
        assert call(first, "POST", "/local/buckets", json={"BucketInput": {"Bucket": "resume-me"}}).status_code == 200
        c.fill("resume-me", 12_000)
        answer = call(first, "DELETE", "/local/buckets/resume-me?force=true")
        assert answer.status_code == 202, answer.text
        op_id = answer.json()["Id"]

        def progress() -> int:
            return int(call(first, "GET", f"/operations/{op_id}").json()["Progress"].get("VersionsDeleted", 0))

        wait_until(lambda: progress() >= 1000, 120, 0.1, "a first batch")
        first.stop(stop)  # the whole process group: API, runner
        s3 = c.boto3("s3")
        assert s3.list_objects_v2(Bucket="resume-me").get("KeyCount", 0) > 0  # half-way
        again = c.replica("again", with_worker=True)

        done = wait_done(again, op_id, 180)
        assert done["Status"] == "Succeeded", done
        assert done["Progress"]["VersionsDeleted"] == 12_000
        assert "resume-me" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
