"""``s3api serve`` as a subprocess on 127.0.0.1, always stopped (process group SIGTERM, then SIGKILL).

The first server starts its own embedded emulator (the one moto server of a run); later servers are pointed
at that emulator through ``S3API_EMBEDDED_ENDPOINT`` / ``S3API_EMBEDDED_SEED``, so every server of a run
sees the same AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from bench import procs, promtext

TOKEN = "bench-token-0123456789abcdef"
ACCOUNT = "local"


def free_port() -> int:
    from s3api.embedded import free_port as _free_port

    return _free_port()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3API_", "AWS_", "PROMETHEUS_"))}
    env.update(extra)
    return env


class ServerError(RuntimeError):
    pass


class Server:
    """One gunicorn master (``python -m s3api.cli serve``) with ``workers`` workers.

    ``start()`` returns the seconds from spawning to the first 200 from ``/v1/s3/ping``. Use as a context
    manager: the process group is stopped on exit whatever happened.
    """

    def __init__(
        self,
        workdir: Path,
        name: str,
        workers: int,
        emulator: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.env = dict(env or {})  # extra S3API_* settings for this server
        self.workdir = workdir
        self.name = name
        self.workers = workers
        self.emulator = emulator  # {"endpoint", "seed"} to attach to a running emulator
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/v1/s3"
        self.log_path = workdir / f"{name}.log"
        # the embedded SQLite database (API keys, audit): in the run's scratch dir, never the repository's
        # .s3api-data (the default, relative to the working directory)
        self.data_dir = workdir / f"{name}-data"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start_seconds: float | None = None
        self._spec: dict[str, Any] | None = None

    # --- life cycle ---------------------------------------------------------------------------------------

    def server_env(self) -> dict[str, str]:
        """The S3API_* settings of this server (its command-line tools get the same: the same database)."""
        extra = {
            "S3API_TOKEN": TOKEN,
            "S3API_LISTEN": f"127.0.0.1:{self.port}",
            "S3API_SWEEPER": "off",  # no background AWS calls during measurements
            "S3API_DATA_DIR": str(self.data_dir),
            "PROMETHEUS_MULTIPROC_DIR": str(self.workdir / f"{self.name}-metrics"),
        }
        extra.update(self.env)
        if self.emulator:
            extra["S3API_EMBEDDED_ENDPOINT"] = self.emulator["endpoint"]
            extra["S3API_EMBEDDED_SEED"] = self.emulator["seed"]
        return extra

    def start(self, timeout: float = 60.0) -> float:
        extra = self.server_env()
        log = open(self.log_path, "wb")  # noqa: SIM115 - the child owns it; closed below
        started = time.perf_counter()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "s3api.cli", "serve", "--workers", str(self.workers)],
                env=clean_env(**extra),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as a whole
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"{self.name} exited at start (code {self.proc.returncode}): {self.log_tail()}")
            try:
                if requests.get(f"{self.base}/ping", timeout=1).status_code == 200:
                    self.start_seconds = time.perf_counter() - started
                    return self.start_seconds
            except requests.RequestException:
                pass
            time.sleep(0.02)
        raise ServerError(f"{self.name} did not answer ping within {timeout:.0f} s: {self.log_tail()}")

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def cli(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """``python -m s3api.cli <args>`` with this server's settings (its database), output captured: the caller
        decides what of it may be shown (``keys create`` prints a secret)."""
        return subprocess.run(
            [sys.executable, "-m", "s3api.cli", *args],
            env=clean_env(**self.server_env()),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    # --- HTTP ------------------------------------------------------------------------------------------

    def session(self) -> requests.Session:
        s = requests.Session()
        s.headers["X-Auth-Token"] = TOKEN
        return s

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def metrics(self) -> promtext.Samples:
        r = requests.get(f"{self.base}/metrics", timeout=30)
        r.raise_for_status()
        return promtext.parse(r.text)

    def spec(self) -> dict[str, Any]:
        if self._spec is None:
            r = requests.get(f"{self.base}/openapi.json", timeout=30)
            r.raise_for_status()
            self._spec = r.json()
        return self._spec

    def has_route(self, method: str, path: str) -> bool:
        """``path`` in OpenAPI form below ``/v1/s3`` (``/{account}/buckets/{bucket}``)."""
        ops = self.spec().get("paths", {}).get(f"/v1/s3{path}", {})
        return method.lower() in ops

    def missing(self, *routes: tuple[str, str]) -> list[str]:
        """The routes (method, path) the running service does not have, as ``"GET /path"`` strings."""
        return [f"{m} /v1/s3{p}" for m, p in routes if not self.has_route(m, p)]

    def emulator_info(self) -> dict[str, str]:
        """The emulator endpoint (from ``GET /local`` S3Endpoint) and the seed, for attaching more servers."""
        r = requests.get(f"{self.base}/{ACCOUNT}", headers={"X-Auth-Token": TOKEN}, timeout=30)
        r.raise_for_status()
        endpoint = r.json()["S3Endpoint"]
        import boto3

        kw: dict[str, Any] = {
            "endpoint_url": endpoint,
            "region_name": "us-east-1",
            "aws_access_key_id": "embedded",
            "aws_secret_access_key": "embedded-secret",
        }
        zones = boto3.client("route53", **kw).list_hosted_zones()["HostedZones"]
        certs = boto3.client("acm", **kw).list_certificates()["CertificateSummaryList"]
        seed = {"domain": "example.test"}
        if zones and certs:
            seed.update(
                domain=zones[0]["Name"].rstrip("."),
                hosted_zone_id=zones[0]["Id"].split("/")[-1],
                certificate_arn=certs[0]["CertificateArn"],
            )
        return {"endpoint": endpoint, "seed": json.dumps(seed)}

    # --- processes ---------------------------------------------------------------------------------------

    def worker_pids(self) -> list[int]:
        """gunicorn workers: children of the master that are not the emulator."""
        if self.proc is None:
            return []
        return [p for p in procs.children(self.proc.pid) if "moto.server" not in procs.cmdline(p)]

    def emulator_pid(self) -> int | None:
        if self.proc is None:
            return None
        return next((p for p in procs.children(self.proc.pid) if "moto.server" in procs.cmdline(p)), None)

    def memory(self) -> dict[str, Any]:
        """RSS in MiB of the master, each worker and (if it is ours) the emulator."""
        master = self.proc.pid if self.proc else None
        out: dict[str, Any] = {
            "master_mib": procs.rss_mib(master) if master else None,
            "workers_mib": [procs.rss_mib(p) for p in self.worker_pids()],
        }
        emulator = self.emulator_pid()
        if emulator:
            out["emulator_mib"] = procs.rss_mib(emulator)
        return out
