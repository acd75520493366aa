"""Configuration: defaults -> config file (YAML or JSON) -> ``S3API_*`` environment -> explicit overrides.

A bad configuration raises :class:`ConfigError` naming the field; start-up stops there. Secrets
(tokens, secret keys, external ids) never appear in ``repr`` or logs.

File shape (all keys optional except ``accounts`` when a file is given)::

    listen: 127.0.0.1:8080
    org: myorg
    org_tag_key: s3api:org           # "spinup:org" to take over from the Yale service
    log_level: info
    tokens: {portal: "sha256:<hex>", ci: "plain-token", yale: {token: "plain-token", bcrypt: true}}
    policy_actions: {bucket: [...], object: [...], website: [...]}
    data_dir: .s3api-data              # the embedded SQLite database (S3API_DATA_DIR)
    database_url: postgresql+psycopg://user@host/db   # instead of SQLite: several replicas (S3API_DATABASE_URL)
    database_timeout: 5                # seconds a request waits for the database: then 503 (S3API_DATABASE_TIMEOUT)
    idempotency_wait: 10               # seconds a repeated Idempotency-Key waits for the first request: then 409
    accounts:
      prod:
        account_id: "123456789012"
        role: s3api                    # role name or full ARN; omitted = use the ambient credentials
        external_id: "..."
        region: us-east-1
        endpoint_url: null             # S3-compatible backends and emulators
        origin_access: private         # or public-website (the Yale behaviour)
        access_log: {bucket: "logs-{account_id}", prefix: "s3"}
        domains: {example.org: {certificate_arn: "arn:aws:acm:...", hosted_zone_id: "Z123"}}
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import yaml

from s3api import names

ACCOUNT_NAME = names.ACCOUNT_NAME
ACCOUNT_ID = re.compile(r"^\d{12}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
ORIGIN_ACCESS = ("private", "public-website")
# Every first path segment under /v1/s3 that a fixed route owns: an account of that name would be shadowed by
# (or would shadow) the route. ``tests/api/test_security_edge.py`` checks this against the app's URL map.
RESERVED_ACCOUNT_NAMES: Mapping[str, str] = {
    "accounts": "/v1/s3/accounts",
    "ping": "/v1/s3/ping",
    "version": "/v1/s3/version",
    "metrics": "/v1/s3/metrics",
    "docs": "/v1/s3/docs",
    "openapi.json": "/v1/s3/openapi.json",
    "keys": "/v1/s3/keys",
    "whoami": "/v1/s3/whoami",
    # routes of the control plane's later issues (design note control-plane.md), reserved now so that no
    # account configured today is shadowed when they arrive
    "audit": "/v1/s3/audit",
    "operations": "/v1/s3/operations",
    "tenants": "/v1/s3/tenants",
    "plans": "/v1/s3/plans",
    "orders": "/v1/s3/orders",
    "ready": "/v1/s3/ready",
    "webhooks": "/v1/s3/webhooks",
}
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024  # a 10,000-key batch delete of 1,024-byte ASCII keys fits
#: where the embedded SQLite database lives without ``data_dir`` / ``S3API_DATA_DIR``: relative to the working
#: directory of ``s3api serve`` (``make serve``: the repository, where ``.gitignore`` names it)
DEFAULT_DATA_DIR = ".s3api-data"
SQLITE_FILE = "s3api.db"
DATABASE_SCHEMES = ("sqlite", "postgresql+psycopg")
DEFAULT_DATABASE_TIMEOUT = 5.0


class ConfigError(ValueError):
    """A configuration problem; the message names the field."""


@dataclass(frozen=True)
class Domain:
    certificate_arn: str
    hosted_zone_id: str


@dataclass(frozen=True)
class Account:
    name: str
    account_id: str
    region: str = "us-east-1"
    role_arn: str | None = None
    external_id: str | None = field(default=None, repr=False)
    endpoint_url: str | None = None
    origin_access: str = "private"
    access_log_bucket: str | None = None
    access_log_prefix: str = ""
    domains: Mapping[str, Domain] = field(default_factory=dict)
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    usage_source: str = "listing"
    s3_addressing_style: str = "auto"
    location: str = ""  # the location code tenants and plans name (default: the account's name)

    @property
    def location_code(self) -> str:
        return self.location or self.name

    @property
    def log_bucket(self) -> str | None:
        """The access-log bucket name, with ``{account_id}`` replaced by the account id."""
        if not self.access_log_bucket:
            return None
        return self.access_log_bucket.replace("{account_id}", self.account_id).replace("{account}", self.name)

    def log_prefix(self, bucket: str) -> str:
        prefix = self.access_log_prefix.strip("/")
        return f"{prefix}/{bucket}/" if prefix else f"{bucket}/"

    @property
    def s3_endpoint(self) -> str:
        """Where keys issued by this API work."""
        if self.endpoint_url:
            return self.endpoint_url
        return f"https://s3.{self.region}.amazonaws.com"


@dataclass(frozen=True)
class Webhook:
    """An endpoint events are POSTed to, signed with ``secret`` (HMAC-SHA256); ``events`` empty = every event."""

    name: str
    url: str
    secret: str = field(default="", repr=False)
    events: tuple[str, ...] = ()

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


@dataclass(frozen=True)
class Token:
    name: str
    plain: str | None = field(default=None, repr=False)
    sha256: str | None = field(default=None, repr=False)
    bcrypt: bool = False  # also accept bcrypt hashes of the plain token (Yale clients); needs a plain token


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the control plane's own state lives. ``url`` is a SQLAlchemy URL (it can hold a password: never in
    ``repr`` or a log); ``data_dir`` is the embedded SQLite file's directory (created when first used)."""

    url: str = field(repr=False)
    data_dir: str
    #: seconds a request waits for the database (SQLite's busy timeout, PostgreSQL's connect and pool timeouts)
    timeout: float = DEFAULT_DATABASE_TIMEOUT

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite:")

    @property
    def sqlite_path(self) -> str | None:
        """The SQLite file, or None (in memory, or not SQLite)."""
        if not self.is_sqlite:
            return None
        path = self.url[len("sqlite:///") :] if self.url.startswith("sqlite:///") else ""
        return path if path and path != ":memory:" else None


