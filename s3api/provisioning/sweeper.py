"""The sweeper: background clean-up, one per deployment (a thread in the gunicorn master).

Each pass runs every registered task for every configured account. One failure never stops the pass:
it is logged and counted (``s3api_sweeper_actions_total``). Tasks are registered by the modules that
own the work (key retirement, disabled-distribution deletion, stale DNS records).
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from s3api import metrics
from s3api.aws.clients import AccountAws, Clients
from s3api.config import Settings

log = logging.getLogger("s3api.sweeper")

Task = Callable[[AccountAws], int]
TASKS: dict[str, Task] = {}


def task(name: str) -> Callable[[Task], Task]:
    """Register ``fn(aws) -> number of things done`` as a sweeper task."""

    def register(fn: Task) -> Task:
        TASKS[name] = fn
        return fn

    return register


def run_pass(settings: Settings, clients: Clients) -> dict[str, int]:
    """One pass over every account and task; returns what each task did, summed."""
    done: dict[str, int] = {}
    for account in settings.accounts.values():
        aws = AccountAws(account, clients, settings)
        for name, fn in list(TASKS.items()):
            try:
                count = fn(aws)
                done[name] = done.get(name, 0) + count
                metrics.SWEEPER.labels(name, "ok").inc(count)
            except Exception:
                metrics.SWEEPER.labels(name, "failed").inc()
                log.exception("sweeper task failed", extra={"task": name, "account": account.name})
    return done


class Sweeper:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="s3api-sweeper", daemon=True)

    def _loop(self) -> None:
        clients = Clients()  # its own clients: the master's must never be inherited by workers
        while not self._stop.wait(self.settings.sweep_interval):
            run_pass(self.settings, clients)

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def start_background(settings: Settings) -> Sweeper:
    _load_tasks()
    return Sweeper(settings).start()


def _load_tasks() -> None:
    """Import the modules that register tasks."""
    import importlib

    for module in ("s3api.provisioning.users", "s3api.provisioning.websites", "s3api.audit", "s3api.idempotency"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            continue
