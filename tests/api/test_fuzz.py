"""schemathesis against our OpenAPI spec, in-process (WSGI) on an in-process AWS emulator.

Bounded: S3API_FUZZ_EXAMPLES examples per operation (small in `make test`, larger in `make fuzz`).
Checks: no 5xx anywhere, every response matches the spec (status codes, content types, schemas).

Random path parameters would almost never name a configured account or an existing resource, so every case
would stop at the first lookup (404). Most cases are therefore steered (deterministically, by a checksum of the
generated value) to the account ``local`` and to resources seeded here: the bucket ``fuzz-data`` with an object
and a user, the website ``www.example.test`` with a user. Run with ``-s`` to see how many cases ran and what
they answered.
"""

from __future__ import annotations

import os
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import schemathesis
from hypothesis import HealthCheck, assume, settings
from moto import mock_aws
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from s3api import create_app, embedded
from s3api.config import RESERVED_ACCOUNT_NAMES
from tests.conftest import TOKEN, make_settings

EXAMPLES = int(os.environ.get("S3API_FUZZ_EXAMPLES", "8"))
_mock = mock_aws()


def _app():  # the app is built before the emulator starts: clients are created lazily
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    _mock.start()
    seed = embedded.seed(None, "example.test")
    return create_app(make_settings(seed))


app = _app()
_mock.stop()
schema = schemathesis.openapi.from_wsgi("/v1/s3/openapi.json", app)


#: generated path parameter -> the seeded value most cases use instead
STEER = {
    "account": "local",
    "bucket": "fuzz-data",
    "website": "www.example.test",
    "user": "fuzz-user",
    "key": "docs/a.txt",
}
STATUSES: Counter[int] = Counter()


def steer(params: dict[str, Any]) -> dict[str, Any]:
    """Three cases in four use the seeded value of each path parameter (a checksum decides: reproducible)."""
    out = dict(params)
    for name, value in params.items():
        if name in STEER and zlib.crc32(f"{name}={value}".encode()) % 4:
            out[name] = STEER[name]
    return out


def _resources() -> None:
    """What the steered cases find: a bucket holding an object (DELETE answers 409, so it stays), its user, a
    website holding a page of its own (stays too) and its user."""
    client = app.test_client()
    headers = {"X-Auth-Token": TOKEN}
    for path, body in (
        ("/v1/s3/local/buckets", {"BucketInput": {"Bucket": "fuzz-data"}}),
        ("/v1/s3/local/buckets/fuzz-data/users", {"User": {"UserName": "fuzz-user"}}),
        ("/v1/s3/local/websites", {"BucketInput": {"Bucket": "www.example.test"}}),
        ("/v1/s3/local/websites/www.example.test/users", {"User": {"UserName": "fuzz-web", "Path": "/docs/"}}),
    ):
        r = client.post(path, json=body, headers=headers)
        assert r.status_code == 200, (path, r.get_json())
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket="fuzz-data", Key="docs/a.txt", Body=b"fuzz")
    s3.put_object(Bucket="www.example.test", Key="about.html", Body=b"fuzz")


@pytest.fixture(scope="module", autouse=True)
def emulator() -> Iterator[None]:
    _mock.start()
    try:
        # a fresh emulator: a new hosted zone and certificate, which the app's settings must name
        app.extensions["s3api"].settings = make_settings(embedded.seed(None, "example.test"))
        _resources()
        yield
    finally:
        _mock.stop()
        total = sum(STATUSES.values())
        if total:
            answered = ", ".join(f"{status}: {n}" for status, n in sorted(STATUSES.items()))
            print(f"\nfuzz: {total} cases ({EXAMPLES} examples per operation at most); statuses {answered}")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms(case) -> None:
    # `/v1/s3/accounts` is its own route; an account can't be named like it (config refuses reserved names)
    assume((case.path_parameters or {}).get("account") not in RESERVED_ACCOUNT_NAMES)
    if case.path_parameters:
        case.path_parameters = steer(case.path_parameters)
    case.headers = {**(case.headers or {}), "X-Auth-Token": TOKEN}
    response = case.call()
    STATUSES[response.status_code] += 1
    case.validate_response(
        response,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )


# --- what the fuzzer found (regressions) --------------------------------------------------------------------


@pytest.mark.parametrize("key", ["a\x00b", "\x01", "a\rb", "\ufffe"])
def test_batch_delete_of_a_key_xml_cannot_carry_is_400(key: str) -> None:
    """Found: DeleteObjects sends keys in XML; a control character made the emulator fail (500) and a carriage
    return would become a newline (another key deleted). Such keys are refused up front."""
    r = app.test_client().post(
        "/v1/s3/local/buckets/fuzz-data/objects/delete", json={"Keys": ["ok.txt", key]}, headers={"X-Auth-Token": TOKEN}
    )
    assert r.status_code == 400, r.get_json()
    assert "Keys" in r.get_json()["errors"]["json"]


def test_list_with_a_control_character_delimiter_is_400() -> None:
    """Found: a delimiter S3 cannot send back in its XML answer made the list a 503."""
    r = app.test_client().get("/v1/s3/local/buckets/fuzz-data/objects?delimiter=%00", headers={"X-Auth-Token": TOKEN})
    assert r.status_code == 400 and "delimiter" in r.get_json()["errors"]["query"]
