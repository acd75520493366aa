"""`s3api serve` as a subprocess on 127.0.0.1: embedded emulator, several workers, exact metrics, clean stop."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from s3api.embedded import free_port
from tests.e2e.conftest import TOKEN, clean_env, serve, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def server() -> Iterator[str]:
    with serve(workers=2) as srv:
        yield srv.base


def _counter(body: str, route: str) -> float:
    pattern = re.compile(
        rf'^s3api_http_requests_total\{{method="GET",route="{re.escape(route)}",status="200"\}} (\S+)$', re.M
    )
    match = pattern.search(body)
    return float(match.group(1)) if match else 0.0


def test_serve_answers_and_metrics_are_exact_across_workers(server: str) -> None:
    baseline = _counter(requests.get(f"{server}/metrics", timeout=5).text, "/v1/s3/{account}")
    started = time.monotonic()
    r = requests.get(f"{server}/local", headers={"X-Auth-Token": TOKEN}, timeout=5)
    assert r.status_code == 200, r.text
    endpoint = r.json()["S3Endpoint"]
    assert endpoint.startswith("http://127.0.0.1:")
    assert time.monotonic() - started < 5
    assert requests.get(f"{server}/local", timeout=5).status_code == 403

    for _ in range(39):  # fresh connection each time: the requests spread over both workers
        assert requests.get(f"{server}/local", headers={"X-Auth-Token": TOKEN}, timeout=5).status_code == 200
    for _ in range(4):  # every scrape, whichever worker answers, sees the exact total
        body = requests.get(f"{server}/metrics", timeout=5).text
        assert _counter(body, "/v1/s3/{account}") == baseline + 40
        assert "process_resident_memory_bytes" in body

    # the emulator is seeded: the hosted zone, certificate and log bucket are there
    import boto3

    kw = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    assert boto3.client("route53", **kw).list_hosted_zones()["HostedZones"][0]["Name"] == "example.test."
    assert boto3.client("acm", **kw).list_certificates()["CertificateSummaryList"]
    assert [b["Name"] for b in boto3.client("s3", **kw).list_buckets()["Buckets"]] == ["s3api-access-logs-123456789012"]


def test_emulator_stops_with_the_server() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "s3api.cli", "serve", "--workers", "1"],
        env=clean_env(S3API_LISTEN=f"127.0.0.1:{port}"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        text=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/v1/s3/ping")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    generated = re.search(r"generated token for this run: (\S+)", err)
    assert generated, "a token is generated and printed once when S3API_TOKEN is unset"
    emulator = re.search(r"embedded AWS emulator at http://127.0.0.1:(\d+)", err)
    assert emulator
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", int(emulator.group(1)))) != 0, "the emulator must stop with the server"


def test_bad_config_stops_start_up_naming_the_field(tmp_path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("tokens: {t: a-long-enough-token}\naccounts:\n  prod: {account_id: '12'}\n")
    out = subprocess.run(
        [sys.executable, "-m", "s3api.cli", "serve", "--config", str(cfg)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode != 0
    assert "accounts.prod.account_id" in out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "s3api.cli", "check-config", "--config", str(cfg)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 1 and "accounts.prod.account_id" in out.stderr
