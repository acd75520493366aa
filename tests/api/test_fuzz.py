"""schemathesis against our OpenAPI spec, in-process (WSGI) on an in-process AWS emulator.

Bounded: S3API_FUZZ_EXAMPLES examples per operation (small in `make test`, larger in `make fuzz`).
Checks: no 5xx anywhere, every response matches the spec (status codes, content types, schemas).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

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


@pytest.fixture(scope="module", autouse=True)
def emulator() -> Iterator[None]:
    _mock.start()
    try:
        embedded.seed(None, "example.test")
        yield
    finally:
        _mock.stop()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms(case) -> None:
    # `/v1/s3/accounts` is its own route; an account can't be named like it (config refuses reserved names)
    assume((case.path_parameters or {}).get("account") not in RESERVED_ACCOUNT_NAMES)
    case.headers = {**(case.headers or {}), "X-Auth-Token": TOKEN}
    response = case.call()
    case.validate_response(
        response,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
