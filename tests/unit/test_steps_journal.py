"""The rollback journal: what the audit trail reads of a request's rollbacks, without Flask in the workflows."""

from __future__ import annotations

import contextvars

import pytest

from s3api.errors import Conflict
from s3api.provisioning import steps


def _fail_after_two(undone: list[str]) -> None:
    with steps.Transaction("demo") as tx:
        tx.step("one", lambda: 1, lambda _: undone.append("one"))
        tx.step("two", lambda: 2, lambda _: undone.append("two"))
        tx.step("three", lambda: (_ for _ in ()).throw(Conflict("taken")), lambda _: undone.append("three"))


def test_a_rollback_is_journalled_with_its_outcomes() -> None:
    def run() -> list[steps.Rollback]:
        journal = steps.start_journal()
        undone: list[str] = []
        with pytest.raises(Conflict):
            _fail_after_two(undone)
        assert undone == ["two", "one"]
        with steps.Transaction("fine") as tx:
            tx.step("a", lambda: 1, lambda _: None)
        return journal

    journal = contextvars.copy_context().run(run)
    assert [(r.workflow, [(o.step, o.ok) for o in r.outcomes]) for r in journal] == [
        ("demo", [("two", True), ("one", True)])
    ]


def test_without_a_journal_nothing_is_kept_and_each_context_has_its_own() -> None:
    def outside() -> None:
        with pytest.raises(Conflict):
            _fail_after_two([])

    contextvars.Context().run(outside)  # no journal started: no error either
    first = contextvars.copy_context().run(steps.start_journal)
    assert first == []
