"""System routes, auth forms, the error envelope, CORS, metrics, request ids."""

import hashlib
import logging
import time

import bcrypt
import pytest

from s3api import create_app
from s3api.config import Token
from tests.conftest import TOKEN, Client, make_settings


def test_ping_and_version_are_public(client):
    r = client.get("/v1/s3/ping", auth=False)
    assert r.status_code == 200 and r.get_data(as_text=True) == "pong"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    r = client.get("/v1/s3/version", auth=False)
    assert r.status_code == 200 and set(r.json) == {"version", "githash", "buildstamp"}


def test_openapi_is_public(client):
    r = client.get("/v1/s3/openapi.json", auth=False)
    assert r.status_code == 200 and r.json["openapi"].startswith("3.")


def test_accounts(client):
    assert client.get("/v1/s3/accounts").json == ["local"]
    r = client.get("/v1/s3/local")
    assert r.json == {
        "Name": "local",
        "AccountId": "123456789012",
        "Region": "us-east-1",
        "S3Endpoint": "https://s3.us-east-1.amazonaws.com",
    }


def test_yale_unknown_account_is_500_fixed(client):
    r = client.get("/v1/s3/nosuch")
    assert r.status_code == 404
    assert r.json["code"] == "NotFound" and "nosuch" in r.json["message"]
    assert r.json["request_id"] == r.headers["X-Request-Id"]


@pytest.mark.parametrize("header", [None, "", "wrong-token-wrong-token", TOKEN + "x", "$2b$10$" + "a" * 53])
def test_bad_tokens_are_403_json(client, header):
    headers = {} if header is None else {"X-Auth-Token": header}
    r = client.get("/v1/s3/accounts", auth=False, headers=headers)
    assert r.status_code == 403
    assert r.json["code"] == "Forbidden" and r.json["status"] == 403


def test_unknown_paths_need_auth_first(client):
    assert client.get("/v1/s3/a/b/c/d/e", auth=False).status_code == 403
    r = client.get("/v1/s3/a/b/c/d/e")
    assert r.status_code == 404 and r.json["code"] == "NotFound"


def test_sha256_token(aws):
    digest = hashlib.sha256(b"hashed-token-123456").hexdigest()
    settings = make_settings(None).with_overrides(tokens=(Token("h", sha256=digest),))
    c = Client(create_app(settings).test_client())
    assert c.get("/v1/s3/accounts", auth=False, headers={"X-Auth-Token": "hashed-token-123456"}).status_code == 200
    assert c.get("/v1/s3/accounts", auth=False, headers={"X-Auth-Token": "hashed-token-12345"}).status_code == 403


def test_bcrypt_token_for_yale_clients_is_cached(settings, monkeypatch):
    yale = (Token("test", plain=TOKEN, bcrypt=True),)  # bcrypt is opt-in per token
    client = Client(create_app(settings.with_overrides(tokens=yale)).test_client())
    hashed = bcrypt.hashpw(TOKEN.encode(), bcrypt.gensalt(rounds=4)).decode()
    calls = []
    real = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda p, h: calls.append(1) or real(p, h))
    for _ in range(3):
        assert client.get("/v1/s3/accounts", auth=False, headers={"X-Auth-Token": hashed}).status_code == 200
    assert len(calls) == 1
    other = bcrypt.hashpw(b"another-token-entirely", bcrypt.gensalt(rounds=4)).decode()
    assert client.get("/v1/s3/accounts", auth=False, headers={"X-Auth-Token": other}).status_code == 403


def test_yale_bcrypt_cost_dos_fixed(client, monkeypatch):
    """A cost-31 header would cost 2^31 rounds; we refuse it without hashing."""
    monkeypatch.setattr(bcrypt, "checkpw", lambda *a: pytest.fail("bcrypt must not run for cost > 12"))
    forged = "$2b$31$" + "x" * 53
    started = time.perf_counter()
    r = client.get("/v1/s3/accounts", auth=False, headers={"X-Auth-Token": forged})
    assert r.status_code == 403
    assert time.perf_counter() - started < 0.05


def test_cors_preflight_without_auth(client):
    r = client.open("OPTIONS", "/v1/s3/local/buckets", auth=False)
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Auth-Token" in r.headers["Access-Control-Allow-Headers"]


def test_method_not_allowed_keeps_allow_header(client):
    r = client.post("/v1/s3/accounts")
    assert r.status_code == 405 and "GET" in r.headers["Allow"]
    assert r.json["code"] == "MethodNotAllowed"


def test_request_id_passes_through(client):
    r = client.get("/v1/s3/accounts", headers={"X-Request-Id": "abcdef123456"})
    assert r.headers["X-Request-Id"] == "abcdef123456"
    r = client.get("/v1/s3/accounts", headers={"X-Request-Id": "bad id with spaces"})
    assert r.headers["X-Request-Id"] != "bad id with spaces"


def test_log_line_has_token_name_not_token(settings, caplog):
    yale = (Token("test", plain=TOKEN, bcrypt=True),)  # bcrypt is opt-in per token
    client = Client(create_app(settings.with_overrides(tokens=yale)).test_client())
    hashed = bcrypt.hashpw(TOKEN.encode(), bcrypt.gensalt(rounds=4)).decode()
    with caplog.at_level(logging.INFO, logger="s3api"):
        client.get("/v1/s3/local")
        client.get("/v1/s3/local", auth=False, headers={"X-Auth-Token": hashed})
        client.get("/v1/s3/local", auth=False, headers={"X-Auth-Token": "guess-guess-guess"})
    lines = [r for r in caplog.records if r.name == "s3api.access"]
    assert [r.token for r in lines] == ["test", "test", None]
    assert [r.account for r in lines] == ["local"] * 3
    text = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert TOKEN not in text and hashed not in text and "guess-guess-guess" not in text


def test_metrics_count_requests_by_route(client):
    client.get("/v1/s3/local")
    body = client.get("/v1/s3/metrics", auth=False).get_data(as_text=True)
    assert 's3api_http_requests_total{method="GET",route="/v1/s3/{account}",status="200"}' in body
    assert "s3api_http_request_duration_seconds_bucket" in body
