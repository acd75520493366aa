"""Reading the service's own Prometheus text: samples, per-route totals, per-operation differences."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping

Labels = frozenset[tuple[str, str]]
Samples = dict[tuple[str, Labels], float]

_LINE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$")
_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')
_RULE_ARG = re.compile(r"<(?:[^:<>]+:)?([^:<>]+)>")


def parse(text: str) -> Samples:
    """``{(metric name, frozenset of (label, value)): value}`` for every sample line (comments skipped)."""
    samples: Samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line.strip())
        if not match:
            continue
        name, labels, value = match.groups()
        pairs = frozenset(
            (k, v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\"))
            for k, v in _LABEL.findall(labels or "")
        )
        try:
            samples[(name, pairs)] = float(value)
        except ValueError:
            continue
    return samples


def total(samples: Samples, name: str, **match: str) -> float:
    """Sum of ``name`` over every sample whose labels include all of ``match``."""
    want = set(match.items())
    return sum(v for (n, labels), v in samples.items() if n == name and want <= labels)


def by_label(samples: Samples, name: str, *keys: str) -> dict[tuple[str, ...], float]:
    """``name`` summed per combination of the given label values (others summed over)."""
    out: dict[tuple[str, ...], float] = {}
    for (n, labels), v in samples.items():
        if n != name:
            continue
        d = dict(labels)
        key = tuple(d.get(k, "") for k in keys)
        out[key] = out.get(key, 0.0) + v
    return out


def operations(samples: Samples) -> Counter[str]:
    """AWS calls per ``service:Operation`` (all outcomes) from ``s3api_aws_calls_total``."""
    ops: Counter[str] = Counter()
    for (service, op), v in by_label(samples, "s3api_aws_calls_total", "service", "operation").items():
        ops[f"{service}:{op}"] += int(round(v))
    return ops


def route_calls(samples: Samples) -> Counter[str]:
    """AWS calls counted per route (``"GET /v1/s3/{account}/buckets"``) from ``s3api_route_aws_calls_total``."""
    out: Counter[str] = Counter()
    for (method, rule), v in by_label(samples, "s3api_route_aws_calls_total", "method", "route").items():
        out[f"{method} {openapi_path(rule)}"] += int(round(v))
    return out


def diff(after: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    """Positive differences only, sorted by name: what happened between two scrapes."""
    return {k: after[k] - before.get(k, 0) for k in sorted(after) if after[k] - before.get(k, 0) > 0}


def openapi_path(rule: str) -> str:
    """Flask rule -> OpenAPI path: ``/v1/s3/<string:account>/buckets`` -> ``/v1/s3/{account}/buckets``."""
    return _RULE_ARG.sub(r"{\1}", rule)
