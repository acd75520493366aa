"""Usage over time as an inline SVG chart, drawn on the server (no chart library, no script): the geometry here,
the markup in ``templates/console/chart.html``. One chart is one or two series over the same periods (storage,
and traffic when a source measured it), each scaled to its own maximum so both read; the axis labels say the
maxima, and a table beside the chart gives every value (the chart's text alternative)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

WIDTH = 600
HEIGHT = 180
PAD_LEFT = 8
PAD_RIGHT = 8
PAD_TOP = 16
PAD_BOTTOM = 22


@dataclass(frozen=True)
class Series:
    name: str
    css: str
    values: tuple[int | None, ...]
    peak: int
    points: str  # the polyline's "x,y x,y ..." (a missing value splits nothing: it is skipped)


@dataclass(frozen=True)
class Chart:
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def empty(self) -> bool:
        return not self.labels

    @property
    def base(self) -> int:
        return HEIGHT - PAD_BOTTOM

    @property
    def first(self) -> str:
        return self.labels[0] if self.labels else ""

    @property
    def last(self) -> str:
        return self.labels[-1] if self.labels else ""


def _x(i: int, n: int) -> float:
    inner = WIDTH - PAD_LEFT - PAD_RIGHT
    return PAD_LEFT + (inner / 2 if n == 1 else inner * i / (n - 1))


def _y(value: int, peak: int) -> float:
    inner = HEIGHT - PAD_TOP - PAD_BOTTOM
    return HEIGHT - PAD_BOTTOM - (inner * value / peak if peak > 0 else 0)


def series(name: str, css: str, values: Sequence[int | None]) -> Series:
    n = len(values)
    known = [v for v in values if v is not None]
    peak = max(known) if known else 0
    points = " ".join(f"{_x(i, n):.1f},{_y(v, peak):.1f}" for i, v in enumerate(values) if v is not None)
    return Series(name, css, tuple(values), peak, points)


def usage_chart(rows: Sequence[dict[str, Any]], label: str = "Day") -> Chart:
    """A chart of usage rows (a bucket's ``Samples``, keyed ``Day``, or a tenant's ``Series``, keyed ``Period``):
    ``StorageBytes``, and ``BytesDownloaded`` when any row has it."""
    labels = tuple(str(r.get(label, "")) for r in rows)
    drawn = [series("Storage", "storage", [int(r.get("StorageBytes") or 0) for r in rows])]
    traffic = [r.get("BytesDownloaded") for r in rows]
    if any(v is not None for v in traffic):
        drawn.append(series("Downloaded", "traffic", [None if v is None else int(v) for v in traffic]))
    return Chart(labels, tuple(drawn))


def quota_percent(used: int | None, quota: int | None) -> float | None:
    """How full a quota is (0-100, capped for the bar; None without a quota)."""
    if not quota or used is None:
        return None
    return min(100.0, round(100.0 * used / quota, 1))
