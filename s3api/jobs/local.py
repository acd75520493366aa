"""SQLite mode (the embedded default, one replica): the in-process runner.

:class:`LocalRunner` claims due ``NotStarted`` operations (never two with one lock at once), runs each in one of
``concurrency`` threads through :func:`s3api.jobs.execute.run`, retries with backoff by making the row due again,
and runs the periodic tasks once per ``sweep_interval``. At its start, what a previous runner left Running (it
died, or the service stopped) is due again and resumes from its saved progress. One runner per database file: a
second one refuses to start (an ``flock`` on ``<database>.runner.lock``).

``s3api serve`` starts the runner as a child process (``s3api worker``), so API and runner come with one command.
:func:`drain` runs every due operation in the calling thread (tests, ``s3api worker --once``).
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO

from s3api.db.models import Operation
from s3api.jobs import execute, schedule
from s3api.jobs.kinds import Env

log = logging.getLogger("s3api.jobs")

POLL_SECONDS = 0.25


class RunnerBusy(Exception):
    """Another runner holds the database's runner lock."""


def drain(env: Env, limit: int = 1000) -> int:
    """Run due operations here, one after another, until none is due (or ``limit``); how many ran. Retries due
    later are left for later."""
    ran = 0
    while ran < limit:
        op = env.operations.claim_next()
        if op is None:
            return ran
        execute.run(env, op)
        ran += 1
    return ran


class LocalRunner:
    def __init__(self, env: Env, *, concurrency: int = 2, periodic: bool = True) -> None:
        self.env = env
        self.concurrency = max(1, concurrency)
        self.periodic = periodic
        self._stop = threading.Event()
        self._running: dict[str, Future[execute.Outcome]] = {}
        self._lockfile: IO[str] | None = None

    def _take_lock(self) -> None:
        path = self.env.settings.database.sqlite_path
        if path is None:
            return
        fh = open(path + ".runner.lock", "a")  # noqa: SIM115 (held for the runner's life)
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise RunnerBusy("another s3api worker runs the operations of this database") from None
        self._lockfile = fh

    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Until :meth:`stop`: claim and run operations, run periodic tasks when due."""
        self._take_lock()
        released = self.env.operations.release_running()
        if released:
            log.warning("operations left running by a previous runner resume", extra={"count": released})
        interval = max(1.0, self.env.settings.sweep_interval)
        periodic: dict[str, schedule.Periodic] = schedule.tasks(self.env, engine="local") if self.periodic else {}
        next_period = (time.time() // interval + 1) * interval
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="s3api-op")
        background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3api-periodic")
        pending_periodic: Future[None] | None = None
        try:
            while not self._stop.is_set():
                self._reap()
                claimed = self._claim(pool)
                if periodic and time.time() >= next_period and (pending_periodic is None or pending_periodic.done()):
                    pending_periodic = background.submit(self._run_periodic, periodic, int(next_period))
                    next_period = (time.time() // interval + 1) * interval
                if not claimed:
                    self._stop.wait(POLL_SECONDS)
        finally:
            pool.shutdown(wait=True)  # running tasks see stopping() at their next checkpoint
            background.shutdown(wait=True)
            if self._lockfile is not None:
                self._lockfile.close()

    def _reap(self) -> None:
        for op_id, future in list(self._running.items()):
            if future.done():
                del self._running[op_id]
                if future.exception() is not None:
                    log.error("operation runner error", extra={"operation": op_id}, exc_info=future.exception())

    def _claim(self, pool: ThreadPoolExecutor) -> bool:
        if len(self._running) >= self.concurrency:
            return False
        try:
            op = self.env.operations.claim_next(exclude=self._running)
        except Exception as exc:  # the database is away: try again at the next poll
            log.warning("operations not claimed", extra={"error": type(exc).__name__})
            return False
        if op is None:
            return False
        self._running[op.id] = pool.submit(self._execute, op)
        return True

    def _execute(self, op: Operation) -> execute.Outcome:
        return execute.run(self.env, op, stopping=self.stopping)

    @staticmethod
    def _run_periodic(tasks: dict[str, Callable[[int], int]], period: int) -> None:
        for name, fn in tasks.items():
            try:
                fn(period)
            except Exception:
                log.exception("periodic task failed", extra={"task": name})
