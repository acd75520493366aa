"""The forcedelete section: a bucket of ``--forcedelete-objects`` objects (100,000 by default) deleted through the
forced-delete operation, beside the same ListObjectVersions + DeleteObjects batches made directly with boto3.

It runs in a child process (``python -m bench.forcedelete``, killed at its time cap) with moto in-process
(``mock_aws``), not against the main server's moto: seeding 100,000 objects through PutObject is slow (the child
measures it: a plain loop, and threads), so the objects are written straight into moto's S3 backend. Both sides
run in the child, one after the other on buckets of the same size:

- API: the app in-process (Flask test client, SQLite file database), ``DELETE .../buckets/{b}?force=true`` (the
  preflight, 202), then ``s3api.jobs.local.drain`` runs the operation in the child's thread (batches of 1,000,
  checkpoints saved to the database, the IAM family, DeleteBucket); ``GET /v1/s3/operations/{id}`` must say
  ``Succeeded`` with every object counted;
- direct: a plain boto3 client, ListObjectVersions (MaxKeys 1,000) → DeleteObjects (Quiet, with VersionId)
  until nothing is listed, then DeleteBucket.

moto's ListObjectVersions deep-copies every version of the bucket on every call (2.2 s per page at 20,000 keys,
so a 100,000-object bucket would take most of an hour); the child makes that copy shallow for both sides
(``--moto-deepcopy`` keeps moto's own). The child only lists, puts and deletes, which a shallow copy serves alike.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench import report
from bench.sections import BUCKET_PATH, TITLES, Run
from bench.stats import ratio

TITLE = "Forced delete: a bucket of 100,000 objects through the operation vs the same batches made directly"
TITLES["forcedelete"] = TITLE
ACCOUNT_ID = "123456789012"
TOKEN = "bench-forcedelete-token-0123456789"
API_BUCKET, DIRECT_BUCKET = "bench-forcedelete-api", "bench-forcedelete-direct"
PUT_SAMPLE = 300  # objects per seeding probe (plain loop, threads)
PUT_THREADS = 8


# --- the section (the bench's process) -------------------------------------------------------------------------


def force_delete(run: Run) -> dict[str, Any]:
    route = ("DELETE", BUCKET_PATH)
    if miss := run.server.missing(route):
        return report.skipped(TITLE, "route missing: " + ", ".join(miss))
    caps = run.caps
    seconds = run.seconds(caps.forcedelete_seconds, 5)
    if seconds < caps.forcedelete_seconds:  # a child cut short would only say "timed out": it needs its whole cap
        return report.skipped(
            TITLE,
            f"needs {caps.forcedelete_seconds:.0f} s, the run has {run.remaining():.0f} s left: "
            "run it alone (--only forcedelete)",
        )
    out = run.workdir / "forcedelete.json"
    cmd = [sys.executable, "-m", "bench.forcedelete", "--objects", str(caps.forcedelete_objects), "--json", str(out)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds, cwd=Path(__file__).parent.parent)
    except subprocess.TimeoutExpired:  # subprocess.run kills the child
        return report.section(TITLE, "error", f"timed out after {seconds:.0f} s (fewer objects: --forcedelete-objects)")
    if done.returncode != 0 or not out.exists():
        tail = " | ".join(done.stderr.strip().splitlines()[-4:])
        return report.section(TITLE, "error", f"child exited {done.returncode}: {tail}")
    return render(json.loads(out.read_text()))


def render(data: dict[str, Any]) -> dict[str, Any]:
    """The report section of a child's measurement."""
    sec = report.section(TITLE.replace("100,000", f"{data['objects']:,}"))
    sec["data"] = data
    api, direct = data["api"], data["direct"]
    sec["tables"].append(
        report.table(
            "",
            ["side", "objects", "seconds", "objects/s", "AWS calls", "DeleteObjects", "ListObjectVersions"],
            [
                [
                    "API: DELETE ?force=true (preflight) + the operation",
                    api["deleted"],
                    api["seconds"],
                    api["objects_per_s"],
                    api["aws_calls"],
                    api["ops"].get("DeleteObjects", 0),
                    api["ops"].get("ListObjectVersions", 0),
                ],
                [
                    "direct boto3: the same batches",
                    direct["deleted"],
                    direct["seconds"],
                    direct["objects_per_s"],
                    direct["aws_calls"],
                    direct["ops"].get("DeleteObjects", 0),
                    direct["ops"].get("ListObjectVersions", 0),
                ],
            ],
        )
    )
    seeding = data["seeding"]
    sec["tables"].append(
        report.table(
            "Seeding moto in-process (objects/s)",
            ["plain PutObject loop", f"PutObject, {PUT_THREADS} threads", "backend injection (used)"],
            [[seeding["put_loop"], seeding["put_threads"], seeding["inject"]]],
        )
    )
    sec["notes"].append(
        f"API/direct: {data['ratio']} (API {api['seconds']} s: request {api['request_seconds']} s, operation "
        f"{api['operation_seconds']} s; status {api['status']}, {api['checkpoint_saves']} progress saves)."
    )
    if not data["moto_deepcopy"]:
        sec["notes"].append("moto's per-call deep copy in ListObjectVersions made shallow for both sides.")
    return sec


