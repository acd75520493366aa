"""``POST .../buckets/{bucket}/usage/recount``: the operation ``bucket.recount`` (an exact, unbudgeted count page by
page), run with ``local.drain`` in the test's thread; de-duplicated while one is unfinished; the managed-bucket
boundary in the request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from s3api.jobs import local
from s3api.provisioning import objects
from tests import faults
from tests.conftest import Client

BUCKETS = "/v1/s3/local/buckets"


def drain(client: Client) -> int:
    return local.drain(client.raw.application.extensions["s3api"])


def recount(client: Client, bucket: str = "alpha") -> Any:
    return client.post(f"{BUCKETS}/{bucket}/usage/recount")


def make_bucket(client: Client, name: str = "alpha") -> None:
    r = client.post(BUCKETS, json={"BucketInput": {"Bucket": name}})
    assert r.status_code == 200, r.json


def fill(s3: Any, bucket: str, count: int, *, offset: int = 0, storage_class: str | None = None) -> int:
    """``count`` keys of sizes 0..6 bytes (key i holds i % 7 bytes); their total size."""
    total = 0
    extra = {"StorageClass": storage_class} if storage_class else {}
    for i in range(offset, offset + count):
        body = b"x" * (i % 7)
        s3.put_object(Bucket=bucket, Key=f"k/{i:05d}", Body=body, **extra)
        total += len(body)
    return total


def operation(client: Client, op_id: str) -> Any:
    return client.get(f"/v1/s3/operations/{op_id}")


def accepted(r: Any, bucket: str = "alpha") -> dict[str, Any]:
    assert r.status_code == 202, r.json
    op = dict(r.json)
    assert r.headers["Location"] == f"/v1/s3/operations/{op['Id']}"
    assert op["Kind"] == "bucket.recount" and op["Target"] == f"bucket:local/{bucket}"
    assert op["Done"] is False
    return op


def operations(client: Client) -> list[dict[str, Any]]:
    return list(client.get("/v1/s3/operations").json["Operations"])


def test_recount_over_several_pages_is_exact_without_the_usage_budget(client, s3, monkeypatch):
    make_bucket(client)
    standard = fill(s3, "alpha", 2_300)
    cold = fill(s3, "alpha", 200, offset=2_300, storage_class="STANDARD_IA")
    monkeypatch.setattr(objects, "USAGE_BUDGET", 1_000)
    budgeted = client.get(f"{BUCKETS}/alpha/usage").json
    assert budgeted["Objects"] == 1_000 and budgeted["Complete"] is False  # the synchronous read stops

    op = accepted(recount(client))
    waiting = operation(client, op["Id"])
    assert waiting.json["Status"] == "NotStarted" and waiting.headers["Retry-After"] == "2"
    with faults.aws_calls(client.raw.application) as hook:
        assert drain(client) == 1
    assert hook.calls.count("s3:ListObjectsV2") == 3  # 1,000 + 1,000 + 500 keys

    done = operation(client, op["Id"])
    assert done.status_code == 200 and "Retry-After" not in done.headers
    body = done.json
    assert body["Status"] == "Succeeded" and body["Error"] is None
    assert body["Progress"] == {"Objects": 2_500, "Bytes": standard + cold, "Pages": 3}
    result = body["Result"]
    assert {k: v for k, v in result.items() if k != "AsOf"} == {
        "Bucket": "alpha",
        "Objects": 2_500,
        "Bytes": standard + cold,
        "ByStorageClass": {
            "STANDARD": {"Objects": 2_300, "Bytes": standard},
            "STANDARD_IA": {"Objects": 200, "Bytes": cold},
        },
        "Source": "listing",
        "Complete": True,
    }
    assert result["AsOf"].endswith("Z") and datetime.fromisoformat(result["AsOf"].replace("Z", "+00:00"))


def test_recount_of_an_empty_bucket(client):
    make_bucket(client)
    op = accepted(recount(client))
    drain(client)
    body = operation(client, op["Id"]).json
    assert body["Status"] == "Succeeded"
    assert body["Result"]["Objects"] == 0 and body["Result"]["Bytes"] == 0 and body["Result"]["ByStorageClass"] == {}
    assert body["Progress"] == {"Objects": 0, "Bytes": 0, "Pages": 1}


def test_a_second_recount_while_one_is_unfinished_is_the_same_operation(db_client):
    client = db_client
    make_bucket(client)
    make_bucket(client, "beta")
    first = accepted(recount(client))
    again = accepted(recount(client))
    assert again["Id"] == first["Id"]
    other = accepted(recount(client, "beta"), "beta")  # another bucket: its own count
    assert other["Id"] != first["Id"]
    assert sorted(o["Id"] for o in operations(client)) == sorted([first["Id"], other["Id"]])
    assert drain(client) == 2
    assert operation(client, first["Id"]).json["Status"] == "Succeeded"
    after = accepted(recount(client))  # the first has ended: a new count
    assert after["Id"] != first["Id"]


def test_recount_resumed_after_an_error_counts_again_from_zero(seed, s3):
    from s3api import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(seed).with_overrides(operation_retry_seconds=0.0, operation_attempts=3))
    client = Client(app.test_client())
    make_bucket(client)
    total = fill(s3, "alpha", 1_500)
    op = accepted(recount(client))

    class FailSecondPage:
        def __init__(self) -> None:
            self.lists = 0

        def __call__(self, model: Any, **_: Any) -> None:
            if model.name == "ListObjectsV2":
                self.lists += 1
                if self.lists == 2:
                    raise faults.injected(model.name)

    with faults.hooked(app, FailSecondPage()) as hook:
        assert drain(client) == 2
    assert hook.lists == 4  # page 1, failed page 2; then pages 1 and 2 again
    body = operation(client, op["Id"]).json
    assert body["Status"] == "Succeeded" and body["Attempts"] == 2
    assert body["Result"]["Objects"] == 1_500 and body["Result"]["Bytes"] == total
    assert body["Progress"] == {"Objects": 1_500, "Bytes": total, "Pages": 2}  # not counted twice


@pytest.mark.parametrize(
    ("bucket", "status"),
    [("missing", 404), ("unmanaged", 403), ("s3api-access-logs-123456789012", 403)],
)
def test_recount_outside_the_managed_boundary_is_refused_at_once(client, s3, bucket, status):
    s3.create_bucket(Bucket="unmanaged")
    r = recount(client, bucket)
    assert r.status_code == status, r.json
    assert "Location" not in r.headers
    assert operations(client) == []


def test_recount_is_audited(client):
    make_bucket(client)
    op = accepted(recount(client))
    events = client.get("/v1/s3/audit?action=bucket.recount").json["Events"]
    assert [(e["Resource"], e.get("OperationId")) for e in events] == [("local/buckets/alpha/usage/recount", op["Id"])]
