"""The audit trail (issue 14), on SQLite and PostgreSQL: one event per mutating request, written from one place
(every mutating rule of the URL map has an action); successes, rollbacks (what was undone), refusals (403 reader,
403 without a token, 400 bad input, 404) and reasons; key events in the key's own transaction; a database that is
down refuses AWS work before it starts, and a failure at its end leaves the started event; filters, pages and
NDJSON; retention; no secret in any event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from prometheus_client import REGISTRY
from sqlalchemy.exc import OperationalError

from s3api import audit, create_app
from s3api.config import DatabaseSettings
from s3api.db.audit import AuditLog, Filters, new_event
from s3api.db.models import AuditEvent, Base
from s3api.db.session import Database
from s3api.provisioning import periodic
from s3api.schemas.audit import AuditEventSchema
from tests import faults
from tests.api.test_auth_coverage import concrete_paths
from tests.conftest import TOKEN, Client, make_settings, secret_problems

BUCKETS = "/v1/s3/local/buckets"


def events(app: Flask) -> list[dict[str, Any]]:
    """Every event of the app's database, oldest first, as the API shows them."""
    trail: AuditLog = app.extensions["s3api.audit"]
    return [AuditEventSchema().dump(e) for e in reversed(list(trail.stream(Filters())))]


def rows(database: DatabaseSettings) -> list[dict[str, Any]]:
    engine = sa.create_engine(database.url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(AuditEvent.__table__))]
    finally:
        engine.dispose()


def key(client: Client, role: str) -> dict[str, Any]:
    made = client.post("/v1/s3/keys", json={"Name": f"{role} of ci", "Role": role})
    assert made.status_code == 201
    return dict(made.json)


def counter(action: str, outcome: str, result: str) -> float:
    labels = {"action": action, "outcome": outcome, "result": result}
    return REGISTRY.get_sample_value("s3api_audit_events_total", labels) or 0.0


# --- one writer, one table ------------------------------------------------------------------------------------


def test_every_mutating_rule_of_the_url_map_has_an_action(app: Flask) -> None:
    mutating = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method in audit.MUTATING
    }
    assert mutating == set(audit.ACTIONS), "every mutating (endpoint, method) has exactly one action"
    assert len(set(audit.ACTIONS.values())) == len(audit.ACTIONS)
    assert {"bucket.create", "bucket.delete", "user.create", "user.rotate_keys", "website.delete", "key.create",
            "key.revoke", "object.delete", "objects.delete", "link.presign"} <= set(audit.ACTIONS.values())  # fmt: skip


def test_every_mutating_route_writes_exactly_one_event_and_reads_none(db_app: Flask, db_client: Client) -> None:
    """Each (method, path) of the URL map once, refused or not: one event per mutating request, none per read."""
    paths = concrete_paths(db_app)
    for method, path in paths:
        before = len(events(db_app))
        db_client.open(method, path, json={} if method in audit.MUTATING else None)
        written = events(db_app)[before:]
        assert len(written) == (1 if method in audit.MUTATING else 0), (method, path, written)
        if written:
            assert written[0]["Resource"].startswith(path.removeprefix("/v1/s3/").split("/")[0])
    assert sum(1 for method, _ in paths if method in audit.MUTATING) >= 20


# --- what an event says -----------------------------------------------------------------------------------------