def summary_line(data: dict[str, Any]) -> str:
    api, direct = data["api"], data["direct"]
    return (
        f"Forced delete of {data['objects']:,} objects: API {api['seconds']} s ({api['objects_per_s']} objects/s, "
        f"{api['status']}) vs direct {direct['seconds']} s ({direct['objects_per_s']} objects/s): "
        f"ratio {data['ratio']}."
    )


# --- the child ---------------------------------------------------------------------------------------------------


def _shallow_moto_listing() -> None:
    import moto.s3.models as models

    models.copy = types.SimpleNamespace(deepcopy=copy.copy, copy=copy.copy)  # type: ignore[attr-defined]


def _seed_rates(s3: Any, backend: Any) -> dict[str, float]:
    """Objects/s of a plain PutObject loop and of threads (each on its own scratch bucket, deleted after)."""
    rates: dict[str, float] = {}
    s3.create_bucket(Bucket="bench-seed-probe")
    t0 = time.perf_counter()
    for i in range(PUT_SAMPLE):
        s3.put_object(Bucket="bench-seed-probe", Key=f"loop/{i:06d}", Body=b"x")
    rates["put_loop"] = round(PUT_SAMPLE / (time.perf_counter() - t0))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(PUT_THREADS) as pool:
        list(
            pool.map(
                lambda i: s3.put_object(Bucket="bench-seed-probe", Key=f"thr/{i:06d}", Body=b"x"), range(PUT_SAMPLE)
            )
        )
    rates["put_threads"] = round(PUT_SAMPLE / (time.perf_counter() - t0))
    for prefix in ("loop", "thr"):
        for i in range(PUT_SAMPLE):
            backend.delete_object("bench-seed-probe", f"{prefix}/{i:06d}")
    s3.delete_bucket(Bucket="bench-seed-probe")
    return rates


def _inject(backend: Any, bucket: str, count: int) -> float:
    t0 = time.perf_counter()
    for i in range(count):
        backend.put_object(bucket, f"data/{i:07d}", b"x")
    return time.perf_counter() - t0


class _Calls:
    """Counts the AWS operations made by the clients it is registered on (before-call)."""

    def __init__(self) -> None:
        self.ops: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.ops[model.name] = self.ops.get(model.name, 0) + 1


