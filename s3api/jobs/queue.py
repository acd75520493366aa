"""PostgreSQL mode: procrastinate runs the operations.

- One procrastinate job per operation (task ``s3api.run_operation``, queue ``s3api``), deferred by the request
  that made the row, with ``lock=<the operation's lock>`` (procrastinate never runs two jobs with one lock at
  once: a second operation on the same bucket waits) and ``queueing_lock=<operation id>`` (one queued job per
  operation, however often it is queued again).
- Retries: :class:`OperationRetry` — an attempt that asks for a retry (:class:`RetryLater`, from
  :mod:`s3api.jobs.execute`'s backoff) is scheduled at that delay; a job that fails outside the task (the
  database restarted while it began) is retried with backoff too, up to :data:`JOB_ATTEMPTS`.
- Periodic tasks (:mod:`s3api.jobs.schedule`): procrastinate's periodic deferrer in every worker, whose
  deferrals are unique per task and period in the database: each period runs once across all workers.
- Stalled jobs: workers send heartbeats; the periodic task ``retry_stalled`` puts the jobs of a worker whose
  heartbeat stopped (killed, its machine gone) back in the queue, and the operation resumes from its progress.

The web processes only defer (a synchronous pool of their own, opened on first use after fork); the workers
(``s3api worker``) run :func:`run_worker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from typing import Any

import procrastinate
import sqlalchemy as sa
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from s3api.config import DatabaseSettings
from s3api.db.models import Operation
from s3api.jobs import execute, schedule
from s3api.jobs.kinds import Env

log = logging.getLogger("s3api.jobs")

QUEUE = "s3api"
PERIODIC_QUEUE = "s3api-periodic"
TASK = "s3api.run_operation"
#: a job failing outside the task itself (the database down as it began) is tried this many times
JOB_ATTEMPTS = 30
HEARTBEAT_SECONDS = float(os.environ.get("S3API_WORKER_HEARTBEAT", "2"))
STALLED_SECONDS = float(os.environ.get("S3API_WORKER_STALLED_AFTER", "10"))
#: at a stop, running tasks get this long to reach a checkpoint; then they are aborted (and found stalled later)
SHUTDOWN_SECONDS = 20.0


class RetryLater(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry in {seconds:.1f} s")
        self.seconds = seconds


class OperationRetry(BaseRetryStrategy):
    def get_retry_decision(self, *, exception: BaseException, job: Any) -> RetryDecision | None:
        if isinstance(exception, RetryLater):
            return RetryDecision(retry_in={"seconds": max(0, round(exception.seconds))})
        if job.attempts + 1 >= JOB_ATTEMPTS:
            return None
        return RetryDecision(retry_in={"seconds": min(60, 2 ** min(job.attempts, 6))})


def conninfo(settings: DatabaseSettings) -> str:
    """The libpq URL of the configured database (``postgresql+psycopg://`` is SQLAlchemy's spelling)."""
    url = sa.make_url(settings.url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def make_app(settings: DatabaseSettings) -> procrastinate.App:
    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(settings)))


class Deferrer:
    """A web process's way into the queue: one App per process, opened (synchronously) on first use."""

    def __init__(self, settings: DatabaseSettings) -> None:
        self.settings = settings
        self._app: procrastinate.App | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def app(self) -> procrastinate.App:
        with self._lock:
            if self._app is None or self._pid != os.getpid():
                self._app = make_app(self.settings).open()
                self._pid = os.getpid()
            return self._app

    def enqueue(self, op: Operation) -> int | None:
        try:
            task = self.app().configure_task(TASK, lock=op.lock, queueing_lock=op.id, queue=QUEUE)
            return int(task.defer(operation_id=op.id))
        except procrastinate.exceptions.AlreadyEnqueued:
            return None
        except Exception as exc:  # the row is written: the periodic requeue queues it later
            extra = {"operation": op.id, "error": type(exc).__name__}
            log.warning("operation not queued now (the periodic requeue will)", extra=extra)
            return None

    def close(self) -> None:
        with self._lock:
            if self._app is not None and self._pid == os.getpid():
                self._app.close()
            self._app = None


