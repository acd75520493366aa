"""``s3api serve | openapi | check-config | hash-token | permissions``."""

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="s3api", description="Self-service S3 provisioning API")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API (embedded AWS emulator when no config is given)")
    serve.add_argument("--config", help="config file (YAML or JSON); default: S3API_CONFIG or embedded")
    serve.add_argument("--listen", help="host:port (default S3API_LISTEN or 127.0.0.1:8080)")
    serve.add_argument("--workers", type=int, help="gunicorn workers (default S3API_WORKERS or 2)")
    serve.set_defaults(func=_serve)
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
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
