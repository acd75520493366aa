"""What the edge calls: start an operation (preflight in the request, the row, the queue), cancel one.

The queue depends on the database: on SQLite the in-process runner polls the rows (nothing to send); on
PostgreSQL a procrastinate job is deferred for the new row (:class:`s3api.jobs.queue.Deferrer`, one per process).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from s3api.aws.clients import AccountAws
from s3api.db.models import Operation
from s3api.db.operations import NewOperation
from s3api.errors import BadRequest, Conflict
from s3api.jobs import kinds as registry
from s3api.jobs.kinds import Env

_DEFERRERS: dict[str, Any] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Starter:
    """Who asks, for the row and the audit trail (never a secret)."""

    caller_id: str | None = None
    caller_name: str | None = None
    tenant: str | None = None
    request_id: str | None = None


def _deferrer(env: Env) -> Any:
    url = env.settings.database.url
    with _LOCK:
        found = _DEFERRERS.get(url)
        if found is None:
            from s3api.jobs.queue import Deferrer

            found = _DEFERRERS[url] = Deferrer(env.settings.database)
        return found


def start(
    env: Env,
    kind_name: str,
    aws: AccountAws,
    params: Mapping[str, Any],
    starter: Starter,
    *,
    if_busy: str = "queue",
) -> tuple[Operation, bool]:
    """``(operation, created)``. A ``dedupe`` kind with an unfinished operation on the same target returns that
    one (created False). ``if_busy="conflict"``: 409 when another operation holds the target, instead of
    queueing behind it. The kind's preflight runs first: its refusal (409 with what must not be deleted, say)
    leaves nothing behind."""
    kind = registry.load()[kind_name]
    account = aws.account.name
    lock, target = kind.lock(account, params), kind.target(account, params)
    store = env.operations
    dedupe = f"{kind.name}|{lock}" if kind.dedupe else None
    if dedupe is not None:
        running = store.busy(lock)
        if running is not None and running.kind == kind.name:
            return running, False
    if if_busy == "conflict":
        holder = store.busy(lock)
        if holder is not None:
            raise Conflict(
                f"operation {holder.id} ({holder.kind}) is working on {target}: retry when it has ended",
                errors={"OperationId": holder.id},
            )
    elif if_busy != "queue":
        raise BadRequest("if-busy must be queue or conflict")
    progress = kind.preflight(aws, params) if kind.preflight else None
    op, created = store.create(
        NewOperation(
            kind=kind.name,
            account=account,
            target=target,
            lock=lock,
            params=dict(params),
            caller_id=starter.caller_id,
            caller_name=starter.caller_name,
            tenant=starter.tenant,
            request_id=starter.request_id,
            dedupe=dedupe,
            progress=progress,
        )
    )
    if created and not env.settings.database.is_sqlite:
        _deferrer(env).enqueue(op)
    return op, created
