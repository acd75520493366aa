"""JSON log lines, request ids, and the per-request log line and metrics.

Each request gets an id (a well-formed incoming ``X-Request-Id`` is kept, else a new one), sent back
as ``X-Request-Id`` and written in every error body. The request line holds method, route, status,
duration, token name (never the token) and account.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request

from s3api import metrics

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(level: str = "info") -> None:
    """JSON lines on stderr for the s3api loggers (idempotent)."""
    root = logging.getLogger("s3api")
    root.setLevel(level.upper())
    if not any(getattr(h, "_s3api", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._s3api = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.propagate = True
    logging.getLogger("botocore").setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


access = logging.getLogger("s3api.access")


def init_app(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()
        g.tally = metrics.start_tally()

    @app.after_request
    def _finish(response: Response) -> Response:
        started = g.get("started", time.perf_counter())
        elapsed = time.perf_counter() - started
        route = metrics.route_label(request.url_rule.rule if request.url_rule is not None else None)
        method = metrics.method_label(request.method)
        metrics.HTTP_REQUESTS.labels(method, route, str(response.status_code)).inc()
        metrics.HTTP_LATENCY.labels(method, route).observe(elapsed)
        tally = g.get("tally")
        if tally is not None and tally.count:
            metrics.ROUTE_AWS_CALLS.labels(method, route).inc(tally.count)
        response.headers["X-Request-Id"] = g.get("request_id", "")
        if route != "/v1/s3/metrics" and route != "/v1/s3/ping":
            access.info(
                "request",
                extra={
                    "request_id": g.get("request_id"),
                    "method": method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 2),
                    "token": g.get("token_name"),
                    "account": (request.view_args or {}).get("account"),
                    "aws_calls": tally.count if tally else 0,
                },
            )
        return response
