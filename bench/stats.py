"""Pure helpers: percentiles, summaries, ratios, bounded loops and a bounded threaded load generator.

Nothing here does I/O; the load generator only calls the function it is given. Every loop has a count cap
AND a time cap (``Budget``), so no benchmark can run away on a slow or shared machine.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

Clock = Callable[[], float]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation between closest ranks (numpy's default method).

    ``percentile([1, 2, 3, 4], 50) == 2.5``; one value is every percentile of itself; empty -> ValueError.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not within 0..100")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = math.ceil(pos)
    if lo == hi:
        return float(ordered[lo])
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


def summarize(seconds: Sequence[float]) -> dict[str, Any]:
    """``{"n", "median_ms", "p99_ms", "mean_ms", "min_ms", "max_ms"}`` of latencies given in seconds
    (``{"n": 0}`` when there are none). Milliseconds rounded to 2 decimals."""
    if not seconds:
        return {"n": 0}

    def ms(value: float) -> float:
        return round(value * 1000, 2)

    return {
        "n": len(seconds),
        "median_ms": ms(percentile(seconds, 50)),
        "p99_ms": ms(percentile(seconds, 99)),
        "mean_ms": ms(sum(seconds) / len(seconds)),
        "min_ms": ms(min(seconds)),
        "max_ms": ms(max(seconds)),
    }


def ratio(numerator: float | None, denominator: float | None, digits: int = 2) -> float | None:
    """numerator / denominator rounded, or None when either is missing or the denominator is not positive."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return round(numerator / denominator, digits)


@dataclass
class Budget:
    """An iterable of 0, 1, 2 ... that stops at ``max_count`` items or after ``max_seconds``, whichever
    comes first. After iterating, ``count``, ``elapsed`` and ``stopped_by`` ("count" | "time") tell why.

    The time cap is checked before each item, so the last item may end after the cap (by one item's time).
    """

    max_count: int
    max_seconds: float
    clock: Clock = time.monotonic
    count: int = 0
    elapsed: float = 0.0
    stopped_by: str = ""

    def __iter__(self) -> Iterator[int]:
        start = self.clock()
        self.count = 0
        self.stopped_by = ""
        try:
            while True:
                if self.count >= self.max_count:
                    self.stopped_by = "count"
                    return
                if self.clock() - start >= self.max_seconds:
                    self.stopped_by = "time"
                    return
                self.count += 1
                yield self.count - 1
        finally:
            self.elapsed = self.clock() - start
            self.stopped_by = self.stopped_by or "done"  # the caller stopped early: its work was done

    def describe(self) -> str:
        caps = f"cap {self.max_count} / {self.max_seconds:g} s"
        return f"{self.count} in {self.elapsed:.1f} s ({caps}, hit: {self.stopped_by})"


@dataclass
class LoadResult:
    requests: int
    errors: int
    elapsed: float
    latencies: list[float] = field(default_factory=list)
    stopped_by: str = ""
    first_error: str = ""

    @property
    def rate(self) -> float:
        """Successful requests per second over the whole run."""
        return (self.requests - self.errors) / self.elapsed if self.elapsed > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.elapsed, 3),
            "req_per_s": round(self.rate, 2),
            "stopped_by": self.stopped_by,
        }
        ok = summarize(self.latencies)
        out["p50_ms"] = ok.get("median_ms")
        out["p99_ms"] = ok.get("p99_ms")
        if self.first_error:
            out["first_error"] = self.first_error
        return out


def run_load(
    fn: Callable[[int], Any],
    *,
    threads: int,
    max_requests: int,
    max_seconds: float,
    clock: Clock = time.monotonic,
) -> LoadResult:
    """Call ``fn(thread_index)`` from ``threads`` threads until ``max_requests`` calls were started or
    ``max_seconds`` passed. A call that raises or returns False counts as an error; only successful calls'
    latencies are kept. Returns when every thread has finished its last call.
    """
    lock = threading.Lock()
    state = {"issued": 0, "errors": 0}
    latencies: list[float] = []
    first_error: list[str] = []
    start = clock()
    deadline = start + max_seconds

    def ticket() -> bool:
        with lock:
            if state["issued"] >= max_requests or clock() >= deadline:
                return False
            state["issued"] += 1
            return True

    def worker(index: int) -> None:
        while ticket():
            t0 = clock()
            try:
                ok = fn(index) is not False
                err = "" if ok else "returned False"
            except Exception as exc:  # noqa: BLE001 - every failure is an error sample, never a crash
                ok, err = False, f"{type(exc).__name__}: {exc}"[:300]
            took = clock() - t0
            with lock:
                if ok:
                    latencies.append(took)
                else:
                    state["errors"] += 1
                    if not first_error:
                        first_error.append(err)

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = clock() - start
    stopped = "count" if state["issued"] >= max_requests else "time"
    return LoadResult(
        state["issued"], state["errors"], elapsed, latencies, stopped, first_error[0] if first_error else ""
    )
