"""``Idempotency-Key`` on every creating or changing route (design note control-plane.md, "API conventions"), on
SQLite and PostgreSQL: a repeat replays the first answer (one bucket, same status and body,
``Idempotent-Replayed: true``), the key with another request is 422 and runs nothing, a bad key is 400, a 5xx is
not kept, callers are independent, a repeat waits for the first and then replays (409 after the wait), records
expire and are purged, reads ignore the header; the stored body is sealed; the audit says ``replayed``."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from s3api import create_app, idempotency
from s3api.config import ConfigError, DatabaseSettings, from_mapping
from s3api.db.idempotency import STALE_AFTER, Claim, IdempotencyStore
from s3api.db.models import IdempotencyRecord
from s3api.db.session import Database
from s3api.names import IDEMPOTENCY_HEADER, REPLAYED_HEADER
from s3api.provisioning import periodic
from tests import faults
from tests.api.test_audit import events
from tests.conftest import TOKEN, Client, make_settings

BUCKETS = "/v1/s3/local/buckets"
CALLER = "token:test"  # the scope of the test token's keys


def store(app: Flask) -> IdempotencyStore:
    found: IdempotencyStore = app.extensions["s3api.idempotency"]
    return found


def buckets(s3: Any) -> list[str]:
    return sorted(b["Name"] for b in s3.list_buckets()["Buckets"])


def key(value: str) -> dict[str, str]:
    return {IDEMPOTENCY_HEADER: value}


def records(app: Flask) -> list[IdempotencyRecord]:
    with store(app).db.read() as session:
        return list(session.scalars(sa.select(IdempotencyRecord)))


def raw_post(client: Client, path: str, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(path, data=body, content_type="application/json", headers=headers)


@pytest.fixture
def quick_app(seed: dict[str, str], migrated: DatabaseSettings) -> Flask:
    """An app whose repeats wait 0.3 s at most."""
    return create_app(make_settings(seed).with_overrides(database=migrated, idempotency_wait=0.3))


# --- replay -----------------------------------------------------------------------------------------------------


def test_a_repeat_replays_the_first_answer_and_creates_nothing_more(db_app: Flask, db_client: Client, s3: Any) -> None:
    body = {"BucketInput": {"Bucket": "alpha"}}
    first = db_client.post(BUCKETS, json=body, headers=key("create-alpha-1"))
    assert first.status_code == 200, first.json
    assert REPLAYED_HEADER not in first.headers
    again = db_client.post(BUCKETS, json=body, headers=key("create-alpha-1"))
    assert again.status_code == 200
    assert again.data == first.data  # the same body, byte for byte (a re-run would differ: ids, times)
    assert again.headers[REPLAYED_HEADER] == "true"
    assert again.headers["Content-Type"] == first.headers["Content-Type"]
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]  # its own request id
    assert buckets(s3).count("alpha") == 1
    made, replayed = events(db_app)
    assert (made["Action"], made["Outcome"], made["Status"]) == ("bucket.create", "ok", 200)
    assert (replayed["Action"], replayed["Outcome"], replayed["Status"]) == ("bucket.create", "replayed", 200)
    assert db_client.get("/v1/s3/audit?outcome=replayed").json["Events"][0]["Id"] == replayed["Id"]
    (row,) = records(db_app)
    assert (row.caller, row.key, row.state, row.status, row.method) == (CALLER, "create-alpha-1", "done", 200, "POST")


def test_a_repeated_delete_replays_instead_of_404(db_client: Client, s3: Any) -> None:
    assert db_client.post(BUCKETS, json={"BucketInput": {"Bucket": "gone"}}).status_code == 200
    first = db_client.delete(f"{BUCKETS}/gone", headers=key("delete-gone"))
    assert first.status_code == 200, first.json
    again = db_client.delete(f"{BUCKETS}/gone", headers=key("delete-gone"))
    assert (again.status_code, again.data, again.headers[REPLAYED_HEADER]) == (200, first.data, "true")
    assert db_client.delete(f"{BUCKETS}/gone").status_code == 404  # without the key it does run again
    assert "gone" not in buckets(s3)


def test_a_refusal_is_kept_and_replayed_too(db_client: Client, s3: Any) -> None:
    """4xx answers are the request's answer: kept (only 5xx and 429 are not)."""
    body = {"BucketInput": {"Bucket": "Not_A_Bucket"}}
    first = db_client.post(BUCKETS, json=body, headers=key("bad-name"))
    assert first.status_code == 400
    again = db_client.post(BUCKETS, json=body, headers=key("bad-name"))
    assert (again.status_code, again.data, again.headers[REPLAYED_HEADER]) == (400, first.data, "true")


