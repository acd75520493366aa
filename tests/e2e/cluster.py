"""Several ``s3api`` processes on one machine sharing one PostgreSQL schema and one AWS emulator: API replicas
(``s3api serve`` with ``S3API_WORKER=off``) and workers (``s3api worker``), each started and stopped by the test,
on 127.0.0.1 only. Each process's stderr (JSON log lines) goes to a file the test can read.

The emulator is moto's threaded server inside the test process (seeded like the embedded default), so a test can
put 20,000 objects into a bucket through moto's backend in a second (:meth:`Cluster.fill`) instead of minutes of
PutObject calls; everything else goes over HTTP as in production."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from s3api import embedded
from tests.conftest import _postgres_schema
from tests.e2e.conftest import TOKEN, clean_env, wait_for

DOMAIN = "example.test"


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    base: str | None = None

    def lines(self) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    continue
        return found

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)


@dataclass
class Cluster:
    env: dict[str, str]
    endpoint: str
    tmp: Path
    database_url: str
    procs: list[Proc] = field(default_factory=list)

    def _start(self, name: str, argv: list[str], **extra: str) -> Proc:
        log = self.tmp / f"{name}.log"
        with open(log, "wb") as fh:
            popen = subprocess.Popen(
                [sys.executable, "-m", "s3api.cli", *argv],
                env=clean_env(**self.env, **extra),
                stdout=subprocess.DEVNULL,
                stderr=fh,
                start_new_session=True,
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def worker(self, name: str, concurrency: int = 2) -> Proc:
        return self._start(name, ["worker", "--concurrency", str(concurrency)])

    def replica(self, name: str, workers: int = 2, *, with_worker: bool = False) -> Proc:
        """``s3api serve``; ``with_worker``: with the worker it starts beside it (as ``make serve`` does)."""
        port = embedded.free_port()
        argv = ["serve", "--workers", str(workers)]
        worker = "on" if with_worker else "off"
        proc = self._start(name, argv, S3API_LISTEN=f"127.0.0.1:{port}", S3API_WORKER=worker)
        proc.base = f"http://127.0.0.1:{port}/v1/s3"
        wait_for(f"{proc.base}/ping", timeout=60)
        return proc

    def fill(self, bucket: str, count: int) -> None:
        """``count`` one-byte objects ``k/000000``... straight into the emulator's backend."""
        from moto.s3.models import s3_backends

        backend = s3_backends[embedded.ACCOUNT_ID]["aws"]
        for i in range(count):
            backend.put_object(bucket, f"k/{i:06d}", b"x")

    def boto3(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )


def call(proc: Proc, method: str, path: str, **kw: Any) -> requests.Response:
    headers = {"X-Auth-Token": TOKEN, **kw.pop("headers", {})}
    return requests.request(method, f"{proc.base}{path}", headers=headers, timeout=kw.pop("timeout", 30), **kw)


def wait_until(predicate: Any, timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout} s")


@contextmanager
def cluster(tmp: Path, *, postgres: bool = True, **env: str) -> Iterator[Cluster]:
    """One emulator (seeded like the embedded default) and one database — a fresh PostgreSQL schema, or
    (``postgres=False``) a SQLite file under ``tmp`` — for every process; every process stopped after."""
    from moto.server import ThreadedMotoServer

    port = embedded.free_port()
    emulator = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    emulator.start()
    url = f"http://127.0.0.1:{port}"
    try:
        seed = embedded.seed(url, DOMAIN)
        with contextlib.ExitStack() as stack:
            database_url = f"sqlite:///{tmp}/data/s3api.db"
            if postgres:
                database_url = stack.enter_context(_postgres_schema()).url
            base_env = {
                embedded.ENV_ENDPOINT: url,
                embedded.ENV_SEED: json.dumps(seed),
                "S3API_TOKEN": TOKEN,
                "S3API_DATABASE_URL": database_url,
                "S3API_DATA_DIR": str(tmp / "data"),
                **env,
            }
            found = Cluster(base_env, url, tmp, database_url)
            try:
                yield found
            finally:
                for proc in reversed(found.procs):
                    proc.stop()
    finally:
        emulator.stop()


def wait_done(proc: Proc, op_id: str, timeout: float) -> dict[str, Any]:
    """The operation once it has ended (one GET per poll; a 503 while the database is away counts as not yet)."""

    def ended() -> dict[str, Any] | None:
        answer = call(proc, "GET", f"/operations/{op_id}")
        return answer.json() if answer.status_code == 200 and answer.json()["Done"] else None

    return wait_until(ended, timeout, 0.5, f"operation {op_id} ended")
