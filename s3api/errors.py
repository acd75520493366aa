"""Our own errors, and the one place that renders every error as JSON.

Every failure a client can see is an :class:`ApiError` (or becomes one here):
``{"code", "message", "status", "request_id"}`` plus ``"errors"`` with per-field
messages for validation failures. Unknown exceptions never leak their text.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger("s3api.errors")


class ApiError(Exception):
    """Base class: ``status`` is the HTTP status, ``code`` the machine-readable name."""

    status = 500
    code = "InternalError"
    default_message = "internal error"

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.errors = errors
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(ApiError):
    status, code, default_message = 400, "BadRequest", "bad request"


class Forbidden(ApiError):
    status, code, default_message = 403, "Forbidden", "forbidden"


class NotFound(ApiError):
    status, code, default_message = 404, "NotFound", "not found"


class Conflict(ApiError):
    status, code, default_message = 409, "Conflict", "conflict"


class TooManyRequests(ApiError):
    status, code, default_message = 429, "TooManyRequests", "rate limited by the backend, retry later"

    def __init__(self, message: str | None = None, *, retry_after: int = 5, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.headers.setdefault("Retry-After", str(retry_after))


class ServiceUnavailable(ApiError):
    status, code, default_message = 503, "ServiceUnavailable", "backend unavailable, retry later"


class InternalError(ApiError):
    status, code, default_message = 500, "InternalError", "internal error"


_BY_STATUS: dict[int, type[ApiError]] = {
    c.status: c for c in (BadRequest, Forbidden, NotFound, Conflict, TooManyRequests, ServiceUnavailable)
}


def error_for_status(status: int, message: str | None = None) -> ApiError:
    """The ApiError class matching an HTTP status (500 for anything unknown)."""
    return _BY_STATUS.get(status, InternalError)(message)


def render(status: int, code: str, message: str, errors: Any = None, headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "status": status,
        "request_id": getattr(g, "request_id", None),
    }
    if errors:
        body["errors"] = errors
    resp = jsonify(body)
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _http_code(exc: HTTPException) -> str:
    return "".join(w.capitalize() for w in (exc.name or "Error").replace("-", " ").split())


def init_app(app: Flask) -> None:
    """Register the one error handler family on ``app``."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return render(exc.status, exc.code, exc.message, exc.errors, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        errors = None
        data = getattr(exc, "data", None)  # webargs / flask-smorest validation details
        if isinstance(data, dict) and "messages" in data:
            errors = data["messages"]
            message = data.get("message") or "invalid request"  # a path converter names the problem
        else:
            message = exc.description or exc.name
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        code = "BadRequest" if status == 400 else _http_code(exc)
        return render(status, code, str(message), errors, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return render(500, "InternalError", "internal error")