def test_every_mutating_route_takes_the_key_without_code_of_its_own(app: Flask, client: Client) -> None:
    """The hooks apply to the URL map: a key create (database state, 201) replays its Location-less answer
    and its secret, shown once, to the same caller with the same key."""
    body = {"Name": "ci key", "Role": "reader"}
    first = client.post("/v1/s3/keys", json=body, headers=key("key-1"))
    assert first.status_code == 201, first.json
    again = client.post("/v1/s3/keys", json=body, headers=key("key-1"))
    assert (again.status_code, again.json, again.headers[REPLAYED_HEADER]) == (201, first.json, "true")
    assert len(client.get("/v1/s3/keys").json["Keys"]) == 1
    (row,) = records(app)
    secret = first.json["Key"]
    assert secret not in (row.body or "") and secret.split("_", 2)[2] not in (row.body or "")
    assert row.body is not None and row.body.startswith("v1.")  # sealed


def test_the_sealed_answer_opens_only_with_the_token_that_made_it() -> None:
    fp = idempotency.fingerprint("POST", "/v1/s3/keys", b"", b"{}")
    mine = idempotency._seal_key(TOKEN, CALLER, "k")
    sealed = idempotency.seal(mine, fp, b'{"Key": "s3k_secret"}')
    assert b"s3k_secret" not in sealed.encode()
    assert idempotency.unseal(mine, fp, sealed) == b'{"Key": "s3k_secret"}'
    assert idempotency.unseal(idempotency._seal_key("another-token-value", CALLER, "k"), fp, sealed) is None
    assert idempotency.unseal(idempotency._seal_key(TOKEN, CALLER, "other key"), fp, sealed) is None
    assert idempotency.unseal(mine, "0" * 64, sealed) is None  # bound to the request's fingerprint
    assert idempotency.unseal(mine, fp, "not sealed") is None


# --- refused keys -------------------------------------------------------------------------------------------------


def test_the_key_with_another_request_is_422_and_runs_nothing(db_app: Flask, db_client: Client, s3: Any) -> None:
    assert db_client.post(BUCKETS, json={"BucketInput": {"Bucket": "first"}}, headers=key("k")).status_code == 200
    other_body = db_client.post(BUCKETS, json={"BucketInput": {"Bucket": "second"}}, headers=key("k"))
    assert other_body.status_code == 422
    assert other_body.json["code"] == "IdempotencyKeyReused" and other_body.json["status"] == 422
    assert REPLAYED_HEADER not in other_body.headers
    other_query = db_client.post(f"{BUCKETS}?x=1", json={"BucketInput": {"Bucket": "first"}}, headers=key("k"))
    assert other_query.status_code == 422
    other_path = db_client.delete(f"{BUCKETS}/first", headers=key("k"))
    assert other_path.status_code == 422
    assert [b for b in buckets(s3) if b in ("first", "second")] == ["first"]
    assert [e["Outcome"] for e in events(db_app)] == ["ok", "refused", "refused", "refused"]


