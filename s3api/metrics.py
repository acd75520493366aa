"""Prometheus metrics: HTTP requests, AWS calls, rollbacks, sweeper work.

Under gunicorn with several workers, ``PROMETHEUS_MULTIPROC_DIR`` must be set before this module is
imported (``s3api serve`` and the gunicorn config do that); every scrape then aggregates all workers.
All metrics carry labels, so nothing is written to disk at import time. Label values come from fixed sets
only, so that requests without a token cannot grow the exposition: the method is one of ``METHODS`` or
``OTHER`` (gunicorn accepts any 3-20 letter method), the route is the matched rule in its OpenAPI form
(``/v1/s3/{account}/buckets/{bucket}``) or ``UNMATCHED``; never a raw path or a resource name.
"""

from __future__ import annotations

import contextvars
import os
import re
from dataclasses import dataclass, field

from flask import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "OTHER"
UNMATCHED = "<unmatched>"
_RULE_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

HTTP_REQUESTS = Counter("s3api_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "s3api_http_request_duration_seconds", "HTTP request latency", ["method", "route"], buckets=LATENCY_BUCKETS
)
AWS_CALLS = Counter("s3api_aws_calls_total", "AWS API calls made", ["service", "operation", "outcome"])
AWS_LATENCY = Histogram(
    "s3api_aws_call_duration_seconds", "AWS API call latency", ["service", "operation"], buckets=LATENCY_BUCKETS
)
ROUTE_AWS_CALLS = Counter(
    "s3api_route_aws_calls_total", "AWS API calls made while answering a route", ["method", "route"]
)
ROLLBACKS = Counter("s3api_rollbacks_total", "Workflows rolled back", ["workflow", "outcome"])
UNDO_STEPS = Counter("s3api_rollback_steps_total", "Undo steps run", ["workflow", "step", "outcome"])
AUDIT_EVENTS = Counter(
    "s3api_audit_events_total",
    "Audit events by action and outcome; result written, or failed (the database refused it, logged)",
    ["action", "outcome", "result"],
)
OPERATIONS = Counter("s3api_operations_total", "Operations ended or retried", ["kind", "outcome"])
SWEEPER = Counter("s3api_sweeper_actions_total", "What the sweeper did", ["action", "outcome"])


def method_label(method: str) -> str:
    return method if method in METHODS else OTHER_METHOD


def route_label(rule: str | None) -> str:
    """A Flask rule in the OpenAPI form: ``/v1/s3/<string:account>`` -> ``/v1/s3/{account}``; None -> UNMATCHED."""
    return UNMATCHED if rule is None else _RULE_ARG.sub(r"{\1}", rule)


@dataclass
class CallTally:
    """AWS calls made on behalf of one request (shared by threads the request fans out to)."""

    count: int = 0
    operations: list[str] = field(default_factory=list)


_tally: contextvars.ContextVar[CallTally | None] = contextvars.ContextVar("s3api_aws_tally", default=None)


def start_tally() -> CallTally:
    tally = CallTally()
    _tally.set(tally)
    return tally


def current_tally() -> CallTally | None:
    return _tally.get()


def observe_aws_call(service: str, operation: str, outcome: str, seconds: float) -> None:
    AWS_CALLS.labels(service, operation, outcome).inc()
    AWS_LATENCY.labels(service, operation).observe(seconds)
    tally = _tally.get()
    if tally is not None:
        tally.count += 1
        tally.operations.append(f"{service}:{operation}")


def exposition() -> Response:
    """The scrape answer: all workers' totals in multiprocess mode, this process's otherwise."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        ProcessCollector(registry=registry)  # the answering worker's own process figures
        data = generate_latest(registry)
    else:
        data = generate_latest(REGISTRY)
    return Response(data, mimetype=CONTENT_TYPE_LATEST)
