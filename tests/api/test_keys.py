"""API keys with roles, on SQLite and PostgreSQL: create (the secret once), list with filters and pages, show,
revoke at once, whoami; the reader role refused on every non-GET route of the URL map; expired, revoked and
wrong keys refused like a wrong token; a malformed key never reaching the database; one lookup at most,
cached 2 s; LastUsedAt written without a write per request."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from s3api import auth, create_app
from s3api.cli import main
from s3api.config import DatabaseSettings
from s3api.db import keys as keys_module
from s3api.db.models import ApiKey
from tests.api.test_auth_coverage import concrete_paths
from tests.conftest import Client, make_settings

INVALID = {"code": "Forbidden", "message": auth.INVALID, "status": 403}


def create(client: Client, role: str = "admin", **body: Any) -> dict[str, Any]:
    r = client.post("/v1/s3/keys", json={"Name": body.pop("Name", f"{role}-key"), "Role": role, **body})
    assert r.status_code == 201, r.json
    return dict(r.json)


def as_key(client: Client, key: str) -> dict[str, str]:
    return {"X-Auth-Token": key}


def envelope(r: Any) -> dict[str, Any]:
    return {k: r.json[k] for k in ("code", "message", "status")}


def statements(app: Flask) -> list[str]:
    seen: list[str] = []
    sa.event.listen(app.extensions["s3api"].db.engine, "before_cursor_execute", lambda *a, **k: seen.append(a[2]))
    return seen


def test_create_shows_the_secret_once_and_the_key_works(db_client: Client) -> None:
    made = create(db_client, "reader", Name="ci reader", Tenant="acme")
    assert set(made) == {"Id", "Name", "Role", "Tenant", "ExpiresAt", "CreatedAt", "Key"}
    assert made["Key"].startswith(f"s3k_{made['Id']}_") and len(made["Key"]) == 4 + 16 + 1 + 43
    assert made["CreatedAt"].endswith("Z") and made["ExpiresAt"] is None and made["Tenant"] == "acme"
    who = db_client.get("/v1/s3/whoami", auth=False, headers=as_key(db_client, made["Key"]))
    assert who.status_code == 200
    assert who.json == {"Kind": "key", "Id": made["Id"], "Name": "ci reader", "Role": "reader", "Tenant": "acme"}
    shown = db_client.get(f"/v1/s3/keys/{made['Id']}")
    assert shown.status_code == 200
    assert "Key" not in shown.json and made["Key"] not in json.dumps(shown.json)
    assert shown.json["LastUsedAt"] is not None and shown.json["RevokedAt"] is None
    listed = db_client.get("/v1/s3/keys").json
    assert made["Key"].split("_", 2)[2] not in json.dumps(listed)


def test_config_tokens_are_admin_callers(db_client: Client) -> None:
    assert db_client.get("/v1/s3/whoami").json == {
        "Kind": "token",
        "Id": None,
        "Name": "test",
        "Role": "admin",
        "Tenant": None,
    }


@pytest.mark.parametrize(
    "body",
    [
        {"Name": "x", "Role": "tenant"},
        {"Name": "x", "Role": "root"},
        {"Name": "", "Role": "admin"},
        {"Name": "a\nb", "Role": "admin"},
        {"Role": "admin"},
        {"Name": "x", "Role": "admin", "Secret": "mine"},
        {"Name": "x", "Role": "admin", "ExpiresAt": "2030-01-01T00:00:00"},  # no offset
        {"Name": "x", "Role": "admin", "ExpiresAt": "2001-01-01T00:00:00Z"},  # in the past
        {"Name": "x", "Role": "admin", "Tenant": "Not A Tenant"},
    ],
)
def test_bad_create_bodies_are_400_in_the_envelope(db_client: Client, body: dict[str, Any]) -> None:
    r = db_client.post("/v1/s3/keys", json=body)
    assert r.status_code == 400, r.json
    assert r.json["code"] == "BadRequest" and r.json["errors"]


def test_list_filters_and_pages_newest_first(db_client: Client) -> None:
    made = [create(db_client, "reader" if i % 2 else "admin", Name=f"k{i}") for i in range(5)]
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        query = "page_size=2" + (f"&page_token={token}" if token else "")
        r = db_client.get(f"/v1/s3/keys?{query}")
        assert r.status_code == 200, r.json
        assert len(r.json["Keys"]) <= 2
        seen += [k["Id"] for k in r.json["Keys"]]
        token = r.json["NextPageToken"]
        pages += 1
        if not token:
            break
    assert seen == [m["Id"] for m in reversed(made)] and pages == 3
    readers = db_client.get("/v1/s3/keys?role=reader").json
    assert {k["Id"] for k in readers["Keys"]} == {made[1]["Id"], made[3]["Id"]} and readers["NextPageToken"] is None
    assert [k["Id"] for k in db_client.get("/v1/s3/keys?name=k2").json["Keys"]] == [made[2]["Id"]]
    db_client.delete(f"/v1/s3/keys/{made[0]['Id']}")
    assert [k["Id"] for k in db_client.get("/v1/s3/keys?revoked=true").json["Keys"]] == [made[0]["Id"]]
    assert len(db_client.get("/v1/s3/keys?revoked=false").json["Keys"]) == 4


@pytest.mark.parametrize(
    "query", ["page_size=0", "page_size=1001", "page_token=bm9wZQ", "page_token=%%%", "role=root", "colour=red"]
)
def test_bad_list_queries_are_400(db_client: Client, query: str) -> None:
    r = db_client.get(f"/v1/s3/keys?{query}")
    assert r.status_code == 400, r.json
    assert r.json["code"] == "BadRequest"


def test_revoked_expired_and_wrong_keys_answer_like_a_wrong_token(db_client: Client, db_app: Flask) -> None:
    good = create(db_client)
    revoked = create(db_client)
    assert db_client.delete(f"/v1/s3/keys/{revoked['Id']}").json["RevokedAt"] is not None
    expired = create(db_client, ExpiresAt=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    with db_app.extensions["s3api"].db.write() as session:
        session.get(ApiKey, expired["Id"]).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db_app.extensions["s3api"].keys.verifier.forget(expired["Id"])
    wrong_secret = good["Key"][:-4] + ("AAAA" if not good["Key"].endswith("AAAA") else "BBBB")
    unknown_id = "s3k_0123456789abcdef_" + good["Key"].split("_", 2)[2]
    answers = []
    for header in (revoked["Key"], expired["Key"], wrong_secret, unknown_id, "wrong-token-wrong-token"):
        r = db_client.get("/v1/s3/whoami", auth=False, headers={"X-Auth-Token": header})
        answers.append((r.status_code, envelope(r)))
    assert answers == [(403, INVALID)] * 5
    assert db_client.get("/v1/s3/whoami", auth=False, headers=as_key(db_client, good["Key"])).status_code == 200


def test_every_refusal_compares_a_digest(db_client: Client, db_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unknown id, wrong secret, revoked: the same work (one digest comparison), so timing does not tell them
    apart by the secret check."""
    good, revoked = create(db_client), create(db_client)
    db_client.delete(f"/v1/s3/keys/{revoked['Id']}")
    compared: list[int] = []
    real = keys_module.hmac.compare_digest
    monkeypatch.setattr(keys_module.hmac, "compare_digest", lambda a, b: compared.append(1) or real(a, b))
    secret = good["Key"].split("_", 2)[2]
    for header in (f"s3k_0123456789abcdef_{secret}", good["Key"][:-1] + "_", revoked["Key"], good["Key"]):
        db_client.get("/v1/s3/whoami", auth=False, headers={"X-Auth-Token": header})
    assert len(compared) == 4


