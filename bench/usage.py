"""The usage section: the daily usage sample (periodic task ``usage_sample``) over 10, 100 and 1,000 managed
buckets, beside the same AWS calls made directly with boto3, to show the per-bucket cost flat in the number of
buckets.

It runs in a child process (``python -m bench.usage``) with moto in-process (``mock_aws``): the buckets (each with
its admin group, organisation tag and three small objects) are written straight into moto's backends. Per level:

- API: ``s3api.control.usage.sample`` runs (with its page budget per run, :data:`PAGES_PER_RUN`) until every
  bucket has its day (the number of runs says how the work spreads over time), on a scratch SQLite database;
- direct: ListBuckets, ListGroups (pages of 100), then per bucket GetBucketTagging and ListObjectsV2.

Reported per level: AWS calls per bucket and milliseconds per bucket on each side, the ratio, the runs needed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench import report
from bench.sections import TITLES, Run
from bench.stats import ratio

TITLE = "Usage sampling: calls and time per bucket at 10, 100 and 1,000 buckets, API vs the same calls direct"
TITLES["usage"] = TITLE
ACCOUNT_ID = "123456789012"
LEVELS = (10, 100, 1000)


def usage_sampling(run: Run) -> dict[str, Any]:
    seconds = run.seconds(240.0, 30)
    out = run.workdir / "usage.json"
    cmd = [sys.executable, "-m", "bench.usage", "--json", str(out)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds, cwd=Path(__file__).parent.parent)
    except subprocess.TimeoutExpired:
        return report.section(TITLE, "error", f"timed out after {seconds:.0f} s")
    if done.returncode != 0 or not out.exists():
        tail = " | ".join(done.stderr.strip().splitlines()[-4:])
        return report.section(TITLE, "error", f"child exited {done.returncode}: {tail}")
    return render(json.loads(out.read_text()))


def render(data: dict[str, Any]) -> dict[str, Any]:
    sec = report.section(TITLE)
    sec["data"] = data
    rows = []
    for level in data["levels"]:
        api, direct = level["api"], level["direct"]
        rows.append(
            [
                level["buckets"],
                api["calls_per_bucket"],
                direct["calls_per_bucket"],
                api["ms_per_bucket"],
                direct["ms_per_bucket"],
                level["ratio"],
                api["runs"],
            ]
        )
    sec["tables"].append(
        report.table(
            "",
            [
                "buckets",
                "API calls/bucket",
                "direct calls/bucket",
                "API ms/bucket",
                "direct ms/bucket",
                "ratio",
                "runs",
            ],
            rows,
        )
    )
    sec["notes"].append(
        "Calls per bucket: 1 GetBucketTagging + 1 ListObjectsV2 page per 1,000 objects, plus ListBuckets and "
        "ListGroups per run shared by every bucket. A run reads at most PAGES_PER_RUN pages; more buckets take more "
        "runs (the work spreads over the sampling periods of the day)."
    )
    return sec


def summary_line(data: dict[str, Any]) -> str:
    parts = [f"{lv['buckets']}: {lv['api']['calls_per_bucket']} calls, ratio {lv['ratio']}" for lv in data["levels"]]
    return "Usage sampling per bucket — " + "; ".join(parts) + "."


# --- the child -------------------------------------------------------------------------------------------------


class _Calls:
    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, **_: Any) -> None:
        with self._lock:
            self.count += 1


def _seed(n: int, prefix: str) -> list[str]:
    from moto.iam.models import iam_backends
    from moto.s3.models import s3_backends

    s3 = s3_backends[ACCOUNT_ID]["aws"]
    iam = iam_backends[ACCOUNT_ID]["aws"]
    names = [f"{prefix}-{i:05d}" for i in range(n)]
    for name in names:
        s3.create_bucket(name, "us-east-1")
        s3.put_bucket_tagging(name, {"s3api:org": "bench"})
        for k in range(3):
            s3.put_object(name, f"obj-{k}", b"x" * 100)
        iam.create_group(f"{name}-BktAdmGrp", "/")
    return names


def _api(n: int, workdir: Path) -> dict[str, Any]:
    from s3api.aws.clients import AccountAws, Clients
    from s3api.config import from_mapping
    from s3api.control import usage
    from s3api.db import migrate
    from s3api.db.session import Database
    from s3api.db.usage import UsageStore

    _seed(n, f"api{n}")
    raw = {
        "org": "bench",
        "accounts": {"local": {"account_id": ACCOUNT_ID, "region": "us-east-1", "s3_addressing_style": "path"}},
        "tokens": {"bench": "bench-usage-token-0123456789"},
        "database_url": f"sqlite:///{workdir}/usage-{n}.db",
        "data_dir": str(workdir),
    }
    settings = from_mapping(raw, env={})
    migrate.upgrade(settings.database)
    clients = Clients()
    calls = _Calls()
    clients.add_hook("before-call", calls)
    aws = AccountAws(settings.accounts["local"], clients, settings)
    store = UsageStore(Database(settings.database))
    aws.s3.list_buckets()  # the client and the database engine made before the clock starts
    store.day_of("local", ["warm-up"], "2026-12-04")
    aws.iam.list_groups(MaxItems=1)
    calls.count = 0
    runs = done = 0
    t0 = time.perf_counter()
    while done < n and runs < 100:
        done += usage.sample(aws, store, day="2026-12-04")
        runs += 1
    took = time.perf_counter() - t0
    return {"buckets_done": done, "runs": runs, "calls_per_bucket": round(calls.count / n, 2),
            "ms_per_bucket": round(1000 * took / n, 2)}  # fmt: skip


def _direct(n: int) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    names = _seed(n, f"dir{n}")
    s3 = boto3.client("s3", region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
    iam = boto3.client("iam", region_name="us-east-1")
    calls = _Calls()
    for client in (s3, iam):
        client.meta.events.register("before-call", calls)
    s3.list_buckets()
    iam.list_groups(MaxItems=1)
    calls.count = 0
    t0 = time.perf_counter()
    s3.list_buckets()
    for _page in iam.get_paginator("list_groups").paginate(PaginationConfig={"PageSize": 100}):
        pass
    for name in names:
        s3.get_bucket_tagging(Bucket=name)
        s3.list_objects_v2(Bucket=name, MaxKeys=1000)
    took = time.perf_counter() - t0
    return {"calls_per_bucket": round(calls.count / n, 2), "ms_per_bucket": round(1000 * took / n, 2)}


def measure(levels: tuple[int, ...] = LEVELS) -> dict[str, Any]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ[key] = value
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "S3API_CONFIG", "S3API_TOKEN"):
        os.environ.pop(key, None)
    from moto import mock_aws

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in levels:
            with mock_aws():
                api = _api(n, Path(tmp))
            with mock_aws():
                direct = _direct(n)
            out.append(
                {
                    "buckets": n,
                    "api": api,
                    "direct": direct,
                    "ratio": ratio(api["ms_per_bucket"], direct["ms_per_bucket"]),
                }
            )
    return {"levels": out}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.usage")
    p.add_argument("--levels", default=",".join(map(str, LEVELS)))
    p.add_argument("--json", help="write the result here (default: stdout)")
    args = p.parse_args(argv)
    data = measure(tuple(int(x) for x in args.levels.split(",")))
    text = json.dumps(data, indent=2)
    if args.json:
        Path(args.json).write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