def worker_app(env: Env) -> procrastinate.App:
    """The App a worker runs: the operation task and the periodic tasks, bound to ``env``."""
    app = make_app(env.settings.database)

    @app.task(name=TASK, queue=QUEUE, pass_context=True, retry=OperationRetry())
    def run_operation(context: procrastinate.JobContext, operation_id: str) -> str | None:
        op = env.operations.begin(operation_id, job_id=context.job.id)
        if op is None:  # ended (or canceled before it started): nothing to do
            return None
        outcome = execute.run(env, op, stopping=context.should_abort)
        if outcome.status is None:
            raise RetryLater(outcome.retry_in or 0)
        return outcome.status

    cron = schedule.cron(env.settings.sweep_interval)
    for name, fn in schedule.tasks(env, engine="queue").items():
        _periodic(app, name, fn, cron)

    @app.periodic(cron=schedule.cron(min(env.settings.sweep_interval, STALLED_SECONDS)), periodic_id="retry_stalled")
    @app.task(name="s3api.periodic.retry_stalled", queue=PERIODIC_QUEUE, queueing_lock="retry_stalled")
    async def retry_stalled(timestamp: int) -> int:
        jobs = await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=STALLED_SECONDS)
        count = 0
        for job in jobs:
            await app.job_manager.retry_job(job)
            count += 1
        if count:
            log.warning("stalled jobs requeued", extra={"count": count})
        return count

    deferrer = Deferrer(env.settings.database)  # this worker's, opened at the first requeue that needs it

    @app.periodic(cron=cron, periodic_id="requeue")
    @app.task(name="s3api.periodic.requeue", queue=PERIODIC_QUEUE, queueing_lock="requeue")
    def requeue(timestamp: int) -> int:
        return sum(deferrer.enqueue(op) is not None for op in env.operations.unqueued(older_than=60))

    return app


def _periodic(app: procrastinate.App, name: str, fn: Any, cron: str) -> None:
    def periodic_task(timestamp: int) -> int:
        return int(fn(timestamp))

    periodic_task.__name__ = name
    task = app.task(name=f"s3api.periodic.{name}", queue=PERIODIC_QUEUE, queueing_lock=name)(periodic_task)
    app.periodic(cron=cron, periodic_id=name)(task)


def run_worker(env: Env, *, concurrency: int = 2, name: str | None = None) -> None:
    """Run a procrastinate worker until SIGTERM/SIGINT (graceful: running tasks stop at their next checkpoint
    and go back to the queue, within ``SHUTDOWN_SECONDS``).

    procrastinate stops its worker when one of its side tasks (the LISTEN connection, the heartbeat) loses the
    database; this loop starts it again (1 s, doubling to 30 s while the database stays away), so a worker
    outlives a database restart. The jobs it was running are found stalled by ``retry_stalled`` (their worker
    id no longer sends heartbeats) and resume from their operations' saved progress."""
    worker_name = name or f"{socket.gethostname()}-{os.getpid()}"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        current: list[asyncio.Task[None]] = []

        def stop() -> None:
            stopping.set()
            for task in current:
                task.cancel()  # procrastinate's graceful stop

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
        delay = 1.0
        while not stopping.is_set():
            started = time.monotonic()
            try:
                app = worker_app(env)
                async with app.open_async():
                    task = asyncio.create_task(
                        app.run_worker_async(
                            queues=[QUEUE, PERIODIC_QUEUE],
                            concurrency=concurrency,
                            name=worker_name,
                            wait=True,
                            install_signal_handlers=False,
                            update_heartbeat_interval=HEARTBEAT_SECONDS,
                            stalled_worker_timeout=STALLED_SECONDS,
                            shutdown_graceful_timeout=SHUTDOWN_SECONDS,
                            delete_jobs="successful",
                        )
                    )
                    current[:] = [task]
                    await task
            except asyncio.CancelledError:
                if stopping.is_set():
                    break
            except Exception as exc:  # the database away, above all: try again
                log.warning("worker stopped by an error: starting it again", extra={"error": type(exc).__name__})
            current.clear()
            if stopping.is_set():
                break
            delay = 1.0 if time.monotonic() - started > 60 else min(30.0, delay * 2)
            log.warning("worker stopped: starting it again", extra={"in_seconds": delay})
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=delay)

    asyncio.run(main())
