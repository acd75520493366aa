"""Operations: the rows long work is tracked by (:class:`OperationStore`).

An operation is created ``NotStarted`` in the request that asks for the work, then claimed by whichever worker
runs it: the in-process runner (SQLite: :meth:`OperationStore.claim_next`, which never starts two operations
with one ``lock`` at once) or a procrastinate job (PostgreSQL: :meth:`OperationStore.begin`; procrastinate's own
job lock keeps one target's jobs apart). Progress is saved at the workflow's checkpoints; the answer to "was I
canceled?" comes back from the same write. Ending (:meth:`finish`) clears ``dedupe``, so a new recount may start.

Times are aware UTC datetimes; JSON columns are text. The public shape (:func:`record`) is the API's
``{Id, Kind, Target, Status, Done, Progress, Error, Result, CreatedAt, UpdatedAt, Caller}``.
"""

from __future__ import annotations

import builtins
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from s3api.db.models import Operation
from s3api.db.pages import decode_token, encode_token
from s3api.db.session import Database
from s3api.errors import Conflict, NotFound
from s3api.names import OPERATION_ID

NOT_STARTED, RUNNING, SUCCEEDED, FAILED, CANCELED = "NotStarted", "Running", "Succeeded", "Failed", "Canceled"
STATUSES = (NOT_STARTED, RUNNING, SUCCEEDED, FAILED, CANCELED)
FINISHED = frozenset({SUCCEEDED, FAILED, CANCELED})
#: operations are kept this long after they end
KEEP_DAYS = 30


def now() -> datetime:
    return datetime.now(UTC)


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


#: a Result field holding sealed secrets until they are handed over once (``tenant.create``:
#: :func:`s3api.control.tenants.take_handover`); never part of the public shape
SEALED_RESULT_FIELD = "Handover"


def _public(result: Any) -> Any:
    if isinstance(result, dict) and SEALED_RESULT_FIELD in result:
        return {k: v for k, v in result.items() if k != SEALED_RESULT_FIELD}
    return result


def record(op: Operation) -> dict[str, Any]:
    """The API's shape of an operation (never a sealed handover)."""
    return {
        "Id": op.id,
        "Kind": op.kind,
        "Account": op.account,
        "Target": op.target,
        "Status": op.status,
        "Done": op.status in FINISHED,
        "Progress": _json(op.progress) or {},
        "Error": _json(op.error),
        "Result": _public(_json(op.result)),
        "Attempts": op.attempts,
        "CancelRequested": bool(op.cancel_requested),
        "CreatedAt": _iso(op.created_at),
        "UpdatedAt": _iso(op.updated_at),
        "StartedAt": _iso(op.started_at),
        "FinishedAt": _iso(op.finished_at),
        "Caller": {"Id": op.caller_id, "Name": op.caller_name, "Tenant": op.tenant},
    }


def _cancel_unstarted(op: Operation, when: datetime) -> None:
    op.status, op.finished_at, op.updated_at, op.dedupe = CANCELED, when, when, None
    op.result = json.dumps({"Canceled": "before it started: nothing was done"})


@dataclass(frozen=True)
class NewOperation:
    kind: str
    account: str
    target: str
    lock: str
    params: dict[str, Any]
    caller_id: str | None = None
    caller_name: str | None = None
    tenant: str | None = None
    request_id: str | None = None
    #: set for work that must not run twice at once: a second start returns the unfinished first
    dedupe: str | None = None
    progress: dict[str, int] | None = None


class OperationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- the request's side -------------------------------------------------------------------------------

    def create(self, new: NewOperation) -> tuple[Operation, bool]:
        """A new ``NotStarted`` operation, or (for a ``dedupe`` key) the unfinished one that holds it:
        ``(operation, created)``."""
        when = now()
        op = Operation(
            id="op-" + secrets.token_hex(12),
            kind=new.kind,
            account=new.account,
            target=new.target,
            lock=new.lock,
            dedupe=new.dedupe,
            status=NOT_STARTED,
            params=json.dumps(new.params, separators=(",", ":")),
            progress=json.dumps(new.progress) if new.progress else None,
            cancel_requested=False,
            attempts=0,
            run_after=when,
            caller_id=new.caller_id,
            caller_name=new.caller_name,
            tenant=new.tenant,
            request_id=new.request_id,
            created_at=when,
            updated_at=when,
        )
        try:
            with self.db.write() as session:
                session.add(op)
        except IntegrityError:
            if new.dedupe is None:
                raise
            with self.db.read() as session:
                found = session.scalars(select(Operation).where(Operation.dedupe == new.dedupe)).first()
            if found is None:  # it ended between our insert and this read: start ours
                return self.create(new)
            return found, False
        return op, True

    def get(self, op_id: str) -> Operation:
        if not OPERATION_ID.fullmatch(op_id):
            raise NotFound(f"operation '{op_id}' not found")
        with self.db.read() as session:
            op = session.get(Operation, op_id)
        if op is None:
            raise NotFound(f"operation '{op_id}' not found")
        return op

    def list(
        self,
        *,
        kind: str | None = None,
        target: str | None = None,
        status: str | None = None,
        account: str | None = None,
        tenant: str | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """Newest first: ``{"Operations": [...], "NextPageToken": token or None}``."""
        query = select(Operation)
        for column, value in (
            (Operation.kind, kind),
            (Operation.target, target),
            (Operation.status, status),
            (Operation.account, account),
            (Operation.tenant, tenant),
        ):
            if value is not None:
                query = query.where(column == value)
        if page_token:
            created, op_id = decode_token(page_token, OPERATION_ID)
            query = query.where(
                or_(Operation.created_at < created, and_(Operation.created_at == created, Operation.id < op_id))
            )
        query = query.order_by(Operation.created_at.desc(), Operation.id.desc()).limit(page_size + 1)
        with self.db.read() as session:
            rows = list(session.scalars(query))
        more = len(rows) > page_size
        rows = rows[:page_size]
        token = encode_token(rows[-1].created_at, rows[-1].id) if more and rows else None
        return {"Operations": [record(r) for r in rows], "NextPageToken": token}

    def busy(self, lock: str) -> Operation | None:
        """The unfinished operation holding ``lock``, if any."""
        with self.db.read() as session:
            query = select(Operation).where(Operation.lock == lock, Operation.status.in_((NOT_STARTED, RUNNING)))
            return session.scalars(query.order_by(Operation.created_at)).first()

    def request_cancel(self, op_id: str) -> Operation:
        """Not started yet: canceled at once. Running: asked to stop at its next checkpoint. Ended: 409."""
        self.get(op_id)  # 404 first
        when = now()
        with self.db.write() as session:
            op = session.get(Operation, op_id)
            assert op is not None
            if op.status in FINISHED:
                raise Conflict(f"operation '{op_id}' has already ended ({op.status})")
            op.cancel_requested = True
            op.updated_at = when
            if op.status == NOT_STARTED:
                _cancel_unstarted(op, when)
        return op

    # --- the worker's side --------------------------------------------------------------------------------

    def claim_next(self, exclude: Iterable[str] = ()) -> Operation | None:
        """The in-process runner: the oldest due ``NotStarted`` operation whose lock no running operation holds
        (nor one in ``exclude``, the ids this runner is already running), marked Running in the same write."""
        when = now()
        running = aliased(Operation)
        holder = exists().where(running.lock == Operation.lock, running.status == RUNNING)
        query = (
            select(Operation)
            .where(Operation.status == NOT_STARTED, Operation.run_after <= when, ~holder)
            .order_by(Operation.run_after, Operation.created_at)
            .limit(1)
        )
        excluded = set(exclude)
        with self.db.write() as session:
            op = session.scalars(query).first()
            if op is None or op.id in excluded:
                return None
            op.status, op.attempts, op.updated_at = RUNNING, op.attempts + 1, when
            op.started_at = op.started_at or when
        return op

    def begin(self, op_id: str, job_id: int | None = None) -> Operation | None:
        """A job engine's worker takes the operation (a retry or a stalled job's recovery takes it again):
        Running, one attempt more; None when it has ended (a finished or canceled operation runs no more)."""
        when = now()
        with self.db.write() as session:
            op = session.get(Operation, op_id)
            if op is None or op.status in FINISHED:
                return None
            if op.cancel_requested:
                _cancel_unstarted(op, when)
                return None
            op.status, op.attempts, op.updated_at = RUNNING, op.attempts + 1, when
            op.started_at = op.started_at or when
            if job_id is not None:
                op.job_id = job_id
        return op

    def save_progress(self, op_id: str, progress: dict[str, int]) -> bool:
        """Save the counters; True if the operation was asked to stop."""
        with self.db.write() as session:
            session.execute(
                update(Operation)
                .where(Operation.id == op_id)
                .values(progress=json.dumps(progress, sort_keys=True), updated_at=now())
            )
            flag = session.scalar(select(Operation.cancel_requested).where(Operation.id == op_id))
        return bool(flag)

    def finish(
        self,
        op_id: str,
        status: str,
        *,
        progress: dict[str, int] | None = None,
        result: Any = None,
        error: dict[str, Any] | None = None,
        also: Any = None,
    ) -> Operation | None:
        """The operation ended; ``also`` (a row: its ``operation.end`` audit event) is added in the same
        transaction, so whoever sees the end sees its event."""
        assert status in FINISHED
        when = now()
        with self.db.write() as session:
            op = session.get(Operation, op_id)
            if op is None:
                return None
            op.status, op.finished_at, op.updated_at, op.dedupe = status, when, when, None
            if progress is not None:
                op.progress = json.dumps(progress, sort_keys=True)
            op.result = json.dumps(result) if result is not None else None
            op.error = json.dumps(error) if error is not None else None
            if also is not None:
                session.add(also)
        return op

    def retry_later(
        self,
        op_id: str,
        delay: float,
        *,
        error: dict[str, Any] | None = None,
        progress: dict[str, int] | None = None,
        uncount: bool = False,
    ) -> None:
        """Back to ``NotStarted`` (due in ``delay`` seconds) with the attempt's error: the runner takes it again.
        ``uncount``: the attempt was interrupted (the worker stopped), it does not count."""
        when = now()
        values: dict[str, Any] = {
            "status": NOT_STARTED,
            "run_after": when + timedelta(seconds=delay),
            "updated_at": when,
        }
        if error is not None:
            values["error"] = json.dumps(error)
        if uncount:
            values["attempts"] = Operation.attempts - 1
        if progress is not None:
            values["progress"] = json.dumps(progress, sort_keys=True)
        with self.db.write() as session:
            query = update(Operation).where(Operation.id == op_id, Operation.status == RUNNING)
            session.execute(query.values(**values))

    def release_running(self) -> int:
        """The in-process runner, at its start: whatever a previous runner left Running (it died, or the service
        was stopped) is due again; its task resumes from its saved progress."""
        with self.db.write() as session:
            result = session.execute(
                update(Operation).where(Operation.status == RUNNING).values(status=NOT_STARTED, updated_at=now())
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def unqueued(self, older_than: float) -> builtins.list[Operation]:
        """``NotStarted`` operations created more than ``older_than`` seconds ago and due: their job may never
        have been queued (the queue was down after the row was written); the engine queues them again."""
        when = now()
        with self.db.read() as session:
            query = select(Operation).where(
                Operation.status == NOT_STARTED,
                Operation.run_after <= when,
                Operation.updated_at < when - timedelta(seconds=older_than),
            )
            return list(session.scalars(query.limit(1000)))

    def purge(self, days: int = KEEP_DAYS) -> int:
        """Delete operations that ended more than ``days`` days ago."""
        with self.db.write() as session:
            result = session.execute(
                delete(Operation).where(
                    Operation.finished_at.is_not(None), Operation.finished_at < now() - timedelta(days=days)
                )
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
