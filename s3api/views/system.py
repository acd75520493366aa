"""Public system routes: ping (liveness), ready (readiness), version, metrics (no token needed), and the docs
page's vendored assets."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import Flask, Response, current_app, send_from_directory
from flask.views import MethodView
from werkzeug.exceptions import NotFound

from s3api import __version__, concurrency, errors, metrics, runtime
from s3api.api import Blueprint
from s3api.aws import s3
from s3api.schemas.system import NotReadySchema, ReadySchema

log = logging.getLogger("s3api.ready")

#: seconds one readiness answer is reused: a load balancer polling every replica each second costs each backend
#: at most one call per account and replica per period
READY_CACHE_SECONDS = 1.5
READY_RETRY_AFTER = 2

blp = Blueprint("system", __name__, url_prefix="/v1/s3", description="Health, version and metrics")


class VersionSchema(ma.Schema):
    version = ma.fields.String(required=True)
    githash = ma.fields.String(required=True)
    buildstamp = ma.fields.String(required=True)


@blp.route("/ping")
class Ping(MethodView):
    @blp.doc(security=[])
    @blp.response(200, content_type="text/plain")
    def get(self) -> Response:
        """Liveness: answers pong without touching AWS or the database (readiness: /v1/s3/ready)"""
        return Response("pong", mimetype="text/plain")


def _timed(check: Callable[[], Any]) -> dict[str, Any]:
    """Run one check: ``{"Ready", "Seconds", "Error"}``. ``Error`` is our error's code, and its message only where
    the message is ours (503, 429, 403, 500: never AWS's or the driver's text)."""
    started = time.perf_counter()
    error = None
    try:
        check()
    except errors.ApiError as exc:
        error = f"{exc.code}: {exc.message}" if exc.status in (403, 429) or exc.status >= 500 else exc.code
    except Exception as exc:  # a bug, not an outage: still not ready, and logged
        log.error("readiness check failed: %s", type(exc).__name__, exc_info=exc)
        error = "InternalError"
    return {"Ready": error is None, "Seconds": round(time.perf_counter() - started, 4), "Error": error}


class Readiness:
    """The readiness answer of one app, computed at most once per :data:`READY_CACHE_SECONDS`: the database's
    ``SELECT 1`` and one probe per account, run together (each bounded by its own timeout: the database's
    ``database_timeout``, the probe client's 1 s connect + 2 s read, no retries). Concurrent requests while it is
    computed wait for that one computation instead of starting their own."""

    def __init__(self, rt: runtime.Runtime, clock: Callable[[], float] = time.monotonic) -> None:
        self._rt = rt
        self._clock = clock
        self._lock = threading.Lock()
        self._answer: tuple[float, dict[str, Any]] | None = None

    def answer(self) -> dict[str, Any]:
        cached = self._answer
        if cached is not None and self._clock() - cached[0] < READY_CACHE_SECONDS:
            return cached[1]
        with self._lock:
            cached = self._answer
            if cached is not None and self._clock() - cached[0] < READY_CACHE_SECONDS:
                return cached[1]
            answer = self._check()
            self._answer = (self._clock(), answer)
            return answer

    def _check(self) -> dict[str, Any]:
        rt = self._rt
        calls: dict[str, Callable[[], dict[str, Any]]] = {"": lambda: _timed(rt.db.ping)}
        for name in rt.settings.accounts:
            calls[name] = lambda name=name: _timed(lambda: s3.probe(rt.aws(name)))  # type: ignore[misc]
        results = concurrency.gather(calls)
        checks = {"Database": results.pop(""), "Accounts": results}
        failed = ["database"] if not checks["Database"]["Ready"] else []
        failed += [f"account {name}" for name, check in sorted(results.items()) if not check["Ready"]]
        if failed:
            log.warning("not ready: %s", ", ".join(failed))
        return {"Ready": not failed, "Checks": checks, "failed": failed}


def readiness() -> Readiness:
    """This app's :class:`Readiness` (made on first use)."""
    found = current_app.extensions.get("s3api.ready")
    if found is None:
        found = current_app.extensions.setdefault("s3api.ready", Readiness(runtime.current()))
    return found  # type: ignore[no-any-return]


@blp.route("/ready")
class Ready(MethodView):
    @blp.doc(security=[])
    @blp.response(200, ReadySchema)
    @blp.alt_response(503, schema=NotReadySchema, description="not ready: the failed checks (Retry-After)")
    def get(self) -> Any:
        """Readiness, for load balancers: 200 when the database and every account's backend answer, else 503"""
        answer = readiness().answer()
        if answer["Ready"]:
            return answer
        body = ReadySchema().dump(answer)
        message = "not ready: " + ", ".join(answer["failed"])
        headers = {"Retry-After": str(READY_RETRY_AFTER)}
        return errors.render(503, "ServiceUnavailable", message, headers=headers, extra=body)


@blp.route("/version")
class Version(MethodView):
    @blp.doc(security=[])
    @blp.response(200, VersionSchema)
    def get(self) -> dict[str, Any]:
        """Version and build of this server"""
        return {
            "version": __version__,
            "githash": current_app.config["GITHASH"],
            "buildstamp": current_app.config["BUILDSTAMP"],
        }


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.doc(security=[])
    @blp.response(200, content_type="text/plain")
    def get(self) -> Response:
        """Prometheus metrics: requests, AWS calls, rollbacks, sweeper (all workers)"""
        return metrics.exposition()


# the files the docs page (flask-smorest's swagger_ui.html) loads; nothing else of the bundle is served
DOCS_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"})


def _docs_asset(filename: str) -> Response:
    if filename not in DOCS_ASSETS:
        raise NotFound()
    from swagger_ui_bundle import swagger_ui_path

    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)


def register_docs_assets(app: Flask) -> None:
    """Serve Swagger UI's files from the installed ``swagger-ui-bundle`` package under ``/v1/s3/docs/assets/``
    (endpoint ``swagger_assets``, public, not in the OpenAPI document): the docs page works without internet.
    ``create_app`` switches Swagger UI's online spec validator off for the same reason."""
    app.add_url_rule("/v1/s3/docs/assets/<path:filename>", endpoint="swagger_assets", view_func=_docs_asset)
