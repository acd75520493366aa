"""Security review (issue 11), the request edge: public endpoints, bcrypt cost, metric labels, AWS denial texts,
body and list limits, the vendored docs page, and ``s3api hash-token``. Each test fails on the code before the
fix."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from dataclasses import replace
from typing import Any

import bcrypt
import pytest
from flask import Flask

from s3api import auth, cli, config, create_app
from s3api.config import RESERVED_ACCOUNT_NAMES, ConfigError, Settings, Token
from s3api.schemas import objects as object_schemas
from tests.conftest import TOKEN, Client
from tests.faults import hooked, injected

# --- public routes are endpoints, not path prefixes ---------------------------------------------------------


@pytest.fixture
def docs_prod(settings: Settings) -> Client:
    """An app with a second account ``docs-prod``: its paths start with ``/v1/s3/docs``."""
    accounts = {**settings.accounts, "docs-prod": replace(settings.accounts["local"], name="docs-prod")}
    return Client(create_app(settings.with_overrides(accounts=accounts)).test_client())


def test_account_sharing_a_prefix_with_a_public_route_needs_a_token(docs_prod: Client) -> None:
    assert docs_prod.post("/v1/s3/docs-prod/buckets", json={"BucketInput": {"Bucket": "dp-bucket"}}).status_code == 200
    r = docs_prod.post("/v1/s3/docs-prod/buckets/dp-bucket/users", auth=False, json={"User": {"UserName": "eve"}})
    assert r.status_code == 403 and r.json["code"] == "Forbidden"
    assert "SecretAccessKey" not in r.get_data(as_text=True)
    for method, path in (
        ("GET", "/v1/s3/docs-prod"),
        ("GET", "/v1/s3/docs-prod/buckets"),
        ("DELETE", "/v1/s3/docs-prod/buckets/dp-bucket"),
    ):
        assert docs_prod.open(method, path, auth=False).status_code == 403, (method, path)
    assert docs_prod.get("/v1/s3/docs-prod/buckets/dp-bucket").status_code == 200  # still there, still works


def test_unknown_account_answers_the_same_with_or_without_a_public_prefix(client: Client) -> None:
    def shape(r: Any) -> tuple[int, str | None]:
        return r.status_code, (r.json or {}).get("code")

    for auth_on in (False, True):
        a = client.post("/v1/s3/docs-nope/buckets/x/users", auth=auth_on, json={"User": {"UserName": "eve"}})
        b = client.post("/v1/s3/zzzz-nope/buckets/x/users", auth=auth_on, json={"User": {"UserName": "eve"}})
        assert shape(a) == shape(b), (auth_on, a.json, b.json)
        assert shape(a) == ((404, "NotFound") if auth_on else (403, "Forbidden"))
        assert a.json["message"].replace("docs-nope", "X") == b.json["message"].replace("zzzz-nope", "X")


def test_every_fixed_first_segment_is_a_reserved_account_name(app: Flask) -> None:
    segments = set()
    for rule in app.url_map.iter_rules():
        m = re.match(r"^/v1/s3/([^/<]+)", rule.rule)
        if m:
            segments.add(m.group(1))
    assert segments and segments <= set(RESERVED_ACCOUNT_NAMES), segments - set(RESERVED_ACCOUNT_NAMES)


def test_config_refuses_a_reserved_account_name_naming_the_rule() -> None:
    with pytest.raises(ConfigError, match=r"accounts\.docs: .*/v1/s3/docs"):
        config.from_mapping({"tokens": {"t": TOKEN}, "accounts": {"docs": {"account_id": "123456789012"}}}, env={})
    raw = {"tokens": {"t": TOKEN}, "accounts": {"docs-prod": {"account_id": "123456789012"}}}
    ok = config.from_mapping(raw, env={})
    assert "docs-prod" in ok.accounts


# --- bcrypt: opt-in per token, and a limiter on uncached checks ----------------------------------------------


def _with_tokens(settings: Settings, *tokens: Token) -> Client:
    return Client(create_app(settings.with_overrides(tokens=tokens)).test_client())


def test_bcrypt_is_refused_without_hashing_unless_the_token_opts_in(settings: Settings, monkeypatch: Any) -> None:
    hashed = bcrypt.hashpw(TOKEN.encode(), bcrypt.gensalt(rounds=4)).decode()
    real = bcrypt.checkpw
    calls: list[int] = []
    monkeypatch.setattr(bcrypt, "checkpw", lambda p, h: calls.append(1) or real(p, h))
    off = _with_tokens(settings, Token("test", plain=TOKEN))
    assert off.get("/v1/s3/accounts", auth=False, headers={"X-Auth-Token": hashed}).status_code == 403
    assert calls == []
    assert off.get("/v1/s3/accounts").status_code == 200  # the plain token itself still works
    on = _with_tokens(settings, Token("test", plain=TOKEN, bcrypt=True))
    assert on.get("/v1/s3/accounts", auth=False, headers={"X-Auth-Token": hashed}).status_code == 200
    assert calls == [1]


def test_config_bcrypt_option() -> None:
    base: dict[str, Any] = {"accounts": {"prod": {"account_id": "123456789012"}}}
    s = config.from_mapping({**base, "tokens": {"a": TOKEN, "yale": {"token": TOKEN + "-y", "bcrypt": True}}}, env={})
    assert [(t.name, t.bcrypt) for t in s.tokens] == [("a", False), ("yale", True)]
    with pytest.raises(ConfigError, match=r"tokens\.yale\.bcrypt needs a plain token"):
        config.from_mapping({**base, "tokens": {"yale": {"token": "sha256:" + "0" * 64, "bcrypt": True}}}, env={})
    with pytest.raises(ConfigError, match=r"tokens\.yale\.bcrypt must be true or false"):
        config.from_mapping({**base, "tokens": {"yale": {"token": TOKEN, "bcrypt": "yes"}}}, env={})


def test_uncached_bcrypt_checks_beyond_the_slots_answer_429_at_once(settings: Settings, monkeypatch: Any) -> None:
    client = _with_tokens(settings, Token("test", plain=TOKEN, bcrypt=True))
    good = bcrypt.hashpw(TOKEN.encode(), bcrypt.gensalt(rounds=4)).decode()
    assert client.get("/v1/s3/accounts", auth=False, headers={"X-Auth-Token": good}).status_code == 200  # cached
    release = threading.Event()
    entered = threading.Semaphore(0)

    def slow_checkpw(password: bytes, hashed: bytes) -> bool:
        entered.release()
        release.wait(10)
        return False

    monkeypatch.setattr(bcrypt, "checkpw", slow_checkpw)
    forged = [bcrypt.hashpw(b"forged-%d" % i, bcrypt.gensalt(rounds=4)).decode() for i in range(auth.BCRYPT_SLOTS + 1)]
    results: list[int] = []
    threads = [
        threading.Thread(
            target=lambda h=h: results.append(
                client.get("/v1/s3/accounts", auth=False, headers={"X-Auth-Token": h}).status_code
            )
        )
        for h in forged[: auth.BCRYPT_SLOTS]
    ]
    for t in threads:
        t.start()
    for _ in threads:
        assert entered.acquire(timeout=5)  # every slot is now busy hashing
    try:
        started = time.perf_counter()
        r = client.get("/v1/s3/accounts", auth=False, headers={"X-Auth-Token": forged[-1]})
        assert time.perf_counter() - started < 0.5  # refused at once, not queued behind the busy slots
        assert r.status_code == 429 and r.json["code"] == "TooManyRequests" and r.headers["Retry-After"]
        # a verified (cached) header and the plain token are not held up by the flood
        assert client.get("/v1/s3/accounts", auth=False, headers={"X-Auth-Token": good}).status_code == 200
        assert client.get("/v1/s3/accounts").status_code == 200
    finally:
        release.set()
        for t in threads:
            t.join(10)
    assert results == [403] * auth.BCRYPT_SLOTS


# --- metric labels come from fixed sets ----------------------------------------------------------------------


def _metric_lines(client: Client) -> list[str]:
    body = client.get("/v1/s3/metrics", auth=False).get_data(as_text=True)
    return [line for line in body.splitlines() if line.startswith("s3api_http_")]


def test_metric_labels_do_not_grow_with_methods_or_paths(client: Client) -> None:
    client.get("/v1/s3/local")
    for i in range(3):  # warm up: the OTHER and unmatched series exist once
        client.open(f"FOO{'X' * i}", "/v1/s3/local", auth=False)
        client.get(f"/nope-{i}", auth=False)
    before = len(_metric_lines(client))
    for i in range(60):
        client.open("".join(chr(65 + (i + k) % 26) for k in range(3 + i % 10)), f"/v1/s3/local/{i}/x/y", auth=False)
        client.get(f"/random/{i}", auth=False)
        client.open("BREW", f"/v1/s3/local/buckets/b{i}", auth=False)
    lines = _metric_lines(client)
    assert len(lines) - before <= 20, len(lines) - before  # the few new route/status series, not 180 requests' worth
    methods = {m for line in lines for m in re.findall(r'method="([^"]*)"', line)}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}, methods
    assert 'route="/v1/s3/{account}/buckets/{bucket}"' in "\n".join(lines)
    assert not any("<string:" in line or "/random/" in line for line in lines)


# --- AWS denial texts stay in the log -------------------------------------------------------------------------


def test_aws_access_denied_text_is_logged_not_answered(app: Flask, client: Client, caplog: Any) -> None:
    arn = "arn:aws:sts::123456789012:assumed-role/s3api/session-1"

    def deny(model: Any, **_: Any) -> None:
        err = injected(model.name, "AccessDenied", 403)
        err.response["Error"]["Message"] = f"User: {arn} is not authorized to perform: s3:ListAllMyBuckets"
        raise err

    with hooked(app, deny), caplog.at_level("WARNING", logger="s3api"):
        r = client.get("/v1/s3/local/buckets")
    assert r.status_code == 403 and r.json["code"] == "Forbidden"
    assert "arn:" not in r.json["message"] and "123456789012" not in r.json["message"]
    assert "AccessDenied" in r.json["message"]
    assert any(arn in rec.getMessage() for rec in caplog.records)


# --- body size and list lengths -------------------------------------------------------------------------------


def test_body_over_the_limit_is_413_in_the_envelope(client: Client) -> None:
    body = json.dumps({"Keys": ["k" * 1000] * 11_000})  # > 10 MiB
    r = client.post("/v1/s3/local/buckets/some-bucket/objects/delete", data=body, content_type="application/json")
    assert r.status_code == 413
    assert set(r.json) >= {"code", "message", "status", "request_id"} and r.json["status"] == 413


def test_a_10000_key_batch_delete_of_long_keys_fits_the_default_limit() -> None:
    body = json.dumps({"Keys": ["k" * 1024] * object_schemas.MAX_BATCH_DELETE})
    assert len(body.encode()) <= config.DEFAULT_MAX_BODY_BYTES


def test_max_body_bytes_is_configurable(settings: Settings) -> None:
    small = Client(create_app(settings.with_overrides(max_body_bytes=2048)).test_client())
    r = small.post("/v1/s3/local/buckets/some-bucket/objects/delete", json={"Keys": ["k" * 100] * 30})
    assert r.status_code == 413 and r.json["code"] == "RequestEntityTooLarge"
    with pytest.raises(ConfigError, match="max_body_bytes"):
        config.from_mapping(
            {"tokens": {"t": TOKEN}, "accounts": {"p": {"account_id": "123456789012"}}, "max_body_bytes": "1MB"}, env={}
        )


def test_list_lengths_are_checked_before_items_are_deserialised(client: Client, monkeypatch: Any) -> None:
    seen: list[int] = []
    real = object_schemas.KeyField._deserialize

    def counting(self: Any, *a: Any, **kw: Any) -> Any:
        seen.append(1)
        return real(self, *a, **kw)

    monkeypatch.setattr(object_schemas.KeyField, "_deserialize", counting)
    keys = [f"k{i}" for i in range(object_schemas.MAX_BATCH_DELETE + 1)]
    r = client.post("/v1/s3/local/buckets/some-bucket/objects/delete", json={"Keys": keys})
    assert r.status_code == 400 and "Keys" in r.json["errors"]["json"]
    assert seen == []
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    assert client.put("/v1/s3/local/buckets/some-bucket", json={"Tags": tags}).status_code == 400


# --- docs page without internet -------------------------------------------------------------------------------


def test_docs_page_references_no_external_host_and_its_assets_answer(client: Client) -> None:
    r = client.get("/v1/s3/docs", auth=False)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page), re.findall(r"\S*//\S+", page)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len(assets) >= 3
    for url in assets:
        a = client.get(url, auth=False)
        assert a.status_code == 200 and len(a.data) > 1000, url
    assert client.get("/v1/s3/docs/assets/../auth.py", auth=False).status_code == 404
    assert client.get("/v1/s3/docs/assets/index.html", auth=False).status_code == 404


# --- hash-token never takes the secret on the command line -----------------------------------------------------


def test_hash_token_refuses_the_secret_as_an_argument(monkeypatch: Any, capsys: Any) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["hash-token", "my-secret-token-123"])
    assert exc.value.code == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("my-secret-token-123\n"))
    assert cli.main(["hash-token"]) == 0
    assert capsys.readouterr().out.startswith("sha256:")
