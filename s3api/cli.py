"""``s3api serve | worker | openapi | check-config | hash-token | permissions | db | keys``."""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import sys
import tempfile
from typing import Any


def _serve(args: argparse.Namespace) -> int:
    if args.config:
        os.environ["S3API_CONFIG"] = os.path.abspath(args.config)
    if args.listen:
        os.environ["S3API_LISTEN"] = args.listen
    if args.workers:
        os.environ["S3API_WORKERS"] = str(args.workers)
    # before anything imports prometheus_client: every worker writes its metrics here
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="s3api-metrics-"))
    if os.environ.get("S3API_CONFIG") and not os.environ.get("S3API_LISTEN"):
        from s3api import config

        try:
            os.environ["S3API_LISTEN"] = config.load().listen
        except config.ConfigError as exc:
            print(f"s3api: configuration error: {exc}", file=sys.stderr)
            return 2
    from gunicorn.app.base import Application

    class Server(Application):  # type: ignore[misc]
        def init(self, parser: Any, opts: Any, args: Any) -> None:
            return None

        def load_config(self) -> None:
            self.load_config_from_module_name_or_filename("python:s3api.gunicorn_conf")

        def load(self) -> Any:
            from s3api import create_app

            return create_app()

    Server().run()
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from s3api.openapi import spec_json

    text = spec_json()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as fh:
            fh.write(text)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _load_config(args: argparse.Namespace, missing: str) -> Any:
    """The settings of ``--config`` (or ``S3API_CONFIG``), or the exit code after saying what is wrong."""
    from s3api import config

    path = args.config or os.environ.get("S3API_CONFIG")
    if not path:
        print(f"s3api: {missing} (--config or S3API_CONFIG)", file=sys.stderr)
        return 2
    try:
        return config.load(path)
    except config.ConfigError as exc:
        print(f"s3api: configuration error: {exc}", file=sys.stderr)
        return 1


def _check_config(args: argparse.Namespace) -> int:
    settings = _load_config(args, "no config file given")
    if isinstance(settings, int):
        return settings
    print(json.dumps({"ok": True, "accounts": sorted(settings.accounts), "tokens": [t.name for t in settings.tokens]}))
    return 0