@pytest.mark.parametrize("value", ["", "x" * 256, "tab\tinside", "caf\u00e9", "new\x7fline"])
def test_a_bad_key_is_400_in_the_envelope_and_changes_nothing(client: Client, s3: Any, value: str) -> None:
    r = client.post(BUCKETS, json={"BucketInput": {"Bucket": "never"}}, headers=key(value))
    assert r.status_code == 400, r.json
    assert r.json["code"] == "BadRequest" and IDEMPOTENCY_HEADER in r.json["message"]
    assert r.json["errors"] == {"headers": {IDEMPOTENCY_HEADER: ["1 to 255 printable ASCII characters"]}}
    assert "never" not in buckets(s3)


def test_the_longest_key_and_any_printable_character_are_fine(client: Client) -> None:
    value = "".join(chr(c) for c in range(0x21, 0x7F)) + "k" * (255 - 94)
    assert len(value) == 255
    assert client.post(BUCKETS, json={"BucketInput": {"Bucket": "longkey"}}, headers=key(value)).status_code == 200
    again = client.post(BUCKETS, json={"BucketInput": {"Bucket": "longkey"}}, headers=key(value))
    assert again.headers.get(REPLAYED_HEADER) == "true"


def test_reads_ignore_the_header(app: Flask, client: Client) -> None:
    assert client.get(BUCKETS, headers=key("")).status_code == 200  # a bad value is not even looked at
    assert client.get(BUCKETS, headers=key("read-1")).status_code == 200
    assert client.head("/v1/s3/local", headers=key("read-1")).status_code == 200
    assert REPLAYED_HEADER not in client.get(BUCKETS, headers=key("read-1")).headers
    assert records(app) == []


def test_without_a_token_the_key_changes_nothing(app: Flask, client: Client) -> None:
    r = client.post(BUCKETS, json={"BucketInput": {"Bucket": "anon"}}, headers=key("k"), auth=False)
    assert r.status_code == 403
    assert records(app) == []


# --- answers not kept -------------------------------------------------------------------------------------------


def test_a_5xx_is_not_kept_so_a_retry_runs(db_app: Flask, db_client: Client, s3: Any) -> None:
    body = {"BucketInput": {"Bucket": "retried"}}
    with faults.aws_calls(db_app, 1, "InternalError", 500):
        failed = db_client.post(BUCKETS, json=body, headers=key("retry-me"))
    assert failed.status_code >= 500, failed.json
    assert records(db_app) == []
    retried = db_client.post(BUCKETS, json=body, headers=key("retry-me"))
    assert retried.status_code == 200, retried.json
    assert REPLAYED_HEADER not in retried.headers
    assert "retried" in buckets(s3)
    replayed = db_client.post(BUCKETS, json=body, headers=key("retry-me"))
    assert (replayed.data, replayed.headers[REPLAYED_HEADER]) == (retried.data, "true")


def test_a_throttled_answer_is_not_kept(db_app: Flask, db_client: Client) -> None:
    body = {"BucketInput": {"Bucket": "throttled"}}
    with faults.aws_calls(db_app, 1, "SlowDown", 503):
        first = db_client.post(BUCKETS, json=body, headers=key("slow"))
    assert first.status_code in (429, 503), first.json
    assert records(db_app) == []


# --- callers ---------------------------------------------------------------------------------------------------


def test_callers_are_independent(db_app: Flask, db_client: Client, s3: Any) -> None:
    other = db_client.post("/v1/s3/keys", json={"Name": "second admin", "Role": "admin"}).json
    mine = db_client.post(BUCKETS, json={"BucketInput": {"Bucket": "mine"}}, headers=key("shared"))
    theirs = db_client.post(
        BUCKETS, json={"BucketInput": {"Bucket": "theirs"}}, headers={**key("shared"), "X-Auth-Token": other["Key"]}
    )
    assert (mine.status_code, theirs.status_code) == (200, 200), theirs.json
    assert REPLAYED_HEADER not in theirs.headers
    assert {"mine", "theirs"} <= set(buckets(s3))
    assert sorted(r.caller for r in records(db_app)) == sorted([CALLER, f"key:{other['Id']}"])