def test_a_config_token_cannot_take_the_key_prefix() -> None:
    from s3api.config import ConfigError, parse_token

    with pytest.raises(ConfigError, match="s3k_"):
        parse_token("t", "s3k_" + "x" * 40)


@pytest.mark.parametrize(
    "header",
    [
        "s3k_",
        "s3k_0123456789abcdef",
        "s3k_0123456789ABCDEF_" + "a" * 43,
        "s3k_0123456789abcdef_" + "a" * 42,
        "s3k_0123456789abcdef_" + "a" * 44,
        "s3k_0123456789abcdef_" + "a" * 42 + "!",
        "s3k_0123456789abcdef_" + "a" * 43 + " ",
        "s3k_' OR 1=1 --_" + "a" * 43,
    ],
)
def test_a_malformed_key_never_reaches_the_database(db_client: Client, db_app: Flask, header: str) -> None:
    seen = statements(db_app)
    r = db_client.get("/v1/s3/whoami", auth=False, headers={"X-Auth-Token": header})
    assert (r.status_code, envelope(r)) == (403, INVALID)
    assert seen == []


def test_one_lookup_at_most_cached_briefly_and_last_used_throttled(
    db_client: Client, db_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = create(db_client)["Key"]
    verifier = db_app.extensions["s3api"].keys.verifier
    clock = [1000.0]
    monkeypatch.setattr(verifier, "_clock", lambda: clock[0])
    seen = statements(db_app)
    for _ in range(20):
        assert db_client.get("/v1/s3/whoami", auth=False, headers={"X-Auth-Token": key}).status_code == 200
    selects = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    updates = [s for s in seen if s.lstrip().upper().startswith("UPDATE")]
    assert len(selects) == 1 and "WHERE api_keys.id =" in selects[0]
    assert len(updates) == 1 and "last_used_at" in updates[0]
    clock[0] += keys_module.CACHE_SECONDS  # the cache entry is stale: one lookup again, LastUsedAt not rewritten
    seen.clear()
    for _ in range(5):
        assert db_client.get("/v1/s3/whoami", auth=False, headers={"X-Auth-Token": key}).status_code == 200
    assert [s.split()[0].upper() for s in seen if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK"))] == ["SELECT"]


def test_a_revocation_elsewhere_is_refused_within_the_cache_bound(
    db_client: Client, db_app: Flask, migrated: DatabaseSettings, seed: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes (two apps, their own caches) on one database: the revoking one refuses at once, the other
    within CACHE_SECONDS."""
    made = create(db_client)
    other = Client(create_app(make_settings(seed).with_overrides(database=migrated)).test_client())
    verifier = other.raw.application.extensions["s3api"].keys.verifier
    clock = [50.0]
    monkeypatch.setattr(verifier, "_clock", lambda: clock[0])
    hdr = {"X-Auth-Token": made["Key"]}
    assert other.get("/v1/s3/whoami", auth=False, headers=hdr).status_code == 200
    assert db_client.delete(f"/v1/s3/keys/{made['Id']}").status_code == 200
    assert db_client.get("/v1/s3/whoami", auth=False, headers=hdr).status_code == 403  # the revoking process
    clock[0] += keys_module.CACHE_SECONDS - 0.1
    assert other.get("/v1/s3/whoami", auth=False, headers=hdr).status_code == 200  # still cached
    clock[0] += 0.1
    assert other.get("/v1/s3/whoami", auth=False, headers=hdr).status_code == 403


def test_show_and_revoke_of_an_unknown_key_are_404(db_client: Client) -> None:
    for path in ("/v1/s3/keys/0123456789abcdef", "/v1/s3/keys/not-a-key-id"):
        assert db_client.get(path).status_code == 404
        r = db_client.delete(path)
        assert r.status_code == 404 and r.json["code"] == "NotFound"


def test_revoking_twice_keeps_the_first_time(db_client: Client) -> None:
    made = create(db_client)
    first = db_client.delete(f"/v1/s3/keys/{made['Id']}").json["RevokedAt"]
    assert db_client.delete(f"/v1/s3/keys/{made['Id']}").json["RevokedAt"] == first


def test_a_reader_is_refused_every_non_get_route_of_the_url_map(db_client: Client, db_app: Flask) -> None:
    reader = create(db_client, "reader")["Key"]
    admin = create(db_client, "admin")["Key"]
    refused = allowed = 0
    for method, path in concrete_paths(db_app):
        r = db_client.open(method, path, auth=False, headers={"X-Auth-Token": reader})
        if method in ("GET", "HEAD"):
            assert r.status_code != 403, (method, path, r.status_code)
            allowed += 1
        else:
            assert r.status_code == 403, (method, path, r.status_code)
            assert r.json == {**r.json, "code": "Forbidden", "message": f"the reader role may not {method} this route"}
            refused += 1
    assert refused >= 20 and allowed >= 15
    # an admin key may do what a reader may not
    made = db_client.post(
        "/v1/s3/keys", auth=False, headers={"X-Auth-Token": admin}, json={"Name": "by-key", "Role": "reader"}
    )
    assert made.status_code == 201


def test_every_private_rule_goes_through_the_one_authorization_function(
    app: Flask, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str | None]] = []
    real = auth.authorize

    def spy(caller: auth.Caller, method: str, endpoint: str | None, resource: Any = None) -> None:
        calls.append((method, endpoint))
        real(caller, method, endpoint, resource)

    monkeypatch.setattr(auth, "authorize", spy)
    paths = concrete_paths(app)
    for method, path in paths:
        client.open(method, path)
    assert len(calls) == len(paths)


def test_the_database_down_is_503_for_a_key_and_tokens_still_work(seed: dict[str, str], tmp_path: Any) -> None:
    unmigrated = DatabaseSettings(url=f"sqlite:///{tmp_path}/empty.db", data_dir=str(tmp_path))
    client = Client(create_app(make_settings(seed).with_overrides(database=unmigrated)).test_client())
    r = client.get("/v1/s3/whoami", auth=False, headers={"X-Auth-Token": "s3k_0123456789abcdef_" + "a" * 43})
    assert r.status_code == 503 and r.json["code"] == "ServiceUnavailable"
    assert client.get("/v1/s3/whoami").status_code == 200


def test_cli_creates_lists_and_revokes_keys_the_api_accepts(
    migrated: DatabaseSettings, seed: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("S3API_DATABASE_URL", migrated.url)
    monkeypatch.delenv("S3API_CONFIG", raising=False)
    assert main(["keys", "create", "--name", "first", "--role", "admin", "--expires-in-days", "30"]) == 0
    out = capsys.readouterr()
    made = json.loads(out.out)
    assert made["Key"].startswith(f"s3k_{made['Id']}_") and made["Role"] == "admin" and made["ExpiresAt"]
    assert made["Key"] not in out.err
    client = Client(create_app(make_settings(seed).with_overrides(database=migrated)).test_client())
    hdr = {"X-Auth-Token": made["Key"]}
    assert client.get("/v1/s3/whoami", auth=False, headers=hdr).json["Id"] == made["Id"]
    assert main(["keys", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [k["Id"] for k in listed] == [made["Id"]] and "Key" not in listed[0]
    assert main(["keys", "revoke", made["Id"]]) == 0
    assert json.loads(capsys.readouterr().out)["RevokedAt"]
    assert main(["keys", "revoke", "0123456789abcdef"]) == 2
    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out.strip().endswith("(head)")
