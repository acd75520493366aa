"""Presigned URLs against a real HTTP endpoint: a plain PUT with ``requests``, then a presigned GET.

In-process ``mock_aws`` intercepts botocore only, so the URLs need a server: a ThreadedMotoServer on
127.0.0.1 (never ``mock_aws`` in this module: entering it would wipe the server's state). The account points
at the server with ``endpoint_url``, which also makes ``usage`` ignore CloudWatch (moto's sizes are wrong).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from s3api import create_app
from tests.conftest import Client, make_settings

pytestmark = pytest.mark.e2e
BUCKET = "presign-roundtrip"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def client(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Client:
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "S3API_CONFIG", "S3API_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="x"
    )
    s3.create_bucket(Bucket=BUCKET)
    # tagged as our bucket create leaves it: presign and usage act on managed buckets only
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "s3api:org", "Value": "test"}]})
    app = create_app(make_settings(None, endpoint_url=endpoint, usage_source="cloudwatch"))
    return Client(app.test_client())


def presign(client: Client, key: str, method: str, expires: int = 300) -> dict[str, Any]:
    r = client.post(f"/v1/s3/local/buckets/{BUCKET}/presign", json={"Key": key, "Method": method, "ExpiresIn": expires})
    assert r.status_code == 200, r.json
    return r.json  # type: ignore[no-any-return]


def test_presigned_put_then_get(client: Client, endpoint: str) -> None:
    key = "uploads/report 2024/été.txt"
    put = presign(client, key, "PUT")
    assert put["Url"].startswith(endpoint + f"/{BUCKET}/")
    query = parse_qs(urlparse(put["Url"]).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["300"]
    body = "presigned bytes ✓".encode()
    r = requests.put(put["Url"], data=body, timeout=10)
    assert r.status_code == 200, r.text

    get = presign(client, key, "GET")
    r = requests.get(get["Url"], timeout=10)
    assert r.status_code == 200 and r.content == body

    details = client.get(f"/v1/s3/local/buckets/{BUCKET}/objects/uploads/report%202024/%C3%A9t%C3%A9.txt").json
    assert details["Key"] == key and details["Size"] == len(body)


def test_usage_with_an_endpoint_never_uses_cloudwatch(client: Client) -> None:
    for i in range(3):
        assert requests.put(presign(client, f"u/{i}", "PUT")["Url"], data=b"x" * 100, timeout=10).status_code == 200
    usage = client.get(f"/v1/s3/local/buckets/{BUCKET}/usage").json
    assert usage["Source"] == "listing" and usage["Complete"] is True
    assert usage["Objects"] >= 3 and usage["Bytes"] >= 300