def test_scope_names_the_caller() -> None:
    assert idempotency.scope(SimpleNamespace(id="0123456789abcdef", name="ci")) == "key:0123456789abcdef"
    assert idempotency.scope(SimpleNamespace(id=None, name="portal")) == "token:portal"
    long = idempotency.scope(SimpleNamespace(id=None, name="n" * 100))
    assert len(long) <= 64 and long.startswith("token#")


# --- in flight: wait, then replay or 409 -------------------------------------------------------------------------


BODY = b'{"BucketInput": {"Bucket": "waited"}}'


def _claim_as_first(app: Flask, name: str, when: datetime | None = None) -> Claim:
    fp = idempotency.fingerprint("POST", BUCKETS, b"", BODY)
    claim = store(app).claim(CALLER, name, "POST", BUCKETS, fp, when)
    assert isinstance(claim, Claim)
    return claim


def test_a_repeat_while_the_first_runs_waits_and_replays_it(quick_app: Flask, s3: Any) -> None:
    client = Client(quick_app.test_client())
    claim = _claim_as_first(quick_app, "slow-first")
    answer = b'{"Bucket": "/waited", "From": "the first request"}'
    secret = idempotency._seal_key(TOKEN, CALLER, "slow-first")

    def first_ends() -> None:
        time.sleep(0.1)
        store(quick_app).finish(claim, 201, {"Content-Type": "application/json", "Location": "/v1/s3/op/1"},
                                idempotency.seal(secret, claim.fingerprint, answer))  # fmt: skip

    ender = threading.Thread(target=first_ends)
    started = time.monotonic()
    ender.start()
    r = raw_post(client, BUCKETS, BODY, key("slow-first"))
    ender.join(5)
    assert time.monotonic() - started >= 0.1
    assert (r.status_code, r.data, r.headers[REPLAYED_HEADER]) == (201, answer, "true")
    assert r.headers["Location"].endswith("/v1/s3/op/1")
    assert "waited" not in buckets(s3)  # replayed: the view did not run


def test_a_repeat_still_in_flight_after_the_wait_is_409(quick_app: Flask, s3: Any) -> None:
    client = Client(quick_app.test_client())
    _claim_as_first(quick_app, "stuck")
    started = time.monotonic()
    r = raw_post(client, BUCKETS, BODY, key("stuck"))
    assert 0.3 <= time.monotonic() - started < 3
    assert r.status_code == 409 and r.json["code"] == "IdempotencyKeyInFlight"
    assert r.headers["Retry-After"] == "1"
    assert "waited" not in buckets(s3)
    other = raw_post(client, BUCKETS, b'{"BucketInput": {"Bucket": "other"}}', key("stuck"))
    assert other.status_code == 422  # another request with a key in flight: no waiting


def test_a_repeat_whose_first_failed_runs_itself(quick_app: Flask, s3: Any) -> None:
    client = Client(quick_app.test_client())
    claim = _claim_as_first(quick_app, "first-fails")

    def first_fails() -> None:
        time.sleep(0.1)
        store(quick_app).forget(claim)  # what a 5xx answer does

    failer = threading.Thread(target=first_fails)
    failer.start()
    r = raw_post(client, BUCKETS, BODY, key("first-fails"))
    failer.join(5)
    assert r.status_code == 200, r.json
    assert REPLAYED_HEADER not in r.headers
    assert "waited" in buckets(s3)


def test_a_stale_claim_of_a_dead_request_is_taken_over(quick_app: Flask, s3: Any) -> None:
    client = Client(quick_app.test_client())
    _claim_as_first(quick_app, "dead", datetime.now(UTC) - STALE_AFTER - timedelta(seconds=1))
    r = raw_post(client, BUCKETS, BODY, key("dead"))
    assert r.status_code == 200, r.json
    assert "waited" in buckets(s3)
    (row,) = records(quick_app)
    assert row.state == "done" and row.created_at > datetime.now(UTC) - timedelta(minutes=1)


