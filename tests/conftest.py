"""Shared fixtures: a fresh in-process AWS (moto) per test, a seeded account, an app, a client."""

from __future__ import annotations

import os
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from moto import mock_aws

from s3api import create_app, embedded
from s3api.config import Settings, from_mapping

TOKEN = "test-token-0123456789abcdef"
DOMAIN = "example.test"

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "S3API_CONFIG", "S3API_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


@pytest.fixture
def seed(aws: None) -> dict[str, str]:
    return embedded.seed(None, DOMAIN)


def make_settings(seed: dict[str, str] | None = None, **account: Any) -> Settings:
    acct: dict[str, Any] = {
        "account_id": embedded.ACCOUNT_ID,
        "region": "us-east-1",
        "s3_addressing_style": "path",
        "access_key_id": "testing",
        "secret_access_key": "testing",
    }
    if seed:
        acct["access_log"] = {"bucket": embedded.LOG_BUCKET, "prefix": "s3"}
        acct["domains"] = {
            DOMAIN: {"certificate_arn": seed["certificate_arn"], "hosted_zone_id": seed["hosted_zone_id"]}
        }
    acct.update(account)
    return from_mapping({"org": "test", "accounts": {"local": acct}, "tokens": {"test": TOKEN}}, env={})


@pytest.fixture
def settings(seed: dict[str, str]) -> Settings:
    return make_settings(seed)


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


class Client:
    """The test client with the token sent on every call (``auth=False`` to leave it out)."""

    def __init__(self, client: FlaskClient) -> None:
        self.raw = client

    def open(
        self, method: str, path: str, *, auth: bool = True, headers: dict[str, str] | None = None, **kw: Any
    ) -> Any:
        hdrs = {"X-Auth-Token": TOKEN} if auth else {}
        hdrs.update(headers or {})
        return self.raw.open(path, method=method, headers=hdrs, **kw)

    def get(self, path: str, **kw: Any) -> Any:
        return self.open("GET", path, **kw)

    def head(self, path: str, **kw: Any) -> Any:
        return self.open("HEAD", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.open("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.open("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self.open("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.open("DELETE", path, **kw)


@pytest.fixture
def client(app: Flask) -> Client:
    return Client(app.test_client())