def database_settings(raw: Mapping[str, Any], env: Mapping[str, str]) -> DatabaseSettings:
    """``database_url`` / ``S3API_DATABASE_URL`` (``postgresql+psycopg://...``; ``postgresql://`` means the same),
    else SQLite in ``data_dir`` / ``S3API_DATA_DIR`` (default :data:`DEFAULT_DATA_DIR`). No I/O here."""
    data_dir = env.get("S3API_DATA_DIR") or raw.get("data_dir") or DEFAULT_DATA_DIR
    if not isinstance(data_dir, str):
        raise ConfigError("data_dir must be a directory path")
    url = env.get("S3API_DATABASE_URL") or raw.get("database_url")
    if url is None or url == "":
        url = "sqlite:///" + os.path.join(data_dir, SQLITE_FILE)
    if not isinstance(url, str):
        raise ConfigError("database_url must be a string")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    scheme = url.partition("://")[0]
    if scheme not in DATABASE_SCHEMES:  # the message never quotes the URL: it can hold a password
        raise ConfigError("database_url must start with sqlite:// or postgresql+psycopg://")
    timeout = env.get("S3API_DATABASE_TIMEOUT") or raw.get("database_timeout", DEFAULT_DATABASE_TIMEOUT)
    try:
        timeout = float(timeout)
    except (TypeError, ValueError):
        timeout = -1.0
    if isinstance(raw.get("database_timeout"), bool) or not 0.01 <= timeout <= 300:
        raise ConfigError("database_timeout must be a number of seconds from 0.01 to 300")
    return DatabaseSettings(url=url, data_dir=data_dir, timeout=timeout)


