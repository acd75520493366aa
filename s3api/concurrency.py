"""Overlapping independent AWS calls inside one request.

One thread pool per process, created on first use (after fork). Every task runs in a copy of the
caller's context, so the request's AWS-call tally (metrics, request log) counts the calls made in
pool threads. A task that fans out again runs its inner calls inline: nested waits on a shared pool
could otherwise exhaust it.

Fairness: one fan-out keeps at most :data:`MAX_IN_FLIGHT` tasks in the pool (queued or running); the caller
submits the next one only when one of its own has finished. The pool's queue is first in, first out, so a
request's first call waits behind at most ``MAX_IN_FLIGHT`` tasks of each concurrent fan-out, never behind
the whole of a bulk one (aborting 1,000 uploads once queued 1,000 tasks ahead of a 2-call read). Since a
request's fan-outs run one after another (nested ones inline), the cap holds per request. Even with the pool
full (``MAX_THREADS // MAX_IN_FLIGHT`` bulk requests side by side), a bulk request's next task is queued behind
the calls other requests queued meanwhile, so they wait about one AWS call, not the rest of the bulk work.
"""

from __future__ import annotations

import contextvars
import functools
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
K = TypeVar("K")
MAX_THREADS = 16
MAX_IN_FLIGHT = 8  # tasks of one fan-out in the pool at a time (GET bucket's eight reads: one round)

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_inside = threading.local()


def _executor() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="s3api-io")
            _pool_pid = os.getpid()
        return _pool


def _run_marked(fn: Callable[[], T]) -> T:
    _inside.active = True
    try:
        return fn()
    finally:
        _inside.active = False


def gather(calls: Mapping[K, Callable[[], Any]]) -> dict[K, Any]:
    """Run the calls concurrently, at most :data:`MAX_IN_FLIGHT` at a time; their results by key. Every call
    runs; the first failure (in key order) is raised after all have finished, so nothing is left running
    behind the request."""
    if getattr(_inside, "active", False) or len(calls) < 2:
        return {key: fn() for key, fn in calls.items()}
    pool = _executor()
    slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)
    futures: dict[K, Future[Any]] = {}
    for key, fn in calls.items():
        slots.acquire()
        try:
            future = pool.submit(contextvars.copy_context().run, _run_marked, fn)
        except BaseException:
            slots.release()
            for started in futures.values():  # e.g. interpreter shutdown: wait for what runs, then fail
                started.exception()
            raise
        future.add_done_callback(lambda _: slots.release())
        futures[key] = future
    errors = [f.exception() for f in futures.values()]
    for error in errors:
        if error is not None:
            raise error
    return {key: f.result() for key, f in futures.items()}


def map_all(fn: Callable[[Any], T], items: Iterable[Any]) -> list[T]:
    """``[fn(item) for item in items]``, concurrently, in order."""
    listed = list(items)
    results = gather({i: functools.partial(fn, item) for i, item in enumerate(listed)})
    return [results[i] for i in range(len(listed))]
