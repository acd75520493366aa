"""The periodic tasks and their period.

Every task of :mod:`s3api.provisioning.periodic` (key retirement, disabled-distribution deletion, stale DNS
records, audit and idempotency purges) runs once per ``sweep_interval`` over every account, plus the engine's
own: ``operations_purge`` (operations ended more than 30 days ago), ``webhooks_deliver`` (the outbox's due
deliveries, :func:`s3api.webhooks.deliver_due`), ``webhooks_purge`` (deliveries ended 30 days ago), and those the
kind modules register with :func:`s3api.jobs.kinds.periodic` (``tenants_terminate``: due tenant terminations
started). On PostgreSQL procrastinate runs them (:mod:`s3api.jobs.queue`, which adds ``retry_stalled`` and
``requeue``), on SQLite the in-process runner. Each run logs one line ``periodic task ran`` with the task and the
period's timestamp.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from s3api import webhooks
from s3api.jobs import kinds as registry
from s3api.jobs.kinds import Env
from s3api.provisioning import periodic

log = logging.getLogger("s3api.jobs")


def cron(seconds: float) -> str:
    """A cron expression for "every ``seconds``" (procrastinate's cron takes seconds as a sixth field)."""
    s = max(1, round(seconds))
    if s < 60:
        return f"* * * * * */{s}"
    minutes = round(s / 60)
    if minutes < 60:
        return f"*/{minutes} * * * *"
    return f"0 */{max(1, min(23, round(minutes / 60)))} * * *"


Periodic = Callable[[int], int]


def tasks(env: Env, *, engine: str) -> dict[str, Periodic]:
    """name → ``run(period)``: run it once now for the period starting at ``period`` (a Unix timestamp); what it
    did, counted."""
    found: dict[str, Periodic] = {}
    for name in periodic.load_tasks():
        found[name] = _logged(name, engine, functools.partial(periodic.run, name, env.settings, env.clients))
    found["operations_purge"] = _logged("operations_purge", engine, env.operations.purge)
    found["webhooks_deliver"] = _logged(
        "webhooks_deliver", engine, functools.partial(webhooks.deliver_due, env.settings, env.db)
    )
    found["webhooks_purge"] = _logged("webhooks_purge", engine, functools.partial(webhooks.purge, env.db))
    registry.load()  # the kind modules register their engine tasks (tenants_terminate)
    for name, fn in registry.PERIODIC.items():
        found[name] = _logged(name, engine, functools.partial(fn, env))
    return found


def _logged(name: str, engine: str, fn: Callable[[], int]) -> Periodic:
    def run(period: int) -> int:
        done = fn()
        log.info("periodic task ran", extra={"task": name, "engine": engine, "period": period, "done": done})
        return done

    return run
