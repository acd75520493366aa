"""What one process holds for the app: settings, the client cache, the database and the token checker."""

from __future__ import annotations

from flask import current_app

from s3api.auth import TokenChecker
from s3api.aws.clients import AccountAws, Clients
from s3api.config import Settings
from s3api.db.keys import KeyStore
from s3api.db.operations import OperationStore
from s3api.db.quotas import QuotaStore
from s3api.db.session import Database
from s3api.db.usage import UsageStore
from s3api.errors import NotFound


class Runtime:
    def __init__(self, settings: Settings, clients: Clients | None = None) -> None:
        self.settings = settings
        self.clients = clients or Clients()
        self.db = Database(settings.database)  # no I/O until a request needs it
        self.keys = KeyStore(self.db)
        self.operations = OperationStore(self.db)
        self.usage = UsageStore(self.db)
        self.quotas = QuotaStore(self.db)
        self.checker = TokenChecker(settings.tokens, self.keys)

    def aws(self, account_name: str) -> AccountAws:
        """The account's AWS access; 404 for a name that is not configured."""
        account = self.settings.account(account_name)
        if account is None:
            raise NotFound(f"account '{account_name}' is not configured")
        return AccountAws(account, self.clients, self.settings)


def current() -> Runtime:
    runtime: Runtime = current_app.extensions["s3api"]
    return runtime


def keys() -> KeyStore:
    return current().keys


def aws(account_name: str) -> AccountAws:
    return current().aws(account_name)
