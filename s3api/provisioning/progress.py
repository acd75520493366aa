"""What a long workflow reports while it runs, and where it may stop.

A workflow that can outlast a request (emptying a bucket, waiting for CloudFront) takes a :class:`Progress`:
it adds to named counters as it goes and calls :meth:`Progress.checkpoint` between batches. The job engine's
progress (``s3api.jobs``) saves the counters there and raises :class:`Canceled` when the operation was asked
to stop; the workflow leaves at that point with what it did so far (its own rules say what is undone). A
request that runs the same workflow synchronously passes :class:`Counters`, which only counts.
"""

from __future__ import annotations

from typing import Protocol


class Canceled(Exception):
    """The operation was canceled: raised at a checkpoint, never in the middle of a batch."""


class Progress(Protocol):
    counters: dict[str, int]

    def add(self, **counts: int) -> None:
        """Add to the named counters (kept in memory until the next checkpoint)."""

    def set(self, **values: int) -> None:
        """Set the named counters (totals found by a preflight, say)."""

    def checkpoint(self) -> None:
        """Save the counters; raise :class:`Canceled` if the work was asked to stop."""


class Counters:
    """A :class:`Progress` that only counts: a synchronous request's, and the tests'."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}

    def add(self, **counts: int) -> None:
        for name, count in counts.items():
            self.counters[name] = self.counters.get(name, 0) + count

    def set(self, **values: int) -> None:
        self.counters.update(values)

    def checkpoint(self) -> None:
        return None