@dataclass(frozen=True)
class Settings:
    accounts: Mapping[str, Account]
    tokens: tuple[Token, ...]
    listen: str = "127.0.0.1:8080"
    org: str = "s3api"
    org_tag_key: str = "s3api:org"
    log_level: str = "info"
    bucket_actions: tuple[str, ...] = tuple(names.DEFAULT_BUCKET_ACTIONS)
    object_actions: tuple[str, ...] = tuple(names.DEFAULT_OBJECT_ACTIONS)
    website_actions: tuple[str, ...] = tuple(names.DEFAULT_WEBSITE_ACTIONS)
    protected_actions: tuple[str, ...] = tuple(names.DEFAULT_PROTECTED_ACTIONS)  # denied in every policy
    embedded: bool = False
    sweep_interval: float = 300.0
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    audit_retention_days: int = 90  # audit events older than this are purged by a periodic task
    operation_attempts: int = 5  # a task that keeps failing (5xx, outages) ends Failed after this many attempts
    operation_retry_seconds: float = 2.0  # the first retry's delay; it doubles each attempt (at most 300 s)
    website_deploy_wait_seconds: float = 1800.0  # an async website create/delete waits this long for CloudFront
    idempotency_wait: float = 10.0  # seconds a repeat of an Idempotency-Key waits for the first to finish: then 409
    database: DatabaseSettings = field(default_factory=lambda: database_settings({}, {}))
    #: keys (32 bytes each, the first one seals, all of them open: rotation) for secrets the service must keep:
    #: tenant S3 secrets shown again (``credentials/reveal``, off without keys), signer secrets of share links
    secret_keys: tuple[bytes, ...] = field(default=(), repr=False)
    webhooks: Mapping[str, Webhook] = field(default_factory=dict)
    max_link_seconds: int = 7 * 24 * 3600  # a presigned link lives at most this long (S3's own limit: 7 days)
    #: a bucket under a quota is listed again when its sample of the day is older than this (enforcement follows
    #: the samples: lower it for tighter quotas, at one listing of the bucket per refresh)
    usage_refresh_seconds: int = 86400

    @property
    def org_tag(self) -> names.Tag:
        """The tag marking what this deployment made: ``{"Key": org_tag_key, "Value": org}``."""
        return {"Key": self.org_tag_key, "Value": self.org}

    def account(self, name: str) -> Account | None:
        return self.accounts.get(name)

    def with_overrides(self, **kw: Any) -> Settings:
        return replace(self, **kw)


def _need(d: Mapping[str, Any], key: str, where: str, typ: type | tuple[type, ...] = str) -> Any:
    if key not in d or d[key] in (None, ""):
        raise ConfigError(f"{where}.{key} is required")
    if not isinstance(d[key], typ):
        raise ConfigError(f"{where}.{key} has the wrong type")
    return d[key]


def _opt(d: Mapping[str, Any], key: str, where: str, default: Any, typ: type | tuple[type, ...] = str) -> Any:
    value = d.get(key, default)
    if value is None:
        return default
    if not isinstance(value, typ):
        raise ConfigError(f"{where}.{key} has the wrong type")
    return value


def parse_token(name: str, value: Any) -> Token:
    """A token entry: ``"plain"``, ``"sha256:<hex>"`` or ``{token: "plain", bcrypt: true}`` (bcrypt opt-in)."""
    if isinstance(value, dict):
        unknown = set(value) - {"token", "bcrypt"}
        if unknown:
            raise ConfigError(f"tokens.{name}: unknown keys {', '.join(sorted(map(str, unknown)))}")
        use_bcrypt = value.get("bcrypt", False)
        if not isinstance(use_bcrypt, bool):
            raise ConfigError(f"tokens.{name}.bcrypt must be true or false")
        token = parse_token(name, value.get("token"))
        if use_bcrypt and token.plain is None:
            raise ConfigError(f"tokens.{name}.bcrypt needs a plain token (a sha256 form cannot check bcrypt)")
        return replace(token, bcrypt=use_bcrypt)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"tokens.{name} must be a non-empty string")
    if value.startswith("sha256:"):
        digest = value[len("sha256:") :].lower()
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ConfigError(f"tokens.{name} must be sha256:<64 hex digits>")
        return Token(name=name, sha256=digest)
    if len(value) < 16:
        raise ConfigError(f"tokens.{name} is shorter than 16 characters")
    if value.startswith("s3k_"):  # checked as an API key, never as a token
        raise ConfigError(f"tokens.{name} must not start with s3k_ (the prefix of API keys)")
    return Token(name=name, plain=value)


