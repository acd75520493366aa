"""One attempt at an operation, the same for both engines.

The caller (the in-process runner, or a procrastinate job) has marked the operation Running. Then:

- the task returns → ``Succeeded`` with its result and final counters;
- it raises ``Canceled`` at a checkpoint → ``Canceled``; the result says what stays done (a half-emptied bucket
  stays half-emptied: the counters say how far it got);
- it raises one of our errors below 500 (other than 429) → ``Failed`` at once: retrying cannot help (a bucket
  that became a live website, a name taken) — the error is our JSON envelope;
- anything else (a 5xx or 429 from AWS, a database outage, a bug) → retried with backoff
  (``operation_retry_seconds`` doubling, at most 300 s) until ``operation_attempts`` attempts, then ``Failed``
  with the envelope (an unexpected exception is ``InternalError``: its text is logged, never shown);
- ``Stopping`` (the worker shuts down) → back to the queue, the attempt not counted.

Each end writes one audit event ``operation.end`` (resource: the target; operation id; caller of the request
that started it; outcome ``ok``, ``failed`` or ``canceled``).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from s3api import metrics
from s3api.aws.clients import AccountAws
from s3api.db.audit import new_event
from s3api.db.models import Operation
from s3api.db.operations import CANCELED, FAILED, SUCCEEDED
from s3api.errors import ApiError, NotFound, database_unavailable
from s3api.jobs import kinds as registry
from s3api.jobs.kinds import Context, Env, Stopping
from s3api.provisioning.progress import Canceled

log = logging.getLogger("s3api.jobs")

MAX_RETRY_DELAY = 300.0


@dataclass(frozen=True)
class Outcome:
    """What the attempt came to: ``status`` is final, or None with ``retry_in`` seconds (the engine decides how)."""

    status: str | None
    retry_in: float | None = None
    error: dict[str, Any] | None = None


def envelope(exc: BaseException) -> dict[str, Any]:
    """Our error envelope for an exception (never the text of one that is not ours)."""
    if isinstance(exc, ApiError):
        return {"code": exc.code, "message": exc.message, "status": exc.status}
    if isinstance(exc, SQLAlchemyError):
        mapped = database_unavailable(exc)
        if mapped is not None:
            return {"code": mapped.code, "message": mapped.message, "status": mapped.status}
    return {"code": "InternalError", "message": "internal error", "status": 500}


def retry_delay(settings: Any, attempt: int) -> float:
    return float(min(MAX_RETRY_DELAY, settings.operation_retry_seconds * 2 ** max(0, attempt - 1)))


def _final(exc: BaseException) -> bool:
    """Errors no retry can cure: ours below 500, except 429 (throttling)."""
    return isinstance(exc, ApiError) and exc.status < 500 and exc.status != 429


def run(env: Env, op: Operation, *, stopping: Callable[[], bool] = lambda: False) -> Outcome:
    """Run ``op`` (already marked Running by the caller) once; record how it ended. Returns the outcome; a retry
    is recorded by the caller's engine (:func:`s3api.jobs.local` sets the row due again; procrastinate retries
    its job)."""
    store = env.operations
    counters: dict[str, int] = json.loads(op.progress) if op.progress else {}
    kind = registry.load().get(op.kind)
    ctx: Context | None = None
    try:
        if kind is None:
            raise LookupError(f"no task for operation kind {op.kind!r}")
        account = env.settings.account(op.account)
        if account is None:
            raise NotFound(f"account '{op.account}' is not configured")
        aws = AccountAws(account, env.clients, env.settings)
        ctx = Context(store, op.id, aws, json.loads(op.params), counters, stopping=stopping)
        result = kind.run(ctx)
    except Canceled as exc:
        note = str(exc) or "canceled at a checkpoint: what was done stays done (see Progress)"
        _end(env, op, CANCELED, ctx.counters if ctx else counters, result={"Canceled": note})
        return Outcome(CANCELED)
    except Stopping:
        store.retry_later(op.id, 0, progress=ctx.counters if ctx else counters, uncount=True)
        return Outcome(None, retry_in=0)
    except Exception as exc:
        error = envelope(exc)
        progress = ctx.counters if ctx else counters
        if _final(exc) or op.attempts >= env.settings.operation_attempts:
            if not isinstance(exc, ApiError):
                log.exception("operation failed", extra={"operation": op.id, "kind": op.kind})
            _end(env, op, FAILED, progress, error=error)
            return Outcome(FAILED, error=error)
        delay = retry_delay(env.settings, op.attempts)
        log.warning(
            "operation attempt failed, will retry",
            extra={"operation": op.id, "kind": op.kind, "attempt": op.attempts, "error": error["code"]},
            exc_info=not isinstance(exc, ApiError),  # a bug or an outage: its traceback, in the log only
        )
        with contextlib.suppress(SQLAlchemyError):  # the database is what failed: the engine retries anyway
            store.retry_later(op.id, delay, error=error, progress=progress)
        metrics.OPERATIONS.labels(op.kind, "retried").inc()
        return Outcome(None, retry_in=delay, error=error)
    _end(env, op, SUCCEEDED, ctx.counters, result=result)  # ctx is set: the task ran
    return Outcome(SUCCEEDED)


def _end(
    env: Env,
    op: Operation,
    status: str,
    progress: dict[str, int],
    *,
    result: Any = None,
    error: dict[str, Any] | None = None,
) -> None:
    outcome = {SUCCEEDED: "ok", FAILED: "failed", CANCELED: "canceled"}[status]
    event = new_event(
        caller_id=op.caller_id,
        caller_name=op.caller_name,
        tenant=op.tenant,
        action="operation.end",
        resource=op.target,
        status=(error or {}).get("status", 200),
        error_code=(error or {}).get("code"),
        outcome=outcome,
        request_id=op.request_id,
        operation_id=op.id,
        detail=json.dumps({"Kind": op.kind, "Status": status, "Progress": progress, "Attempts": op.attempts}),
    )
    env.operations.finish(op.id, status, progress=progress, result=result, error=error, also=event)  # one write
    metrics.OPERATIONS.labels(op.kind, status).inc()
    metrics.AUDIT_EVENTS.labels(event.action, outcome, "written").inc()
