"""Several processes on one PostgreSQL: periodic tasks run once per period across workers; an operation started
on one replica is finished by a worker of another process."""

from __future__ import annotations

import collections
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.cluster import call, cluster, wait_done, wait_until

pytestmark = pytest.mark.e2e


def test_three_workers_run_each_periodic_task_once_per_period(tmp_path: Path) -> None:
    with cluster(tmp_path, S3API_SWEEP_INTERVAL="2") as c:
        workers = [c.worker(f"w{i}") for i in range(3)]
        wait_until(
            lambda: all(any(line.get("message") == "worker started" for line in w.lines()) for w in workers),
            timeout=60,
            what="three workers started",
        )
        time.sleep(9)  # about four periods of 2 s
        for w in workers:
            w.stop()
        runs: collections.Counter[tuple[str, int]] = collections.Counter()
        by_worker: collections.Counter[str] = collections.Counter()
        for w in workers:
            for line in w.lines():
                if line.get("message") == "periodic task ran":
                    runs[(line["task"], line["period"])] += 1
                    by_worker[w.name] += 1
    assert runs, "no periodic task ran"
    assert [key for key, count in runs.items() if count != 1] == []  # never twice in one period
    periods = {period for task, period in runs if task == "operations_purge"}
    assert len(periods) >= 3, periods  # and it kept running, period after period
    tasks = {task for task, _ in runs}
    assert {"retire_keys", "delete_distributions", "delete_dns_records", "audit_purge", "operations_purge"} <= tasks
    assert sum(by_worker.values()) == sum(runs.values())


# --- operations across processes: two API replicas and workers on one PostgreSQL ----------------------------


def _operation(proc, op_id: str) -> dict:  # type: ignore[no-untyped-def]
    answer = call(proc, "GET", f"/operations/{op_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def _force_delete(proc, bucket: str) -> dict:  # type: ignore[no-untyped-def]
    answer = call(proc, "DELETE", f"/local/buckets/{bucket}?force=true")
    assert answer.status_code == 202, answer.text
    assert answer.headers["Location"] == f"/v1/s3/operations/{answer.json()['Id']}"
    return answer.json()


def _gone(c, bucket: str) -> bool:  # type: ignore[no-untyped-def]
    names = {b["Name"] for b in c.boto3("s3").list_buckets()["Buckets"]}
    groups = {g["GroupName"] for g in c.boto3("iam").list_groups()["Groups"]}
    return bucket not in names and not any(g.startswith(f"{bucket}-") for g in groups)


def test_an_operation_started_on_one_replica_is_finished_by_a_worker_of_another_process(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        a, b = c.replica("api-a"), c.replica("api-b")
        worker = c.worker("worker")
        assert call(a, "POST", "/local/buckets", json={"BucketInput": {"Bucket": "full-bucket"}}).status_code == 200
        c.fill("full-bucket", 1500)
        op = _force_delete(b, "full-bucket")
        done = wait_done(a, op["Id"], 90)
        assert done["Status"] == "Succeeded", done
        assert done["Progress"]["VersionsDeleted"] == 1500
        assert _gone(c, "full-bucket")
        assert worker.alive()
        events = call(a, "GET", "/audit?action=operation.").json()["Events"]
        assert [(e["Action"], e["OperationId"], e["Outcome"]) for e in events] == [("operation.end", op["Id"], "ok")]


def test_a_worker_killed_mid_delete_leaves_the_operation_to_another_worker(tmp_path: Path) -> None:
    with cluster(tmp_path, S3API_WORKER_HEARTBEAT="1", S3API_WORKER_STALLED_AFTER="4", S3API_SWEEP_INTERVAL="2") as c:
        api = c.replica("api")
        first = c.worker("first", concurrency=1)
        assert call(api, "POST", "/local/buckets", json={"BucketInput": {"Bucket": "big-bucket"}}).status_code == 200
        c.fill("big-bucket", 20_000)
        op = _force_delete(api, "big-bucket")
        wait_until(
            lambda: _operation(api, op["Id"])["Progress"].get("VersionsDeleted", 0) >= 2000, 120, 0.1, "a first batch"
        )
        first.stop(signal.SIGKILL)
        partial = _operation(api, op["Id"])
        assert partial["Status"] == "Running" and not partial["Done"]
        assert c.boto3("s3").list_objects_v2(Bucket="big-bucket").get("KeyCount", 0) > 0  # half-way
        c.worker("second")
        done = wait_done(api, op["Id"], 180)
        assert done["Status"] == "Succeeded", done
        assert done["Progress"]["VersionsDeleted"] == 20_000
        assert done["Attempts"] >= 2
        assert _gone(c, "big-bucket")


def _restart_postgresql(down_seconds: float) -> None:
    """Stop this machine's PostgreSQL for ``down_seconds``, then start it again (its own tooling, as root)."""
    tool = shutil.which("pg_ctlcluster")
    if tool is None or os.geteuid() != 0 or not Path("/etc/postgresql").is_dir():
        pytest.skip("PostgreSQL restart test needs pg_ctlcluster as root (this machine kind has it)")
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run([tool, "--skip-systemctl-redirect", version, "main", "stop", "-m", "fast"], check=True, timeout=60)
    try:
        time.sleep(down_seconds)
    finally:
        subprocess.run([tool, "--skip-systemctl-redirect", version, "main", "start"], check=True, timeout=60)


def test_a_database_restart_mid_task_is_retried_to_the_end(tmp_path: Path) -> None:
    with cluster(tmp_path, S3API_WORKER_HEARTBEAT="1", S3API_WORKER_STALLED_AFTER="4", S3API_SWEEP_INTERVAL="2") as c:
        api = c.replica("api")
        worker = c.worker("worker", concurrency=1)
        assert call(api, "POST", "/local/buckets", json={"BucketInput": {"Bucket": "db-bucket"}}).status_code == 200
        c.fill("db-bucket", 12_000)
        op = _force_delete(api, "db-bucket")
        wait_until(lambda: _operation(api, op["Id"])["Progress"].get("VersionsDeleted", 0) >= 1000, 120, 0.1, "a batch")
        _restart_postgresql(down_seconds=4)  # mid-task: the task's next progress save finds no database
        done = wait_done(api, op["Id"], 180)
        assert done["Status"] == "Succeeded", done
        assert done["Progress"]["VersionsDeleted"] == 12_000
        assert _gone(c, "db-bucket")
        felt = [line for line in worker.lines() if line.get("level") in ("warning", "error")]
        assert felt, "the outage was not felt by the worker: the test proved nothing"