def _hash_token(args: argparse.Namespace) -> int:
    # never from the command line: argv is visible to every local user (ps, /proc) and lands in shell history
    token = getpass.getpass("token: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
    if not token:
        print("s3api: empty token", file=sys.stderr)
        return 2
    if args.bcrypt:
        import bcrypt

        print(bcrypt.hashpw(token.encode(), bcrypt.gensalt(rounds=args.cost)).decode())
    else:
        print("sha256:" + hashlib.sha256(token.encode()).hexdigest())
    return 0


def _permissions(args: argparse.Namespace) -> int:
    from s3api.aws.permissions import policy_document

    account = None
    if args.account:
        settings = _load_config(args, "--account needs a config file")
        if isinstance(settings, int):
            return settings
        account = settings.accounts.get(args.account)
        if account is None:
            print(
                f"s3api: no account {args.account!r} in the config ({', '.join(sorted(settings.accounts))})",
                file=sys.stderr,
            )
            return 2
    print(json.dumps(policy_document(account=account), indent=2))
    return 0


def _database(args: argparse.Namespace) -> Any:
    """The database settings: ``database_url`` / ``data_dir`` of ``--config`` (or ``S3API_CONFIG``) when given,
    overridden by ``S3API_DATABASE_URL`` / ``S3API_DATA_DIR``; otherwise the environment's or the default SQLite
    file. Only the database keys of the file are read (the file's accounts need not be reachable)."""
    from s3api import config

    path = getattr(args, "config", None) or os.environ.get("S3API_CONFIG")
    try:
        raw = config.read_file(path) if path else {}
        return config.database_settings(raw, os.environ)
    except config.ConfigError as exc:
        print(f"s3api: configuration error: {exc}", file=sys.stderr)
        return 1


def _database_error(exc: Exception) -> int:
    """One line naming the failure; never the URL (it can hold a password)."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    print(f"s3api: database error: {type(exc).__name__}: {reason[0] if reason else ''}", file=sys.stderr)
    return 1


def _db(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from s3api.db import migrate

    database = _database(args)
    if isinstance(database, int):
        return database
    try:
        revision = migrate.upgrade(database) if args.action == "upgrade" else migrate.current(database)
    except SQLAlchemyError as exc:
        return _database_error(exc)
    head = migrate.head()
    state = "(head)" if revision == head else f"(head is {head})"
    print(f"{revision or 'none'} {state}")
    return 0


def _keys(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy.exc import SQLAlchemyError

    from s3api.db import migrate
    from s3api.db.keys import KeyStore
    from s3api.db.session import Database
    from s3api.errors import ApiError
    from s3api.schemas.keys import KeySchema

    database = _database(args)
    if isinstance(database, int):
        return database
    try:
        migrate.upgrade(database)  # the first admin key comes before the first `s3api serve`
        store = KeyStore(Database(database))
        if args.action == "create":
            expires = datetime.now(UTC) + timedelta(days=args.expires_in_days) if args.expires_in_days else None
            created = store.create(args.name, args.role, args.tenant, expires)
            print(json.dumps({**KeySchema().dump(created), "Key": created["Key"]}, indent=2))
            print("s3api: the Key is shown only now: keep it (send it as X-Auth-Token)", file=sys.stderr)
        elif args.action == "list":
            rows: list[dict[str, Any]] = []
            token = None
            while True:
                page = store.list(role=args.role, page_size=1000, page_token=token)
                rows += page["Keys"]
                token = page["NextPageToken"]
                if not token:
                    break
            print(json.dumps(KeySchema(many=True).dump(rows), indent=2))
        else:
            print(json.dumps(KeySchema().dump(store.revoke(args.id)), indent=2))
    except ApiError as exc:
        print(f"s3api: {exc.message}", file=sys.stderr)
        return 2 if exc.status < 500 else 1
    except SQLAlchemyError as exc:
        return _database_error(exc)
    return 0


def _worker(args: argparse.Namespace) -> int:
    from s3api import config, embedded, logs
    from s3api.jobs import worker

    if args.config:
        os.environ["S3API_CONFIG"] = os.path.abspath(args.config)
    try:
        settings = embedded.load()
    except config.ConfigError as exc:
        print(f"s3api: configuration error: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    concurrency = args.concurrency or int(os.environ.get("S3API_WORKER_CONCURRENCY") or 2)
    return worker.run(settings, concurrency=concurrency, once=args.once)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="s3api", description="Self-service S3 provisioning API")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API (embedded AWS emulator when no config is given)")
    serve.add_argument("--config", help="config file (YAML or JSON); default: S3API_CONFIG or embedded")
    serve.add_argument("--listen", help="host:port (default S3API_LISTEN or 127.0.0.1:8080)")
    serve.add_argument("--workers", type=int, help="gunicorn workers (default S3API_WORKERS or 2)")
    serve.set_defaults(func=_serve)
    work = sub.add_parser(
        "worker", help="run operations and periodic tasks (SQLite: the one runner; PostgreSQL: any number of them)"
    )
    work.add_argument("--config", help="config file (default S3API_CONFIG; s3api serve passes the embedded one)")
    work.add_argument("--concurrency", type=int, help="operations at once (default S3API_WORKER_CONCURRENCY or 2)")
    work.add_argument("--once", action="store_true", help="run what is due and every periodic task once, then exit")
    work.set_defaults(func=_worker)
    spec = sub.add_parser("openapi", help="write the OpenAPI spec")
    spec.add_argument("--output", "-o", default="openapi/openapi.json")
    spec.set_defaults(func=_openapi)
    check = sub.add_parser("check-config", help="validate a config file and exit")
    check.add_argument("--config")
    check.set_defaults(func=_check_config)
    hasher = sub.add_parser(
        "hash-token", help="print sha256:<hex> of a token for the config file (token read from a prompt or stdin)"
    )
    hasher.add_argument("--bcrypt", action="store_true", help="print a bcrypt hash instead (Yale clients)")
    hasher.add_argument("--cost", type=int, default=10)
    hasher.set_defaults(func=_hash_token)
    perms = sub.add_parser(
        "permissions", help="print the IAM policy the service role needs (from the gateway functions' declarations)"
    )
    perms.add_argument("--account", help="narrow zones and certificates to this configured account's domains")
    perms.add_argument("--config", help="config file for --account (default S3API_CONFIG)")
    perms.set_defaults(func=_permissions)
    db = sub.add_parser("db", help="the service's database: upgrade (migrate to the newest schema) or current")
    db.add_argument("action", choices=("upgrade", "current"))
    db.add_argument("--config", help="config file whose database_url / data_dir to use (default S3API_CONFIG)")
    db.set_defaults(func=_db)
    keys = sub.add_parser("keys", help="API keys: create (the secret is printed once), list, revoke")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    create = keys_sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=("admin", "reader"))
    create.add_argument("--tenant")
    create.add_argument("--expires-in-days", type=int, help="expire after this many days (default: never)")
    listing = keys_sub.add_parser("list", help="every key, newest first (never a secret)")
    listing.add_argument("--role", choices=("admin", "reader"))
    revoke = keys_sub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("id")
    for p in (create, listing, revoke):
        p.add_argument("--config", help="config file whose database_url / data_dir to use (default S3API_CONFIG)")
        p.set_defaults(func=_keys)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
