"""Every rule in the URL map that is not public answers 403 without a token, with a wrong one and with a
bcrypt hash of cost 31 (refused in well under 50 ms: Yale's server hashes it for hours)."""

from __future__ import annotations

import re
import time

from flask import Flask

from s3api import auth
from tests.conftest import Client

SAMPLE = {"account": "local", "bucket": "some-bucket", "website": "www.example.test", "user": "alice", "key": "a/b.txt"}
FORGED_COST_31 = "$2b$31$" + "x" * 53


def concrete_paths(app: Flask, *, public: bool = False) -> list[tuple[str, str]]:
    """(method, path) of every rule that is private (or, with ``public=True``, public)."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or auth.is_public(rule.endpoint) != public:
            continue
        if rule.endpoint.split(".")[0] in auth.SESSION_GATES:  # the console: a session, not a token (tests/console)
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: SAMPLE.get(m.group(1), "x"), rule.rule)
        for method in sorted((rule.methods or set()) - {"OPTIONS"}):
            out.append((method, path))
    return out


def test_every_private_rule_needs_a_token(app: Flask, client: Client) -> None:
    checked = 0
    for method, path in concrete_paths(app):
        for headers in ({}, {"X-Auth-Token": "wrong-token-wrong-token"}, {"X-Auth-Token": FORGED_COST_31}):
            started = time.perf_counter()
            r = client.open(method, path, auth=False, headers=headers)
            elapsed = time.perf_counter() - started
            assert r.status_code == 403, (method, path, headers, r.status_code)
            if method != "HEAD":
                assert r.json["code"] == "Forbidden"
            assert elapsed < 0.05 or headers.get("X-Auth-Token") != FORGED_COST_31, (method, path, elapsed)
        checked += 1
    assert checked >= 2


def test_public_endpoints_answer_without_token(app: Flask, client: Client) -> None:
    paths = {path for method, path in concrete_paths(app, public=True) if method == "GET"}
    paths = {p.replace("/x", "/swagger-ui.css") if p.endswith("/docs/assets/x") else p for p in paths}
    assert len(paths) == len(auth.PUBLIC_ENDPOINTS)
    for path in sorted(paths):
        assert client.get(path, auth=False).status_code == 200, path
