"""The periodic registry: a failing task never stops the others; one run goes over every account."""

from __future__ import annotations

import pytest

from s3api.aws.clients import Clients
from s3api.jobs import schedule
from s3api.provisioning import periodic
from tests.conftest import make_settings


@pytest.fixture
def tasks(monkeypatch: pytest.MonkeyPatch) -> dict[str, periodic.Task]:
    registry: dict[str, periodic.Task] = {}
    monkeypatch.setattr(periodic, "TASKS", registry)
    monkeypatch.setattr(periodic, "MODULES", ())
    return registry


def test_a_failing_task_does_not_stop_the_run(tasks: dict[str, periodic.Task]) -> None:
    def boom(aws: object) -> int:
        raise RuntimeError("boom")

    tasks["boom"] = boom
    tasks["ok"] = lambda aws: 2
    done = periodic.run_all(make_settings(), Clients())
    accounts = len(make_settings().accounts)
    assert done == {"boom": 0, "ok": 2 * accounts}


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(2, "* * * * * */2"), (30, "* * * * * */30"), (60, "*/1 * * * *"), (300, "*/5 * * * *"), (7200, "0 */2 * * *")],
)
def test_cron_for_an_interval(seconds: float, expected: str) -> None:
    assert schedule.cron(seconds) == expected
