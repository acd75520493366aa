"""``Idempotency-Key`` against a real server: gunicorn with 4 workers on 127.0.0.1, 20 concurrent identical
creates with one key: one bucket, one answer, replayed 19 times (the repeats wait for the first, across
processes, through the database: the SQLite file and, where it answers, PostgreSQL).

Bounded: 20 requests, each with a 60 s timeout; traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import _postgres_schema
from tests.e2e.conftest import TOKEN, Server, serve

pytestmark = pytest.mark.e2e
CLIENTS = 20
H = {"X-Auth-Token": TOKEN}


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    if request.param == "sqlite":
        with serve(workers=4) as srv:
            yield srv
        return
    with _postgres_schema() as database, serve(workers=4, S3API_DATABASE_URL=database.url) as srv:
        yield srv


def test_twenty_concurrent_creates_with_one_key_make_one_bucket_and_one_answer(server: Server) -> None:
    body = {"BucketInput": {"Bucket": "idem-race"}}
    headers = {**H, "Idempotency-Key": "race-0001"}

    def create(_: int) -> requests.Response:
        return requests.post(server.url("/local/buckets"), json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        responses = list(pool.map(create, range(CLIENTS)))
    answers = Counter((r.status_code, r.content) for r in responses)
    assert len(answers) == 1, [(r.status_code, r.text[:200]) for r in responses]
    ((status, content),) = answers
    assert status == 200, content
    replayed = [r for r in responses if r.headers.get("Idempotent-Replayed") == "true"]
    assert len(replayed) == CLIENTS - 1
    assert len({r.headers["X-Request-Id"] for r in responses}) == CLIENTS
    assert [b["Name"] for b in server.boto3("s3").list_buckets()["Buckets"]].count("idem-race") == 1
    iam = server.boto3("iam")
    assert [g["GroupName"] for g in iam.list_groups()["Groups"]].count("idem-race-BktAdmGrp") == 1
    audit = requests.get(server.url("/audit"), params={"action": "bucket.create"}, headers=H, timeout=10).json()
    assert Counter(e["Outcome"] for e in audit["Events"]) == {"ok": 1, "replayed": CLIENTS - 1}
    other = requests.post(
        server.url("/local/buckets"), json={"BucketInput": {"Bucket": "idem-other"}}, headers=headers, timeout=60
    )
    assert other.status_code == 422 and other.json()["code"] == "IdempotencyKeyReused"
