"""Per-account boto3 clients: created lazily (after fork), cached per (account, service, region).

One boto3 session per account, built once; assumed-role credentials refresh themselves shortly before
they expire (botocore's RefreshableCredentials). Never a new Session per request: that costs 65-80 ms
against about 4 ms for a cached client. Creating clients from a shared session is not thread-safe, so
creation is locked; the clients themselves are thread-safe.

Every client gets the same event hooks: call counting and latency for metrics, and whatever extra
hooks tests register (fault injection uses ``before-call``).

Readiness probes (``/v1/s3/ready``) use clients of their own (``probe=True``, cached the same way): short
timeouts and no retries, so a backend that is down answers the probe within :data:`PROBE_CONNECT_TIMEOUT` +
:data:`PROBE_READ_TIMEOUT` instead of after the request clients' retries.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Callable

import boto3
import botocore.loaders
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import RefreshableCredentials

from s3api import metrics
from s3api.config import Account, Settings

USER_AGENT = "s3api/0.1"
GLOBAL_SERVICES = {"iam": "us-east-1", "cloudfront": "us-east-1", "route53": "us-east-1"}
Hook = tuple[str, Callable[..., Any]]
PROBE_CONNECT_TIMEOUT = 1  # seconds
PROBE_READ_TIMEOUT = 2


def _before_call(model: Any, context: dict[str, Any], **_: Any) -> None:
    context["s3api_started"] = time.perf_counter()
    context["s3api_operation"] = (model.service_model.service_name, model.name)


def _outcome(status: int) -> str:
    if status < 300:
        return "ok"
    if status == 429 or status == 503:
        return "throttled"
    return "client_error" if status < 500 else "server_error"


def _after_call(http_response: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
    started = context.get("s3api_started", time.perf_counter())
    status = getattr(http_response, "status_code", 0) or 0
    service = model.service_model.service_name
    metrics.observe_aws_call(service, model.name, _outcome(status), time.perf_counter() - started)


def _after_call_error(context: dict[str, Any], **_: Any) -> None:
    """botocore sends only ``exception`` and ``context`` here (no ``model``): the operation comes from the
    context, where before-call put it. A hook that raised here would replace the real error with a TypeError."""
    started = context.get("s3api_started", time.perf_counter())
    service, operation = context.get("s3api_operation", ("unknown", "unknown"))
    metrics.observe_aws_call(service, operation, "exception", time.perf_counter() - started)


_loader_lock = threading.Lock()
_loader: botocore.loaders.Loader | None = None


def core_session() -> botocore.session.Session:
    """A botocore session sharing one data loader per process: service models are parsed once, not once
    per session (a fresh loader costs ~150 ms for the S3 and IAM models)."""
    global _loader
    with _loader_lock:
        if _loader is None:
            _loader = botocore.loaders.create_loader()
    core = botocore.session.Session()
    core.register_component("data_loader", _loader)
    return core


#: signing clients of share-link signer keys kept per process (the oldest made is dropped first)
SIGNING_CLIENTS = 64

BASE_HOOKS: tuple[Hook, ...] = (
    ("before-call", _before_call),
    ("after-call", _after_call),
    ("after-call-error", _after_call_error),
)


class Clients:
    """The client cache for one process. ``get(account, "s3")`` returns a ready client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._sessions: dict[str, boto3.session.Session] = {}
        self._clients: dict[tuple[str, str, str, bool], BaseClient] = {}
        self._hooks: list[Hook] = list(BASE_HOOKS)

    def _check_fork(self) -> None:
        if self._pid != os.getpid():  # inherited across fork: connections must not be shared
            self._pid = os.getpid()
            self._sessions.clear()
            self._clients.clear()

    def get(self, account: Account, service: str, region: str | None = None, *, probe: bool = False) -> BaseClient:
        """The cached client; ``probe``: the readiness probe's (short timeouts, one attempt)."""
        region = region or GLOBAL_SERVICES.get(service) or account.region
        key = (account.name, service, region, probe)
        client = self._clients.get(key)
        if client is not None and self._pid == os.getpid():
            return client
        with self._lock:
            self._check_fork()
            client = self._clients.get(key)
            if client is None:
                client = self._new_client(account, service, region, probe)
                self._clients[key] = client
            return client

    def signing_s3(self, account: Account, key_id: str, secret: str) -> BaseClient:
        """An S3 client that signs with a share-link signer's key (presigned URLs only: it never sends a
        request), cached per key; the account's endpoint, region and addressing style."""
        key = (account.name, "s3-signer:" + key_id, account.region, False)
        client = self._clients.get(key)
        if client is not None and self._pid == os.getpid():
            return client
        with self._lock:
            self._check_fork()
            client = self._clients.get(key)
            if client is None:
                session = boto3.session.Session(
                    aws_access_key_id=key_id,
                    aws_secret_access_key=secret,
                    region_name=account.region,
                    botocore_session=core_session(),
                )
                client = session.client(
                    "s3",
                    region_name=account.region,
                    endpoint_url=account.endpoint_url,
                    config=self._config(account, "s3"),
                )
                signers = [k for k in self._clients if k[1].startswith("s3-signer:")]
                for old in signers[: max(0, len(signers) - SIGNING_CLIENTS + 1)]:
                    self._clients.pop(old, None)
                self._clients[key] = client
            return client

    def add_hook(self, event: str, handler: Callable[..., Any]) -> None:
        """Register ``handler`` on every client, present and future (tests: fault injection)."""
        with self._lock:
            self._hooks.append((event, handler))
            for client in self._clients.values():
                client.meta.events.register(event, handler)

    def remove_hook(self, event: str, handler: Callable[..., Any]) -> None:
        with self._lock:
            self._hooks = [(e, h) for e, h in self._hooks if not (e == event and h is handler)]
            for client in self._clients.values():
                client.meta.events.unregister(event, handler)

    def _session(self, account: Account) -> boto3.session.Session:
        session = self._sessions.get(account.name)
        if session is None:
            if account.access_key_id and account.secret_access_key:
                session = boto3.session.Session(
                    aws_access_key_id=account.access_key_id,
                    aws_secret_access_key=account.secret_access_key,
                    region_name=account.region,
                    botocore_session=core_session(),
                )
            else:
                session = boto3.session.Session(region_name=account.region, botocore_session=core_session())
            if account.role_arn:
                session = self._assumed(session, account)
            self._sessions[account.name] = session
        return session

    def _assumed(self, base: boto3.session.Session, account: Account) -> boto3.session.Session:
        sts = base.client("sts", endpoint_url=account.endpoint_url, config=self._config(account, "sts"))
        for event, handler in self._hooks:
            sts.meta.events.register(event, handler)
        role_arn = account.role_arn or ""

        def fetch() -> dict[str, str]:
            kwargs: dict[str, Any] = {
                "RoleArn": role_arn,
                "RoleSessionName": f"s3api-{account.name}-{os.getpid()}",
                "DurationSeconds": 3600,
            }
            if account.external_id:
                kwargs["ExternalId"] = account.external_id
            creds = sts.assume_role(**kwargs)["Credentials"]
            expiry = creds["Expiration"]
            if isinstance(expiry, datetime):
                expiry = expiry.astimezone(UTC).isoformat()
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": expiry,
            }

        credentials = RefreshableCredentials.create_from_metadata(
            metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
        )
        core = core_session()
        core._credentials = credentials  # the documented way to hand a session refreshable credentials
        core.set_config_variable("region", account.region)
        return boto3.session.Session(botocore_session=core)

    @staticmethod
    def _config(account: Account, service: str, probe: bool = False) -> Config:
        options: dict[str, Any] = {
            # botocore's max_attempts counts retries (3: four attempts); the probe makes one attempt in all
            "retries": {"mode": "standard", **({"total_max_attempts": 1} if probe else {"max_attempts": 3})},
            "connect_timeout": PROBE_CONNECT_TIMEOUT if probe else 5,
            "read_timeout": PROBE_READ_TIMEOUT if probe else 30,
            "max_pool_connections": 2 if probe else 32,
            "user_agent_extra": USER_AGENT,
        }
        if service == "s3":
            options["s3"] = {"addressing_style": account.s3_addressing_style}
        return Config(**options)

    def _new_client(self, account: Account, service: str, region: str, probe: bool = False) -> BaseClient:
        session = self._session(account)
        client = session.client(
            service,  # type: ignore[call-overload]
            region_name=region,
            endpoint_url=account.endpoint_url,
            config=self._config(account, service, probe),
        )
        for event, handler in self._hooks:
            client.meta.events.register(event, handler)
        return client  # type: ignore[no-any-return]


