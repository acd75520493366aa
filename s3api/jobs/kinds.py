"""Operation kinds and the context their task functions run in.

A kind names a task function ``run(ctx) -> result`` (JSON-able), the lock of its target (two operations with
one lock never run at once), an optional ``preflight(aws, params) -> progress`` that runs in the request before
anything is queued (it refuses with our error, 409 say, and changes nothing), and whether a second start while one
is unfinished returns the first (``dedupe``: a recount). Task functions are idempotent and resume from their
saved progress: a task restarted after a crash lists again what is left, it never replays a list of its own.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from s3api.aws.clients import AccountAws, Clients
from s3api.config import Settings
from s3api.db.operations import OperationStore
from s3api.db.session import Database
from s3api.errors import ServiceUnavailable
from s3api.provisioning.progress import Canceled


class Env(Protocol):
    """What a process holds to run operations: the web app's ``Runtime``, or the worker's own."""

    settings: Settings
    clients: Clients
    db: Database
    operations: OperationStore


@dataclass
class WorkerEnv:
    settings: Settings
    clients: Clients
    db: Database
    operations: OperationStore

    @classmethod
    def make(cls, settings: Settings) -> WorkerEnv:
        db = Database(settings.database)
        return cls(settings, Clients(), db, OperationStore(db))


Run = Callable[["Context"], Any]
Preflight = Callable[[AccountAws, Mapping[str, Any]], "dict[str, int] | None"]


@dataclass(frozen=True)
class Kind:
    name: str
    run: Run
    lock: Callable[[str, Mapping[str, Any]], str]
    target: Callable[[str, Mapping[str, Any]], str]
    preflight: Preflight | None = None
    dedupe: bool = False


KINDS: dict[str, Kind] = {}
#: the modules that register kinds (imported by :func:`load`)
KIND_MODULES = ("s3api.jobs.tasks", "s3api.control.tenants", "s3api.control.lifecycle")


def load() -> dict[str, Kind]:
    """Import every module that registers kinds; the registry."""
    for module in KIND_MODULES:
        importlib.import_module(module)
    return KINDS


def bucket_target(account: str, params: Mapping[str, Any]) -> str:
    return f"bucket:{account}/{params['Bucket']}"


def kind(
    name: str,
    *,
    target: Callable[[str, Mapping[str, Any]], str] = bucket_target,
    lock: Callable[[str, Mapping[str, Any]], str] | None = None,
    preflight: Preflight | None = None,
    dedupe: bool = False,
) -> Callable[[Run], Run]:
    """Register a task function as the operation kind ``name``. The lock defaults to the target."""

    def register(fn: Run) -> Run:
        KINDS[name] = Kind(name, fn, lock or target, target, preflight, dedupe)
        return fn

    return register


#: periodic work of the kind modules that needs the engine itself (its database, starting operations): name →
#: ``fn(env) -> number of things done``; :mod:`s3api.jobs.schedule` runs them beside the per-account tasks
PERIODIC: dict[str, Callable[[Env], int]] = {}


def periodic(name: str) -> Callable[[Callable[[Env], int]], Callable[[Env], int]]:
    """Register ``fn(env) -> count`` as the periodic task ``name`` (once per period for the whole deployment)."""

    def register(fn: Callable[[Env], int]) -> Callable[[Env], int]:
        PERIODIC[name] = fn
        return fn

    return register


class Stopping(Exception):
    """The worker is shutting down: the operation goes back to the queue at this checkpoint, unfinished."""


#: how long a checkpoint waits for the database to come back before the attempt fails
OUTAGE_SECONDS = 60.0


class Context:
    """A running operation, as its task function sees it: ``aws``, ``params``, and the progress counters
    (:class:`~s3api.provisioning.progress.Progress`). ``checkpoint`` saves the counters (one small write: a
    workflow checkpoints once per batch of AWS work) and raises ``Canceled`` when a cancel was asked for,
    ``Stopping`` when the worker shuts down.

    A save that finds the database away (a restart, a failover: our 503) is tried again every second for up to
    ``outage_seconds`` before the attempt gives up: the counters stay exact across a database restart (the AWS
    work they count is already done), and the work goes on where it was."""

    def __init__(
        self,
        store: OperationStore,
        op_id: str,
        aws: AccountAws,
        params: Mapping[str, Any],
        counters: dict[str, int] | None = None,
        *,
        stopping: Callable[[], bool] = lambda: False,
        outage_seconds: float | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.store, self.op_id, self.aws, self.params = store, op_id, aws, params
        self.counters: dict[str, int] = dict(counters or {})
        self._stopping = stopping
        self._outage_seconds = OUTAGE_SECONDS if outage_seconds is None else outage_seconds
        self._sleep = sleep or time.sleep

    def add(self, **counts: int) -> None:
        for name, count in counts.items():
            self.counters[name] = self.counters.get(name, 0) + count

    def set(self, **values: int) -> None:
        self.counters.update(values)

    def checkpoint(self) -> None:
        if self._save():
            raise Canceled()
        if self._stopping():
            raise Stopping()

    def _save(self) -> bool:
        deadline = time.monotonic() + self._outage_seconds
        while True:
            try:
                return self.store.save_progress(self.op_id, self.counters)
            except ServiceUnavailable:
                if time.monotonic() >= deadline or self._stopping():
                    raise
                self._sleep(1.0)
