"""Real servers on 127.0.0.1 for end-to-end tests: `s3api serve` subprocesses, always stopped after."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests

from s3api.embedded import free_port

TOKEN = "e2e-token-0123456789abcdef"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a process a test starts: none of ours, and its own data directory (the embedded
    SQLite database) in a fresh temporary directory, never the repository, unless the test gives one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3API_", "AWS_", "PROMETHEUS_"))}
    env["S3API_DATA_DIR"] = tempfile.mkdtemp(prefix="s3api-e2e-data-")
    env.update(extra)
    return env


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer in time")


@dataclass
class Server:
    base: str
    endpoint: str  # the emulator, for direct checks
    proc: subprocess.Popen[bytes]

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def boto3(self, service: str):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )


@contextmanager
def serve(workers: int = 2, **env: str) -> Iterator[Server]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "s3api.cli", "serve", "--workers", str(workers)],
        env=clean_env(S3API_TOKEN=TOKEN, S3API_LISTEN=f"127.0.0.1:{port}", **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}/v1/s3"
    try:
        wait_for(f"{base}/ping")
        endpoint = requests.get(f"{base}/local", headers={"X-Auth-Token": TOKEN}, timeout=5).json()["S3Endpoint"]
        yield Server(base, endpoint, proc)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