def test_a_success_names_caller_action_resource_outcome_and_reason(db_app: Flask, db_client: Client) -> None:
    created = db_client.post(BUCKETS, json={"BucketInput": {"Bucket": "alpha"}, "Tags": [{"Key": "a", "Value": "b"}]})
    assert created.status_code == 200
    hdrs = {"X-Reason": "ticket 42: customer left", "User-Agent": "ci-agent/1", "X-Request-Id": "req-0123456789"}
    assert db_client.delete(f"{BUCKETS}/alpha", headers=hdrs).status_code == 200
    made, deleted = events(db_app)
    assert made["Action"] == "bucket.create" and made["Resource"] == "local/buckets/alpha"
    assert made["Input"] == {"Body": {"BucketInput": {"Bucket": "alpha"}, "Tags": {"Count": 1}}}
    assert made["Status"] == 200 and made["Outcome"] == "ok" and made["ErrorCode"] is None
    assert deleted == {
        **deleted,
        "Action": "bucket.delete",
        "Resource": "local/buckets/alpha",
        "CallerId": None,
        "CallerName": "test",
        "Role": "admin",
        "SourceAddress": "127.0.0.1",
        "UserAgent": "ci-agent/1",
        "RequestId": "req-0123456789",
        "Reason": "ticket 42: customer left",
        "OperationId": None,
        "Outcome": "ok",
        "Detail": None,
    }
    assert deleted["Time"].endswith("Z") and deleted["Time"] >= made["Time"]


def test_a_reason_field_of_a_delete_body_is_stored(db_app: Flask, db_client: Client) -> None:
    db_client.post(BUCKETS, json={"BucketInput": {"Bucket": "beta"}})
    assert db_client.delete(f"{BUCKETS}/beta", json={"Reason": "duplicate\nof alpha"}).status_code == 200
    assert events(db_app)[-1]["Reason"] == "duplicate?of alpha"  # printable only


def test_a_rolled_back_workflow_names_the_steps_it_undid(db_app: Flask, db_client: Client) -> None:
    def fail_tagging(model: Any, **_: Any) -> None:
        if model.name == "PutBucketTagging":
            raise faults.injected(model.name)

    with faults.hooked(db_app, fail_tagging):
        r = db_client.post(BUCKETS, json={"BucketInput": {"Bucket": "gamma"}})
    assert r.status_code == 503
    (event,) = events(db_app)
    assert event["Outcome"] == "rolled_back" and event["Status"] == 503 and event["ErrorCode"] == "ServiceUnavailable"
    assert event["Detail"] == {
        "RolledBack": [{"Workflow": "bucket_create", "Undone": ["create_bucket", "create_policy"], "UndoFailed": []}]
    }
    assert event["Resource"] == "local/buckets/gamma"


def test_refusals_are_events_with_the_caller_when_known(db_app: Flask, db_client: Client) -> None:
    reader = key(db_client, "reader")
    r = db_client.delete(f"{BUCKETS}/alpha", auth=False, headers={"X-Auth-Token": reader["Key"]})
    assert r.status_code == 403
    r = db_client.delete(f"{BUCKETS}/alpha", auth=False, headers={"X-Auth-Token": "wrong-token-wrong-token"})
    assert r.status_code == 403
    assert db_client.post(BUCKETS, json={"BucketInput": {"Bucket": "NOT valid"}}).status_code == 400
    assert db_client.delete("/v1/s3/keys/0123456789abcdef").status_code == 404
    _, by_reader, anonymous, bad, missing = events(db_app)
    assert (by_reader["CallerId"], by_reader["Role"], by_reader["CallerName"]) == (
        reader["Id"],
        "reader",
        "reader of ci",
    )
    assert (by_reader["Status"], by_reader["ErrorCode"], by_reader["Outcome"]) == (403, "Forbidden", "refused")
    assert anonymous["CallerName"] is None and anonymous["Role"] is None and anonymous["Status"] == 403
    assert (bad["Action"], bad["Status"], bad["ErrorCode"]) == ("bucket.create", 400, "BadRequest")
    assert (missing["Action"], missing["Resource"], missing["Status"]) == ("key.revoke", "keys/0123456789abcdef", 404)


