"""Forced bucket delete against a real ``s3api serve`` (1 worker, the embedded emulator, SQLite): the operation is
run by the ``s3api worker`` child the server starts, not by the test. Bounded: 1,200 objects, at most 60 s of
polling; 127.0.0.1 only."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.conftest import TOKEN, Server, serve

pytestmark = pytest.mark.e2e
H = {"X-Auth-Token": TOKEN}
OBJECTS = 1200  # two batches


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serve(workers=1) as srv:
        yield srv


def test_the_worker_empties_and_deletes_the_bucket(server: Server) -> None:
    made = requests.post(
        server.url("/local/buckets"), json={"BucketInput": {"Bucket": "e2e-force"}}, headers=H, timeout=60
    )
    assert made.status_code == 200, made.text
    s3 = server.boto3("s3")
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket="e2e-force", Key=f"k/{i:05d}", Body=b"x"), range(OBJECTS)))

    r = requests.delete(server.url("/local/buckets/e2e-force?force=true"), headers=H, timeout=60)
    assert r.status_code == 202, r.text
    location = r.headers["Location"]
    assert location.startswith("/v1/s3/operations/op-")
    op = r.json()
    deadline = time.monotonic() + 60
    while not op["Done"] and time.monotonic() < deadline:
        time.sleep(0.5)
        shown = requests.get(server.url(location.removeprefix("/v1/s3")), headers=H, timeout=10)
        assert shown.status_code == 200
        op = shown.json()
    assert op["Status"] == "Succeeded", op
    assert op["Progress"]["VersionsDeleted"] == OBJECTS and op["Progress"]["Batches"] == 2
    assert "e2e-force" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert requests.head(server.url("/local/buckets/e2e-force"), headers=H, timeout=10).status_code == 404
