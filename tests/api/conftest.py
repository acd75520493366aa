"""Fixtures the API tests share: plain boto3 clients on the test's moto (fresh per test through ``aws``)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config


@pytest.fixture
def s3(aws: None) -> Any:
    return boto3.client("s3", region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))


@pytest.fixture
def iam(aws: None) -> Any:
    return boto3.client("iam", region_name="us-east-1")