def _api_side(objects: int, backend: Any, workdir: Path) -> dict[str, Any]:
    from s3api import create_app
    from s3api.config import from_mapping
    from s3api.db import migrate
    from s3api.db.operations import OperationStore
    from s3api.jobs import local

    raw = {
        "org": "bench",
        "accounts": {
            "local": {
                "account_id": ACCOUNT_ID,
                "region": "us-east-1",
                "s3_addressing_style": "path",
                "access_key_id": "bench",
                "secret_access_key": "bench",
            }
        },
        "tokens": {"bench": TOKEN},
        "database_url": f"sqlite:///{workdir}/s3api.db",
        "data_dir": str(workdir),
    }
    settings = from_mapping(raw, env={})
    migrate.upgrade(settings.database)
    app = create_app(settings)
    client = app.test_client()
    headers = {"X-Auth-Token": TOKEN}
    made = client.post("/v1/s3/local/buckets", json={"BucketInput": {"Bucket": API_BUCKET}}, headers=headers)
    assert made.status_code == 200, made.get_json()
    injected = _inject(backend, API_BUCKET, objects)
    env = app.extensions["s3api"]
    calls = _Calls()
    env.clients.add_hook("before-call", calls)
    saves = [0]
    save = OperationStore.save_progress

    def counted(self: OperationStore, op_id: str, progress: dict[str, int]) -> bool:
        saves[0] += 1
        return save(self, op_id, progress)

    OperationStore.save_progress = counted  # type: ignore[method-assign]
    t0 = time.perf_counter()
    r = client.delete(f"/v1/s3/local/buckets/{API_BUCKET}?force=true", headers=headers)
    t1 = time.perf_counter()
    assert r.status_code == 202, r.get_json()
    local.drain(env)
    t2 = time.perf_counter()
    op = client.get(r.headers["Location"], headers=headers).get_json()
    progress = op["Progress"]
    deleted = progress.get("VersionsDeleted", 0) + progress.get("DeleteMarkersDeleted", 0)
    return {
        "status": op["Status"],
        "deleted": deleted,
        "complete": op["Status"] == "Succeeded" and deleted == objects,
        "seconds": round(t2 - t0, 2),
        "request_seconds": round(t1 - t0, 3),
        "operation_seconds": round(t2 - t1, 2),
        "objects_per_s": round(deleted / (t2 - t0)) if t2 > t0 else None,
        "aws_calls": sum(calls.ops.values()),
        "ops": dict(sorted(calls.ops.items())),
        "checkpoint_saves": saves[0],
        "progress": progress,
        "error": op.get("Error"),
        "inject_per_s": round(objects / injected) if injected else None,
    }


def _direct_side(objects: int, backend: Any) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    s3 = boto3.client("s3", region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
    calls = _Calls()
    s3.meta.events.register("before-call", calls)
    s3.create_bucket(Bucket=DIRECT_BUCKET)
    _inject(backend, DIRECT_BUCKET, objects)
    calls.ops.clear()
    deleted = 0
    t0 = time.perf_counter()
    while True:
        page = s3.list_object_versions(Bucket=DIRECT_BUCKET, MaxKeys=1000)
        entries = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if not entries:
            break
        resp = s3.delete_objects(Bucket=DIRECT_BUCKET, Delete={"Objects": entries, "Quiet": True})
        deleted += len(entries) - len(resp.get("Errors", []))
    s3.delete_bucket(Bucket=DIRECT_BUCKET)
    took = time.perf_counter() - t0
    return {
        "deleted": deleted,
        "seconds": round(took, 2),
        "objects_per_s": round(deleted / took) if took else None,
        "aws_calls": sum(calls.ops.values()),
        "ops": dict(sorted(calls.ops.items())),
    }


def measure(objects: int, moto_deepcopy: bool = False) -> dict[str, Any]:
    """Both sides, in this process (which must be a fresh one: moto is patched and mocked here)."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ[key] = value
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "S3API_CONFIG", "S3API_TOKEN"):
        os.environ.pop(key, None)
    import boto3
    from botocore.config import Config
    from moto import mock_aws

    if not moto_deepcopy:
        _shallow_moto_listing()
    with mock_aws(), tempfile.TemporaryDirectory(prefix="s3api-bench-forcedelete-") as tmp:
        from moto.s3.models import s3_backends

        backend = s3_backends[ACCOUNT_ID]["aws"]
        s3 = boto3.client("s3", region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
        seeding: dict[str, float] = dict(_seed_rates(s3, backend))
        api = _api_side(objects, backend, Path(tmp))
        seeding["inject"] = api.pop("inject_per_s")
        direct = _direct_side(objects, backend)
    return {
        "objects": objects,
        "moto_deepcopy": moto_deepcopy,
        "seeding": seeding,
        "api": api,
        "direct": direct,
        "ratio": ratio(api["seconds"], direct["seconds"]),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.forcedelete", description=__doc__.splitlines()[0])
    p.add_argument("--objects", type=int, default=100_000)
    p.add_argument("--json", help="write the measurement here (default: print it)")
    p.add_argument("--moto-deepcopy", action="store_true", help="keep moto's deep copy per ListObjectVersions call")
    args = p.parse_args(argv)
    data = measure(max(1, args.objects), moto_deepcopy=args.moto_deepcopy)
    text = json.dumps(data, indent=2)
    if args.json:
        Path(args.json).write_text(text)
    else:
        print(text)
    with contextlib.suppress(Exception):
        print(summary_line(data), file=sys.stderr)
    return 0 if data["api"]["complete"] and data["direct"]["deleted"] == data["objects"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