def _account(name: str, raw: Any) -> Account:
    where = f"accounts.{name}"
    if not ACCOUNT_NAME.match(name):
        raise ConfigError(f"{where}: account names are lowercase letters, digits, '-' and '_'")
    if name in RESERVED_ACCOUNT_NAMES:
        raise ConfigError(f"{where}: '{name}' is reserved by the route {RESERVED_ACCOUNT_NAMES[name]}")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping")
    account_id = str(_need(raw, "account_id", where, (str, int)))
    if not ACCOUNT_ID.match(account_id):
        raise ConfigError(f"{where}.account_id must be 12 digits")
    region = _opt(raw, "region", where, "us-east-1")
    if not REGION.match(region):
        raise ConfigError(f"{where}.region is not an AWS region name")
    role = _opt(raw, "role", where, None)
    role_arn = None
    if role:
        role_arn = role if role.startswith("arn:") else f"arn:aws:iam::{account_id}:role/{role}"
        if not re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+", role_arn):
            raise ConfigError(f"{where}.role is neither a role name nor a role ARN")
    endpoint = _opt(raw, "endpoint_url", where, None)
    if endpoint and not re.match(r"^https?://[^/\s]+/?$", endpoint):
        raise ConfigError(f"{where}.endpoint_url must be an http(s) URL without a path")
    origin = _opt(raw, "origin_access", where, "private")
    if origin not in ORIGIN_ACCESS:
        raise ConfigError(f"{where}.origin_access must be one of {', '.join(ORIGIN_ACCESS)}")
    usage = _opt(raw, "usage_source", where, "listing")
    if usage not in ("listing", "cloudwatch"):
        raise ConfigError(f"{where}.usage_source must be listing or cloudwatch")
    log = _opt(raw, "access_log", where, {}, dict)
    domains: dict[str, Domain] = {}
    for dname, draw in _opt(raw, "domains", where, {}, dict).items():
        dwhere = f"{where}.domains.{dname}"
        if not re.fullmatch(r"(?=.{1,200}$)([a-z0-9-]+\.)+[a-z0-9-]+", str(dname)):
            raise ConfigError(f"{dwhere}: not a lowercase domain name")
        if not isinstance(draw, dict):
            raise ConfigError(f"{dwhere} must be a mapping")
        domains[str(dname)] = Domain(
            certificate_arn=_need(draw, "certificate_arn", dwhere),
            hosted_zone_id=_need(draw, "hosted_zone_id", dwhere).split("/")[-1],
        )
    return Account(
        name=name,
        account_id=account_id,
        region=region,
        role_arn=role_arn,
        external_id=_opt(raw, "external_id", where, None),
        endpoint_url=endpoint.rstrip("/") if endpoint else None,
        origin_access=origin,
        access_log_bucket=_opt(log, "bucket", f"{where}.access_log", None),
        access_log_prefix=_opt(log, "prefix", f"{where}.access_log", ""),
        domains=domains,
        access_key_id=_opt(raw, "access_key_id", where, None),
        secret_access_key=_opt(raw, "secret_access_key", where, None),
        usage_source=usage,
        location=_location(raw, where, name),
        s3_addressing_style=_opt(raw, "s3_addressing_style", where, "path" if endpoint else "auto"),
    )


def _actions(raw: Mapping[str, Any], key: str, default: list[str]) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return tuple(default)
    if not isinstance(value, list) or not value or not all(isinstance(a, str) and ":" in a for a in value):
        raise ConfigError(f"policy_actions.{key} must be a non-empty list of 'service:Action' strings")
    return tuple(value)


