"""The sweeper loop: every task for every account each pass; one failure never stops the pass."""

from __future__ import annotations

import threading

import pytest

from s3api import metrics
from s3api.aws.clients import Clients
from s3api.provisioning import sweeper
from tests.conftest import make_settings


@pytest.fixture
def tasks(monkeypatch: pytest.MonkeyPatch) -> dict[str, sweeper.Task]:
    registry: dict[str, sweeper.Task] = {}
    monkeypatch.setattr(sweeper, "TASKS", registry)
    return registry


def test_a_failing_task_does_not_stop_the_pass(tasks: dict[str, sweeper.Task]) -> None:
    seen: list[str] = []

    def broken(aws):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    tasks["broken"] = broken
    tasks["counting"] = lambda aws: seen.append(aws.account.name) or 3
    failed_before = metrics.SWEEPER.labels("broken", "failed")._value.get()
    done = sweeper.run_pass(make_settings(), Clients())
    assert done == {"counting": 3}
    assert seen == ["local"]
    assert metrics.SWEEPER.labels("broken", "failed")._value.get() == failed_before + 1


def test_background_sweeper_runs_passes_and_stops(tasks: dict[str, sweeper.Task]) -> None:
    ran = threading.Event()
    tasks["probe"] = lambda aws: ran.set() or 0
    bg = sweeper.Sweeper(make_settings().with_overrides(sweep_interval=0.05)).start()
    try:
        assert ran.wait(5), "the sweeper thread never ran a pass"
    finally:
        bg.stop()
    assert not bg._thread.is_alive()