@dataclass(frozen=True)
class GatewaySettings:
    """The part of the settings a gateway (``s3api.aws.*``) may read: gateways take plain values from the
    workflows and never see the application's whole :class:`~s3api.config.Settings`."""

    org: str
    org_tag_key: str
    embedded: bool  # the embedded emulator (moto): calls it does not implement are skipped

    @classmethod
    def of(cls, settings: Settings) -> GatewaySettings:
        return cls(org=settings.org, org_tag_key=settings.org_tag_key, embedded=settings.embedded)


class AccountAws:
    """What a request works with: one account's configuration, the settings and the clients.

    Gateways read ``account``, the clients and ``gateway`` (:class:`GatewaySettings`); ``settings`` is for the
    workflows (``s3api.provisioning``), which decide policy actions and the like."""

    def __init__(self, account: Account, clients: Clients, settings: Settings) -> None:
        self.account = account
        self.settings = settings
        self.gateway = GatewaySettings.of(settings)
        self._clients = clients

    def client(self, service: str, region: str | None = None) -> BaseClient:
        return self._clients.get(self.account, service, region)

    def signing_s3(self, key_id: str, secret: str) -> BaseClient:
        """An S3 client signing with a share-link signer's key (:meth:`Clients.signing_s3`)."""
        return self._clients.signing_s3(self.account, key_id, secret)

    def probe_client(self, service: str) -> BaseClient:
        """The readiness probe's client: short timeouts, no retries (:data:`PROBE_CONNECT_TIMEOUT`)."""
        return self._clients.get(self.account, service, probe=True)

    @property
    def s3(self) -> BaseClient:
        return self._clients.get(self.account, "s3")

    @property
    def iam(self) -> BaseClient:
        return self._clients.get(self.account, "iam")

    @property
    def cloudfront(self) -> BaseClient:
        return self._clients.get(self.account, "cloudfront")

    @property
    def route53(self) -> BaseClient:
        return self._clients.get(self.account, "route53")
