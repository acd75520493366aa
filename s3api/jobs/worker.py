"""``s3api worker``: run operations and periodic tasks with the engine of the configured database — the
in-process runner on SQLite (one per database file), procrastinate on PostgreSQL (any number, anywhere)."""

from __future__ import annotations

import logging
import signal
from typing import Any

from s3api.config import Settings
from s3api.db import migrate
from s3api.jobs import local, queue
from s3api.jobs.kinds import WorkerEnv

log = logging.getLogger("s3api.jobs")


def run(settings: Settings, *, concurrency: int = 2, once: bool = False, name: str | None = None) -> int:
    migrate.upgrade(settings.database)  # under the migration lock: a no-op when serve did it
    env = WorkerEnv.make(settings)
    if once:
        from s3api.jobs import schedule

        ran = local.drain(env) if settings.database.is_sqlite else 0
        for fn in schedule.tasks(env, engine="once").values():
            fn(0)
        log.info("worker ran once", extra={"operations": ran})
        return 0
    if not settings.database.is_sqlite:
        log.info("worker started", extra={"engine": "procrastinate", "concurrency": concurrency})
        queue.run_worker(env, concurrency=concurrency, name=name)
        return 0
    runner = local.LocalRunner(env, concurrency=concurrency)

    def stop(signum: int, frame: Any) -> None:
        runner.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("worker started", extra={"engine": "local", "concurrency": concurrency})
    try:
        runner.run()
    except local.RunnerBusy as exc:
        log.error(str(exc))
        return 3
    return 0
