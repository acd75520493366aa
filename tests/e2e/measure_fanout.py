"""Measure: a 2-call read (GET .../objects/<key>: HeadObject + GetObjectTagging, overlapped) while another
request aborts 1,000 multipart uploads, with and without the per-request cap on tasks in flight.

Not a test (pytest does not collect it). In-process moto; every AWS call is given 5 ms of latency by a
``before-call`` hook, because in-process moto answers in ~1 ms and AWS in tens of ms. Run:

    .venv/bin/python -m tests.e2e.measure_fanout

It prints the median and maximum latency of the small read, quiet and during the bulk abort, for the current
cap and for "no cap" (``MAX_IN_FLIGHT`` raised to 10**6, i.e. the whole fan-out queued at once, as before).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from typing import Any

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from moto import mock_aws  # noqa: E402

from s3api import concurrency, create_app  # noqa: E402
from tests.conftest import TOKEN, make_settings  # noqa: E402

BUCKET = "fanout-data"
LATENCY = 0.005
UPLOADS = 1000


ABORTING = threading.Event()


def _delay(model: Any, **_: Any) -> None:
    if model.name == "AbortMultipartUpload":
        ABORTING.set()
    time.sleep(LATENCY)


def _small_reads(client: Any, stop: threading.Event | None, n: int = 20) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        r = client.get(f"/v1/s3/local/buckets/{BUCKET}/objects/a.txt", headers={"X-Auth-Token": TOKEN})
        assert r.status_code == 200, r.get_json()
        times.append(time.perf_counter() - started)
        if stop is not None and stop.is_set():
            break
    return times


def run(cap: int) -> dict[str, float]:
    concurrency.MAX_IN_FLIGHT = cap
    with mock_aws():
        app = create_app(make_settings(None))
        app.extensions["s3api"].clients.add_hook("before-call", _delay)
        client = app.test_client()
        assert (
            client.post(
                "/v1/s3/local/buckets", json={"BucketInput": {"Bucket": BUCKET}}, headers={"X-Auth-Token": TOKEN}
            ).status_code
            == 200
        )
        s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))
        s3.put_object(Bucket=BUCKET, Key="a.txt", Body=b"x")
        for i in range(UPLOADS):
            s3.create_multipart_upload(Bucket=BUCKET, Key=f"u/{i:04}")
        quiet = _small_reads(client, None)
        done = threading.Event()
        result: dict[str, Any] = {}

        def bulk() -> None:
            started = time.perf_counter()
            r = app.test_client().post(
                f"/v1/s3/local/buckets/{BUCKET}/uploads/abort",
                json={"OlderThanSeconds": 0},
                headers={"X-Auth-Token": TOKEN},
            )
            result["bulk"] = (r.get_json(), time.perf_counter() - started)
            done.set()

        ABORTING.clear()
        thread = threading.Thread(target=bulk)
        thread.start()
        ABORTING.wait(120)  # the bulk request has listed the uploads and started aborting them
        busy = _small_reads(client, done, n=1000)
        thread.join()
    return {
        "quiet_median_ms": statistics.median(quiet) * 1000,
        "busy_median_ms": statistics.median(busy) * 1000,
        "busy_max_ms": max(busy) * 1000,
        "busy_samples": len(busy),
        "bulk_s": result["bulk"][1],
        "aborted": result["bulk"][0]["Aborted"],
    }


if __name__ == "__main__":
    default = concurrency.MAX_IN_FLIGHT
    for label, cap in ((f"cap {default}", default), ("cap 4", 4), ("no cap", 10**6)):
        figures = run(cap)
        print(label, {k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()})
