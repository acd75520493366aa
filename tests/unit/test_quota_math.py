"""The pure parts of quotas: thresholds, percent, projection; and the refresh setting."""

from __future__ import annotations

import pytest

from s3api.config import ConfigError, from_mapping
from s3api.control.quotas import Subject, projection, thresholds_of


def subject(quota: int, *days: tuple[str, int]) -> Subject:
    series = [{"Period": d, "StorageBytes": b, "AsOf": f"{d}T03:00:00Z"} for d, b in days]
    return Subject(name="bucket:local/x", account="local", buckets=("x",), quota_bytes=quota, series=series)


def test_thresholds_are_sorted_unique_and_always_hold_the_hard_limit() -> None:
    assert thresholds_of(None) == (75, 90, 100)
    assert thresholds_of([90, 50, 90]) == (50, 90, 100)


def test_projection_at_the_last_days_growth() -> None:
    s = subject(1000, ("2026-11-01", 100), ("2026-11-05", 500))  # +100 a day, 500 left
    assert s.used == 500 and s.percent == 50.0
    assert projection(s) == {"GrowthBytesPerDay": 100, "ReachedOn": "2026-11-10"}


def test_no_projection_without_growth_or_history() -> None:
    assert projection(subject(1000, ("2026-11-01", 500))) is None
    assert projection(subject(1000, ("2026-11-01", 500), ("2026-11-02", 400))) is None
    over = subject(100, ("2026-11-01", 50), ("2026-11-02", 150))
    assert projection(over) == {"GrowthBytesPerDay": 100, "ReachedOn": "2026-11-02"}


@pytest.mark.parametrize("value", [0, 59, 86401, "60", True, 1.5])
def test_usage_refresh_seconds_must_be_whole_seconds_in_range(value: object) -> None:
    raw = {
        "accounts": {"a": {"account_id": "123456789012", "region": "us-east-1"}},
        "tokens": {"t": "a-token-of-enough-length-0123456789"},
        "usage_refresh_seconds": value,
    }
    with pytest.raises(ConfigError, match="usage_refresh_seconds"):
        from_mapping(raw, env={})
    assert from_mapping({**raw, "usage_refresh_seconds": 600}, env={}).usage_refresh_seconds == 600
