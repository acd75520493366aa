"""What one process holds for the app: settings, the client cache and the token checker."""

from __future__ import annotations

from flask import current_app

from s3api.auth import TokenChecker
from s3api.aws.clients import AccountAws, Clients
from s3api.config import Settings
from s3api.errors import NotFound


class Runtime:
    def __init__(self, settings: Settings, clients: Clients | None = None) -> None:
        self.settings = settings
        self.clients = clients or Clients()
        self.checker = TokenChecker(settings.tokens)

    def aws(self, account_name: str) -> AccountAws:
        """The account's AWS access; 404 for a name that is not configured."""
        account = self.settings.account(account_name)
        if account is None:
            raise NotFound(f"account '{account_name}' is not configured")
        return AccountAws(account, self.clients, self.settings)


def current() -> Runtime:
    runtime: Runtime = current_app.extensions["s3api"]
    return runtime


def aws(account_name: str) -> AccountAws:
    return current().aws(account_name)
