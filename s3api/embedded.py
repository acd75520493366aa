"""The no-configuration default: an AWS emulator (moto) started with the service, seeded so every route works.

One emulator per deployment: the gunicorn master starts ``moto.server`` as a child process on 127.0.0.1
at a free port before forking workers, and every worker talks to it over HTTP (moto's state is per
process, so an in-process mock per worker would give each worker its own AWS). The child dies with the
master (``PR_SET_PDEATHSIG``) and is stopped on shutdown.

Seeded: account ``local`` (moto's default account id), a Route53 hosted zone and an imported wildcard
certificate for ``S3API_DOMAIN`` (default ``example.test``), and an access-log bucket; in the database, the
plans of :data:`PLANS` (a free one and a paid one, sold in ``local``'s location), once (:func:`seed_plans`).
The workers learn the emulator's address and the seed from ``S3API_EMBEDDED_*`` environment variables set by the master.

Start-up code: only the app factory, ``s3api serve`` and the gunicorn configuration decide to use it
(:func:`load`, :func:`boot`); configuration, gateways and workflows never import this module.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import functools
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from typing import Any, Mapping, MutableMapping

from s3api import config
from s3api.config import ConfigError, Settings, from_mapping

log = logging.getLogger("s3api.embedded")

ACCOUNT_ID = "123456789012"
LOG_BUCKET = "s3api-access-logs-{account_id}"
ENV_ENDPOINT = "S3API_EMBEDDED_ENDPOINT"
ENV_SEED = "S3API_EMBEDDED_SEED"
CREDENTIALS = {"access_key_id": "embedded", "secret_access_key": "embedded-secret"}


def load(path: str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """The start-up choice: the config file ``path`` (or ``S3API_CONFIG``) when there is one, otherwise the
    embedded default (:func:`settings`), which needs the emulator the gunicorn master started (:func:`boot`)."""
    env = os.environ if env is None else env
    if path or env.get("S3API_CONFIG"):
        return config.load(path, env)
    return settings(env)


def settings(env: Mapping[str, str]) -> Settings:
    """Settings for the embedded default, from what the master put in the environment."""
    endpoint = env.get(ENV_ENDPOINT)
    if not endpoint:
        raise ConfigError(config.NO_CONFIGURATION)
    seed = json.loads(env.get(ENV_SEED) or "{}")
    domain = seed.get("domain") or env.get("S3API_DOMAIN") or "example.test"
    domains = {}
    if seed.get("certificate_arn") and seed.get("hosted_zone_id"):
        domains[domain] = {"certificate_arn": seed["certificate_arn"], "hosted_zone_id": seed["hosted_zone_id"]}
    raw: dict[str, Any] = {
        "org": env.get("S3API_ORG") or "local",
        "embedded": True,
        "accounts": {
            "local": {
                "account_id": ACCOUNT_ID,
                "region": "us-east-1",
                "endpoint_url": endpoint,
                "origin_access": "private",
                "access_log": {"bucket": LOG_BUCKET, "prefix": "s3"},
                "domains": domains,
                **CREDENTIALS,
            }
        },
        "sweep_interval": float(env.get("S3API_SWEEP_INTERVAL") or 60),
    }
    return from_mapping(raw, env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Emulator:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_emulator(timeout: float = 20.0) -> Emulator:
    """Start ``moto.server`` on 127.0.0.1 at a free port and wait until it answers."""
    port = free_port()
    env = dict(os.environ, MOTO_ACM_VALIDATION_WAIT="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "s3api.emulator", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the AWS emulator exited at start (code {proc.returncode})")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):  # noqa: S310 - our own http URL
                return Emulator(url, proc)
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the AWS emulator did not answer in time")


@functools.lru_cache(maxsize=4)
def _self_signed(domain: str) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"*.{domain}")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(f"*.{domain}"), x509.DNSName(domain)]), False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def seed(endpoint: str | None, domain: str, account_id: str = ACCOUNT_ID) -> dict[str, str]:
    """Create the hosted zone, the wildcard certificate and the access-log bucket (idempotent enough
    for a fresh emulator). ``endpoint=None`` seeds whatever boto3 reaches (an in-process mock)."""
    import boto3

    from s3api.aws.clients import core_session
    from s3api.provisioning import policies

    kw: dict[str, Any] = {
        "region_name": "us-east-1",
        "endpoint_url": endpoint,
        "aws_access_key_id": CREDENTIALS["access_key_id"],
        "aws_secret_access_key": CREDENTIALS["secret_access_key"],
    }
    session = boto3.session.Session(botocore_session=core_session())  # models parsed once per process
    zone = (
        session.client("route53", **kw)
        .create_hosted_zone(Name=domain, CallerReference=f"s3api-embedded-{domain}")["HostedZone"]["Id"]
        .split("/")[-1]
    )
    cert_pem, key_pem = _self_signed(domain)
    acm = session.client("acm", **kw)
    cert_arn = acm.import_certificate(Certificate=cert_pem, PrivateKey=key_pem)["CertificateArn"]
    log_bucket = LOG_BUCKET.format(account_id=account_id)
    s3 = session.client("s3", **kw)
    s3.create_bucket(Bucket=log_bucket)
    s3.put_bucket_policy(Bucket=log_bucket, Policy=json.dumps(policies.log_delivery_policy(log_bucket, account_id)))
    return {"domain": domain, "hosted_zone_id": zone, "certificate_arn": cert_arn, "log_bucket": log_bucket}


GIB = 1024**3
#: the plans the embedded default starts with: fields as ``POST /v1/s3/plans`` takes them, ``{location}`` the
#: embedded account's location code
PLANS: dict[str, dict[str, Any]] = {
    "free": {
        "Active": True,
        "TestOnly": False,
        "StorageType": "Standard",
        "Locations": ["{location}"],
        "QuotaBytes": 1 * GIB,
        "MaxBuckets": 3,
        "BandwidthBytesPerMonth": 10 * GIB,
        "Prices": [],
    },
    "standard": {
        "Active": True,
        "TestOnly": False,
        "StorageType": "Standard",
        "Locations": ["{location}"],
        "QuotaBytes": 100 * GIB,
        "MaxBuckets": 10,
        "BandwidthBytesPerMonth": 1024 * GIB,
        "Prices": [
            {
                "Location": "{location}",
                "Currency": "EUR",
                "Monthly": "4.99",
                "StorageOverPerGb": "0.02",
                "TrafficOverPerGb": "0.01",
            }
        ],
    },
}


def plans_for(location: str) -> dict[str, dict[str, Any]]:
    """:data:`PLANS` sold in ``location``."""
    return json.loads(json.dumps(PLANS).replace("{location}", location))  # type: ignore[no-any-return]


def seed_plans(settings: Settings) -> list[str]:
    """Create the plans of :data:`PLANS` that the database lacks (a restart keeps what the operator changed;
    a deleted seed plan stays deleted); the names created. The embedded default only: its account ``local``."""
    from s3api.db.plans import PlanStore
    from s3api.db.session import Database

    account = settings.account("local")
    if not settings.embedded or account is None:
        return []
    db = Database(settings.database)
    try:
        return PlanStore(db).seed(plans_for(account.location_code), caller_name="embedded-seed")
    finally:
        db.dispose()


def boot(env: MutableMapping[str, str]) -> Emulator:
    """In the master: start and seed the emulator, and publish it (and the token) to the workers."""
    emulator = start_emulator()
    try:
        domain = (env.get("S3API_DOMAIN") or "example.test").lower()
        env[ENV_SEED] = json.dumps(seed(emulator.url, domain))
    except Exception:
        emulator.stop()
        raise
    env[ENV_ENDPOINT] = emulator.url
    if not env.get("S3API_TOKEN"):
        env["S3API_TOKEN"] = secrets.token_urlsafe(24)
        print(f"s3api: no S3API_TOKEN set; generated token for this run: {env['S3API_TOKEN']}", file=sys.stderr)
    print(f"s3api: embedded AWS emulator at {emulator.url} (account 'local', domain {domain})", file=sys.stderr)
    return emulator
