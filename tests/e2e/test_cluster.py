"""Several processes on one PostgreSQL: periodic tasks run once per period across workers; an operation started
on one replica is finished by a worker of another process."""

from __future__ import annotations

import collections
import time
from pathlib import Path

import pytest

from tests.e2e.cluster import call, cluster, wait_until

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
