"""Periodic work: the registry of background clean-up tasks, and one run of a task over every account.

Tasks are registered by the modules that own the work (key retirement, disabled-distribution deletion, stale DNS
records, the database's retention purges) with ``@periodic.task(name)``: ``fn(aws) -> number of things done``.
The job engine (:mod:`s3api.jobs`) schedules them: on PostgreSQL as procrastinate periodic tasks (one run per
period across every worker), on SQLite in the in-process runner. One account's failure never stops the others:
it is logged and counted (``s3api_sweeper_actions_total``).
"""

from __future__ import annotations

import importlib
import logging
from typing import Callable

from s3api import metrics
from s3api.aws.clients import AccountAws, Clients
from s3api.config import Settings

log = logging.getLogger("s3api.periodic")

Task = Callable[[AccountAws], int]
TASKS: dict[str, Task] = {}
#: the modules that register tasks (imported by :func:`load_tasks`)
MODULES = (
    "s3api.provisioning.users",
    "s3api.provisioning.websites",
    "s3api.control.quotas",
    "s3api.control.links",
    "s3api.audit",
    "s3api.idempotency",
)


def task(name: str) -> Callable[[Task], Task]:
    """Register ``fn(aws) -> number of things done`` as a periodic task."""

    def register(fn: Task) -> Task:
        TASKS[name] = fn
        return fn

    return register


def run(name: str, settings: Settings, clients: Clients) -> int:
    """One run of task ``name`` over every configured account: what it did, summed."""
    fn = TASKS[name]
    done = 0
    for account in settings.accounts.values():
        aws = AccountAws(account, clients, settings)
        try:
            count = fn(aws)
            done += count
            metrics.SWEEPER.labels(name, "ok").inc(count)
        except Exception:
            metrics.SWEEPER.labels(name, "failed").inc()
            log.exception("periodic task failed", extra={"task": name, "account": account.name})
    return done


def run_all(settings: Settings, clients: Clients) -> dict[str, int]:
    """Every task once (tests, and ``s3api worker --once``)."""
    load_tasks()
    return {name: run(name, settings, clients) for name in list(TASKS)}


def load_tasks(extra: tuple[str, ...] = ()) -> dict[str, Task]:
    """Import the modules that register tasks; the registry."""
    for module in MODULES + extra:
        importlib.import_module(module)
    return TASKS
