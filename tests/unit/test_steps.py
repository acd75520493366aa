import pytest

from s3api import errors
from s3api.provisioning.steps import Transaction


def test_undo_in_reverse_and_failed_step_not_undone():
    log: list[str] = []

    def boom(_):
        raise errors.Conflict("taken")

    with pytest.raises(errors.Conflict), Transaction("test") as tx:
        tx.step("a", lambda: log.append("do a") or "A", lambda res: log.append(f"undo a {res}"))
        tx.step("b", lambda: log.append("do b") or "B", lambda res: log.append(f"undo b {res}"))
        tx.step("c", lambda: boom(None), lambda res: log.append("undo c"))
    assert log == ["do a", "do b", "undo b B", "undo a A"]


def test_every_undo_runs_even_when_one_fails():
    log: list[str] = []

    def bad_undo(_):
        raise RuntimeError("undo broke")

    with pytest.raises(errors.BadRequest), Transaction("t") as tx:
        tx.step("one", lambda: 1, lambda r: log.append("undo one"))
        tx.step("two", lambda: 2, bad_undo)
        raise errors.BadRequest("stop")
    assert log == ["undo one"]
    assert [(o.step, o.ok) for o in tx.outcomes] == [("two", False), ("one", True)]


def test_success_keeps_everything_and_steps_return_what_they_made():
    log: list[str] = []
    with Transaction("ok") as tx:
        x = tx.step("x", lambda: 1, lambda _: log.append("undo"))
        y = tx.step("y", lambda: x + 1)
    assert (x, y) == (1, 2) and log == []


def test_unknown_exceptions_become_internal_errors():
    with pytest.raises(errors.InternalError), Transaction("t"):
        raise KeyError("secret detail")
