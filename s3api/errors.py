"""Our own errors, and the one place that renders every error as JSON.

Every failure a client can see is an :class:`ApiError` (or becomes one here):
``{"code", "message", "status", "request_id"}`` plus ``"errors"`` with per-field
messages for validation failures. Unknown exceptions never leak their text.

A database that is down, locked or too slow is a 503 with ``Retry-After``, never a 500:
:func:`database_unavailable` is the one mapping of SQLAlchemy's errors to ours. ``s3api.db.session`` applies it
where sessions are opened; the handler here applies it to anything that escaped another way. Neither the URL
(it can hold a password) nor the driver's text (it names hosts, users, paths) reaches the answer or the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, jsonify, request
from sqlalchemy import exc as sa_exc
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


class IdempotencyKeyInFlight(Conflict):
    """The request that first used an ``Idempotency-Key`` is still running after the wait (``idempotency_wait``)."""

    code, default_message = "IdempotencyKeyInFlight", "the first request with this Idempotency-Key is still running"

    def __init__(self, message: str | None = None, *, retry_after: int = 1, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.headers.setdefault("Retry-After", str(retry_after))


class IdempotencyKeyReused(ApiError):
    """An ``Idempotency-Key`` sent again with another request (method, path, query or body)."""

    status, code = 422, "IdempotencyKeyReused"
    default_message = "this Idempotency-Key was used with another request"


class TooManyRequests(ApiError):
    status, code, default_message = 429, "TooManyRequests", "rate limited by the backend, retry later"

    def __init__(self, message: str | None = None, *, retry_after: int = 5, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.headers.setdefault("Retry-After", str(retry_after))


class ServiceUnavailable(ApiError):
    status, code, default_message = 503, "ServiceUnavailable", "backend unavailable, retry later"

    def __init__(self, message: str | None = None, *, retry_after: int | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        if retry_after is not None:
            self.headers.setdefault("Retry-After", str(retry_after))


class InternalError(ApiError):
    status, code, default_message = 500, "InternalError", "internal error"


_BY_STATUS: dict[int, type[ApiError]] = {
    c.status: c for c in (BadRequest, Forbidden, NotFound, Conflict, TooManyRequests, ServiceUnavailable)
}


def error_for_status(status: int, message: str | None = None) -> ApiError:
    """The ApiError class matching an HTTP status (500 for anything unknown)."""
    return _BY_STATUS.get(status, InternalError)(message)


#: seconds a client is told to wait after a database failure
DATABASE_RETRY_AFTER = 2
#: SQLite result codes (the primary code: ``sqlite_errorcode & 0xFF``) of a busy or locked database
_SQLITE_BUSY = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED
_SQLITE_CANTOPEN = 14
#: PostgreSQL SQLSTATEs of a busy database: lock wait or statement timeout, deadlock, serialization, no slots
_PG_BUSY = frozenset({"55P03", "57014", "40P01", "40001", "53300"})
_DATABASE_MESSAGES = {
    "busy": "the database is busy (locked or timed out), retry later",
    "unreachable": "the database is unreachable, retry later",
    "unavailable": "the database is unavailable, retry later",
}


def _database_kind(exc: sa_exc.SQLAlchemyError) -> str:
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection free within the pool timeout
        return "busy"
    orig = getattr(exc, "orig", None)
    if isinstance(orig, OSError):  # the SQLite file's directory cannot be made (s3api.db.engine)
        return "unreachable"
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        if sqlite_code & 0xFF in _SQLITE_BUSY:
            return "busy"
        return "unreachable" if sqlite_code & 0xFF == _SQLITE_CANTOPEN else "unavailable"
    if orig is not None and type(orig).__module__.startswith("psycopg"):
        state = getattr(orig, "sqlstate", None)
        if state is None or str(state).startswith(("08", "57P")):  # no connection, or the server shutting down
            return "unreachable"
        return "busy" if state in _PG_BUSY else "unavailable"
    return "unreachable" if isinstance(exc, (sa_exc.InterfaceError, sa_exc.DisconnectionError)) else "unavailable"


def database_unavailable(exc: BaseException) -> ServiceUnavailable | None:
    """The one mapping of a database failure a retry can cure (down, unreachable, locked, timed out: SQLAlchemy's
    ``OperationalError``, ``InterfaceError``, ``DisconnectionError`` and pool ``TimeoutError``) to our 503 with
    ``Retry-After``; None for anything else (an ``IntegrityError`` or a ``ProgrammingError`` is a bug or a
    conflict, not an outage). Logs the kind and the driver's error class, never the error's text."""
    if not isinstance(
        exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError)
    ):
        return None
    kind = _database_kind(exc)
    orig = getattr(exc, "orig", None)
    detail = getattr(orig, "sqlite_errorname", None) or getattr(orig, "sqlstate", None) or ""
    driver = type(orig).__qualname__ if orig is not None else type(exc).__qualname__
    log.warning("database %s: %s %s", kind, driver, detail)
    return ServiceUnavailable(_DATABASE_MESSAGES[kind], retry_after=DATABASE_RETRY_AFTER)


def render(
    status: int,
    code: str,
    message: str,
    errors: Any = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """The JSON envelope; ``extra`` adds fields of a route's own beside it (``/v1/s3/ready``: ``Ready``,
    ``Checks``)."""
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "status": status,
        "request_id": getattr(g, "request_id", None),
    }
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    resp = jsonify(body)
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _http_code(exc: HTTPException) -> str:
    return "".join(w.capitalize() for w in (exc.name or "Error").replace("-", " ").split())


#: URL prefix -> the handler of a routing error there (no blueprint took the request, so its own handlers cannot):
#: the console's 405 is its HTML page, not this JSON. Filled by :func:`s3api.console.init_app`.
ROUTING_ERROR_PAGES: dict[str, Callable[[HTTPException], Response]] = {}


def routing_error_page(path: str) -> Callable[[HTTPException], Response] | None:
    return next((page for prefix, page in ROUTING_ERROR_PAGES.items() if path.startswith(prefix)), None)


def init_app(app: Flask) -> None:
    """Register the one error handler family on ``app``."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return render(exc.status, exc.code, exc.message, exc.errors, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        page = routing_error_page(request.path) if request.url_rule is None else None
        if page is not None:
            return page(exc)
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
        database = database_unavailable(exc)  # a database failure outside s3api.db.session's sessions
        if database is not None:
            return _api_error(database)
        log.exception("unhandled error")
        return render(500, "InternalError", "internal error")