def test_the_wait_is_a_setting() -> None:
    base = {"tokens": {"t": TOKEN}, "accounts": {"local": {"account_id": "123456789012"}}}
    assert from_mapping(base, env={}).idempotency_wait == 10
    assert from_mapping({**base, "idempotency_wait": 0.5}, env={}).idempotency_wait == 0.5
    for bad in (-1, 61, "10", True):
        with pytest.raises(ConfigError, match="idempotency_wait"):
            from_mapping({**base, "idempotency_wait": bad}, env={})


# --- 24 hours, then purged -------------------------------------------------------------------------------------


def test_expired_records_are_purged_and_no_longer_count(quick_app: Flask, migrated: DatabaseSettings, s3: Any) -> None:
    client = Client(quick_app.test_client())
    old = _claim_as_first(quick_app, "yesterday", datetime.now(UTC) - timedelta(hours=25))
    store(quick_app).finish(old, 200, {}, "v1.x")
    with store(quick_app).db.write() as session:  # finish refreshed the time: make it yesterday's again
        session.execute(sa.update(IdempotencyRecord).values(expires_at=datetime.now(UTC) - timedelta(hours=1)))
    # an expired record is no answer any more, even before the purge: the key runs again (another body is fine)
    fresh = raw_post(client, BUCKETS, b'{"BucketInput": {"Bucket": "today"}}', key("yesterday"))
    assert fresh.status_code == 200, fresh.json
    assert REPLAYED_HEADER not in fresh.headers
    _claim_as_first(quick_app, "expired", datetime.now(UTC) - timedelta(hours=25))  # in flight and expired
    _claim_as_first(quick_app, "kept")
    periodic.load_tasks()
    assert periodic.TASKS["idempotency_purge"] is idempotency.purge_expired_keys
    settings = make_settings().with_overrides(database=migrated)
    assert idempotency.purge_expired_keys(SimpleNamespace(settings=settings)) == 1
    assert sorted(r.key for r in records(quick_app)) == ["kept", "yesterday"]
    assert idempotency.purge_expired_keys(SimpleNamespace(settings=settings)) == 0
    assert store(quick_app).purge(datetime.now(UTC) + timedelta(hours=25)) == 2
    idempotency._STORES.pop(migrated.url).db.dispose()


def test_the_store_keeps_24_hours(migrated: DatabaseSettings) -> None:
    db = Database(migrated)
    keys = IdempotencyStore(db)
    when = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    claim = keys.claim("token:t", "k", "POST", "/p", "f" * 64, when)
    assert isinstance(claim, Claim)
    seen = keys.claim("token:t", "k", "POST", "/p", "f" * 64, when + timedelta(seconds=1))
    assert not isinstance(seen, Claim) and seen.state == "in_flight"
    assert seen.expires_at - seen.created_at == timedelta(hours=24)
    assert keys.finish(claim, 200, {"Location": "/x"}, "v1.body")
    assert not keys.finish(claim, 500, {}, "again")  # done once
    done = keys.get("token:t", "k")
    assert done is not None and done.done and done.headers == {"Location": "/x"} and done.status == 200
    keys.forget(claim)  # a done record is not forgotten
    assert keys.count() == 1
    db.dispose()


# --- the OpenAPI document ---------------------------------------------------------------------------------------


def test_every_mutating_operation_documents_the_header_and_its_answers(app: Flask) -> None:
    with app.app_context():
        spec = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    assert spec["components"]["parameters"]["IdempotencyKey"]["name"] == IDEMPOTENCY_HEADER
    seen = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            ref = {"$ref": "#/components/parameters/IdempotencyKey"}
            if method in ("post", "put", "patch", "delete"):
                seen += 1
                assert ref in operation.get("parameters", []), (method, path)
                assert "422" in operation["responses"] and "409" in operation["responses"], (method, path)
            elif method in ("get", "head"):
                assert ref not in operation.get("parameters", []), (method, path)
    assert seen >= 20
    own = spec["paths"]["/v1/s3/{account}/buckets"]["post"]["responses"]["409"]
    assert "IdempotencyKeyInFlight" in json.dumps(own) and "conflict" in json.dumps(own)