def test_a_mutating_request_no_route_took_is_a_refusal_event(db_app: Flask, db_client: Client) -> None:
    """A bad path value (the converters answer 400 before any route), an unconfigured account (404) and a method
    a path does not have (405): one ``request.refused`` event each, with the caller and the path as sent."""
    assert db_client.post(f"{BUCKETS}/bad:name/users", json={"User": {"UserName": "u"}}).status_code == 400
    assert db_client.delete("/v1/s3/nowhere/buckets/alpha").status_code == 404
    assert db_client.delete("/v1/s3/ping").status_code == 405
    assert db_client.get(f"{BUCKETS}/bad:name/users").status_code == 400  # a read: no event
    bad, unknown, method = events(db_app)
    assert (bad["Action"], bad["Status"], bad["Outcome"]) == ("request.refused", 400, "refused")
    assert bad["Resource"] == "local/buckets/bad:name/users/u" and bad["CallerName"] == "test"
    assert (unknown["Action"], unknown["Status"]) == ("request.refused", 404)
    assert unknown["Resource"] == "nowhere/buckets/alpha"
    assert (method["Action"], method["Status"]) == ("request.refused", 405)


def test_readers_and_admins_see_everything(db_app: Flask, db_client: Client) -> None:
    reader = key(db_client, "reader")
    r = db_client.get("/v1/s3/audit", auth=False, headers={"X-Auth-Token": reader["Key"]})
    assert r.status_code == 200 and [e["Action"] for e in r.json["Events"]] == ["key.create"]
    assert db_client.get("/v1/s3/audit").json == r.json


# --- database state: the event is in the change's transaction ---------------------------------------------------


def test_key_events_commit_with_the_key_and_never_hold_its_secret(db_app: Flask, db_client: Client) -> None:
    made = key(db_client, "admin")
    assert db_client.delete(f"/v1/s3/keys/{made['Id']}").status_code == 200
    created, revoked = events(db_app)
    assert (created["Action"], created["Resource"], created["Status"]) == ("key.create", f"keys/{made['Id']}", 201)
    assert (revoked["Action"], revoked["Resource"], revoked["Status"]) == ("key.revoke", f"keys/{made['Id']}", 200)
    assert made["Key"].split("_", 2)[2] not in json.dumps([created, revoked])


