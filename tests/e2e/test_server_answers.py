"""The HTTP server's own answers (request line too long, header fields too large, malformed request) against
a real ``s3api serve`` on 127.0.0.1: our JSON error envelope with a request id, never gunicorn's HTML; and a
long but valid request line reaches our own validation (gunicorn's default limit answered 414 first)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.conftest import TOKEN, serve

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve(workers=1) as srv:
        yield srv.base


def _envelope(r: requests.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text[:300]
    assert r.headers["Content-Type"].startswith("application/json"), r.text[:300]
    body = r.json()
    assert set(body) >= {"code", "message", "status", "request_id"} and body["status"] == status
    assert body["request_id"] and r.headers["X-Request-Id"] == body["request_id"]
    return dict(body)


def test_long_valid_request_line_reaches_our_validation(base: str) -> None:
    key = "%C3%A9" * 700  # 1400 bytes of UTF-8: over S3's 1024, and a request line over gunicorn's default 4094
    r = requests.get(f"{base}/local/buckets/alpha-data/objects/{key}", headers={"X-Auth-Token": TOKEN}, timeout=10)
    body = _envelope(r, 400)
    assert "1024" in str(body["message"])


def test_request_line_too_long_is_json_414(base: str) -> None:
    r = requests.get(f"{base}/local/buckets/{'a' * 9000}", headers={"X-Auth-Token": TOKEN}, timeout=10)
    assert _envelope(r, 414)["code"] == "URITooLong"


def test_header_field_too_large_is_json_431(base: str) -> None:
    r = requests.get(f"{base}/ping", headers={"X-Big": "x" * 9000}, timeout=10)
    assert _envelope(r, 431)["code"] == "RequestHeaderFieldsTooLarge"


def test_too_many_header_fields_is_json_431(base: str) -> None:
    r = requests.get(f"{base}/ping", headers={f"X-H{i}": "x" for i in range(120)}, timeout=10)
    _envelope(r, 431)


def test_malformed_request_is_json_400_without_echoing_it(base: str) -> None:
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(b"GET /v1/s3/ping HTTP/1.1\r\nHost: x\r\nX-Auth-Token " + TOKEN.encode() + b"\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"Content-Type: application/json" in head, raw[:300]
    body = json.loads(payload)
    assert body["code"] == "BadRequest" and body["status"] == 400 and body["request_id"]
    assert TOKEN.encode() not in raw