def from_mapping(raw: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from a parsed file plus ``S3API_*`` overrides from ``env``."""
    env = os.environ if env is None else env
    raw = dict(raw)
    for key in ("listen", "org", "org_tag_key", "log_level"):
        if env.get(f"S3API_{key.upper()}"):
            raw[key] = env[f"S3API_{key.upper()}"]
    accounts_raw = raw.get("accounts")
    if not isinstance(accounts_raw, dict) or not accounts_raw:
        raise ConfigError("accounts is required: at least one account")
    accounts = {str(n): _account(str(n), a) for n, a in accounts_raw.items()}
    tokens_raw = raw.get("tokens") or {}
    if not isinstance(tokens_raw, dict):
        raise ConfigError("tokens must be a mapping of name to token")
    tokens = [parse_token(str(n), v) for n, v in tokens_raw.items()]
    if env.get("S3API_TOKEN"):
        bcrypt_env = (env.get("S3API_TOKEN_BCRYPT") or "false").lower()
        if bcrypt_env not in ("true", "false"):
            raise ConfigError("S3API_TOKEN_BCRYPT must be true or false")
        tokens.append(parse_token("default", {"token": env["S3API_TOKEN"], "bcrypt": bcrypt_env == "true"}))
    if not tokens:
        raise ConfigError("tokens is required: at least one token (or S3API_TOKEN)")
    org = raw.get("org") or "s3api"
    if not isinstance(org, str) or not re.fullmatch(r"[\w.:/=+@ -]{1,256}", org):
        raise ConfigError("org must be a tag value (1-256 characters)")
    org_tag_key = raw.get("org_tag_key") or "s3api:org"
    if not isinstance(org_tag_key, str) or org_tag_key.lower().startswith("aws:") or len(org_tag_key) > 128:
        raise ConfigError("org_tag_key must be a tag key not starting with aws:")
    listen = str(raw.get("listen") or "127.0.0.1:8080")
    if not re.fullmatch(r"[\w.\[\]:-]+:\d{1,5}", listen):
        raise ConfigError("listen must be host:port")
    level = str(raw.get("log_level") or "info").lower()
    if level not in ("debug", "info", "warning", "error"):
        raise ConfigError("log_level must be debug, info, warning or error")
    actions = raw.get("policy_actions") or {}
    if not isinstance(actions, dict):
        raise ConfigError("policy_actions must be a mapping")
    sweep = raw.get("sweep_interval", 300)
    if env.get("S3API_SWEEP_INTERVAL"):
        try:
            sweep = float(env["S3API_SWEEP_INTERVAL"])
        except ValueError:
            raise ConfigError("S3API_SWEEP_INTERVAL must be a number of seconds >= 1") from None
    if not isinstance(sweep, (int, float)) or sweep < 1:
        raise ConfigError("sweep_interval must be a number of seconds >= 1")
    retention = raw.get("audit_retention_days", 90)
    if not isinstance(retention, int) or isinstance(retention, bool) or not 1 <= retention <= 36500:
        raise ConfigError("audit_retention_days must be a whole number of days from 1 to 36500")
    wait = raw.get("idempotency_wait", 10)
    if not isinstance(wait, (int, float)) or isinstance(wait, bool) or not 0 <= wait <= 60:
        raise ConfigError("idempotency_wait must be a number of seconds from 0 to 60")
    max_body = raw.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES)
    if not isinstance(max_body, int) or isinstance(max_body, bool) or not 1024 <= max_body <= 1024**3:
        raise ConfigError("max_body_bytes must be a whole number of bytes from 1024 to 1073741824")
    attempts = raw.get("operation_attempts", 5)
    if not isinstance(attempts, int) or isinstance(attempts, bool) or not 1 <= attempts <= 100:
        raise ConfigError("operation_attempts must be a whole number from 1 to 100")
    retry = raw.get("operation_retry_seconds", 2.0)
    if not isinstance(retry, (int, float)) or isinstance(retry, bool) or not 0 <= retry <= 300:
        raise ConfigError("operation_retry_seconds must be a number of seconds from 0 to 300")
    deploy_wait = raw.get("website_deploy_wait_seconds", 1800.0)
    if not isinstance(deploy_wait, (int, float)) or isinstance(deploy_wait, bool) or not 0 <= deploy_wait <= 86400:
        raise ConfigError("website_deploy_wait_seconds must be a number of seconds from 0 to 86400")
    return Settings(
        accounts=accounts,
        tokens=tuple(tokens),
        listen=listen,
        org=org,
        org_tag_key=org_tag_key,
        log_level=level,
        bucket_actions=_actions(actions, "bucket", names.DEFAULT_BUCKET_ACTIONS),
        object_actions=_actions(actions, "object", names.DEFAULT_OBJECT_ACTIONS),
        website_actions=_actions(actions, "website", names.DEFAULT_WEBSITE_ACTIONS),
        protected_actions=_actions(actions, "protected", names.DEFAULT_PROTECTED_ACTIONS),
        embedded=bool(raw.get("embedded", False)),
        sweep_interval=float(sweep),
        max_body_bytes=max_body,
        audit_retention_days=retention,
        operation_attempts=attempts,
        operation_retry_seconds=float(retry),
        website_deploy_wait_seconds=float(deploy_wait),
        idempotency_wait=float(wait),
        database=database_settings(raw, env),
        secret_keys=_secret_keys(raw, env),
        webhooks=_webhooks(raw.get("webhooks")),
        max_link_seconds=_max_link_seconds(raw),
        usage_refresh_seconds=_usage_refresh_seconds(raw),
    )


LOCATION = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
WEBHOOK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def _location(raw: Mapping[str, Any], where: str, name: str) -> str:
    location = raw.get("location", name)
    if not isinstance(location, str) or not LOCATION.match(location):
        raise ConfigError(f"{where}.location must be a code of lowercase letters, digits, - and _")
    return location


def _secret_keys(raw: Mapping[str, Any], env: Mapping[str, str]) -> tuple[bytes, ...]:
    """``secret_keys`` (a list) or ``S3API_SECRET_KEYS`` (comma-separated): base64 of 32 random bytes each
    (``python -c "import os, base64; print(base64.b64encode(os.urandom(32)).decode())"``). Never echoed."""
    import base64
    import binascii

    value: Any = raw.get("secret_keys", [])
    if env.get("S3API_SECRET_KEYS"):
        value = [part.strip() for part in env["S3API_SECRET_KEYS"].split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError("secret_keys must be a list of base64 keys")
    keys = []
    for i, text in enumerate(value):
        try:
            key = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ConfigError(f"secret_keys[{i}] must be base64 of exactly 32 bytes")
        keys.append(key)
    return tuple(keys)


def _webhooks(raw: Any) -> dict[str, Webhook]:
    """``webhooks: {billing: {url: https://..., secret: "...", events: [order.paid, ...]}}``."""
    if raw in (None, {}):
        return {}
    if not isinstance(raw, dict):
        raise ConfigError("webhooks must be a mapping of endpoint names")
    out = {}
    for name, spec in raw.items():
        where = f"webhooks.{name}"
        if not isinstance(name, str) or not WEBHOOK_NAME.match(name):
            raise ConfigError(f"{where}: endpoint names are lowercase letters, digits, - and _")
        if not isinstance(spec, dict):
            raise ConfigError(f"{where} must be a mapping with url and secret")
        url = spec.get("url")
        if not isinstance(url, str) or not re.match(r"^https?://[^\s]+$", url):
            raise ConfigError(f"{where}.url must be an http(s) URL")
        secret = spec.get("secret")
        if not isinstance(secret, str) or len(secret) < 16:
            raise ConfigError(f"{where}.secret must be a string of at least 16 characters")
        events = spec.get("events", [])
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise ConfigError(f"{where}.events must be a list of event types")
        out[name] = Webhook(name=name, url=url, secret=secret, events=tuple(events))
    return out


def _usage_refresh_seconds(raw: Mapping[str, Any]) -> int:
    value = raw.get("usage_refresh_seconds", 86400)
    if isinstance(value, bool) or not isinstance(value, int) or not 60 <= value <= 86400:
        raise ConfigError("usage_refresh_seconds must be a whole number of seconds from 60 to 86400")
    return value


def _max_link_seconds(raw: Mapping[str, Any]) -> int:
    value = raw.get("max_link_seconds", 7 * 24 * 3600)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 7 * 24 * 3600:
        raise ConfigError("max_link_seconds must be a whole number of seconds from 1 to 604800")
    return value


def _yaml_position(exc: yaml.YAMLError) -> str:
    """Line and column of a YAML error, never its text: PyYAML's message quotes the offending line, and that
    line can hold a token."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None:
        return "position unknown"
    return f"line {mark.line + 1}, column {mark.column + 1}"


def read_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc.strerror}") from None
    try:
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:  # its str() is position-only, but be explicit: never the text
        raise ConfigError(f"config file {p} is not valid JSON: line {exc.lineno}, column {exc.colno}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {p} is not valid YAML: {_yaml_position(exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a mapping")
    return data


NO_CONFIGURATION = (
    "no configuration: start with `s3api serve` (it starts the embedded AWS emulator) "
    "or set S3API_CONFIG / --config to a config file"
)


def load(path: str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from the config file ``path`` (or ``S3API_CONFIG``); without either, a ConfigError saying how
    to start. The embedded default is start-up code's choice, not this module's: :func:`s3api.embedded.load`
    falls back to it (``create_app()``, ``s3api serve`` and the gunicorn configuration use that)."""
    env = os.environ if env is None else env
    path = path or env.get("S3API_CONFIG")
    if not path:
        raise ConfigError(NO_CONFIGURATION)
    return from_mapping(read_file(path), env)