def test_a_key_whose_event_cannot_be_written_is_not_created(
    db_app: Flask, db_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event fails inside the key's transaction: the key is rolled back with it, and the answer is 503."""

    def refuse(*_: Any) -> None:
        raise OperationalError("INSERT INTO audit_events", {}, Exception("disk full"))

    sa.event.listen(AuditEvent, "before_insert", refuse)
    try:
        r = db_client.post("/v1/s3/keys", json={"Name": "doomed", "Role": "reader"})
    finally:
        sa.event.remove(AuditEvent, "before_insert", refuse)
    assert r.status_code == 503 and r.json["code"] == "ServiceUnavailable"
    assert db_client.get("/v1/s3/keys?name=doomed").json["Keys"] == []


# --- a database failure at each write point: AWS and the database stay consistent ------------------------------


def test_a_database_that_is_down_refuses_aws_work_before_it_starts(
    seed: dict[str, str], tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The first write point: the ``started`` event, before any AWS call. Down → 503, nothing changed in AWS."""
    unmigrated = DatabaseSettings(url=f"sqlite:///{tmp_path}/empty.db", data_dir=str(tmp_path))
    app = create_app(make_settings(seed).with_overrides(database=unmigrated))
    client = Client(app.test_client())
    before = counter("bucket.create", "started", "failed")
    state = faults.snapshot()
    with faults.aws_calls(app) as hook:
        r = client.post(BUCKETS, json={"BucketInput": {"Bucket": "delta"}})
    assert r.status_code == 503 and r.json["code"] == "ServiceUnavailable" and r.headers["Retry-After"]
    assert hook.calls == [] and faults.snapshot() == state
    assert counter("bucket.create", "started", "failed") == before + 1
    assert [r for r in caplog.records if r.getMessage().startswith("audit event not written")]
    assert client.get(f"{BUCKETS}").status_code == 200  # reads need no audit
    assert client.post("/v1/s3/keys", json={"Name": "k", "Role": "reader"}).status_code == 503  # its state is there
    assert client.get("/v1/s3/audit").status_code == 503
    assert client.get("/v1/s3/audit", headers={"Accept": "application/x-ndjson"}).status_code == 503


def test_a_failure_at_the_end_leaves_the_started_event(
    db_app: Flask, db_client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The second write point: the event's end. AWS work done cannot be undone by a failed write: the answer
    stands and the event, written before the work, still says who began what (outcome ``started``)."""

    def down(self: AuditLog, event: AuditEvent) -> None:
        raise OperationalError("UPDATE audit_events", {}, Exception("database is locked"))

    monkeypatch.setattr(AuditLog, "finish", down)
    before = counter("bucket.create", "ok", "failed")
    r = db_client.post(BUCKETS, json={"BucketInput": {"Bucket": "zeta"}})
    assert r.status_code == 200
    (event,) = events(db_app)
    assert event["Action"] == "bucket.create" and event["Resource"] == "local/buckets/zeta"
    assert event["Outcome"] == "started" and event["Status"] == 0 and event["CallerName"] == "test"
    assert counter("bucket.create", "ok", "failed") == before + 1
    assert [r for r in caplog.records if r.getMessage() == "audit event not written"]


def test_the_started_event_takes_the_end_in_place(db_app: Flask, db_client: Client) -> None:
    """One event per request: the row written before the work is the one that ends ``ok``, at its start time."""
    writes: list[str] = []
    real_write, real_finish = AuditLog.write, AuditLog.finish

    def write(self: AuditLog, event: AuditEvent) -> None:
        writes.append(f"write:{event.outcome}")
        real_write(self, event)

    def finish(self: AuditLog, event: AuditEvent) -> None:
        writes.append(f"finish:{event.outcome}")
        real_finish(self, event)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(AuditLog, "write", write)
        mp.setattr(AuditLog, "finish", finish)
        assert db_client.post(BUCKETS, json={"BucketInput": {"Bucket": "eta"}}).status_code == 200
    assert writes == ["write:started", "finish:ok"]
    (event,) = events(db_app)
    assert event["Outcome"] == "ok" and event["Status"] == 200


def test_written_events_are_counted_by_action_and_outcome(db_client: Client) -> None:
    ok, refused = counter("bucket.create", "ok", "written"), counter("bucket.create", "refused", "written")
    db_client.post(BUCKETS, json={"BucketInput": {"Bucket": "epsilon"}})
    db_client.post(BUCKETS, json={"BucketInput": {"Bucket": "epsilon"}, "Unknown": 1})
    assert counter("bucket.create", "ok", "written") == ok + 1
    assert counter("bucket.create", "refused", "written") == refused + 1


# --- reading: filters, pages, NDJSON ------------------------------------------------------------------------------

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _fill(app: Flask) -> None:
    trail: AuditLog = app.extensions["s3api.audit"]
    specs = [
        ("bucket.create", "local/buckets/a", "alice", None, 200, "ok"),
        ("bucket.delete", "local/buckets/a", "bob", "k1", 403, "refused"),
        ("user.create", "local/buckets/a/users/u", "alice", None, 200, "ok"),
        ("bucket.create", "local/buckets/b", "alice", None, 503, "rolled_back"),
        ("key.create", "keys/0123456789abcdef", "bob", "k1", 201, "ok"),
    ]
    for i, (action, resource, name, key_id, status, outcome) in enumerate(specs):
        trail.write(
            new_event(
                time=T0 + timedelta(minutes=i),
                action=action,
                resource=resource,
                caller_name=name,
                caller_id=key_id,
                tenant="acme" if key_id else None,
                status=status,
                outcome=outcome,
            )
        )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [4, 3, 2, 1, 0]),
        ("action=bucket.", [3, 1, 0]),
        ("action=bucket.create", [3, 0]),
        ("action=bucket_", []),  # a prefix, not a pattern: _ is not a wildcard
        ("caller=bob", [4, 1]),
        ("caller=k1", [4, 1]),
        ("tenant=acme", [4, 1]),
        ("resource=local/buckets/a", [1, 0]),
        ("outcome=ok", [4, 2, 0]),
        ("outcome=rolled_back", [3]),
        ("outcome=403", [1]),
        ("since=2026-11-01T12:01:00Z&until=2026-11-01T12:03:00Z", [2, 1]),
        ("since=2026-11-01T13:01:00%2B01:00", [4, 3, 2, 1]),
    ],
)
def test_filters_newest_first(db_app: Flask, db_client: Client, query: str, expected: list[int]) -> None:
    _fill(db_app)
    r = db_client.get(f"/v1/s3/audit?{query}")
    assert r.status_code == 200, r.json
    minutes = [int((datetime.fromisoformat(e["Time"]) - T0).total_seconds() // 60) for e in r.json["Events"]]
    assert minutes == expected and r.json["NextPageToken"] is None


def test_pages_follow_tokens_to_the_end(db_app: Flask, db_client: Client) -> None:
    _fill(db_app)
    seen, token, pages = [], None, 0
    while True:
        r = db_client.get("/v1/s3/audit?page_size=2" + ("" if token is None else f"&page_token={token}"))
        assert r.status_code == 200 and len(r.json["Events"]) <= 2
        seen += [e["Action"] for e in r.json["Events"]]
        pages += 1
        token = r.json["NextPageToken"]
        if token is None:
            break
    assert pages == 3
    assert seen == ["key.create", "bucket.create", "user.create", "bucket.delete", "bucket.create"]
    assert len(db_client.get("/v1/s3/audit").json["Events"]) == 5  # page_size defaults to 50


@pytest.mark.parametrize(
    "query",
    [
        "colour=red",
        "page_size=0",
        "page_size=1001",
        "page_token=not-a-token",
        "outcome=maybe",
        "since=2026-11-01T12:00:00",  # no offset
        "since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z",
        "action=Bucket.*",
    ],
)
def test_bad_queries_are_400_in_the_envelope(db_client: Client, query: str) -> None:
    r = db_client.get(f"/v1/s3/audit?{query}")
    assert r.status_code == 400 and r.json["code"] == "BadRequest", (query, r.json)


def test_ndjson_streams_the_same_filter_one_event_a_line(db_app: Flask, db_client: Client) -> None:
    _fill(db_app)
    r = db_client.get("/v1/s3/audit?action=bucket.&page_size=1", headers={"Accept": "application/x-ndjson"})
    assert r.status_code == 200 and r.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in r.get_data(as_text=True).splitlines()]
    paged = db_client.get("/v1/s3/audit?action=bucket.").json["Events"]
    assert lines == paged and len(lines) == 3


def test_the_stream_reads_in_bounded_batches(db_app: Flask) -> None:
    _fill(db_app)
    trail: AuditLog = db_app.extensions["s3api.audit"]
    selects: list[str] = []
    sa.event.listen(trail.db.engine, "before_cursor_execute", lambda *a, **k: selects.append(a[2]))
    got = list(trail.stream(Filters(), batch=2))
    assert len(got) == 5 and [e["Time"] for e in got] == sorted((e["Time"] for e in got), reverse=True)
    assert len([s for s in selects if s.lstrip().upper().startswith("SELECT")]) == 3  # 2 + 2 + 1 rows
    assert all("LIMIT" in s.upper() for s in selects if s.lstrip().upper().startswith("SELECT"))


# --- retention -----------------------------------------------------------------------------------------------------


def test_retention_purges_only_events_older_than_the_setting(migrated: DatabaseSettings) -> None:
    trail = AuditLog(Database(migrated))
    now = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    for days in (91, 90.5, 89, 1):
        trail.write(new_event(time=now - timedelta(days=days), action="bucket.create", resource="x", status=200,
                              outcome="ok"))  # fmt: skip
    assert trail.purge(90, now) == 2
    left = sorted((now - r["time"]).days for r in rows(migrated))
    assert left == [1, 89]
    assert trail.purge(90, now) == 0
    trail.db.dispose()


def test_the_sweeper_runs_the_purge_with_the_configured_retention(
    migrated: DatabaseSettings, seed: dict[str, str]
) -> None:
    periodic.load_tasks()
    assert periodic.TASKS["audit_purge"] is audit.purge_old_events
    settings = make_settings(seed).with_overrides(database=migrated, audit_retention_days=7)
    trail = AuditLog(Database(migrated))
    trail.write(new_event(time=datetime.now(UTC) - timedelta(days=8), action="a", resource="r", status=200,
                          outcome="ok"))  # fmt: skip
    trail.write(new_event(time=datetime.now(UTC) - timedelta(days=6), action="b", resource="r", status=200,
                          outcome="ok"))  # fmt: skip
    assert audit.purge_old_events(SimpleNamespace(settings=settings)) == 1
    assert [r["action"] for r in rows(migrated)] == ["b"]
    trail.db.dispose()
    audit._TRAILS.pop(migrated.url).db.dispose()


def test_retention_is_a_setting_of_whole_days() -> None:
    from s3api.config import ConfigError, from_mapping

    base = {"tokens": {"t": TOKEN}, "accounts": {"local": {"account_id": "123456789012"}}}
    assert from_mapping(base, env={}).audit_retention_days == 90
    assert from_mapping({**base, "audit_retention_days": 30}, env={}).audit_retention_days == 30
    for bad in (0, -1, "30", 1.5, True):
        with pytest.raises(ConfigError, match="audit_retention_days"):
            from_mapping({**base, "audit_retention_days": bad}, env={})


# --- secrets ---------------------------------------------------------------------------------------------------------


def test_secret_shown_routes_write_events_without_the_secrets(seed: Any, migrated: Any) -> None:
    """User create and rotate (access keys), a new API key, a presigned link: events, and none holds a secret
    (the same scan tests/conftest.py runs after every test, here over the rows as stored). ``secret_keys``: on
    PostgreSQL a presigned link's signer secret is sealed only with configured keys."""
    settings = make_settings(seed).with_overrides(database=migrated, secret_keys=(bytes(range(32)),))
    db_client = Client(create_app(settings).test_client())
    assert db_client.post(BUCKETS, json={"BucketInput": {"Bucket": "zeta"}}).status_code == 200
    user = db_client.post(f"{BUCKETS}/zeta/users", json={"User": {"UserName": "zed"}})
    assert user.status_code == 200, user.json
    rotated = db_client.put(f"{BUCKETS}/zeta/users/zed")
    assert rotated.status_code == 200
    made = key(db_client, "reader")
    link = db_client.post(f"{BUCKETS}/zeta/presign", json={"Key": "a.txt"})
    assert link.status_code == 200
    secrets = {made["Key"], user.json["AccessKey"]["SecretAccessKey"], TOKEN}
    secrets |= {k["SecretAccessKey"] for k in rotated.json.get("AccessKeys", []) if "SecretAccessKey" in k}
    secrets.add(link.json["Url"].split("Signature=")[-1].split("&")[0])
    stored = [json.dumps(r, default=str) for r in rows(migrated)]
    assert [json.loads(s)["action"] for s in stored] == [
        "bucket.create", "user.create", "user.rotate_keys", "key.create", "link.presign"
    ]  # fmt: skip
    assert secret_problems(stored, secrets, "an audit event") == []
    assert not [s for s in secrets if any(s in line for line in stored)]


def test_the_secret_scan_finds_what_it_must() -> None:
    api_key = "s3k_0123456789abcdef_" + "S" * 43
    assert secret_problems(['{"reason": "' + TOKEN + '"}'], set(), "x") == ["the API token reached x"]
    assert secret_problems(['{"input": "' + "S" * 43 + '"}'], {api_key}, "x") != []  # its secret part alone
    assert secret_problems(['{"input": "wJalrXUtnFEMI"}'], {"wJalrXUtnFEMI"}, "x") != []
    assert secret_problems(['{"resource": "keys/0123456789abcdef"}'], {api_key}, "x") == []  # the id is no secret


def test_models_metadata_has_the_audit_table() -> None:
    table = Base.metadata.tables["audit_events"]
    assert {i.name for i in table.indexes} == {
        "ix_audit_events_time_id",
        "ix_audit_events_action_time",
        "ix_audit_events_caller_id_time",
        "ix_audit_events_resource_time",
        "ix_audit_events_tenant_time",
    }
