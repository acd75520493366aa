"""The one rollback engine: multi-step work as explicit steps, each with its undo.

A workflow runs its steps forward. When one fails, the steps that completed are undone in reverse
order (the failed step's own undo never runs: a CreateBucket that lost a race must not delete the
winner's bucket). Every undo runs even when an earlier one failed; each outcome is logged and counted.
The original error is re-raised (as our error) once the undo is over.

One way to use it, as straight code: each step returns what it made, and its undo gets that value::

    with Transaction("user_create") as tx:
        key = tx.step("create_key", lambda: iam.create_key(u), lambda k: iam.delete_key(u, k))
        tx.step("tag", lambda: iam.tag(u, key["AccessKeyId"]))

Step names label the metrics (``s3api_undo_steps_total``): a fixed set per workflow, never a value from a
request.
"""

from __future__ import annotations

import contextvars
import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Callable

from s3api import metrics
from s3api.aws.translate import translate
from s3api.errors import ApiError

log = logging.getLogger("s3api.rollback")


@dataclass
class UndoOutcome:
    step: str
    ok: bool
    error: str | None = None


@dataclass
class Rollback:
    """What one rolled-back workflow undid, for whoever records the request (the audit trail)."""

    workflow: str
    outcomes: list[UndoOutcome]


_journal: contextvars.ContextVar[list[Rollback] | None] = contextvars.ContextVar("s3api_rollbacks", default=None)


def start_journal() -> list[Rollback]:
    """From now on in this context, every rollback is appended to the returned list (no Flask here: the web
    layer starts one per request and reads it when the request ends)."""
    journal: list[Rollback] = []
    _journal.set(journal)
    return journal


class Transaction:
    """Records an undo for every completed step; undoes them in reverse if the block fails."""

    def __init__(self, workflow: str) -> None:
        self.workflow = workflow
        self._undo: list[tuple[str, Callable[[], None]]] = []
        self.outcomes: list[UndoOutcome] = []

    def step(self, name: str, do: Callable[[], Any], undo: Callable[[Any], None] | None = None) -> Any:
        result = do()
        if undo is not None:
            self._undo.append((name, lambda: undo(result)))
        return result

    def on_undo(self, name: str, undo: Callable[[], None]) -> None:
        """Register an undo for work already done outside ``step``."""
        self._undo.append((name, undo))

    def rollback(self) -> list[UndoOutcome]:
        outcomes: list[UndoOutcome] = []
        while self._undo:
            name, undo = self._undo.pop()
            try:
                undo()
                outcomes.append(UndoOutcome(name, True))
                metrics.UNDO_STEPS.labels(self.workflow, name, "ok").inc()
            except Exception as exc:  # every undo runs, whatever the previous one did
                err = translate(exc)
                outcomes.append(UndoOutcome(name, False, f"{err.code}: {err.message}"))
                metrics.UNDO_STEPS.labels(self.workflow, name, "failed").inc()
                log.error("undo failed", extra={"workflow": self.workflow, "step": name, "error": err.code})
        failed = [o.step for o in outcomes if not o.ok]
        metrics.ROLLBACKS.labels(self.workflow, "incomplete" if failed else "complete").inc()
        log.warning(
            "rolled back",
            extra={"workflow": self.workflow, "undone": [o.step for o in outcomes], "undo_failed": failed},
        )
        self.outcomes = outcomes
        journal = _journal.get()
        if journal is not None:
            journal.append(Rollback(self.workflow, outcomes))
        return outcomes

    def __enter__(self) -> Transaction:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self._undo.clear()
            return
        self.rollback()
        if isinstance(exc, Exception) and not isinstance(exc, ApiError):
            raise translate(exc) from exc
        # our own errors (and BaseExceptions) propagate unchanged
